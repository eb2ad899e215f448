"""Validation of hook and webhook configuration: the one place the API, the admin and the services share.

Every function raises Django's ``ValidationError`` with a message meant for
the user; DRF turns it into a field error, the admin into a form error.
Settings (hooks dir, address policy) are read at call time.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from events import jsonlimits
from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from hooks.netpolicy import AddressRefused, check_webhook_url_on_save
from hooks.scriptpath import ScriptPathError, resolve_script_path

ALL_EVENTS = "*"

NAME_MAX_LENGTH = 100
URL_MAX_LENGTH = 2048
SECRET_MAX_LENGTH = 255
SCRIPT_PATH_MAX_LENGTH = 1024

# (minimum, maximum) per numeric setting, with the model's defaults alongside.
HOOK_TIMEOUT_BOUNDS = (1, 300)
WEBHOOK_TIMEOUT_BOUNDS = (1, 60)
RETRY_COUNT_BOUNDS = (0, 10)

NAME_MESSAGE = f"Enter a name of 1 to {NAME_MAX_LENGTH} characters."
HOOK_TIMEOUT_MESSAGE = "The timeout must be a whole number of seconds from 1 to 300."
WEBHOOK_TIMEOUT_MESSAGE = "The timeout must be a whole number of seconds from 1 to 60."
RETRY_COUNT_MESSAGE = "The retry count must be a whole number from 0 to 10."
LOOP_MESSAGE = "hook_executed cannot trigger hooks or webhooks: it is emitted after every hook run, so it would loop."
STAR_FOR_HOOK_MESSAGE = "'*' (every event) is only available for webhooks; a script hook runs on one event."
URL_LENGTH_MESSAGE = f"Enter a URL of at most {URL_MAX_LENGTH} characters."
URL_SCHEME_MESSAGE = "The URL must start with http:// or https://."
URL_HOST_MESSAGE = "The URL must include a host name."
URL_HOST_INVALID_MESSAGE = "The URL's host is not a valid host name."
URL_INVALID_MESSAGE = "Enter a valid URL."
URL_PORT_MESSAGE = "The URL's port must be a number from 1 to 65535."
URL_SPACE_MESSAGE = "The URL must not contain spaces or control characters."
URL_MASKED_MESSAGE = (
    "The URL's password is the masked placeholder ******** and there is no stored password to keep; "
    "enter the real password."
)
URL_MASKED_ORIGIN_MESSAGE = (
    "The URL's password is the masked placeholder ******** but the scheme, host, port or user name changed, "
    "so the stored password is not kept; enter the password for the new address."
)
# What a password in a webhook URL (https://user:password@host/) is shown as.
URL_PASSWORD_MASK = "********"  # noqa: S105 - a placeholder shown instead of a password
SCRIPT_PATH_REQUIRED_MESSAGE = "Enter the path of a script inside the hooks directory."
SCRIPT_PATH_LENGTH_MESSAGE = f"The script path must be at most {SCRIPT_PATH_MAX_LENGTH} characters."
SECRET_LENGTH_MESSAGE = f"The secret must be at most {SECRET_MAX_LENGTH} characters."
SECRET_MASK_MESSAGE = (
    "This looks like a masked placeholder, not a secret. Omit the secret to keep the stored one, "  # noqa: S105
    "send an empty string to clear it."
)
SECRET_CONFLICT_MESSAGE = "Send a secret or generate_secret, not both."  # noqa: S105
SECRET_CHARACTERS_MESSAGE = "The secret must not contain spaces or control characters."  # noqa: S105
SECRET_WHSEC_MESSAGE = "A secret starting with whsec_ must continue with valid base64 (at least 16 bytes decoded)."  # noqa: S105

TEXT_TYPE_MESSAGE = "Enter text."

_MASK_CHARACTERS = frozenset("*•●")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def validate_text(value: Any) -> str:
    """Return ``value`` if it is a string that can be stored and encoded (no lone surrogate).

    A lone surrogate (``"\\ud800"``) is valid JSON but not valid Unicode: the
    file system, the database and UTF-8 all refuse it. Every text field is
    checked here first, so no later check (path, DNS, database) meets one.
    """
    if not isinstance(value, str):
        raise ValidationError(TEXT_TYPE_MESSAGE, code="invalid")
    if message := jsonlimits.text_error(value):
        raise ValidationError(message, code="surrogate")
    return value


def _unknown_event_message(value: str, *, allow_all: bool) -> str:
    choices = ", ".join(HOOKABLE_EVENTS)
    if allow_all:
        choices += ", or * for every event"
    return f"Unknown event {value!r}. Choose one of: {choices}."


def validate_name(value: str) -> str:
    """Return the name, stripped; 1 to 100 characters."""
    name = validate_text(value if value is not None else "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ValidationError(NAME_MESSAGE, code="name")
    return name


def validate_event_name(value: str, *, allow_all: bool) -> str:
    """Return a hookable catalog event name (``*`` too when ``allow_all``, for webhooks)."""
    validate_text(value)
    if value == ALL_EVENTS:
        if allow_all:
            return value
        raise ValidationError(STAR_FOR_HOOK_MESSAGE, code="all_events")
    spec = EVENT_CATALOG.get(value)
    if spec is not None and spec.meta:
        raise ValidationError(LOOP_MESSAGE, code="loop")
    if spec is None:
        raise ValidationError(_unknown_event_message(value, allow_all=allow_all), code="unknown_event")
    return value


def validate_hook_event_name(value: str) -> str:
    return validate_event_name(value, allow_all=False)


def validate_webhook_event_name(value: str) -> str:
    return validate_event_name(value, allow_all=True)


def validate_script_path(value: str) -> str:
    """Check a script path (inside SUBLARR_HOOKS_DIR, regular file, executable) and return it as given."""
    path = validate_text(value if value is not None else "").strip()
    if not path:
        raise ValidationError(SCRIPT_PATH_REQUIRED_MESSAGE, code="required")
    if len(path) > SCRIPT_PATH_MAX_LENGTH:
        raise ValidationError(SCRIPT_PATH_LENGTH_MESSAGE, code="max_length")
    try:
        resolve_script_path(path)
    except ScriptPathError as exc:
        raise ValidationError(str(exc), code="script_path") from None
    return path


def validate_url_syntax(value: str) -> str:
    """Check a webhook URL's form (http/https, a host, at most 2048 characters) without resolving it."""
    url = validate_text(value if value is not None else "")
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(URL_LENGTH_MESSAGE, code="max_length")
    if _CONTROL_OR_SPACE.search(url):
        raise ValidationError(URL_SPACE_MESSAGE, code="invalid")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValidationError(URL_INVALID_MESSAGE, code="invalid") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValidationError(URL_SCHEME_MESSAGE, code="scheme")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValidationError(URL_PORT_MESSAGE, code="port") from None
    if not host:
        raise ValidationError(URL_HOST_MESSAGE, code="host")
    if not _is_host(host):
        raise ValidationError(URL_HOST_INVALID_MESSAGE, code="host")
    if port == 0:
        raise ValidationError(URL_PORT_MESSAGE, code="port")
    return url


