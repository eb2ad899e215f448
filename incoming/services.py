"""Writes: incoming sources (create, change, rotate the key, delete), handling a request, purging the record.

Source changes emit ``config_updated`` with ``incoming_sources.<id>[.<field>]``
keys (never a value; the key and the Basic password never leave this module
but as a hash). A handled request emits ``webhook_received`` and writes its
``IncomingRequest`` row in one transaction: the event reaches the outbox with
the row or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Field
from django.utils import timezone

from events import emit_event

from . import validators
from .models import IncomingRequest, IncomingSource
from .parsers import Parsed
from .paths import map_path
from .transactions import request_transaction

logger = logging.getLogger(__name__)

Source = Literal["api", "admin", "cli"]

PURGE_BATCH_SIZE = 1000
# Compared against when no source matches, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"no such source").hexdigest()


# --- Secrets ---------------------------------------------------------------


def generate_api_key() -> str:
    """A new API key: 32 random bytes, URL-safe (it may travel in ``?apikey=``)."""
    return secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hash_basic_password(password: str) -> str:
    """``<salt>$<sha256(salt + password)>`` — fast on purpose: checked on every request of a busy *arr."""
    salt = secrets.token_hex(16)
    return f"{salt}${hashlib.sha256((salt + password).encode('utf-8', 'surrogatepass')).hexdigest()}"


def api_key_matches(source: IncomingSource | None, key: str) -> bool:
    """Constant-time check of ``key`` against the source's stored hash."""
    stored = source.api_key_hash if source is not None else _DUMMY_HASH
    return hmac.compare_digest(stored, hash_api_key(key)) and source is not None


def basic_matches(source: IncomingSource | None, username: str, password: str) -> bool:
    """Constant-time check of Basic credentials against the source's."""
    if source is None or not source.has_basic_auth:
        hmac.compare_digest(_DUMMY_HASH, hash_api_key(password))
        return False
    salt, _, digest = source.basic_password_hash.partition("$")
    given = hashlib.sha256((salt + password).encode("utf-8", "surrogatepass")).hexdigest()
    user_ok = hmac.compare_digest(source.basic_username.encode(), username.encode("utf-8", "surrogatepass"))
    return hmac.compare_digest(digest, given) and user_ok


# --- Sources ---------------------------------------------------------------


def _emit_config_updated(changed_keys: list[str], source: Source) -> None:
    if changed_keys:
        emit_event("config_updated", {"changed_keys": changed_keys, "source": source})


@transaction.atomic
def source_create(
    *,
    name: str,
    kind: str,
    enabled: bool = True,
    basic_username: str = "",
    basic_password: str = "",
    path_mappings: list[dict[str, str]] | None = None,
    source: Source,
) -> tuple[IncomingSource, str]:
    """Create a source with a generated API key; return it and the key (to be shown once)."""
    username, password = validators.validate_basic(basic_username, basic_password)
    key = generate_api_key()
    incoming = IncomingSource(
        name=validators.validate_name(name),
        kind=validators.validate_kind(kind),
        enabled=bool(enabled),
        api_key_hash=hash_api_key(key),
        basic_username=username,
        basic_password_hash=hash_basic_password(password) if password else "",
        path_mappings=validators.validate_path_mappings(path_mappings or []),
    )
    incoming.full_clean()
    incoming.save()
    logger.info("Incoming source %s (%s, %s) created by %s", incoming.pk, incoming.name, incoming.kind, source)
    _emit_config_updated([f"incoming_sources.{incoming.pk}"], source)
    return incoming, key


