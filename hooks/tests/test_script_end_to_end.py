"""An emitted event runs its script hooks in a real queue worker: HookLog rows, stats, timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

import testsupport
from events import emit_event
from hooks import services
from hooks.models import HookConfig, HookLog

pytestmark = [pytest.mark.slow]


def _write(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


def _log_of(hook: HookConfig, count: int = 1) -> list[HookLog]:
    def logs() -> list[HookLog] | None:
        rows = list(HookLog.objects.filter(hook=hook).order_by("id"))
        return rows if len(rows) >= count else None

    return testsupport.wait_for(logs, timeout=60, interval=0.1, message=f"{count} HookLog row(s) for {hook.name}")


def test_emitted_event_runs_the_script_through_the_queue_and_logs_it(proc_env, hooks_dir, start_worker, tmp_path):
    seen = tmp_path / "seen"
    _write(
        hooks_dir / "on-subtitle.sh",
        "#!/bin/sh\n"
        f'echo "$SUBLARR_EVENT_ID $SUBLARR_SERIES_TITLE" >> {seen}\n'
        'echo "got $SUBLARR_SERIES_TITLE"\n'
        'if [ "$SUBLARR_SCORE" -lt 100 ]; then echo "score too low: $SUBLARR_SCORE" >&2; exit 3; fi\n',
    )
    hook = services.hook_create(
        name="On subtitle", event_name="subtitle_downloaded", script_path="on-subtitle.sh", source="api"
    )
    worker = start_worker()

    first = emit_event("subtitle_downloaded", {"series_title": "The Expanse", "score": 42})
    (log,) = _log_of(hook)

    assert log.success is False, worker.log()
    assert log.hook_type == "script"
    assert log.hook_name == "On subtitle"
    assert log.event_name == "subtitle_downloaded"
    assert str(log.event_id) == first["id"]
    assert log.exit_code == 3
    assert log.stdout == "got The Expanse\n"
    assert log.stderr == "score too low: 42\n"
    assert log.error == "Script exited with code 3."
    assert log.is_test is False
    hook.refresh_from_db()
    assert hook.trigger_count == 1
    assert hook.consecutive_failures == 1
    assert hook.last_status == HookConfig.Status.FAILED
    assert hook.last_triggered_at is not None

    second = emit_event("subtitle_downloaded", {"series_title": "Dark", "score": 400})
    _first_log, log = _log_of(hook, 2)

    assert log.success is True
    assert log.exit_code == 0
    assert log.stdout == "got Dark\n"
    assert log.stderr == ""
    assert log.error == ""
    hook.refresh_from_db()
    assert hook.trigger_count == 2
    assert hook.consecutive_failures == 0
    assert hook.last_status == HookConfig.Status.SUCCESS
    assert seen.read_text() == f"{first['id']} The Expanse\n{second['id']} Dark\n"


def test_a_hanging_script_is_timed_out_in_the_worker_and_its_group_killed(proc_env, hooks_dir, start_worker, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    _write(
        hooks_dir / "hang.sh",
        f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\necho waiting\nsleep 300\n",
    )
    hook = services.hook_create(
        name="Hang", event_name="batch_complete", script_path="hang.sh", timeout_seconds=1, source="api"
    )
    start_worker()

    emit_event("batch_complete", {"total": 1})
    (log,) = _log_of(hook)

    assert log.success is False
    assert log.error == "Timed out after 1 s; the script's process group was killed."
    assert log.stdout == "waiting\n"
    hook.refresh_from_db()
    assert hook.last_status == HookConfig.Status.TIMEOUT
    grandchild = int(pid_file.read_text())
    testsupport.wait_for(lambda: _gone(grandchild), timeout=10, message="the grandchild to be gone")


def _gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for its reaper."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines())


def test_a_script_replaced_by_a_symlink_out_after_saving_is_refused_in_the_worker(
    proc_env, hooks_dir, start_worker, tmp_path
):
    marker = tmp_path / "ran"
    _write(hooks_dir / "notify.sh", "#!/bin/sh\nexit 0\n")
    hook = services.hook_create(name="Notify", event_name="batch_complete", script_path="notify.sh", source="api")
    _write(tmp_path / "evil.sh", f"#!/bin/sh\ntouch {marker}\n")
    (hooks_dir / "notify.sh").unlink()
    (hooks_dir / "notify.sh").symlink_to(tmp_path / "evil.sh")
    start_worker()

    emit_event("batch_complete", {"total": 1})
    (log,) = _log_of(hook)

    assert log.success is False
    assert log.exit_code is None
    assert log.error == "Script refused: Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."
    assert not marker.exists()
