"""A task enqueued through the configured broker runs in a real queue worker."""

from __future__ import annotations

import pytest

import testsupport
from hooks.queue import broker, enqueue


@pytest.mark.slow
def test_enqueued_task_runs_in_a_separate_worker(start_worker, tmp_path, settings):
    target = tmp_path / "ran.txt"
    start_worker()

    enqueue("sublarr.tests.tasks.touch", str(target), f"profile={settings.PROFILE}")

    testsupport.wait_for(target.exists, timeout=60, message="the queued task to run")
    assert target.read_text() == f"profile={settings.PROFILE}"


def test_enqueue_reuses_one_broker_per_thread(transactional_db):
    assert broker() is broker()
