"""Health of every delivery target (webhook, script hook, notification…): the admin's dashboard and list columns.

Generic over the kinds of ``hooks.delivery.targets.MODELS``: a target is keyed
by its ``target_field`` (the HookLog foreign key) and its id, never by a
branch per kind. Read from the log counted per target and hour
(``HookLogHour``, kept by ``hooks.rollups``), not from the log itself, so the
cost follows the number of targets and hours, not of log rows:

* one query for the hours of the last 7 days (the chart's 28 six-hour
  slices, aligned on the hour, and every full hour of the windows);
* one query for the log rows of the two hours the windows start in (the
  last 24 h and 7 days end *now*, not on the hour): the windows are exact;
* only when a target had no success in those 7 days, one more query for its
  older last success (in the hours before).

Success rates count runs; test runs are never counted, skipped deliveries
(target disabled, quiet hours) count as outcomes in the chart, never as runs.
p50/p95 durations come from each hour's duration histogram (x1.25 buckets,
``hooks.rollups.percentile``): within 25 % (or 1 ms) of the exact value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone

from . import rollups
from .delivery import targets as target_kinds
from .delivery.targets import AnyTarget
from .models import HookLog, HookLogHour
from .rollups import HOUR, Tally, hour_of

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
CHART_SPAN = timedelta(days=7)
CHART_BUCKETS = 28  # 6 hours each

TargetKey = target_kinds.Key  # (its target_field, id), e.g. ("webhook", 3)
HOUR_COLUMNS = ("target_field", "target_id", "hour", "runs", "successes", "skipped", "last_success_at", "durations")


@dataclass
class WindowStats:
    runs: int = 0
    successes: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def failures(self) -> int:
        return self.runs - self.successes

    @property
    def success_rate(self) -> float | None:
        """Successes per run in percent, None without runs."""
        return 100.0 * self.successes / self.runs if self.runs else None


@dataclass
class TargetHealth:
    target: AnyTarget
    windows: dict[str, WindowStats] = field(default_factory=lambda: {name: WindowStats() for name in WINDOWS})
    last_success_at: datetime | None = None

    @property
    def kind(self) -> str:
        """The target's kind (``hooks.transports.KINDS``): "webhook", "script", "notification"."""
        return self.target.kind

    @property
    def key(self) -> TargetKey:
        return (self.target.target_field, self.target.pk)

    @property
    def consecutive_failures(self) -> int:
        return self.target.consecutive_failures

    @property
    def disabled_reason(self) -> str:
        return target_kinds.disabled_reason(self.target)

    @property
    def day(self) -> WindowStats:
        return self.windows["24h"]

    @property
    def week(self) -> WindowStats:
        return self.windows["7d"]


@dataclass
class OutcomeBucket:
    start: datetime
    end: datetime
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.skipped


@dataclass
class Dashboard:
    now: datetime
    targets: list[TargetHealth]
    buckets: list[OutcomeBucket]
    totals: dict[str, WindowStats]


def _stats(tally: Tally) -> WindowStats:
    return WindowStats(
        tally.runs,
        tally.successes,
        rollups.percentile(tally.durations, 0.5),
        rollups.percentile(tally.durations, 0.95),
    )


def _hours_of(keys: Iterable[TargetKey]) -> Q:
    """Hour rows of the given targets: one ``target_id IN (...)`` per kind present, OR-ed."""
    return _per_kind(keys, lambda name, pks: Q(target_field=name, target_id__in=pks))


def _logs_of(keys: Iterable[TargetKey]) -> Q:
    """Log rows of the given targets: one ``<target_field>_id IN (...)`` per kind present, OR-ed."""
    return _per_kind(keys, lambda name, pks: Q(**{f"{name}_id__in": pks}))


def _per_kind(keys: Iterable[TargetKey], condition: Callable[[str, list[int]], Q]) -> Q:
    ids: dict[str, list[int]] = {}
    for name, pk in keys:
        ids.setdefault(name, []).append(pk)
    conditions = [condition(name, pks) for name, pks in ids.items()]
    return reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


@dataclass
class _Read:
    """The windows' tallies per target, and the hours of the chart (every target's, or the given ones')."""

    windows: dict[TargetKey, dict[str, Tally]]
    hours: list[tuple[datetime, int, int, int]]  # (hour, runs, successes, skipped), of every target read


