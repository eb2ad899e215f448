"""A notification target subscribes to a list of events (``events``) instead of one ``event_name``.

``event_name`` leaves the notification table (it stays on script hooks and
webhooks, which get one event each); each target's event becomes a
one-item list: ``"provider_failed"`` → ``["provider_failed"]``, ``"*"`` → ``["*"]``.
Backwards, a target keeps its first event (several events cannot fit one column).
"""

from django.db import migrations, models


def events_from_event_name(apps, schema_editor):
    NotificationConfig = apps.get_model("hooks", "NotificationConfig")
    for target in NotificationConfig.objects.all().only("pk", "event_name"):
        NotificationConfig.objects.filter(pk=target.pk).update(events=[target.event_name])


def event_name_from_events(apps, schema_editor):
    NotificationConfig = apps.get_model("hooks", "NotificationConfig")
    for target in NotificationConfig.objects.all().only("pk", "events"):
        events = list(target.events or [])
        NotificationConfig.objects.filter(pk=target.pk).update(event_name=events[0] if events else "*")


class Migration(migrations.Migration):
    dependencies = [
        ("hooks", "0007_notification_config"),
    ]

    operations = [
        migrations.AddField(
            model_name="notificationconfig",
            name="events",
            field=models.JSONField(default=list, help_text='Catalog event names, or ["*"] for every event.'),
        ),
        migrations.RunPython(events_from_event_name, event_name_from_events, elidable=False),
        # A default only while the column goes: backwards it comes back filled (then set from events) on SQLite too.
        migrations.AlterField(
            model_name="notificationconfig",
            name="event_name",
            field=models.CharField(db_index=True, default="*", max_length=64),
        ),
        migrations.RemoveField(
            model_name="notificationconfig",
            name="event_name",
        ),
    ]
