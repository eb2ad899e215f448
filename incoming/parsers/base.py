"""What every parser returns, the error it raises, and lenient readers for what the apps send.

Apps add fields between versions and omit others (the *arr apps drop nulls):
a reader returns None (or an empty list) for a missing field or one of an
unexpected type, so an optional field never fails a request. Only a body
that cannot be an event of the kind at all raises PayloadError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["event", "test", "ignored"]

# Normalized actions (the ``action`` key of webhook_received).
IMPORT = "import"
RENAME = "rename"
DELETE = "delete"
GRAB = "grab"
MEDIA_ADDED = "media_added"
MEDIA_DELETED = "media_deleted"
PLAYBACK = "playback"
HEALTH = "health"
HEALTH_RESTORED = "health_restored"
UPDATE = "update"
MANUAL_INTERACTION = "manual_interaction"


class PayloadError(ValueError):
    """The body is well-formed JSON but not an event of this kind (a 400)."""


@dataclass
class Parsed:
    """One request, normalized: the app's event name, what to do with it, and the event's fields.

    Paths are as the app sent them; the service maps them to local paths.
    """

    app_event: str
    outcome: Outcome = "event"
    action: str = ""
    media_type: str | None = None
    title: str | None = None
    year: int | None = None
    ids: dict[str, int | str] = field(default_factory=dict)
    season: int | None = None
    episodes: list[int] = field(default_factory=list)
    folder_path: str | None = None
    paths: list[str] = field(default_factory=list)
    previous_paths: list[str] = field(default_factory=list)
    deleted_paths: list[str] = field(default_factory=list)
    scene_name: str | None = None
    release_title: str | None = None
    release_group: str | None = None
    quality: str | None = None
    languages: list[str] = field(default_factory=list)
    subtitle_languages: list[str] = field(default_factory=list)
    is_upgrade: bool | None = None
    message: str | None = None


def obj(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, else an empty one."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def objs(data: Any, key: str) -> list[dict[str, Any]]:
    """The objects in the list ``data[key]`` (anything else skipped)."""
    value = data.get(key) if isinstance(data, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(data: Any, key: str) -> str | None:
    """``data[key]`` as a non-empty string, else None."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, str) and value.strip():
        return value
    return None


def integer(data: Any, key: str) -> int | None:
    """``data[key]`` as an int (a digit string too, as some templates send), else None."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _is_number(value.strip()):
        return int(value.strip())
    return None


def _is_number(text: str) -> bool:
    """ASCII digits, short enough for an id ("²" is a digit to isdigit, and int() refuses 4,300+ digits)."""
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def boolean(data: Any, key: str) -> bool | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, bool) else None


def positive_id(data: Any, key: str) -> int | None:
    """An *arr database id (tvdbId, tmdbId…): 0 means "none" there."""
    value = integer(data, key)
    return value if value else None


def split_languages(value: str | None) -> list[str]:
    """ "English/German" (how the *arr apps join languages) → ["English", "German"]."""
    if not value:
        return []
    return [part.strip() for part in re.split(r"[/,]", value) if part.strip()]


def unique(values: list[Any]) -> list[Any]:
    """The values without repeats, in first-seen order."""
    return list(dict.fromkeys(v for v in values if v is not None))


def ids(**values: int | str | None) -> dict[str, int | str]:
    return {key: value for key, value in values.items() if value is not None and value != ""}


def event_type(data: Any, key: str) -> str:
    """The app's event name, which every body of the kind must carry."""
    if not isinstance(data, dict):
        raise PayloadError(f"The body must be a JSON object, not {type(data).__name__}.")
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"The body has no {key!r} (a non-empty string).")
    return value.strip()


def episode_range(number: int | None, last: int | None) -> list[int]:
    """A (multi-)episode item's numbers: ``number`` through ``last`` when a last one is given."""
    if number is None:
        return []
    if last is not None and last > number:
        return list(range(number, last + 1))
    return [number]


def provider_id(value: Any) -> int | str | None:
    """A media server's provider id ("81189", "tt0903747"): digits as an int, like the *arr apps send them."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return int(value) if _is_number(value) else value
