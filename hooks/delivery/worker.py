"""The per-process dispatcher: a bounded thread pool for attempts, a writer thread, a sweeper thread.

The sweeper also takes outbox events whose doorbell was lost: with the drain
of ``hooks.delivery.fanout``, which comes before this module in the chain and
is handed in (``install``, from ``HooksConfig.ready``) rather than imported.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Min, Q
from django.utils import timezone

from ..models import Delivery
from . import holders
from .attempts import ROW_FIELDS, Job, Row, attempt
from .record import Outcome, deliveries_record

logger = logging.getLogger(__name__)

# The fan-out's drain: ``drain(max_seconds=..., stale_only=...) -> events taken``.
Drain = Callable[..., int]


def _close_connections() -> None:
    """``close_old_connections()`` for the dispatcher's threads, which must outlive a database that went away.

    A connection that cannot even be closed (the server gone, a test run's
    teardown) is dropped with the thread's next use; an exception here would
    end the sweeper (no more retries in this process) or the writer (no more
    outcomes recorded).
    """
    try:
        close_old_connections()
    except Exception:
        logger.debug("Closing a delivery thread's database connection failed", exc_info=True)


def due_deliveries(*, limit: int = 500) -> list[Row]:
    """Deliveries that may be claimed now: pending and due, or running with an expired lease."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.RUNNING, lease_expires_at__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list(*ROW_FIELDS)[:limit]
    )


def next_due_at() -> datetime | None:
    """The earliest future time at which some delivery becomes claimable."""
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(t=Min("next_attempt_at"))["t"]
    leased = Delivery.objects.filter(status=Delivery.Status.RUNNING).aggregate(t=Min("lease_expires_at"))["t"]
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


