"""The environment of a script run: PATH, HOME, LANG from the server, the SUBLARR_* variables, nothing else.

See docs/HOOKS.md and DESIGN.md §5. Used by ``hooks.transports.script``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from events.types import Envelope

# Linux refuses any single "NAME=value" environment string longer than
# MAX_ARG_STRLEN (32 pages = 128 KiB, NUL included) with E2BIG.
MAX_ENV_STRING_BYTES = 32 * 4096
# Budget for the whole environment, at most half of ARG_MAX (usually 2 MiB, a
# quarter of the stack limit), which argv and envp share.
MAX_ENV_TOTAL_BYTES = 1024 * 1024
PASSED_THROUGH = ("PATH", "HOME", "LANG")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
RESERVED = frozenset(
    {"SUBLARR_EVENT", "SUBLARR_EVENT_ID", "SUBLARR_EVENT_DATA", "SUBLARR_EVENT_DATA_FILE", "SUBLARR_ENV_OMITTED"}
)
# Characters str.splitlines() breaks on, plus NUL: removed from SUBLARR_<KEY> values.
_CLEAN = str.maketrans(dict.fromkeys("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00"))


def _text(value: str) -> str:
    """``value`` with lone surrogates replaced, so it can be encoded as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def envelope_bytes(envelope: Envelope) -> bytes:
    """The envelope as the script reads it: compact UTF-8 JSON (no raw newline in it)."""
    try:
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(envelope, separators=(",", ":")).encode("ascii")


def payload_variable(key: str) -> str:
    """``SUBLARR_<KEY>``: the key upper-cased, anything but letters, digits and ``_`` as ``_``."""
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in str(key))
    return f"SUBLARR_{cleaned.upper()}"


def payload_value(value: Any) -> str:
    """A payload value as an environment string; line breaks and NUL removed.

    Strings as-is, null as the empty string (``[ -n "$SUBLARR_X" ]`` tests for
    a value), anything else as compact JSON (``5``, ``true``, ``[1,2]``).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _text(text).translate(_CLEAN)


def _env_size(name: str, value: str) -> int:
    """Bytes ``NAME=value`` takes in the new process's environment (with its NUL)."""
    return len(os.fsencode(name)) + 1 + len(os.fsencode(value)) + 1


def _env_budget() -> int:
    """Bytes the whole environment may take: 1 MiB, less where ARG_MAX is small (a low stack limit)."""
    try:
        arg_max = os.sysconf("SC_ARG_MAX")
    except (OSError, ValueError):
        arg_max = -1
    return min(MAX_ENV_TOTAL_BYTES, arg_max // 2) if arg_max > 0 else MAX_ENV_TOTAL_BYTES


def script_environment(envelope: Envelope, *, data: bytes, data_file: Path) -> dict[str, str]:
    """Return the script's whole environment (nothing else from the server leaks in).

    A variable whose ``NAME=value`` would exceed the kernel's 128 KiB limit for
    one string — or that would push the environment past 1 MiB, the biggest
    first — is left out (never cut) and named in ``SUBLARR_ENV_OMITTED``; the
    full envelope is always in the file ``SUBLARR_EVENT_DATA_FILE`` and on stdin.
    """
    env: dict[str, str] = {}
    for name in PASSED_THROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    env.setdefault("PATH", DEFAULT_PATH)
    env["SUBLARR_EVENT"] = str(envelope.get("event_name", ""))
    env["SUBLARR_EVENT_ID"] = str(envelope.get("id", ""))
    env["SUBLARR_EVENT_DATA_FILE"] = str(data_file)

    optional: dict[str, str] = {"SUBLARR_EVENT_DATA": data.decode("utf-8")}
    payload = envelope.get("data") or {}
    for key, value in payload.items():
        name = payload_variable(key)
        if name in RESERVED or name in optional:
            continue
        optional[name] = payload_value(value)

    omitted = [name for name, value in optional.items() if _env_size(name, value) > MAX_ENV_STRING_BYTES]
    kept = {name: value for name, value in optional.items() if name not in omitted}
    # Room for SUBLARR_ENV_OMITTED itself, whatever it ends up listing.
    budget = _env_budget() - sum(_env_size(n, v) for n, v in env.items()) - 64 * 1024
    total = sum(_env_size(n, v) for n, v in kept.items())
    for name in sorted(kept, key=lambda n: _env_size(n, kept[n]), reverse=True):
        if total <= budget:
            break
        total -= _env_size(name, kept[name])
        omitted.append(name)
    env.update((name, value) for name, value in optional.items() if name not in omitted)
    if omitted:
        env["SUBLARR_ENV_OMITTED"] = ",".join(sorted(omitted))
    return env
