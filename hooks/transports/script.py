"""Run a user's script hook: checked path, clean environment, bounded time, output and concurrency.

The contract (docs/HOOKS.md, DESIGN.md §5):

* the path is resolved again right before the run (``resolve_script_path``),
  and the real path found is what gets executed — argv list, no shell;
* cwd is a fresh temporary directory, removed afterwards;
* the environment holds only PATH, HOME and LANG from the server plus the
  SUBLARR_* variables built here; the envelope is also written to stdin and to
  ``event.json`` in the cwd (``SUBLARR_EVENT_DATA_FILE``);
* the script runs in its own session / process group; at the timeout the whole
  group gets SIGTERM, then SIGKILL a second later; when the script exits,
  whatever it left running in its group is killed;
* stdout and stderr are read in chunks as they come: the first
  ``SUBLARR_SCRIPT_OUTPUT_CAP`` bytes of each are kept, the rest is counted
  and dropped, so memory stays bounded whatever the script prints;
* at most ``SUBLARR_SCRIPT_CONCURRENCY`` scripts run at once per machine
  (lock files in the data dir, shared by every server and worker process);
* the script cannot read the secrets of the processes that start it: every
  process of the project marks itself non-dumpable (``protect_process``, from
  ``AppConfig.ready``), so ``/proc/<pid>/environ``, ``mem`` and ``maps`` of the
  worker, its django-q2 sentinel and the cluster's main process are closed to
  a script of the same user; a script started by root also loses
  CAP_SYS_PTRACE and the other capabilities that would open them anyway
  (``DROPPED_CAPABILITIES``). What a script can still read: docs/HOOKS.md.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fcntl
import logging
import os
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings

from events.types import Envelope
from hooks.scriptpath import ScriptPathError, resolve_script_path

from .base import HookError, Result, Transport
from .isolation import confine_child, protect_process
from .script_env import envelope_bytes, script_environment


class ScriptTarget(Protocol):
    """What a script run reads of its target (``hooks.models.HookConfig``)."""

    @property
    def name(self) -> str: ...

    @property
    def script_path(self) -> str: ...

    @property
    def timeout_seconds(self) -> int: ...


logger = logging.getLogger(__name__)

EVENT_FILE_NAME = "event.json"
CHUNK = 64 * 1024
TERM_GRACE_SECONDS = 1.0
DRAIN_SECONDS = 0.5


# --- Concurrency -----------------------------------------------------------


@contextlib.contextmanager
def script_slot() -> Iterator[int]:
    """Hold one of SUBLARR_SCRIPT_CONCURRENCY slots for this machine while a script runs.

    Slots are ``flock``-ed files under ``<data dir>/script-slots``: shared by
    every process (server, queue workers, CLI) and released by the kernel if a
    process dies. Waits up to SUBLARR_SCRIPT_SLOT_WAIT_SECONDS for a free slot.
    """
    slots = int(settings.SUBLARR_SCRIPT_CONCURRENCY)
    wait = float(settings.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS)
    directory = Path(settings.DATA_DIR) / "script-slots"
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    delay = 0.01
    while True:
        for index in range(slots):
            fd = os.open(directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield index
            finally:
                os.close(fd)  # releases the lock
            return
        if time.monotonic() >= deadline:
            raise HookError(
                f"All {slots} script slots stayed busy for {wait:g} s (SUBLARR_SCRIPT_CONCURRENCY); not run.",
                permanent=False,
                result=Result(success=False, extra={"slots_busy": True}),
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


# --- Running ---------------------------------------------------------------


@dataclass
class _Capture:
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
    stdout: _Capture
    stderr: _Capture
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


def _remove_tree(path: str) -> None:
    """Remove the run's cwd, even where the script took away its own permissions."""

    def make_writable(function: Callable[[str], object], failed_path: str, _exc_info: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed_path), stat.S_IRWXU)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, stat.S_IRWXU)
            function(failed_path)

    # onerror: Python 3.11 has no onexc yet.
    shutil.rmtree(path, onerror=make_writable)
    if os.path.lexists(path):
        logger.warning("Could not remove a script hook's temporary directory %s", path)


