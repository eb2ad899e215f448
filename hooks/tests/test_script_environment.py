"""A script hook's environment holds exactly the documented variables; the envelope arrives whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from events.services import build_envelope
from events.types import Envelope
from hooks.models import HookConfig
from hooks.transports import script_env as runner
from hooks.transports.script import deliver

SECRET_LOOKING = {
    "SECRET_KEY": "django-insecure-do-not-leak",
    "DATABASE_URL": "postgres://admin:hunter2@db/sublarr",
    "REDIS_URL": "redis://:hunter2@redis:6379/0",
    "AWS_SECRET_ACCESS_KEY": "AKIA-do-not-leak",
    "SUBLARR_WEBHOOK_SECRET": "whsec_do-not-leak",
    "DJANGO_SETTINGS_MODULE": "sublarr.settings",
    "LD_PRELOAD": "/tmp/evil.so",
    "PYTHONPATH": "/tmp/evil",
}


def _write(path: Path, body: str, mode: int = 0o755) -> Path:
    path.write_text(body)
    path.chmod(mode)
    return path


def _dump_script(hooks_dir: Path, report: Path) -> Path:
    """A script saving its exact environment (from /proc), stdin, event file and cwd to ``report``."""
    return _write(
        hooks_dir / "dump.sh",
        "#!/bin/sh\n"
        f"cat /proc/$$/environ > '{report}.env'\n"
        f"cat > '{report}.stdin'\n"
        f"cat \"$SUBLARR_EVENT_DATA_FILE\" > '{report}.file'\n"
        f"pwd > '{report}.cwd'\n"
        "echo done\n",
    )


def _environ(report: Path) -> dict[str, str]:
    raw = Path(f"{report}.env").read_bytes()
    return dict(item.decode("utf-8").split("=", 1) for item in raw.split(b"\x00") if item)


@pytest.fixture
def server_env(monkeypatch):
    for name, value in SECRET_LOOKING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    monkeypatch.setenv("HOME", "/home/sublarr")
    monkeypatch.setenv("LANG", "C.UTF-8")


def test_environment_holds_exactly_the_documented_variables(hooks_dir, server_env, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    envelope = build_envelope(
        "subtitle_downloaded",
        {
            "provider_name": "opensubtitles",
            "language": "de",
            "score": 412,
            "season": 2,
            "movie_title": None,
            "series_title": "The Expanse",
        },
    )
    result = deliver(HookConfig(name="dump", script_path="dump.sh", timeout_seconds=10), envelope)

    assert result.success is True
    assert result.exit_code == 0
    assert result.stdout == "done\n"
    cwd = Path(f"{report}.cwd").read_text().strip()
    data = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    assert _environ(report) == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/home/sublarr",
        "LANG": "C.UTF-8",
        "SUBLARR_EVENT": "subtitle_downloaded",
        "SUBLARR_EVENT_ID": envelope["id"],
        "SUBLARR_EVENT_DATA": data,
        "SUBLARR_EVENT_DATA_FILE": f"{cwd}/event.json",
        "SUBLARR_PROVIDER_NAME": "opensubtitles",
        "SUBLARR_LANGUAGE": "de",
        "SUBLARR_SCORE": "412",
        "SUBLARR_SEASON": "2",
        "SUBLARR_MOVIE_TITLE": "",
        "SUBLARR_SERIES_TITLE": "The Expanse",
    }
    assert json.loads(Path(f"{report}.stdin").read_text()) == envelope
    assert Path(f"{report}.stdin").read_text() == data + "\n"
    assert Path(f"{report}.file").read_text() == data + "\n"


def test_no_server_variable_leaks(hooks_dir, server_env, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    deliver(HookConfig(script_path="dump.sh"), build_envelope("batch_complete", {"total": 1}))
    raw = Path(f"{report}.env").read_text()
    for name, value in SECRET_LOOKING.items():
        assert f"{name}=" not in raw
        assert value not in raw


def test_cwd_is_a_fresh_temporary_directory_removed_afterwards(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    deliver(HookConfig(script_path="dump.sh"), build_envelope("batch_complete", {"total": 1}))
    first = Path(f"{report}.cwd").read_text().strip()
    deliver(HookConfig(script_path="dump.sh"), build_envelope("batch_complete", {"total": 2}))
    second = Path(f"{report}.cwd").read_text().strip()

    assert first != second
    assert Path(first).name.startswith("sublarr-hook-")
    assert not os.path.exists(first)
    assert not os.path.exists(second)
    assert first != str(hooks_dir)


def test_newlines_and_nul_are_removed_from_payload_variables(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    envelope = build_envelope("provider_failed", {})
    # Set after validation: emit_event enforces the keys' types (a string here), and the
    # transport must still render any JSON value it is handed.
    envelope["data"] = {
        "provider_name": "multi\nline\r\nname",
        "error": "a\x00b\u2028c\x0bd\x85e",
        "error_type": ["x\ny", {"k": "v"}],
        "series_title": True,
    }
    deliver(HookConfig(script_path="dump.sh"), envelope)
    env = _environ(report)

    assert env["SUBLARR_PROVIDER_NAME"] == "multilinename"
    assert env["SUBLARR_ERROR"] == "abcde"
    # JSON already escapes the newline inside the list: nothing to remove.
    assert env["SUBLARR_ERROR_TYPE"] == '["x\\ny",{"k":"v"}]'
    assert env["SUBLARR_SERIES_TITLE"] == "true"
    # The full envelope keeps every character (escaped by JSON, never cut).
    assert json.loads(env["SUBLARR_EVENT_DATA"]) == envelope


def test_non_ascii_values_pass_unchanged(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    envelope = build_envelope("subtitle_downloaded", {"series_title": "Élite — 東京"})
    deliver(HookConfig(script_path="dump.sh"), envelope)
    env = _environ(report)
    assert env["SUBLARR_SERIES_TITLE"] == "Élite — 東京"
    assert json.loads(env["SUBLARR_EVENT_DATA"])["data"]["series_title"] == "Élite — 東京"


def test_one_megabyte_payload_arrives_whole_on_stdin_and_in_the_event_file(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    big = ("0123456789abcdé\n" * 70_000)[: 1024 * 1024]
    envelope = build_envelope("provider_failed", {"provider_name": "p", "error": big})
    result = deliver(HookConfig(script_path="dump.sh", timeout_seconds=30), envelope)
    env = _environ(report)

    assert result.success is True
    assert json.loads(Path(f"{report}.stdin").read_text()) == envelope
    assert json.loads(Path(f"{report}.file").read_text()) == envelope
    assert json.loads(Path(f"{report}.stdin").read_text())["data"]["error"] == big
    # Too big for one environment string (Linux: 128 KiB): left out, never cut, and named.
    assert "SUBLARR_EVENT_DATA" not in env
    assert "SUBLARR_ERROR" not in env
    assert env["SUBLARR_ENV_OMITTED"] == "SUBLARR_ERROR,SUBLARR_EVENT_DATA"
    assert env["SUBLARR_PROVIDER_NAME"] == "p"
    assert env["SUBLARR_EVENT_DATA_FILE"].endswith("/event.json")


def _envelope_of_size(data_bytes: int) -> Envelope:
    """A provider_failed envelope whose compact JSON is exactly ``data_bytes`` long."""
    envelope = build_envelope("provider_failed", {"error": ""})
    base = len(runner.envelope_bytes(envelope))
    envelope["data"]["error"] = "x" * (data_bytes - base)
    assert len(runner.envelope_bytes(envelope)) == data_bytes
    return envelope


def test_envelope_at_the_kernel_limit_is_passed_in_the_environment(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    # "SUBLARR_EVENT_DATA=" + value + NUL == 128 KiB exactly: the largest string execve accepts.
    envelope = _envelope_of_size(runner.MAX_ENV_STRING_BYTES - len("SUBLARR_EVENT_DATA=") - 1)
    result = deliver(HookConfig(script_path="dump.sh"), envelope)
    env = _environ(report)

    assert result.success is True
    assert json.loads(env["SUBLARR_EVENT_DATA"]) == envelope
    assert env["SUBLARR_ERROR"] == envelope["data"]["error"]
    assert "SUBLARR_ENV_OMITTED" not in env


def test_envelope_one_byte_over_the_kernel_limit_is_only_in_the_file_and_on_stdin(hooks_dir, tmp_path):
    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    envelope = _envelope_of_size(runner.MAX_ENV_STRING_BYTES - len("SUBLARR_EVENT_DATA="))
    result = deliver(HookConfig(script_path="dump.sh"), envelope)
    env = _environ(report)

    assert result.success is True
    assert "SUBLARR_EVENT_DATA" not in env
    assert env["SUBLARR_ENV_OMITTED"] == "SUBLARR_EVENT_DATA"
    # The payload value alone (without the envelope around it) still fits.
    assert env["SUBLARR_ERROR"] == envelope["data"]["error"]
    assert json.loads(Path(f"{report}.stdin").read_text()) == envelope
    assert json.loads(Path(f"{report}.file").read_text()) == envelope


def test_environment_stays_under_the_total_budget_biggest_variables_left_out_first():
    envelope: Envelope = {
        "id": "e",
        "event_name": "x",
        "version": 1,
        "timestamp": "t",
        "data": {f"k{i}": "v" * 120_000 for i in range(12)},
    }
    data = runner.envelope_bytes(envelope)
    env = runner.script_environment(envelope, data=data, data_file=Path("/tmp/event.json"))
    total = sum(len(k.encode()) + len(v.encode()) + 2 for k, v in env.items())

    assert total <= runner.MAX_ENV_TOTAL_BYTES
    omitted = env["SUBLARR_ENV_OMITTED"].split(",")
    assert "SUBLARR_EVENT_DATA" in omitted
    assert [name for name in (f"SUBLARR_K{i}" for i in range(12)) if name in env]
    assert all(name not in env for name in omitted)


def test_a_script_that_never_reads_stdin_gets_a_large_envelope_without_failing(hooks_dir):
    _write(hooks_dir / "ignore.sh", "#!/bin/sh\necho ignored\nexit 0\n")
    envelope = build_envelope("provider_failed", {"error": "y" * 2_000_000})
    result = deliver(HookConfig(script_path="ignore.sh"), envelope)
    assert result.success is True
    assert result.stdout == "ignored\n"


def test_a_script_that_closes_stdin_at_once_succeeds(hooks_dir):
    _write(hooks_dir / "close.sh", "#!/bin/sh\nexec 0<&-\nsleep 0.2\necho closed\n")
    envelope = build_envelope("provider_failed", {"error": "y" * 2_000_000})
    result = deliver(HookConfig(script_path="close.sh"), envelope)
    assert result.success is True
    assert result.stdout == "closed\n"


def test_python_script_reads_the_event_from_stdin(hooks_dir):
    import sys

    _write(
        hooks_dir / "read.py",
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "event = json.load(sys.stdin)\n"
        "print(event['event_name'], event['data']['language'], os.environ['SUBLARR_LANGUAGE'])\n",
    )
    result = deliver(HookConfig(script_path="read.py"), build_envelope("subtitle_downloaded", {"language": "fr"}))
    assert result.stdout == "subtitle_downloaded fr fr\n"


def test_payload_variable_names_are_upper_cased_and_sanitised():
    assert runner.payload_variable("series_title") == "SUBLARR_SERIES_TITLE"
    assert runner.payload_variable("a-b.c d") == "SUBLARR_A_B_C_D"
    assert runner.payload_variable("é") == "SUBLARR__"


def test_environment_fits_a_small_arg_max_from_a_low_stack_limit(hooks_dir, tmp_path):
    """With ``ulimit -s 1024`` ARG_MAX is 256 KiB: 500 KB of payload variables would fail with E2BIG."""
    import resource
    import subprocess
    import sys

    report = tmp_path / "report"
    _dump_script(hooks_dir, report)
    child = (
        "import django, json\n"
        "django.setup()\n"
        "from hooks.models import HookConfig\n"
        "from hooks.transports.script import deliver\n"
        "keys = ['provider_name', 'error', 'error_type', 'series_title', 'movie_title']\n"
        "envelope = {'id': 'e1', 'event_name': 'provider_failed', 'version': 1, 'timestamp': 't',\n"
        "            'data': {key: key[0] * 100_000 for key in keys}}\n"
        "print(json.dumps(deliver(HookConfig(script_path='dump.sh'), envelope).success))\n"
    )

    def low_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (1024 * 1024, 1024 * 1024))

    completed = subprocess.run(
        [sys.executable, "-c", child],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sublarr.settings",
            "SUBLARR_DATA_DIR": str(tmp_path / "data"),
            "SUBLARR_HOOKS_DIR": str(hooks_dir),
            "SECRET_KEY": "test",
        },
        cwd=Path(__file__).resolve().parents[2],
        preexec_fn=low_stack,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "true\n"
    env = _environ(report)
    total = sum(len(k.encode()) + len(v.encode()) + 2 for k, v in env.items())
    assert total <= 128 * 1024
    assert "SUBLARR_EVENT_DATA" in env["SUBLARR_ENV_OMITTED"].split(",")
    assert json.loads(Path(f"{report}.stdin").read_text())["data"]["error"] == "e" * 100_000
