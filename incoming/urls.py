from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .api import IncomingRequestViewSet, IncomingSourceViewSet
from .views import receive

router = SimpleRouter()
router.register("incoming-sources", IncomingSourceViewSet, basename="source")
router.register("incoming-requests", IncomingRequestViewSet, basename="request")

app_name = "incoming"
urlpatterns = [
    path("incoming/<str:name>/", receive, name="receive"),
    path("", include(router.urls)),
]
