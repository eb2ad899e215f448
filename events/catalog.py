"""The event catalog: every event Sublarr emits, as a Django signal plus metadata.

Declarations only. Receivers live in the apps that consume events
(``events.bridge``, ``hooks.receivers``) and are connected in their
``AppConfig.ready()``. Within one ``CATALOG_VERSION`` events may be added but
never removed or renamed, and a payload key never changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

CATALOG_VERSION = 1


@dataclass(frozen=True)
class EventSpec:
    name: str
    label: str
    description: str
    payload_keys: tuple[str, ...]
    # Meta-events reach WebSocket clients but never trigger hooks or webhooks.
    meta: bool = False
    signal: Signal = field(default_factory=Signal, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "payload_keys": list(self.payload_keys),
            "meta": self.meta,
            "version": CATALOG_VERSION,
        }


_SPECS = [
    EventSpec(
        "subtitle_downloaded",
        "Subtitle downloaded",
        "A subtitle was downloaded from a provider and saved next to the media file.",
        (
            "provider_name",
            "language",
            "format",
            "score",
            "series_title",
            "season",
            "episode",
            "movie_title",
            "subtitle_path",
        ),
    ),
    EventSpec(
        "translation_complete",
        "Translation complete",
        "A subtitle translation job finished successfully.",
        (
            "job_id",
            "source_language",
            "target_language",
            "backend_name",
            "duration_ms",
            "series_title",
            "movie_title",
        ),
    ),
    EventSpec(
        "translation_failed",
        "Translation failed",
        "A subtitle translation job failed.",
        (
            "job_id",
            "source_language",
            "target_language",
            "backend_name",
            "error",
            "series_title",
            "movie_title",
        ),
    ),
    EventSpec(
        "provider_search_complete",
        "Provider search complete",
        "A subtitle provider answered a search.",
        ("provider_name", "result_count", "best_score", "series_title", "season", "episode", "movie_title"),
    ),
    EventSpec(
        "provider_failed",
        "Provider failed",
        "A subtitle provider search or download failed.",
        ("provider_name", "error", "error_type", "series_title", "movie_title"),
    ),
    EventSpec(
        "wanted_scan_complete",
        "Wanted scan complete",
        "The scan for media missing subtitles finished.",
        ("total_items", "new_items", "removed_items", "duration_ms"),
    ),
    EventSpec(
        "wanted_item_processed",
        "Wanted item processed",
        "One wanted item was searched for and processed.",
        ("item_id", "title", "season_episode", "status", "provider_name", "score"),
    ),
    EventSpec(
        "upgrade_complete",
        "Upgrade complete",
        "A subtitle was replaced by a better-scoring one.",
        ("title", "old_format", "new_format", "old_score", "new_score", "provider_name"),
    ),
    EventSpec(
        "batch_complete",
        "Batch complete",
        "A batch of subtitle jobs finished.",
        ("total", "succeeded", "failed", "skipped", "duration_ms"),
    ),
    EventSpec(
        "webhook_received",
        "Webhook received",
        "An incoming webhook from Sonarr, Radarr or a media server was accepted.",
        (
            "source",
            "event_type",
            "title",
            "season",
            "episode",
            "source_kind",
            "action",
            "media_type",
            "year",
            "ids",
            "episodes",
            "folder_path",
            "paths",
            "previous_paths",
            "deleted_paths",
            "scene_name",
            "release_title",
            "release_group",
            "quality",
            "languages",
            "subtitle_languages",
            "is_upgrade",
            "message",
        ),
    ),
    EventSpec(
        "config_updated",
        "Configuration updated",
        "Settings, hooks, webhooks or scoring weights were changed.",
        ("changed_keys", "source"),
    ),
    EventSpec(
        "whisper_complete",
        "Whisper transcription complete",
        "A speech-to-text job produced a subtitle.",
        (
            "job_id",
            "backend_name",
            "detected_language",
            "segment_count",
            "duration_seconds",
            "processing_time_ms",
        ),
    ),
    EventSpec(
        "whisper_failed",
        "Whisper transcription failed",
        "A speech-to-text job failed.",
        ("job_id", "backend_name", "error"),
    ),
    EventSpec(
        "hook_executed",
        "Hook executed",
        "A script hook or webhook delivery reached its final outcome (WebSocket only).",
        ("hook_id", "webhook_id", "hook_type", "event_name", "success", "duration_ms"),
        meta=True,
    ),
]

EVENT_CATALOG: dict[str, EventSpec] = {spec.name: spec for spec in _SPECS}

# Events that may trigger hooks and webhooks (every event but the meta-events).
HOOKABLE_EVENTS: tuple[str, ...] = tuple(spec.name for spec in _SPECS if not spec.meta)


def catalog_listing() -> list[dict[str, Any]]:
    """The catalog as plain data (API, CLI, docs)."""
    return [spec.as_dict() for spec in EVENT_CATALOG.values()]
