"""The admin (key shown once, form messages, rotation, read-only records) and the retention of request records."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incoming import schedules, services
from incoming.models import IncomingRequest, IncomingSource

pytestmark = pytest.mark.django_db

ADD = "/admin/incoming/incomingsource/add/"


def _form(**fields):
    return {"name": "sonarr", "kind": "sonarr", "enabled": "on", "basic_username": "", "path_mappings": "[]", **fields}


def test_adding_a_source_shows_its_key_once(admin_client, config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ADD, _form(path_mappings='[{"remote": "/tv", "local": "/media/tv"}]'), follow=True)

    incoming = IncomingSource.objects.get()
    (message,) = [str(m) for m in response.context["messages"] if "API key" in str(m)]
    assert message.startswith("API key for sonarr (shown once, copy it into the app now): ")
    key = message.rsplit(" ", 1)[1]
    assert services.api_key_matches(incoming, key)
    assert incoming.path_mappings == [{"remote": "/tv", "local": "/media/tv"}]
    assert config_events == [{"changed_keys": [f"incoming_sources.{incoming.pk}"], "source": "admin"}]
    change_page = admin_client.get(f"/admin/incoming/incomingsource/{incoming.pk}/change/").content.decode()
    assert key not in change_page


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "no spaces"}, {"name"}),
        ({"path_mappings": "not json"}, {"path_mappings"}),
        ({"path_mappings": '[{"remote": "/tv", "local": "/x/../y"}]'}, {"path_mappings"}),
        ({"basic_username": "sonarr"}, {"basic_username"}),
    ],
)
def test_the_form_refuses_bad_fields_with_a_message(admin_client, fields, errors):
    response = admin_client.post(ADD, _form(**fields))

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == errors
    assert not IncomingSource.objects.exists()


def test_the_rotate_action_shows_a_new_key(admin_client, make_source):
    incoming, old = make_source()

    response = admin_client.post(
        "/admin/incoming/incomingsource/",
        {"action": "rotate_key", "_selected_action": [incoming.pk]},
        follow=True,
    )

    (message,) = [str(m) for m in response.context["messages"] if "API key" in str(m)]
    assert message.startswith("New API key for sonarr (shown once): ")
    new = message.rsplit(" ", 1)[1]
    incoming.refresh_from_db()
    assert services.api_key_matches(incoming, new)
    assert not services.api_key_matches(incoming, old)


def test_request_records_are_listed_read_only(admin_client, client, make_source):
    _incoming, key = make_source()
    client.post(
        "/api/incoming/sonarr/", json.dumps({"eventType": "Test"}), "application/json", headers={"X-Api-Key": key}
    )

    listing = admin_client.get("/admin/incoming/incomingrequest/")

    assert listing.status_code == 200
    assert "Test" in listing.content.decode()
    assert admin_client.get("/admin/incoming/incomingrequest/add/").status_code == 403


def _records(*days_ago: float) -> None:
    now = timezone.now()
    for i, days in enumerate(days_ago):
        IncomingRequest.objects.create(
            source_name=f"s{i}", outcome="accepted", status_code=202, received_at=now - timedelta(days=days)
        )


def test_purge_keeps_the_retention_window(settings):
    settings.SUBLARR_INCOMING_LOG_RETENTION_DAYS = 30
    _records(31, 30.01, 29.9, 1)

    assert services.incoming_requests_purge(dry_run=True) == 2
    assert services.incoming_requests_purge() == 2
    assert sorted(IncomingRequest.objects.values_list("source_name", flat=True)) == ["s2", "s3"]


def test_the_purge_command_and_its_bad_days(settings):
    _records(10, 1)
    out = StringIO()

    call_command("purge_incoming_requests", "--days", "5", stdout=out)

    assert out.getvalue() == "Deleted 1 incoming request records older than 5 days.\n"
    with pytest.raises(CommandError, match=r"^--days must be a whole number of days, 0 or more, not '-1'\.$"):
        call_command("purge_incoming_requests", "--days", "-1")


def test_migrate_creates_the_daily_purge_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=schedules.PURGE_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (schedules.PURGE_TASK, Schedule.DAILY, -1)


def test_changing_only_the_basic_username_keeps_the_stored_password(admin_client, make_source):
    incoming, _key = make_source(basic_username="old", basic_password="pass-word")

    response = admin_client.post(
        f"/admin/incoming/incomingsource/{incoming.pk}/change/", _form(basic_username="new", basic_password="")
    )

    assert response.status_code == 302
    incoming.refresh_from_db()
    assert services.basic_matches(incoming, "new", "pass-word")
    assert not services.basic_matches(incoming, "old", "pass-word")
