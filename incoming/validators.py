"""Validation of incoming-source configuration, shared by the API, the admin and the services.

Each function raises Django's ``ValidationError`` with a message for the
user, keyed by field (``{"field": [message]}``) where there is one.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from .models import SourceKind

NAME_MAX_LENGTH = 64
BASIC_USERNAME_MAX_LENGTH = 150
BASIC_PASSWORD_MAX_LENGTH = 1024
MAX_PATH_MAPPINGS = 50
PREFIX_MAX_LENGTH = 1024

NAME_MESSAGE = (
    f"Enter a name of 1 to {NAME_MAX_LENGTH} letters, digits, '-' or '_' (it is part of the URL /api/incoming/<name>/)."
)
KIND_MESSAGE = f"Unknown kind. Choose one of: {', '.join(SourceKind.values)}."
MAPPINGS_MESSAGE = (
    'Path mappings must be a list of {"remote": "<prefix the app sees>", "local": "<prefix sublarr sees>"} objects.'
)
MAPPINGS_COUNT_MESSAGE = f"At most {MAX_PATH_MAPPINGS} path mappings."
PREFIX_MESSAGE = (
    f"Each remote and local prefix must be 1 to {PREFIX_MAX_LENGTH} characters, without NUL or other "
    "control characters."
)
LOCAL_DOTDOT_MESSAGE = "A local prefix must not contain a '..' component."
DUPLICATE_REMOTE_MESSAGE = "Two mappings have the same remote prefix {remote!r}."
BASIC_PAIR_MESSAGE = "Set both a Basic username and a Basic password, or neither."
BASIC_USERNAME_MESSAGE = (
    f"The Basic username must be 1 to {BASIC_USERNAME_MAX_LENGTH} characters, without ':' or control characters."
)
BASIC_PASSWORD_MESSAGE = (
    f"The Basic password must be 1 to {BASIC_PASSWORD_MAX_LENGTH} characters, without control characters."
)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not _NAME.match(name):
        raise ValidationError({"name": [NAME_MESSAGE]})
    return name


def validate_kind(value: Any) -> str:
    if value not in SourceKind.values:
        raise ValidationError({"kind": [KIND_MESSAGE]})
    return value


def validate_path_mappings(value: Any) -> list[dict[str, str]]:
    """Return the mappings as clean ``{"remote", "local"}`` dicts (order kept; the longest prefix wins anyway)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValidationError({"path_mappings": [MAPPINGS_MESSAGE]})
    if len(value) > MAX_PATH_MAPPINGS:
        raise ValidationError({"path_mappings": [MAPPINGS_COUNT_MESSAGE]})
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in value:
        if set(item) != {"remote", "local"}:
            raise ValidationError({"path_mappings": [MAPPINGS_MESSAGE]})
        remote, local = item["remote"], item["local"]
        for prefix in (remote, local):
            if not isinstance(prefix, str) or not prefix or len(prefix) > PREFIX_MAX_LENGTH or _CONTROL.search(prefix):
                raise ValidationError({"path_mappings": [PREFIX_MESSAGE]})
        if ".." in re.split(r"[/\\]", local):
            raise ValidationError({"path_mappings": [LOCAL_DOTDOT_MESSAGE]})
        if remote in seen:
            raise ValidationError({"path_mappings": [DUPLICATE_REMOTE_MESSAGE.format(remote=remote)]})
        seen.add(remote)
        cleaned.append({"remote": remote, "local": local})
    return cleaned


def validate_basic(username: Any, password: Any) -> tuple[str, str]:
    """Both empty (no Basic auth) or both set."""
    username = username or ""
    password = password or ""
    if bool(username) != bool(password):
        raise ValidationError({"basic_username": [BASIC_PAIR_MESSAGE]})
    if username and (
        not isinstance(username, str)
        or len(username) > BASIC_USERNAME_MAX_LENGTH
        or ":" in username
        or _CONTROL.search(username)
    ):
        raise ValidationError({"basic_username": [BASIC_USERNAME_MESSAGE]})
    if password and (
        not isinstance(password, str) or len(password) > BASIC_PASSWORD_MAX_LENGTH or _CONTROL.search(password)
    ):
        raise ValidationError({"basic_password": [BASIC_PASSWORD_MESSAGE]})
    return username, password
