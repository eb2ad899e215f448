"""The bridge never breaks a producer: failures and a full buffer are logged and counted."""

from __future__ import annotations

import json

import pytest

from events import bridge
from events.services import build_envelope, send_envelope


class RefusingLayer:
    """A channel layer whose server refuses every connection (the error text has a credential)."""

    extensions = ["groups"]

    def __init__(self, **kwargs):
        pass

    async def group_send(self, group, message):
        raise ConnectionError("Error connecting to redis://:hunter2@10.0.0.9:6379/0: refused")


@pytest.fixture(autouse=True)
def fresh_log_window():
    """Each test sees its own first log line (the bridge rate-limits repeats)."""
    current = bridge._get_bridge()
    current._last_log.clear()
    yield
    current._last_log.clear()


def test_failing_layer_is_logged_without_secrets_and_counted(settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "events.tests.test_bridge.RefusingLayer"}}
    before = bridge.stats()
    envelope = build_envelope("batch_complete", {"total": 1})

    send_envelope(envelope)  # does not raise
    assert bridge.flush(10)

    after = bridge.stats()
    assert after["failed"] == before["failed"] + 1
    assert after["submitted"] == before["submitted"] + 1
    assert after["pending"] == 0
    assert (
        f"Event bridge could not send 1 event(s) (first: batch_complete {envelope['id']}) to the channel layer: "
        "ConnectionError: Error connecting to redis://***@10.0.0.9:6379/0: refused; "
    ) in caplog.text
    assert "hunter2" not in caplog.text


def test_full_buffer_drops_the_event_and_counts_it(monkeypatch, caplog):
    monkeypatch.setattr(bridge, "MAX_PENDING", 0)
    before = bridge.stats()
    envelope = build_envelope("whisper_failed", {"job_id": "j"})

    send_envelope(envelope)

    after = bridge.stats()
    assert after["dropped_full"] == before["dropped_full"] + 1
    assert after["submitted"] == before["submitted"]
    assert (
        f"Event bridge buffer full (0 pending): dropped event whisper_failed ({envelope['id']}); "
        f"{after['dropped_full']} dropped so far"
    ) in caplog.text


def test_bridge_is_connected_to_every_catalog_signal():
    from events.catalog import EVENT_CATALOG

    for spec in EVENT_CATALOG.values():
        assert bridge.forward_event in spec.signal._live_receivers(spec.name)[0], spec.name


def test_group_message_carries_origin_and_sequence(settings):
    sent: list[dict] = []

    class RecordingLayer(RefusingLayer):
        async def group_send(self, group, message):
            sent.append({"group": group, **message})

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "events.tests.test_bridge.RefusingLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends["default"] = RecordingLayer()  # type: ignore[assignment]  # duck-typed: what the bridge calls
    first = build_envelope("batch_complete", {"total": 1})
    second = build_envelope("batch_complete", {"total": 2})

    send_envelope(first)
    send_envelope(second)
    assert bridge.flush(10)

    events = [event for m in sent for event in m["events"]]
    assert [json.loads(event["text"]) for event in events] == [first, second]
    assert [event["id"] for event in events] == [first["id"], second["id"]]
    assert {m["group"] for m in sent} == {"events"}
    assert {m["type"] for m in sent} == {"event_message"}
    assert {m["origin"] for m in sent} == {bridge._get_bridge().origin}
    assert events[1]["seq"] == events[0]["seq"] + 1
