"""Bad input gets a clear 4xx, a rejected record and nothing else: no event, never a 500."""

from __future__ import annotations

import json

import pytest

from incoming.models import IncomingRequest

from .conftest import load

URL = "/api/incoming/sonarr/"


@pytest.fixture
def key(make_source):
    _incoming, key = make_source(path_mappings=[{"remote": "/tv", "local": "/media/tv"}])
    return key


def _post(client, key: str, data, content_type: str = "application/json", url: str = URL, **extra):
    return client.post(url, data=data, content_type=content_type, headers={"X-Api-Key": key}, **extra)


def _refused(response, status: int, detail: str, accepted_events: list) -> None:
    assert response.status_code == status, response.content
    assert response.json()["detail"] == detail
    record = IncomingRequest.objects.get()
    assert (record.outcome, record.status_code, record.error, record.event_id) == ("rejected", status, detail, None)
    assert accepted_events == []


def test_malformed_json_is_400(client, key, accepted_events):
    response = _post(client, key, '{"eventType": "Download",')

    _refused(
        response,
        400,
        "Malformed JSON: Expecting property name enclosed in double quotes: line 1 column 26 (char 25)",
        accepted_events,
    )


def test_a_deeply_nested_body_is_400_not_500(client, key, accepted_events):
    response = _post(client, key, "[" * 5000 + "]" * 5000)

    _refused(response, 400, "Malformed JSON: JSON nested deeper than 64 levels", accepted_events)


def test_a_body_that_is_not_an_object_is_400(client, key, accepted_events):
    response = _post(client, key, "[1, 2]")

    _refused(response, 400, "The body must be a JSON object, not list.", accepted_events)


def test_a_body_without_an_event_type_is_400(client, key, accepted_events):
    response = _post(client, key, json.dumps({"series": {"title": "Dark"}}))

    _refused(response, 400, "The body has no 'eventType' (a non-empty string).", accepted_events)


def test_an_empty_body_is_400(client, key, accepted_events):
    response = _post(client, key, "  \n")

    _refused(response, 400, "The body is empty; a JSON object was expected.", accepted_events)


def test_a_wrong_content_type_is_415(client, key, accepted_events):
    response = _post(client, key, json.dumps(load("sonarr_download")["body"]), content_type="text/xml")

    _refused(
        response,
        415,
        "Content type 'text/xml' is not accepted from this kind of source; send application/json.",
        accepted_events,
    )


def test_plex_without_its_payload_field_is_400(client, make_source, accepted_events):
    _incoming, key = make_source(name="plex", kind="plex")

    response = client.post("/api/incoming/plex/", data={"other": "x"}, headers={"X-Api-Key": key})

    _refused(response, 400, "The multipart body has no 'payload' field.", accepted_events)


def test_a_body_over_the_cap_is_413(client, key, accepted_events, settings):
    settings.SUBLARR_INCOMING_MAX_BODY_BYTES = 2048
    body = json.dumps({"eventType": "Download", "padding": "x" * 3000})

    response = _post(client, key, body)

    _refused(
        response,
        413,
        "Request body too large: the limit is 2048 bytes (SUBLARR_INCOMING_MAX_BODY_BYTES).",
        accepted_events,
    )


def test_a_declared_length_over_the_cap_is_413_before_reading(client, key, accepted_events, settings):
    settings.SUBLARR_INCOMING_MAX_BODY_BYTES = 2048

    response = _post(client, key, "{}", CONTENT_LENGTH="999999")

    _refused(
        response,
        413,
        "Request body too large: the limit is 2048 bytes (SUBLARR_INCOMING_MAX_BODY_BYTES).",
        accepted_events,
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (
            "/tv/Show/../../../etc/passwd",
            "Path mapping refused: The path '/media/tv/Show/../../../etc/passwd' contains a '..' component.",
        ),
        ("/tv/Show/S01E01\u0000.mkv", "The body contains a NUL character (\\u0000) in a string."),
    ],
)
def test_a_path_that_maps_to_dotdot_or_nul_is_400_and_nothing_is_emitted(client, key, accepted_events, path, detail):
    body = load("sonarr_download")["body"]
    body["episodeFile"]["path"] = path

    response = _post(client, key, json.dumps(body))

    _refused(response, 400, detail, accepted_events)
    # Refused after parsing (the mapping) or before it (the NUL).
    assert IncomingRequest.objects.get().app_event == ("Download" if "mapping" in detail else "")