@transaction.atomic
def source_update(*, incoming: IncomingSource, data: dict[str, Any], source: Source) -> IncomingSource:
    """Change the given fields (absent keys are left as they are).

    ``basic_username`` and ``basic_password`` change together: both set, or
    both empty to turn Basic auth off; a username alone renames the user of
    the stored password.
    """
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = validators.validate_name(data["name"])
    if "kind" in data:
        cleaned["kind"] = validators.validate_kind(data["kind"])
    if "enabled" in data:
        cleaned["enabled"] = bool(data["enabled"])
    if "path_mappings" in data:
        cleaned["path_mappings"] = validators.validate_path_mappings(data["path_mappings"])
    if "basic_password" not in data and data.get("basic_username") and incoming.basic_password_hash:
        # A new username for the stored password.
        cleaned["basic_username"] = validators.validate_basic(data["basic_username"], "kept")[0]
    elif "basic_username" in data or "basic_password" in data:
        username, password = validators.validate_basic(data.get("basic_username"), data.get("basic_password"))
        cleaned["basic_username"] = username
        if password or incoming.basic_password_hash:
            cleaned["basic_password_hash"] = hash_basic_password(password) if password else ""
    changed = []
    for field, value in cleaned.items():
        if getattr(incoming, field) != value:
            setattr(incoming, field, value)
            changed.append(field)
    if changed:
        incoming.full_clean()
        incoming.save(update_fields=[*changed, "updated_at"])
        logger.info("Incoming source %s changed by %s: %s", incoming.pk, source, ", ".join(changed))
    public = ["basic_password" if field == "basic_password_hash" else field for field in changed]
    _emit_config_updated([f"incoming_sources.{incoming.pk}.{field}" for field in public], source)
    return incoming


@transaction.atomic
def source_key_rotate(*, incoming: IncomingSource, source: Source) -> str:
    """Replace the source's API key with a new generated one and return it (to be shown once)."""
    key = generate_api_key()
    incoming.api_key_hash = hash_api_key(key)
    incoming.save(update_fields=["api_key_hash", "updated_at"])
    logger.info("Incoming source %s API key rotated by %s", incoming.pk, source)
    _emit_config_updated([f"incoming_sources.{incoming.pk}.api_key"], source)
    return key


@transaction.atomic
def source_delete(*, incoming: IncomingSource, source: Source) -> None:
    """Delete a source; its request records stay (with its name)."""
    pk = incoming.pk
    incoming.delete()
    logger.info("Incoming source %s deleted by %s", pk, source)
    _emit_config_updated([f"incoming_sources.{pk}"], source)


# --- Requests --------------------------------------------------------------


def webhook_payload(incoming: IncomingSource, parsed: Parsed) -> dict[str, Any]:
    """The ``webhook_received`` payload of a parsed request, paths mapped (PathMappingError for a bad one)."""
    mappings = incoming.path_mappings
    folder = parsed.folder_path
    return {
        "source": incoming.name,
        "source_kind": incoming.kind,
        "event_type": parsed.app_event,
        "action": parsed.action,
        "media_type": parsed.media_type,
        "title": parsed.title,
        "year": parsed.year,
        "ids": parsed.ids,
        "season": parsed.season,
        "episode": parsed.episodes[0] if parsed.episodes else None,
        "episodes": parsed.episodes,
        "folder_path": map_path(folder, mappings) if folder else None,
        "paths": [map_path(p, mappings) for p in parsed.paths],
        "previous_paths": [map_path(p, mappings) for p in parsed.previous_paths],
        "deleted_paths": [map_path(p, mappings) for p in parsed.deleted_paths],
        "scene_name": parsed.scene_name,
        "release_title": parsed.release_title,
        "release_group": parsed.release_group,
        "quality": parsed.quality,
        "languages": parsed.languages,
        "subtitle_languages": parsed.subtitle_languages,
        "is_upgrade": parsed.is_upgrade,
        "message": parsed.message,
    }


def incoming_request_accept(
    *,
    incoming: IncomingSource,
    parsed: Parsed,
    payload: dict[str, Any] | None,
    request_id: uuid.UUID,
    started: float,
    clock: Callable[[], float],
) -> IncomingRequest:
    """Record an accepted request and, for an event, emit ``webhook_received`` — in one transaction."""
    with request_transaction():
        event_id = None
        if parsed.outcome == "event" and payload is not None:
            event_id = emit_event("webhook_received", payload)["id"]
        outcome = {
            "event": IncomingRequest.Outcome.ACCEPTED,
            "test": IncomingRequest.Outcome.TEST,
            "ignored": IncomingRequest.Outcome.IGNORED,
        }[parsed.outcome]
        now = timezone.now()
        record = IncomingRequest(
            request_id=request_id,
            source=incoming,
            source_name=incoming.name,
            source_kind=incoming.kind,
            app_event=parsed.app_event[:100],
            outcome=outcome,
            status_code=202 if event_id else 200,
            event_id=event_id,
            duration_ms=(clock() - started) * 1000,
            received_at=now,
        )
        _insert_record(record)
        _touch(incoming, now)
    if parsed.outcome == "test":
        logger.info("Incoming %s (%s): test request %s accepted", incoming.name, incoming.kind, request_id)
    elif parsed.outcome == "ignored":
        logger.info(
            "Incoming %s (%s): event type %r not handled; accepted and ignored (%s)",
            incoming.name,
            incoming.kind,
            parsed.app_event,
            request_id,
        )
    return record


