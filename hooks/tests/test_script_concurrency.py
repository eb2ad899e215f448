"""At most SUBLARR_SCRIPT_CONCURRENCY script hooks run at once on a machine."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from events.services import build_envelope
from hooks.models import HookConfig
from hooks.transports import HookError
from hooks.transports.script import deliver, script_slot


def _write(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


@pytest.fixture
def slots(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.SUBLARR_SCRIPT_CONCURRENCY = 1
    settings.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS = 30
    return settings


def _intervals(log: Path) -> list[tuple[float, float]]:
    rows = [line.split() for line in log.read_text().splitlines()]
    starts = {name: float(t) for kind, name, t in rows if kind == "start"}
    ends = {name: float(t) for kind, name, t in rows if kind == "end"}
    return sorted((starts[name], ends[name]) for name in starts)


@pytest.mark.slow
def test_runs_beyond_the_limit_wait_for_a_free_slot(hooks_dir, slots, tmp_path):
    log = tmp_path / "log"
    _write(
        hooks_dir / "slow.sh",
        "#!/bin/sh\n"
        f'echo "start $SUBLARR_TOTAL $(date +%s.%N)" >> {log}\n'
        "sleep 0.4\n"
        f'echo "end $SUBLARR_TOTAL $(date +%s.%N)" >> {log}\n',
    )
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            deliver(HookConfig(script_path="slow.sh"), build_envelope("batch_complete", {"total": n}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    intervals = _intervals(log)
    assert len(intervals) == 3
    for (_, end), (next_start, _) in itertools.pairwise(intervals):
        assert end <= next_start, f"runs overlapped: {intervals}"


def test_no_free_slot_within_the_wait_fails_without_running(hooks_dir, slots, tmp_path):
    slots.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS = 0
    marker = tmp_path / "ran"
    _write(hooks_dir / "mark.sh", f"#!/bin/sh\ntouch '{marker}'\n")
    with script_slot(), pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="mark.sh"), build_envelope("batch_complete", {"total": 1}))

    assert excinfo.value.message == ("All 1 script slots stayed busy for 0 s (SUBLARR_SCRIPT_CONCURRENCY); not run.")
    assert excinfo.value.permanent is False
    assert excinfo.value.result.extra == {"slots_busy": True}
    assert not marker.exists()


def test_slots_are_shared_with_other_processes(hooks_dir, slots, tmp_path):
    slots.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS = 0
    lock = Path(slots.DATA_DIR) / "script-slots" / "slot-0.lock"
    lock.parent.mkdir(parents=True)
    _write(hooks_dir / "ok.sh", "#!/bin/sh\nexit 0\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"f = open({str(lock)!r}, 'a')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(HookError):
            deliver(HookConfig(script_path="ok.sh"), build_envelope("batch_complete", {"total": 1}))
    finally:
        holder.stdin.close()
        holder.wait(10)
    # Released when the holder exits (also when it dies): runs again.
    assert deliver(HookConfig(script_path="ok.sh"), build_envelope("batch_complete", {"total": 1})).success


def test_a_second_slot_lets_a_second_script_run(hooks_dir, slots):
    slots.SUBLARR_SCRIPT_CONCURRENCY = 2
    slots.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS = 0
    _write(hooks_dir / "ok.sh", "#!/bin/sh\nexit 0\n")
    with script_slot() as held:
        result = deliver(HookConfig(script_path="ok.sh"), build_envelope("batch_complete", {"total": 1}))
    assert held == 0
    assert result.success is True
