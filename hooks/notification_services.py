"""Configuration writes for notification targets: validation, create, change, enable/disable, delete.

Every check of a notification's fields is here, shared by the API and the
admin; a refusal is ``events.errors.Invalid`` with field → messages (the
API's 400). What is checked (docs/NOTIFICATIONS.md):

* ``events`` — a list of catalog events, or ``["*"]`` (``validate_events``);
* ``urls`` — one to ten Apprise URLs; a URL sent back masked, exactly as it
  was shown, is the stored one (``hooks.notify.urls.unmask_urls``); then
  parsed by Apprise and the address policy applied as far as it can be at
  save (``check_urls_on_save``; a host that does not resolve now is a warning);
* ``title_template`` / ``body_template`` — parsed in the sandbox, unknown
  variables and payload keys refused, rendered against the target's events'
  samples (``hooks.notify.templates.validate``), each message with its line;
* quiet hours — ``hooks.notify.quiet.quiet_hours_from``.

Like webhooks, each change emits ``config_updated`` on commit with keys
``notifications.<id>[.<field>]`` (never a value: the URLs hold secrets).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from events import emit_event
from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from events.errors import Invalid

from . import validators
from .models import NotificationConfig
from .notify import quiet, templates
from .notify import urls as notify_urls
from .services import Source, clear_disabled_state

logger = logging.getLogger(__name__)

QUIET_FIELDS = ("quiet_start", "quiet_end", "quiet_timezone", "quiet_passes", "quiet_mode")
BODY_FORMAT_MESSAGE = "Choose text or markdown."

EVENTS_TYPE_MESSAGE = 'Send a list of event names, e.g. ["subtitle_downloaded", "provider_failed"], or ["*"].'
EVENTS_EMPTY_MESSAGE = "Choose at least one event, or * for every event."
EVENTS_LOOP_MESSAGE = (
    "hook_executed cannot trigger notifications: it is emitted after every delivery, so it would loop."
)
EVENTS_STAR_MESSAGE = "* already means every event: send it alone, or list the events without it."


def validate_events(value: Any) -> list[str]:
    """A target's events as stored: ``["*"]``, or catalog names in catalog order.

    Raises ``ValidationError`` with every problem of the list: not a list of
    names, empty, unknown names, ``hook_executed``, a name listed twice, ``*``
    beside names.
    """
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise ValidationError(EVENTS_TYPE_MESSAGE, code="invalid")
    if not value:
        raise ValidationError(EVENTS_EMPTY_MESSAGE, code="empty")
    problems: list[str] = []
    unknown = [name for name in value if name not in EVENT_CATALOG and name != validators.ALL_EVENTS]
    if unknown:
        choices = ", ".join(HOOKABLE_EVENTS)
        problems.append(f"Unknown event(s) {', '.join(map(repr, unknown))}. Choose from: {choices}, or * alone.")
    if any(name in EVENT_CATALOG and name not in HOOKABLE_EVENTS for name in value):
        problems.append(EVENTS_LOOP_MESSAGE)
    twice = sorted({name for name in value if value.count(name) > 1})
    if twice:
        problems.append(f"Listed more than once: {', '.join(map(repr, twice))}.")
    if validators.ALL_EVENTS in value and len(set(value)) > 1:
        problems.append(EVENTS_STAR_MESSAGE)
    if problems:
        raise ValidationError(problems, code="events")
    if validators.ALL_EVENTS in value:
        return [validators.ALL_EVENTS]
    return [name for name in HOOKABLE_EVENTS if name in value]


_SIMPLE = {
    "name": validators.validate_name,
    "events": validate_events,
    "retry_count": validators.validate_retry_count,
    "timeout_seconds": validators.validate_webhook_timeout,
    "enabled": validators.WEBHOOK_FIELD_VALIDATORS["enabled"],
}
FIELDS = (*_SIMPLE, "urls", "title_template", "body_template", "body_format", *QUIET_FIELDS)
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "title_template": "",
    "body_template": "",
    "body_format": NotificationConfig.BodyFormat.TEXT,
    "quiet_start": "",
    "quiet_end": "",
    "quiet_timezone": "",
    "quiet_passes": [],
    "quiet_mode": NotificationConfig.QuietMode.HOLD,
    "retry_count": 3,
    "timeout_seconds": 10,
}


def _messages(exc: ValidationError) -> list[str]:
    return [str(message) for message in exc.messages]


def notification_clean(
    data: dict[str, Any], *, instance: NotificationConfig | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Validate the given fields (with the instance's others, for checks across fields); return them and warnings.

    Raises ``Invalid`` with every offending field's messages.
    """
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(FIELDS))
    for key in unknown:
        errors[key] = ["Unknown field."]
    cleaned: dict[str, Any] = {}
    warnings: list[str] = []
    for key, check in _SIMPLE.items():
        if key in data:
            try:
                cleaned[key] = check(data[key])
            except ValidationError as exc:
                errors[key] = _messages(exc)
    if "urls" in data:
        try:
            submitted = notify_urls.unmask_urls(data["urls"], list(instance.urls) if instance else [])
            cleaned["urls"], warnings = notify_urls.check_urls_on_save(submitted)
        except Invalid as exc:
            errors.update(exc.errors)
    if "body_format" in data:
        if data["body_format"] in NotificationConfig.BodyFormat.values:
            cleaned["body_format"] = data["body_format"]
        else:
            errors["body_format"] = [BODY_FORMAT_MESSAGE]

    def current(key: str) -> Any:
        if key in data:
            return cleaned.get(key, data[key])
        return getattr(instance, key) if instance is not None else DEFAULTS.get(key, "")

    if {"title_template", "body_template", "events"} & set(data) and "events" not in errors:
        try:
            templates.validate(current("title_template"), current("body_template"), event_names=current("events"))
        except Invalid as exc:
            errors.update(exc.errors)
        else:
            for key in ("title_template", "body_template"):
                if key in data:
                    cleaned[key] = data[key] or ""
    if set(QUIET_FIELDS) & set(data):
        try:
            cleaned.update(_quiet_fields(current))
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first][0], field=first, errors=errors)
    return cleaned, warnings


