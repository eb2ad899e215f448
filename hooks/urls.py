from __future__ import annotations

from .api import urlpatterns as config_urlpatterns
from .api_delivery import urlpatterns as delivery_urlpatterns
from .api_notifications import urlpatterns as notification_urlpatterns

app_name = "hooks"
urlpatterns = [*config_urlpatterns, *delivery_urlpatterns, *notification_urlpatterns]
