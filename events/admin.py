"""The event catalog in the admin: read-only, rendered from code (no table behind it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .catalog import CATALOG_VERSION, EVENT_CATALOG
from .models import CatalogEvent


@admin.register(CatalogEvent)
class CatalogEventAdmin(admin.ModelAdmin):
    # The catalog is public to staff (it is in the API too): no permission rows needed.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        # Only the list: there are no rows to open, change or delete.
        return super().get_urls()[:1]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Event catalog",
            "opts": self.model._meta,
            "catalog_version": CATALOG_VERSION,
            "events": list(EVENT_CATALOG.values()),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/events/catalog.html", context)
