"""Radarr v4/v5 ``Connect → Webhook``: ``src/NzbDrone.Core/Notifications/Webhook/`` (Radarr/Radarr).

Every ``WebhookEventType``: Test, Grab, Download, Rename, MovieAdded,
MovieDelete, MovieFileDelete, Health, HealthRestored, ApplicationUpdate,
ManualInteractionRequired.
"""

from __future__ import annotations

from typing import Any

from . import arr, base
from .base import Parsed

KIND = "radarr"
ACCEPTS = arr.JSON_ONLY

ACTIONS = {
    **arr.ACTIONS,
    "MovieAdded": base.MEDIA_ADDED,
    "MovieDelete": base.MEDIA_DELETED,
    "MovieFileDelete": base.DELETE,
}


def parse(data: Any) -> Parsed:
    """Normalize one Radarr webhook body."""
    event = base.event_type(data, "eventType")
    action = ACTIONS.get(event)
    if action is None:
        return arr.unhandled(event)
    movie = base.obj(data, "movie")
    # remoteMovie (Grab, Download) holds the same ids from the metadata; older versions sent only it.
    remote = base.obj(data, "remoteMovie")
    parsed = Parsed(
        app_event=event,
        action=action,
        media_type="movie" if movie or remote else None,
        title=base.text(movie, "title") or base.text(remote, "title"),
        year=base.positive_id(movie, "year") or base.positive_id(remote, "year"),
        ids=base.ids(
            tmdb=base.positive_id(movie, "tmdbId") or base.positive_id(remote, "tmdbId"),
            imdb=base.text(movie, "imdbId") or base.text(remote, "imdbId"),
            movie_id=base.positive_id(movie, "id"),
        ),
        folder_path=base.text(movie, "folderPath"),
    )
    arr.apply_common(parsed, data)
    if event == "Download":
        file = base.obj(data, "movieFile")
        parsed.paths = arr.file_paths([file]) or base.unique([base.text(movie, "filePath")])
        arr.apply_file(parsed, file)
        parsed.is_upgrade = base.boolean(data, "isUpgrade")
        parsed.deleted_paths = arr.file_paths(base.objs(data, "deletedFiles"))
    arr.apply_files(parsed, data, renamed="renamedMovieFiles", file="movieFile", file_deleted="MovieFileDelete")
    arr.apply_media_deleted(parsed, data, event="MovieDelete")
    return parsed
