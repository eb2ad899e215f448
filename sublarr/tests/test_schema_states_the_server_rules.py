"""The OpenAPI schema states the rules the server enforces, so a request it allows is not refused.

Each test takes a rule schemathesis found the schema silent about and checks
the generated schema now refuses what the server refuses (and allows what it
accepts). The whole API is fuzzed against the schema in
test_api_conforms_to_its_schema.py.
"""

from __future__ import annotations

import re

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from scoring import EPISODE_SCORES, MOVIE_SCORES


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def allows(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None


def test_strings_without_nul_and_not_blank_where_the_field_trims(schema):
    name = component(schema, "HookConfigRequest")["properties"]["name"]["pattern"]
    assert [allows(name, value) for value in ["on-subtitle", " x ", "", "   ", "a\x00b"]] == [
        True,
        True,
        False,
        False,
        False,
    ]
    # Blank allowed: the empty string is a branch of its own, and the pattern leaves it to that branch.
    language = component(schema, "CandidateRequest")["properties"]["language"]["oneOf"]
    assert language[1] == {"type": "string", "maxLength": 0}
    assert [allows(language[0]["pattern"], value) for value in ["de", "  ", "d\x00e", ""]] == [True, True, False, False]


def test_a_validators_own_pattern_is_stated(schema):
    webhook = component(schema, "WebhookConfigRequest")["properties"]
    secret = webhook["secret"]["oneOf"][0]["pattern"]
    assert [allows(secret, value) for value in ["", "s3cret", "a b", "tab\tbed", "***", "•••x"]] == [
        False,  # the empty secret (clear it) is the other branch
        True,
        False,
        False,
        False,
        True,
    ]
    url = webhook["url"]["pattern"]
    assert [allows(url, value) for value in ["https://example.com/h", "HTTP://h", "ftp://h", "0", "http://a b"]] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_each_score_type_has_paths_listing_exactly_its_weight_keys(schema):
    for score_type, keys in {"episode": EPISODE_SCORES, "movie": MOVIE_SCORES}.items():
        title = score_type.title()
        for body in (f"{title}WeightsUpdateRequest", f"Patched{title}WeightsUpdateRequest"):
            assert component(schema, body)["required"] == ["weights"]  # PATCH without weights is a 400 too
        weights = component(schema, f"{title}WeightsRequest")
        assert (list(weights["properties"]), weights["additionalProperties"]) == (list(keys), False)
        delete_key = schema["paths"][f"/api/scoring/weights/{score_type}/{{weight_key}}/"]["delete"]
        assert set(delete_key["parameters"][0]["schema"]["enum"]) == set(keys)
    assert not any("{score_type}" in path for path in schema["paths"])


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"query": {"season": 1, "episode": 2}, "weights": {"series": 1}}, True),
        ({"query": {"season": 1, "episode": 2}, "weights": {"title": 1}}, False),
        ({"query": {"title": "x"}, "weights": {"title": 1}}, True),
        ({"query": {"season": 1, "episode": None}, "weights": {"title": 1}}, True),
        ({"query": {"title": "x"}, "weights": {"series": 1}}, False),
        ({"query": {}}, True),
    ],
)
def test_preview_trial_weights_take_the_keys_of_the_querys_type(schema, body, valid):
    variants = {"oneOf": component(schema, "PreviewRequestRequest")["oneOf"], "components": schema["components"]}
    assert jsonschema.Draft4Validator(variants).is_valid(body) is valid


@pytest.mark.parametrize(
    ("selection", "valid"),
    [
        ({}, False),
        ({"all": False}, False),
        ({"all": True}, True),
        ({"success": False}, True),
        ({"hook_type": "script", "all": False}, True),
    ],
)
def test_a_hook_log_bulk_delete_needs_a_filter_or_all_true(schema, selection, valid):
    (parameter,) = schema["paths"]["/api/hook-logs/"]["delete"]["parameters"]
    assert (parameter["in"], parameter["style"], parameter["explode"], parameter["required"]) == (
        "query",
        "form",
        True,
        True,
    )
    root = {**parameter["schema"], "components": schema["components"]}
    assert jsonschema.Draft4Validator(root).is_valid(selection) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"secret": "s3cret", "generate_secret": True}, False),
        ({"secret": "", "generate_secret": True}, False),  # "" asks for no secret: as contradictory
        ({"secret": "s3cret", "generate_secret": False}, True),
        ({"generate_secret": True}, True),
    ],
)
def test_a_webhook_takes_a_secret_or_generate_secret_not_both(schema, body, valid):
    for name in ("WebhookConfigRequest", "PatchedWebhookConfigRequest"):  # create, replace and change alike
        rule = {"not": component(schema, name)["not"]}
        assert jsonschema.Draft4Validator(rule).is_valid(body) is valid, name


def test_preview_integers_are_64_bit_as_the_server_takes_them(schema):
    query = component(schema, "VideoQueryRequest")["properties"]
    assert (query["season"]["minimum"], query["season"]["maximum"]) == (0, 2**63 - 1)
    assert (query["year"]["minimum"], query["year"]["maximum"]) == (1800, 3000)
    min_score = component(schema, "PreviewRequestRequest")["properties"]["min_score"]
    assert (min_score["minimum"], min_score["maximum"]) == (-(2**63), 2**63 - 1)


def test_every_operation_on_an_id_or_a_page_documents_its_404(schema):
    # get_object() answers 404 for an unknown id, the paginator for a page past the last one.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            if "id" in names or "page" in names:
                assert "404" in operation["responses"], f"{method.upper()} {path}"


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"name": "sonarr-4k", "kind": "sonarr"}, True),
        ({"name": "has space", "kind": "sonarr"}, False),
        ({"name": "x" * 65, "kind": "sonarr"}, False),
        ({"name": "x", "kind": "sonarr", "basic_username": "u", "basic_password": "p"}, True),
        ({"name": "x", "kind": "sonarr", "basic_username": "", "basic_password": ""}, True),
        ({"name": "x", "kind": "sonarr", "basic_username": "u"}, False),
        ({"name": "x", "kind": "sonarr", "basic_username": "", "basic_password": "p"}, False),
        ({"name": "x", "kind": "sonarr", "basic_username": "u:v", "basic_password": "p"}, False),
        ({"name": "x", "kind": "sonarr", "path_mappings": [{"remote": "/tv", "local": "/media/tv"}]}, True),
        ({"name": "x", "kind": "sonarr", "path_mappings": [{"remote": "/tv", "local": "/media\ttv"}]}, False),
        ({"name": "x", "kind": "sonarr", "path_mappings": [{"remote": " ", "local": "/media/tv"}]}, False),
        ({"name": "x", "kind": "sonarr", "path_mappings": [{"remote": "/tv", "local": "/m" * 513}]}, False),
        (
            {"name": "x", "kind": "sonarr", "path_mappings": [{"remote": f"/{i}", "local": "/m"} for i in range(51)]},
            False,
        ),
    ],
)
def test_an_incoming_source_states_its_name_credentials_and_mappings_rules(schema, body, valid):
    root = {**component(schema, "IncomingSourceRequest"), "components": schema["components"]}
    assert jsonschema.Draft4Validator(root).is_valid(body) is valid
