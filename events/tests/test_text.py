"""Text that JSON can carry but Unicode cannot (lone surrogates): found, named and echoed safely."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from events.jsonlimits import printable, surrogate_error, text_error, validate_text


@pytest.mark.parametrize("value", ["", "plain", "Élite — 東京", "emoji \U0001f600"])
def test_valid_text_has_no_error(value):
    assert surrogate_error(value) is None
    assert text_error(value) is None
    validate_text(value)
    assert printable(value) == value


@pytest.mark.parametrize(
    ("value", "message", "echoed"),
    [
        ("\ud800", "Surrogate characters are not allowed: U+D800.", "\\ud800"),
        ("ok é\udfff", "Surrogate characters are not allowed: U+DFFF.", "ok é\\udfff"),
    ],
)
def test_a_lone_surrogate_is_named_as_drf_names_it_and_echoed_escaped(value, message, echoed):
    assert text_error(value) == message
    with pytest.raises(ValidationError) as error:
        validate_text(value)
    assert error.value.messages == [message]
    assert printable(value) == echoed
    printable(value).encode("utf-8")
