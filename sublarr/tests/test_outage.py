"""Fault tests: PostgreSQL and Redis of the test's own, stopped and started while events are emitted.

Every event the API (202) or the CLI (exit 0) reported as accepted reaches a
local webhook receiver exactly once; every other one got the clear refusal
(503 JSON + Retry-After, exit 75). Never the shared servers: ``own_postgres``
and ``own_redis`` start servers of the test's own on free ports (the shared
PostgreSQL only ever ends this test's own session).
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
import threading
from collections.abc import Iterator

import psycopg
import pytest
import requests
from django.db import OperationalError, close_old_connections, connection
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import testsupport
from events import EventUnavailable, emit_event

pytestmark = [pytest.mark.faults, pytest.mark.scaleout, pytest.mark.slow]

FAST = {"SUBLARR_DELIVERY_SWEEP_SECONDS": "1", "SUBLARR_WEBHOOK_RETRY_SCHEDULE": "1"}
PAYLOAD = {"total": 1}


class Receiver:
    """A local webhook receiver counting the envelope ids it was sent."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.ids: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.ids[json.loads(request.get_data())["id"]] += 1
        return Response("", status=204)

    def received(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.ids)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    rec = Receiver(server)
    server.expect_request(re.compile(".*")).respond_with_handler(rec.handle)
    yield rec
    server.clear()
    server.stop()


def prepare(database_url: str, env: dict[str, str], receiver: Receiver) -> str:
    """Migrate the database, create a staff token and a webhook to ``receiver``; return the token."""
    result = testsupport.manage("migrate", "--no-input", "-v0", env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        "from hooks.models import WebhookConfig\n"
        "user = get_user_model().objects.create_user('staff', password='staff-pass-1', is_staff=True)\n"
        "WebhookConfig.objects.create(name='receiver', event_name='batch_complete', "
        f"url='http://127.0.0.1:{receiver.server.port}/hook')\n"
        "print(Token.objects.create(user=user).key)\n"
    )
    result = testsupport.manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


class Producer:
    """Emits ``batch_complete`` through the API and the CLI, recording what was accepted and what refused."""

    def __init__(self, server: testsupport.Server, token: str, env: dict[str, str]) -> None:
        self.server = server
        self.token = token
        self.env = env
        self.accepted: list[str] = []
        self.refused: list[str] = []

    def api(self) -> int:
        answer = requests.post(
            f"{self.server.url}/api/events/batch_complete/",
            json=PAYLOAD,
            headers={"Authorization": f"Token {self.token}"},
            timeout=60,
        )
        if answer.status_code == 202:
            self.accepted.append(answer.json()["id"])
        else:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"] == "application/json"
            assert answer.headers["Retry-After"] == "5"
            assert answer.json()["detail"] in {
                "The database is unavailable; retry in 5 s.",
                "Event batch_complete was not emitted: the database is unavailable; retry later.",
            }
            self.refused.append("api")
        return answer.status_code

    def cli(self) -> int:
        result = testsupport.manage("emit_event", "batch_complete", "--data", json.dumps(PAYLOAD), env=self.env)
        if result.returncode == 0:
            self.accepted.append(json.loads(result.stdout)["id"])
        else:
            assert result.returncode == 75, result.stderr
            assert result.stdout == ""
            assert result.stderr.splitlines()[-1].startswith(
                "CommandError: Event batch_complete was not emitted: the database is unavailable (OperationalError: "
            )
            assert "Traceback" not in result.stderr
            self.refused.append("cli")
        return result.returncode


def settled(database_url: str) -> bool:
    """Whether the outbox is empty and every delivery reached its final outcome."""
    with psycopg.connect(database_url, connect_timeout=5) as connection:
        waiting = connection.execute("SELECT count(*) FROM hooks_pendingevent").fetchone()
        open_deliveries = connection.execute(
            "SELECT count(*) FROM hooks_delivery WHERE status NOT IN ('succeeded', 'failed', 'skipped')"
        ).fetchone()
    return waiting == (0,) and open_deliveries == (0,)


