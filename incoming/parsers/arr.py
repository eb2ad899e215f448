"""What Sonarr and Radarr share: the envelope, file objects, releases and the event names they both use.

Both serialize with Newtonsoft.Json, camelCase, nulls omitted
(``NzbDrone.Common/Serializer``); ``eventType`` alone is PascalCase
(``WebhookEventType.cs`` pins ``DefaultNamingStrategy``).
"""

from __future__ import annotations

from typing import Any

from . import base
from .base import Parsed

JSON_ONLY = {"application/json": None}


def apply_file(parsed: Parsed, file: dict[str, Any]) -> None:
    """Take a file object's release facts (``WebhookEpisodeFile`` / ``WebhookMovieFile``) where still unknown."""
    parsed.scene_name = parsed.scene_name or base.text(file, "sceneName")
    parsed.release_group = parsed.release_group or base.text(file, "releaseGroup")
    parsed.quality = parsed.quality or base.text(file, "quality")
    media_info = base.obj(file, "mediaInfo")
    languages = _languages(file.get("languages")) or _strings(media_info, "audioLanguages")
    parsed.languages = base.unique([*parsed.languages, *languages])
    parsed.subtitle_languages = base.unique([*parsed.subtitle_languages, *_strings(media_info, "subtitles")])


def apply_release(parsed: Parsed, release: dict[str, Any]) -> None:
    """``WebhookRelease`` (Grab) or ``WebhookGrabbedRelease`` (Download): title, group, quality."""
    parsed.release_title = parsed.release_title or base.text(release, "releaseTitle") or base.text(release, "title")
    parsed.release_group = parsed.release_group or base.text(release, "releaseGroup")
    parsed.quality = parsed.quality or base.text(release, "quality")


def apply_common(parsed: Parsed, data: dict[str, Any]) -> None:
    """The parts every *arr event type may carry: health and update messages, release, download info."""
    parsed.message = base.text(data, "message")
    apply_release(parsed, base.obj(data, "release"))
    apply_release(parsed, base.obj(data, "downloadInfo"))


def file_paths(files: list[dict[str, Any]], key: str = "path") -> list[str]:
    return base.unique([base.text(file, key) for file in files])


def unhandled(event: str) -> Parsed:
    """An event type with no action: the app's "Test" button, or one sublarr has nothing to do with."""
    return Parsed(app_event=event, outcome="test" if event == "Test" else "ignored")


def apply_files(parsed: Parsed, data: dict[str, Any], *, renamed: str, file: str, file_deleted: str) -> None:
    """What a Rename (``renamed``: its list of files) or a file deletion (``file_deleted``, its ``file``) touched."""
    if parsed.app_event == "Rename":
        files = base.objs(data, renamed)
        parsed.paths = file_paths(files)
        parsed.previous_paths = file_paths(files, "previousPath")
        for one in files:
            apply_file(parsed, one)
    elif parsed.app_event == file_deleted:
        one = base.obj(data, file)
        parsed.deleted_paths = file_paths([one])
        apply_file(parsed, one)


def apply_media_deleted(parsed: Parsed, data: dict[str, Any], *, event: str) -> None:
    """The movie or series (``event``) was removed with its folder: that folder is gone."""
    # deletedFiles is a bool here (the folder was deleted), a list in Download.
    if parsed.app_event == event and data.get("deletedFiles") is True and parsed.folder_path:
        parsed.deleted_paths = [parsed.folder_path]


def _languages(value: Any) -> list[str]:
    """``languages`` as either version sends it: "English/German", or a list of names or ``{id, name}`` objects."""
    if isinstance(value, str):
        return base.split_languages(value)
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else item for item in value]
        return [name.strip() for name in names if isinstance(name, str) and name.strip()]
    return []


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


# eventType → normalized action, for the names both apps use.
ACTIONS = {
    "Grab": base.GRAB,
    "Download": base.IMPORT,
    "Rename": base.RENAME,
    "Health": base.HEALTH,
    "HealthRestored": base.HEALTH_RESTORED,
    "ApplicationUpdate": base.UPDATE,
    "ManualInteractionRequired": base.MANUAL_INTERACTION,
}