def _is_host(host: str) -> bool:
    """Whether ``host`` is an IP address or a name DNS could look up (IDNA-encodable, labels of 1-63)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:
        host.rstrip(".").encode("idna")
    except UnicodeError:
        return False
    return True


def check_url(value: str) -> tuple[str, str | None]:
    """Check a webhook URL to be saved: its form and the address policy (DESIGN.md §4).

    Returns the URL and a warning to show, or None. A literal address or a
    name resolving to a refused address is refused; a name that does not
    resolve now is accepted with a warning (the check before every
    connection is the one that protects, and the host may exist later).
    """
    url = validate_url_syntax(value)
    try:
        warning = check_webhook_url_on_save(url)
    except AddressRefused as exc:
        raise ValidationError(str(exc), code="address") from None
    return url, warning


def validate_url(value: str) -> str:
    """``check_url`` without the warning: for callers that only need to know it may be saved."""
    return check_url(value)[0]


def _split_userinfo(url: str) -> tuple[Any, str, str | None, str] | None:
    """(parts, user, password as written, host[:port]) of a URL with userinfo, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return parts, user, password if colon else None, hostport


def mask_url(url: str) -> str:
    """``url`` with the password of its userinfo replaced by ``URL_PASSWORD_MASK``: fit to show or log.

    ``https://user:pw@host/x`` → ``https://user:********@host/x``; a URL
    without a password is returned as it is.
    """
    split = _split_userinfo(url)
    if split is None or not split[2]:
        return url
    parts, user, _password, hostport = split
    return urlunsplit(parts._replace(netloc=f"{user}:{URL_PASSWORD_MASK}@{hostport}"))


