"""Notification title and body templates: Jinja2 in a sandbox, a default per event, bounded rendering.

A target may leave its templates empty: each hookable catalog event has a
default title and body (``hooks.notify.defaults``). A user's template is checked when it
is saved (``validate``): it must parse, name only known variables (``event``,
``event_label``, ``data``, ``id``, ``timestamp``, ``when``, ``media``,
``version``) and only the payload keys of the events it is for, and render
each such event's sample payload with ``StrictUndefined``. A template that
still fails when a real event is rendered (``render``) is replaced by the
default for that part, and the reason is returned for the log.

Templates come from users of the API and admin, so they are untrusted:

* they render in ``hooks.notify.sandbox``: Jinja2's immutable sandbox (no
  ``''.__class__``, ``cycler.__init__.__globals__``…; ``validate`` refuses
  names starting with ``_`` up front), where one operation cannot build a
  huge value;
* the output is cut off at ``MAX_TITLE_CHARS`` / ``MAX_BODY_CHARS`` (rendering
  stops there and the default is used), and a render taking longer than
  ``RENDER_SECONDS`` is stopped (a line tracer on the template's own frames
  checks the deadline, so loops with no output stop too).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from types import FrameType
from typing import Any, NamedTuple

from jinja2 import TemplateSyntaxError, nodes

from events import jsonlimits
from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS, PAYLOAD_TYPES
from events.errors import Invalid
from events.samples import sample_payload
from hooks.notify.defaults import default_templates
from hooks.notify.sandbox import ENVIRONMENT, JINJA_GLOBALS, RenderLimit

MAX_TEMPLATE_CHARS = 4000
MAX_TITLE_CHARS = 250
MAX_BODY_CHARS = 8000
RENDER_SECONDS = 0.5

TITLE_FIELD = "title_template"
BODY_FIELD = "body_template"

VARIABLES = ("event", "event_label", "data", "id", "timestamp", "when", "media", "version")

_FILENAMES = {TITLE_FIELD: "<notification title>", BODY_FIELD: "<notification body>"}
_LIMITS = {TITLE_FIELD: MAX_TITLE_CHARS, BODY_FIELD: MAX_BODY_CHARS}
_PART = {TITLE_FIELD: "title", BODY_FIELD: "body"}


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
    allowed = set(VARIABLES) | set(JINJA_GLOBALS) | assigned | {"loop", "caller", "varargs", "kwargs"}
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
