"""The envelope's id and timestamp, formatted by hand on the producer's path, read exactly as the stdlib writes them."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from events import services


def test_event_id_is_the_text_of_a_version_4_uuid_from_the_same_random_bits(monkeypatch):
    seeded = random.Random(1234)
    monkeypatch.setattr(services, "_id_random", seeded)
    for _ in range(2000):
        state = seeded.getstate()
        text = services._new_event_id()
        seeded.setstate(state)
        expected = uuid.UUID(int=seeded.getrandbits(128), version=4)
        assert text == str(expected)
        assert uuid.UUID(text).version == 4
        assert uuid.UUID(text).variant == uuid.RFC_4122


@pytest.mark.parametrize(
    "nanoseconds",
    [
        0,
        1_764_756_000_000_000_000,  # a whole second: no fraction, as isoformat() writes it
        1_764_756_000_000_000_999,  # below a microsecond: still none
        1_764_756_000_000_001_000,
        1_764_756_000_123_456_789,  # truncated, not rounded, like datetime.now()
        1_764_756_059_999_999_999,
        1_764_756_060_000_000_000,  # the next second, formatted anew
        1_798_761_599_999_999_000,  # the last microsecond of a year
        1_798_761_600_000_000_000,
    ],
)
def test_timestamp_is_what_datetime_now_isoformat_writes(monkeypatch, nanoseconds):
    monkeypatch.setattr(services, "time", SimpleNamespace(time_ns=lambda: nanoseconds))
    expected = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanoseconds // 1000)).isoformat()

    assert services._timestamp() == expected
    # And again, from the per-second cache.
    assert services._timestamp() == expected


def test_timestamp_is_now():
    before = datetime.now(UTC)
    stamp = datetime.fromisoformat(services._timestamp())
    after = datetime.now(UTC)

    assert before <= stamp <= after
    assert stamp.utcoffset() == timedelta(0)
