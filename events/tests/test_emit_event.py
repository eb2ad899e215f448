"""emit_event(): validated, an envelope per event, sent only when the transaction commits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from events import EventError, aemit_event, emit_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_envelope_has_id_name_version_timestamp_and_a_copy_of_the_data(emitted):
    data: dict[str, Any] = {"changed_keys": ["a"], "source": "test"}

    envelope = emit_event("config_updated", data)
    data["changed_keys"].append("mutated later")

    assert uuid.UUID(envelope["id"]).version == 4
    assert envelope["event_name"] == "config_updated"
    assert envelope["version"] == 1
    assert datetime.fromisoformat(envelope["timestamp"]).utcoffset() == timedelta(0)
    assert envelope["data"] == {"changed_keys": ["a"], "source": "test"}
    assert emitted == [envelope]


def test_rolled_back_transaction_sends_nothing_and_a_committed_one_sends_once(emitted):
    class RollbackError(Exception):
        pass

    def change_then_fail() -> None:
        with transaction.atomic():
            emit_event("batch_complete", {"total": 1})
            raise RollbackError

    with pytest.raises(RollbackError):
        change_then_fail()
    assert emitted == []

    with transaction.atomic():
        envelope = emit_event("batch_complete", {"total": 2})
        assert emitted == []
    assert emitted == [envelope]


def test_value_that_is_not_json_names_the_key(emitted):
    with pytest.raises(EventError) as error:
        emit_event("batch_complete", {"total": 1, "duration_ms": object()})

    assert error.value.field == "duration_ms"
    assert error.value.message == (
        "Payload key 'duration_ms' of batch_complete is not JSON-serializable (object); "
        "use strings, numbers, booleans, lists or objects."
    )
    assert emitted == []


def test_async_variant_emits_from_async_code(emitted):
    envelope = asyncio.run(aemit_event("whisper_failed", {"job_id": "j"}))

    assert emitted == [envelope]


def test_event_accepted_is_sent_inside_the_transaction_before_the_catalog_signal(emitted):
    from events.signals import event_accepted

    seen: list[tuple[str, dict, str, bool, int]] = []

    def on_accepted(sender, envelope, using, **kwargs):
        seen.append((sender, envelope, using, transaction.get_connection().in_atomic_block, len(emitted)))

    event_accepted.connect(on_accepted, dispatch_uid="test-accepted")
    try:
        with transaction.atomic():
            envelope = emit_event("batch_complete", {"total": 1})
    finally:
        event_accepted.disconnect(dispatch_uid="test-accepted")

    assert seen == [("batch_complete", envelope, "default", True, 0)]  # in the transaction, before the event went out
    assert emitted == [envelope]


def test_a_receiver_of_event_accepted_that_fails_fails_the_producers_transaction(emitted):
    from events.signals import event_accepted

    def broken(sender, **kwargs):
        raise RuntimeError("the write failed")

    event_accepted.connect(broken, dispatch_uid="test-accepted-broken")
    try:
        with pytest.raises(RuntimeError, match="the write failed"), transaction.atomic():
            emit_event("batch_complete", {"total": 1})
    finally:
        event_accepted.disconnect(dispatch_uid="test-accepted-broken")

    assert emitted == []  # rolled back with the transaction: nothing sent


def deeply_nested(levels: int) -> list:
    """A list nested ``levels`` deep, built without recursion."""
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("changed_keys", "must be a list of strings, not a list holding a list (item 0)."),
        ("source", "must be a string, not a list."),
    ],
)
def test_deeply_nested_python_payload_is_an_event_error_naming_the_key_not_a_recursion_error(emitted, key, message):
    with pytest.raises(EventError) as error:
        emit_event("config_updated", {key: deeply_nested(100_000)})

    assert error.value.field == key
    assert error.value.message == f"Payload key {key!r} of config_updated {message}"


def test_a_lost_connection_inside_a_transaction_is_unavailable_and_the_transaction_cannot_commit(emitted):
    from django.contrib.auth.models import Group
    from django.db import OperationalError
    from django.db.transaction import TransactionManagementError

    from events import EventUnavailable
    from events.signals import event_accepted

    def connection_lost(sender, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    event_accepted.connect(connection_lost, dispatch_uid="test-connection-lost")
    try:
        with transaction.atomic():
            Group.objects.create(name="changed with the event")
            with pytest.raises(EventUnavailable) as error:
                emit_event("batch_complete", {"total": 1})
            # Caught by the producer, the transaction still cannot go on as if the event were stored.
            with pytest.raises(TransactionManagementError):
                Group.objects.count()
    finally:
        event_accepted.disconnect(dispatch_uid="test-connection-lost")

    assert error.value.reason == "OperationalError: server closed the connection unexpectedly"
    assert not Group.objects.exists()  # rolled back with the event
    assert emitted == []


def test_outside_a_transaction_the_event_is_sent_at_once_opening_the_connection_if_closed(emitted):
    from django.db import connection

    connection.close()
    envelope = emit_event("batch_complete", {"total": 1})

    assert emitted == [envelope]
    assert connection.connection is not None  # opened by on_commit, as before: a database that is down fails here

    envelope2 = emit_event("batch_complete", {"total": 2})  # connected: at once, without on_commit
    assert emitted == [envelope, envelope2]


def test_each_thread_emits_on_its_own_connection(emitted, no_hook_targets):
    # No outbox row to write: this thread's open transaction holds SQLite's write lock.
    import threading

    from django.db import connections

    sent_in_thread: list[list[dict]] = []

    def emit_in_another_thread() -> None:
        try:
            emit_event("batch_complete", {"total": 2})
            sent_in_thread.append(list(emitted))
        finally:
            connections.close_all()

    with transaction.atomic():
        first = emit_event("batch_complete", {"total": 1})
        thread = threading.Thread(target=emit_in_another_thread)
        thread.start()
        thread.join()
        # The other thread is in no transaction: its event went out at once; this one waits for the commit.
        assert [envelope["data"] for envelope in emitted] == [{"total": 2}]
    assert [envelope["data"] for envelope in sent_in_thread[0]] == [{"total": 2}]
    assert emitted[1] == first


def test_in_manual_transaction_management_emit_event_refuses_as_on_commit_does(emitted):
    from django.db import connection
    from django.db.transaction import TransactionManagementError

    connection.ensure_connection()
    transaction.set_autocommit(False)
    try:
        with pytest.raises(TransactionManagementError, match="on_commit"):
            emit_event("batch_complete", {"total": 1})
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)
    assert emitted == []


def test_emit_event_called_inside_a_running_event_loop_is_refused_as_django_refuses_the_database(emitted):
    from django.core.exceptions import SynchronousOnlyOperation

    async def emit_without_the_async_variant() -> None:
        emit_event("batch_complete", {"total": 1})

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(emit_without_the_async_variant())
    assert emitted == []


@pytest.mark.django_db
def test_inside_a_test_case_transaction_the_callback_is_captured(emitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        envelope = emit_event("batch_complete", {"total": 1})
    assert emitted == []
    assert len(callbacks) == 1

    callbacks[0]()
    assert emitted == [envelope]
