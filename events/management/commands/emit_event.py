"""``manage.py emit_event NAME --data '{...}'``: emit a catalog event and print its envelope."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events import bridge
from events.catalog import EVENT_CATALOG, catalog_listing
from events.services import EventError, emit_event

# How long to wait for the event to reach the channel layer before exiting.
FLUSH_TIMEOUT = 10.0


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
            data = json.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"--data is not valid JSON: {exc}.") from None
        try:
            envelope = emit_event(name, data)
        except EventError as exc:
            raise CommandError(exc.message) from None
        if not bridge.flush(FLUSH_TIMEOUT):
            raise CommandError(
                f"Event {envelope['id']} was emitted but did not reach the channel layer within "
                f"{FLUSH_TIMEOUT:.0f} s; WebSocket clients may not receive it."
            )
        failed = bridge.stats()["failed"]
        if failed:
            raise CommandError(
                f"Event {envelope['id']} was emitted but the channel layer refused it (see the log); "
                "WebSocket clients will not receive it."
            )
        self.stdout.write(json.dumps(envelope, indent=2))