def test_get_is_405(client, key):
    response = client.get(URL, headers={"X-Api-Key": key})

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["detail"] == "Only POST is accepted here."


def test_a_generic_source_refuses_unknown_keys_and_wrong_types(client, make_source, accepted_events):
    _incoming, key = make_source(name="script", kind="generic")

    unknown = _post(client, key, json.dumps({"event_type": "x", "colour": "red"}), url="/api/incoming/script/")
    wrong_type = _post(client, key, json.dumps({"event_type": "x", "season": "two"}), url="/api/incoming/script/")
    ok = _post(
        client,
        key,
        json.dumps({"event_type": "imported", "action": "import", "title": "Dark", "season": 1, "episodes": [2]}),
        url="/api/incoming/script/",
    )

    assert unknown.status_code == wrong_type.status_code == 400
    assert unknown.json()["detail"].startswith("Unknown key(s): colour. Allowed: event_type, action, ")
    assert wrong_type.json()["detail"] == "season must be a whole number."
    assert ok.status_code == 202, ok.content
    data = accepted_events[0]["data"]
    assert (data["source_kind"], data["event_type"], data["title"], data["episode"]) == (
        "generic",
        "imported",
        "Dark",
        2,
    )


def test_a_refusal_quoting_a_huge_request_is_bounded(client, make_source):
    _incoming, key = make_source(name="script", kind="generic")
    body = json.dumps({"event_type": "x", **{f"key{i}": 1 for i in range(2000)}})

    response = _post(client, key, body, url="/api/incoming/script/")

    detail = response.json()["detail"]
    assert response.status_code == 400
    assert len(detail) == 1000
    assert detail.endswith("…")
    assert IncomingRequest.objects.get().error == detail


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            '{"eventType": "Download", "series": {"title": "Da\\u0000rk"}}',
            "The body contains a NUL character (\\u0000) in a string.",
        ),
        ('{"eventType": "Down\\u0000load"}', "The body contains a NUL character (\\u0000) in a string."),
        (
            '{"eventType": "Download", "series": {"title": "\\ud800"}}',
            "The body contains a lone surrogate (\\ud800-\\udfff) in a string.",
        ),
        (
            '{"eventType": "Download", "\\udfff": 1}',
            "The body contains a lone surrogate (\\ud800-\\udfff) in a string.",
        ),
    ],
)
def test_nul_and_lone_surrogates_are_400_not_a_database_error(client, key, accepted_events, text, detail):
    response = _post(client, key, text)

    _refused(response, 400, detail, accepted_events)


def test_raw_surrogate_bytes_are_400(client, key, accepted_events):
    body = b'{"eventType": "Download", "series": {"title": "\xed\xa0\x80"}}'

    response = _post(client, key, body)

    _refused(response, 400, "The body contains a lone surrogate (\\ud800-\\udfff) in a string.", accepted_events)


def test_a_nul_in_the_source_name_is_404(client, db):
    response = client.post("/api/incoming/so%00narr/", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["detail"] == "No incoming source named 'so\\x00narr'."
    assert IncomingRequest.objects.get().source_name == "sonarr"


@pytest.mark.parametrize("number", ["9" * 5000, "²", "١٢"])
def test_odd_digit_strings_in_a_media_server_body_are_kept_as_text_not_a_500(
    client, make_source, accepted_events, number
):
    _incoming, key = make_source(name="jellyfin", kind="jellyfin")
    body = {"NotificationType": "ItemAdded", "ItemType": "Episode", "SeasonNumber": number, "Provider_tvdb": number}

    response = _post(client, key, json.dumps(body), url="/api/incoming/jellyfin/")

    assert response.status_code == 202, response.content
    data = accepted_events[0]["data"]
    assert data["season"] is None
    assert data["ids"] == {"episode_tvdb": number}


def test_too_many_multipart_fields_is_400(client, make_source, accepted_events, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    _incoming, key = make_source(name="plex", kind="plex")

    response = client.post("/api/incoming/plex/", data={f"f{i}": "x" for i in range(20)}, headers={"X-Api-Key": key})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed multipart body: The number of GET/POST parameters exceeded")
    assert accepted_events == []
