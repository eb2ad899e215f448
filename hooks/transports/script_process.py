"""Run one process with bounded time and output: its own process group, killed whole at the timeout.

What ``hooks.transports.script`` runs a user's script with (the contract:
its module docstring, docs/HOOKS.md): stdin written and stdout/stderr read
in chunks as they come, the first ``output_cap`` bytes of each kept and the
rest counted and dropped; at the timeout SIGTERM to the group, SIGKILL
``TERM_GRACE_SECONDS`` later; when the process exits, whatever it left in its
group is killed.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .isolation import confine_child

CHUNK = 64 * 1024
TERM_GRACE_SECONDS = 1.0
DRAIN_SECONDS = 0.5


@dataclass
class Capture:
    """The first ``cap`` bytes of a stream; the rest only counted."""

    cap: int
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)

    def text(self) -> str:
        # Drop a multi-byte character cut at the cap rather than show U+FFFD;
        # NUL cannot be stored in a PostgreSQL text column.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(bytes(self.kept), final=not self.truncated)
        return text.replace("\x00", "")


@dataclass
class Run:
    """What one script process did."""

    exit_code: int | None
    stdout: Capture
    stderr: Capture
    timed_out: bool
    duration_ms: int
    stdin_written: int


def _leader_exited(pid: int) -> bool:
    """Whether the script process exited, without reaping it (its pid keeps the group's id reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_script(path: Path, *, data: bytes, env: dict[str, str], cwd: str, timeout: float, output_cap: int) -> Run:
    """Run ``path`` with ``data`` on stdin; kill its process group at ``timeout``; keep capped output.

    Raises ``OSError`` when the file cannot be executed at all (bad ``#!`` line).
    """
    stdout, stderr = Capture(output_cap), Capture(output_cap)
    started = time.monotonic()
    process = subprocess.Popen(
        [str(path)],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
        bufsize=0,
        # fork+exec without the fast path only where there is something to drop.
        preexec_fn=confine_child if os.geteuid() == 0 else None,
    )
    # All three are pipes (PIPE above): never None.
    stdin_pipe, stdout_pipe, stderr_pipe = process.stdin, process.stdout, process.stderr
    assert stdin_pipe is not None
    assert stdout_pipe is not None
    assert stderr_pipe is not None
    pid = process.pid
    pidfd: int | None = None
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(pid)

    selector = selectors.DefaultSelector()
    readers = {stdout_pipe.fileno(): stdout, stderr_pipe.fileno(): stderr}
    for fd in readers:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    write_fd = stdin_pipe.fileno()
    stdin_fd: int | None = write_fd
    os.set_blocking(write_fd, False)
    view = memoryview(data)
    written = 0
    if data:
        selector.register(write_fd, selectors.EVENT_WRITE)
    else:
        stdin_pipe.close()
        stdin_fd = None
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ)

    def close_stdin() -> None:
        nonlocal stdin_fd
        if stdin_fd is not None:
            with contextlib.suppress(KeyError):
                selector.unregister(stdin_fd)
            with contextlib.suppress(OSError):
                stdin_pipe.close()
            stdin_fd = None

    deadline = started + timeout
    exited = False
    timed_out = False
    kill_at: float | None = None
    stop_reading_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            if not exited and _leader_exited(pid):
                exited = True
                close_stdin()
                if pidfd is not None:
                    selector.unregister(pidfd)
                # Whatever the script left running in its group goes with it.
                _kill_group(pid, signal.SIGKILL)
                kill_at = None
                stop_reading_at = now + DRAIN_SECONDS
            if not exited and not timed_out and now >= deadline:
                timed_out = True
                close_stdin()
                _kill_group(pid, signal.SIGTERM)
                kill_at = now + TERM_GRACE_SECONDS
            if kill_at is not None and now >= kill_at:
                _kill_group(pid, signal.SIGKILL)
                kill_at = None
            if exited and not readers:
                break
            if stop_reading_at is not None and now >= stop_reading_at:
                # A process that left the group (setsid) still holds a pipe: stop waiting for it.
                break

            wakeups = [t for t in (deadline if not timed_out else None, kill_at, stop_reading_at) if t is not None]
            wait = max(0.0, min(wakeups) - now) if wakeups else 0.05
            if pidfd is None and not exited:
                wait = min(wait, 0.05)
            if not selector.get_map():
                time.sleep(min(wait, 0.05))
                continue
            for key, _events in selector.select(timeout=wait):
                fd = key.fd
                if fd == pidfd:
                    continue  # handled by _leader_exited at the top of the loop
                if fd == stdin_fd:
                    try:
                        written += os.write(fd, view[written : written + CHUNK])
                    except BlockingIOError:
                        continue
                    except OSError as exc:  # EPIPE: the script closed stdin or never reads it
                        if exc.errno not in (errno.EPIPE, errno.EINVAL):
                            raise
                        close_stdin()
                        continue
                    if written >= len(view):
                        close_stdin()
                    continue
                try:
                    chunk = os.read(fd, CHUNK)
                except BlockingIOError:
                    continue
                if chunk:
                    readers[fd].feed(chunk)
                else:
                    selector.unregister(fd)
                    del readers[fd]
    finally:
        # Never leave anything behind, whatever happened above.
        _kill_group(pid, signal.SIGKILL)
        close_stdin()
        selector.close()
        for stream in (stdout_pipe, stderr_pipe):
            with contextlib.suppress(OSError):
                stream.close()
        if pidfd is not None:
            os.close(pidfd)
        process.wait()
    return Run(
        exit_code=process.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        stdin_written=written,
    )
