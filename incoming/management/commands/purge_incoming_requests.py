"""manage.py purge_incoming_requests [--days N] [--dry-run]: delete old incoming request records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incoming.services import incoming_requests_purge


class Command(BaseCommand):
    help = "Delete incoming request records older than N days (default SUBLARR_INCOMING_LOG_RETENTION_DAYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", help="Delete records older than this many days.")
        parser.add_argument("--dry-run", action="store_true", help="Only count the records that would be deleted.")

    def handle(self, *args: Any, days: str | None = None, dry_run: bool = False, **options: Any) -> None:
        if days is None:
            older_than = settings.SUBLARR_INCOMING_LOG_RETENTION_DAYS
        else:
            try:
                older_than = int(days)
            except ValueError:
                older_than = -1
            if older_than < 0:
                raise CommandError(f"--days must be a whole number of days, 0 or more, not {days!r}.")
        count = incoming_requests_purge(older_than_days=older_than, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {count} incoming request records older than {older_than} days.")
