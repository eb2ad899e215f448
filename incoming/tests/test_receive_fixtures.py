"""Every fixture (each app, each event type) posted as its app posts it: status, record, normalized event.

``normalized.json`` holds the expected ``webhook_received`` payload of each
fixture (paths mapped with /tv → /media/tv and /movies/ → /media/movies/);
the tests below spell out the behaviours the issue names one by one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incoming.models import IncomingRequest

from .conftest import FIXTURES, load, post_fixture

EXPECTED = json.loads((Path(__file__).resolve().parent / "normalized.json").read_text())
MAPPINGS = [{"remote": "/tv", "local": "/media/tv"}, {"remote": "/movies/", "local": "/media/movies/"}]
ALL_FIXTURES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def _source(make_source, kind: str):
    return make_source(name=kind, kind=kind, path_mappings=MAPPINGS)


def test_every_fixture_has_an_expectation_and_names_the_source_it_follows():
    assert sorted(EXPECTED) == ALL_FIXTURES
    for name in ALL_FIXTURES:
        assert load(name)["about"]["follows"], name
        assert load(name)["about"]["version"], name


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_each_fixture_is_accepted_and_normalized(name, client, make_source, accepted_events):
    kind = name.split("_")[0]
    _incoming, key = _source(make_source, kind)
    expected = EXPECTED[name]

    response = post_fixture(client, f"/api/incoming/{kind}/", name, headers={"X-Api-Key": key})

    body = response.json()
    record = IncomingRequest.objects.get()
    assert body["request_id"] == str(record.request_id) == response["X-Request-Id"]
    assert body["app_event"] == record.app_event == expected["app_event"]
    assert record.source_name == kind
    assert record.source_kind == kind
    assert record.error == ""
    if expected["outcome"] == "event":
        assert response.status_code == 202
        assert body["outcome"] == record.outcome == "accepted"
        (envelope,) = accepted_events
        assert body["event_id"] == envelope["id"] == str(record.event_id)
        assert envelope["event_name"] == "webhook_received"
        assert envelope["data"] == expected["data"]
    else:
        assert response.status_code == 200
        assert body["outcome"] == record.outcome == expected["outcome"]
        assert body["event_id"] is None
        assert record.event_id is None
        assert accepted_events == []


def test_sonarr_download_one_file_per_request(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "sonarr")

    response = post_fixture(client, "/api/incoming/sonarr/", "sonarr_download_upgrade", headers={"X-Api-Key": key})

    assert response.status_code == 202
    data = accepted_events[0]["data"]
    assert data["event_type"] == "Download"
    assert data["action"] == "import"
    assert data["paths"] == ["/media/tv/The Expanse/Season 02/The Expanse - S02E05 - Home WEBDL-1080p.mkv"]
    assert data["is_upgrade"] is True
    assert data["deleted_paths"] == ["/media/tv/The Expanse/Season 02/The Expanse - S02E05 - Home HDTV-720p.mkv"]
    assert (data["season"], data["episode"], data["episodes"]) == (2, 5, [5])
    assert data["scene_name"] == "The.Expanse.S02E05.1080p.WEB-DL.DD5.1.H264-NTb"
    assert data["release_group"] == "NTb"
    assert data["quality"] == "WEBDL-1080p"
    assert data["languages"] == ["English"]
    assert data["subtitle_languages"] == ["eng", "spa"]


def test_sonarr_download_on_import_complete_shape(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "sonarr")

    response = post_fixture(
        client, "/api/incoming/sonarr/", "sonarr_download_import_complete", headers={"X-Api-Key": key}
    )

    assert response.status_code == 202
    data = accepted_events[0]["data"]
    assert data["event_type"] == "Download"
    assert data["paths"] == [
        "/media/tv/The Expanse/Season 02/The Expanse - S02E05 - Home WEBDL-1080p.mkv",
        "/media/tv/The Expanse/Season 02/The Expanse - S02E06 - Paradigm Shift WEBDL-1080p.mkv",
    ]
    assert data["episodes"] == [5, 6]
    assert data["release_title"] == "The.Expanse.S02.1080p.WEB-DL.DD5.1.H264-NTb"
    # That shape says nothing about upgrades.
    assert data["is_upgrade"] is None
    assert data["deleted_paths"] == []


def test_a_rename_carries_the_new_and_previous_paths(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "radarr")

    post_fixture(client, "/api/incoming/radarr/", "radarr_rename", headers={"X-Api-Key": key})

    data = accepted_events[0]["data"]
    assert data["action"] == "rename"
    assert data["paths"] == ["/media/movies/Arrival (2016)/Arrival (2016) Bluray-1080p.mkv"]
    assert data["previous_paths"] == ["/media/movies/Arrival (2016)/Arrival.2016.1080p.BluRay.x264-SPARKS.mkv"]


def test_a_file_delete_carries_the_deleted_path(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "sonarr")

    post_fixture(client, "/api/incoming/sonarr/", "sonarr_episode_file_delete", headers={"X-Api-Key": key})

    data = accepted_events[0]["data"]
    assert data["action"] == "delete"
    assert data["paths"] == []
    assert data["deleted_paths"] == ["/media/tv/The Expanse/Season 02/The Expanse - S02E05 - Home WEBDL-1080p.mkv"]


def test_jellyfin_posts_text_plain(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "jellyfin")
    fixture = load("jellyfin_item_added_episode")
    assert fixture["content_type"] == "text/plain; charset=utf-8"

    response = client.post(
        "/api/incoming/jellyfin/",
        data=json.dumps(fixture["body"]),
        content_type="text/plain; charset=utf-8",
        headers={"X-Api-Key": key},
    )

    assert response.status_code == 202, response.content
    data = accepted_events[0]["data"]
    assert (data["title"], data["season"], data["episode"], data["media_type"]) == ("The Expanse", 2, 5, "episode")
    assert data["ids"]["episode_tvdb"] == 5893641


def test_plex_posts_multipart_with_the_json_in_payload_and_a_thumbnail(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "plex")
    thumb = Path(__file__).resolve().parent / "fixtures" / "plex_library_new_episode.json"

    with thumb.open("rb") as image:
        response = client.post(
            "/api/incoming/plex/",
            data={"payload": json.dumps(load("plex_library_new_episode")["body"]), "thumb": image},
            headers={"X-Api-Key": key},
        )

    assert response.status_code == 202, response.content
    data = accepted_events[0]["data"]
    assert (data["event_type"], data["action"], data["title"], data["season"], data["episode"]) == (
        "library.new",
        "import",
        "The Expanse",
        2,
        5,
    )


def test_emby_json_and_multipart_data_field_give_the_same_event(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "emby")
    body = json.dumps(load("emby_library_new_episode")["body"])

    client.post("/api/incoming/emby/", data=body, content_type="application/json", headers={"X-Api-Key": key})
    client.post("/api/incoming/emby/", data={"data": body}, headers={"X-Api-Key": key})

    first, second = (envelope["data"] for envelope in accepted_events)
    assert first == second
    assert first["paths"] == ["/data/tv/The Expanse/Season 02/The Expanse - S02E05 - Home WEBDL-1080p.mkv"]


def test_missing_optional_fields_never_fail_a_request(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "sonarr")
    # An old Sonarr: no instanceName, no release, no languages or mediaInfo; odd types where it may vary.
    body = {
        "eventType": "Download",
        "series": {"id": 3, "title": "Dark", "path": "/tv/Dark", "tvdbId": 0},
        "episodes": [{"id": 9, "episodeNumber": 2, "seasonNumber": 1}, "not an object"],
        "episodeFile": {"id": 1, "relativePath": "S01E02.mkv", "path": "/tv/Dark/S01E02.mkv", "languages": 7},
        "isUpgrade": "no",
    }

    response = client.post(
        "/api/incoming/sonarr/", data=json.dumps(body), content_type="application/json", headers={"X-Api-Key": key}
    )

    assert response.status_code == 202, response.content
    data = accepted_events[0]["data"]
    assert data["ids"] == {"series_id": 3}
    assert data["paths"] == ["/media/tv/Dark/S01E02.mkv"]
    assert (data["season"], data["episodes"], data["is_upgrade"], data["languages"]) == (1, [2], None, [])


def test_an_unhandled_event_type_is_accepted_and_recorded_as_ignored(client, make_source, accepted_events):
    _incoming, key = _source(make_source, "radarr")

    response = client.post(
        "/api/incoming/radarr/",
        data=json.dumps({"eventType": "MovieRetagged", "movie": {"id": 1}}),
        content_type="application/json",
        headers={"X-Api-Key": key},
    )

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert IncomingRequest.objects.get().app_event == "MovieRetagged"
    assert accepted_events == []


def test_last_request_at_is_written_at_most_once_a_minute(client, make_source):
    from datetime import timedelta

    from incoming.models import IncomingSource

    incoming, key = _source(make_source, "sonarr")
    body = json.dumps({"eventType": "Test"})

    def post() -> None:
        client.post("/api/incoming/sonarr/", data=body, content_type="application/json", headers={"X-Api-Key": key})

    post()
    first = IncomingSource.objects.get().last_request_at
    assert first is not None
    post()
    assert IncomingSource.objects.get().last_request_at == first
    IncomingSource.objects.filter(pk=incoming.pk).update(last_request_at=first - timedelta(minutes=2))
    post()
    later = IncomingSource.objects.get().last_request_at
    assert later is not None
    assert later > first
