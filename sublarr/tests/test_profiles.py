"""Settings resolve to the right backends for each profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import testsupport

PROBE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "cache": settings.CACHES["default"]["BACKEND"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_config": settings.CHANNEL_LAYERS["default"]["CONFIG"],
    "q": {k: v for k, v in settings.Q_CLUSTER.items() if k in ("orm", "redis")},
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "secret_key": settings.SECRET_KEY,
}, default=str))
"""


def probe(tmp_path, **env: str) -> dict:
    base = {
        "DJANGO_SETTINGS_MODULE": "sublarr.settings",
        "SUBLARR_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, **env},
        cwd=testsupport.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_embedded_profile_shares_state_between_processes(tmp_path):
    resolved = probe(tmp_path)

    assert resolved["cache"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert resolved["layer"] == "sublarr.channel_layer.EmbeddedChannelLayer"
    assert resolved["layer_config"]["database"] == "channels"
    assert resolved["q"] == {"orm": "default"}
    assert resolved["db"] == "django.db.backends.sqlite3"
    assert resolved["db_options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in resolved["db_options"]["init_command"]
    assert resolved["db_options"]["timeout"] >= 20
    assert resolved["conn_max_age"] > 0


def test_scale_out_profile_uses_redis_everywhere(tmp_path):
    resolved = probe(
        tmp_path, REDIS_URL="redis://127.0.0.1:6379/3", DATABASE_URL="postgres://postgres@127.0.0.1:5432/x"
    )

    assert resolved["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert resolved["layer"] == "channels_redis.core.RedisChannelLayer"
    # The idle-drop trap (channels_redis #422): no client socket timeout.
    assert resolved["layer_config"]["hosts"] == [{"address": "redis://127.0.0.1:6379/3", "socket_timeout": None}]
    assert resolved["q"] == {"redis": "redis://127.0.0.1:6379/3"}
    assert resolved["db"] == "django.db.backends.postgresql"
    assert resolved["conn_max_age"] == 600
    assert resolved["db_options"] == {"server_side_binding": True}


def test_server_side_binding_can_be_turned_off_in_the_database_url(tmp_path):
    resolved = probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x?server_side_binding=false")

    assert resolved["db_options"] == {"server_side_binding": False}


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = probe(tmp_path)["secret_key"]
    second = probe(tmp_path)["secret_key"]

    assert len(first) >= 50
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert probe(tmp_path / "other")["secret_key"] != first


def test_secret_key_from_environment_wins(tmp_path):
    assert probe(tmp_path, SECRET_KEY="k" * 60)["secret_key"] == "k" * 60


def _entry_point(argv: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env={"SUBLARR_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", **env},
        cwd=testsupport.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean (use true/false, 1/0, yes/no, on/off)"),
        ("SUBLARR_QUEUE_WORKERS", "two", "SUBLARR_QUEUE_WORKERS='two' is not a whole number of at least 1"),
        ("SUBLARR_QUEUE_WORKERS", "0", "SUBLARR_QUEUE_WORKERS='0' is not a whole number of at least 1"),
        (
            "SUBLARR_WEBHOOK_RETRY_SCHEDULE",
            "5,soon",
            "SUBLARR_WEBHOOK_RETRY_SCHEDULE='5,soon' is not a list of seconds "
            "(use comma-separated numbers, e.g. 5,30,120)",
        ),
        (
            "SUBLARR_LOG_LEVEL",
            "verbose",
            "SUBLARR_LOG_LEVEL='verbose' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        (
            "SUBLARR_WEBHOOK_CA_BUNDLE",
            "/nonexistent/ca.pem",
            "SUBLARR_WEBHOOK_CA_BUNDLE='/nonexistent/ca.pem' is not a file (name a PEM file of CA certificates)",
        ),
        (
            # The password stays out of the message.
            "DATABASE_URL",
            "postgres://sublarr:hunter2@db.lan:notaport/sublarr",
            "DATABASE_URL='postgres://sublarr:***@db.lan:notaport/sublarr' is not a database URL "
            "(use e.g. postgres://USER:PASSWORD@HOST:5432/NAME, or leave it unset for SQLite)",
        ),
        (
            "REDIS_URL",
            "localhost:6379",
            "REDIS_URL='localhost:6379' is not a Redis URL (use e.g. redis://HOST:6379/0, rediss://... or unix:///PATH)",
        ),
    ],
)
def test_bad_setting_is_one_line_naming_it(tmp_path, variable, value, message):
    result = _entry_point([sys.executable, "manage.py", "check"], tmp_path, **{variable: value})

    assert (result.returncode, result.stderr) == (1, f"sublarr: {message}\n")


def test_data_dir_that_cannot_be_a_directory_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    data_dir = tmp_path / "file" / "data"

    result = _entry_point([sys.executable, "manage.py", "check"], tmp_path, SUBLARR_DATA_DIR=str(data_dir))

    assert (result.returncode, result.stderr) == (
        1,
        f"sublarr: SUBLARR_DATA_DIR='{data_dir}' cannot be used as a directory (Not a directory)\n",
    )


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "manage.py", "migrate"],
        [sys.executable, "manage.py", "emit_event", "batch_complete"],
        [sys.executable, "manage.py", "qcluster"],
        [str(Path(sys.executable).with_name("daphne")), "-p", "0", "sublarr.asgi:application"],
        [sys.executable, "-c", "import sublarr.wsgi"],
    ],
    ids=["migrate", "emit_event", "qcluster", "daphne", "wsgi"],
)
def test_bad_setting_stops_every_entry_point_in_one_line(tmp_path, argv):
    result = _entry_point(argv, tmp_path, DEBUG="maybe")

    assert (result.returncode, result.stderr) == (
        1,
        "sublarr: DEBUG='maybe' is not a boolean (use true/false, 1/0, yes/no, on/off)\n",
    )


@pytest.mark.parametrize(
    "argv",
    [[sys.executable, "manage.py", "check"], [sys.executable, "-c", "import sublarr.asgi"]],
    ids=["manage.py", "asgi"],
)
def test_hooks_dir_is_created_at_start(tmp_path, argv):
    result = _entry_point(argv, tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hooks").is_dir()


def test_hooks_dir_set_elsewhere_is_created_there(tmp_path):
    hooks_dir = tmp_path / "elsewhere" / "scripts"

    result = _entry_point([sys.executable, "manage.py", "check"], tmp_path / "data", SUBLARR_HOOKS_DIR=str(hooks_dir))

    assert result.returncode == 0, result.stderr
    assert hooks_dir.is_dir()
    assert not (tmp_path / "data" / "hooks").exists()


def test_hooks_dir_that_is_a_file_is_a_warning_not_a_crash(tmp_path):
    (tmp_path / "hooks").write_text("")

    result = _entry_point([sys.executable, "manage.py", "check"], tmp_path)

    assert result.returncode == 0
    assert f"(hooks.W001) SUBLARR_HOOKS_DIR ({tmp_path / 'hooks'}) is not a directory." in result.stderr


def test_check_deploy_is_clean_with_production_values(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            "SUBLARR_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "subs.example.com",
            "SUBLARR_HTTPS": "true",
        },
        cwd=testsupport.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
