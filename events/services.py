"""emit_event(): validate an event, build its envelope, send its signal on commit."""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from asyncio import _get_running_loop
from datetime import UTC, datetime
from typing import Any, NoReturn

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, connections, transaction

from .bridge import redact
from .catalog import CATALOG_VERSION, EVENT_CATALOG, STRING, EventSpec, PayloadType
from .errors import Invalid
from .jsonlimits import printable, surrogate_error
from .signals import event_accepted
from .types import Envelope

logger = logging.getLogger(__name__)


class EventError(Invalid):
    """An event that cannot be emitted: unknown name or a bad payload.

    ``field`` names the offending payload key, when there is one (the API's
    400 is ``{field or non_field_errors: [message]}``).
    """


class EventUnavailable(Exception):  # noqa: N818 - a state, like Django's ServiceUnavailable
    """An event that was not accepted because the database that keeps it is unreachable; retry later.

    Nothing was sent: no WebSocket client, hook or webhook will see this
    event. Not an ``EventError`` (bad input, retrying cannot help): the same
    call may succeed once the database is back. ``retry_after`` is a hint in
    seconds; the REST API answers 503 with it as ``Retry-After`` and
    ``manage.py emit_event`` exits with status 75 (EX_TEMPFAIL). The database
    error is chained as ``__cause__``.
    """

    retry_after = 5

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        # The database error's first line, credentials cut: for operators
        # (logs, the CLI), not for API clients.
        self.reason = reason


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message``, credentials cut (a database error's text names the server)."""
    lines = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)


def _validate(name: str, data: Any) -> dict[str, Any]:
    spec = EVENT_CATALOG.get(name)
    if spec is None:
        raise EventError(f"Unknown event {name!r}. Valid events: {', '.join(EVENT_CATALOG)}.")
    if not isinstance(data, dict):
        raise EventError(f"Event data must be a JSON object, not {type(data).__name__}.")
    plain_types = spec.plain_types
    # A copy first (one C call), then only values that need a closer look are
    # replaced: the common payload is all plain values and replaces none.
    frozen = dict(data)
    for key, value in data.items():
        kind = type(value)
        # The common case, and the cheap one: a plain value of the key's type
        # (immutable, JSON as it is; `is`, since bool is an int subclass and
        # an integer key refuses True; an undeclared key finds None, which is
        # no value's type). Anything else takes the longer way.
        if plain_types.get(key) is kind and (kind is not str or value.isascii()):
            continue
        expected = spec.payload_types.get(key)
        if expected is None:
            _refuse_undeclared(spec, data)
        if value is None and expected.nullable:
            continue
        frozen[key] = _checked(name, key, value, expected)
    return frozen


def _refuse_undeclared(spec: EventSpec, data: dict[Any, Any]) -> NoReturn:
    undeclared = [printable(str(key)) for key in data if key not in spec.payload_types]
    raise EventError(
        f"Undeclared payload key(s) for {spec.name}: {', '.join(undeclared)}. Allowed: {', '.join(spec.payload_keys)}.",
        field=undeclared[0],
    )


