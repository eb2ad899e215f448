"""Generic: a script or another tool posts the normalized fields itself.

A JSON object with ``event_type`` (required) and any of the normalized keys
(``action``, ``media_type``, ``title``, ``year``, ``ids``, ``season``,
``episodes``, ``paths``, ``previous_paths``, ``deleted_paths``,
``folder_path``, ``scene_name``, ``release_title``, ``release_group``,
``quality``, ``languages``, ``subtitle_languages``, ``is_upgrade``,
``message``). Unlike the apps' bodies this one is checked strictly: an unknown
key or a value of the wrong type is an error naming it. ``event_type: "Test"``
is a test.
"""

from __future__ import annotations

from typing import Any

from . import base
from .base import Parsed

KIND = "generic"
ACCEPTS = {"application/json": None}

_STR: tuple[str, ...] = (
    "action",
    "media_type",
    "title",
    "folder_path",
    "scene_name",
    "release_title",
    "release_group",
    "quality",
)
_STR += ("message",)
_INT = ("year", "season")
_STR_LISTS = ("paths", "previous_paths", "deleted_paths", "languages", "subtitle_languages")
_ALLOWED = ("event_type", *_STR, *_INT, "ids", "episodes", *_STR_LISTS, "is_upgrade")


def parse(data: Any) -> Parsed:
    """Check and copy the normalized fields of a generic body."""
    event = base.event_type(data, "event_type")
    unknown = [str(key) for key in data if key not in _ALLOWED]
    if unknown:
        raise base.PayloadError(f"Unknown key(s): {', '.join(unknown)}. Allowed: {', '.join(_ALLOWED)}.")
    if event == "Test":
        return Parsed(app_event=event, outcome="test")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "event_type" or value is None:
            continue
        _check(key, value)
        fields[key] = value
    fields.setdefault("action", "other")
    return Parsed(app_event=event, **fields)


def _check(key: str, value: Any) -> None:
    if key in _STR and not isinstance(value, str):
        raise base.PayloadError(f"{key} must be a string.")
    if key in _INT and (isinstance(value, bool) or not isinstance(value, int)):
        raise base.PayloadError(f"{key} must be a whole number.")
    if key == "is_upgrade" and not isinstance(value, bool):
        raise base.PayloadError("is_upgrade must be true or false.")
    if key in _STR_LISTS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise base.PayloadError(f"{key} must be a list of strings.")
    if key == "episodes" and not (
        isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise base.PayloadError("episodes must be a list of whole numbers.")
    if key == "ids" and not (
        isinstance(value, dict)
        and all(isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value.values())
    ):
        raise base.PayloadError("ids must be an object of strings or whole numbers.")
