"""Read settings from the environment; a bad value is one line naming the variable and what it accepts.

``sublarr.settings`` reads every variable through these helpers. Each raises
``SettingError`` with a message such as ``DEBUG='maybe' is not a boolean (use
true/false, 1/0, yes/no, on/off)``; the entry points (``manage.py``,
``sublarr.asgi``, ``sublarr.wsgi``) turn it into that one line on stderr and
exit status 1 (``exit_on_setting_error``) instead of a traceback that buries it.
This module imports nothing of Django's settings, so the entry points can
import it before the settings load.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class SettingError(ImproperlyConfigured):
    """An environment variable holds a value sublarr cannot use."""


@contextmanager
def exit_on_setting_error() -> Iterator[None]:
    """Turn a ``SettingError`` raised inside into ``sublarr: <message>`` on stderr and exit status 1."""
    try:
        yield
    except SettingError as exc:
        print(f"sublarr: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _raw(name: str) -> str | None:
    """The variable's value stripped, or None when it is unset or blank (the default applies)."""
    value = os.environ.get(name, "").strip()
    return value or None


def redact_url(url: str) -> str:
    """Hide the password of ``scheme://user:password@host`` so a URL can go in a message."""
    return re.sub(r"^([^:/]+://[^:@/]*):[^@]*@", r"\1:***@", url)


def env_str(name: str, default: str = "") -> str:
    """The variable stripped of surrounding blanks, or ``default``."""
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    """true/false, 1/0, yes/no or on/off, in any case."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return BOOLEANS[raw.lower()]
    except KeyError:
        raise SettingError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)") from None


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """A whole number, ``minimum`` or more when given."""
    raw = _raw(name)
    if raw is None:
        return default
    wanted = "a whole number" if minimum is None else f"a whole number of at least {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not {wanted}") from None
    if minimum is not None and value < minimum:
        raise SettingError(f"{name}={raw!r} is not {wanted}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list, blank items dropped."""
    raw = _raw(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_seconds_list(name: str, default: list[float]) -> list[float]:
    """A comma-separated list of durations in seconds (each a finite number, 0 or more)."""
    items = env_list(name, [])
    if not items:
        return default
    try:
        values = [float(item) for item in items]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise SettingError(
            f"{name}={os.environ[name].strip()!r} is not a list of seconds (use comma-separated numbers, e.g. 5,30,120)"
        )
    return values


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (upper case), given in any case."""
    raw = _raw(name)
    if raw is None:
        return default
    if raw.upper() not in choices:
        raise SettingError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw.upper()


def env_file(name: str, what: str) -> str:
    """The path of an existing file, or "" when unset; ``what`` says what the file must hold."""
    raw = _raw(name)
    if raw is None:
        return ""
    if not Path(raw).is_file():
        raise SettingError(f"{name}={raw!r} is not a file (name {what})")
    return raw


def env_dir(name: str, default: Path) -> Path:
    """An absolute directory path, created (with its parents) if missing."""
    path = Path(_raw(name) or default).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(f"{name}={str(path)!r} cannot be used as a directory ({exc.strerror})") from None
    return path


def env_database_url(name: str, **options: Any) -> dj_database_url.DBConfig | None:
    """Django's DATABASES entry for the URL in ``name`` (dj-database-url), or None when unset."""
    raw = _raw(name)
    if raw is None:
        return None
    try:
        return dj_database_url.parse(raw, **options)
    except ValueError:
        raise SettingError(
            f"{name}={redact_url(raw)!r} is not a database URL "
            "(use e.g. postgres://USER:PASSWORD@HOST:5432/NAME, or leave it unset for SQLite)"
        ) from None


def env_redis_url(name: str) -> str:
    """A redis://, rediss:// or unix:// URL, or "" when unset."""
    raw = _raw(name)
    if raw is None:
        return ""
    try:
        parts = urlsplit(raw)
        valid = (parts.scheme in {"redis", "rediss"} and parts.hostname and parts.port != 0) or (
            parts.scheme == "unix" and parts.path
        )
    except ValueError:  # a port that is not a number
        valid = False
    if not valid:
        raise SettingError(
            f"{name}={redact_url(raw)!r} is not a Redis URL (use e.g. redis://HOST:6379/0, rediss://... or unix:///PATH)"
        )
    return raw


def load_or_create_secret_key(path: Path) -> str:
    """Return the key kept in ``path``, creating it once (race-free across processes)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise SettingError(f"{path} is empty; delete it to generate a new key (or set SECRET_KEY)") from None
        return key
    key = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
