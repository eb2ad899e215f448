"""manage.py purge_hook_logs [--days N] [--dry-run]: delete old hook log rows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hooks.services import hook_logs_purge


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise CommandError(f"--days must be a whole number of days, 0 or more, not {value!r}.") from None
    if days < 0:
        raise CommandError(f"--days must be a whole number of days, 0 or more, not {value!r}.")
    return days


class Command(BaseCommand):
    help = "Delete hook and webhook log rows older than N days (default SUBLARR_HOOK_LOG_RETENTION_DAYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            help="Delete rows older than this many days (default: SUBLARR_HOOK_LOG_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count the rows that would be deleted.")

    def handle(self, *args: Any, days: str | None = None, dry_run: bool = False, **options: Any) -> None:
        older_than = settings.SUBLARR_HOOK_LOG_RETENTION_DAYS if days is None else _days(days)
        count = hook_logs_purge(older_than_days=older_than, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"Would delete {count} hook log rows older than {older_than} days.")
        else:
            self.stdout.write(f"Deleted {count} hook log rows older than {older_than} days.")
