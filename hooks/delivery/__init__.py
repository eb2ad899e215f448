"""Durable delivery of events to script hooks and webhooks (DESIGN.md §2, §4).

The unit of work is a ``Delivery`` row: one per (event, hook or webhook),
created by the worker-side fan-out of events waiting in the outbox
(``fan_out_pending``, many events per transaction; see ``hooks.outbox``). An
attempt:

1. holds a claim on the row — a lease longer than the attempt can take, so
   two workers never run the same attempt. First attempts are created
   already claimed by the fan-out; a retry (``pending`` and due) or an
   orphan (``running`` with an expired lease: its worker died) is claimed
   with a conditional UPDATE;
2. runs the transport (``hooks.transports.webhook`` or ``.script``);
3. records the outcome (``deliveries_record``), in one transaction: a HookLog
   row, the row moved to succeeded / failed / pending-with-``next_attempt_at``
   (the retry lives in the database, not in a sleeping worker), the target's
   stats, auto-disable (410, or ``SUBLARR_WEBHOOK_DISABLE_AFTER`` failed
   deliveries in a row), and ``hook_executed`` for a final outcome, sent on
   commit.

Each worker process runs a ``Dispatcher``: a bounded thread pool for the
attempts (at most ``SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY`` at once per hook
or webhook, so a hanging receiver cannot take every slot), one writer thread
that records outcomes as they come — many per transaction under load (group
commit; while attempts are under way a small batch waits up to 20 ms for
more) — and a sweeper thread that picks up due retries, expired leases and outbox
events whose drain task was lost.
The sweeper sleeps until the next due time it knows of, at most
``SUBLARR_DELIVERY_SWEEP_SECONDS``, and starts with every worker process
(django-q2's ``post_spawn``), so work that fell due while every process was
down runs as soon as a worker is back. Delivery is at-least-once: an attempt
cut short by a crash (before its outcome was committed) runs again, with the
same ``webhook-id``, as soon as a sweeper knows its worker is dead
(``holders``: worker heartbeats, and on the same machine the process being
gone), at the latest once its lease expires.

The package, in the order the data flows (each module imports only the
ones after it, an import-linter contract): ``fanout`` (``drain``, the Delivery
rows of each event, ``fan_out_pending``) → ``worker`` (``Dispatcher``,
``dispatcher()``, the due-work queries, ``delivery_attempt``) → ``attempts``
(``Job``, the claim, the transport call, one attempt) → ``record``
(``Outcome``, ``deliveries_record``, the stats, auto-disable). Below them:
``targets`` (what the pipeline knows of a target: key, lease, attempt budget,
skip reason) and ``holders`` (who holds a claim, worker heartbeats, taking
over a dead worker's claims). Beside the chain, ``manual`` (test runs,
redelivery, purge). The targets of an event and their cache live in
``hooks.subscriptions``. Other code imports the names below from
``hooks.delivery``; module state (this process's dispatcher) and constants
are read from the submodule that holds them.
"""

from __future__ import annotations

from .attempts import Job, retry_delay
from .fanout import deliveries_create, deliveries_create_many, drain, fan_out_pending
from .manual import (
    RedeliveryError,
    deliveries_purge,
    delivery_redeliver,
    redeliver_log,
    redeliver_target,
    run_test,
)
from .record import Outcome, deliveries_record
from .targets import lease_seconds
from .worker import Dispatcher, delivery_attempt, dispatcher, due_deliveries, next_due_at

__all__ = [
    "Dispatcher",
    "Job",
    "Outcome",
    "RedeliveryError",
    "deliveries_create",
    "deliveries_create_many",
    "deliveries_purge",
    "deliveries_record",
    "delivery_attempt",
    "delivery_redeliver",
    "dispatcher",
    "drain",
    "due_deliveries",
    "fan_out_pending",
    "lease_seconds",
    "next_due_at",
    "redeliver_log",
    "redeliver_target",
    "retry_delay",
    "run_test",
]
