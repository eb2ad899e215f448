from __future__ import annotations

import pytest

from scoring import MOVIE_SCORES
from scoring.models import ProviderScoreModifier, ScoringWeight

pytestmark = pytest.mark.django_db

PREVIEW = {"query": {"title": "Arrival"}, "results": []}
READS = [
    ("get", "/api/scoring/weights/"),
    ("get", "/api/scoring/weights/movie/"),
    ("get", "/api/scoring/modifiers/"),
    ("get", "/api/scoring/hash-trust/"),
    ("get", "/api/scoring/hash-trust/a/"),
    ("get", "/api/scoring/presets/"),
    ("get", "/api/scoring/presets/tv/"),
    ("get", "/api/scoring/min-scores/"),
    ("get", "/api/scoring/min-scores/movie/"),
]
WRITES = [
    ("put", "/api/scoring/weights/movie/", {"weights": {"hash": 1}}),
    ("patch", "/api/scoring/weights/movie/", {"weights": {"hash": 1}}),
    ("delete", "/api/scoring/weights/movie/", None),
    ("delete", "/api/scoring/weights/movie/hash/", None),
    ("post", "/api/scoring/modifiers/", {"provider_name": "a", "modifier": 1}),
    ("put", "/api/scoring/modifiers/a/", {"modifier": 1}),
    ("delete", "/api/scoring/modifiers/a/", None),
    ("put", "/api/scoring/hash-trust/a/", {"hash_trusted": False}),
    ("put", "/api/scoring/min-scores/movie/", {"min_score": 1}),
    ("post", "/api/scoring/presets/", {"name": "x"}),
    ("post", "/api/scoring/presets/tv/apply/", None),
    ("delete", "/api/scoring/min-scores/movie/", None),
]


@pytest.mark.parametrize(("method", "url"), [*READS, ("post", "/api/scoring/preview/")])
def test_anonymous_requests_are_401(anon_client, method, url):
    response = getattr(anon_client, method)(url, PREVIEW, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_anonymous_writes_are_401(anon_client, method, url, body):
    assert getattr(anon_client, method)(url, body, format="json").status_code == 401


@pytest.mark.parametrize(("method", "url"), READS)
def test_authenticated_users_may_read(user_client, method, url):
    assert getattr(user_client, method)(url).status_code == 200


def test_authenticated_users_may_preview(user_client):
    assert user_client.post("/api/scoring/preview/", PREVIEW, format="json").status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_non_staff_writes_are_403_and_change_nothing(user_client, method, url, body):
    ProviderScoreModifier.objects.create(provider_name="a", modifier=5)
    ScoringWeight.objects.create(score_type="movie", weight_key="hash", weight_value=7)
    response = getattr(user_client, method)(url, body, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert list(ProviderScoreModifier.objects.values_list("provider_name", "modifier")) == [("a", 5)]
    assert list(ScoringWeight.objects.values_list("weight_key", "weight_value")) == [("hash", 7)]


def test_the_openapi_schema_documents_every_scoring_operation(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    operations = {
        (path, method)
        for path, item in schema["paths"].items()
        if path.startswith("/api/scoring/")
        for method in item
        if method != "parameters"
    }
    per_type = {
        (f"/api/scoring/weights/{score_type}/{suffix}", method)
        for score_type in ("episode", "movie")
        for suffix, method in [("", "get"), ("", "put"), ("", "patch"), ("", "delete"), ("{weight_key}/", "delete")]
    }
    assert operations == {
        ("/api/scoring/weights/", "get"),
        *per_type,
        ("/api/scoring/modifiers/", "get"),
        ("/api/scoring/modifiers/", "post"),
        ("/api/scoring/modifiers/{provider_name}/", "get"),
        ("/api/scoring/modifiers/{provider_name}/", "put"),
        ("/api/scoring/modifiers/{provider_name}/", "delete"),
        ("/api/scoring/export/", "get"),
        ("/api/scoring/import/", "post"),
        ("/api/scoring/presets/", "get"),
        ("/api/scoring/presets/", "post"),
        ("/api/scoring/presets/{name}/", "get"),
        ("/api/scoring/presets/{name}/", "delete"),
        ("/api/scoring/presets/{name}/apply/", "post"),
        ("/api/scoring/min-scores/", "get"),
        *(
            (f"/api/scoring/min-scores/{score_type}/", method)
            for score_type in ("episode", "movie")
            for method in ("get", "put", "delete")
        ),
        ("/api/scoring/hash-trust/", "get"),
        ("/api/scoring/hash-trust/{provider_name}/", "get"),
        ("/api/scoring/hash-trust/{provider_name}/", "put"),
        ("/api/scoring/preview/", "post"),
    }
    preview = schema["paths"]["/api/scoring/preview/"]["post"]
    assert preview["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PreviewRequestRequest"
    }
    components = schema["components"]["schemas"]
    assert components["MovieWeightsUpdateRequest"]["required"] == ["weights"]
    assert components["PatchedMovieWeightsUpdateRequest"]["required"] == ["weights"]
    movie_weights = components["MovieWeightsRequest"]
    assert list(movie_weights["properties"]) == list(MOVIE_SCORES)
    assert movie_weights["properties"]["title"] == {
        "type": "integer",
        "maximum": 10000,
        "minimum": 0,
        "description": "Integer 0-10000 (default 60).",
    }
    assert movie_weights["additionalProperties"] is False


def test_the_schema_documents_the_backup_endpoints_with_the_one_error_shape(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    export = schema["paths"]["/api/scoring/export/"]["get"]
    assert export["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Config"
    }
    assert export["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    restore = schema["paths"]["/api/scoring/import/"]["post"]
    assert [p["name"] for p in restore["parameters"]] == ["dry_run"]
    assert restore["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FieldErrors"
    }
