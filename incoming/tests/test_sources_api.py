"""The sources API: the key shown once, write-only Basic password, validation messages, rotation; the request list."""

from __future__ import annotations

import json

from incoming import services, validators
from incoming.models import IncomingSource

SOURCES = "/api/incoming-sources/"


def test_create_shows_the_key_once_and_never_again(staff_client, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            SOURCES,
            {"name": "sonarr-4k", "kind": "sonarr", "path_mappings": [{"remote": "/tv", "local": "/media/tv"}]},
            format="json",
        )

    assert response.status_code == 201, response.content
    created = response.json()
    key = created.pop("api_key")
    assert len(key) == 43
    assert created["url"] == "/api/incoming/sonarr-4k/"
    assert created["has_basic_auth"] is False
    assert created["path_mappings"] == [{"remote": "/tv", "local": "/media/tv"}]
    shown = staff_client.get(f"{SOURCES}{created['id']}/")
    listed = staff_client.get(SOURCES)
    assert key not in shown.content.decode() + listed.content.decode()
    assert "api_key" not in shown.json()
    assert config_events == [{"changed_keys": [f"incoming_sources.{created['id']}"], "source": "api"}]


def test_the_basic_password_is_write_only(staff_client):
    response = staff_client.post(
        SOURCES,
        {"name": "radarr", "kind": "radarr", "basic_username": "radarr", "basic_password": "s3cret-pass"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["has_basic_auth"] is True
    assert "s3cret-pass" not in response.content.decode()
    assert "s3cret-pass" not in staff_client.get(f"{SOURCES}{response.json()['id']}/").content.decode()
    assert "s3cret-pass" not in IncomingSource.objects.get().basic_password_hash


def test_bad_fields_get_field_messages(staff_client):
    bad_name = staff_client.post(SOURCES, {"name": "has space", "kind": "sonarr"}, format="json")
    bad_kind = staff_client.post(SOURCES, {"name": "x", "kind": "sickbeard"}, format="json")
    half_basic = staff_client.post(SOURCES, {"name": "x", "kind": "sonarr", "basic_username": "u"}, format="json")
    dotdot = staff_client.post(
        SOURCES,
        {"name": "x", "kind": "sonarr", "path_mappings": [{"remote": "/tv", "local": "/media/../etc"}]},
        format="json",
    )

    assert bad_name.status_code == 400
    assert bad_name.json()["name"][0].startswith("Enter a name of 1 to 64 letters, digits")
    assert bad_kind.status_code == 400
    assert bad_kind.json() == {"kind": ['"sickbeard" is not a valid choice.']}
    assert half_basic.json() == {"basic_username": ["Set both a Basic username and a Basic password, or neither."]}
    assert dotdot.json() == {"path_mappings": ["A local prefix must not contain a '..' component."]}
    assert IncomingSource.objects.count() == 0


def test_rotate_key_returns_a_new_key_once(
    staff_client, client, make_source, config_events, django_capture_on_commit_callbacks
):
    incoming, old = make_source()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{SOURCES}{incoming.pk}/rotate-key/")

    assert response.status_code == 200
    new = response.json()["api_key"]
    assert new != old
    assert config_events == [{"changed_keys": [f"incoming_sources.{incoming.pk}.api_key"], "source": "api"}]
    body = json.dumps({"eventType": "Test"})
    headers = {"X-Api-Key": new}
    assert (
        client.post("/api/incoming/sonarr/", body, content_type="application/json", headers=headers).status_code == 200
    )


def test_update_names_changed_fields_and_keeps_the_key(
    staff_client, make_source, config_events, django_capture_on_commit_callbacks
):
    incoming, key = make_source()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(f"{SOURCES}{incoming.pk}/", {"enabled": False}, format="json")

    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert config_events == [{"changed_keys": [f"incoming_sources.{incoming.pk}.enabled"], "source": "api"}]
    incoming.refresh_from_db()
    assert services.api_key_matches(incoming, key)


def test_requests_are_listed_newest_first_and_filtered(staff_client, client, make_source):
    incoming, key = make_source()
    post = client.post
    post("/api/incoming/sonarr/", json.dumps({"eventType": "Test"}), content_type="application/json")
    post(
        "/api/incoming/sonarr/",
        json.dumps({"eventType": "Test"}),
        content_type="application/json",
        headers={"X-Api-Key": key},
    )

    everything = staff_client.get("/api/incoming-requests/").json()
    rejected = staff_client.get("/api/incoming-requests/?outcome=rejected").json()

    assert [r["outcome"] for r in everything["results"]] == ["test", "rejected"]
    assert [r["status_code"] for r in rejected["results"]] == [401]
    assert rejected["results"][0]["source"] == incoming.pk
    assert staff_client.get("/api/incoming-requests/?outcome=maybe").status_code == 400


def test_the_api_is_staff_only(user_client, anon_client):
    assert user_client.get(SOURCES).status_code == 403
    assert anon_client.get("/api/incoming-requests/").status_code == 401


def test_the_field_rules_the_schema_states_get_the_services_messages(staff_client):
    def post(**fields):
        return staff_client.post(SOURCES, {"name": "x", "kind": "sonarr", **fields}, format="json")

    many = post(path_mappings=[{"remote": f"/{i}", "local": "/m"} for i in range(51)])
    control = post(path_mappings=[{"remote": "/tv", "local": "/media\ttv"}])
    colon = post(basic_username="u:v", basic_password="p")
    long_name = post(name="x" * 65)

    assert many.json() == {"path_mappings": ["At most 50 path mappings."]}
    assert control.json() == {"path_mappings": {"0": {"local": [validators.PREFIX_MESSAGE]}}}  # which mapping
    assert colon.json() == {"basic_username": [validators.BASIC_USERNAME_MESSAGE]}
    assert long_name.json() == {"name": [validators.NAME_MESSAGE]}
    assert IncomingSource.objects.count() == 0


def test_a_taken_name_is_a_400_naming_it(staff_client, make_source):
    make_source(name="sonarr")

    response = staff_client.post(SOURCES, {"name": "sonarr", "kind": "sonarr"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["Incoming source with this Name already exists."]}


def test_a_source_filter_beyond_a_64_bit_id_is_a_400_not_a_500(staff_client):
    """Found by schemathesis on SQLite: OverflowError, Python int too large to convert to SQLite INTEGER."""
    answer = staff_client.get(f"/api/incoming-requests/?source={2**63}")
    assert answer.status_code == 400
    assert set(answer.json()) == {"source"}
    assert staff_client.get(f"/api/incoming-requests/?source={2**63 - 1}").json()["results"] == []
