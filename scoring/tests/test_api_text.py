"""Every text in a scoring write (values, weight keys, provider names, field names): a lone surrogate is a 400.

JSON can carry ``"\\ud800"``, which is no Unicode text: echoed back or stored it
made a 500. Each case below puts one in one place of an otherwise valid body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.serializers import Serializer

from events.jsonlimits import text_error
from scoring.serializers import (
    CandidateSerializer,
    ModifierSerializer,
    ModifierValueSerializer,
    PreviewRequestSerializer,
    VideoQuerySerializer,
    WeightsUpdateSerializer,
)
from scoring.validators import PROVIDER_NAME_RULE

pytestmark = pytest.mark.django_db

BAD = "\ud800"
BAD_ECHOED = "\\ud800"
MESSAGE = text_error(BAD)

PREVIEW: dict[str, Any] = {
    "query": {
        "series_title": "Severance",
        "season": 2,
        "episode": 3,
        "title": "Hello, Ms. Cobel",
        "year": 2025,
        "release_group": "NTb",
        "source": "WEB-DL",
        "resolution": "1080p",
        "audio_codec": "AAC",
    },
    "results": [
        {
            "provider_name": "opensubtitles",
            "subtitle_id": "a",
            "language": "en",
            "format": "srt",
            "release_info": "Severance.S02E03.1080p.WEB-DL",
            "hearing_impaired": False,
            "forced": False,
            "matches": ["series", "season"],
        }
    ],
    "weights": {"hash": 300},
    "modifiers": {"opensubtitles": 5},
    "min_score": None,
}
# (method, url, user, valid body, the serializer of each object in it by path, the paths that are dicts of keys)
ENDPOINTS: dict[str, tuple[str, str, str, dict[str, Any], dict[tuple, type[Serializer]]]] = {
    "preview": (
        "post",
        "/api/scoring/preview/",
        "user",
        PREVIEW,
        {(): PreviewRequestSerializer, ("query",): VideoQuerySerializer, ("results", 0): CandidateSerializer},
    ),
    "weights-patch": (
        "patch",
        "/api/scoring/weights/episode/",
        "staff",
        {"weights": {"hash": 400}},
        {(): WeightsUpdateSerializer},
    ),
    "weights-put": (
        "put",
        "/api/scoring/weights/movie/",
        "staff",
        {"weights": {"hash": 400}},
        {(): WeightsUpdateSerializer},
    ),
    "modifier-post": (
        "post",
        "/api/scoring/modifiers/",
        "staff",
        {"provider_name": "opensubtitles", "modifier": 5},
        {(): ModifierSerializer},
    ),
    "modifier-put": (
        "put",
        "/api/scoring/modifiers/podnapisi/",
        "staff",
        {"modifier": 5},
        {(): ModifierValueSerializer},
    ),
}
# Messages other than the text one, where a field has a rule of its own that already refuses the value.
OWN_RULES = {("modifier-post", ("provider_name",)): PROVIDER_NAME_RULE}


def text_places(body: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Every place of a string in ``body``: (path, "value") for a string value, (path + (key,), "key") for a key."""
    places = []
    if isinstance(body, dict):
        for key, value in body.items():
            places.append(((*path, key), "key"))
            places.extend(text_places(value, (*path, key)))
    elif isinstance(body, list):
        for index, item in enumerate(body):
            places.extend(text_places(item, (*path, index)))
    elif isinstance(body, str):
        places.append((path, "value"))
    return places


def with_bad_text(body: Any, path: tuple, place: str) -> Any:
    """A copy of ``body`` with the string at ``path`` (a value, or a key) made a lone surrogate."""
    if not path:
        return BAD
    head, rest = path[0], path[1:]
    if isinstance(body, list):
        return [with_bad_text(item, rest, place) if index == head else item for index, item in enumerate(body)]
    if place == "key" and not rest:
        return {(BAD if key == head else key): value for key, value in body.items()}
    return {key: with_bad_text(value, rest, place) if key == head else value for key, value in body.items()}


def nest(path: tuple, errors: Any) -> Any:
    """``errors`` placed at ``path`` as the API shapes them (list items keyed by their index)."""
    for segment in reversed(path):
        errors = {str(segment): errors}
    return errors


def cases() -> list[Any]:
    params = []
    for endpoint, (_method, _url, _user, body, serializers) in ENDPOINTS.items():
        for path, place in text_places(body):
            parent = path[:-1]
            if place == "key" and parent in serializers:
                allowed = ", ".join(serializers[parent]().fields)
                expected = nest(parent, {BAD_ECHOED: [f"Unknown field. Allowed: {allowed}."]})
            elif place == "key":  # a key of a dict field: weight keys, provider names
                expected = nest(parent, {BAD_ECHOED: [MESSAGE]})
            else:
                expected = nest(path, [OWN_RULES.get((endpoint, path), MESSAGE)])
            params.append(
                pytest.param(endpoint, path, place, expected, id=f"{endpoint}-{place}-{'.'.join(map(str, path))}")
            )
    return params


@pytest.mark.parametrize(("endpoint", "path", "place", "expected"), cases())
def test_a_lone_surrogate_anywhere_is_a_400_with_a_field_message(
    request, config_events, endpoint, path, place, expected
):
    method, url, user, body, _serializers = ENDPOINTS[endpoint]
    client = request.getfixturevalue("user_client" if user == "user" else "staff_client")

    # json.dumps writes the surrogate as the escape "\\ud800", as a client would send it.
    response = client.generic(method.upper(), url, json.dumps(with_bad_text(body, path, place)), "application/json")

    assert response.status_code == 400, response.content
    assert response.json() == expected
    assert config_events == []


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_the_valid_bodies_of_these_cases_are_accepted(request, endpoint):
    method, url, user, body, _serializers = ENDPOINTS[endpoint]
    client = request.getfixturevalue("user_client" if user == "user" else "staff_client")

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 200, response.content


def test_non_ascii_text_that_is_valid_unicode_is_scored_and_echoed(user_client):
    body = {**PREVIEW, "results": [{**PREVIEW["results"][0], "release_info": "Élite — 東京 \U0001f600"}]}

    response = user_client.post("/api/scoring/preview/", body, format="json")

    assert response.status_code == 200
    assert response.json()["results"][0]["release_info"] == "Élite — 東京 \U0001f600"
