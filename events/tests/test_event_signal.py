"""EventSignal caches its receivers per sender, and the cache follows connect, disconnect and dead receivers."""

from __future__ import annotations

import gc
from typing import Any

from events.signals import EventSignal


def test_receivers_connected_or_disconnected_after_a_send_are_seen_by_the_next_send():
    signal = EventSignal()
    calls: list[str] = []

    def first(sender: Any, **kwargs: Any) -> None:
        calls.append(f"first {sender}")

    def second(sender: Any, **kwargs: Any) -> None:
        calls.append(f"second {sender}")

    assert signal.send(sender="a") == []
    signal.connect(first)
    signal.send(sender="a")
    signal.connect(second)
    signal.send_robust(sender="a")
    signal.send(sender="b")
    signal.disconnect(first)
    signal.send_robust(sender="a")

    assert calls == ["first a", "first a", "second a", "first b", "second b", "second a"]


def test_a_receiver_that_was_garbage_collected_is_no_longer_called():
    signal = EventSignal()
    calls: list[str] = []

    class Listener:
        def on(self, sender: Any, **kwargs: Any) -> None:
            calls.append(sender)

    listener = Listener()
    signal.connect(listener.on)
    signal.send(sender="a")
    del listener
    gc.collect()
    signal.send(sender="a")

    assert calls == ["a"]
    assert signal.send(sender="a") == []
