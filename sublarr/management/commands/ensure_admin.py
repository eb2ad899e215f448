"""Create a first admin account when none exists, and say how to log in."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin account with a random password if no superuser exists yet."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        User = get_user_model()  # noqa: N806 - the conventional name
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already; log in with it.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                "Created the admin account.\n"
                f"  user:     {username}\n"
                f"  password: {password}\n"
                "This password is shown once: change it after logging in "
                "(python manage.py changepassword admin)."
            )
        )
