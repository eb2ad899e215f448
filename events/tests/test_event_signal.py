"""EventSignal caches its receivers per sender, and the cache follows connect, disconnect and dead receivers."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from django.dispatch import Signal

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


def test_send_and_send_robust_answer_as_a_django_signal_does():
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def first(signal: Any, sender: Any, **kwargs: Any) -> str:
        calls.append(("first", sender, kwargs))
        return "one"

    def second(signal: Any, sender: Any, **kwargs: Any) -> str:
        calls.append(("second", sender, kwargs))
        return "two"

    ours, django = EventSignal(), Signal()
    for signal in (ours, django):
        signal.connect(first)
        signal.connect(second, sender="a")
    ours.send(sender="a")  # the first send fills the cache; the next ones read it

    for method in ("send", "send_robust"):
        for sender in ("a", "b"):
            calls.clear()
            expected = getattr(django, method)(sender=sender, envelope={"id": "x"})
            expected_calls = list(calls)
            calls.clear()
            assert getattr(ours, method)(sender=sender, envelope={"id": "x"}) == expected
            assert calls == expected_calls
    assert expected == [(first, "one")]
    assert expected_calls == [("first", "b", {"envelope": {"id": "x"}})]


def test_send_robust_returns_and_logs_a_receivers_exception_and_calls_the_next_receiver(caplog):
    signal = EventSignal()
    calls: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise ValueError("broken receiver")

    def working(sender: Any, **kwargs: Any) -> str:
        calls.append(sender)
        return "ok"

    signal.connect(broken)
    signal.connect(working)
    signal.send_robust(sender="a")  # fills the cache
    caplog.clear()

    (first, error), second = signal.send_robust(sender="a")

    assert first is broken
    assert isinstance(error, ValueError)
    assert str(error) == "broken receiver"
    assert second == (working, "ok")
    assert calls == ["a", "a"]
    assert [record.getMessage() for record in caplog.records if record.name == "django.dispatch"] == [
        "Error calling test_send_robust_returns_and_logs_a_receivers_exception_and_calls_the_next_receiver."
        "<locals>.broken in Signal.send_robust() (broken receiver)"
    ]
    with pytest.raises(ValueError, match="broken receiver"):
        signal.send(sender="a")


def test_an_async_receiver_is_awaited_as_django_does():
    signal = EventSignal()

    def plain(sender: Any, **kwargs: Any) -> str:
        return f"plain {sender}"

    async def coroutine(sender: Any, **kwargs: Any) -> str:
        return f"async {sender}"

    signal.connect(plain)
    signal.send(sender="a")
    signal.connect(coroutine)

    assert signal.send(sender="a") == [(plain, "plain a"), (coroutine, "async a")]
    assert signal.send_robust(sender="a") == [(plain, "plain a"), (coroutine, "async a")]
    signal.disconnect(coroutine)
    assert signal.send(sender="a") == [(plain, "plain a")]
