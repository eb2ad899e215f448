"""Sonarr v3/v4 ``Connect → Webhook``: ``src/NzbDrone.Core/Notifications/Webhook/`` (Sonarr/Sonarr).

Every ``WebhookEventType``: Test, Grab, Download, Rename, SeriesAdd,
SeriesDelete, EpisodeFileDelete, Health, HealthRestored, ApplicationUpdate,
ManualInteractionRequired. ``Download`` has two shapes: one file per request
(``WebhookImportPayload``: ``episodeFile``, ``isUpgrade``, ``deletedFiles``)
and "On Import Complete" (v4.0.6+, ``WebhookImportCompletePayload``:
``episodeFiles``, ``sourcePath``, ``destinationPath``, no ``episodeFile``).
"""

from __future__ import annotations

from typing import Any

from . import arr, base
from .base import Parsed

KIND = "sonarr"
ACCEPTS = arr.JSON_ONLY

ACTIONS = {
    **arr.ACTIONS,
    "SeriesAdd": base.MEDIA_ADDED,
    "SeriesDelete": base.MEDIA_DELETED,
    "EpisodeFileDelete": base.DELETE,
}


def parse(data: Any) -> Parsed:
    """Normalize one Sonarr webhook body."""
    event = base.event_type(data, "eventType")
    action = ACTIONS.get(event)
    if action is None:
        return arr.unhandled(event)
    series = base.obj(data, "series")
    episodes = base.objs(data, "episodes")
    parsed = Parsed(
        app_event=event,
        action=action,
        media_type=("series" if action in (base.MEDIA_ADDED, base.MEDIA_DELETED) else "episode") if series else None,
        title=base.text(series, "title"),
        year=base.positive_id(series, "year"),
        ids=base.ids(
            tvdb=base.positive_id(series, "tvdbId"),
            tvmaze=base.positive_id(series, "tvMazeId"),
            tmdb=base.positive_id(series, "tmdbId"),
            imdb=base.text(series, "imdbId"),
            series_id=base.positive_id(series, "id"),
        ),
        season=_season(episodes),
        episodes=base.unique([base.integer(e, "episodeNumber") for e in episodes]),
        folder_path=base.text(series, "path"),
    )
    arr.apply_common(parsed, data)
    if event == "Download":
        _download(parsed, data)
    arr.apply_files(parsed, data, renamed="renamedEpisodeFiles", file="episodeFile", file_deleted="EpisodeFileDelete")
    arr.apply_media_deleted(parsed, data, event="SeriesDelete")
    return parsed


def _download(parsed: Parsed, data: dict[str, Any]) -> None:
    single = base.obj(data, "episodeFile")
    files = [single] if single else base.objs(data, "episodeFiles")
    parsed.paths = arr.file_paths(files)
    for file in files:
        arr.apply_file(parsed, file)
    if single:
        parsed.is_upgrade = base.boolean(data, "isUpgrade")
        parsed.deleted_paths = arr.file_paths(base.objs(data, "deletedFiles"))


def _season(episodes: list[dict[str, Any]]) -> int | None:
    seasons = base.unique([base.integer(e, "seasonNumber") for e in episodes])
    return seasons[0] if seasons else None
