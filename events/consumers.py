"""The live event stream: ``/ws/events/`` sends each event's envelope as JSON.

Protocol (see docs/EVENTS.md):

* authenticated users only; an anonymous connection is accepted and closed at
  once with code 4401 (a close code, unlike a refused handshake, is visible
  to browser clients);
* by default a client receives every event; ``{"action": "subscribe",
  "events": [...]}`` narrows it to those names (``"events": null`` restores
  everything) and is answered with ``{"type": "subscribed", "events": ...}``;
  a bad request gets ``{"type": "error", "message": ...}`` and the socket stays
  open;
* an event message is the envelope itself (it has ``event_name``; control
  messages have ``type`` instead). When the channel layer dropped messages on
  the way to this client (a full channel), the client gets ``{"type":
  "missed", "count": n}`` before the next event.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import bridge
from .catalog import EVENT_CATALOG

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
# Re-join the group well before the layer's group_expiry (a day by default)
# would silently stop delivery to a long-lived connection.
MAX_REFRESH_INTERVAL = 3600.0
# Producers remembered per connection for gap detection.
MAX_ORIGINS = 256

_counters = {"missed": 0}


def stats() -> dict[str, int]:
    """Process-wide consumer counters: ``missed`` = messages the layer dropped before delivery."""
    return dict(_counters)


class EventStreamConsumer(AsyncJsonWebsocketConsumer):
    """Stream catalog events to one authenticated WebSocket client."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.subscribed: frozenset[str] | None = None
        self.last_seq: collections.OrderedDict[str, int] = collections.OrderedDict()
        self.pending_missed = 0
        await self.channel_layer.group_add(bridge.GROUP, self.channel_name)
        self.joined = True
        self.refresher = asyncio.ensure_future(self._refresh_membership())
        await self.accept()

    async def disconnect(self, code: int) -> None:
        refresher = getattr(self, "refresher", None)
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(bridge.GROUP, self.channel_name)

    async def _refresh_membership(self) -> None:
        group_expiry = float(getattr(self.channel_layer, "group_expiry", 86400) or 86400)
        interval = min(MAX_REFRESH_INTERVAL, group_expiry / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.channel_layer.group_add(bridge.GROUP, self.channel_name)
            except Exception as exc:
                logger.warning("Could not refresh event stream membership: %s", type(exc).__name__)

    # --- client → server --------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self._error("Send text frames with a JSON object.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("Malformed JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("action") != "subscribe":
            await self._error('Unknown request; send {"action": "subscribe", "events": [...]}.')
            return
        names = content.get("events")
        if names is None:
            self.subscribed = None
            await self.send_json({"type": "subscribed", "events": None})
            return
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            await self._error('"events" must be a list of event names, or null for every event.')
            return
        unknown = [name for name in names if name not in EVENT_CATALOG]
        if unknown:
            await self._error(
                f"Unknown event(s): {', '.join(unknown)}. Valid events: {', '.join(EVENT_CATALOG)}.",
                events=unknown,
            )
            return
        self.subscribed = frozenset(names)
        await self.send_json({"type": "subscribed", "events": sorted(self.subscribed)})

    async def _error(self, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "message": message, **extra})

    # --- channel layer → client ---------------------------------------------

    async def event_message(self, message: dict[str, Any]) -> None:
        """Group message from events.bridge (a batch of events): forward the subscribed ones."""
        origin = message.get("origin")
        for event in message["events"]:
            self._note_sequence(origin, event.get("seq"))
            if self.subscribed is not None and event["event_name"] not in self.subscribed:
                continue
            if self.pending_missed:
                await self.send_json({"type": "missed", "count": self.pending_missed})
                self.pending_missed = 0
            await self.send(text_data=event["text"])

    def _note_sequence(self, origin: Any, seq: Any) -> None:
        if not isinstance(origin, str) or not isinstance(seq, int):
            return
        last = self.last_seq.pop(origin, None)
        self.last_seq[origin] = seq if last is None else max(last, seq)
        if len(self.last_seq) > MAX_ORIGINS:
            self.last_seq.popitem(last=False)
        if last is not None and seq > last + 1:
            missed = seq - last - 1
            self.pending_missed += missed
            _counters["missed"] += missed
            logger.warning(
                "Event stream %s missed %d event(s): the channel layer dropped them (full channel?)",
                self.channel_name,
                missed,
            )
