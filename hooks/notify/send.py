"""Send one notification to a target's Apprise URLs: a ``hooks.transports.Result``, or a ``HookError``.

Every URL is checked before anything is sent (``urls.check_url_before_send``):
one refused URL fails the whole delivery permanently, one that does not
resolve fails it for now (transient). Then each URL is sent to in turn, with
the address policy on every connection (``guard.connections_checked``). A
service that does not accept the notification (an HTTP error, a timeout, a
refused login) is a transient failure: Apprise reports only "failed", so
Sublarr cannot tell a bad token from an outage, and the retry schedule and
auto-disable bound the retries. A retry sends to every URL of the target
again, including those that had accepted the notification.

What the Result and the error say: the rendered title and body, the
services' schemes and Apprise's messages with every part of the URLs
masked — never a URL.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import apprise

from hooks.netpolicy import AddressRefused
from hooks.notify import urls as notify_urls
from hooks.notify.apprise_setup import apprise_log, make_asset, scrub, secrets_of
from hooks.notify.guard import connections_checked
from hooks.transports import HookError, Result

BODY_FORMATS = {"text": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN}
NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}
# How services that show a colour or an icon (Discord, ntfy tags, Gotify…) mark each event.
_EVENT_TYPES = {
    "provider_failed": "warning",
    "translation_failed": "failure",
    "whisper_failed": "failure",
    "subtitle_downloaded": "success",
    "upgrade_complete": "success",
    "translation_complete": "success",
    "whisper_complete": "success",
}


def notify_type_for(event_name: str) -> str:
    """The notify type a notification about ``event_name`` is sent as ("info" unless listed)."""
    return _EVENT_TYPES.get(event_name, "info")


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _result(title: str, body: str, outcomes: list[dict[str, Any]], started: float) -> Result:
    return Result(
        duration_ms=_elapsed_ms(started),
        # The log shows stdout: the message as sent.
        stdout=f"{title}\n\n{body}" if title else body,
        extra={
            "title": title,
            "body": body,
            "schemes": list(dict.fromkeys(o["scheme"] for o in outcomes)),
            "outcomes": outcomes,
        },
    )


def send(
    urls: Sequence[str],
    title: str,
    body: str,
    body_format: str = "text",
    notify_type: str = "info",
) -> Result:
    """Send ``title``/``body`` to every URL; raise HookError (permanent: a bad or refused URL) if any fails."""
    started = time.monotonic()
    if body_format not in BODY_FORMATS:
        raise HookError(f"Unknown body format {body_format!r}; use text or markdown.", permanent=True)
    if notify_type not in NOTIFY_TYPES:
        raise HookError(f"Unknown notify type {notify_type!r}; use {', '.join(NOTIFY_TYPES)}.", permanent=True)
    if not urls:
        raise HookError("The notification has no URL to send to.", permanent=True)

    outcomes: list[dict[str, Any]] = []
    parsed: list[notify_urls.NotificationURL] = []
    for url in urls:
        try:
            parsed.append(notify_urls.check_url_before_send(url))
        except AddressRefused as exc:
            result = _result(title, body, outcomes, started)
            raise HookError(exc.message, permanent=not exc.transient, result=result) from None

    failures: list[str] = []
    permanent = False
    for item in parsed:
        secrets = secrets_of(item.url, keep_host=not item.fixed)
        outcome: dict[str, Any] = {"scheme": item.scheme, "success": False}
        with apprise_log(secrets) as log, connections_checked() as refused:
            try:
                sender = apprise.Apprise(asset=make_asset())
                added = sender.add(item.url)
                sent = bool(added) and bool(
                    sender.notify(
                        body=body,
                        title=title,
                        notify_type=NOTIFY_TYPES[notify_type],
                        body_format=BODY_FORMATS[body_format],
                    )
                )
            except Exception as exc:  # Apprise's plugins raise their own errors now and then: a failed send
                sent = False
                log_failure = scrub(f"{type(exc).__name__}: {exc}", secrets)
            else:
                log_failure = ""
        outcome["success"] = sent
        outcomes.append(outcome)
        if sent:
            continue
        if refused:
            permanent = True
            reason = f"address refused while connecting: {'; '.join(scrub(r, secrets) for r in refused)}"
        else:
            reason = log_failure or (log[-1] if log else "the service did not accept the notification")
        outcome["error"] = reason
        failures.append(f"{item.scheme}: {reason}")

    result = _result(title, body, outcomes, started)
    if failures:
        sent_count = sum(1 for o in outcomes if o["success"])
        message = f"Notification failed for {len(failures)} of {len(outcomes)} URL(s) — " + " | ".join(failures)
        if sent_count:
            message += f" ({sent_count} sent)"
        raise HookError(message, permanent=permanent, result=result)
    return result