def _read(keys: list[TargetKey] | None, now: datetime) -> _Read:
    """Two queries: the hour rows from the first full hour of the 7 days on, the log rows of the two cut hours.

    The 7 days start at ``now - 7d``, inside hour G; the 24 h at ``now - 24h``,
    inside hour F. Hours after G but F come from the hour rows (in the 24 h when
    after F); the rows of [now - 7d, G + 1 h) and of hour F from the log.
    """
    week_start, day_start = now - WINDOWS["7d"], now - WINDOWS["24h"]
    first_full, day_hour = hour_of(week_start) + HOUR, hour_of(day_start)
    windows: dict[TargetKey, dict[str, Tally]] = {}
    hours: list[tuple[datetime, int, int, int]] = []
    stored = HookLogHour.objects.filter(hour__gte=first_full)
    if keys is not None:
        stored = stored.filter(_hours_of(keys))
    # The hot loop (20 targets x 168 hours = 3,360 rows in the benchmark): plain sums, the JSON's string keys kept.
    for kind, pk, hour, runs, ok, skipped, last_ok, durations in stored.values_list(*HOUR_COLUMNS):
        hours.append((hour, runs, ok, skipped))
        if hour == day_hour:
            continue  # read from the log below
        per_window = windows.get((kind, pk))
        if per_window is None:
            per_window = windows[(kind, pk)] = {name: Tally() for name in WINDOWS}
        for tally in (per_window["7d"], per_window["24h"]) if hour > day_hour else (per_window["7d"],):
            tally.runs += runs
            tally.successes += ok
            tally.skipped += skipped
            if last_ok is not None and (tally.last_success_at is None or last_ok > tally.last_success_at):
                tally.last_success_at = last_ok
            counts: dict[Any, int] = tally.durations
            for bucket, count in durations.items():
                counts[bucket] = counts.get(bucket, 0) + count
    for per_window in windows.values():
        for tally in per_window.values():
            tally.durations = {int(bucket): count for bucket, count in tally.durations.items()}
    edges = HookLog.objects.filter(is_test=False).filter(
        Q(triggered_at__gte=week_start, triggered_at__lt=first_full)
        | Q(triggered_at__gte=day_hour, triggered_at__lt=day_hour + HOUR)
    )
    if keys is not None:
        edges = edges.filter(_logs_of(keys))
    width = len(target_kinds.FIELDS)
    for row in edges.order_by().values_list(*rollups.LOG_COLUMNS):
        at, success, skipped, duration = row[width:]
        per_window = windows.setdefault(target_kinds.key(*row[:width]), {name: Tally() for name in WINDOWS})
        for name in ("7d", "24h") if at >= day_start else ("7d",):
            per_window[name].add_row(success=success, skipped=skipped, duration_ms=duration, at=at)
    return _Read(windows, hours)


def percentile_method() -> str:
    """How durations' percentiles are computed (shown on the dashboard)."""
    return "estimated from hourly duration histograms (x1.25 buckets: within 25 % or 1 ms)"


def _older_successes(keys: list[TargetKey], before: datetime) -> dict[TargetKey, datetime]:
    """The newest success in the hours before ``before`` of each given target: one query (the key's index)."""
    rows = (
        HookLogHour.objects.filter(hour__lt=before, last_success_at__isnull=False)
        .filter(_hours_of(keys))
        .values_list("target_field", "target_id")
        .order_by()
        .annotate(last=Max("last_success_at"))
    )
    return {(kind, pk): last for kind, pk, last in rows}


def _health(targets: Sequence[AnyTarget], read: _Read, now: datetime) -> list[TargetHealth]:
    health = {entry.key: entry for entry in (TargetHealth(target) for target in targets)}
    for key, entry in health.items():
        per_window = read.windows.get(key)
        if per_window is not None:
            entry.windows = {name: _stats(tally) for name, tally in per_window.items()}
            entry.last_success_at = per_window["7d"].last_success_at
    # A success older than the windows: looked up only for the targets without a recent one (one more query).
    unknown = [key for key, entry in health.items() if entry.last_success_at is None]
    if unknown:
        first_full = hour_of(now - WINDOWS["7d"]) + HOUR
        for key, last in _older_successes(unknown, first_full).items():
            health[key].last_success_at = last
    return list(health.values())


def targets_health(*, targets: Sequence[AnyTarget], now: datetime | None = None) -> list[TargetHealth]:
    """Health of the given targets (any kinds), in the given order: two queries, three if one had no recent success."""
    now = now or timezone.now()
    if not targets:
        return []
    return _health(targets, _read([(t.target_field, t.pk) for t in targets], now), now)


def _chart(hours: Iterable[tuple[datetime, int, int, int]], now: datetime) -> list[OutcomeBucket]:
    """The hours in ``CHART_BUCKETS`` slices of the ``CHART_SPAN`` that ends with the current hour."""
    end = hour_of(now) + HOUR
    width = CHART_SPAN / CHART_BUCKETS
    start = end - CHART_SPAN
    result = [OutcomeBucket(start + width * index, start + width * (index + 1)) for index in range(CHART_BUCKETS)]
    for hour, runs, ok, skipped in hours:
        if start <= hour < end:
            bucket = result[int((hour - start) / width)]
            bucket.succeeded += ok
            bucket.failed += runs - ok
            bucket.skipped += skipped
    return result


def outcome_buckets(*, target: AnyTarget | None = None, now: datetime | None = None) -> list[OutcomeBucket]:
    """Succeeded, failed and skipped attempts in the chart's slices (of one target, or of all): one query."""
    now = now or timezone.now()
    stored = HookLogHour.objects.filter(hour__gte=hour_of(now) + HOUR - CHART_SPAN)
    if target is not None:
        stored = stored.filter(target_field=target.target_field, target_id=target.pk)
    return _chart(stored.values_list("hour", "runs", "successes", "skipped"), now)


def _totals(targets: list[TargetHealth]) -> dict[str, WindowStats]:
    totals = {name: WindowStats() for name in WINDOWS}
    for target in targets:
        for name, stats in target.windows.items():
            totals[name].runs += stats.runs
            totals[name].successes += stats.successes
    return totals


def dashboard(*, now: datetime | None = None) -> Dashboard:
    """Every target's health (of every kind) and the outcomes chart: five queries, six at most.

    The targets (one query per kind: 3); the hours of the last 7 days, every target's, for both the
    windows and the chart (1); the log rows of the two hours the windows start in (1); and when some
    target had no success in the last 7 days, its older last success (1).
    """
    now = now or timezone.now()
    every = [target for model in target_kinds.MODELS for target in model.objects.all()]
    read = _read(None, now)
    targets = _health(every, read, now)
    return Dashboard(now=now, targets=targets, buckets=_chart(read.hours, now), totals=_totals(targets))


__all__ = [
    "Dashboard",
    "OutcomeBucket",
    "TargetHealth",
    "WindowStats",
    "dashboard",
    "outcome_buckets",
    "percentile_method",
    "targets_health",
]
