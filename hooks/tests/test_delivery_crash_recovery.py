"""A delivery cut short by a dead worker is taken over as soon as the death is known, never while it may still run."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import testsupport
from events import emit_event
from events.samples import sample_payload
from events.services import build_envelope
from hooks import delivery
from hooks.delivery import attempts, holders
from hooks.models import Delivery, HookLog, WebhookConfig, WorkerProcess

# Workers beat every second; the lease stays the default (2 x timeout + 60 s grace).
ENV = {"SUBLARR_DELIVERY_SWEEP_SECONDS": "1", "SUBLARR_WORKER_HEARTBEAT_SECONDS": "1"}
TIMEOUT = 60  # → a lease of 180 s: what the old mechanism waited before running the attempt again
DEADLINE = 60  # generous, and far shorter than that lease


@dataclass
class HoldingReceiver:
    """Holds the first request until released; answers the others at once. Records when each started and ended."""

    server: HTTPServer
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, float, float]] = field(default_factory=list)
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/held") -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def handle(self, request: Request) -> Response:
        began = time.monotonic()
        with self.lock:
            self.started += 1
            first = self.started == 1
        if first:
            self.release.wait(timeout=300)
        with self.lock:
            self.calls.append((request.headers["webhook-id"], began, time.monotonic()))
        return Response("", status=204)


@pytest.fixture
def holding():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    receiver = HoldingReceiver(server)
    server.expect_request(re.compile(".*")).respond_with_handler(receiver.handle)
    yield receiver
    receiver.release.set()
    server.clear()
    if server.is_running():
        server.stop()


@pytest.mark.slow
def test_a_delivery_cut_short_by_a_killed_worker_is_taken_over_long_before_its_lease_expires(start_worker, holding):
    webhook = WebhookConfig.objects.create(
        name="held", event_name="subtitle_downloaded", url=holding.url(), timeout_seconds=TIMEOUT
    )
    doomed = start_worker("doomed", **ENV)
    envelope = emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    testsupport.wait_for(lambda: holding.started == 1, timeout=60, message="the first attempt in flight")
    held = Delivery.objects.get(webhook=webhook)
    assert held.status == "running"
    assert held.holder is not None
    assert held.lease_expires_at is not None
    assert held.lease_expires_at - timezone.now() > timedelta(seconds=DEADLINE + 30)

    doomed.kill()
    doomed.popen.wait(timeout=10)
    holding.release.set()  # the receiver ends the request the dead worker left open
    # Two clusters (two worker processes each) race to take the claim over.
    first, second = start_worker("first", **ENV), start_worker("second", **ENV)

    try:
        done = testsupport.wait_for(
            lambda: Delivery.objects.filter(webhook=webhook, status="succeeded").first(),
            timeout=DEADLINE,
            message="the attempt to run again before the old lease would have expired",
        )
    except AssertionError as timed_out:
        state = Delivery.objects.filter(webhook=webhook).values().first()
        workers = list(WorkerProcess.objects.values())
        logs = "\n".join(f"--- {w.log_path.name}\n{w.log()[-4000:]}" for w in (doomed, first, second))
        raise AssertionError(f"{timed_out}\ndelivery: {state}\nworker processes: {workers}\n{logs}") from None
    assert done.attempts == 1  # the attempt cut short was never logged: the same attempt ran again
    assert done.holder is None
    assert [c[0] for c in holding.calls] == [envelope["id"], envelope["id"]]
    intervals = sorted((began, ended) for _, began, ended in holding.calls)
    assert intervals[0][1] <= intervals[1][0], "two attempts of one delivery ran at once"
    assert list(HookLog.objects.filter(webhook=webhook).values_list("attempt", "status_code", "success")) == [
        (1, 204, True)
    ]
    # The dead worker's processes were forgotten; every row left is a live process.
    assert all(holders.start_ticks(pid) is not None for pid in WorkerProcess.objects.values_list("pid", flat=True))


@pytest.mark.slow
def test_a_holder_elsewhere_keeps_its_claim_while_it_beats_and_loses_it_once_its_beats_stop(start_worker, holding):
    holding.release.set()
    WebhookConfig.objects.create(
        name="elsewhere", event_name="subtitle_downloaded", url=holding.url(), timeout_seconds=TIMEOUT
    )
    elsewhere = WorkerProcess.objects.create(
        id=uuid.uuid4(), host="another-machine", pid=4242, pid_space="another-boot:4026531836", start_ticks=1
    )
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery.deliveries_create(envelope=envelope, claim=True)
    Delivery.objects.filter(pk=row.pk).update(holder=elsewhere.pk)
    # It beats like a live worker on another machine (every 0.3 s; stale after 3 s).
    stop_beating = threading.Event()

    def beat() -> None:
        try:
            while not stop_beating.wait(0.3):
                WorkerProcess.objects.filter(pk=elsewhere.pk).update(last_beat_at=timezone.now())
        finally:
            connection.close()

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        start_worker("here", **ENV)
        testsupport.wait_for(
            lambda: WorkerProcess.objects.exclude(pk=elsewhere.pk).count() >= 2,
            timeout=60,
            message="the worker processes' first beats",
        )
        time.sleep(4)  # several beats and sweeps of every worker process
        assert Delivery.objects.get(pk=row.pk).holder == elsewhere.pk
        assert holding.calls == []
    finally:
        stop_beating.set()
        beater.join()

    # Its beats stop (it died): the claim is taken over.
    done = testsupport.wait_for(
        lambda: Delivery.objects.filter(pk=row.pk, status="succeeded").first(),
        timeout=DEADLINE,
        message="the claim of a holder whose beats stopped to be taken over",
    )
    assert done.attempts == 1
    assert [c[0] for c in holding.calls] == [envelope["id"]]
    assert not WorkerProcess.objects.filter(pk=elsewhere.pk).exists()


# --- The rules, in this process --------------------------------------------


def _claimed_by(holder: WorkerProcess, httpserver) -> Delivery:
    WebhookConfig.objects.create(
        name="w", event_name="subtitle_downloaded", url=httpserver.url_for("/hook"), timeout_seconds=TIMEOUT
    )
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery.deliveries_create(envelope=envelope, claim=True)
    Delivery.objects.filter(pk=row.pk).update(holder=holder.pk)
    return Delivery.objects.get(pk=row.pk)


def _neighbour(pid: int, *, ticks: int | None, beat_ago: timedelta) -> WorkerProcess:
    return WorkerProcess.objects.create(
        id=uuid.uuid4(),
        host="here",
        pid=pid,
        pid_space=holders.pid_space(),
        start_ticks=ticks,
        last_beat_at=timezone.now() - beat_ago,
    )


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.django_db
def test_a_live_process_on_this_machine_is_never_taken_for_dead_however_late_its_beats(httpserver):
    stalled = _neighbour(os.getpid(), ticks=holders.start_ticks(os.getpid()), beat_ago=timedelta(hours=1))
    row = _claimed_by(stalled, httpserver)

    assert holders.claims_take_over() == 0

    after = Delivery.objects.get(pk=row.pk)
    assert (after.holder, after.lease_expires_at) == (stalled.pk, row.lease_expires_at)
    assert WorkerProcess.objects.filter(pk=stalled.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["exited", "pid reused"])
def test_a_process_of_this_machine_that_is_gone_is_taken_over_at_once_though_it_just_beat(httpserver, case):
    if case == "exited":
        gone = _neighbour(_dead_pid(), ticks=None, beat_ago=timedelta(0))
    else:
        ticks = holders.start_ticks(os.getpid())
        assert ticks is not None
        gone = _neighbour(os.getpid(), ticks=ticks - 1, beat_ago=timedelta(0))
    row = _claimed_by(gone, httpserver)

    assert holders.claims_take_over() == 1

    after = Delivery.objects.get(pk=row.pk)
    assert after.status == "running"
    assert after.lease_expires_at is not None
    assert after.lease_expires_at <= timezone.now()
    assert after.pk in {r[0] for r in delivery.due_deliveries()}
    assert not WorkerProcess.objects.filter(pk=gone.pk).exists()


@pytest.mark.django_db
def test_only_one_claimer_runs_a_delivery_taken_over(settings, httpserver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    gone = _neighbour(_dead_pid(), ticks=None, beat_ago=timedelta(0))
    row = _claimed_by(gone, httpserver)
    holders.claims_take_over()

    first = attempts.claim(row.pk)
    second = attempts.claim(row.pk)

    assert first is not None
    assert second is None
    assert first[0].holder == holders.process_id()


@pytest.mark.django_db
def test_a_worker_taken_for_dead_records_nothing_over_the_attempt_that_replaced_its_own(settings, httpserver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    webhook = WebhookConfig.objects.create(name="w", event_name="subtitle_downloaded", url=httpserver.url_for("/hook"))
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    [row] = delivery.deliveries_create(envelope=envelope, claim=True)
    outcome = attempts.attempt(row.pk, None, row, claimed_already=True)  # this process's attempt, not yet recorded
    assert outcome is not None
    # Meanwhile this process was taken for dead and another one claimed the row again.
    other, new_lease = uuid.uuid4(), timezone.now() + timedelta(minutes=3)
    Delivery.objects.filter(pk=row.pk).update(holder=other, lease_expires_at=new_lease)

    delivery.deliveries_record(outcomes=[outcome])

    after = Delivery.objects.get(pk=row.pk)
    assert (after.status, after.holder, after.lease_expires_at) == ("running", other, new_lease)
    assert list(HookLog.objects.filter(webhook=webhook).values_list("attempt", "success")) == [(1, True)]


@pytest.mark.django_db
def test_a_clean_stop_hands_on_its_claims_at_once_and_forgets_the_process(httpserver):
    holders.beat()
    me = WorkerProcess.objects.get(pk=holders.process_id())
    row = _claimed_by(me, httpserver)

    holders.retire()

    after = Delivery.objects.get(pk=row.pk)
    assert after.lease_expires_at is not None
    assert after.lease_expires_at <= timezone.now()
    assert not WorkerProcess.objects.filter(pk=me.pk).exists()


@pytest.mark.slow
def test_a_cluster_stopped_cleanly_leaves_no_worker_process_behind(start_worker):
    cluster = start_worker("clean", **ENV)
    testsupport.wait_for(
        lambda: WorkerProcess.objects.count() >= 2, timeout=60, message="both worker processes beating"
    )

    cluster.stop()

    assert cluster.popen.returncode is not None
    assert list(WorkerProcess.objects.values_list("pid", flat=True)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["fan-out claim", "claim of a due row"])
def test_a_process_is_known_as_a_holder_before_its_first_claim_is_written(monkeypatch, httpserver, how):
    """A worker killed between its first claim and its first beat must still be found dead (CI flake, 2026-12-03)."""
    monkeypatch.setattr(holders, "registered_pid", None)  # a process that has not beaten yet
    WorkerProcess.objects.all().delete()
    WebhookConfig.objects.create(name="w", event_name="subtitle_downloaded", url=httpserver.url_for("/hook"))
    envelope = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
    if how == "fan-out claim":
        [row] = delivery.deliveries_create(envelope=envelope, claim=True)
        holder = row.holder
    else:
        [row] = delivery.deliveries_create(envelope=envelope, claim=False)
        claimed = attempts.claim(row.pk)
        assert claimed is not None
        holder = claimed[0].holder

    assert holder == holders.process_id()
    assert WorkerProcess.objects.filter(pk=holder, pid=os.getpid(), pid_space=holders.pid_space()).exists()
