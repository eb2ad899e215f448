from __future__ import annotations

from django.urls import path

from .api import EventCatalogView, EventEmitView

app_name = "events"
urlpatterns = [
    path("events/", EventCatalogView.as_view(), name="catalog"),
    path("events/<str:name>/", EventEmitView.as_view(), name="emit"),
]
