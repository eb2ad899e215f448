"""Log retention: hook_logs_purge, manage.py purge_hook_logs, and the daily django-q2 schedule."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

import testsupport
from hooks import schedules, services
from hooks.models import HookLog

pytestmark = pytest.mark.django_db


def make_logs(*days_ago: float) -> list[HookLog]:
    now = timezone.now()
    return [
        HookLog.objects.create(
            hook_name=f"h{i}",
            event_name="batch_complete",
            hook_type="script",
            success=True,
            triggered_at=now - timedelta(days=days),
        )
        for i, days in enumerate(days_ago)
    ]


def remaining() -> list[str]:
    return sorted(HookLog.objects.values_list("hook_name", flat=True))


def test_purge_uses_the_retention_setting(settings):
    settings.SUBLARR_HOOK_LOG_RETENTION_DAYS = 30
    make_logs(31, 30.01, 29.9, 1)
    assert services.hook_logs_purge() == 2
    assert remaining() == ["h2", "h3"]


def test_purge_with_explicit_days_and_a_changed_setting(settings):
    settings.SUBLARR_HOOK_LOG_RETENTION_DAYS = 5
    make_logs(6, 4, 2)
    assert services.hook_logs_purge() == 1
    assert services.hook_logs_purge(older_than_days=3) == 1
    assert remaining() == ["h2"]
    assert services.hook_logs_purge(older_than_days=0) == 1
    assert remaining() == []


def test_dry_run_counts_without_deleting():
    make_logs(40, 35, 1)
    assert services.hook_logs_purge(older_than_days=30, dry_run=True) == 2
    assert HookLog.objects.count() == 3


def test_purge_deletes_in_batches(monkeypatch):
    monkeypatch.setattr(services, "PURGE_BATCH_SIZE", 3)
    make_logs(*[40] * 10, 1)
    assert services.hook_logs_purge(older_than_days=30) == 10
    assert remaining() == ["h10"]


@pytest.mark.parametrize("days", [-1, "7", 1.5, True])
def test_purge_refuses_bad_days(days):
    with pytest.raises(ValueError, match=r"older_than_days must be a whole number of days, 0 or more, not "):
        services.hook_logs_purge(older_than_days=days)


def test_command_purges_and_reports(settings):
    settings.SUBLARR_HOOK_LOG_RETENTION_DAYS = 30
    make_logs(45, 20, 1)
    out = StringIO()
    call_command("purge_hook_logs", stdout=out)
    assert out.getvalue() == "Deleted 1 hook log rows older than 30 days.\n"
    out = StringIO()
    call_command("purge_hook_logs", "--days", "10", "--dry-run", stdout=out)
    assert out.getvalue() == "Would delete 1 hook log rows older than 10 days.\n"
    assert HookLog.objects.count() == 2
    out = StringIO()
    call_command("purge_hook_logs", "--days", "10", stdout=out)
    assert out.getvalue() == "Deleted 1 hook log rows older than 10 days.\n"
    assert remaining() == ["h2"]


@pytest.mark.parametrize("days", ["-3", "ten"])
def test_command_refuses_bad_days(days):
    with pytest.raises(CommandError, match=rf"^--days must be a whole number of days, 0 or more, not '{days}'\.$"):
        call_command("purge_hook_logs", "--days", days)


def test_command_in_a_subprocess_exits_non_zero_on_bad_input(proc_env):
    result = testsupport.manage("purge_hook_logs", "--days", "ten", env=proc_env)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --days must be a whole number of days, 0 or more, not 'ten'."
    ok = testsupport.manage("purge_hook_logs", "--dry-run", env=proc_env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "Would delete 0 hook log rows older than 30 days.\n"


# --- The daily schedule --------------------------------------------------------------


def test_migrate_ensures_a_daily_purge_schedule():
    Schedule.objects.filter(name=schedules.PURGE_SCHEDULE_NAME).delete()
    call_command("migrate", verbosity=0)
    schedule = Schedule.objects.get(name=schedules.PURGE_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "hooks.schedules.purge_hook_logs",
        Schedule.DAILY,
        -1,
    )
    # First run a day out, not at once when a worker starts.
    assert schedule.next_run > timezone.now() + timedelta(hours=23)


def test_ensure_schedules_is_idempotent_and_repairs_the_schedule():
    schedules.ensure_schedules()
    schedules.ensure_schedules()
    assert Schedule.objects.filter(name=schedules.PURGE_SCHEDULE_NAME).count() == 1
    Schedule.objects.filter(name=schedules.PURGE_SCHEDULE_NAME).update(func="old.path", schedule_type=Schedule.HOURLY)
    schedules.ensure_schedules()
    schedule = Schedule.objects.get(name=schedules.PURGE_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type) == (schedules.PURGE_TASK, Schedule.DAILY)


def test_the_scheduled_function_runs_through_django_q(settings):
    settings.SUBLARR_HOOK_LOG_RETENTION_DAYS = 30
    make_logs(60, 1)
    # sync=True resolves the dotted path and runs it the way a worker would.
    async_task(schedules.PURGE_TASK, sync=True)
    assert remaining() == ["h1"]


@pytest.mark.slow
def test_a_fresh_install_gets_the_schedule_and_migrating_hooks_alone_works(tmp_path):
    env = testsupport.subprocess_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    partial = testsupport.manage("migrate", "hooks", "-v0", env=env)
    assert partial.returncode == 0, partial.stderr
    full = testsupport.manage("migrate", "-v0", env=env)
    assert full.returncode == 0, full.stderr
    shown = testsupport.manage(
        "shell",
        "-c",
        "from django_q.models import Schedule; "
        "print(list(Schedule.objects.filter(func__startswith='hooks.').values_list('name', 'func', 'schedule_type')))",
        env=env,
    )
    assert shown.stdout.strip().splitlines()[-1] == (
        "[('sublarr: purge old hook logs', 'hooks.schedules.purge_hook_logs', 'D')]"
    )
