"""Test helpers: real servers and queue workers in subprocesses, service checks.

Used by every app's tests and by the fixtures in the root ``conftest.py``. It
sits outside the app layers (events, hooks, scoring, incoming, sublarr) so any
app's tests may import it without importing the project package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

BASE_DIR = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_available(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def require_service(name: str, host: str, port: int) -> None:
    """Skip the calling test when a server is unreachable — fail instead under CI=true."""
    if service_available(host, port):
        return
    message = f"{name} is unreachable at {host}:{port} (see shared/SERVICES.md to start it)"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(alias: str = "default") -> str:
    """The URL of the database this test process is using (the test database)."""
    params = connections[alias].settings_dict
    engine = params["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{params['NAME']}"
    if engine == "django.db.backends.postgresql":
        user = params.get("USER") or "postgres"
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        host = params.get("HOST") or "127.0.0.1"
        port = params.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"
    raise RuntimeError(f"no URL for database engine {engine}")


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a server, worker or command that shares this test run's state."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "sublarr.settings",
            "SUBLARR_DATA_DIR": str(settings.DATA_DIR),
            "SUBLARR_HOOKS_DIR": str(settings.HOOKS_DIR),
            "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "SUBLARR_WEBHOOK_ALLOW_LOOPBACK": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
        env["SUBLARR_REDIS_PREFIX"] = settings.REDIS_PREFIX
    env.update(extra)
    return env


def manage(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    check: bool = False,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` in a subprocess and return the completed process."""
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env or subprocess_env(),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        input=input,
    )


class Process:
    """A long-running subprocess in its own process group, stopped with the whole group."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv, env=env, cwd=BASE_DIR, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group (a crash when SIGKILL)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            # The leader only: django-q2's cluster deadlocks when its children
            # get SIGTERM together with the leader.
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Whatever the leader left behind (django-q2's worker processes).
        self.kill(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=5)
        self._log.close()


class Server(Process):
    """daphne serving sublarr.asgi on a free loopback port."""

    def __init__(self, env: dict[str, str], log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        daphne = str(Path(sys.executable).with_name("daphne"))
        super().__init__(
            [daphne, "-b", "127.0.0.1", "-p", str(self.port), "sublarr.asgi:application"],
            env,
            log_dir / f"daphne-{self.port}.log",
        )
        self.wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"daphne exited early:\n{self.log()}")
            if service_available("127.0.0.1", self.port, timeout=0.2):
                return
            time.sleep(0.1)
        raise RuntimeError(f"daphne did not listen on {self.port} within {timeout}s:\n{self.log()}")


class QueueWorker(Process):
    """A django-q2 cluster (``manage.py qcluster``)."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "worker") -> None:
        super().__init__(
            [sys.executable, str(BASE_DIR / "manage.py"), "qcluster"], env, log_dir / f"qcluster-{name}.log"
        )


def wait_for(predicate, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def stop_all(processes: Iterable[Process]) -> None:
    for process in processes:
        process.stop()


class OwnRedis:
    """A redis-server of a test's own on a free loopback port, to kill and restart (never the shared one).

    Keeps nothing on disk, like the shared server; ``restart()`` brings it back
    empty on the same port, as a crashed Redis without persistence comes back.
    """

    def __init__(self, log_dir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary: str = binary
        self.port = free_port()
        self.log_dir = log_dir
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        assert self.popen is None or self.popen.poll() is not None, "already running"
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.log_dir), "--logfile", str(self.log_dir / f"redis-{self.port}.log")]
        self.popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: service_available("127.0.0.1", self.port, timeout=0.2), timeout, message="redis-server")

    def kill(self) -> None:
        """SIGKILL the server (a crash: clients see connection errors at once)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self.kill()


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's ``bin`` directory (initdb, pg_ctl, postgres), or None."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for directory in reversed(candidates):
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    return None


class OwnPostgres:
    """A PostgreSQL cluster of a test's own (``initdb`` in a temporary directory, a free port) to stop and start.

    Never the shared server. PostgreSQL refuses to run as root, so under root
    the cluster belongs to the ``postgres`` user and every command runs as it
    (``runuser``). Trust authentication on 127.0.0.1 only, fsync off: a
    throwaway cluster, fast to create.
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        # Not under pytest's tmp_path: the postgres user must be able to reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="sublarr-own-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()

    def url(self, database: str = "sublarr") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / tool), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session (clients see it closed), ``immediate`` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        argv = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0

    def create_database(self, name: str = "sublarr") -> str:
        """Create database ``name`` and return its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        """Stop the server if it runs and remove the cluster."""
        with contextlib.suppress(Exception):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
