"""Fixtures shared by every app's tests.

Profiles: the suite runs once per profile (``./run test``). Tests marked
``scaleout`` need REDIS_URL and PostgreSQL and are skipped in the embedded
pass; tests marked ``embedded`` are skipped in the scale-out pass. A test that
needs a server which is unreachable skips with the reason — or fails under
CI=true (``sublarr.testsupport.require_service``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

import testsupport

_scaleout_passed: list[str] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [
        f"sublarr profile: {settings.PROFILE} (database: {engine}, "
        f"redis: {'yes' if settings.REDIS_URL else 'no'}, data dir: {settings.DATA_DIR})"
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    for item in items:
        if "scaleout" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="scale-out profile only: runs in ./run test's second pass"))
        if "embedded" in item.keywords and settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="embedded profile only"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "scaleout" in report.keywords:
        _scaleout_passed.append(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:
    from django.conf import settings

    if settings.REDIS_URL:
        terminalreporter.write_line(f"scale-out tests passed: {len(_scaleout_passed)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from django.conf import settings

    if settings.REDIS_URL and testsupport.service_available(*_redis_host_port(settings.REDIS_URL)):
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"*{settings.REDIS_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    if os.environ.get("SUBLARR_TEST_OWNS_DATA_DIR") == "1":
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


def _redis_host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379


# --- Services ------------------------------------------------------------


@pytest.fixture
def redis_url(settings) -> str:
    """The Redis server of the scale-out profile (skip/fail when unreachable)."""
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is unset (embedded profile)")
    testsupport.require_service("Redis", *_redis_host_port(settings.REDIS_URL))
    return settings.REDIS_URL


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Let the test databases be dropped at the end of the run.

    Threads of this process (sync_to_async, tests that race two claimers)
    keep persistent connections of their own; on PostgreSQL one of them
    blocks DROP DATABASE and the run's database would be left behind.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    from django.db import OperationalError

    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except OperationalError:
        pass  # a run whose tests used no database: there is nothing to drop, nor to connect to


@pytest.fixture(autouse=True)
def _stop_delivery_dispatcher(django_db_blocker) -> Iterator[None]:
    """A test that started this process's delivery dispatcher (a drain, an attempt) stops it when it ends.

    Otherwise its sweeper would go on sweeping in later tests — whose database
    it cannot reach — logging a failed sweep every second into their logs.
    """
    yield
    from hooks.delivery import worker

    if worker.running_dispatcher() is not None:
        with django_db_blocker.unblock():
            worker.dispatcher_stop()


# --- API clients -----------------------------------------------------------


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="staff-pass-1", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user(username="plain", password="plain-pass-1")


def _token_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def staff_client(staff_user):
    """An API client authenticated with a staff user's token."""
    return _token_client(staff_user)


@pytest.fixture
def user_client(plain_user):
    """An API client authenticated as a non-staff user."""
    return _token_client(plain_user)


@pytest.fixture
def anon_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def staff_token(staff_user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=staff_user)[0].key


@pytest.fixture
def user_token(plain_user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=plain_user)[0].key


# --- Real processes --------------------------------------------------------


@pytest.fixture(scope="session")
def _channels_db(django_db_setup, django_db_blocker) -> None:
    """Create the embedded channel layer's SQLite tables for subprocess servers."""
    from django.conf import settings

    if settings.REDIS_URL:
        return
    with django_db_blocker.unblock():
        env = testsupport.subprocess_env()
    result = testsupport.manage("migrate", "--database", "channels", "--no-input", "-v0", env=env)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def proc_env(transactional_db, _channels_db) -> dict[str, str]:
    """Environment for subprocesses sharing this test's (committed) database."""
    return testsupport.subprocess_env()


@pytest.fixture
def start_server(proc_env, tmp_path) -> Iterator[Callable[..., testsupport.Server]]:
    """Start daphne subprocesses serving this project; all stopped at teardown."""
    started: list[testsupport.Process] = []

    def start(**env: str) -> testsupport.Server:
        server = testsupport.Server({**proc_env, **env}, tmp_path)
        started.append(server)
        return server

    yield start
    testsupport.stop_all(started)


@pytest.fixture
def start_worker(proc_env, tmp_path) -> Iterator[Callable[..., testsupport.QueueWorker]]:
    """Start django-q2 clusters in subprocesses; all stopped at teardown."""
    started: list[testsupport.Process] = []

    def start(name: str = "worker", **env: str) -> testsupport.QueueWorker:
        worker = testsupport.QueueWorker({**proc_env, **env}, tmp_path, name=f"{name}-{len(started)}")
        started.append(worker)
        return worker

    yield start
    testsupport.stop_all(started)


@pytest.fixture
def config_events() -> Iterator[list[dict]]:
    """The data of every config_updated event sent (on commit) during the test."""
    sent: list[dict] = []

    def receiver(sender: str, envelope: dict, **kwargs: object) -> None:
        sent.append(envelope["data"])

    from events.catalog import EVENT_CATALOG

    signal = EVENT_CATALOG["config_updated"].signal
    signal.connect(receiver, dispatch_uid="tests.config_events", weak=False)
    yield sent
    signal.disconnect(dispatch_uid="tests.config_events")


@pytest.fixture
def no_hook_targets() -> None:
    """This process's hook subscriptions read again from the database (which the test starts empty).

    A test that created a webhook in a transaction rolled back at its end
    leaves the process believing the event has subscribers until the next
    refresh: an emit then writes an outbox row, which on SQLite waits for any
    other thread's open transaction.
    """
    from hooks import subscriptions

    subscriptions.subscriptions_changed()


@pytest.fixture
def emitted() -> Iterator[list[dict]]:
    """Envelopes sent on any catalog signal during the test."""
    from events.catalog import EVENT_CATALOG

    received: list[dict] = []

    def receiver(sender, envelope, **kwargs):
        received.append(envelope)

    for spec in EVENT_CATALOG.values():
        spec.signal.connect(receiver, dispatch_uid=f"test-emitted-{spec.name}", weak=False)
    yield received
    for spec in EVENT_CATALOG.values():
        spec.signal.disconnect(dispatch_uid=f"test-emitted-{spec.name}")


@pytest.fixture
def own_redis(tmp_path) -> Iterator[testsupport.OwnRedis]:
    """A redis-server of this test's own (free port, nothing on disk) that the test may kill and restart."""
    if shutil.which("redis-server") is None:
        if testsupport.IN_CI:
            pytest.fail("redis-server is not installed; CI=true requires it for the fault tests")
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    server = testsupport.OwnRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def own_postgres() -> Iterator[testsupport.OwnPostgres]:
    """A PostgreSQL cluster of this test's own (initdb on a free port) that the test may stop and start."""
    bin_dir = testsupport.postgres_bin_dir()
    if bin_dir is None:
        if testsupport.IN_CI:
            pytest.fail("the PostgreSQL server binaries are not installed; CI=true requires them for the fault tests")
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed (Debian package postgresql)")
    server = testsupport.OwnPostgres(bin_dir)
    yield server
    server.close()


@pytest.fixture
def hooks_dir(settings) -> Path:
    """An empty SUBLARR_HOOKS_DIR for this test."""
    path: Path = settings.HOOKS_DIR
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