class Dispatcher:
    """Runs delivery attempts in a bounded thread pool; a sweeper thread finds due work.

    At most ``SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY`` attempts per hook or
    webhook run at once in this process; the rest wait in that target's queue
    here. First attempts were claimed by the fan-out (if this process dies
    they run elsewhere once the lease expires); retries the sweeper found are
    claimed when they start, so another process may take them meanwhile.
    """

    MIN_SWEEP_GAP = 0.05
    MAX_BATCH = 200
    # The writer waits this long for more outcomes while its batch is smaller than LINGER_BELOW.
    LINGER_SECONDS = 0.02
    LINGER_BELOW = 50
    SWEEP_DRAIN_SECONDS = 5.0

    def __init__(self, *, drain: Drain | None = None) -> None:
        self.pid = os.getpid()
        self._drain = drain
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._executor = ThreadPoolExecutor(
            max_workers=int(settings.SUBLARR_DELIVERY_CONCURRENCY), thread_name_prefix="sublarr-delivery"
        )
        self._known: set[int] = set()
        self._running: Counter[tuple[str, int]] = Counter()
        self._waiting: dict[tuple[str, int], deque[Job]] = {}
        self._wake = threading.Event()
        self._wake_at: datetime | None = None
        self._sweeper: threading.Thread | None = None
        self._results: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._swept = False
        self._next_beat = 0.0

    def start(self) -> None:
        """Start the sweeper and the writer threads (once); flush on process exit."""
        with self._lock:
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep_forever, name="sublarr-sweeper", daemon=True)
                self._sweeper.start()
                self._writer = threading.Thread(target=self._write_forever, name="sublarr-writer", daemon=True)
                self._writer.start()
                # django-q2 workers are multiprocessing children: they run
                # multiprocessing finalizers at exit, not atexit handlers.
                multiprocessing.util.Finalize(self, self.close, exitpriority=10)
                atexit.register(self.close)

    def close(self) -> None:
        """Finish the attempts under way and record every outcome (process exit, recycled worker); stop sweeping."""
        if self._closed or self.pid != os.getpid():
            return
        self._closed = True
        self._wake.set()  # the sweeper ends after the sweep under way
        self._executor.shutdown(wait=True)
        self._results.put(None)
        if self._writer is not None:
            self._writer.join(timeout=30)
        if self._sweeper is not None:
            try:
                holders.retire()
            except Exception:
                logger.exception("Could not hand on this worker's claims at exit; they wait for their leases")

    def submit(self, jobs: Iterable[Job]) -> int:
        """Run these deliveries here, each target's in order, at most N per target at once.

        Jobs over a target's limit wait in its queue here; claimed ones keep
        their lease (renewed when they start if they waited long).
        """
        cap = int(settings.SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY)
        accepted = 0
        with self._lock:
            for job in jobs:
                if job.delivery_id in self._known:
                    continue
                self._known.add(job.delivery_id)
                accepted += 1
                if self._running[job.target] < cap:
                    self._running[job.target] += 1
                    self._executor.submit(self._run, job)
                else:
                    self._waiting.setdefault(job.target, deque()).append(job)
        return accepted

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until fewer than ``limit`` deliveries are in hand (at most ``timeout`` s); whether they are."""
        deadline = time.monotonic() + timeout
        with self._room:
            while len(self._known) >= limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._room.wait(remaining)
        return True

    def wake_at(self, when: datetime | None = None) -> None:
        """Make the sweeper look for due work at ``when`` (now by default)."""
        with self._lock:
            if when is None or self._wake_at is None or when < self._wake_at:
                self._wake_at = when
        self._wake.set()

    def _run(self, job: Job) -> None:
        while True:
            try:
                outcome = attempt(job.delivery_id, job.lease_seconds, job.preloaded, claimed_already=job.claimed)
                if outcome is not None:
                    self._results.put(outcome)
            except Exception:
                # The row keeps its lease and is retried when it expires.
                logger.exception("Delivery %s: attempt failed unexpectedly", job.delivery_id)
                _close_connections()
            with self._lock:
                self._known.discard(job.delivery_id)
                self._room.notify_all()
                waiting = self._waiting.get(job.target)
                if not waiting:
                    self._waiting.pop(job.target, None)
                    self._running[job.target] -= 1
                    if self._running[job.target] <= 0:
                        del self._running[job.target]
                    return
                job = waiting.popleft()

    def _write_forever(self) -> None:
        """Record outcomes as they come, many per transaction when they come fast (group commit).

        While attempts are under way here, a small batch waits up to
        ``LINGER_SECONDS`` for more outcomes: a transaction's fixed cost
        (about a millisecond of CPU) is shared by more rows. The deliveries
        are made already; only their log rows and stats wait.
        """
        while True:
            first = self._results.get()
            batch = [first] if first is not None else []
            linger_until = time.monotonic() + self.LINGER_SECONDS
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    wait = linger_until - time.monotonic()
                    if first is None or len(batch) >= self.LINGER_BELOW or wait <= 0 or not self._attempts_running():
                        break
                    try:
                        item = self._results.get(timeout=wait)
                    except queue.Empty:
                        break
                if item is None:
                    first = None
                    break
                batch.append(item)
            if batch:
                self._record(batch)
            if first is None:
                return

    def _attempts_running(self) -> bool:
        """Whether attempts are in hand here (more outcomes are coming)."""
        with self._lock:
            return bool(self._running)

    def _record(self, batch: list[Outcome]) -> None:
        try:
            self._retry_at(deliveries_record(outcomes=batch))
            return
        except Exception:
            logger.exception("Recording %d delivery outcomes failed; recording them one by one", len(batch))
            _close_connections()
        for outcome in batch:
            try:
                self._retry_at(deliveries_record(outcomes=[outcome]))
            except Exception:
                # The row stays claimed: it runs again when its lease expires.
                logger.exception("Recording the outcome of delivery %s failed", outcome.delivery.pk)
                _close_connections()

    def _retry_at(self, when: datetime | None) -> None:
        """A retry was just scheduled: do not wait for the next sweep to run it."""
        if when is not None:
            self.wake_at(when)

    def beat(self) -> None:
        """Every SUBLARR_WORKER_HEARTBEAT_SECONDS: say this process is alive, hand on the claims of dead ones."""
        now = time.monotonic()
        if now < self._next_beat:
            return
        self._next_beat = now + holders.heartbeat_seconds()
        holders.beat()
        holders.claims_take_over()

    def sweep(self) -> float:
        """Submit due deliveries and stale outbox events; return seconds until the sweeper should look again."""
        self.beat()
        self.submit(Job.from_row(row) for row in due_deliveries())
        if self._drain is not None:
            # The first sweep of a process takes every waiting event (left over from
            # a stop); later ones only events whose drain task was lost.
            self._drain(max_seconds=self.SWEEP_DRAIN_SECONDS, stale_only=self._swept)
        self._swept = True
        interval = min(float(settings.SUBLARR_DELIVERY_SWEEP_SECONDS), holders.heartbeat_seconds())
        upcoming = next_due_at()
        with self._lock:
            if self._wake_at is not None and (upcoming is None or self._wake_at < upcoming):
                upcoming = self._wake_at
            self._wake_at = None
        if upcoming is None:
            return interval
        return min(interval, max(self.MIN_SWEEP_GAP, (upcoming - timezone.now()).total_seconds()))

    def _sweep_forever(self) -> None:
        while not self._closed:
            try:
                wait = self.sweep()
            except Exception:
                logger.exception("Delivery sweep failed; trying again shortly")
                wait = 1.0
            finally:
                _close_connections()
            if self._wake.wait(wait):
                self._wake.clear()
                # Coalesce bursts of wake-ups into one query.
                time.sleep(self.MIN_SWEEP_GAP)


_dispatcher: Dispatcher | None = None
_dispatcher_lock = threading.Lock()
_drain: Drain | None = None


def install(*, drain: Drain) -> None:
    """Hand the sweeper of every dispatcher of this process the fan-out's drain (called by HooksConfig.ready)."""
    global _drain
    _drain = drain


def running_dispatcher() -> Dispatcher | None:
    """This process's dispatcher if it has one (none is started)."""
    found = _dispatcher
    return found if found is not None and found.pid == os.getpid() else None


def dispatcher_stop() -> None:
    """Close this process's dispatcher, if it has one (``Dispatcher.close``); the next use starts a new one."""
    global _dispatcher
    with _dispatcher_lock:
        current, _dispatcher = _dispatcher, None
    if current is not None and current.pid == os.getpid():
        current.close()


def dispatcher() -> Dispatcher:
    """This process's dispatcher, created (and its sweeper started) on first use."""
    global _dispatcher
    current = _dispatcher
    if current is None or current.pid != os.getpid():
        with _dispatcher_lock:
            if _dispatcher is None or _dispatcher.pid != os.getpid():
                _dispatcher = Dispatcher(drain=_drain)
                _dispatcher.start()
            current = _dispatcher
    return current


def delivery_attempt(
    *, delivery_id: int, lease_seconds: float | None = None, preloaded: Delivery | None = None
) -> str | None:
    """Make and record one attempt of a due delivery now; return its new status, or None if it was not ours."""
    outcome = attempt(delivery_id, lease_seconds, preloaded)
    if outcome is None:
        return None
    retry_at = deliveries_record(outcomes=[outcome])
    running = running_dispatcher()
    if running is not None and retry_at is not None:
        running.wake_at(retry_at)
    return outcome.status
