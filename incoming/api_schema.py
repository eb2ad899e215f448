"""``POST /api/incoming/{name}/`` in the OpenAPI schema (drf-spectacular postprocessing hook).

The endpoint is a plain Django view (see ``incoming.views``: the apps are not
API clients), which drf-spectacular does not see; this hook adds its operation
so that the schema describes every URL under ``/api/``: how the apps
authenticate (``X-Api-Key``, ``?apikey=``, HTTP Basic), the bodies each kind
sends, and every answer with its ``X-Request-Id``. Registered in
``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``.
"""

from __future__ import annotations

from typing import Any

from .models import SourceKind
from .parsers import PARSERS

PATH = "/api/incoming/{name}/"

_ANSWER = {
    "type": "object",
    "required": ["request_id", "outcome", "app_event", "event_id"],
    "properties": {
        "request_id": {"type": "string", "format": "uuid", "description": "This request's record id."},
        "outcome": {"type": "string", "enum": ["accepted", "test", "ignored"]},
        "app_event": {"type": "string", "description": "The app's own event type (Sonarr's eventType…)."},
        "event_id": {
            "type": "string",
            "format": "uuid",
            "nullable": True,
            "description": "The webhook_received event emitted (accepted only).",
        },
    },
}
# The error shape of every other operation (events.api_schema's ErrorDetail), with the request's record id:
# the apps are not API clients, so a 400 here is one message too, not field → messages.
REFUSAL_COMPONENT = "IncomingRefusal"
_REFUSAL_SCHEMA = {
    "allOf": [
        {"$ref": "#/components/schemas/ErrorDetail"},
        {
            "type": "object",
            "required": ["request_id"],
            "properties": {
                "request_id": {"type": "string", "format": "uuid", "description": "This request's record id."}
            },
        },
    ],
    "description": "Why the request was refused (never quoting a key), and the request's record id.",
}
_REFUSAL = {"$ref": f"#/components/schemas/{REFUSAL_COMPONENT}"}
_REQUEST_ID = {
    "X-Request-Id": {"description": "The request's record id (as in the body).", "schema": {"type": "string"}}
}
_REFUSALS = {
    400: "Malformed JSON or multipart body, a body that is not an event of the source's kind, or a path "
    "mapping that would produce a path with '..' or NUL. Recorded as rejected; nothing emitted.",
    401: "Missing or wrong API key or Basic credentials (answered with WWW-Authenticate).",
    403: "The source is disabled.",
    404: "No incoming source of that name.",
    405: "Only POST is accepted.",
    413: "The body is over SUBLARR_INCOMING_MAX_BODY_BYTES (1 MiB by default).",
    415: "The content type is not one this kind of source sends.",
}


def _kinds_accepting(media_type: str) -> str:
    return ", ".join(kind for kind, parser in PARSERS.items() if media_type in parser.ACCEPTS)


def _request_body() -> dict[str, Any]:
    multipart_fields = sorted({f for p in PARSERS.values() for f in p.ACCEPTS.values() if f is not None})
    return {
        "required": True,
        "description": (
            "What the app sends, as it sends it: Sonarr and Radarr their webhook JSON, Jellyfin its webhook "
            "plugin's JSON (often as text/plain), Plex multipart with the JSON in the 'payload' field, Emby "
            "JSON or multipart 'data'. See docs/INCOMING.md for each kind's events and the normalized "
            "webhook_received they become."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": f"Kinds: {_kinds_accepting('application/json')}.",
                }
            },
            "text/plain": {
                "schema": {
                    "type": "string",
                    "description": f"A JSON document as text. Kinds: {_kinds_accepting('text/plain')}.",
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {field: {"type": "string"} for field in multipart_fields},
                    "description": (
                        "The JSON document in one field: "
                        + ", ".join(
                            f"{kind}: '{parser.ACCEPTS['multipart/form-data']}'"
                            for kind, parser in PARSERS.items()
                            if "multipart/form-data" in parser.ACCEPTS
                        )
                        + "."
                    ),
                }
            },
        },
    }


def _operation() -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "A test request, or a well-formed event type not handled: recorded, nothing emitted.",
            "headers": _REQUEST_ID,
            "content": {"application/json": {"schema": _ANSWER}},
        },
        "202": {
            "description": "Accepted: webhook_received emitted in the same transaction as the record.",
            "headers": _REQUEST_ID,
            "content": {"application/json": {"schema": _ANSWER}},
        },
    }
    for status, description in _REFUSALS.items():
        headers = dict(_REQUEST_ID)
        if status == 401:
            headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
        if status == 405:
            headers["Allow"] = {"schema": {"type": "string"}}
        responses[str(status)] = {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": _REFUSAL}},
        }
    return {
        "operationId": "incoming_receive",
        "summary": "Receive a webhook from Sonarr, Radarr, Jellyfin, Plex, Emby or a generic sender",
        "description": (
            "Authenticate with the source's API key (X-Api-Key header or apikey query parameter) or its HTTP "
            "Basic credentials; keys are compared in constant time and never logged. Every request is "
            "recorded (GET /api/incoming-requests/). Source kinds: "
            + ", ".join(value for value, _label in SourceKind.choices)
            + "."
        ),
        "tags": ["incoming"],
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The incoming source's name.",
            },
            {
                "name": "apikey",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The source's API key, for apps that cannot send a header.",
            },
        ],
        "requestBody": _request_body(),
        "security": [{"IncomingApiKey": []}, {"IncomingApiKeyQuery": []}, {"IncomingBasic": []}],
        "responses": responses,
    }


def add_receive_operation(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the incoming endpoint's operation and its three security schemes to the generated schema."""
    result.setdefault("paths", {})[PATH] = {"post": _operation()}
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})[REFUSAL_COMPONENT] = _REFUSAL_SCHEMA
    schemes = components.setdefault("securitySchemes", {})
    schemes["IncomingApiKey"] = {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    schemes["IncomingApiKeyQuery"] = {"type": "apiKey", "in": "query", "name": "apikey"}
    schemes["IncomingBasic"] = {"type": "http", "scheme": "basic", "description": "A source's Basic credentials."}
    return result
