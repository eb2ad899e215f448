"""Migration 0008: each notification's event_name becomes a one-item events list, and back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("hooks", "0007_notification_config")]
AFTER = [("hooks", "0008_notification_events")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_event_name_becomes_a_list_of_one_and_goes_back_to_the_first_event():
    try:
        old = migrate(BEFORE).get_model("hooks", "NotificationConfig")
        one = old.objects.create(name="one", event_name="provider_failed", urls=["json://h/p"])
        every = old.objects.create(name="every", event_name="*", urls=["json://h/p"])

        new = migrate(AFTER).get_model("hooks", "NotificationConfig")
        assert new.objects.get(pk=one.pk).events == ["provider_failed"]
        assert new.objects.get(pk=every.pk).events == ["*"]
        assert "event_name" not in {field.name for field in new._meta.get_fields()}

        new.objects.filter(pk=one.pk).update(events=["subtitle_downloaded", "provider_failed"])
        old = migrate(BEFORE).get_model("hooks", "NotificationConfig")
        assert old.objects.get(pk=one.pk).event_name == "subtitle_downloaded"
        assert old.objects.get(pk=every.pk).event_name == "*"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
