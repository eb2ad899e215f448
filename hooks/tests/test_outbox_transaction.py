"""An event emitted inside a transaction: its outbox row is written in that transaction and commits with it."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

import testsupport
from events import emit_event
from events.samples import sample_payload
from events.types import Envelope
from hooks import outbox, subscriptions
from hooks.models import PendingEvent
from hooks.queue import broker
from hooks.tests.test_outbox import rung, subscribed

pytestmark = pytest.mark.django_db(transaction=True)


def emit() -> Envelope:
    return emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))


def stored() -> list[str]:
    return [str(event_id) for event_id in PendingEvent.objects.order_by("id").values_list("event_id", flat=True)]


def test_the_row_is_written_in_the_transaction_and_the_drain_rung_after_commit(quiet_outbox):
    subscribed()
    tasks_before = broker().queue_size()

    with transaction.atomic():
        sent = emit()
        assert stored() == [sent["id"]]  # inside the producer's own transaction
        assert rung() == tasks_before  # no worker is told before the commit

    assert stored() == [sent["id"]]
    assert rung() == tasks_before + 1


def test_a_rolled_back_transaction_leaves_no_event_and_rings_nothing(quiet_outbox):
    subscribed()
    tasks_before = broker().queue_size()

    def change_then_fail() -> None:
        with transaction.atomic():
            emit()
            raise RuntimeError("the producer's change failed")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert stored() == []
    assert rung() == tasks_before


def test_a_rolled_back_savepoint_drops_only_its_own_event(quiet_outbox):
    subscribed()

    def inner_step_fails() -> None:
        with transaction.atomic():
            emit()
            raise RuntimeError("an inner step failed")

    with transaction.atomic():
        kept = emit()
        with pytest.raises(RuntimeError):
            inner_step_fails()

    assert stored() == [kept["id"]]


def test_the_commit_writes_no_second_row(quiet_outbox):
    subscribed()

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        emit()
        emit()
        inside = len(queries.captured_queries)
    after_commit = [q["sql"] for q in queries.captured_queries[inside:]]

    assert PendingEvent.objects.count() == 2
    assert not [sql for sql in after_commit if "hooks_pendingevent" in sql]


def test_nothing_subscribed_writes_nothing_in_the_transaction(quiet_outbox, django_assert_num_queries):
    quiet_outbox.SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS = 60_000
    subscribed(event="batch_complete")  # another event
    subscriptions.has_subscribers("subtitle_downloaded")  # load the snapshot once
    with transaction.atomic(), django_assert_num_queries(0):
        emit()

    assert stored() == []


def test_an_event_whose_transaction_committed_survives_a_crash_before_the_commit_callbacks(quiet_outbox, proc_env):
    """The process dies right after COMMIT, before any on_commit callback of the event ran: the event is kept.

    With the row written after commit (in the event's own callback), this
    window lost the event although the producer's change had committed.
    """
    subscribed()
    event_id = str(uuid.uuid4())
    script = (
        "import os\n"
        "from django.db import transaction\n"
        "from events.services import build_envelope, send_envelope\n"
        "from events.signals import event_accepted\n"
        "from events.samples import sample_payload\n"
        "with transaction.atomic():\n"
        "    transaction.on_commit(lambda: os._exit(0))  # registered first: runs first\n"
        "    envelope = build_envelope('subtitle_downloaded', sample_payload('subtitle_downloaded'))\n"
        f"    envelope['id'] = {event_id!r}\n"
        "    event_accepted.send_robust(sender='subtitle_downloaded', envelope=envelope, using='default')\n"
        "    transaction.on_commit(lambda: send_envelope(envelope))\n"
        "raise SystemExit('the process should have died at commit')\n"
    )

    result = testsupport.manage("shell", "-c", script, env=proc_env, timeout=60)

    assert result.returncode == 0, result.stderr
    assert stored() == [event_id]


def test_a_failed_outbox_write_fails_the_producers_transaction_and_keeps_nothing(quiet_outbox, monkeypatch):
    subscribed()

    def broken(row) -> None:
        raise DatabaseError("disk full")

    tasks_before = broker().queue_size()
    monkeypatch.setattr(outbox, "insert", broken)
    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        emit()

    monkeypatch.undo()
    assert stored() == []
    assert rung() == tasks_before


def test_an_event_stored_with_its_transaction_is_remembered_only_until_it_is_sent(quiet_outbox):
    subscribed()
    with transaction.atomic():
        sent = emit()

    assert not outbox.stored_with_transaction(sent)  # taken when the commit sent the event
