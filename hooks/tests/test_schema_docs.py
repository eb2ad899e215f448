"""The OpenAPI schema documents every hooks endpoint, field and error response."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

PREFIXES = ("/api/hooks/", "/api/webhooks/", "/api/hook-logs/")
# Our own operations (hooks.api, hooks.api_logs); redelivery (hooks.api_delivery) documents itself.
OURS = {
    "/api/hooks/": {"get", "post"},
    "/api/hooks/{id}/": {"get", "put", "patch", "delete"},
    "/api/hooks/{id}/test/": {"post"},
    "/api/webhooks/": {"get", "post"},
    "/api/webhooks/{id}/": {"get", "put", "patch", "delete"},
    "/api/webhooks/{id}/test/": {"post"},
    "/api/webhooks/{id}/enable/": {"post"},
    "/api/webhooks/{id}/rotate-secret/": {"post"},
    "/api/hook-logs/": {"get", "delete"},
    "/api/hook-logs/{id}/": {"get"},
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, methods in OURS.items():
        for method in methods:
            yield path, method, schema["paths"][path][method]


def resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return node


def test_every_operation_is_in_the_schema(schema):
    for path, methods in OURS.items():
        assert path in schema["paths"], path
        documented = {m for m in schema["paths"][path] if m in {"get", "post", "put", "patch", "delete"}}
        assert methods <= documented, path


def test_every_operation_has_a_summary_and_its_error_responses(schema):
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        responses = operation["responses"]
        for code in ("401", "403"):
            assert responses[code]["description"], where
        if "{id}" in path:
            assert "404" in responses, where
        if (method in {"post", "put", "patch"} and "requestBody" in operation) or any(
            p["in"] == "query" for p in operation.get("parameters", []) if p["name"] not in {"page", "page_size"}
        ):
            assert "400" in responses, where
        if path.endswith("/test/"):  # the delivery code is always there: no "not available" answer
            assert sorted(responses) == ["200", "401", "403", "404"], where
        assert any(code.startswith("2") for code in responses), where


def test_every_parameter_and_field_is_described(schema):
    seen_components: set[str] = set()
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), f"{method.upper()} {path}: {parameter['name']}"
        bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")]
        bodies += [
            r.get("content", {}).get("application/json", {}).get("schema") for r in operation["responses"].values()
        ]
        for body in filter(None, bodies):
            if "$ref" in body:
                seen_components.add(body["$ref"].rsplit("/", 1)[1])
    for name in sorted(seen_components):
        component = schema["components"]["schemas"][name]
        if name.startswith("Paginated"):
            component = resolve(schema, component["properties"]["results"]["items"])
        for field, spec in component.get("properties", {}).items():
            assert spec.get("description") or resolve(schema, spec).get("description"), f"{name}.{field}"


def test_the_secret_is_write_only_in_the_schema(schema):
    components = schema["components"]["schemas"]
    assert "secret" not in components["WebhookConfig"]["properties"]
    assert components["WebhookConfig"]["properties"]["has_secret"]["readOnly"] is True
    assert components["WebhookConfig"]["properties"]["generated_secret"]["nullable"] is True
    assert "secret" in components["WebhookConfigRequest"]["properties"]
    assert "secret" in components["PatchedWebhookConfigRequest"]["properties"]
    # The only response that carries a secret is the rotation's.
    assert components["Secret"]["required"] == ["secret", "webhook"]


def test_event_names_are_enumerated_without_hook_executed(schema):
    components = schema["components"]["schemas"]
    hook_events = components["HookConfig"]["properties"]["event_name"]
    webhook_events = components["WebhookConfig"]["properties"]["event_name"]
    hook_enum = resolve(schema, hook_events["allOf"][0])["enum"]
    webhook_enum = resolve(schema, webhook_events["allOf"][0])["enum"]
    assert "hook_executed" not in hook_enum
    assert "*" not in hook_enum
    assert webhook_enum == [*hook_enum, "*"]
