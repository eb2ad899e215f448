"""``manage.py emit_event NAME --data '{...}'``: emit a catalog event and print its envelope.

Exit status: 0 = the event was accepted (its envelope is on stdout; a warning
on stderr when WebSocket clients may not see it), 1 = bad input (nothing
sent), 75 (EX_TEMPFAIL) = the database is unavailable (nothing sent; run the
same command again later).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events import bridge, jsonlimits
from events.catalog import EVENT_CATALOG, catalog_listing
from events.services import EventError, EventUnavailable, emit_event

# How long to wait for the event to reach the channel layer before exiting.
FLUSH_TIMEOUT = 10.0
# sysexits.h EX_TEMPFAIL: "try again later" — distinct from bad input (1).
EXIT_UNAVAILABLE = 75


class Command(BaseCommand):
    help = "Emit a catalog event (WebSocket clients, hooks, webhooks) and print its envelope as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="Event name (see --list).")
        parser.add_argument("--data", default="{}", help="The payload as a JSON object (default: {}).")
        parser.add_argument("--list", action="store_true", help="List the catalog as JSON and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self.stdout.write(json.dumps(catalog_listing(), indent=2))
            return
        name = options["name"]
        if not name:
            raise CommandError(f"Give an event name (or --list). Valid events: {', '.join(EVENT_CATALOG)}.")
        try:
            data = jsonlimits.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"--data is not valid JSON: {exc}.") from None
        try:
            envelope = emit_event(name, data)
        except EventError as exc:
            raise CommandError(exc.message) from None
        except EventUnavailable as exc:
            raise CommandError(
                f"Event {name} was not emitted: the database is unavailable ({exc.reason}); try again later.",
                returncode=EXIT_UNAVAILABLE,
            ) from None
        # The event is kept (hooks and webhooks get it): exit 0 whatever the
        # live stream does, or a script retrying on failure would emit it twice.
        self.stdout.write(json.dumps(envelope, indent=2))
        if not bridge.flush(FLUSH_TIMEOUT):
            self.stderr.write(
                f"Warning: event {envelope['id']} did not reach the channel layer within {FLUSH_TIMEOUT:.0f} s; "
                "WebSocket clients may not receive it (hooks and webhooks will)."
            )
        elif bridge.stats()["failed"]:
            self.stderr.write(
                f"Warning: the channel layer refused event {envelope['id']} (see the log); "
                "WebSocket clients will not receive it (hooks and webhooks will)."
            )
