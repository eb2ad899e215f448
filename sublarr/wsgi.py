"""WSGI entry point (HTTP only; WebSockets need the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

from sublarr.env import exit_on_setting_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sublarr.settings")

with exit_on_setting_error():
    application = get_wsgi_application()
