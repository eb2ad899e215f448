"""A script hook's timeout kills its whole process group; nothing it started is left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import testsupport
from events.services import build_envelope
from events.types import Envelope
from hooks.models import HookConfig
from hooks.transports import HookError
from hooks.transports.script import deliver

pytestmark = pytest.mark.slow


def _write(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def _envelope() -> Envelope:
    return build_envelope("batch_complete", {"total": 3})


def test_timeout_kills_the_script_and_a_grandchild_holding_stdout_open(hooks_dir, tmp_path):
    pids = tmp_path / "pids"
    _write(
        hooks_dir / "hang.sh",
        "#!/bin/sh\n"
        "sleep 300 &\n"  # the grandchild inherits stdout and would keep the pipe open
        f"echo $$ $! > '{pids}'\n"
        "echo started\n"
        "sleep 300\n",
    )
    started = time.monotonic()
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="hang.sh", timeout_seconds=2), _envelope())
    elapsed = time.monotonic() - started

    error = excinfo.value
    assert error.message == "Timed out after 2 s; the script's process group was killed."
    assert error.permanent is False
    assert error.result.success is False
    assert error.result.error == error.message
    assert error.result.extra["timed_out"] is True
    assert error.result.stdout == "started\n"
    assert error.result.exit_code is not None
    assert error.result.exit_code < 0
    assert elapsed < 2 + 2, f"run took {elapsed:.2f}s"
    script_pid, grandchild_pid = _pids(pids)
    testsupport.wait_for(lambda: not _alive(grandchild_pid), timeout=5, message="the grandchild to be gone")
    assert not _alive(script_pid)


def test_timeout_kills_processes_that_ignore_sigterm(hooks_dir, tmp_path):
    pids = tmp_path / "pids"
    _write(
        hooks_dir / "stubborn.sh",
        "#!/bin/sh\n"
        "trap '' TERM\n"
        "sh -c 'trap \"\" TERM; while :; do sleep 1; done' &\n"
        f"echo $$ $! > '{pids}'\n"
        "while :; do sleep 1; done\n",
    )
    started = time.monotonic()
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="stubborn.sh", timeout_seconds=1), _envelope())
    elapsed = time.monotonic() - started

    assert excinfo.value.result.extra["timed_out"] is True
    assert excinfo.value.result.exit_code == -9
    assert elapsed < 1 + 2, f"run took {elapsed:.2f}s"
    for pid in _pids(pids):
        testsupport.wait_for(lambda pid=pid: not _alive(pid), timeout=5, message=f"process {pid} to be gone")


def test_background_process_left_running_after_the_script_exits_is_killed(hooks_dir, tmp_path):
    pids = tmp_path / "pids"
    _write(
        hooks_dir / "leave.sh",
        f"#!/bin/sh\nsleep 300 &\necho $! > '{pids}'\necho bye\nexit 0\n",
    )
    started = time.monotonic()
    result = deliver(HookConfig(script_path="leave.sh", timeout_seconds=30), _envelope())

    assert result.success is True
    assert result.stdout == "bye\n"
    assert result.extra["timed_out"] is False
    # Not held up by the sleeper's open stdout until the 30 s timeout.
    assert time.monotonic() - started < 15
    (grandchild,) = _pids(pids)
    testsupport.wait_for(lambda: not _alive(grandchild), timeout=5, message="the background process to be gone")


def test_script_that_closes_its_output_and_keeps_running_is_still_timed_out(hooks_dir):
    _write(hooks_dir / "quiet.sh", "#!/bin/sh\nexec >&- 2>&-\nsleep 300\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="quiet.sh", timeout_seconds=1), _envelope())
    assert excinfo.value.result.extra["timed_out"] is True


def test_non_zero_exit_is_a_failure_with_its_exit_code_and_stderr(hooks_dir):
    _write(hooks_dir / "fail.sh", "#!/bin/sh\necho partial\necho 'boom: disk full' >&2\nexit 7\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="fail.sh"), _envelope())

    error = excinfo.value
    assert error.message == "Script exited with code 7."
    assert error.permanent is False
    assert error.result.success is False
    assert error.result.exit_code == 7
    assert error.result.stdout == "partial\n"
    assert error.result.stderr == "boom: disk full\n"
    assert error.result.error == "Script exited with code 7."
    assert error.result.extra["timed_out"] is False


def test_death_by_signal_is_a_failure_naming_the_signal(hooks_dir):
    _write(hooks_dir / "sig.sh", "#!/bin/sh\nkill -USR1 $$\nsleep 5\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="sig.sh"), _envelope())
    assert excinfo.value.message == "Script killed by signal SIGUSR1."
    assert excinfo.value.result.exit_code == -10


def test_success_reports_exit_code_zero_and_duration(hooks_dir):
    _write(hooks_dir / "ok.sh", "#!/bin/sh\nsleep 0.3\necho ok\n")
    result = deliver(HookConfig(script_path="ok.sh"), _envelope())
    assert result.success is True
    assert result.exit_code == 0
    assert result.error == ""
    assert result.stderr == ""
    assert result.duration_ms >= 300


def test_script_without_a_usable_interpreter_is_a_permanent_failure(hooks_dir):
    _write(hooks_dir / "bad.sh", "#!/nonexistent/interpreter\necho never\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="bad.sh"), _envelope())
    assert excinfo.value.message == "Script could not be started: No such file or directory (check its #! line)."
    assert excinfo.value.permanent is True


def test_script_without_a_shebang_line_is_a_permanent_failure(hooks_dir):
    _write(hooks_dir / "noshebang.sh", "echo never\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="noshebang.sh"), _envelope())
    assert excinfo.value.message == "Script could not be started: Exec format error (check its #! line)."
    assert excinfo.value.permanent is True


def test_no_temporary_directory_is_left_after_a_timeout(hooks_dir, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    _write(hooks_dir / "hang.sh", "#!/bin/sh\nmkdir -p deep/er && chmod 000 deep\nsleep 300\n")
    with pytest.raises(HookError):
        deliver(HookConfig(script_path="hang.sh", timeout_seconds=1), _envelope())
    assert os.listdir(scratch) == []
