"""The JSON API while its database or broker is unavailable: 503 + Retry-After in JSON, one log line per outage."""

from __future__ import annotations

import pytest
import requests
from django.db import OperationalError

import testsupport
from events.signals import event_accepted

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_event_the_database_cannot_take_is_503_with_retry_after_and_nothing_is_sent(staff_client, emitted):
    def connection_lost(sender, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    event_accepted.connect(connection_lost, dispatch_uid="test-connection-lost")
    try:
        response = staff_client.post("/api/events/batch_complete/", {"total": 1}, format="json")
    finally:
        event_accepted.disconnect(dispatch_uid="test-connection-lost")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "Event batch_complete was not emitted: the database is unavailable; retry later."
    }
    assert emitted == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "database_url",
    ["postgres://postgres:s3cret@127.0.0.1:{port}/sublarr", "sqlite:///{missing}/sublarr.sqlite3"],
    ids=["postgresql-down", "sqlite-unreachable"],
)
def test_a_server_without_its_database_answers_json_503_and_logs_one_line(start_server, tmp_path, database_url):
    url = database_url.format(port=testsupport.free_port(), missing=tmp_path / "not-created")
    server = start_server(DATABASE_URL=url)
    headers = {"Authorization": "Token 0123456789abcdef", "Accept": "application/json"}

    answers = [
        requests.post(f"{server.url}/api/events/batch_complete/", json={"total": 1}, headers=headers, timeout=30),
        requests.get(f"{server.url}/api/events/", headers=headers, timeout=30),
        requests.get(f"{server.url}/api/webhooks/", headers=headers, timeout=30),
    ]

    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Retry-After"] == "5"
        assert answer.json() == {"detail": "The database is unavailable; retry in 5 s."}
    log = server.log()
    assert log.count("is unavailable") == 1
    assert "The database is unavailable (OperationalError: " in log
    assert "Traceback" not in log
    assert "Service Unavailable" not in log
    assert "s3cret" not in log


def test_the_schema_documents_the_emit_503_and_its_retry_after():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    answer = schema["paths"]["/api/events/batch_complete/"]["post"]["responses"]["503"]

    assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "nothing was emitted" in answer["description"]
