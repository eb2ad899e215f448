"""REST: the catalog for signed-in users; staff emit with clear 4xx answers for bad input."""

from __future__ import annotations

import json

import pytest

from events.catalog import EVENT_CATALOG
from events.samples import sample_payload

VALID_EVENTS = ", ".join(EVENT_CATALOG)


def post_raw(client, name: str, body: bytes | str):
    return client.generic("POST", f"/api/events/{name}/", body, content_type="application/json")


DESCRIPTION = "A script hook, webhook or notification delivery reached its final outcome (WebSocket only)."


@pytest.mark.django_db(transaction=True)
def test_catalog_is_listed_for_any_signed_in_user(user_client):
    response = user_client.get("/api/events/")

    assert response.status_code == 200
    assert [event["name"] for event in response.json()] == list(EVENT_CATALOG)
    assert response.json()[-1] == {
        "name": "hook_executed",
        "label": "Hook executed",
        "description": DESCRIPTION,
        "payload_keys": [
            "hook_id",
            "webhook_id",
            "notification_id",
            "hook_type",
            "event_name",
            "success",
            "duration_ms",
        ],
        "meta": True,
        "version": 1,
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:sublarr:event:hook_executed:1",
            "title": "Hook executed",
            "description": DESCRIPTION,
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "event_name": {"const": "hook_executed"},
                "version": {"const": 1},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {
                    "type": "object",
                    "properties": {
                        "hook_id": {"type": ["integer", "null"]},
                        "webhook_id": {"type": ["integer", "null"]},
                        "notification_id": {"type": ["integer", "null"]},
                        "hook_type": {"type": "string"},
                        "event_name": {"type": "string"},
                        "success": {"type": "boolean"},
                        "duration_ms": {"type": "integer"},
                    },
                    "additionalProperties": False,
                },
            },
            "required": ["id", "event_name", "version", "timestamp", "data"],
            "additionalProperties": False,
        },
    }


@pytest.mark.django_db(transaction=True)
def test_catalog_needs_authentication(anon_client):
    response = anon_client.get("/api/events/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.django_db(transaction=True)
def test_staff_post_emits_and_answers_202_with_the_envelope(staff_client, emitted):
    payload = sample_payload("subtitle_downloaded")

    response = staff_client.post("/api/events/subtitle_downloaded/", payload, format="json")

    assert response.status_code == 202
    envelope = response.json()
    assert envelope["event_name"] == "subtitle_downloaded"
    assert envelope["version"] == 1
    assert envelope["data"] == payload
    assert emitted == [envelope]


@pytest.mark.django_db(transaction=True)
def test_empty_body_emits_an_event_without_data(staff_client, emitted):
    response = post_raw(staff_client, "batch_complete", b"")

    assert response.status_code == 202
    assert response.json()["data"] == {}
    assert len(emitted) == 1


@pytest.mark.django_db(transaction=True)
def test_non_staff_cannot_emit(user_client, emitted):
    response = user_client.post("/api/events/batch_complete/", {"total": 1}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert emitted == []


@pytest.mark.django_db(transaction=True)
def test_unknown_event_is_404_naming_the_valid_events(staff_client, emitted):
    response = staff_client.post("/api/events/nope/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Unknown event 'nope'. Valid events: {VALID_EVENTS}."}
    assert emitted == []


@pytest.mark.django_db(transaction=True)
def test_undeclared_payload_key_is_400_on_that_key(staff_client, emitted):
    response = staff_client.post("/api/events/whisper_failed/", {"job_id": "j", "secret": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "secret": ["Undeclared payload key(s) for whisper_failed: secret. Allowed: job_id, backend_name, error."]
    }
    assert emitted == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("{not json", "Malformed JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ('{"score": NaN}', "Malformed JSON: Out of range float values are not JSON compliant: 'NaN'"),
        (b"\xff\xfe", "Malformed JSON: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    ],
)
def test_malformed_json_is_400(staff_client, emitted, body, detail):
    response = post_raw(staff_client, "subtitle_downloaded", body)

    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert emitted == []


@pytest.mark.django_db(transaction=True)
def test_body_that_is_not_an_object_is_400(staff_client, emitted):
    response = post_raw(staff_client, "batch_complete", "[1, 2]")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["The body must be a JSON object of payload keys, not list."]}
    assert emitted == []


@pytest.mark.django_db(transaction=True)
def test_oversized_body_is_413(staff_client, emitted, settings):
    settings.SUBLARR_EVENT_MAX_BODY_BYTES = 1024
    body = json.dumps({"error": "x" * 1100})

    response = post_raw(staff_client, "whisper_failed", body)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "Request body too large: the limit is 1024 bytes (SUBLARR_EVENT_MAX_BODY_BYTES)."
    }
    assert emitted == []


@pytest.mark.django_db(transaction=True)
def test_body_at_the_limit_is_accepted(staff_client, emitted, settings):
    settings.SUBLARR_EVENT_MAX_BODY_BYTES = 1024
    body = json.dumps({"error": ""})
    body = json.dumps({"error": "x" * (1024 - len(body))})
    assert len(body) == 1024

    response = post_raw(staff_client, "whisper_failed", body)

    assert response.status_code == 202
    assert len(emitted) == 1


@pytest.mark.django_db(transaction=True)
def test_openapi_schema_documents_the_catalog_and_each_events_payload(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()

    emit_paths = {path for path in schema["paths"] if path.startswith("/api/events/") and path != "/api/events/"}
    assert emit_paths == {f"/api/events/{name}/" for name in EVENT_CATALOG}
    emit = schema["paths"]["/api/events/whisper_failed/"]["post"]
    assert sorted(emit["responses"]) == ["202", "400", "403", "413", "503"]
    assert emit["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Envelope"
    }
    body = emit["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"] == {
        "job_id": {"type": "string"},
        "backend_name": {"type": "string"},
        "error": {"type": "string"},
    }
    season = schema["paths"]["/api/events/subtitle_downloaded/"]["post"]["requestBody"]["content"]["application/json"]
    assert season["schema"]["properties"]["season"] == {"type": "integer", "nullable": True}
    assert body["schema"]["additionalProperties"] is False
    assert body["examples"]["WhisperFailed"]["value"] == sample_payload("whisper_failed")
    assert "200" in schema["paths"]["/api/events/"]["get"]["responses"]


@pytest.mark.django_db(transaction=True)
def test_admin_shows_the_catalog_read_only(client, staff_user):
    client.force_login(staff_user)

    index = client.get("/admin/")
    page = client.get("/admin/events/catalogevent/")

    assert 'href="/admin/events/catalogevent/"' in index.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    for name in EVENT_CATALOG:
        assert f"<code>{name}</code>" in html
    assert client.get("/admin/events/catalogevent/add/").status_code == 404
