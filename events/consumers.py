"""The live event stream: ``/ws/events/`` sends each event's envelope as JSON.

Protocol (see docs/EVENTS.md):

* authenticated users only; an anonymous connection is accepted and closed at
  once with code 4401 (a close code, unlike a refused handshake, is visible
  to browser clients). The credential is checked again every
  ``SUBLARR_WS_AUTH_RECHECK_SECONDS`` (one query per socket): a deleted token,
  an ended session or a deactivated user closes the socket with 4401 too;
* by default a client receives every event; ``{"action": "subscribe",
  "events": [...]}`` narrows it to those names (``"events": null`` restores
  everything) and is answered with ``{"type": "subscribed", "events": ...}``;
  a bad request gets ``{"type": "error", "message": ...}`` and the socket stays
  open;
* requests are bounded (size, JSON nesting, names per subscribe), so every
  answer is bounded too;
* an event message is the envelope itself (it has ``event_name``; control
  messages have ``type`` instead). When the channel layer dropped messages on
  the way to this server, every client gets ``{"type": "missed", "count": n}``
  before its next event; after the relay was cut off from the layer (Redis
  down, restarted empty), ``{"type": "missed", "count": null}`` as soon as it
  is back.

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
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from . import auth, bridge, jsonlimits
from .catalog import EVENT_CATALOG

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
# Re-join the group at least this often, and check that the membership is
# still there: one layer operation per server process (never per client or per
# event). A Redis that restarts empty between two reads leaves the relay no
# error to notice (redis-py reconnects on its own), only a missing membership.
MEMBERSHIP_CHECK_INTERVAL = 2.0
# A client's request: at most this many characters, and a subscribe at most
# this many names (the catalog has 14). Every answer, an error echoing the
# unknown names included, is then bounded too.
MAX_REQUEST_CHARS = 64 * 1024
MAX_SUBSCRIBE_NAMES = 256
# Producers remembered for gap detection.
MAX_ORIGINS = 256
# After a layer error, wait this long before receiving again.
RETRY_DELAY = 1.0
# Sent to every client when the relay was cut off from the layer: events
# emitted meanwhile may never have reached this server, and how many is unknown.
MISSED_UNKNOWN = {"type": "missed", "count": None}

_counters = {"missed": 0, "relayed": 0, "rejoined": 0}


def stats() -> dict[str, int]:
    """Process-wide counters: ``relayed`` group messages, ``missed`` events dropped, ``rejoined`` recoveries."""
    return dict(_counters)


async def _join(layer: Any, channel: str) -> bool:
    """Join the ``events`` group; return True when the membership had to be created anew."""
    if isinstance(layer, RedisChannelLayer):
        # RedisChannelLayer.group_add, keeping ZADD's answer: 1 means our
        # member was gone (Redis restarted empty, or the key was flushed).
        key = layer._group_key(bridge.GROUP)
        connection = layer.connection(layer.consistent_hash(bridge.GROUP))
        added = await connection.zadd(key, {channel: time.time()})
        await connection.expire(key, layer.group_expiry)
        return bool(added)
    # The other layers (SQLite, in-memory) lose no state of their own.
    await layer.group_add(bridge.GROUP, channel)
    return False


class _Relay:
    """This event loop's member of the ``events`` group, fanning messages out to local clients."""

    def __init__(self) -> None:
        self.consumers: set[EventStreamConsumer] = set()
        self.lock = asyncio.Lock()
        self.layer: Any = None
        self.channel: str | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.last_seq: collections.OrderedDict[str, int] = collections.OrderedDict()
        # Cut off from the layer (a receive or join failed): once a join
        # succeeds again, every client is told that events may have been missed.
        self.lost = False
        self.recovered_at = float("-inf")
        self.check_now = asyncio.Event()

    async def add(self, consumer: EventStreamConsumer) -> None:
        async with self.lock:
            if not self.tasks:
                self.layer = get_channel_layer()
                # The default prefix: channels_redis (and channels_lite) read
                # all of a process's channels with one shared receive on
                # "specific.<process>!"; another prefix is read only while its
                # own receive holds that lock (measured: 4 of 1,500 delivered).
                self.channel = await self.layer.new_channel()
                self.last_seq.clear()
                self.lost = False
                try:
                    await _join(self.layer, self.channel)
                except Exception as exc:
                    # Accept the client anyway: it hears of the gap once the layer is back.
                    self._mark_lost("join", exc)
                self.tasks = [
                    asyncio.ensure_future(self._receive_forever()),
                    asyncio.ensure_future(self._watch_membership()),
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
            try:
                await self.layer.group_discard(bridge.GROUP, self.channel)
            except Exception as exc:
                # The member expires with the group (group_expiry), or vanished with the layer.
                logger.warning("Event relay could not leave the group: %s", type(exc).__name__)

    async def _receive_forever(self) -> None:
        while True:
            started = time.monotonic()
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A receive begun before the last recovery failed with the
                # outage already announced: not a new loss.
                if started > self.recovered_at:
                    self._mark_lost("receive", exc)
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
                    logger.exception("Event stream of user %s failed to take an event", consumer.user_id)

    def _mark_lost(self, operation: str, exc: Exception) -> None:
        if not self.lost:
            logger.error(
                "Event relay lost the channel layer (%s failed: %s); re-joining, clients will get a missed notice",
                operation,
                type(exc).__name__,
            )
        self.lost = True
        self.check_now.set()

    async def _watch_membership(self) -> None:
        group_expiry = float(getattr(self.layer, "group_expiry", 86400) or 86400)
        # Well before group_expiry, which would silently end delivery otherwise.
        interval = min(MEMBERSHIP_CHECK_INTERVAL, group_expiry / 4)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.check_now.wait(), interval)
            self.check_now.clear()
            await self._rejoin()
            if self.lost:
                # Still cut off: try again after a pause, not in a tight loop.
                await asyncio.sleep(RETRY_DELAY)

    async def _rejoin(self) -> None:
        """Join the group again; after a loss, tell every client that events may have been missed."""
        try:
            assert self.channel is not None, "the relay re-joins only after add() named its channel"
            joined_anew = await _join(self.layer, self.channel)
        except Exception as exc:
            self._mark_lost("join", exc)
            return
        if not (joined_anew or self.lost):
            return
        self.lost = False
        self.recovered_at = time.monotonic()
        # The numbering of every producer restarts: the notice covers the gap.
        self.last_seq.clear()
        _counters["rejoined"] += 1
        logger.warning(
            "Event relay re-joined the group (cut off from the channel layer, or its membership was gone); "
            "%d client(s) told events may have been missed",
            len(self.consumers),
        )
        for consumer in list(self.consumers):
            consumer.pending_missed = 0
            try:
                await consumer.send_json(MISSED_UNKNOWN)
            except Exception:
                logger.exception("Event stream of user %s failed to take a missed notice", consumer.user_id)

    def _note_sequence(self, origin: Any, events: list[dict[str, Any]]) -> None:
        if not isinstance(origin, str) or not events:
            return
        seqs = [seq for event in events if isinstance(seq := event.get("seq"), int)]
        if len(seqs) != len(events):
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

    # No channel of its own on the layer: events come from the process's
    # relay, in memory. A consumer that also read the layer had its socket
    # closed with 1011 the moment Redis went away.
    channel_layer_alias = None  # type: ignore[assignment]  # channels takes None (no layer); the stubs say str

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.credential = auth.credential_from_scope(self.scope)
        self.subscribed: frozenset[str] | None = None
        self.pending_missed = 0
        self.relay = _relay()
        await self.relay.add(self)
        await self.accept()
        self.auth_task = asyncio.ensure_future(self._recheck_auth_forever())

    async def disconnect(self, code: int) -> None:
        auth_task = getattr(self, "auth_task", None)
        if auth_task is not None and auth_task is not asyncio.current_task():
            auth_task.cancel()
        relay = getattr(self, "relay", None)
        if relay is not None:
            await relay.remove(self)

    async def _recheck_auth_forever(self) -> None:
        """Close the socket with 4401 once its token, session or user is no longer valid."""
        while True:
            # Read at each turn: tests (and operators) may change it.
            await asyncio.sleep(settings.SUBLARR_WS_AUTH_RECHECK_SECONDS)
            try:
                valid = await auth.still_authenticated(self.credential)
            except Exception as exc:
                # The database is unreachable: that revokes nothing; check again later.
                logger.warning("Could not re-check a WebSocket's credential: %s", type(exc).__name__)
                continue
            if not valid:
                logger.info(
                    "Closing the event stream of user %s: its %s is no longer valid", self.user_id, self.credential.kind
                )
                await self.relay.remove(self)
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return

    # --- client → server --------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self._error("Send text frames with a JSON object.")
            return
        if len(text_data) > MAX_REQUEST_CHARS:
            await self._error(f"Request too large: at most {MAX_REQUEST_CHARS} characters.")
            return
        try:
            content = jsonlimits.loads(text_data)
        except jsonlimits.JSONDepthError as exc:
            await self._error(f"{exc}.")
            return
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
        if len(names) > MAX_SUBSCRIBE_NAMES:
            await self._error(f'"events" may list at most {MAX_SUBSCRIBE_NAMES} names.')
            return
        # Bounded by the two checks above: the answer stays far below a
        # client's frame limit (1 MiB in `websockets`), whatever was sent.
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