def run_script(path: Path, *, data: bytes, env: dict[str, str], cwd: str, timeout: float, output_cap: int) -> Run:
    """Run ``path`` with ``data`` on stdin; kill its process group at ``timeout``; keep capped output.

    Raises ``OSError`` when the file cannot be executed at all (bad ``#!`` line).
    """
    stdout, stderr = _Capture(output_cap), _Capture(output_cap)
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


def deliver(hook: ScriptTarget, envelope: Envelope, *, attempt: int = 1) -> Result:
    """Run ``hook``'s script for ``envelope``; return its Result or raise ``HookError``.

    Refused paths and scripts that cannot start are permanent failures; a
    non-zero exit, a death by signal or a timeout are plain failures.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        script = resolve_script_path(hook.script_path)
    except ScriptPathError as exc:
        message = f"Script refused: {exc.message}"
        raise HookError(message, permanent=True, result=Result(success=False, duration_ms=elapsed())) from None

    protect_process()  # already done at start; cheap, and a change of user id would have reset it
    data = envelope_bytes(envelope)
    cap = int(settings.SUBLARR_SCRIPT_OUTPUT_CAP)
    timeout = float(hook.timeout_seconds)
    with script_slot():
        cwd = tempfile.mkdtemp(prefix="sublarr-hook-")
        try:
            data_file = Path(cwd) / EVENT_FILE_NAME
            data_file.write_bytes(data + b"\n")
            env = script_environment(envelope, data=data, data_file=data_file)
            try:
                run = run_script(script, data=data + b"\n", env=env, cwd=cwd, timeout=timeout, output_cap=cap)
            except OSError as exc:
                hint = " (check its #! line)" if exc.errno in (errno.ENOENT, errno.ENOEXEC) else ""
                message = f"Script could not be started: {exc.strerror or exc}{hint}."
                raise HookError(message, permanent=True, result=Result(success=False, duration_ms=elapsed())) from None
        finally:
            _remove_tree(cwd)

    result = Result(
        success=run.exit_code == 0 and not run.timed_out,
        duration_ms=run.duration_ms,
        exit_code=run.exit_code,
        stdout=run.stdout.text(),
        stderr=run.stderr.text(),
        extra={
            "timed_out": run.timed_out,
            "stdout_bytes": run.stdout.total,
            "stderr_bytes": run.stderr.total,
            "stdout_truncated": run.stdout.truncated,
            "stderr_truncated": run.stderr.truncated,
            "script": str(script),
            "attempt": attempt,
        },
    )
    if run.timed_out:
        raise HookError(
            f"Timed out after {hook.timeout_seconds} s; the script's process group was killed.", result=result
        )
    if run.exit_code is not None and run.exit_code < 0:
        name = _signal_name(-run.exit_code)
        raise HookError(f"Script killed by signal {name}.", result=result)
    if run.exit_code != 0:
        raise HookError(f"Script exited with code {run.exit_code}.", result=result)
    return result


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class ScriptTransport(Transport[ScriptTarget]):
    """A script in SUBLARR_HOOKS_DIR (DESIGN.md §5); nothing of its request (environment, stdin) is logged."""

    kind = "script"
    label = "Script hook"

    def deliver(self, target: ScriptTarget, envelope: Envelope, *, attempt: int) -> Result:
        return deliver(target, envelope, attempt=attempt)

    def lease_seconds(self, timeout_seconds: int) -> float:
        # A script may first wait for a free slot.
        return super().lease_seconds(timeout_seconds) + float(settings.SUBLARR_SCRIPT_SLOT_WAIT_SECONDS)


TRANSPORT = ScriptTransport()
