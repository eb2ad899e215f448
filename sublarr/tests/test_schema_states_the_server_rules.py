"""The OpenAPI schema states the rules the server enforces, so a request it allows is not refused.

Each test takes a rule schemathesis found the schema silent about and checks
the generated schema now refuses what the server refuses (and allows what it
accepts). The whole API is fuzzed against the schema in
test_api_conforms_to_its_schema.py.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator


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
