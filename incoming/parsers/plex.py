"""Plex Media Server webhooks (Plex Pass; support.plex.tv "Webhooks").

``multipart/form-data`` with the JSON in the ``payload`` field (and, for some
events, a ``thumb`` image part). Events: ``library.new``,
``library.on.deck``, ``media.play``/``pause``/``resume``/``stop``/
``scrobble``/``rate``, ``playback.started``, ``admin.database.*``,
``device.new``. ``Metadata`` carries ``type`` (episode, movie, show, season),
``title``, ``grandparentTitle`` (the show), ``parentIndex`` (season),
``index`` (episode), ``year``, ``ratingKey`` and ``Guid`` (``imdb://…``,
``tmdb://…``, ``tvdb://…``); no file path.
"""

from __future__ import annotations

from typing import Any

from . import base
from .base import Parsed

KIND = "plex"
ACCEPTS = {"multipart/form-data": "payload"}

_MEDIA_TYPES = {"episode": "episode", "movie": "movie", "show": "series", "season": "series"}
_PLAYBACK = {"media.play", "media.pause", "media.resume", "media.stop", "media.scrobble", "playback.started"}


def parse(data: Any) -> Parsed:
    """Normalize one Plex webhook payload."""
    event = base.event_type(data, "event")
    metadata = base.obj(data, "Metadata")
    media_type = _MEDIA_TYPES.get(base.text(metadata, "type") or "")
    if event == "library.new":
        action = base.IMPORT if media_type in ("episode", "movie") else base.MEDIA_ADDED
    elif event in _PLAYBACK:
        action = base.PLAYBACK
    else:
        return Parsed(app_event=event, outcome="ignored")
    episode = media_type == "episode"
    guids = {}
    for guid in base.objs(metadata, "Guid"):
        scheme, _, value = (base.text(guid, "id") or "").partition("://")
        if scheme in ("imdb", "tmdb", "tvdb") and value:
            # On an episode these are the episode's own ids, not the show's.
            guids[f"{'episode_' if episode else ''}{scheme}"] = base.provider_id(value)
    number = base.integer(metadata, "index")
    return Parsed(
        app_event=event,
        action=action,
        media_type=media_type,
        title=(base.text(metadata, "grandparentTitle") if episode else None) or base.text(metadata, "title"),
        year=base.integer(metadata, "year"),
        ids=base.ids(**guids, rating_key=base.text(metadata, "ratingKey") or base.integer(metadata, "ratingKey")),
        season=base.integer(metadata, "parentIndex") if episode else None,
        episodes=[number] if episode and number is not None else [],
    )
