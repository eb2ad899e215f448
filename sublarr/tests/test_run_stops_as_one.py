"""``./run`` serves as one: whichever child stops, the other is stopped; a taken port stops it before anything starts.

Every process ``./run`` starts inherits its ``SUBLARR_DATA_DIR``, a directory
of the test's own; "nothing left" means no live process in /proc carries it,
wherever it was reparented.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import testsupport

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def _proc_stat(pid: int) -> tuple[str, int, int]:
    """State, parent pid and process group of ``pid`` (from /proc/PID/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _processes_of(data_dir: Path) -> dict[int, str]:
    """Live processes (pid -> command line) whose environment holds SUBLARR_DATA_DIR=data_dir."""
    marker = f"SUBLARR_DATA_DIR={data_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            # A zombie has stopped running; only its parent's wait() is missing.
            if _proc_stat(pid)[0] == "Z":
                continue
            found[pid] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def _kill_all_of(data_dir: Path) -> None:
    """SIGKILL every process group that holds a process of ``data_dir`` (a failed test's orphans)."""
    for _ in range(50):
        processes = _processes_of(data_dir)
        if not processes:
            return
        for pid in processes:
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                group = _proc_stat(pid)[2]
                if group != os.getpgrp():
                    os.killpg(group, signal.SIGKILL)
        time.sleep(0.1)


def _run_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SUBLARR_")
        and key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update(
        # The existing virtualenv: nothing is installed.
        SUBLARR_VENV=str(Path(sys.executable).parent.parent),
        SUBLARR_DATA_DIR=str(data_dir),
        SUBLARR_PORT=str(port),
    )
    return env


class RunningRun:
    """``./run`` serving in a subprocess, its output in files."""

    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.port = testsupport.free_port()
        self.stdout_path, self.stderr_path = tmp_path / "run.out", tmp_path / "run.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(
                ["./run"],
                cwd=testsupport.BASE_DIR,
                env=_run_env(self.data_dir, self.port),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def child(self, word: str) -> int:
        """The pid of ./run's direct child whose command line contains ``word``."""
        return next(
            pid
            for pid, cmdline in _processes_of(self.data_dir).items()
            if word in cmdline and _proc_stat(pid)[1] == self.popen.pid
        )

    def wait_serving(self) -> None:
        """Wait until daphne answers and the queue worker has its worker processes."""

        def ready() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"./run exited early:\n{self.stdout_path.read_text()}{self.stderr()}")
            qcluster = [c for c in _processes_of(self.data_dir).values() if "qcluster" in c]
            # Leader, sentinel, monitor, pusher and SUBLARR_QUEUE_WORKERS (2) workers.
            return len(qcluster) >= 4 and testsupport.service_available("127.0.0.1", self.port, 0.2)

        testsupport.wait_for(ready, timeout=240, interval=0.2, message="./run to serve")

    def cleanup(self) -> None:
        _kill_all_of(self.data_dir)
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


@pytest.fixture
def run(tmp_path) -> Iterator[RunningRun]:
    running = RunningRun(tmp_path)
    yield running
    running.cleanup()


@pytest.mark.parametrize(
    ("killed", "name"),
    [("qcluster", "the queue worker (qcluster)"), ("daphne", "the server (daphne)")],
    ids=["queue-worker", "server"],
)
def test_run_stops_everything_when_one_child_dies(run, killed, name):
    run.wait_serving()
    assert any("daphne" in c for c in _processes_of(run.data_dir).values())

    os.killpg(_proc_stat(run.child(killed))[2], signal.SIGKILL)

    assert run.popen.wait(timeout=60) == 128 + signal.SIGKILL
    assert f"==> {name} exited with status {128 + signal.SIGKILL}\n" in run.stderr()
    testsupport.wait_for(lambda: not _processes_of(run.data_dir), timeout=10, message="every process of ./run to end")
    assert not testsupport.service_available("127.0.0.1", run.port, 0.2)


def test_run_refuses_a_port_in_use_in_one_line_and_starts_nothing(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["./run"],
            cwd=testsupport.BASE_DIR,
            env=_run_env(data_dir, port),
            capture_output=True,
            text=True,
            timeout=240,
            start_new_session=True,
        )
        leftover = _processes_of(data_dir)
        _kill_all_of(data_dir)

    assert result.returncode == 1
    assert result.stderr == (
        f"sublarr: port {port} on 127.0.0.1 is already in use; stop what uses it or set SUBLARR_PORT to a free port\n"
    )
    assert leftover == {}


@pytest.mark.parametrize(
    ("command", "installed"),
    [("setup", "requirements.txt"), ("setup-dev", "requirements-dev.txt")],
)
def test_run_setup_installs_only_runtime_requirements_and_setup_dev_the_test_ones(tmp_path, command, installed):
    # A virtualenv whose python records pip installs (the network boundary) and runs everything else for real.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    pip_log = tmp_path / "pip.log"
    python = venv / "bin" / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "-m pip" ]; then shift 2; echo "$*" >> {pip_log}; exit 0; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    env = {**_run_env(tmp_path / "data", testsupport.free_port()), "SUBLARR_VENV": str(venv)}

    result = subprocess.run(
        ["./run", command],
        cwd=testsupport.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,
    )

    assert result.returncode == 0, result.stderr
    assert pip_log.read_text() == f"install --quiet --disable-pip-version-check -r {installed}\n"
    assert (tmp_path / "data" / "sublarr.sqlite3").is_file()
