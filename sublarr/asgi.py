"""ASGI entry point: HTTP to Django, WebSocket to the apps' routing (served by daphne)."""

import os

from django.core.asgi import get_asgi_application

from sublarr.env import exit_on_setting_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sublarr.settings")

# Django must be set up before anything imports models.
with exit_on_setting_error():
    django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from events.auth import TokenAuthMiddlewareStack
from events.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]  # stubs: a URLPattern subclass of their own
        ),
    }
)
