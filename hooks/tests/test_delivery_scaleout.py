"""Scale-out profile: two queue-worker processes on Redis share 1,000 events without losing or doubling any."""

from __future__ import annotations

from collections import Counter

import pytest

import testsupport
from events import emit_event
from events.samples import sample_payload
from hooks.models import Delivery, HookLog
from hooks.tests.test_delivery_outcomes import make_webhook, receiver  # noqa: F401 - fixture

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

EVENTS = 1000


def test_two_workers_1000_events_every_webhook_id_seen_once(redis_url, start_worker, receiver):  # noqa: F811
    webhook = make_webhook(receiver, "/sink")
    start_worker("a")
    start_worker("b")

    ids = {emit_event("subtitle_downloaded", sample_payload("subtitle_downloaded"))["id"] for _ in range(EVENTS)}

    testsupport.wait_for(
        lambda: Delivery.objects.filter(webhook=webhook, status="succeeded", event_id__in=ids).count() == EVENTS,
        timeout=180,
        message=f"{EVENTS} successful deliveries",
    )
    seen = Counter(s.headers["Webhook-Id"] for s in receiver.to("/sink") if s.headers["Webhook-Id"] in ids)
    duplicates = sum(seen.values()) - len(seen)
    assert set(seen) == ids
    assert duplicates == 0
    assert HookLog.objects.filter(webhook=webhook, success=True, event_id__in=ids).count() == EVENTS
    # No delivery needed a second attempt (none was claimed twice or lost its lease).
    assert Delivery.objects.filter(webhook=webhook).exclude(attempts=1).count() == 0
