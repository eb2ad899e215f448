"""The OpenAPI schema documents ``POST /api/incoming/{name}/``, and what the endpoint really answers matches it.

schemathesis' fuzzing of the whole API (sublarr/tests/test_api_conforms_to_its_schema.py)
leaves this operation out: its valid bodies are what each app sends, which no
one schema can state. Here real requests — the apps' own fixtures, and every
refusal — are checked against the documented operation instead.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from werkzeug.test import Client

from incoming.api_schema import PATH
from incoming.tests.conftest import basic, load


@pytest.fixture
def operation():
    return OPERATION


# At import, as the whole-API schema test does: the schema view needs no database.
OPERATION = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())[PATH]["POST"]


def _post_fixture(client: Client, url: str, name: str, **kwargs):
    fixture = load(name)
    text = json.dumps(fixture["body"])
    if fixture["content_type"] == "multipart/form-data":
        field = "payload" if name.startswith("plex") else "data"
        return client.post(url, data={field: text}, content_type="multipart/form-data", **kwargs)
    return client.post(url, data=text, content_type=fixture["content_type"], **kwargs)


@pytest.mark.django_db(transaction=True)
def test_the_incoming_endpoint_answers_as_its_schema_says(operation, make_source):
    _, sonarr_key = make_source("sonarr", "sonarr")
    _, plex_key = make_source("plex", "plex")
    _, jellyfin_key = make_source("jellyfin", "jellyfin")
    disabled, disabled_key = make_source("off", "radarr")
    disabled.enabled = False
    disabled.save()
    client = Client(get_wsgi_application())
    sonarr = "/api/incoming/sonarr/"

    answers = {
        "accepted": _post_fixture(client, sonarr, "sonarr_download", headers={"X-Api-Key": sonarr_key}),
        "test": _post_fixture(client, f"{sonarr}?apikey={sonarr_key}", "sonarr_test"),
        "plex multipart": _post_fixture(
            client, "/api/incoming/plex/", "plex_library_new_episode", headers={"X-Api-Key": plex_key}
        ),
        "jellyfin text": _post_fixture(
            client, "/api/incoming/jellyfin/", "jellyfin_item_added_episode", headers={"X-Api-Key": jellyfin_key}
        ),
        "no key": client.post(sonarr, data="{}", content_type="application/json"),
        "wrong basic": client.post(
            sonarr, data="{}", content_type="application/json", headers={"Authorization": basic("u", "p")}
        ),
        "disabled": client.post(
            "/api/incoming/off/", data="{}", content_type="application/json", headers={"X-Api-Key": disabled_key}
        ),
        "unknown source": client.post("/api/incoming/nobody/", data="{}", content_type="application/json"),
        "get": client.get(sonarr),
        "content type": client.post(sonarr, data="x", content_type="text/xml", headers={"X-Api-Key": sonarr_key}),
        "malformed": client.post(sonarr, data="{", content_type="application/json", headers={"X-Api-Key": sonarr_key}),
        "too large": client.post(
            sonarr, data=" " * (1024 * 1024 + 1), content_type="application/json", headers={"X-Api-Key": sonarr_key}
        ),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "accepted": 202,
        "test": 200,
        "plex multipart": 202,
        "jellyfin text": 202,
        "no key": 401,
        "wrong basic": 401,
        "disabled": 403,
        "unknown source": 404,
        "get": 405,
        "content type": 415,
        "malformed": 400,
        "too large": 413,
    }
    for name, answer in answers.items():
        try:
            operation.validate_response(answer)
        except Exception as exc:  # schemathesis raises a FailureGroup naming every check that failed
            pytest.fail(f"{name}: the answer does not match the schema: {exc}")


def test_the_schema_says_how_the_apps_authenticate_and_what_they_send(operation):
    definition = operation.definition.raw
    assert definition["security"] == [{"IncomingApiKey": []}, {"IncomingApiKeyQuery": []}, {"IncomingBasic": []}]
    assert set(definition["requestBody"]["content"]) == {"application/json", "text/plain", "multipart/form-data"}
    assert {"200", "202", "400", "401", "403", "404", "405", "413", "415"} == set(definition["responses"])
