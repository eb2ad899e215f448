from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from events.catalog import EVENT_CATALOG
from scoring import selectors


@pytest.fixture(autouse=True)
def _fresh_scoring_cache() -> None:
    """Start every test with no cached scoring entry (the cache outlives each test's database)."""
    selectors.invalidate_cache()


@pytest.fixture
def config_events() -> Iterator[list[dict[str, Any]]]:
    """The data of every config_updated event sent during the test."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: str, envelope: dict[str, Any], **kwargs: Any) -> None:
        sent.append(envelope["data"])

    signal = EVENT_CATALOG["config_updated"].signal
    signal.connect(receiver, dispatch_uid="scoring-tests-config-events", weak=False)
    yield sent
    signal.disconnect(dispatch_uid="scoring-tests-config-events")