def _checked(name: str, key: str, value: Any, expected: PayloadType) -> Any:
    """``value`` as a plain JSON value of the ``expected`` type, or an EventError naming ``key``."""
    kind = expected.json_type
    if isinstance(value, float) and not math.isfinite(value):
        raise EventError(
            f"Payload key {key!r} of {name} is not JSON-serializable (float); "
            "use strings, numbers, booleans, lists or objects.",
            field=key,
        )
    if kind == "string" and isinstance(value, str):
        if reason := surrogate_error(value):
            raise EventError(f"Payload key {key!r} of {name} must be valid Unicode text, not {reason}.", field=key)
        return str.__str__(value)  # a plain str, also from a subclass (an enum's value)
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if isinstance(value, int) else float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "array" and isinstance(value, list | tuple):
        # Items are scalars: a copy of the list is the receivers' own, and
        # nothing nests — no depth to recurse into.
        return [_checked_item(name, key, item, expected, f"item {index}") for index, item in enumerate(value)]
    if kind == "object" and isinstance(value, dict):
        checked = {}
        for item_key, item in value.items():
            if not isinstance(item_key, str):
                raise EventError(
                    f"Payload key {key!r} of {name} must be {expected.describe()}, "
                    f"not an object with {_json_kind(item_key)} as a key.",
                    field=key,
                )
            where = f"at {printable(item_key)!r}"
            checked[_checked_item(name, key, item_key, STRING, where)] = _checked_item(name, key, item, expected, where)
        return checked
    if not isinstance(value, str | int | float | bool | list | tuple | dict) and value is not None:
        raise EventError(
            f"Payload key {key!r} of {name} is not JSON-serializable ({type(value).__name__}); "
            "use strings, numbers, booleans, lists or objects.",
            field=key,
        )
    raise EventError(
        f"Payload key {key!r} of {name} must be {expected.describe()}, not {_json_kind(value)}.", field=key
    )


def _checked_item(name: str, key: str, item: Any, expected: PayloadType, where: str) -> Any:
    """One item of an array or object value: a plain string or integer, or an EventError naming ``key``."""
    allowed = ("string", "integer") if expected.json_type == "object" else (expected.items,)
    if "string" in allowed and isinstance(item, str):
        if reason := surrogate_error(item):
            raise EventError(
                f"Payload key {key!r} of {name} must be valid Unicode text, not {reason} ({where}).", field=key
            )
        return str.__str__(item)
    if "integer" in allowed and isinstance(item, int) and not isinstance(item, bool):
        return int(item)
    container = "an object" if expected.json_type == "object" else "a list"
    raise EventError(
        f"Payload key {key!r} of {name} must be {expected.describe()}, "
        f"not {container} holding {_json_kind(item)} ({where}).",
        field=key,
    )


def _json_kind(value: Any) -> str:
    """How a message names a value's JSON type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# Event ids come from a per-process generator seeded from the OS, not from
# os.urandom per id (uuid.uuid4): that syscall releases the GIL — letting the
# event bridge's thread run inside the producer's call — and took ~4 µs here
# (a 4 KiB read ~0.9 ms). Ids must be unique, not unpredictable: they are
# public (webhook-id, dedup keys), never credentials. Reseeded in a forked
# child so parent and child never produce the same sequence.
_id_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _id_random.seed(os.urandom(32)))
# The bits uuid.UUID(int=..., version=4) clears and sets: variant RFC 4122, version 4.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def _new_event_id() -> str:
    """A random (version 4) UUID, unique per event: ``str(uuid.UUID(int=n, version=4))`` without the UUID object.

    Formatted here because building the object and its ``str`` cost ~2 µs of
    the producer's path; the text is the same (pinned by a test).
    """
    # bytes.hex of the 16 bytes, not format(n, "032x"): the same text, ~0.25 µs less.
    text = ((_id_random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16).hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# The timestamp's whole-second part, formatted once per second (per process).
_second_text: tuple[int, str] = (-1, "")


def _timestamp() -> str:
    """Now, as ``datetime.now(UTC).isoformat()`` writes it, the date and time of day formatted once per second.

    The same clock and the same truncation to microseconds as
    ``datetime.now`` (the system clock in ns, floored), and the same text: no
    fraction when the microseconds are 0 (pinned by a test).
    """
    global _second_text
    second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    cached_second, text = _second_text
    if second != cached_second:
        text = datetime.fromtimestamp(second, UTC).isoformat()[:19]
        _second_text = (second, text)
    microseconds = nanoseconds // 1000
    return f"{text}.{microseconds:06d}+00:00" if microseconds else f"{text}+00:00"


def build_envelope(name: str, data: dict[str, Any]) -> Envelope:
    """Validate ``data`` for event ``name`` and return the envelope, without sending it."""
    return {
        "id": _new_event_id(),
        "event_name": name,
        "version": CATALOG_VERSION,
        "timestamp": _timestamp(),
        "data": _validate(name, data),
    }


def send_envelope(envelope: Envelope) -> None:
    """Send an envelope's signal now; a failing receiver is logged, never raised."""
    spec = EVENT_CATALOG[envelope["event_name"]]
    for receiver, result in spec.signal.send_robust(sender=spec.name, envelope=envelope):
        if isinstance(result, Exception):
            logger.error(
                "Receiver %s failed for event %s (%s): %s",
                getattr(receiver, "__qualname__", receiver),
                spec.name,
                envelope["id"],
                result,
                exc_info=result,
            )


