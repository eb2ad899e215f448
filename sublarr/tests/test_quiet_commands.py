"""Commands other than the queue worker keep django-q2's INFO lines ("Enqueued [...]") off stderr."""

from __future__ import annotations

import json
import re

import pytest

import testsupport
from hooks.services import webhook_create

pytestmark = pytest.mark.embedded


def test_emit_event_that_enqueues_a_delivery_prints_nothing_on_stderr(proc_env):
    # A subscriber, so the command enqueues work for the queue worker (none runs here).
    webhook_create(
        name="home assistant",
        event_name="batch_complete",
        url="http://192.168.1.10:8123/api/webhook/subs",
        source="cli",
    )

    result = testsupport.manage("emit_event", "batch_complete", "--data", '{"total": 3}', env=proc_env)

    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["data"] == {"total": 3}


def test_queue_worker_keeps_django_q_info_lines(start_worker):
    worker = start_worker()

    testsupport.wait_for(lambda: " ready for work at " in worker.log(), message="the worker's INFO line")
    assert re.search(r" INFO \d+ django-q: Q Cluster [\w-]+ starting\.\n", worker.log())
