"""OpenAPI schema extensions that make the generated schema say what DRF's fields really accept.

Imported by ``sublarr.urls`` (drf-spectacular registers an extension when its
class is defined).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

# DRF's CharField refuses NUL characters and, when it trims whitespace and
# blank is not allowed, a value that is only whitespace: both 400s for
# strings the plain {"type": "string"} would allow. No pattern matches the
# empty string: drf-spectacular adds a oneOf branch for it where blank is
# allowed, and a pattern matching it too would make that oneOf refuse "".
NO_NUL = r"^[^\x00]+$"
NOT_BLANK_NO_NUL = r"^[^\x00]*[^\s\x00][^\x00]*$"


class CharFieldSchema(OpenApiSerializerFieldExtension):
    """Request strings of a CharField carry a pattern: no NUL, and not blank unless blank is allowed.

    A validator that refuses more states it in a ``schema_pattern`` attribute,
    which is used instead.
    """

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request" or not isinstance(schema, dict) or schema.get("type") != "string":
            return schema
        if {"enum", "format", "pattern"} & schema.keys():
            return schema
        field = self.target
        if any(isinstance(validator, RegexValidator) for validator in field.validators):
            return schema  # its own pattern goes in the schema (and says more)
        declared = [getattr(validator, "schema_pattern", None) for validator in field.validators]
        pattern = next(filter(None, declared), None)
        if pattern is None:
            pattern = NOT_BLANK_NO_NUL if field.trim_whitespace and not field.allow_blank else NO_NUL
        return {**schema, "pattern": pattern}