def test_events_emitted_while_postgresql_is_stopped_are_refused_and_the_accepted_ones_delivered_once(
    own_postgres, own_redis, receiver, start_server, start_worker, tmp_path
):
    database_url = own_postgres.create_database()
    overrides = {"DATABASE_URL": database_url, "REDIS_URL": own_redis.url, "SUBLARR_REDIS_PREFIX": "fault", **FAST}
    env = testsupport.subprocess_env(**overrides)
    token = prepare(database_url, env, receiver)
    server = start_server(**overrides)
    start_worker("outage", **overrides)
    producer = Producer(server, token, env)

    for _ in range(5):
        assert producer.api() == 202
    assert producer.cli() == 0
    testsupport.wait_for(lambda: len(receiver.received()) == 6, timeout=60, message="the first events delivered")
    # Outcomes recorded too: an attempt whose outcome died with the database would be
    # repeated (at-least-once), and this test counts deliveries exactly.
    testsupport.wait_for(lambda: settled(database_url), timeout=60, message="the first deliveries final")

    own_postgres.stop("fast")
    for _ in range(5):
        assert producer.api() == 503
    assert producer.cli() == 75

    own_postgres.start()
    # The first requests after the restart may still meet the old connection's failure.
    testsupport.wait_for(lambda: producer.api() == 202, timeout=60, message="the API to accept events again")
    for _ in range(5):
        assert producer.api() == 202
    assert producer.cli() == 0

    testsupport.wait_for(
        lambda: set(receiver.received()) >= set(producer.accepted),
        timeout=120,
        message="every accepted event delivered",
    )
    testsupport.wait_for(lambda: settled(database_url), timeout=60, message="every delivery final")
    received = receiver.received()
    assert sorted(received) == sorted(producer.accepted)
    assert set(received.values()) == {1}
    assert producer.refused.count("cli") == 1
    assert producer.refused.count("api") >= 5
    log = server.log()
    assert log.count("The database is unavailable (OperationalError: ") == 1
    assert "Traceback" not in log


def test_with_redis_killed_the_cli_prints_the_envelope_and_exits_0_and_the_event_is_delivered_once(
    own_postgres, own_redis, receiver, start_worker
):
    database_url = own_postgres.create_database()
    overrides = {"DATABASE_URL": database_url, "REDIS_URL": own_redis.url, "SUBLARR_REDIS_PREFIX": "fault", **FAST}
    env = testsupport.subprocess_env(**overrides)
    prepare(database_url, env, receiver)
    worker = start_worker("redis-outage", **overrides)
    # django-q2's cluster needs its broker to start; once running it outlives an outage.
    testsupport.wait_for(lambda: "running" in worker.log().lower(), timeout=60, message="the queue worker running")

    own_redis.kill()
    result = testsupport.manage("emit_event", "batch_complete", "--data", json.dumps(PAYLOAD), env=env)

    assert result.returncode == 0, result.stderr
    during = json.loads(result.stdout)["id"]
    assert (
        f"Warning: the channel layer refused event {during} (see the log); "
        "WebSocket clients will not receive it (hooks and webhooks will)."
    ) in result.stderr.splitlines()
    # The outbox row is in PostgreSQL: a worker's sweep delivers it while Redis is still down.
    testsupport.wait_for(lambda: receiver.received(), timeout=60, message="the event delivered during the outage")

    own_redis.start()  # empty, as a Redis without persistence comes back
    result = testsupport.manage("emit_event", "batch_complete", "--data", json.dumps(PAYLOAD), env=env)
    assert result.returncode == 0, result.stderr
    after = json.loads(result.stdout)["id"]
    testsupport.wait_for(lambda: len(receiver.received()) == 2, timeout=60, message="the event after the outage")
    testsupport.wait_for(lambda: settled(database_url), timeout=60, message="every delivery final")
    assert receiver.received() == {during: 1, after: 1}
    assert worker.popen.poll() is None


@pytest.mark.django_db(transaction=True)
def test_an_event_emitted_on_a_connection_the_server_ended_is_unavailable_and_sends_nothing(emitted):
    from hooks import subscriptions
    from hooks.models import PendingEvent, WebhookConfig

    WebhookConfig.objects.create(name="lan", event_name="batch_complete", url="http://10.0.0.1/")
    subscriptions.subscriptions_changed()
    # What a PostgreSQL restart does to every open connection: the server ends this session.
    with contextlib.suppress(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(EventUnavailable) as error:
        emit_event("batch_complete", PAYLOAD)

    assert error.value.message == "Event batch_complete was not emitted: the database is unavailable; retry later."
    assert isinstance(error.value.__cause__, OperationalError)
    assert emitted == []  # refused whole: no WebSocket client, hook or webhook sees it
    close_old_connections()  # what the next request or task does: a fresh connection
    envelope = emit_event("batch_complete", PAYLOAD)
    assert emitted == [envelope]
    assert [str(row) for row in PendingEvent.objects.values_list("event_id", flat=True)] == [envelope["id"]]


def test_an_api_call_that_needs_redis_while_it_is_down_is_json_503_and_one_log_line(
    own_redis, start_server, staff_token
):
    server = start_server(REDIS_URL=own_redis.url)
    headers = {"Authorization": f"Token {staff_token}"}
    own_redis.kill()

    previews = [
        requests.post(
            f"{server.url}/api/scoring/preview/",
            json={"query": {"title": "Arrival"}, "results": []},
            headers=headers,
            timeout=60,
        )
        for _ in range(3)
    ]
    emitted = requests.post(f"{server.url}/api/events/batch_complete/", json=PAYLOAD, headers=headers, timeout=60)

    for answer in previews:  # scoring weights are read through the cache, on Redis
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert answer.json() == {"detail": "The broker (Redis) is unavailable; retry in 5 s."}
    assert emitted.status_code == 202  # the outbox is in the database
    log = server.log()
    assert log.count("The broker (Redis) is unavailable (ConnectionError: ") == 1
    assert "Traceback" not in log
