"""The Jinja2 sandbox notification templates render in, with what can build large values intercepted.

``ImmutableSandboxedEnvironment`` refuses attributes starting with ``_``,
unsafe callables and changes to lists and dicts. On top of it, one operation
cannot build a huge value: ``*``, ``+`` and ``**`` are intercepted, numbers
passed to methods and filters are capped at ``MAX_ARGUMENT``, ``replace`` and
``join`` are sized before they run, ``expandtabs`` and ``lipsum`` are not
available, and ``range`` yields at most ``MAX_ARGUMENT`` items. Output size
and render time are bounded by the caller (``hooks.notify.templates``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from functools import update_wrapper
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The largest number a template may pass to a method or filter, and the largest string, list or
# number of range() items one operation may build.
MAX_ARGUMENT = 10_000
# Jinja's own globals that stay available (lipsum is removed: it makes text as long as asked).
JINJA_GLOBALS = ("range", "dict", "cycler", "joiner", "namespace")
_BIG_NUMBER = re.compile(r"\d{6,}")


class RenderLimit(TemplateError):  # noqa: N818 - a bound that was hit, like Invalid
    """A template hit one of the bounds (output size, render time, an operation's size)."""


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
        if name not in JINJA_GLOBALS:
            del env.globals[name]
    env.globals["range"] = _BoundedRange
    env.filters = {name: _bounded_filter(name, function) for name, function in env.filters.items()}
    return env


ENVIRONMENT = _environment(StrictUndefined)
