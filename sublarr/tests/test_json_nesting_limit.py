"""Every JSON write endpoint refuses deeply nested bodies with the documented 400, never a 500."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

from events.jsonlimits import MAX_DEPTH

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_METHODS = {"POST", "PUT", "PATCH"}
# The events endpoints (one per event) word their parse errors their own way (docs/EVENTS.md);
# the others answer DRF's.
EVENTS_DETAIL = f"Malformed JSON: JSON nested deeper than {MAX_DEPTH} levels."
DEFAULT_DETAIL = f"JSON parse error - JSON nested deeper than {MAX_DEPTH} levels."
# Values for path parameters other than an object's pk.
PATH_VALUES = {"name": "batch_complete", "score_type": "episode", "provider_name": "opensubtitles"}


def write_routes() -> list[tuple[str, str]]:
    """(method, path) of every write route of the URL conf."""
    return [
        (method, path)
        for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()
        if method in WRITE_METHODS
    ]


def operations_with_a_body() -> set[tuple[str, str]]:
    """(method, path) of the write routes whose schema documents a request body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path.replace("{id}", "{pk}"))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }


def nested(levels: int, kind: str) -> str:
    if kind == "array":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "1" + "}" * levels


@pytest.fixture
def object_ids(staff_client, hooks_dir) -> dict[str, int]:
    """One script hook, webhook, notification, log row and incoming source, made through the API: detail pks."""
    script = hooks_dir / "notify.sh"
    script.write_text("#!/bin/sh\necho ok\n")
    script.chmod(0o755)
    hook = staff_client.post(
        "/api/hooks/", {"name": "n", "event_name": "batch_complete", "script_path": "notify.sh"}, format="json"
    ).json()
    webhook = staff_client.post(
        "/api/webhooks/",
        {"name": "w", "event_name": "batch_complete", "url": "https://93.184.216.34/hook"},
        format="json",
    ).json()
    notification = staff_client.post(
        "/api/notifications/",
        {"name": "n", "events": ["batch_complete"], "urls": ["json://93.184.216.34/notify"]},
        format="json",
    ).json()
    log = staff_client.post(f"/api/hooks/{hook['id']}/test/").json()
    source = staff_client.post("/api/incoming-sources/", {"name": "sonarr", "kind": "sonarr"}, format="json").json()
    return {
        "hooks": hook["id"],
        "webhooks": webhook["id"],
        "notifications": notification["id"],
        "hook-logs": log["id"],
        "incoming-sources": source["id"],
    }


def concrete(path: str, object_ids: dict[str, int]) -> str:
    """``path`` with its parameters filled in; fails for a parameter this test has no value for."""
    segments = path.strip("/").split("/")
    filled = []
    for index, segment in enumerate(segments):
        if segment == "{pk}":
            filled.append(str(object_ids[segments[index - 1]]))
        elif segment.startswith("{"):
            filled.append(PATH_VALUES[segment[1:-1]])
        else:
            filled.append(segment)
    return "/" + "/".join(filled) + "/"


def test_the_url_conf_has_write_routes_with_a_body():
    # Guards the parametrization below against an empty (or shrunken) enumeration.
    assert {("POST", "/api/scoring/preview/"), ("PATCH", "/api/hooks/{pk}/")} <= set(write_routes())
    assert ("POST", "/api/events/batch_complete/") in operations_with_a_body()


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1_000])
@pytest.mark.parametrize(("method", "path"), write_routes())
def test_deep_json_is_refused_with_the_documented_400(
    staff_client, object_ids, config_events, method, path, levels, kind
):
    url = concrete(path, object_ids)
    body = nested(levels, kind)

    response = staff_client.generic(method, url, body, content_type="application/json")

    if (method, path) in operations_with_a_body():
        assert response.status_code == 400, response.content
        assert response.json() == {"detail": EVENTS_DETAIL if path.startswith("/api/events/") else DEFAULT_DETAIL}
        assert config_events == []
    else:
        # Routes documented without a body never read it: the body cannot make them fail.
        assert response.status_code < 500, response.content


def test_deep_json_is_refused_in_the_scoring_preview_for_a_non_staff_user(user_client):
    response = user_client.generic("POST", "/api/scoring/preview/", nested(1_000, "array"), "application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": DEFAULT_DETAIL}


def test_json_at_the_limit_is_parsed_and_validated_as_usual(user_client):
    body = '{"query": {}, "results": []' + ', "weights": ' + nested(MAX_DEPTH - 1, "object") + "}"

    response = user_client.generic("POST", "/api/scoring/preview/", body, "application/json")

    assert response.status_code == 400
    assert response.json() == {"weights": {"a": ["Must be an integer, not dict."]}}
