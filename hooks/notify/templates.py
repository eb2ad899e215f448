"""Notification title and body templates: Jinja2 in a sandbox, a default per event, bounded rendering.

A target may leave its templates empty: each hookable catalog event has a
default title and body (``DEFAULTS``). A user's template is checked when it
is saved (``validate``): it must parse, name only known variables (``event``,
``event_label``, ``data``, ``id``, ``timestamp``, ``when``, ``media``,
``version``) and only the payload keys of the events it is for, and render
each such event's sample payload with ``StrictUndefined``. A template that
still fails when a real event is rendered (``render``) is replaced by the
default for that part, and the reason is returned for the log.

Templates come from users of the API and admin, so they are untrusted:

* Jinja2's ``ImmutableSandboxedEnvironment`` refuses attributes starting with
  ``_`` (``''.__class__``, ``cycler.__init__.__globals__``…), unsafe callables,
  and changes to lists and dicts; ``validate`` refuses such names up front;
* one operation cannot build a huge value: ``*``, ``+`` and ``**`` are
  intercepted, width-like numbers passed to methods and filters are capped at
  ``MAX_ARGUMENT``, ``replace``/``join`` are sized before they run,
  ``lipsum`` is not available and ``range`` yields at most ``MAX_ARGUMENT`` items;
* the output is cut off at ``MAX_TITLE_CHARS`` / ``MAX_BODY_CHARS`` (rendering
  stops there and the default is used), and a render taking longer than
  ``RENDER_SECONDS`` is stopped (a line tracer on the template's own frames
  checks the deadline, so loops with no output stop too).
"""

from __future__ import annotations

import operator
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache, update_wrapper
from types import FrameType
from typing import Any, NamedTuple

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from events import jsonlimits
from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS, PAYLOAD_TYPES
from events.errors import Invalid
from events.samples import sample_payload

MAX_TEMPLATE_CHARS = 4000
MAX_TITLE_CHARS = 250
MAX_BODY_CHARS = 8000
# The largest number a template may pass to a method or filter, and the largest string, list or
# number of range() items one operation may build.
MAX_ARGUMENT = 10_000
RENDER_SECONDS = 0.5

TITLE_FIELD = "title_template"
BODY_FIELD = "body_template"

VARIABLES = ("event", "event_label", "data", "id", "timestamp", "when", "media", "version")
# Jinja's own globals that stay available (lipsum is removed: it makes text as long as asked).
_JINJA_GLOBALS = ("range", "dict", "cycler", "joiner", "namespace")

_FILENAMES = {TITLE_FIELD: "<notification title>", BODY_FIELD: "<notification body>"}
_LIMITS = {TITLE_FIELD: MAX_TITLE_CHARS, BODY_FIELD: MAX_BODY_CHARS}
_PART = {TITLE_FIELD: "title", BODY_FIELD: "body"}
_BIG_NUMBER = re.compile(r"\d{6,}")


class RenderLimit(TemplateError):  # noqa: N818 - a bound that was hit, like Invalid
    """A template hit one of the bounds (output size, render time, an operation's size)."""


# ---------------------------------------------------------------------------------------------------------------------
# The default templates: plain text that reads the same as markdown.

