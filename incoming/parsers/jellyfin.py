"""Jellyfin's webhook plugin, "Generic" destination (jellyfin/jellyfin-plugin-webhook).

The body is whatever the user's Handlebars template renders; the default
templates render the flat PascalCase data object of
``Jellyfin.Plugin.Webhook/Helpers/DataObjectHelpers.cs`` (``NotificationType``,
``ItemType``, ``Name``, ``SeriesName``, ``SeasonNumber``, ``EpisodeNumber``,
``Year``, ``ItemId``, ``SeriesId``, ``Provider_tvdb``…). The plugin posts it as
``text/plain`` unless a Content-Type header is configured
(``Destinations/Generic/GenericClient.cs``). Keys are read without regard to
case, since templates are hand-written. Jellyfin sends no file path, only ids.
"""

from __future__ import annotations

from typing import Any

from . import base
from .base import Parsed

KIND = "jellyfin"
ACCEPTS = {"text/plain": None, "application/json": None}

_MEDIA_TYPES = {"episode": "episode", "movie": "movie", "series": "series", "season": "series"}
_PLAYBACK = {"PlaybackStart", "PlaybackStop"}


def parse(data: Any) -> Parsed:
    """Normalize one Jellyfin webhook body."""
    if not isinstance(data, dict):
        raise base.PayloadError(f"The body must be a JSON object, not {type(data).__name__}.")
    data = {str(key).lower(): value for key, value in data.items()}
    event = base.event_type(data, "notificationtype")
    media_type = _MEDIA_TYPES.get((base.text(data, "itemtype") or "").lower())
    if event == "ItemAdded":
        action = base.IMPORT if media_type in ("episode", "movie") else base.MEDIA_ADDED
    elif event == "ItemDeleted":
        action = base.DELETE if media_type in ("episode", "movie") else base.MEDIA_DELETED
    elif event in _PLAYBACK:
        action = base.PLAYBACK
    else:
        return Parsed(app_event=event, outcome="ignored")
    episode = media_type == "episode"
    number = base.integer(data, "episodenumber")
    last = base.integer(data, "episodenumberend")
    return Parsed(
        app_event=event,
        action=action,
        media_type=media_type,
        title=(base.text(data, "seriesname") if episode else None) or base.text(data, "name"),
        year=base.integer(data, "year"),
        # On an episode the provider ids are the episode's own, not the series'.
        ids=base.ids(
            **{
                f"{'episode_' if episode else ''}{provider}": base.provider_id(data.get(f"provider_{provider}"))
                for provider in ("tvdb", "tmdb", "imdb")
            },
            item_id=base.text(data, "itemid"),
            series_item_id=base.text(data, "seriesid"),
        ),
        season=base.integer(data, "seasonnumber") if episode else None,
        episodes=base.episode_range(number, last) if episode else [],
    )
