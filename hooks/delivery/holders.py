"""Who holds a claimed delivery, and whether that process is still alive (worker heartbeats).

Every process that claims deliveries has an id (``process_id``), written on
each claim as ``Delivery.holder``. A queue-worker process beats: its sweeper
updates its ``WorkerProcess`` row every SUBLARR_WORKER_HEARTBEAT_SECONDS. Any
sweeper then hands on, at once, the claims of a holder that is dead:

* one in the same pid space (same boot, same pid namespace: the same machine
  or container) whose process is gone — certain, so found on the next sweep;
* one elsewhere whose last beat is older than 3 beats.

A holder in the same pid space whose process is still there is never taken
for dead, however late its beats (it may be stalled, its attempt still
running): only its lease, as before, hands its claims on. Handing a claim on
is one conditional UPDATE that expires its lease (status running, that
holder), so the usual claim of an expired lease — itself conditional — lets
exactly one process take it. A holder that comes back records nothing over
the attempt that replaced its own (``deliveries_record`` matches the holder
and the lease).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from ..models import Delivery, WorkerProcess

logger = logging.getLogger(__name__)

STALE_BEATS = 3

_identity_lock = threading.Lock()
_identity: tuple[int, uuid.UUID] | None = None
_registered_lock = threading.Lock()
# The pid whose WorkerProcess row claimant_id has written (a forked child writes its own).
registered_pid: int | None = None


def process_id() -> uuid.UUID:
    """This process's holder id (a new one after fork)."""
    global _identity
    current = _identity
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _identity_lock:
        if _identity is None or _identity[0] != os.getpid():
            _identity = (os.getpid(), uuid.uuid4())
        return _identity[1]


def claimant_id() -> uuid.UUID:
    """This process's holder id, for a claim: its ``WorkerProcess`` row is written first (once per process).

    A claim written before the process's first beat would name a holder no
    sweeper knows: if the process died before beating, its claims would wait
    out their leases instead of being handed on at once.
    """
    global registered_pid
    me = process_id()
    if registered_pid != os.getpid():
        with _registered_lock:
            if registered_pid != os.getpid():
                beat()
                registered_pid = os.getpid()
    return me


def heartbeat_seconds() -> float:
    return float(settings.SUBLARR_WORKER_HEARTBEAT_SECONDS)


def pid_space() -> str:
    """This boot and pid namespace: processes sharing it see each other's pids ("" when unknown)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}:{namespace}"


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot), or None if there is no such live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The name in parentheses may hold spaces and parentheses: split after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie or dead process is no holder
        return None
    return int(fields[19])


def beat() -> None:
    """Record that this process is alive (its row created on the first beat, or again if taken for dead)."""
    me = process_id()
    now = timezone.now()
    if WorkerProcess.objects.filter(pk=me).update(last_beat_at=now):
        return
    try:
        WorkerProcess.objects.create(
            id=me,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            pid_space=pid_space(),
            start_ticks=start_ticks(os.getpid()),
            started_at=now,
            last_beat_at=now,
        )
    except IntegrityError:  # another thread of this process wrote it first
        WorkerProcess.objects.filter(pk=me).update(last_beat_at=now)


def _gone(worker: WorkerProcess) -> bool:
    """Whether a holder of this pid space no longer runs (its pid gone, or now another process)."""
    ticks = start_ticks(worker.pid)
    return ticks is None or (worker.start_ticks is not None and ticks != worker.start_ticks)


def claims_take_over() -> int:
    """Expire the leases of claims whose holder is dead, and forget dead holders; return the claims handed on."""
    now = timezone.now()
    here = pid_space()
    me = process_id()
    neighbours = WorkerProcess.objects.filter(pid_space=here).exclude(pk=me) if here else WorkerProcess.objects.none()
    gone = [w.pk for w in neighbours.only("pk", "pid", "start_ticks") if _gone(w)]
    cutoff = now - timedelta(seconds=STALE_BEATS * heartbeat_seconds())
    # Elsewhere (or where the pid space is unknown): dead once its beats stop.
    stale = WorkerProcess.objects.filter(last_beat_at__lt=cutoff).exclude(pk=me)
    if here:
        stale = stale.exclude(pid_space=here)
    dead_holders = Q(holder__in=gone) | Q(holder__in=stale.values("pk"))
    handed_on = Delivery.objects.filter(dead_holders, status=Delivery.Status.RUNNING, lease_expires_at__gt=now).update(
        lease_expires_at=now, updated_at=now
    )
    if handed_on:
        logger.warning("Handed on %d deliveries claimed by dead worker processes", handed_on)
    WorkerProcess.objects.filter(Q(pk__in=gone) | Q(pk__in=stale.values("pk"))).delete()
    return handed_on


def retire() -> None:
    """A clean stop: hand on whatever this process still holds at once, and forget it."""
    now = timezone.now()
    me = process_id()
    Delivery.objects.filter(status=Delivery.Status.RUNNING, holder=me).update(lease_expires_at=now, updated_at=now)
    WorkerProcess.objects.filter(pk=me).delete()
