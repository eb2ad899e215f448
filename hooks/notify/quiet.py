"""Quiet hours: a local time window in which a notification target does not disturb.

A target may have a window (``start``-``end``, local wall-clock time in an
IANA time zone; it may cross midnight, 22:00-07:00) and a list of events that
still go through inside it (``passes``, e.g. ``provider_failed``). For an
event inside the window ``decide`` answers, by the target's ``mode``:

* **hold** (the default): the notification is kept and sent when the window
  ends — ``Decision.until`` is that moment (aware, UTC). Nothing is lost; a
  night's notifications arrive together in the morning, each as it would have
  been, in order. The pipeline schedules the delivery for ``until`` without
  counting an attempt, and decides again then (the hours may have changed).
* **skip**: the notification is not sent at all and the log records it as
  skipped (``HookLog.skipped``) with the reason.

``start == end`` means no window. Times are wall-clock: on a day the clocks
change, a window end that does not exist (02:30 when 02:00 jumps to 03:00) is
read with the offset before the change (03:30 by the new clock), and one that
happens twice (02:30 when 03:00 goes back to 02:00) is its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from events.catalog import HOOKABLE_EVENTS
from events.errors import Invalid

HOLD = "hold"
SKIP = "skip"
MODES = (HOLD, SKIP)
# How a held decision's reason starts: the pending delivery's last_error, by which it is known as held (hooks.held).
HELD_PREFIX = "held: "

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: str
    passes: frozenset[str] = field(default_factory=frozenset)
    mode: str = HOLD

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Decision(NamedTuple):
    action: Literal["send", "hold", "skip"]
    # For "hold": when the window ends (aware, UTC). None otherwise.
    until: datetime | None = None
    reason: str = ""


SEND_NOW = Decision("send")


def _inside(quiet: QuietHours, local: time) -> bool:
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end  # the window crosses midnight


def _wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``zone``, as UTC (a wall time that does not exist or exists twice: see the module)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def window_end(quiet: QuietHours, now: datetime) -> datetime:
    """When the window ``now`` is in ends (aware, UTC)."""
    zone = quiet.zone
    local = now.astimezone(zone)
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)  # evening part of a window crossing midnight: it ends tomorrow
    return _wall_clock(day, quiet.end, zone)


def decide(quiet: QuietHours | None, event_name: str, now: datetime) -> Decision:
    """Whether a notification about ``event_name`` goes now, is held until the window ends, or is skipped."""
    if quiet is None or event_name in quiet.passes:
        return SEND_NOW
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(quiet.zone)
    if not _inside(quiet, local.time().replace(tzinfo=None)):
        return SEND_NOW
    window = f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} {quiet.timezone}"
    if quiet.mode == SKIP:
        return Decision("skip", None, f"skipped: {event_name} at {local:%H:%M} is inside the {window}")
    until = window_end(quiet, now)
    return Decision(
        "hold", until, f"{HELD_PREFIX}{event_name} at {local:%H:%M} is inside the {window}; sent at {until.isoformat()}"
    )


# ---------------------------------------------------------------------------------------------------------------------
# Validation of the fields a target stores.


def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, str) and (match := _HH_MM.match(value.strip())):
        return time(int(match.group(1)), int(match.group(2)))
    raise ValueError


def quiet_hours_from(
    *, start: Any, end: Any, timezone: Any, passes: Iterable[Any] = (), mode: Any = HOLD
) -> QuietHours | None:
    """Validate a target's quiet-hours fields; None when it has none (no start and no end).

    Raises ``events.errors.Invalid`` with ``quiet_start``, ``quiet_end``,
    ``quiet_timezone``, ``quiet_passes`` or ``quiet_mode`` → messages.
    """
    if start in (None, "") and end in (None, ""):
        return None
    errors: dict[str, list[str]] = {}
    times: dict[str, time] = {}
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        try:
            times[name] = _parse_time(value)
        except ValueError:
            errors[name] = ["Enter a time as HH:MM (24-hour), e.g. 22:00."]
    zone_name = timezone.strip() if isinstance(timezone, str) else ""
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        errors["quiet_timezone"] = ["Enter an IANA time zone such as Europe/Berlin or America/New_York."]
    passes_list = [passes] if isinstance(passes, str) else list(passes or ())
    unknown = [str(name) for name in passes_list if name not in HOOKABLE_EVENTS]
    if unknown:
        errors["quiet_passes"] = [
            f"Unknown event(s) {', '.join(map(repr, unknown))}. Choose from: {', '.join(HOOKABLE_EVENTS)}."
        ]
    if mode not in MODES:
        errors["quiet_mode"] = ["Choose hold (send when the quiet hours end) or skip (do not send)."]
    if errors:
        first = next(iter(errors))
        raise Invalid(errors[first][0], field=first, errors=errors)
    return QuietHours(times["quiet_start"], times["quiet_end"], zone_name, frozenset(passes_list), mode)
