"""The nesting limit every JSON door parses with (events.jsonlimits)."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from events.jsonlimits import MAX_DEPTH, JSONDepthError, JSONParser, loads


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_loads_accepts_documents_up_to_the_limit():
    assert loads('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert loads(nested(MAX_DEPTH)) is not None


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1_000, 100_000])
def test_loads_refuses_deeper_documents_with_a_value_error(levels):
    with pytest.raises(JSONDepthError, match=f"^JSON nested deeper than {MAX_DEPTH} levels$"):
        loads(nested(levels))


def test_objects_count_as_levels_too():
    doc = '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    with pytest.raises(JSONDepthError):
        loads(doc.encode())


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1_000, 100_000])
def test_drf_parser_answers_a_parse_error_not_a_recursion_error(levels):
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_DEPTH} levels"):
        JSONParser().parse(io.BytesIO(nested(levels).encode()), "application/json", {})
