from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

from .api import EMIT_PARAMETERS, EMIT_RESPONSES, EventCatalogView, EventEmitView
from .catalog import EVENT_CATALOG, EventSpec
from .samples import sample_payload

app_name = "events"


def _payload_schema(spec: EventSpec) -> dict[str, Any]:
    """The body an emit of ``spec`` takes: its declared payload keys, each of its type, and no others."""
    return {
        "type": "object",
        "description": f"{spec.description} Payload keys: {', '.join(spec.payload_keys)}.",
        "properties": {key: spec.payload_types[key].openapi_schema() for key in spec.payload_keys},
        "additionalProperties": False,
    }


# One path per event rather than one {name} path: which payload keys a body
# may carry depends on the event, and only a path of its own lets the schema
# say so. Unknown names still reach EventEmitView (its 404 lists the events)
# through the catch-all route, which the schema leaves out.
def _emit_pattern(spec: EventSpec) -> URLPattern:
    view: type[EventEmitView] = type(f"Emit_{spec.name}_View", (EventEmitView,), {})
    extend_schema_view(
        post=extend_schema(
            operation_id=f"events_emit_{spec.name}",
            summary=f"Emit {spec.name} with the posted payload (staff only)",
            request={"application/json": _payload_schema(spec)},
            responses=EMIT_RESPONSES,
            parameters=EMIT_PARAMETERS,
            examples=[OpenApiExample(spec.name, value=sample_payload(spec.name), request_only=True)],
        )
    )(view)
    return path(f"events/{spec.name}/", view.as_view(), {"name": spec.name}, name=f"emit-{spec.name}")


class _UnknownEventEmitView(EventEmitView):
    schema = None


urlpatterns = [
    path("events/", EventCatalogView.as_view(), name="catalog"),
    *(_emit_pattern(spec) for spec in EVENT_CATALOG.values()),
    path("events/<str:name>/", _UnknownEventEmitView.as_view(), name="emit"),
]
