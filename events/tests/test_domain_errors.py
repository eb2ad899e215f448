"""One error contract: the API's handler answers domain errors, and the schema documents two error shapes."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.generators import SchemaGenerator

from events.api_errors import exception_handler
from events.errors import Conflict, DomainError, Invalid, NotFound


def answer(exc: Exception) -> tuple[int, object]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, json.loads(json.dumps(response.data))


def test_invalid_is_a_400_with_the_field_message():
    assert answer(Invalid("Must be positive.", field="count")) == (400, {"count": ["Must be positive."]})


def test_invalid_without_a_field_is_a_400_non_field_message():
    assert answer(Invalid("Nothing to do.")) == (400, {"non_field_errors": ["Nothing to do."]})


def test_invalid_with_errors_answers_them_all():
    errors = {"weights": {"hash": ["Must be an integer."]}, "modifiers": ["Must be an object."]}
    assert answer(Invalid("two fields", errors=errors)) == (400, errors)


def test_not_found_is_a_404_detail():
    assert answer(NotFound("No such delivery.")) == (404, {"detail": "No such delivery."})


def test_conflict_is_a_409_detail():
    assert answer(Conflict("The webhook is disabled.")) == (409, {"detail": "The webhook is disabled."})


def test_a_plain_domain_error_is_a_400_like_invalid():
    assert answer(DomainError("Bad.", field="name")) == (400, {"name": ["Bad."]})


def test_a_django_validation_error_is_a_400_with_its_field_messages():
    exc = DjangoValidationError({"name": ["An incoming source with this name already exists."]})
    assert answer(exc) == (400, {"name": ["An incoming source with this name already exists."]})


def test_other_errors_are_left_to_django():
    assert exception_handler(RuntimeError("boom"), {}) is None


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_documents_two_error_shapes_once(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["required"] == ["detail"]
    assert components["FieldErrors"]["type"] == "object"
    for old in ("HooksError", "RedeliveryError", "ScoringErrorDetail", "EventErrorDetail"):
        assert old not in components
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                if not code.startswith(("4", "5")) or "content" not in response:
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                expected = "FieldErrors" if code == "400" else "ErrorDetail"
                if operation["operationId"] == "incoming_receive":
                    # The apps' endpoint: ErrorDetail with the request's record id, a 400 included.
                    expected = "IncomingRefusal"
                    assert components[expected]["allOf"][0] == {"$ref": "#/components/schemas/ErrorDetail"}
                assert ref == f"#/components/schemas/{expected}", f"{method.upper()} {path} {code}"
