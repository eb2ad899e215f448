"""The doorbell of the outbox: a django-q2 task ``hooks.tasks.drain_events``, rung once for many events.

``ring`` enqueues the drain task unless one is already queued and not yet
started (a flag: ``SET NX EX`` beside the Redis broker's queue, or
``cache.add`` in the embedded profile). The producer rings from a thread of
its process (``ringer.request()``, after its outbox row commits); the drain
(``hooks.delivery.fanout.drain``) clears the flag first (``silence``) and rings
again while a burst lasts, for a second worker. Nothing depends on the
doorbell arriving: the event is in the database, and a worker's sweeper takes
events whose doorbell was lost.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import redis
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections

from events.bridge import redact

from .queue import broker, enqueue

logger = logging.getLogger(__name__)

DRAIN_TASK = "hooks.tasks.drain_events"
DOORBELL_KEY = "hooks:outbox:doorbell"
# A doorbell whose task never started (lost with a broker) stops muting new
# rings after this long.
DOORBELL_SECONDS = 10


def _on_redis() -> tuple[redis.Redis, str] | None:
    """The Redis broker's connection and the doorbell's key beside its queue; None on another broker."""
    current = broker()
    connection = getattr(current, "connection", None)
    return (connection, f"{current.list_key}:{DOORBELL_KEY}") if isinstance(connection, redis.Redis) else None


def try_set() -> bool:
    """Set the doorbell flag if it is not set; whether it was set now.

    On the Redis profile one ``SET NX EX`` on the broker's own connection
    (Django's RedisCache builds a client object on every call);
    otherwise Django's cache, shared by the machine's processes.
    """
    on_redis = _on_redis()
    if on_redis is not None:
        connection, key = on_redis
        return bool(connection.set(key, 1, nx=True, ex=DOORBELL_SECONDS))
    return cache.add(DOORBELL_KEY, 1, DOORBELL_SECONDS)


# A broker that is down: one line per kind of failure a minute, not a traceback per ring.
OUTAGE_LOG_INTERVAL = 60.0
_outage_logged: dict[str, float] = {}


def _log_failure(message: str, exc: Exception) -> None:
    if not isinstance(exc, redis.ConnectionError | redis.TimeoutError | DatabaseError):
        logger.warning(message, exc_info=exc)
        return
    now = time.monotonic()
    if now - _outage_logged.get(message, float("-inf")) < OUTAGE_LOG_INTERVAL:
        return
    _outage_logged[message] = now
    lines = str(exc).strip().splitlines()
    logger.warning("%s (%s: %s)", message, type(exc).__name__, redact(lines[0]) if lines else "")


def ring(*, force: bool = False) -> None:
    """Enqueue a drain task unless one is already queued and not yet started (``force``: in any case)."""
    try:
        if not force and not try_set():
            return
    except Exception as exc:
        _log_failure("Cannot read the outbox doorbell; enqueueing a drain anyway", exc)
    try:
        enqueue(DRAIN_TASK, task_name="hooks-drain")
    except Exception as exc:
        # The event is stored: a worker's sweeper takes it within SUBLARR_DELIVERY_SWEEP_SECONDS.
        _log_failure("Cannot enqueue the fan-out of pending events; the workers' sweep will take them", exc)
        silence()


class Ringer:
    """Rings the doorbell from a thread of this process, so the producer waits for one round trip (its INSERT).

    ``request`` wakes the thread; one ``ring`` then answers every request
    made before it started (a burst of events costs one doorbell check, not
    one each). Nothing depends on it: a process that dies between its INSERT
    and the ring leaves the event to a worker's sweep. Requests left at exit
    are rung before the process ends.
    """

    def __init__(self) -> None:
        self._reset()
        # A child forked while another thread held the lock must not inherit it held.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._requested = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        with self._lock:
            self._requested += 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="sublarr-outbox-ringer", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
            self._wake.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every request made so far has been rung; whether it was, within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._requested
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._pid != os.getpid():
                    return False
                self._wake.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._done >= self._requested:
                    self._wake.wait()
                answering = self._requested
            try:
                ring()
            except Exception:
                logger.exception("Ringing the outbox doorbell failed; the workers' sweep will take the events")
            finally:
                try:
                    close_old_connections()
                except Exception:
                    # A connection that cannot even be closed is dropped with the thread's next use;
                    # the thread must live on to answer the requests that wait on it (flush).
                    logger.debug("Closing the doorbell thread's database connection failed", exc_info=True)
            with self._lock:
                self._done = answering
                self._wake.notify_all()


ringer = Ringer()


def silence() -> None:
    try:
        on_redis = _on_redis()
        if on_redis is not None:
            connection, key = on_redis
            connection.delete(key)
        else:
            cache.delete(DOORBELL_KEY)
    except Exception as exc:
        _log_failure(f"Cannot clear the outbox doorbell; it expires within {DOORBELL_SECONDS} s", exc)
