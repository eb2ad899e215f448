"""The producer's path: one outbox row per subscribed event, nothing at all when nothing is subscribed."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from events.samples import sample_payload
from events.services import build_envelope, send_envelope
from events.types import Envelope
from hooks import subscriptions
from hooks.models import HookConfig, PendingEvent, WebhookConfig
from hooks.queue import broker
from hooks.tests.test_outbox import rung


@pytest.fixture
def fresh(settings, quiet_outbox):
    settings.SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS = 60_000
    subscriptions.subscriptions_changed()
    return settings


def queued() -> int:
    """Tasks waiting in the broker plus events waiting in the outbox."""
    return rung() + PendingEvent.objects.count()


def envelope(name: str = "subtitle_downloaded") -> Envelope:
    return build_envelope(name, sample_payload(name))


@pytest.mark.django_db(transaction=True)
def test_nothing_subscribed_means_no_query_and_no_enqueue(fresh, django_assert_num_queries):
    subscriptions.has_subscribers("subtitle_downloaded")  # load the snapshot once
    before = queued()

    with django_assert_num_queries(0):
        for _ in range(100):
            send_envelope(envelope())

    assert queued() == before


@pytest.mark.django_db(transaction=True)
def test_one_outbox_row_per_event_however_many_webhooks(fresh):
    for i in range(20):
        WebhookConfig.objects.create(name=f"w{i}", event_name="subtitle_downloaded", url=f"http://10.0.0.{i}/")
    tasks_before = broker().queue_size()

    sent = envelope()
    send_envelope(sent)
    send_envelope(envelope("batch_complete"))  # nobody listens to this one

    assert list(PendingEvent.objects.values_list("envelope", flat=True)) == [sent]
    assert rung() == tasks_before + 1  # one drain task rung


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_events_rings_one_drain_task(fresh):
    WebhookConfig.objects.create(name="w", event_name="subtitle_downloaded", url="http://10.0.0.1/")
    tasks_before = broker().queue_size()

    for _ in range(50):
        send_envelope(envelope())

    assert PendingEvent.objects.count() == 50
    assert rung() == tasks_before + 1


@pytest.mark.django_db(transaction=True)
def test_the_same_envelope_sent_twice_is_one_event(fresh):
    WebhookConfig.objects.create(name="w", event_name="subtitle_downloaded", url="http://10.0.0.1/")
    sent = envelope()

    send_envelope(sent)
    send_envelope(sent)

    assert PendingEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_webhook_created_in_this_process_is_seen_by_the_next_event(fresh):
    assert not subscriptions.has_subscribers("batch_complete")

    WebhookConfig.objects.create(name="late", event_name="batch_complete", url="http://10.0.0.1/")

    assert subscriptions.has_subscribers("batch_complete")


@pytest.mark.django_db(transaction=True)
def test_change_made_by_another_process_is_seen_after_the_refresh_interval(fresh):
    assert not subscriptions.has_subscribers("upgrade_complete")
    # Another process: a row written without this process's signals, then the version bump.
    HookConfig.objects.bulk_create([HookConfig(name="elsewhere", event_name="upgrade_complete", script_path="/x")])
    cache.set(subscriptions.VERSION_KEY, "bumped-elsewhere", None)
    assert not subscriptions.has_subscribers("upgrade_complete")  # within the refresh interval: stale

    fresh.SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS = 0

    assert subscriptions.has_subscribers("upgrade_complete")


@pytest.mark.django_db(transaction=True)
def test_star_webhook_and_auto_disabled_webhook_keep_events_subscribed(fresh):
    WebhookConfig.objects.create(
        name="gone", event_name="*", url="http://10.0.0.1/", enabled=False, disabled_reason="410"
    )
    assert subscriptions.has_subscribers("whisper_failed")
    WebhookConfig.objects.all().delete()
    assert not subscriptions.has_subscribers("whisper_failed")
    WebhookConfig.objects.create(name="off", event_name="*", url="http://10.0.0.1/", enabled=False)
    assert not subscriptions.has_subscribers("whisper_failed")  # switched off by hand: nothing to log


@pytest.mark.django_db(transaction=True)
def test_hook_executed_never_triggers_webhooks(fresh):
    WebhookConfig.objects.create(name="all", event_name="*", url="http://10.0.0.1/")
    before = queued()

    send_envelope(envelope("hook_executed"))

    assert queued() == before


@pytest.mark.django_db
def test_a_task_run_inline_does_not_turn_this_process_into_a_delivery_worker():
    from django_q.tasks import async_task

    from hooks.delivery import worker

    async_task("math.floor", 1.5, sync=True)  # django-q2 sends post_spawn in this process

    assert worker.running_dispatcher() is None


@pytest.mark.django_db(transaction=True)
def test_a_subscribed_event_costs_the_producer_one_statement(fresh, django_assert_num_queries):
    WebhookConfig.objects.create(name="w", event_name="subtitle_downloaded", url="http://10.0.0.1/")
    subscriptions.has_subscribers("subtitle_downloaded")  # load the snapshot once

    with django_assert_num_queries(1):  # the outbox INSERT; the doorbell is rung from another thread
        send_envelope(envelope())

    assert PendingEvent.objects.count() == 1
    assert rung() >= 1
