"""The event catalog: every event Sublarr emits, as a Django signal plus metadata.

Declarations only. Receivers live in the apps that consume events
(``events.bridge``, ``hooks.receivers``) and are connected in their
``AppConfig.ready()``. Within one ``CATALOG_VERSION`` events may be added but
never removed or renamed, and a payload key never changes meaning — nor its
type (``PAYLOAD_TYPES``), which ``emit_event`` enforces and each event's JSON
Schema publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

from .signals import EventSignal

CATALOG_VERSION = 1

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class PayloadType:
    """The JSON type of a payload key's value, and whether it may be null.

    Nothing nests past one level: an array holds strings or integers
    (``items``), an object maps strings to strings or integers.
    """

    json_type: str  # "string", "integer", "number", "boolean", "array" or "object"
    nullable: bool = False
    items: str = "string"  # an array's item type: "string" or "integer"
    # The exact Python type json.loads gives a value of this type that needs
    # no closer look (None: every value does — a float may be NaN, a list
    # holds items), for emit_event's fast path.
    plain_type: type | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain_type", {"string": str, "integer": int, "boolean": bool}.get(self.json_type))

    def or_null(self) -> PayloadType:
        return PayloadType(self.json_type, nullable=True, items=self.items)

    def describe(self) -> str:
        """How a message names the type: "an integer", "a string or null", "a list of strings"…"""
        text = _ITEM_LIST_NAMES[self.items] if self.json_type == "array" else _TYPE_NAMES[self.json_type]
        return f"{text} or null" if self.nullable else text

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": [self.json_type, "null"] if self.nullable else self.json_type}
        if self.json_type == "array":
            schema["items"] = {"type": self.items}
        elif self.json_type == "object":
            schema["additionalProperties"] = {"type": ["string", "integer"]}
        return schema

    def openapi_schema(self) -> dict[str, Any]:
        """The same type as OpenAPI 3.0 writes it (``nullable``, no type lists): the emit endpoints' bodies."""
        schema: dict[str, Any] = {"type": self.json_type}
        if self.nullable:
            schema["nullable"] = True
        if self.json_type == "array":
            schema["items"] = {"type": self.items}
        elif self.json_type == "object":
            schema["additionalProperties"] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        return schema


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object of strings and integers",
}
_ITEM_LIST_NAMES = {"string": "a list of strings", "integer": "a list of integers"}
STRING = PayloadType("string")
INTEGER = PayloadType("integer")
NUMBER = PayloadType("number")
BOOLEAN = PayloadType("boolean")
STRING_LIST = PayloadType("array")
INTEGER_LIST = PayloadType("array", items="integer")
SCALAR_MAP = PayloadType("object")

