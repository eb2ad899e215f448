from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hooks import admin_pages

from . import schema  # noqa: F401 - registers the schema extensions

urlpatterns = [
    # First: the *arr apps' webhooks are the hot path (each pattern tried before a match costs a request ~20 µs).
    path("api/", include("incoming.urls")),
    # Before the admin's own routes: its catch-all would answer these with a 404.
    path("admin/hooks/", include(admin_pages.site_urls())),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("events.urls")),
    path("api/", include("hooks.urls")),
    path("api/", include("scoring.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer API clients in JSON, as every API response is (a path no route matches, e.g. /api/hooks/abc/)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
