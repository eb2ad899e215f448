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
  the way to this server, every client gets ``{"type": "missed", "count": n}``
  before its next event.

Fan-out: one relay per server process (per event loop) is the member of the
channel-layer group ``events``; it hands each group message to the process's
connected clients in memory. The layer therefore carries one message per
server process, not one per client — with 50 clients, 50 times fewer Redis writes
or SQLite rows, and a channel capacity that is about the server's backlog,
not one slow client's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from . import bridge
from .catalog import EVENT_CATALOG

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
# Re-join the group well before the layer's group_expiry (a day by default)
# would silently stop delivery to a long-lived server.
MAX_REFRESH_INTERVAL = 3600.0
# Producers remembered for gap detection.
MAX_ORIGINS = 256
# After a layer error, wait this long before receiving again.
RETRY_DELAY = 1.0

_counters = {"missed": 0, "relayed": 0}


def stats() -> dict[str, int]:
    """Process-wide counters: ``relayed`` group messages; ``missed`` events the layer dropped on the way."""
    return dict(_counters)


class _Relay:
    """This event loop's member of the ``events`` group, fanning messages out to local clients."""

    def __init__(self) -> None:
        self.consumers: set[EventStreamConsumer] = set()
        self.lock = asyncio.Lock()
        self.layer: Any = None
        self.channel: str | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.last_seq: collections.OrderedDict[str, int] = collections.OrderedDict()

    async def add(self, consumer: EventStreamConsumer) -> None:
        async with self.lock:
            if not self.tasks:
                self.layer = get_channel_layer()
                # The default prefix: channels_redis (and channels_lite) read
                # all of a process's channels with one shared receive on
                # "specific.<process>!"; another prefix is read only while its
                # own receive holds that lock (measured: 4 of 1,500 delivered).
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(bridge.GROUP, self.channel)
                self.last_seq.clear()
                self.tasks = [
                    asyncio.ensure_future(self._receive_forever()),
                    asyncio.ensure_future(self._refresh_membership()),
                ]
            self.consumers.add(consumer)

    async def remove(self, consumer: EventStreamConsumer) -> None:
        async with self.lock:
            self.consumers.discard(consumer)
            if self.consumers or not self.tasks:
                return
            tasks, self.tasks = self.tasks, []
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.layer.group_discard(bridge.GROUP, self.channel)

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("Event relay could not receive from the channel layer: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_DELAY)
                continue
            if message.get("type") != bridge.MESSAGE_TYPE:
                continue
            _counters["relayed"] += 1
            events = message.get("events") or []
            self._note_sequence(message.get("origin"), events)
            for consumer in list(self.consumers):
                try:
                    await consumer.event_message(message)
                except Exception:
                    logger.exception("Event stream %s failed to take an event", consumer.channel_name)

    async def _refresh_membership(self) -> None:
        group_expiry = float(getattr(self.layer, "group_expiry", 86400) or 86400)
        interval = min(MAX_REFRESH_INTERVAL, group_expiry / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.layer.group_add(bridge.GROUP, self.channel)
            except Exception as exc:
                logger.warning("Could not refresh the event relay's group membership: %s", type(exc).__name__)

    def _note_sequence(self, origin: Any, events: list[dict[str, Any]]) -> None:
        if not isinstance(origin, str) or not events:
            return
        seqs = [event.get("seq") for event in events]
        if not all(isinstance(seq, int) for seq in seqs):
            return
        last = self.last_seq.pop(origin, None)
        self.last_seq[origin] = max(seqs) if last is None else max(last, *seqs)
        if len(self.last_seq) > MAX_ORIGINS:
            self.last_seq.popitem(last=False)
        if last is None or seqs[0] <= last + 1:
            return
        missed = seqs[0] - last - 1
        _counters["missed"] += missed
        logger.warning(
            "Event relay missed %d event(s) from one producer: the channel layer dropped them (full channel?)",
            missed,
        )
        for consumer in self.consumers:
            consumer.pending_missed += missed


_relays: dict[asyncio.AbstractEventLoop, _Relay] = {}


def _relay() -> _Relay:
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        for old in [old for old in _relays if old.is_closed()]:
            del _relays[old]
        relay = _relays[loop] = _Relay()
    return relay


class EventStreamConsumer(AsyncJsonWebsocketConsumer):
    """Stream catalog events to one authenticated WebSocket client."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.subscribed: frozenset[str] | None = None
        self.pending_missed = 0
        self.relay = _relay()
        await self.relay.add(self)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        relay = getattr(self, "relay", None)
        if relay is not None:
            await relay.remove(self)

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

    # --- relay → client -------------------------------------------------------

    async def event_message(self, message: dict[str, Any]) -> None:
        """A group message from events.bridge (a batch of events): forward the subscribed ones."""
        for event in message["events"]:
            if self.subscribed is not None and event["event_name"] not in self.subscribed:
                continue
            if self.pending_missed:
                await self.send_json({"type": "missed", "count": self.pending_missed})
                self.pending_missed = 0
            await self.send(text_data=event["text"])
