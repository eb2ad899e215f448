"""Quiet hours: inside the window an event is held until it ends or skipped; listed events pass; DST and midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from events.catalog import HOOKABLE_EVENTS
from events.errors import Invalid
from events.services import build_envelope
from hooks.notify.quiet import Decision, QuietHours, decide, quiet_hours_from, window_end
from hooks.transports import DeliveryHeld, DeliverySkipped, notification

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin", frozenset({"provider_failed"}))
AFTERNOON = QuietHours(time(13, 0), time(15, 30), "America/New_York")


def at(year, month, day, hour, minute, zone=BERLIN) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # Evening part of a window crossing midnight: held until tomorrow 07:00 Berlin (06:00 UTC in winter).
        (at(2026, 1, 14, 23, 30), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
        (at(2026, 1, 14, 22, 0), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
        # Morning part: held until 07:00 the same day.
        (at(2026, 1, 15, 0, 0), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
        (at(2026, 1, 15, 6, 59), datetime(2026, 1, 15, 6, 0, tzinfo=UTC)),
        # Summer time: 07:00 Berlin is 05:00 UTC.
        (at(2026, 7, 1, 23, 0), datetime(2026, 7, 2, 5, 0, tzinfo=UTC)),
    ],
)
def test_an_event_inside_a_window_crossing_midnight_is_held_until_it_ends(now, until):
    decision = decide(NIGHT, "subtitle_downloaded", now)
    assert decision.action == "hold"
    assert decision.until == until
    assert decision.reason.startswith(
        f"held: subtitle_downloaded at {now:%H:%M} is inside the quiet hours 22:00-07:00 Europe/Berlin; sent at "
    )


@pytest.mark.parametrize("now", [at(2026, 1, 15, 7, 0), at(2026, 1, 15, 12, 0), at(2026, 1, 14, 21, 59)])
def test_outside_the_window_it_is_sent_now(now):
    assert decide(NIGHT, "subtitle_downloaded", now) == Decision("send")


def test_the_listed_events_pass_inside_the_window():
    assert decide(NIGHT, "provider_failed", at(2026, 1, 15, 3, 0)) == Decision("send")


def test_the_window_is_read_in_its_own_time_zone_whatever_now_is_given_in():
    # 18:00 UTC in January is 13:00 in New York: inside 13:00-15:30 there.
    decision = decide(AFTERNOON, "batch_complete", datetime(2026, 1, 15, 18, 0, tzinfo=UTC))
    assert decision == Decision(
        "hold",
        datetime(2026, 1, 15, 20, 30, tzinfo=UTC),
        "held: batch_complete at 13:00 is inside the quiet hours 13:00-15:30 America/New_York; "
        "sent at 2026-01-15T20:30:00+00:00",
    )
    assert decide(AFTERNOON, "batch_complete", datetime(2026, 1, 15, 20, 30, tzinfo=UTC)) == Decision("send")


def test_skip_mode_drops_the_notification_and_says_so():
    quiet = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin", mode="skip")
    assert decide(quiet, "wanted_scan_complete", at(2026, 1, 15, 1, 5)) == Decision(
        "skip", None, "skipped: wanted_scan_complete at 01:05 is inside the quiet hours 22:00-07:00 Europe/Berlin"
    )


def test_no_quiet_hours_or_an_empty_window_always_sends():
    assert decide(None, "subtitle_downloaded", at(2026, 1, 15, 3, 0)) == Decision("send")
    empty = QuietHours(time(7, 0), time(7, 0), "Europe/Berlin")
    assert decide(empty, "subtitle_downloaded", at(2026, 1, 15, 7, 0)) == Decision("send")


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(NIGHT, "subtitle_downloaded", datetime(2026, 1, 15, 3, 0))


def test_a_window_ending_in_the_spring_forward_gap_is_read_with_the_offset_before_the_change():
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST. A window ending at 02:30 ends at 01:30 UTC (03:30 CEST).
    quiet = QuietHours(time(1, 0), time(2, 30), "Europe/Berlin")
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert window_end(quiet, now) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_window_ending_at_a_time_that_happens_twice_ends_at_its_first_occurrence():
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
    quiet = QuietHours(time(1, 0), time(2, 30), "Europe/Berlin")
    now = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    assert window_end(quiet, now) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


# --- the stored fields -----------------------------------------------------------------------------------------------


def test_quiet_hours_from_valid_fields():
    quiet = quiet_hours_from(
        start="22:00", end="07:00", timezone="Europe/Berlin", passes=["provider_failed"], mode="skip"
    )
    assert quiet == QuietHours(time(22, 0), time(7, 0), "Europe/Berlin", frozenset({"provider_failed"}), "skip")
    assert quiet_hours_from(start=None, end="", timezone="") is None


def test_quiet_hours_from_refuses_bad_fields_one_message_each():
    with pytest.raises(Invalid) as caught:
        quiet_hours_from(start="25:00", end="7", timezone="Mars/Base", passes=["hook_executed", "nope"], mode="later")
    assert caught.value.errors == {
        "quiet_start": ["Enter a time as HH:MM (24-hour), e.g. 22:00."],
        "quiet_end": ["Enter a time as HH:MM (24-hour), e.g. 22:00."],
        "quiet_timezone": ["Enter an IANA time zone such as Europe/Berlin or America/New_York."],
        "quiet_passes": ["Unknown event(s) 'hook_executed', 'nope'. Choose from: " + ", ".join(HOOKABLE_EVENTS) + "."],
        "quiet_mode": ["Choose hold (send when the quiet hours end) or skip (do not send)."],
    }


@pytest.mark.parametrize("zone", ["", "../../etc/passwd", "/etc/localtime", 12])
def test_a_time_zone_that_is_not_an_iana_name_is_refused(zone):
    with pytest.raises(Invalid) as caught:
        quiet_hours_from(start="22:00", end="07:00", timezone=zone)
    assert list(caught.value.errors) == ["quiet_timezone"]


def _target(mode: str) -> SimpleNamespace:
    return SimpleNamespace(
        name="quiet",
        timeout_seconds=5,
        urls=["json://127.0.0.1:9/never"],  # never reached: the decision comes first
        title_template="",
        body_template="",
        body_format="text",
        quiet_start="22:00",
        quiet_end="07:00",
        quiet_timezone="Europe/Berlin",
        quiet_passes=[],
        quiet_mode=mode,
    )


def test_the_transport_holds_with_a_typed_error_naming_when():
    envelope = build_envelope("subtitle_downloaded", {})
    with pytest.raises(DeliveryHeld) as caught:
        notification.deliver(_target("hold"), envelope, now=at(2026, 1, 14, 23, 30))
    assert caught.value.until == datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
    assert caught.value.permanent is False
    assert caught.value.result.error.startswith("held: subtitle_downloaded at 23:30 is inside the quiet hours")


def test_the_transport_skips_with_a_typed_permanent_error():
    envelope = build_envelope("subtitle_downloaded", {})
    with pytest.raises(DeliverySkipped) as caught:
        notification.deliver(_target("skip"), envelope, now=at(2026, 1, 14, 23, 30))
    assert caught.value.permanent is True
    assert caught.value.result.error == (
        "skipped: subtitle_downloaded at 23:30 is inside the quiet hours 22:00-07:00 Europe/Berlin"
    )
