"""Payload key types: declared in the catalog, enforced by emit_event, published as a JSON Schema per event."""

from __future__ import annotations

import enum
import json
import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from events import EventError, emit_event
from events.catalog import EVENT_CATALOG, PAYLOAD_TYPES, EventSpec
from events.samples import SAMPLE_VALUES, sample_payload

pytestmark = pytest.mark.django_db(transaction=True)


class Status(enum.StrEnum):
    FOUND = "found"


class Count(enum.IntEnum):
    THREE = 3


def validator(schema: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def test_every_payload_key_of_the_catalog_has_a_type_and_a_sample_of_that_type():
    keys = {key for spec in EVENT_CATALOG.values() for key in spec.payload_keys}
    assert keys == set(PAYLOAD_TYPES)
    assert keys <= set(SAMPLE_VALUES)


def test_an_event_declared_with_an_untyped_key_is_refused_at_import():
    with pytest.raises(ValueError, match=r"^Payload key\(s\) of x without a type in PAYLOAD_TYPES: nope$"):
        EventSpec("x", "X", "An event.", ("provider_name", "nope"))


@pytest.mark.parametrize("name", list(EVENT_CATALOG))
def test_the_sample_payload_of_every_event_is_emitted_and_matches_its_published_schema(user_client, emitted, name):
    listing = {event["name"]: event for event in user_client.get("/api/events/").json()}

    envelope = emit_event(name, sample_payload(name))

    assert emitted == [envelope]
    # The schema as a client reads it (JSON over the wire), against the envelope as a receiver gets it.
    assert list(validator(listing[name]["schema"]).iter_errors(json.loads(json.dumps(envelope)))) == []


def test_the_published_schema_refuses_what_emit_event_refuses():
    schema = validator(EVENT_CATALOG["subtitle_downloaded"].json_schema())
    envelope = emit_event("subtitle_downloaded", {"score": 412, "season": None})

    assert schema.is_valid(envelope)
    for data in ({"score": "412"}, {"score": True}, {"score": None}, {"season": 1.5}, {"api_key": "k"}):
        assert not schema.is_valid({**envelope, "data": data}), data
    assert not schema.is_valid({**envelope, "event_name": "batch_complete"})
    assert not schema.is_valid({**envelope, "extra": 1})


@pytest.mark.parametrize(
    ("name", "key", "value", "message"),
    [
        ("subtitle_downloaded", "score", "not-a-number", "must be an integer, not a string."),
        ("batch_complete", "total", True, "must be an integer, not a boolean."),
        ("batch_complete", "total", 2.0, "must be an integer, not a number."),
        ("batch_complete", "total", None, "must be an integer, not null."),
        ("batch_complete", "total", [1], "must be an integer, not a list."),
        ("subtitle_downloaded", "season", "2", "must be an integer or null, not a string."),
        ("whisper_complete", "duration_seconds", "2.5", "must be a number, not a string."),
        ("whisper_complete", "duration_seconds", False, "must be a number, not a boolean."),
        ("hook_executed", "success", 1, "must be a boolean, not an integer."),
        ("hook_executed", "success", "true", "must be a boolean, not a string."),
        ("provider_failed", "error", {"k": "v"}, "must be a string, not an object."),
        ("provider_failed", "error", 404, "must be a string, not an integer."),
        ("config_updated", "changed_keys", "webhooks", "must be a list of strings, not a string."),
        (
            "config_updated",
            "changed_keys",
            ["a", 1],
            "must be a list of strings, not a list holding an integer (item 1).",
        ),
        ("config_updated", "changed_keys", [None], "must be a list of strings, not a list holding null (item 0)."),
        (
            "provider_failed",
            "error",
            "bad \ud800 text",
            "must be valid Unicode text, not a lone surrogate (\\ud800) at character 4.",
        ),
        (
            "config_updated",
            "changed_keys",
            ["ok", "\udfff"],
            "must be valid Unicode text, not a lone surrogate (\\udfff) at character 0 (item 1).",
        ),
        (
            "webhook_received",
            "episodes",
            [1, "2"],
            "must be a list of integers, not a list holding a string (item 1).",
        ),
        (
            "webhook_received",
            "episodes",
            [True],
            "must be a list of integers, not a list holding a boolean (item 0).",
        ),
        ("webhook_received", "ids", [1], "must be an object of strings and integers, not a list."),
        (
            "webhook_received",
            "ids",
            {"tvdb": [1]},
            "must be an object of strings and integers, not an object holding a list (at 'tvdb').",
        ),
        (
            "webhook_received",
            "ids",
            {"imdb": "tt\ud800"},
            "must be valid Unicode text, not a lone surrogate (\\ud800) at character 2 (at 'imdb').",
        ),
    ],
)
def test_a_value_not_of_its_keys_type_is_refused_naming_the_key(emitted, name, key, value, message):
    with pytest.raises(EventError) as error:
        emit_event(name, {key: value})

    assert error.value.field == key
    assert error.value.message == f"Payload key {key!r} of {name} {message}"
    assert emitted == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_not_finite_is_refused(emitted, value):
    with pytest.raises(EventError) as error:
        emit_event("whisper_complete", {"duration_seconds": value})

    assert error.value.field == "duration_seconds"
    assert error.value.message == (
        "Payload key 'duration_seconds' of whisper_complete is not JSON-serializable (float); "
        "use strings, numbers, booleans, lists or objects."
    )


def test_values_of_the_declared_types_are_accepted_as_plain_json_values(emitted):
    envelope = emit_event(
        "wanted_item_processed",
        {"item_id": Count.THREE, "status": Status.FOUND, "title": None, "score": 10**30},
    )
    whisper = emit_event(
        "whisper_complete", {"duration_seconds": Count.THREE, "segment_count": 0, "job_id": "Élite — 東京"}
    )
    config = emit_event("config_updated", {"changed_keys": ("a", "b")})

    assert envelope["data"] == {"item_id": 3, "status": "found", "title": None, "score": 10**30}
    assert type(envelope["data"]["item_id"]) is int
    assert type(envelope["data"]["status"]) is str
    assert whisper["data"] == {"duration_seconds": 3, "segment_count": 0, "job_id": "Élite — 東京"}
    assert type(whisper["data"]["duration_seconds"]) is int
    assert config["data"] == {"changed_keys": ["a", "b"]}
    assert [e["id"] for e in emitted] == [envelope["id"], whisper["id"], config["id"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ('{"score": "not-a-number"}', {"score": ["must be an integer, not a string."]}),
        ('{"season": true}', {"season": ["must be an integer or null, not a boolean."]}),
        (
            '{"series_title": "\\ud800"}',
            {"series_title": ["must be valid Unicode text, not a lone surrogate (\\ud800) at character 0."]},
        ),
    ],
)
def test_rest_emit_answers_400_on_the_key_for_a_value_of_the_wrong_type(staff_client, emitted, body, errors):
    response = staff_client.generic("POST", "/api/events/subtitle_downloaded/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        key: [f"Payload key {key!r} of subtitle_downloaded {message}" for message in messages]
        for key, messages in errors.items()
    }
    assert emitted == []


def test_rest_emit_names_an_undeclared_key_that_is_not_valid_unicode_escaped(staff_client, emitted):
    body = '{"\\ud800x": 1}'

    response = staff_client.generic("POST", "/api/events/whisper_failed/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "\\ud800x": ["Undeclared payload key(s) for whisper_failed: \\ud800x. Allowed: job_id, backend_name, error."]
    }
    assert emitted == []


def test_openapi_documents_the_schema_in_the_catalog_listing(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()

    spec = schema["components"]["schemas"]["EventSpec"]
    assert "schema" in spec["required"]
    assert spec["properties"]["schema"]["type"] == "object"
    assert "JSON Schema (draft 2020-12)" in spec["properties"]["schema"]["description"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(codec=None)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(list(EVENT_CATALOG)),
    data=st.data(),
)
def test_any_payload_is_emitted_valid_against_its_schema_or_refused_naming_a_key(name, data):
    keys = EVENT_CATALOG[name].payload_keys
    payload = data.draw(st.dictionaries(st.sampled_from(keys) | st.text(max_size=4), _json_values, max_size=4))

    refused: EventError | None = None
    try:
        envelope = emit_event(name, payload)
    except EventError as error:
        refused = error
    event("emitted" if refused is None else "refused")
    if refused is None:
        assert validator(EVENT_CATALOG[name].json_schema()).is_valid(json.loads(json.dumps(envelope)))
    else:
        assert refused.field is not None
        refused.message.encode("utf-8")  # no lone surrogate echoed: printable as it is