def _quiet_fields(current: Any) -> dict[str, Any]:
    """The quiet-hours fields as stored (times as HH:MM); no window: start, end and zone empty."""
    passes, mode = list(current("quiet_passes") or []), current("quiet_mode")
    hours = quiet.quiet_hours_from(
        start=current("quiet_start"),
        end=current("quiet_end"),
        timezone=current("quiet_timezone"),
        passes=passes,
        mode=mode,
    )
    if hours is None:
        # No window: the events that pass and the mode are kept for later, checked all the same.
        hours = quiet.quiet_hours_from(start="00:00", end="00:00", timezone="UTC", passes=passes, mode=mode)
        assert hours is not None
        return {
            "quiet_start": "",
            "quiet_end": "",
            "quiet_timezone": "",
            "quiet_passes": sorted(hours.passes),
            "quiet_mode": hours.mode,
        }
    return {
        "quiet_start": hours.start.strftime("%H:%M"),
        "quiet_end": hours.end.strftime("%H:%M"),
        "quiet_timezone": hours.timezone,
        "quiet_passes": sorted(hours.passes),
        "quiet_mode": hours.mode,
    }


def _emit(keys: list[str], source: Source) -> None:
    if keys:
        emit_event("config_updated", {"changed_keys": keys, "source": source})


@transaction.atomic
def notification_create(*, data: dict[str, Any], source: Source) -> tuple[NotificationConfig, list[str]]:
    """Create a notification target from ``data`` (name, events and urls required); return it and warnings."""
    missing = {key: ["This field is required."] for key in ("name", "events", "urls") if key not in data}
    if missing:
        first = next(iter(missing))
        raise Invalid(missing[first][0], field=first, errors=missing)
    cleaned, warnings = notification_clean({**DEFAULTS, **data})
    target = NotificationConfig.objects.create(**cleaned)
    logger.info("Notification %s (%s) created by %s", target.pk, ", ".join(target.event_names), source)
    _emit([f"notifications.{target.pk}"], source)
    return target, warnings


@transaction.atomic
def notification_update(
    *, target: NotificationConfig, data: dict[str, Any], source: Source
) -> tuple[NotificationConfig, list[str]]:
    """Change the given fields; re-enabling clears the auto-disable state. Returns it and warnings."""
    cleaned, warnings = notification_clean(data, instance=target)
    changed = [key for key, value in cleaned.items() if getattr(target, key) != value]
    for key in changed:
        setattr(target, key, cleaned[key])
    if "enabled" in changed and target.enabled:
        changed += clear_disabled_state(target)
    if changed:
        target.save(update_fields=[*changed, "updated_at"])
        logger.info("Notification %s changed by %s: %s", target.pk, source, ", ".join(changed))
    _emit([f"notifications.{target.pk}.{key}" for key in changed], source)
    return target, warnings


@transaction.atomic
def notification_set_enabled(*, target: NotificationConfig, enabled: bool, source: Source) -> bool:
    """Switch a target on (clearing the auto-disable state) or off; whether anything changed."""
    changed = clear_disabled_state(target) if enabled else []
    if target.enabled != enabled:
        target.enabled = enabled
        changed.insert(0, "enabled")
    if changed:
        target.save(update_fields=[*changed, "updated_at"])
        logger.info("Notification %s %s by %s", target.pk, "enabled" if enabled else "disabled", source)
    _emit([f"notifications.{target.pk}.{key}" for key in changed], source)
    return bool(changed)


@transaction.atomic
def notification_failures_reset(*, target: NotificationConfig, source: Source) -> None:
    if target.consecutive_failures:
        target.consecutive_failures = 0
        target.save(update_fields=["consecutive_failures", "updated_at"])
        _emit([f"notifications.{target.pk}.consecutive_failures"], source)


@transaction.atomic
def notification_delete(*, target: NotificationConfig, source: Source) -> None:
    """Delete a target; its log rows stay (with its name)."""
    pk = target.pk
    target.delete()
    logger.info("Notification %s deleted by %s", pk, source)
    _emit([f"notifications.{pk}"], source)
