"""The bridge: every catalog event goes to the channel-layer group ``events``.

The producer's path stays cheap: the receiver only appends the envelope to a
bounded in-memory buffer and sets a ``threading.Event``. One daemon thread per
process owns one long-lived event loop and drains the buffer into
``group_send`` — so channels_redis keeps one connection pool instead of
opening a connection per event (what ``async_to_sync(group_send)`` per call
does, ~2 ms each).

The wake-up is a ``threading.Event``, not ``loop.call_soon_threadsafe``: the
latter writes to a socket, which releases the GIL in the middle of the
producer's call and let the bridge thread's work (~0.5 ms per event with the
SQLite layer) land inside it — measured p50 570 µs per emit instead of ~40.

Nothing here ever raises into the producer. A full buffer or a failing layer
is logged and counted (``stats()``); a short-lived process (``manage.py
emit_event``, a shell) drains the buffer on exit, bounded by a timeout.

Every group message carries this process's ``origin`` id and a ``seq`` number
that increases by one per event, so a consumer can tell when the layer dropped
messages on the way (a full channel) — see ``events.consumers``.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import itertools
import json
import logging
import os
import re
import threading
import time
import uuid
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from .catalog import EVENT_CATALOG
from .types import Envelope

logger = logging.getLogger(__name__)

GROUP = "events"
# The consumer's handler method (events.consumers.EventStreamConsumer.event_message).
MESSAGE_TYPE = "event_message"
# Events buffered in this process while the layer is slow or down; past this
# the newest event is dropped (counted and logged) instead of growing memory.
MAX_PENDING = 10_000
# Events per group message, at most.
MAX_BATCH = 100
# While events keep coming, send at most one group message per this many
# seconds (the SQLite layer's polling interval). Every group message costs
# the layer a write and each server a read (two SQLite queries with the
# embedded layer, which delivers ~200 messages/s per server process here), so
# one message per event could not keep up with 200 events/s; batched it does.
BATCH_WINDOW = 0.02
EXIT_FLUSH_TIMEOUT = 5.0
# At most one log line per kind of failure per this many seconds.
LOG_INTERVAL = 10.0


class _Bridge:
    """One process's hand-over buffer and the thread that drains it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.origin = uuid.uuid4().hex
        self._seq = itertools.count(1)
        self._pending: collections.deque[Envelope] = collections.deque()
        self._batch: list[dict[str, Any]] = []
        self._busy = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._last_log: dict[str, float] = {}
        # "sent" and "failed" change only on the bridge thread; drops under a lock.
        self.counters = {"sent": 0, "dropped_full": 0, "failed": 0}

    # --- producer side (any thread) ---------------------------------------

    def submit(self, envelope: Envelope) -> None:
        if len(self._pending) >= MAX_PENDING:
            with self._lock:
                self.counters["dropped_full"] += 1
            self._log_rate_limited(
                "full",
                "Event bridge buffer full (%d pending): dropped event %s (%s); %d dropped so far",
                MAX_PENDING,
                envelope["event_name"],
                envelope["id"],
                self.counters["dropped_full"],
            )
            return
        self._pending.append(envelope)
        if self._thread is None:
            self._start()
        # Setting an Event does not release the GIL (see the module docstring).
        if not self._wake.is_set():
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="events-bridge", daemon=True)
            thread.start()
            self._thread = thread

    # --- the bridge thread --------------------------------------------------

    def _run(self) -> None:
        from channels.layers import get_channel_layer

        # The loop runs only while sending; between bursts the thread sleeps
        # on the Event. The loop, and the layer's connections bound to it, live
        # as long as the process.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        last_send = float("-inf")
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._pending:
                # Under a steady flow, gather for up to BATCH_WINDOW after the
                # previous send; a lone event goes at once.
                since = time.monotonic() - last_send
                if since < BATCH_WINDOW and len(self._pending) < MAX_BATCH:
                    time.sleep(BATCH_WINDOW - since)
                loop.run_until_complete(self._send_batch(get_channel_layer))
                last_send = time.monotonic()

    async def _send_batch(self, get_channel_layer: Any) -> None:
        # Whatever is pending, up to MAX_BATCH, goes as one group message: at a
        # low rate that is one event, under load one layer operation (a Redis
        # round trip, a SQLite write) carries many.
        # Busy before the first event leaves the buffer: flush() never sees
        # "nothing pending" while events are on their way.
        self._busy = True
        batch = self._batch
        while self._pending and len(batch) < MAX_BATCH:
            envelope = self._pending.popleft()
            # Numbered here, on the one thread that sends, so the numbers
            # follow the order in which events reach the layer.
            batch.append(
                {
                    "seq": next(self._seq),
                    "event_name": envelope["event_name"],
                    "id": envelope["id"],
                    "text": encode(envelope),
                }
            )
        message = {"type": MESSAGE_TYPE, "origin": self.origin, "events": batch}
        try:
            layer = get_channel_layer()
            if layer is None:
                raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
            try:
                await layer.group_send(GROUP, message)
            except RedisConnectionError:
                # A pooled connection the server closed (Redis restarted):
                # the next one is new. Once, at once; a Redis that is down
                # fails again and the batch is counted as failed below.
                await layer.group_send(GROUP, message)
        except Exception as exc:
            self.counters["failed"] += len(batch)
            # The exception's type and text only: no envelope data, no URLs.
            self._log_rate_limited(
                "failed",
                "Event bridge could not send %d event(s) (first: %s %s) to the channel layer: %s: %s; %d failed so far",
                len(batch),
                batch[0]["event_name"],
                batch[0]["id"],
                type(exc).__name__,
                redact(str(exc)),
                self.counters["failed"],
            )
        else:
            self.counters["sent"] += len(batch)
        finally:
            # A fresh list: the layer may still hold the one just sent (in-memory layer).
            self._batch = []
            self._busy = False
            with self._idle:
                self._idle.notify_all()

    # --- flushing -------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted has been handed to the layer; False on timeout."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    def _log_rate_limited(self, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last_log.get(kind, -LOG_INTERVAL) >= LOG_INTERVAL:
            self._last_log[kind] = now
            logger.error(message, *args)


