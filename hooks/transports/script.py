"""Run a user's script hook: checked path, clean environment, bounded time, output and concurrency.

This module is the transport (path, cwd, environment, slots, the Result);
the process itself is run by ``hooks.transports.script_process``.

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

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings

from events.types import Envelope
from hooks.scriptpath import ScriptPathError, resolve_script_path

from .base import HookError, Result, Transport
from .isolation import protect_process
from .script_env import envelope_bytes, script_environment
from .script_process import run_script


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


# --- Running


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
