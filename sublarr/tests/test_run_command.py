"""README step 2: ``./run`` serves admin + API + a queue worker, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

import testsupport

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} within {timeout}s; output so far:\n{out.decode(errors='replace')}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def _descendants(pid: int) -> set[int]:
    ps = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in ps.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def test_run_serves_and_ctrl_c_stops_everything(tmp_path):
    port = testsupport.free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update(
        SUBLARR_VENV=str(Path(sys.executable).parent.parent),
        SUBLARR_DATA_DIR=str(tmp_path / "data"),
        SUBLARR_PORT=str(port),
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal session running ./run, as a person would
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(testsupport.BASE_DIR)
        os.execvpe("./run", ["./run"], env)  # noqa: S606 - no shell on purpose

    descendants: set[int] = set()
    try:
        output = _read_until(fd, b"Ctrl-C stops everything", timeout=240)
        assert b"Created the admin account." in output
        assert b"password: " in output

        base = f"http://127.0.0.1:{port}"
        testsupport.wait_for(
            lambda: testsupport.service_available("127.0.0.1", port, 0.2), timeout=30, message="daphne"
        )
        login = urllib3.request("GET", f"{base}/admin/login/")
        schema = urllib3.request("GET", f"{base}/api/schema/")
        assert login.status == 200
        assert "Log in" in login.data.decode()
        assert schema.status == 200
        assert schema.data.decode().startswith("openapi: 3")

        def queue_worker_running() -> bool:
            commands = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
            procs = {int(line.split(None, 1)[0]): line for line in commands.splitlines() if line.strip()}
            return any("qcluster" in procs.get(p, "") for p in _descendants(pid))

        testsupport.wait_for(queue_worker_running, timeout=30, message="the queue worker")
        descendants = _descendants(pid)

        os.write(fd, b"\x03")  # Ctrl-C
        _read_until(fd, b"stopping", timeout=10)
        os.waitpid(pid, 0)
        pid = 0
        leftover = [p for p in descendants if Path(f"/proc/{p}").exists()]
        assert leftover == []
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for p in descendants:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        os.close(fd)