def redact(text: str) -> str:
    """Cut credentials out of an error text (a Redis URL with a password, say), and cut it short."""
    return re.sub(r"(\w+://)[^@/\s]*@", r"\1***@", text)[:300]


_bridge: _Bridge | None = None
_bridge_lock = threading.Lock()


def _get_bridge() -> _Bridge:
    global _bridge
    current = _bridge
    if current is None:
        with _bridge_lock:
            current = _bridge
            if current is None:
                current = _bridge = _Bridge()
    return current


def _forget_after_fork() -> None:
    """In a forked child (django-q2 workers): a bridge of its own, not the parent's (whose thread did not follow).

    Instead of comparing ``os.getpid()`` on every event (a system call on the producer's path).
    """
    global _bridge, _bridge_lock
    _bridge = None
    _bridge_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def forward_event(sender: Any, envelope: Envelope, **kwargs: Any) -> None:
    """Signal receiver: hand the envelope to this process's bridge (never blocks, never raises)."""
    try:
        # The module global first: _get_bridge() is a call more on every event.
        (_bridge or _get_bridge()).submit(envelope)
    except Exception:  # pragma: no cover - defensive: the producer must never break
        logger.exception("Event bridge failed to accept event %s", envelope.get("id"))


def flush(timeout: float = EXIT_FLUSH_TIMEOUT) -> bool:
    """Block until this process's pending events reached the channel layer (or ``timeout``)."""
    current = _bridge
    if current is None or current.pid != os.getpid():
        return True
    return current.flush(timeout)


def stats() -> dict[str, Any]:
    """This process's bridge counters: submitted, sent, failed, dropped_full, pending.

    ``submitted`` = ``sent`` + ``failed`` + ``pending``: events accepted from
    producers; ``dropped_full`` were refused because the buffer was full.
    """
    current = _bridge
    if current is None or current.pid != os.getpid():
        return {"submitted": 0, "sent": 0, "failed": 0, "dropped_full": 0, "pending": 0}
    counters = dict(current.counters)
    pending = len(current._pending) + len(current._batch)
    return {
        "submitted": counters["sent"] + counters["failed"] + pending,
        "sent": counters["sent"],
        "failed": counters["failed"],
        "dropped_full": counters["dropped_full"],
        "pending": pending,
    }


# One encoder, built once: json.dumps with any argument builds a new one per call (~25 % of its time here).
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(envelope: Envelope) -> str:
    """The envelope as the JSON text a WebSocket client receives (``json.dumps(envelope, separators=(",", ":"))``)."""
    return _ENCODER.encode(envelope)


def _flush_at_exit() -> None:
    current = _bridge
    if current is None or current.pid != os.getpid():
        return
    if not current.flush(EXIT_FLUSH_TIMEOUT):
        logger.error(
            "Event bridge: %d event(s) not sent to the channel layer before exit (waited %.0f s)",
            len(current._pending) + len(current._batch),
            EXIT_FLUSH_TIMEOUT,
        )


def connect() -> None:
    """Connect the bridge to every catalog signal (called from EventsConfig.ready)."""
    for spec in EVENT_CATALOG.values():
        spec.signal.connect(forward_event, dispatch_uid=f"events.bridge.{spec.name}")
    # Drain at exit before concurrent.futures shuts its thread pools down (its
    # own threading-atexit hook): after that, asgiref's sync_to_async — which
    # the SQLite layer's ORM calls need — refuses new work. Hooks registered
    # here run in reverse order, so ours (registered later) runs first.
    register = getattr(threading, "_register_atexit", atexit.register)
    register(_flush_at_exit)