# last_request_at is for people ("is Sonarr still talking to us?"): written at
# most once a minute per source, not on every request of a busy import.
LAST_REQUEST_RESOLUTION = timedelta(minutes=1)


def _touch(incoming: IncomingSource, now: datetime) -> None:
    last = incoming.last_request_at
    if last is None or now - last >= LAST_REQUEST_RESOLUTION:
        # A plain UPDATE: no read-modify-write, no lost update between two servers.
        IncomingSource.objects.filter(pk=incoming.pk).update(last_request_at=now)
        incoming.last_request_at = now


def _storable(text: str) -> str:
    """``text`` without what no database column takes: NUL, lone surrogates (replaced)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def incoming_request_reject(
    *,
    source_name: str,
    incoming: IncomingSource | None,
    status_code: int,
    error: str,
    app_event: str = "",
    request_id: uuid.UUID,
    started: float,
    clock: Callable[[], float],
) -> IncomingRequest:
    """Record a refused request (nothing else is written)."""
    source_name, app_event, error = _storable(source_name[:64]), _storable(app_event[:100]), _storable(error)
    logger.warning("Incoming %s: refused with %d: %s (%s)", source_name, status_code, error, request_id)
    record = IncomingRequest(
        request_id=request_id,
        source=incoming,
        source_name=source_name,
        source_kind=incoming.kind if incoming else "",
        app_event=app_event,
        outcome=IncomingRequest.Outcome.REJECTED,
        status_code=status_code,
        error=error,
        duration_ms=(clock() - started) * 1000,
    )
    with request_transaction():
        _insert_record(record)
    return record


# One per database alias: the INSERT's text and its fields (all but the id).
_record_inserts: dict[str, tuple[str, list[Field]]] = {}


def _insert_record(record: IncomingRequest) -> None:
    """One INSERT of a request record, nothing else (``record.pk`` stays unset).

    On every request's path: ``Model.save()``'s machinery (signals, the
    field loop, the compiler) cost ~1 ms a request here; the statement is
    built once per process, the values prepared by the fields themselves, as
    the ORM does. In the caller's transaction, if any.
    """
    alias = router.db_for_write(IncomingRequest)
    connection = connections[alias]
    statement = _record_inserts.get(alias)
    if statement is None:
        meta = IncomingRequest._meta
        fields = [field for field in meta.concrete_fields if isinstance(field, Field) and not field.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]  # concrete: has a column
        # Identifiers only, quoted by the backend; the values are parameters.
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        statement = _record_inserts[alias] = (sql, fields)
    sql, fields = statement
    values = [field.get_db_prep_save(field.pre_save(record, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def incoming_requests_purge(*, older_than_days: int | None = None, dry_run: bool = False) -> int:
    """Delete request records older than ``older_than_days`` (default SUBLARR_INCOMING_LOG_RETENTION_DAYS)."""
    days = settings.SUBLARR_INCOMING_LOG_RETENTION_DAYS if older_than_days is None else older_than_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"older_than_days must be a whole number of days, 0 or more, not {days!r}.")
    old = IncomingRequest.objects.filter(received_at__lt=timezone.now() - timedelta(days=days))
    if dry_run:
        return old.count()
    total = 0
    while ids := list(old.order_by("id").values_list("id", flat=True)[:PURGE_BATCH_SIZE]):
        deleted, _ = IncomingRequest.objects.filter(id__in=ids).delete()
        total += deleted
    if total:
        logger.info("Purged %d incoming request records older than %d days", total, days)
    return total