def _origin(url: str) -> tuple[str, str, int | None, str] | None:
    """(scheme, host, port, user) of ``url``, the parts a stored password belongs to; None if unparsable."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.username or ""


def unmask_url(submitted: str, stored: str | None) -> str:
    """The URL to save when a client sends back the masked URL it was shown: the stored password kept.

    The password is kept only for the address it was given for: scheme, host,
    port and user name unchanged. Anything else would send the stored password
    to a server the client chose, by editing the host around the mask. Raises
    ValidationError when ``submitted`` carries the mask but there is nothing
    to keep (a new object, no stored password) or the address changed.
    Reusable for any URL whose password is kept on edit.
    """
    split = _split_userinfo(submitted)
    if split is None or split[2] != URL_PASSWORD_MASK:
        return submitted
    kept = _split_userinfo(stored or "")
    if kept is None or not kept[2]:
        raise ValidationError(URL_MASKED_MESSAGE, code="masked")
    if _origin(submitted) != _origin(stored or ""):
        raise ValidationError(URL_MASKED_ORIGIN_MESSAGE, code="masked_origin")
    parts, user, _mask, hostport = split
    return urlunsplit(parts._replace(netloc=f"{user}:{kept[2]}@{hostport}"))


def validate_secret(value: str) -> str:
    """Check a secret being set (the empty string, which clears it, is always valid)."""
    validate_text(value)
    if value == "":
        return value
    if len(value) > SECRET_MAX_LENGTH:
        raise ValidationError(SECRET_LENGTH_MESSAGE, code="max_length")
    if set(value) <= _MASK_CHARACTERS:
        raise ValidationError(SECRET_MASK_MESSAGE, code="masked")
    if _CONTROL_OR_SPACE.search(value):
        raise ValidationError(SECRET_CHARACTERS_MESSAGE, code="invalid")
    if value.startswith("whsec_"):
        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < 16:
            raise ValidationError(SECRET_WHSEC_MESSAGE, code="whsec")
    return value


def _validate_bounded_int(value: Any, bounds: tuple[int, int], message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(message, code="invalid")
    low, high = bounds
    if not low <= value <= high:
        raise ValidationError(message, code="bounds")
    return value


def validate_hook_timeout(value: Any) -> int:
    return _validate_bounded_int(value, HOOK_TIMEOUT_BOUNDS, HOOK_TIMEOUT_MESSAGE)


def validate_webhook_timeout(value: Any) -> int:
    return _validate_bounded_int(value, WEBHOOK_TIMEOUT_BOUNDS, WEBHOOK_TIMEOUT_MESSAGE)


def validate_retry_count(value: Any) -> int:
    return _validate_bounded_int(value, RETRY_COUNT_BOUNDS, RETRY_COUNT_MESSAGE)


def _validate_enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Enabled must be true or false.", code="invalid")
    return value


HOOK_FIELD_VALIDATORS = {
    "name": validate_name,
    "event_name": validate_hook_event_name,
    "script_path": validate_script_path,
    "timeout_seconds": validate_hook_timeout,
    "enabled": _validate_enabled,
}

WEBHOOK_FIELD_VALIDATORS = {
    "name": validate_name,
    "event_name": validate_webhook_event_name,
    "url": validate_url,
    "secret": validate_secret,
    "retry_count": validate_retry_count,
    "timeout_seconds": validate_webhook_timeout,
    "enabled": _validate_enabled,
}


def _clean(data: dict[str, Any], validators: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(validators))
    if unknown:
        raise ValidationError({key: ValidationError("Unknown field.", code="unknown") for key in unknown})
    cleaned: dict[str, Any] = {}
    errors: dict[str, ValidationError] = {}
    for key, value in data.items():
        try:
            cleaned[key] = validators[key](value)
        except ValidationError as exc:
            errors[key] = exc
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_hook_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the given HookConfig fields; return them cleaned or raise one error per field."""
    return _clean(data, HOOK_FIELD_VALIDATORS)


def clean_webhook_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the given WebhookConfig fields; return them cleaned or raise one error per field."""
    return _clean(data, WEBHOOK_FIELD_VALIDATORS)


# What validate_secret and validate_url_syntax accept, as far as a pattern can say it
# (not: a whsec_ secret's base64, a URL's host and port, the address policy):
# sublarr.schema puts a validator's schema_pattern in the OpenAPI schema. The
# empty secret (clear it) is a schema branch of its own, as blank is allowed.
validate_secret.schema_pattern = r"^[^\x00-\x20\x7f]*[^\x00-\x20\x7f*•●][^\x00-\x20\x7f]*$"  # type: ignore[attr-defined]  # read by sublarr.schema
validate_url_syntax.schema_pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f]+$"  # type: ignore[attr-defined]  # read by sublarr.schema

# The event names a webhook or a notification may subscribe to (the API schema's enum of them).
TARGET_EVENT_CHOICES = [*HOOKABLE_EVENTS, ALL_EVENTS]
