"""``manage.py emit_event``: prints the envelope; bad input is a clear message and exit 1, no database exit 75."""

from __future__ import annotations

import json

import pytest

import testsupport
from events.catalog import EVENT_CATALOG, catalog_listing

VALID_EVENTS = ", ".join(EVENT_CATALOG)


@pytest.fixture
def env(proc_env):
    return proc_env


def test_emits_and_prints_the_envelope(env):
    result = testsupport.manage("emit_event", "whisper_failed", "--data", '{"job_id": "j1", "error": "boom"}', env=env)

    assert result.returncode == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["event_name"] == "whisper_failed"
    assert envelope["version"] == 1
    assert envelope["data"] == {"job_id": "j1", "error": "boom"}


def test_list_prints_the_catalog(env):
    result = testsupport.manage("emit_event", "--list", env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == catalog_listing()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], f"CommandError: Unknown event 'nope'. Valid events: {VALID_EVENTS}."),
        ([], f"CommandError: Give an event name (or --list). Valid events: {VALID_EVENTS}."),
        (
            ["batch_complete", "--data", "{oops"],
            "CommandError: --data is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1).",
        ),
        (
            ["batch_complete", "--data", '{"total": 1, "api_key": "k"}'],
            "CommandError: Undeclared payload key(s) for batch_complete: api_key. "
            "Allowed: total, succeeded, failed, skipped, duration_ms.",
        ),
        (
            ["batch_complete", "--data", '{"total": NaN}'],
            "CommandError: Payload key 'total' of batch_complete is not JSON-serializable (float); "
            "use strings, numbers, booleans, lists or objects.",
        ),
        (["batch_complete", "--data", "[1]"], "CommandError: Event data must be a JSON object, not list."),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_1(env, args, message):
    result = testsupport.manage("emit_event", *args, env=env)

    assert result.returncode == 1
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_data_nested_past_the_limit_is_a_one_line_error(env):
    deep = "[" * 1000 + "]" * 1000

    result = testsupport.manage("emit_event", "batch_complete", "--data", deep, env=env)

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --data is not valid JSON: JSON nested deeper than 64 levels."
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        (
            "postgres://postgres:s3cret@127.0.0.1:{port}/sublarr",
            'OperationalError: connection failed: connection to server at "127.0.0.1", port {port} failed: '
            "Connection refused",
        ),
        ("sqlite:///{missing}/sublarr.sqlite3", "OperationalError: unable to open database file"),
    ],
    ids=["postgresql-down", "sqlite-unreachable"],
)
def test_unreachable_database_is_one_line_and_exit_75(env, tmp_path, database_url, reason):
    port = testsupport.free_port()  # nothing listens there
    missing = tmp_path / "not-created"
    env = {**env, "DATABASE_URL": database_url.format(port=port, missing=missing)}

    result = testsupport.manage("emit_event", "batch_complete", "--data", '{"total": 1}', env=env)

    assert result.returncode == 75
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"CommandError: Event batch_complete was not emitted: the database is unavailable "
        f"({reason.format(port=port)}); try again later."
    )
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.scaleout
def test_unreachable_channel_layer_still_prints_the_envelope_with_a_warning_and_exits_0(env):
    env = {**env, "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}

    result = testsupport.manage("emit_event", "batch_complete", "--data", '{"total": 1}', env=env)

    assert result.returncode == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["data"] == {"total": 1}
    assert (
        f"Warning: the channel layer refused event {envelope['id']} (see the log); "
        "WebSocket clients will not receive it (hooks and webhooks will)."
    ) in result.stderr.splitlines()
    assert "Event bridge could not send 1 event(s) (first: batch_complete " in result.stderr
    assert "Traceback" not in result.stderr  # Redis down is a line per kind of failure, not a traceback
    assert "hunter2" not in result.stderr + result.stdout
