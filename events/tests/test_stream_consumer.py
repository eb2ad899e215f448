"""The consumer in-process: drops by the layer become visible; membership outlives group_expiry."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import BaseChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator

from events import consumers
from events.bridge import encode
from events.consumers import EventStreamConsumer
from events.services import build_envelope
from events.types import Envelope


@pytest.fixture
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def user(plain_user):
    return plain_user


def message(envelope: Envelope, seq: int, origin: str = "producer-a") -> dict:
    """A group message as events.bridge sends it (here a batch of one)."""
    event = {"seq": seq, "event_name": envelope["event_name"], "id": envelope["id"], "text": encode(envelope)}
    return {"type": "event_message", "origin": origin, "events": [event]}


def default_layer() -> BaseChannelLayer:
    """The configured channel layer: the settings of every test here name one."""
    layer = get_channel_layer()
    assert layer is not None
    return layer


async def connected(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(EventStreamConsumer.as_asgi(), "/ws/events/")
    communicator.scope["user"] = user  # type: ignore[typeddict-unknown-key]  # what AuthMiddleware sets, set here
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db
def test_gap_in_a_producers_sequence_is_reported_to_the_client_and_counted(memory_layer, user):
    envelopes = [build_envelope("batch_complete", {"total": n}) for n in range(4)]

    async def main() -> list:
        communicator = await connected(user)
        layer = default_layer()
        for seq, envelope in [(1, envelopes[0]), (2, envelopes[1]), (5, envelopes[2])]:
            await layer.group_send("events", message(envelope, seq))
        # Another producer's numbering is independent of the first one's.
        await layer.group_send("events", message(envelopes[3], 40, origin="producer-b"))
        received = [await communicator.receive_json_from(timeout=5) for _ in range(5)]
        await communicator.disconnect()
        return received

    before = consumers.stats()["missed"]
    received = asyncio.run(main())

    assert received == [envelopes[0], envelopes[1], {"type": "missed", "count": 2}, envelopes[2], envelopes[3]]
    assert consumers.stats()["missed"] == before + 2


@pytest.mark.django_db
def test_membership_is_refreshed_before_the_group_expires(settings, user):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": 1}}
    }
    envelope = build_envelope("config_updated", {"source": "late"})

    async def main() -> dict:
        communicator = await connected(user)
        await asyncio.sleep(2.5)  # past group_expiry: only the refresh keeps the client in the group
        await default_layer().group_send("events", message(envelope, 1))
        received = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return received

    assert asyncio.run(main()) == envelope


@pytest.mark.django_db
def test_bad_requests_get_an_error_and_keep_the_socket(memory_layer, user):
    async def main() -> list:
        communicator = await connected(user)
        await communicator.send_to(bytes_data=b"\x00")
        await communicator.send_json_to({"action": "unsubscribe"})
        await communicator.send_json_to({"action": "subscribe", "events": "config_updated"})
        received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        await communicator.send_json_to({"action": "subscribe", "events": []})
        received.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return received

    assert asyncio.run(main()) == [
        {"type": "error", "message": "Send text frames with a JSON object."},
        {"type": "error", "message": 'Unknown request; send {"action": "subscribe", "events": [...]}.'},
        {"type": "error", "message": '"events" must be a list of event names, or null for every event.'},
        {"type": "subscribed", "events": []},
    ]


@pytest.mark.django_db
def test_deeply_nested_or_oversized_requests_get_an_error_and_keep_the_socket(memory_layer, user):
    async def main() -> list:
        communicator = await connected(user)
        await communicator.send_to(text_data="[" * 4096)
        await communicator.send_to(text_data='{"action": "subscribe", "events": [' + "[" * 100 + "]" * 100 + "]}")
        await communicator.send_to(text_data=" " * (64 * 1024 + 1))
        received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        await communicator.send_json_to({"action": "subscribe", "events": ["config_updated"]})
        received.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return received

    assert asyncio.run(main()) == [
        {"type": "error", "message": "JSON nested deeper than 64 levels."},
        {"type": "error", "message": "JSON nested deeper than 64 levels."},
        {"type": "error", "message": "Request too large: at most 65536 characters."},
        {"type": "subscribed", "events": ["config_updated"]},
    ]


@pytest.mark.django_db
def test_subscribe_with_too_many_names_gets_a_short_error_and_keeps_the_subscription(memory_layer, user):
    envelope = build_envelope("config_updated", {"source": "still-subscribed"})

    async def main() -> tuple[list, dict]:
        communicator = await connected(user)
        await communicator.send_json_to({"action": "subscribe", "events": ["config_updated"]})
        await communicator.send_json_to({"action": "subscribe", "events": [f"x{n}" for n in range(6_000)]})
        await communicator.send_json_to({"action": "subscribe", "events": ["batch_complete"] * 257})
        received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
        await default_layer().group_send("events", message(envelope, 1))
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return received, event

    received, event = asyncio.run(main())
    assert received == [
        {"type": "subscribed", "events": ["config_updated"]},
        {"type": "error", "message": '"events" may list at most 256 names.'},
        {"type": "error", "message": '"events" may list at most 256 names.'},
    ]
    assert event == envelope