# The thread-local storage behind ``django.db.connections`` (asgiref's
# thread-critical ``Local``): in a thread without a running event loop,
# ``connections[alias]`` is this ``threading.local``'s attribute, reached in
# one C lookup instead of three Python calls (~1 µs of each emit). None if
# asgiref keeps it otherwise: then ``connections[alias]`` as before.
_thread_connections = getattr(getattr(connections, "_connections", None), "_storage", None)
if not isinstance(_thread_connections, threading.local):
    _thread_connections = None


def _send_on_commit(envelope: Envelope, using: str) -> None:
    """``transaction.on_commit(lambda: send_envelope(envelope), using=using)``, cheaper where Django sends at once.

    Outside an atomic block, in autocommit mode, on a connection that is
    open, ``on_commit`` calls the function at once — so this does, without
    the lookup through asgiref's ``Local`` and Django's bookkeeping. Anywhere
    else (an atomic block, where ``captureOnCommitCallbacks`` sees the
    callback; a connection not opened yet, which ``on_commit`` opens — and
    fails with ``OperationalError`` if the database is down; manual
    transaction management; a thread running an event loop, where Django
    raises ``SynchronousOnlyOperation``) ``on_commit`` itself decides.
    """
    storage = _thread_connections
    if storage is not None and _get_running_loop() is None:
        connection = getattr(storage, using, None)
        if (
            connection is not None
            and not connection.in_atomic_block
            and connection.connection is not None
            and connection.autocommit
        ):
            send_envelope(envelope)
            return
    transaction.on_commit(lambda: send_envelope(envelope), using=using)


def emit_event(name: str, data: dict[str, Any] | None = None, *, using: str = "default") -> Envelope:
    """Emit catalog event ``name`` with payload ``data``; return its envelope.

    Raises ``EventError`` (nothing sent) for an unknown event, an undeclared
    key or a value that is not JSON or not of its key's type
    (``events.catalog.PAYLOAD_TYPES``), and ``EventUnavailable`` (nothing sent;
    retry later) when the database cannot be reached: an event is accepted
    only when it can be kept. ``events.signals.event_accepted`` is sent at
    once (inside the caller's transaction, for receivers that store the event
    with it; another database error there is raised as it is, as from any
    write in the transaction); the event's catalog signal goes out when the
    current transaction on ``using`` commits — at once outside a transaction
    — so a rolled-back change emits nothing. Synchronous: from async code,
    use ``aemit_event``.
    """
    envelope = build_envelope(name, {} if data is None else data)
    try:
        event_accepted.send(sender=name, envelope=envelope, using=using)
        # Outside a transaction this is where the connection is opened, if
        # none is: no query of its own, and none at all when connected.
        _send_on_commit(envelope, using)
    except (OperationalError, InterfaceError) as exc:
        # The connection failed (server down, restarting, unreachable; SQLite
        # locked past its timeout). Caught, not probed for: the healthy path
        # pays nothing. Inside a transaction it cannot commit any more.
        if transaction.get_connection(using).in_atomic_block:
            transaction.set_rollback(True, using=using)
        raise EventUnavailable(
            f"Event {name} was not emitted: the database is unavailable; retry later.",
            reason=_describe(exc),
        ) from exc
    return envelope


aemit_event = sync_to_async(emit_event)
aemit_event.__doc__ = "Async variant of emit_event (runs it in Django's sync thread)."
