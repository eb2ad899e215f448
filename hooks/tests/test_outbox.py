"""The outbox between producer and workers: batched fan-out, crash safety, lost doorbells, fallbacks."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, close_old_connections
from django.utils import timezone

import testsupport
from events import emit_event
from events.samples import sample_payload
from events.services import build_envelope, send_envelope
from hooks import delivery, doorbell, outbox, subscriptions
from hooks.delivery import fanout, holders, worker
from hooks.models import Delivery, HookLog, PendingEvent, WebhookConfig
from hooks.queue import broker
from hooks.tests.test_delivery_outcomes import FAST, receiver  # noqa: F401 - fixture


@pytest.fixture
def quiet(quiet_outbox):
    quiet_outbox.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return quiet_outbox


def rung() -> int:
    """Tasks waiting in the broker, once this process's doorbell ringer has caught up."""
    assert doorbell.ringer.flush()
    return broker().queue_size()


def subscribed(count: int = 1, event: str = "subtitle_downloaded") -> list[WebhookConfig]:
    hooks = [
        WebhookConfig.objects.create(name=f"w{i}", event_name=event, url=f"http://10.0.0.{i + 1}/")
        for i in range(count)
    ]
    subscriptions.subscriptions_changed()
    return hooks


def push(count: int) -> list[str]:
    envelopes = [build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded")) for _ in range(count)]
    for envelope in envelopes:
        send_envelope(envelope)
    return [envelope["id"] for envelope in envelopes]


@pytest.mark.django_db(transaction=True)
def test_fan_out_takes_events_in_batches_with_a_fixed_number_of_queries(quiet, django_assert_max_num_queries):
    subscribed(2)
    push(250)
    holders.claimant_id()  # this process's one-time WorkerProcess row: not a cost of each batch

    with django_assert_max_num_queries(13):  # the targets of an event: one query per target kind (three)
        taken, rows = delivery.fan_out_pending(limit=100)
    assert (taken, len(rows)) == (100, 200)
    assert delivery.fan_out_pending(limit=100)[0] == 100
    assert delivery.fan_out_pending(limit=100)[0] == 50
    assert delivery.fan_out_pending(limit=100) == (0, [])

    assert PendingEvent.objects.count() == 0
    assert Delivery.objects.count() == 500
    # Created claimed for their first attempt: no second write before they run.
    assert set(Delivery.objects.values_list("status", "attempts")) == {("running", 1)}
    assert Delivery.objects.filter(lease_expires_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_fan_out_that_fails_half_way_leaves_its_events_for_the_next(quiet, monkeypatch):
    subscribed(1)
    ids = push(5)

    create = fanout.deliveries_create_many

    def broken(**kwargs):
        create(**kwargs)  # the Delivery rows are written, then the disk fails
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(fanout, "deliveries_create_many", broken)  # read by fan_out_pending in hooks.delivery.fanout
    with pytest.raises(OperationalError):
        delivery.fan_out_pending()
    assert PendingEvent.objects.count() == 5
    assert Delivery.objects.count() == 0

    monkeypatch.undo()
    assert delivery.fan_out_pending()[0] == 5
    assert sorted(map(str, Delivery.objects.values_list("event_id", flat=True))) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_an_event_fanned_out_before_is_not_delivered_twice(quiet):
    subscribed(1)
    [event_id] = push(1)
    delivery.fan_out_pending()
    # The same event reaches the outbox again (a producer retried after a timeout).
    row = Delivery.objects.get()
    PendingEvent.objects.create(event_id=event_id, event_name="subtitle_downloaded", envelope=row.envelope)

    taken, rows = delivery.fan_out_pending()

    assert (taken, rows) == (1, [])  # the existing delivery is claimed by whoever runs it
    assert Delivery.objects.count() == 1
    assert PendingEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_fan_outs_take_disjoint_batches(quiet):
    subscribed(1)
    push(300)
    results: list[int] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            while taken := delivery.fan_out_pending(limit=20)[0]:
                results.append(taken)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(results) == 300
    assert Delivery.objects.count() == 300
    assert Delivery.objects.filter(status="running", attempts=1).count() == 300


@pytest.mark.django_db(transaction=True)
def test_the_drain_clears_the_doorbell_before_it_looks(quiet):
    subscribed(1)
    tasks = broker().queue_size()
    push(1)
    assert rung() == tasks + 1
    push(1)  # the doorbell is up: no second drain task
    assert rung() == tasks + 1

    doorbell.silence()  # what a drain does first
    push(1)

    assert rung() == tasks + 2


@pytest.mark.django_db(transaction=True)
def test_an_event_the_outbox_cannot_store_is_enqueued_whole(quiet, monkeypatch):
    subscribed(1)
    tasks = broker().queue_size()

    def broken(row):
        raise OperationalError("database is locked")

    monkeypatch.setattr(outbox, "insert", broken)
    send_envelope(build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded")))

    assert PendingEvent.objects.count() == 0
    assert rung() == tasks + 1
    [task] = [t for t in _queued_tasks() if t["func"] == outbox.DELIVER_TASK]
    assert task["args"][0]["event_name"] == "subtitle_downloaded"


@pytest.mark.django_db(transaction=True)
def test_a_drain_waits_while_its_process_holds_too_many_deliveries(quiet, monkeypatch):
    subscribed(1)
    push(5)
    held = delivery.Dispatcher()  # not started: no threads; jobs handed to it are only recorded
    submitted: list = []
    monkeypatch.setattr(held, "submit", lambda jobs: submitted.extend(jobs))
    monkeypatch.setattr(worker, "dispatcher", lambda: held)  # the drain looks it up on hooks.delivery.worker
    monkeypatch.setattr(fanout, "MAX_BACKLOG", 3)
    held._known.update({-1, -2, -3})  # three deliveries in hand: full
    tasks = rung()

    assert fanout.drain(max_seconds=0.2) == 0
    assert PendingEvent.objects.count() == 5
    assert rung() == tasks + 1  # events are left: another drain is rung

    held._known.clear()
    assert fanout.drain(max_seconds=5) == 5
    assert len(submitted) == 5
    assert PendingEvent.objects.count() == 0


def _queued_tasks() -> list[dict]:
    from django_q.signing import SignedPackage

    b = broker()
    if hasattr(b, "connection") and hasattr(b.connection, "lrange"):
        return [SignedPackage.loads(raw) for raw in b.connection.lrange(b.list_key, 0, -1)]
    from django_q.models import OrmQ

    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]


@pytest.mark.slow
def test_events_whose_doorbell_was_lost_are_delivered_by_the_workers_sweep(start_worker, receiver, quiet):  # noqa: F811
    # Events stored while every worker was down, their drain tasks lost with the broker.
    WebhookConfig.objects.create(name="r", event_name="subtitle_downloaded", url=receiver.url("/r"))
    envelopes = [build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded")) for _ in range(3)]
    PendingEvent.objects.bulk_create(
        PendingEvent(event_id=e["id"], event_name=e["event_name"], envelope=e) for e in envelopes
    )
    broker().purge_queue()

    start_worker(**FAST)
    testsupport.wait_for(lambda: len(receiver.to("/r")) == 3, timeout=30, message="the waiting events delivered")

    # An event pushed later whose doorbell is muted (a drain task lost in flight) waits for the sweep, no longer.
    doorbell.try_set()
    late = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    PendingEvent.objects.filter(event_id=late["id"]).update(
        created_at=timezone.now() - timedelta(seconds=fanout.STALE_SECONDS)
    )
    testsupport.wait_for(lambda: len(receiver.to("/r")) == 4, timeout=30, message="the stale event delivered")

    ids = {s.headers["Webhook-Id"] for s in receiver.to("/r")}
    assert ids == {e["id"] for e in envelopes} | {late["id"]}
    testsupport.wait_for(lambda: HookLog.objects.filter(success=True).count() == 4, timeout=10, message="logged")
    assert PendingEvent.objects.count() == 0


def test_the_ringer_starts_afresh_in_a_forked_child():
    ringer = doorbell.Ringer()
    ringer._lock.acquire()  # another thread holds it at the moment of the fork
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        try:
            locked = ringer._lock.locked()
            os._exit(1 if locked else 0)
        except BaseException:
            os._exit(2)
    ringer._lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_ringer_lives_on_when_its_connection_cannot_be_closed(monkeypatch):
    """A database going away under the thread (a test run's teardown, an outage) must not kill it mid-answer."""
    rings = []
    monkeypatch.setattr(doorbell, "ring", lambda **_: rings.append(1))

    def broken():
        raise OperationalError("the database went away")

    monkeypatch.setattr(doorbell, "close_old_connections", broken)
    ringer = doorbell.Ringer()
    ringer.request()
    assert ringer.flush(timeout=5)
    ringer.request()
    assert ringer.flush(timeout=5)
    assert len(rings) >= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("linger", [0.0, 0.5])
def test_the_writer_waits_for_more_outcomes_to_record_them_together(quiet, receiver, monkeypatch, linger):  # noqa: F811
    # One attempt at a time (per-target limit 1), each answered after 30 ms:
    # outcomes come one by one. A transaction per outcome costs about a
    # millisecond of CPU; while attempts are under way the writer waits (up
    # to LINGER_SECONDS) to record more at once.
    quiet.SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY = 1
    receiver.script["/r"] = [0.03]
    WebhookConfig.objects.create(name="r", event_name="subtitle_downloaded", url=receiver.url("/r"))
    subscriptions.subscriptions_changed()
    push(10)
    batches: list[int] = []
    record = worker.deliveries_record

    def counted(*, outcomes):
        batches.append(len(outcomes))
        return record(outcomes=outcomes)

    monkeypatch.setattr(worker, "deliveries_record", counted)  # the writer's, looked up on hooks.delivery.worker
    dispatcher = delivery.Dispatcher()
    monkeypatch.setattr(dispatcher, "LINGER_SECONDS", linger)
    dispatcher.start()
    try:
        taken, rows = delivery.fan_out_pending()
        assert dispatcher.submit(delivery.Job.of(row) for row in rows) == taken == 10
        testsupport.wait_for(lambda: HookLog.objects.filter(success=True).count() == 10, timeout=30)
    finally:
        dispatcher.close()
    assert sum(batches) == 10
    if linger:
        assert len(batches) <= 2, batches
    else:
        assert len(batches) >= 7, batches  # the same attempts, recorded as they come
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_lives_on_when_its_connection_cannot_be_closed(quiet, monkeypatch):
    """A database going away under the sweeper (an outage, a test run's teardown) must not end its sweeps."""
    sweeps = []

    def broken():
        raise OperationalError("the database went away")

    def sweep() -> float:
        sweeps.append(1)
        return 0.01  # look again in 10 ms

    monkeypatch.setattr(worker, "close_old_connections", broken)
    dispatcher = delivery.Dispatcher()
    monkeypatch.setattr(dispatcher, "sweep", sweep)
    dispatcher.start()
    try:
        testsupport.wait_for(lambda: len(sweeps) >= 3, timeout=10)
    finally:
        dispatcher.close()