# One type per key name across the catalog: a key means the same in every
# event. null where a value may be missing for a reason (a movie has no
# season; a delivery is a hook's or a webhook's); every key may be left out.
PAYLOAD_TYPES: dict[str, PayloadType] = {
    "provider_name": STRING,
    "language": STRING,
    "format": STRING,
    "score": INTEGER,
    "series_title": STRING.or_null(),
    "season": INTEGER.or_null(),
    "episode": INTEGER.or_null(),
    "movie_title": STRING.or_null(),
    "subtitle_path": STRING,
    "job_id": STRING,
    "source_language": STRING,
    "target_language": STRING,
    "backend_name": STRING,
    "duration_ms": INTEGER,
    "error": STRING,
    "result_count": INTEGER,
    "best_score": INTEGER.or_null(),
    "error_type": STRING,
    "total_items": INTEGER,
    "new_items": INTEGER,
    "removed_items": INTEGER,
    "item_id": INTEGER,
    "title": STRING.or_null(),
    "season_episode": STRING,
    "status": STRING,
    "old_format": STRING,
    "new_format": STRING,
    "old_score": INTEGER,
    "new_score": INTEGER,
    "total": INTEGER,
    "succeeded": INTEGER,
    "failed": INTEGER,
    "skipped": INTEGER,
    "source": STRING,
    "event_type": STRING,
    "changed_keys": STRING_LIST,
    "detected_language": STRING,
    "segment_count": INTEGER,
    "duration_seconds": NUMBER,
    "processing_time_ms": INTEGER,
    "hook_id": INTEGER.or_null(),
    "webhook_id": INTEGER.or_null(),
    "notification_id": INTEGER.or_null(),
    "hook_type": STRING,
    "event_name": STRING,
    "success": BOOLEAN,
    # webhook_received (incoming/, docs/INCOMING.md)
    "source_kind": STRING,
    "action": STRING,
    "media_type": STRING.or_null(),
    "year": INTEGER.or_null(),
    "ids": SCALAR_MAP,
    "episodes": INTEGER_LIST,
    "folder_path": STRING.or_null(),
    "paths": STRING_LIST,
    "previous_paths": STRING_LIST,
    "deleted_paths": STRING_LIST,
    "scene_name": STRING.or_null(),
    "release_title": STRING.or_null(),
    "release_group": STRING.or_null(),
    "quality": STRING.or_null(),
    "languages": STRING_LIST,
    "subtitle_languages": STRING_LIST,
    "is_upgrade": BOOLEAN.or_null(),
    "message": STRING.or_null(),
}


@dataclass(frozen=True)
class EventSpec:
    name: str
    label: str
    description: str
    payload_keys: tuple[str, ...]
    # Meta-events reach WebSocket clients but never trigger hooks or webhooks.
    meta: bool = False
    signal: Signal = field(default_factory=EventSignal, compare=False, repr=False)
    # Each payload key's type, looked up once here (emit_event reads it per key).
    payload_types: dict[str, PayloadType] = field(init=False, compare=False, repr=False)
    # Each key's ``PayloadType.plain_type`` (None: no fast path), for emit_event's
    # check of the common case: one dict lookup and an identity test per key.
    plain_types: dict[str, type | None] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        untyped = [key for key in self.payload_keys if key not in PAYLOAD_TYPES]
        if untyped:
            raise ValueError(f"Payload key(s) of {self.name} without a type in PAYLOAD_TYPES: {', '.join(untyped)}")
        object.__setattr__(self, "payload_types", {key: PAYLOAD_TYPES[key] for key in self.payload_keys})
        object.__setattr__(self, "plain_types", {key: kind.plain_type for key, kind in self.payload_types.items()})

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of this event's envelope, its payload's key types included."""
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:sublarr:event:{self.name}:{CATALOG_VERSION}",
            "title": self.label,
            "description": self.description,
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "event_name": {"const": self.name},
                "version": {"const": CATALOG_VERSION},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {
                    "type": "object",
                    "properties": {key: kind.json_schema() for key, kind in self.payload_types.items()},
                    "additionalProperties": False,
                },
            },
            "required": ["id", "event_name", "version", "timestamp", "data"],
            "additionalProperties": False,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "payload_keys": list(self.payload_keys),
            "meta": self.meta,
            "version": CATALOG_VERSION,
            "schema": self.json_schema(),
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
        "A script hook, webhook or notification delivery reached its final outcome (WebSocket only).",
        # notification_id was added within CATALOG_VERSION 1 (keys may be added, never removed or renamed).
        ("hook_id", "webhook_id", "notification_id", "hook_type", "event_name", "success", "duration_ms"),
        meta=True,
    ),
]

EVENT_CATALOG: dict[str, EventSpec] = {spec.name: spec for spec in _SPECS}

# Events that may trigger hooks and webhooks (every event but the meta-events).
HOOKABLE_EVENTS: tuple[str, ...] = tuple(spec.name for spec in _SPECS if not spec.meta)


def catalog_listing() -> list[dict[str, Any]]:
    """The catalog as plain data (API, CLI, docs)."""
    return [spec.as_dict() for spec in EVENT_CATALOG.values()]
