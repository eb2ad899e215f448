from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def script(hooks_dir: Path) -> Path:
    """An executable ``notify.sh`` in the hooks dir."""
    path = hooks_dir / "notify.sh"
    path.write_text("#!/bin/sh\necho ok\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def quiet_outbox(settings):
    """Subscriptions reloaded and no doorbell left over from another test; nothing enqueued outlives the test."""
    from hooks import doorbell, subscriptions
    from hooks.queue import broker

    subscriptions.subscriptions_changed()
    doorbell.silence()
    yield settings
    # Redis outlives the test: what it enqueued must not reach a later test's workers.
    broker().purge_queue()
    doorbell.silence()
