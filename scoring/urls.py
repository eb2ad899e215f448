from __future__ import annotations

from .api import urlpatterns

app_name = "scoring"
__all__ = ["app_name", "urlpatterns"]
