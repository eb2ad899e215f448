"""Emby Server webhooks (Emby 4.7+, Settings → Webhooks; dev.emby.media "Webhooks").

JSON (``application/json``, or ``multipart/form-data`` with the JSON in the
``data`` field): ``Event`` (``library.new``, ``library.deleted``,
``playback.start``/``stop``/``pause``/``unpause``,
``system.notificationtest``…), ``Item`` (``Name``, ``Type``, ``Path``,
``SeriesName``, ``ParentIndexNumber``, ``IndexNumber``, ``ProductionYear``,
``ProviderIds``, ``Id``, ``SeriesId``), ``Server``, ``User``.
"""

from __future__ import annotations

from typing import Any

from . import base
from .base import Parsed

KIND = "emby"
ACCEPTS = {"application/json": None, "multipart/form-data": "data"}

_MEDIA_TYPES = {"episode": "episode", "movie": "movie", "series": "series", "season": "series"}
_PLAYBACK = {"playback.start", "playback.stop", "playback.pause", "playback.unpause"}


def parse(data: Any) -> Parsed:
    """Normalize one Emby webhook body."""
    event = base.event_type(data, "Event")
    if event == "system.notificationtest":
        return Parsed(app_event=event, outcome="test")
    item = base.obj(data, "Item")
    media_type = _MEDIA_TYPES.get((base.text(item, "Type") or "").lower())
    file_media = media_type in ("episode", "movie")
    if event == "library.new":
        action = base.IMPORT if file_media else base.MEDIA_ADDED
    elif event == "library.deleted":
        action = base.DELETE if file_media else base.MEDIA_DELETED
    elif event in _PLAYBACK:
        action = base.PLAYBACK
    else:
        return Parsed(app_event=event, outcome="ignored")
    episode = media_type == "episode"
    providers = {str(key).lower(): value for key, value in base.obj(item, "ProviderIds").items()}
    path = base.text(item, "Path")
    number = base.integer(item, "IndexNumber")
    last = base.integer(item, "IndexNumberEnd")
    return Parsed(
        app_event=event,
        action=action,
        media_type=media_type,
        title=(base.text(item, "SeriesName") if episode else None) or base.text(item, "Name"),
        year=base.integer(item, "ProductionYear"),
        # On an episode the provider ids are the episode's own, not the series'.
        ids=base.ids(
            **{
                f"{'episode_' if episode else ''}{provider}": base.provider_id(providers.get(provider))
                for provider in ("tvdb", "tmdb", "imdb")
            },
            item_id=base.text(item, "Id"),
            series_item_id=base.text(item, "SeriesId"),
        ),
        season=base.integer(item, "ParentIndexNumber") if episode else None,
        episodes=base.episode_range(number, last) if episode else [],
        paths=[path] if path and file_media and action != base.DELETE else [],
        deleted_paths=[path] if path and action in (base.DELETE, base.MEDIA_DELETED) else [],
        folder_path=path if path and media_type == "series" and action != base.MEDIA_DELETED else None,
    )
