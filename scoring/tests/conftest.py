from __future__ import annotations

import pytest

from scoring import selectors


@pytest.fixture(autouse=True)
def _fresh_scoring_cache() -> None:
    """Start every test with no cached scoring entry (the cache outlives each test's database)."""
    selectors.invalidate_cache()