_MEDIA_LINE = "{% if media %}{{ media }}\n{% endif %}"
DEFAULTS: dict[str, tuple[str, str]] = {
    "subtitle_downloaded": (
        "Subtitle downloaded{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "Language: {{ data.language }}, format: {{ data.format }}"
        "{% if data.score is not none %}, score: {{ data.score }}{% endif %}\n"
        "Provider: {{ data.provider_name }}",
    ),
    "translation_complete": (
        "Translation complete{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "{{ data.source_language }} → {{ data.target_language }} with {{ data.backend_name }}"
        "{% if data.duration_ms is not none %} in {{ (data.duration_ms / 1000) | round(1) }} s{% endif %}",
    ),
    "translation_failed": (
        "Translation failed{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "{{ data.source_language }} → {{ data.target_language }} with {{ data.backend_name }}\n"
        "Error: {{ data.error }}",
    ),
    "provider_search_complete": (
        "Search complete{% if media %}: {{ media }}{% endif %}",
        "{{ data.provider_name }} found {{ data.result_count }} result(s)"
        "{% if data.best_score is not none %}, best score {{ data.best_score }}{% endif %}",
    ),
    "provider_failed": (
        "Provider failed: {{ data.provider_name }}",
        _MEDIA_LINE + "{% if data.error_type %}{{ data.error_type }}: {% endif %}{{ data.error }}",
    ),
    "wanted_scan_complete": (
        "Wanted scan complete",
        "{{ data.total_items }} wanted item(s): {{ data.new_items }} new, {{ data.removed_items }} removed",
    ),
    "wanted_item_processed": (
        "Wanted item {{ data.status }}{% if media %}: {{ media }}{% endif %}",
        "Status: {{ data.status }}{% if data.provider_name %} via {{ data.provider_name }}{% endif %}"
        "{% if data.score is not none %}, score {{ data.score }}{% endif %}",
    ),
    "upgrade_complete": (
        "Subtitle upgraded{% if media %}: {{ media }}{% endif %}",
        "{{ data.old_format }} (score {{ data.old_score }}) → {{ data.new_format }} (score {{ data.new_score }})"
        "{% if data.provider_name %}\nProvider: {{ data.provider_name }}{% endif %}",
    ),
    "batch_complete": (
        "Batch complete",
        "{{ data.succeeded }} of {{ data.total }} succeeded, {{ data.failed }} failed, {{ data.skipped }} skipped",
    ),
    "webhook_received": (
        "{{ data.source or 'Webhook' }}: {{ data.event_type }}{% if media %} — {{ media }}{% endif %}",
        "{% if data.message %}{{ data.message }}\n{% endif %}"
        "{% if data.quality %}Quality: {{ data.quality }}\n{% endif %}"
        "{% if data.release_title %}Release: {{ data.release_title }}\n{% endif %}"
        "Received from {{ data.source }} ({{ data.event_type }})",
    ),
    "config_updated": (
        "Configuration updated",
        "Changed: {{ (data.changed_keys or []) | join(', ') }}{% if data.source %} (by {{ data.source }}){% endif %}",
    ),
    "whisper_complete": (
        "Transcription complete",
        "{{ data.backend_name }} detected {{ data.detected_language }}, {{ data.segment_count }} segment(s)"
        "{% if data.duration_seconds is not none %} for {{ (data.duration_seconds / 60) | round(1) }} min of audio"
        "{% endif %}",
    ),
    "whisper_failed": (
        "Transcription failed",
        "{{ data.backend_name }}: {{ data.error }}",
    ),
}
# For an event added to the catalog before it gets a default of its own.
GENERIC_DEFAULT = (
    "{{ event_label }}{% if media %}: {{ media }}{% endif %}",
    "{% for key, value in data | dictsort %}{% if value is not none %}{{ key }}: {{ value }}\n{% endif %}{% endfor %}",
)


def default_templates(event_name: str) -> tuple[str, str]:
    """The default (title, body) templates of ``event_name``."""
    return DEFAULTS.get(event_name, GENERIC_DEFAULT)


# ---------------------------------------------------------------------------------------------------------------------
# The sandbox.


def _too_big(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple) and len(value) > MAX_ARGUMENT


def _check_size(value: Any, what: str) -> Any:
    if _too_big(value):
        raise RenderLimit(f"{what} would be longer than {MAX_ARGUMENT} characters or items")
    return value


