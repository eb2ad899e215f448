"""Realistic example payloads per event, for test runs of hooks and for docs."""

from __future__ import annotations

from typing import Any

from .catalog import EVENT_CATALOG

SAMPLE_VALUES: dict[str, Any] = {
    "provider_name": "opensubtitles",
    "language": "de",
    "format": "ass",
    "score": 412,
    "series_title": "The Expanse",
    "season": 2,
    "episode": 5,
    "movie_title": None,
    "subtitle_path": "/media/tv/The Expanse/Season 02/The.Expanse.S02E05.de.ass",
    "job_id": "job-4f2a9c",
    "source_language": "en",
    "target_language": "de",
    "backend_name": "deepl",
    "duration_ms": 1840,
    "error": "Provider returned HTTP 503",
    "result_count": 12,
    "best_score": 412,
    "error_type": "ProviderUnavailable",
    "total_items": 240,
    "new_items": 3,
    "removed_items": 1,
    "item_id": 1187,
    "title": "The Expanse",
    "season_episode": "S02E05",
    "status": "found",
    "old_format": "srt",
    "new_format": "ass",
    "old_score": 300,
    "new_score": 412,
    "total": 20,
    "succeeded": 17,
    "failed": 2,
    "skipped": 1,
    "source": "sonarr",
    "event_type": "Download",
    "source_kind": "sonarr",
    "action": "import",
    "media_type": "episode",
    "year": 2015,
    "ids": {"tvdb": 280619, "tvmaze": 1825, "imdb": "tt3230854", "series_id": 12},
    "episodes": [5],
    "folder_path": "/media/tv/The Expanse",
    "paths": ["/media/tv/The Expanse/Season 02/The.Expanse.S02E05.mkv"],
    "previous_paths": [],
    "deleted_paths": [],
    "scene_name": "The.Expanse.S02E05.1080p.WEB-DL.DD5.1.H264-GRP",
    "release_title": "The.Expanse.S02E05.1080p.WEB-DL.DD5.1.H264-GRP",
    "release_group": "GRP",
    "quality": "WEBDL-1080p",
    "languages": ["English"],
    "subtitle_languages": ["English"],
    "is_upgrade": False,
    "message": None,
    "changed_keys": ["webhooks"],
    "detected_language": "en",
    "segment_count": 642,
    "duration_seconds": 2580.4,
    "processing_time_ms": 91234,
    "hook_id": 1,
    "webhook_id": None,
    "notification_id": None,
    "hook_type": "script",
    "event_name": "subtitle_downloaded",
    "success": True,
}


def sample_payload(event_name: str) -> dict[str, Any]:
    """An example payload with every declared key of ``event_name``."""
    spec = EVENT_CATALOG[event_name]
    return {key: SAMPLE_VALUES.get(key) for key in spec.payload_keys}
