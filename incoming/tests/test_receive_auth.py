"""Who may post: the key in X-Api-Key, ?apikey= or the source's Basic credentials; 401 otherwise, 403 when disabled."""

from __future__ import annotations

import json
import logging

import pytest

from incoming import services
from incoming.models import IncomingRequest
from incoming.views import MISSING_KEY, WRONG_KEY

from .conftest import basic, load

BODY = json.dumps(load("sonarr_download")["body"])
URL = "/api/incoming/sonarr/"


def _post(client, url: str = URL, **headers: str):
    return client.post(url, data=BODY, content_type="application/json", headers=headers)


def test_no_key_is_401_and_recorded_without_an_event(client, make_source, accepted_events):
    make_source()

    response = _post(client)

    assert response.status_code == 401
    assert response.json()["detail"] == MISSING_KEY
    assert response["WWW-Authenticate"] == 'Basic realm="sublarr incoming"'
    record = IncomingRequest.objects.get()
    assert (record.outcome, record.status_code, record.error) == ("rejected", 401, MISSING_KEY)
    assert accepted_events == []


def test_a_wrong_key_is_401_and_never_logged_or_recorded(client, make_source, accepted_events, caplog):
    make_source()
    wrong = "wrong-key-" + "x" * 30

    with caplog.at_level(logging.INFO):
        by_header = _post(client, X_Api_Key=wrong)
        by_query = _post(client, f"{URL}?apikey={wrong}")

    assert by_header.status_code == by_query.status_code == 401
    assert by_header.json()["detail"] == WRONG_KEY
    assert accepted_events == []
    assert IncomingRequest.objects.filter(status_code=401).count() == 2
    assert wrong not in caplog.text
    assert "refused with 401: Wrong API key or Basic credentials." in caplog.text
    assert all(wrong not in record.error for record in IncomingRequest.objects.all())


@pytest.mark.parametrize("place", ["header", "query"])
def test_the_key_is_accepted_in_each_place(place, client, make_source, accepted_events):
    _incoming, key = make_source()

    response = _post(client, X_Api_Key=key) if place == "header" else _post(client, f"{URL}?apikey={key}")

    assert response.status_code == 202, response.content
    assert len(accepted_events) == 1


def test_basic_credentials_are_accepted_and_a_wrong_password_is_not(client, make_source, accepted_events):
    make_source(basic_username="sonarr", basic_password="correct horse")

    ok = _post(client, Authorization=basic("sonarr", "correct horse"))
    wrong_password = _post(client, Authorization=basic("sonarr", "battery staple"))
    wrong_user = _post(client, Authorization=basic("radarr", "correct horse"))
    garbled = _post(client, Authorization="Basic ***")

    assert ok.status_code == 202, ok.content
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert wrong_password.json()["detail"] == WRONG_KEY
    assert garbled.status_code == 401
    assert garbled.json()["detail"] == "Malformed HTTP Basic credentials."
    assert len(accepted_events) == 1


def test_basic_auth_is_refused_when_the_source_has_none(client, make_source):
    _incoming, key = make_source()

    response = _post(client, Authorization=basic("anyone", key))

    assert response.status_code == 401


def test_a_disabled_source_is_403_after_authentication(client, make_source, accepted_events):
    incoming, key = make_source()
    services.source_update(incoming=incoming, data={"enabled": False}, source="api")

    unauthenticated = _post(client)
    authenticated = _post(client, X_Api_Key=key)

    assert unauthenticated.status_code == 401
    assert authenticated.status_code == 403
    assert authenticated.json()["detail"] == "The incoming source 'sonarr' is disabled."
    assert accepted_events == []


def test_an_unknown_source_is_404(client, db):
    response = _post(client, "/api/incoming/nope/", X_Api_Key="whatever")

    assert response.status_code == 404
    assert response.json()["detail"] == "No incoming source named 'nope'."
    record = IncomingRequest.objects.get()
    assert (record.source, record.source_name, record.status_code) == (None, "nope", 404)


def test_a_rotated_key_replaces_the_old_one_at_once(client, make_source):
    incoming, old = make_source()

    new = services.source_key_rotate(incoming=incoming, source="api")

    assert new != old
    assert _post(client, X_Api_Key=old).status_code == 401
    assert _post(client, X_Api_Key=new).status_code == 202


def test_the_key_is_stored_only_as_a_hash(make_source):
    incoming, key = make_source()

    incoming.refresh_from_db()
    assert key not in json.dumps({f.name: str(getattr(incoming, f.name)) for f in incoming._meta.fields})
    assert incoming.api_key_hash == services.hash_api_key(key)