def _check_numbers(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise RenderLimit(f"{what}: the number {value} is larger than {MAX_ARGUMENT}")
        if isinstance(value, str) and _BIG_NUMBER.search(value) and what.endswith("format"):
            raise RenderLimit(f"{what}: a format with a number larger than {MAX_ARGUMENT}")


def _length_hint(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _check_replace(target: str, args: tuple[Any, ...]) -> None:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = len(target) + 1 if old == "" else target.count(old)
        _check_size_estimate(len(target) + count * max(0, len(new) - len(old)), "replace()")


def _check_join(separator: str, items: Any) -> None:
    count = _length_hint(items)
    _check_size_estimate(count * len(separator) + sum(_length_hint(item) for item in items or ()), "join()")


def _check_size_estimate(size: int, what: str) -> None:
    if size > MAX_ARGUMENT * 4:
        raise RenderLimit(f"{what} would build a value longer than {MAX_ARGUMENT * 4} characters")


class _BoundedRange:
    """``range`` for templates: at most MAX_ARGUMENT items."""

    def __init__(self, *args: int) -> None:
        _check_numbers(args, {}, "range()")
        self._range = range(*args)
        if len(self._range) > MAX_ARGUMENT:
            raise RenderLimit(f"range() of more than {MAX_ARGUMENT} items")

    def __iter__(self) -> Iterator[int]:
        return iter(self._range)

    def __len__(self) -> int:
        return len(self._range)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Jinja filter: numbers passed to it are capped, the value it builds is sized."""
    # A filter marked pass_context/pass_environment/pass_eval_context gets that first, then the value.
    skip = 2 if hasattr(function, "jinja_pass_arg") else 1

    def bounded(*args: Any, **kwargs: Any) -> Any:
        options = args[skip:]
        _check_numbers(options, kwargs, f"the {name} filter")
        if name == "format" and len(args) >= skip and isinstance(args[skip - 1], str):
            _check_numbers((args[skip - 1],), {}, "the format filter's format")
        if name == "join" and len(args) > skip and isinstance(args[skip], str):
            _check_join(args[skip], args[skip - 1])
        if name == "indent" and len(args) > skip - 1:
            width = args[skip] if len(args) > skip else kwargs.get("width", 4)
            lines = str(args[skip - 1]).count("\n") + 1
            _check_size_estimate(lines * (len(width) if isinstance(width, str) else int(width)), "the indent filter")
        return _check_size(function(*args, **kwargs), f"the {name} filter's result")

    return update_wrapper(bounded, function)


class NotificationEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the operators and calls that can build large values intercepted."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if (isinstance(right, int | float) and abs(right) > 64) or _too_big(left):
                raise RenderLimit(f"the power {right!r} is too large")
            return operator.pow(left, right)
        if operator_ == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_size_estimate(len(sequence) * times, "'*'")
        result = self.binop_table[operator_](left, right)
        return _check_size(result, f"'{operator_}'") if operator_ == "+" else result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        name = getattr(__obj, "__name__", "")
        target = getattr(__obj, "__self__", None)
        if isinstance(target, str):
            if name == "expandtabs":
                raise SecurityError("expandtabs() is not available in notification templates")
            _check_numbers(args, kwargs, f"{name}()")
            if name == "replace":
                _check_replace(target, args)
            elif name == "join" and args:
                _check_join(target, args[0])
        elif __obj is not _BoundedRange:
            _check_numbers(args, kwargs, f"{name or 'the call'}()")
        return _check_size(super().call(__context, __obj, *args, **kwargs), f"{name or 'the call'}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_numbers((value.__self__,), {}, "str.format")

        def bounded(*args: Any, **kwargs: Any) -> str:
            return str(_check_size(wrapped(*args, **kwargs), "str.format()"))

        return bounded


def _environment(undefined: type) -> NotificationEnvironment:
    env = NotificationEnvironment(autoescape=False, undefined=undefined, keep_trailing_newline=False)
    for name in list(env.globals):
        if name not in _JINJA_GLOBALS:
            del env.globals[name]
    env.globals["range"] = _BoundedRange
    env.filters = {name: _bounded_filter(name, function) for name, function in env.filters.items()}
    return env


ENVIRONMENT = _environment(StrictUndefined)


@lru_cache(maxsize=512)
def _compile(source: str, field: str) -> Any:
    """The compiled template of ``source`` (cached: targets render the same few templates again and again)."""
    code = ENVIRONMENT.compile(source, name=_PART[field], filename=_FILENAMES[field])
    return ENVIRONMENT.template_class.from_code(ENVIRONMENT, code, ENVIRONMENT.make_globals(None), None)


# ---------------------------------------------------------------------------------------------------------------------
# The context a template sees.


def _media(data: Mapping[str, Any]) -> str:
    """A one-line name of what the event is about: "The Expanse S02E05", a movie's title, or ""."""
    name = data.get("series_title") or data.get("movie_title") or data.get("title") or ""
    season, episode = data.get("season"), data.get("episode")
    code = data.get("season_episode") or ""
    if not code and isinstance(season, int) and not isinstance(season, bool):
        code = f"S{season:02d}" + (f"E{episode:02d}" if isinstance(episode, int) else "")
    return f"{name} {code}".strip() if name else ""


def context_for(envelope: Mapping[str, Any], *, tz: tzinfo | None = None) -> dict[str, Any]:
    """The variables a template sees for ``envelope``.

    ``data`` holds every payload key of the catalog, None where this event's payload has no value: a
    template for several events may name a key only some of them carry (``validate`` still refuses a key
    none of the target's events declares), and a key left out of a payload is None, not an error.
    """
    name = envelope.get("event_name", "")
    spec = EVENT_CATALOG.get(name)
    data: dict[str, Any] = dict.fromkeys(PAYLOAD_TYPES)
    data.update(envelope.get("data") or {})
    timestamp = str(envelope.get("timestamp") or "")
    try:
        when = datetime.fromisoformat(timestamp)
    except ValueError:
        when = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return {
        "event": name,
        "event_label": spec.label if spec else name,
        "data": data,
        "id": envelope.get("id", ""),
        "timestamp": timestamp,
        "when": when.astimezone(tz or UTC),
        "media": _media(data),
        "version": envelope.get("version"),
    }


# ---------------------------------------------------------------------------------------------------------------------
# Rendering with bounds.


@dataclass
class _Deadline:
    """A line tracer on the template's own frames that stops the render once its time is up."""

    filename: str
    deadline: float

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"rendering took longer than {RENDER_SECONDS} s")
        return self.local

    def calls(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self.local if frame.f_code.co_filename == self.filename else None


def _render_bounded(source: str, field: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` within the output and time bounds; raise TemplateError (or a Python error) on failure."""
    template = _compile(source, field)
    limit = _LIMITS[field]
    tracer = _Deadline(_FILENAMES[field], time.monotonic() + RENDER_SECONDS)
    previous = sys.gettrace()
    sys.settrace(tracer.calls)
    try:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > limit:
                raise RenderLimit(f"the {_PART[field]} is longer than {limit} characters")
            chunks.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(chunks).strip()


def _line_of(exc: BaseException, field: str) -> int | None:
    """The template line an error was raised on (Jinja rewrites tracebacks to point at template lines)."""
    line = getattr(exc, "lineno", None)
    if isinstance(line, int):
        return line
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == _FILENAMES[field]]
    return frames[-1].lineno if frames else None


def _describe(exc: BaseException, field: str) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    line = _line_of(exc, field)
    return f"line {line}: {message}" if line else message


class Rendered(NamedTuple):
    title: str
    body: str
    # Why a default was used instead of the target's template; None when the templates rendered.
    fallback_reason: str | None


def render(
    title_template: str, body_template: str, envelope: Mapping[str, Any], *, tz: tzinfo | None = None
) -> Rendered:
    """Render a target's templates for ``envelope``; a part that fails falls back to the event's default."""
    context = context_for(envelope, tz=tz)
    defaults = default_templates(context["event"])
    parts: list[str] = []
    reasons: list[str] = []
    sources = (title_template, body_template)
    for field, source, default in zip((TITLE_FIELD, BODY_FIELD), sources, defaults, strict=True):
        if source and source.strip():
            try:
                parts.append(_render_bounded(source, field, context))
                continue
            except Exception as exc:  # any failure of a user's template means: use the default
                reasons.append(f"the {_PART[field]} template failed ({_describe(exc, field)}); the default was used")
        parts.append(_render_default(default, field, context))
    return Rendered(parts[0], parts[1], "; ".join(reasons) or None)


def _render_default(source: str, field: str, context: Mapping[str, Any]) -> str:
    try:
        return _render_bounded(source, field, context)
    except Exception as exc:  # a default must always give something to send
        return f"{context['event_label']}" if field == TITLE_FIELD else f"({_describe(exc, field)})"


# ---------------------------------------------------------------------------------------------------------------------
# Save-time validation.


def _payload_keys(event_names: tuple[str, ...]) -> set[str]:
    keys: set[str] = set()
    for name in event_names:
        keys.update(EVENT_CATALOG[name].payload_keys)
    return keys


def _static_problems(ast: nodes.Template, event_names: tuple[str, ...]) -> list[str]:
    """Unknown variables, unknown payload keys and private attributes, each with its line."""
    problems: list[str] = []
    assigned = {node.name for node in ast.find_all(nodes.Name) if node.ctx in ("store", "param")}
    assigned |= {node.name for node in ast.find_all(nodes.Macro)}
    allowed = set(VARIABLES) | set(_JINJA_GLOBALS) | assigned | {"loop", "caller", "varargs", "kwargs"}
    keys = _payload_keys(event_names)
    for name_node in ast.find_all(nodes.Name):
        if name_node.ctx == "load" and name_node.name not in allowed:
            problems.append(
                f"line {name_node.lineno}: unknown variable {name_node.name!r}; available: {', '.join(VARIABLES)}"
            )
    accesses: list[nodes.Getattr | nodes.Getitem] = [*ast.find_all(nodes.Getattr), *ast.find_all(nodes.Getitem)]
    for access in sorted(accesses, key=lambda node: node.lineno):
        attribute = access.attr if isinstance(access, nodes.Getattr) else getattr(access.arg, "value", None)
        if isinstance(attribute, str) and attribute.startswith("_"):
            problems.append(f"line {access.lineno}: {attribute!r} is not available (names starting with _ are private)")
        elif (
            isinstance(access.node, nodes.Name)
            and access.node.name == "data"
            and isinstance(attribute, str)
            and attribute not in keys
        ):
            problems.append(
                f"line {access.lineno}: data.{attribute} is not a payload key of "
                f"{', '.join(event_names)}; available: {', '.join(sorted(keys))}"
            )
    return list(dict.fromkeys(problems))


def _check_one(source: Any, field: str, event_names: tuple[str, ...]) -> list[str]:
    if source is None or source == "":
        return []
    if not isinstance(source, str):
        return ["Enter text."]
    if message := jsonlimits.text_error(source):
        return [message]
    if len(source) > MAX_TEMPLATE_CHARS:
        return [f"A template may be at most {MAX_TEMPLATE_CHARS} characters."]
    try:
        ast = ENVIRONMENT.parse(source, name=_PART[field], filename=_FILENAMES[field])
        _compile(source, field)
    except TemplateSyntaxError as exc:
        return [f"line {exc.lineno}: {exc.message}"]
    problems = _static_problems(ast, event_names)
    if problems:
        return problems
    for name in event_names:
        envelope = {
            "id": "00000000-0000-4000-8000-000000000000",
            "event_name": name,
            "version": 1,
            "timestamp": "2026-01-01T12:00:00+00:00",
            "data": sample_payload(name),
        }
        try:
            _render_bounded(source, field, context_for(envelope))
        except Exception as exc:  # every failure is a reason to refuse the template
            return [f"{_describe(exc, field)} (rendering the sample {name} event)"]
    return []


def validate(title: Any, body: Any, *, event_names: tuple[str, ...] | list[str] | str = "*") -> None:
    """Refuse templates that do not parse, name unknown variables or fail on the events' samples.

    ``event_names``: the target's events (``"*"`` or a list that holds it: every hookable event).
    Raises ``events.errors.Invalid`` with ``title_template`` / ``body_template`` → messages.
    An empty template is valid: the event's default is used.
    """
    names = (event_names,) if isinstance(event_names, str) else tuple(event_names)
    events = HOOKABLE_EVENTS if "*" in names else tuple(name for name in names if name in EVENT_CATALOG)
    errors: dict[str, list[str]] = {}
    for field, source in ((TITLE_FIELD, title), (BODY_FIELD, body)):
        if messages := _check_one(source, field, events):
            errors[field] = messages
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first][0], field=first, errors=errors)
