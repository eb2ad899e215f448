"""Parse untrusted JSON with a nesting limit: a clear error instead of a RecursionError.

CPython's ``json`` module recurses once per nesting level, so about a thousand
levels of ``[`` raise RecursionError — a 500 in a view, a dead socket in a
consumer. Every door that takes JSON from outside (REST bodies, WebSocket
messages, ``manage.py emit_event --data``, incoming webhooks) parses through
:func:`loads`, or :class:`JSONParser` for DRF, and refuses anything nested
deeper than :data:`MAX_DEPTH` before any other work.

JSON may also carry text that is not Unicode: ``"\\ud800"`` parses to a lone
surrogate, which cannot be encoded as UTF-8 — not rendered in a response, not
stored, not put in a path. Text fields check it with :func:`text_error`, :func:`surrogate_error` (or
:func:`validate_text`, a Django/DRF validator) and echo bad input through
:func:`printable`.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any payload this project reads (a scoring preview is 4 levels,
# an *arr webhook about 6) and far from the interpreter's recursion limit.
MAX_DEPTH = 64


class JSONDepthError(ValueError):
    """The document is nested deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONDepthError when ``value`` nests lists/dicts deeper than ``max_depth``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise JSONDepthError(max_depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _may_exceed(text: str | bytes, max_depth: int) -> bool:
    """Whether the document has enough brackets to nest past the limit (cheap pre-check)."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{") > max_depth
    return text.count("[") + text.count("{") > max_depth


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises JSONDepthError (a ValueError) past ``max_depth`` levels."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONDepthError(max_depth) from None
    if _may_exceed(text, max_depth):
        check_depth(value, max_depth)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the nesting limit: a 400 with the reason, never a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {JSONDepthError(MAX_DEPTH)}.") from None
        try:
            check_depth(data)
        except JSONDepthError as exc:
            raise ParseError(f"JSON parse error - {exc}.") from None
        return data


def surrogate_error(value: str) -> str | None:
    """Where ``value`` is not valid Unicode text ("a lone surrogate (\\ud800) at character 3"), or None."""
    index = first_surrogate(value)
    return None if index is None else f"a lone surrogate (\\u{ord(value[index]):04x}) at character {index}"


# Worded like DRF's own CharField check, so every text field of the API says the same.
SURROGATE_MESSAGE = "Surrogate characters are not allowed: U+{code_point:X}."


def first_surrogate(value: str) -> int | None:
    """The index of the first lone surrogate in ``value``, or None when it is valid Unicode text."""
    if value.isascii():  # O(1) in CPython: the common case costs nothing
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def text_error(value: str) -> str | None:
    """The field message for a ``value`` that is not valid Unicode text, or None when it is."""
    index = first_surrogate(value)
    return None if index is None else SURROGATE_MESSAGE.format(code_point=ord(value[index]))


def validate_text(value: Any) -> None:
    """Django (and DRF) validator: refuse a string holding a lone surrogate, with a field message."""
    if isinstance(value, str) and (message := text_error(value)):
        raise ValidationError(message, code="text")


def printable(value: str) -> str:
    """``value`` with any lone surrogate written as ``\\udXXX``: safe to echo in an error message or key."""
    if value.isascii():
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")
