"""One notification through Apprise (docs/NOTIFICATIONS.md): quiet hours, the rendered templates, the send.

One attempt, in order:

1. **quiet hours** (``hooks.notify.quiet.decide``) — inside the window, an
   event that does not pass is either *held*: ``DeliveryHeld(until=...)``
   (the pipeline puts the delivery back to pending for that moment without
   counting an attempt or writing a log row; it is decided again then), or
   *skipped*: ``DeliverySkipped`` (the pipeline logs a skipped row);
2. **templates** (``hooks.notify.templates.render``) — a template that fails
   falls back to the event's default; the reason is recorded in the log row
   (``stderr``);
3. **send** (``hooks.notify.send.send``) — every URL checked and sent to,
   the target's ``timeout_seconds`` as Apprise's connect and read timeouts
   (``cto``/``rto``, unless the URL sets them);
   the log row holds the rendered title and body (``stdout``) and the
   services' schemes (``request_headers["schemes"]``), never a URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from django.conf import settings

from events.errors import Invalid
from events.types import Envelope
from hooks.notify import quiet, send, templates
from hooks.notify import urls as notify_urls

from .base import DeliveryHeld, DeliverySkipped, HookError, Result, Transport

# A target's timeout bounds each URL's connect and its read (Apprise's cto/rto), one URL after another.
_MAX_URLS = notify_urls.MAX_URLS


class NotificationTarget(Protocol):
    """What a notification reads of its target (``hooks.models.NotificationConfig``)."""

    @property
    def name(self) -> str: ...

    @property
    def timeout_seconds(self) -> int: ...

    @property
    def urls(self) -> Sequence[str]: ...

    @property
    def title_template(self) -> str: ...

    @property
    def body_template(self) -> str: ...

    @property
    def body_format(self) -> str: ...

    @property
    def quiet_start(self) -> str: ...

    @property
    def quiet_end(self) -> str: ...

    @property
    def quiet_timezone(self) -> str: ...

    @property
    def quiet_passes(self) -> Sequence[str]: ...

    @property
    def quiet_mode(self) -> str: ...


def _quiet_hours(target: NotificationTarget) -> quiet.QuietHours | None:
    try:
        return quiet.quiet_hours_from(
            start=target.quiet_start,
            end=target.quiet_end,
            timezone=target.quiet_timezone,
            passes=target.quiet_passes or (),
            mode=target.quiet_mode or quiet.HOLD,
        )
    except Invalid:  # fields changed behind the validation (a shell): no window rather than no message
        return None


def deliver(
    target: NotificationTarget, envelope: Envelope, *, now: datetime | None = None, quiet_hours: bool = True
) -> Result:
    """One attempt; ``quiet_hours=False`` (a test run) sends now whatever the target's quiet hours say."""
    event_name = envelope["event_name"]
    decision = quiet.decide(_quiet_hours(target) if quiet_hours else None, event_name, now or datetime.now(UTC))
    if decision.action == "skip":
        raise DeliverySkipped(decision.reason)
    if decision.action == "hold" and decision.until is not None:  # a hold always says until when
        raise DeliveryHeld(decision.reason, until=decision.until)

    rendered = templates.render(target.title_template, target.body_template, envelope)
    fallback = f"Template fallback: {rendered.fallback_reason}" if rendered.fallback_reason else ""
    try:
        result = send.send(
            [with_timeout(url, target.timeout_seconds) for url in target.urls],
            rendered.title,
            rendered.body,
            body_format=target.body_format or "text",
            notify_type=send.notify_type_for(event_name),
        )
    except HookError as exc:
        _describe(exc.result, rendered.title, rendered.body, target.urls, fallback)
        raise
    _describe(result, rendered.title, rendered.body, target.urls, fallback)
    return result


def with_timeout(url: str, seconds: int) -> str:
    """``url`` with Apprise's connect and read timeouts (``cto``/``rto``) set to ``seconds``, unless it sets them."""
    head, hash_, fragment = url.partition("#")
    options = head.partition("?")[2].lower().split("&")
    extra = [f"{key}={seconds}" for key in ("cto", "rto") if not any(o.startswith(f"{key}=") for o in options)]
    if not extra:
        return url
    return head + ("&" if "?" in head else "?") + "&".join(extra) + hash_ + fragment


def _describe(result: Result, title: str, body: str, urls: Sequence[str], fallback: str) -> None:
    """What the log row shows: the message as rendered, the services' schemes, a template fallback."""
    result.stdout = result.stdout or (f"{title}\n\n{body}" if title else body)
    schemes = result.extra.get("schemes") or notify_urls.schemes(list(urls))
    result.request_headers = {"schemes": ", ".join(schemes)}
    if fallback:
        result.stderr = fallback


class NotificationTransport(Transport[NotificationTarget]):
    """Apprise notifications; the log row gets the rendered message and the schemes, never a URL."""

    kind = "notification"
    label = "Notification"

    def deliver(self, target: NotificationTarget, envelope: Envelope, *, attempt: int) -> Result:
        return deliver(target, envelope)

    def deliver_test(self, target: NotificationTarget, envelope: Envelope) -> Result:
        # A user pressing "test" expects the message now: quiet hours do not hold or skip a test.
        return deliver(target, envelope, quiet_hours=False)

    def lease_seconds(self, timeout_seconds: int) -> float:
        # Each URL: a connect and a read, each bounded by the timeout; the URLs one after another.
        return 2 * float(timeout_seconds) * _MAX_URLS + float(settings.SUBLARR_DELIVERY_LEASE_GRACE_SECONDS)


TRANSPORT = NotificationTransport()
