"""Health of every delivery target (webhook, script hook, notification…), read from the run log: the admin's
dashboard and list columns. Generic over the kinds of ``hooks.delivery.targets.MODELS``: a target is keyed by
its ``target_field`` (the HookLog foreign key) and its id, never by a branch per kind.

Every figure comes from a fixed number of aggregate queries, whatever the
number of log rows or targets (no query per row or per target):

* one GROUP BY over the last 7 days of the log: run counts and success
  rates over 24 h and 7 days, the newest success in them, and p50/p95
  durations — on PostgreSQL ``percentile_cont``, exact; elsewhere (SQLite) a
  histogram of ``DURATION_EDGES`` buckets (x1.25 steps, chosen by a CASE tree
  of log2 depth) counted in the same GROUP BY, each percentile interpolated
  inside its bucket — within 25 % (or 1 ms) of the exact value;
* only when a target had no success in those 7 days, one more query for its
  older last success (partial indexes hooks_log_*_success);
* outcomes over time in ``CHART_BUCKETS`` slices (one GROUP BY: timestamp
  arithmetic on PostgreSQL, a CASE tree on SQLite).

Test runs (``is_test``) are left out; skipped deliveries (webhook disabled)
count as outcomes in the chart, never as runs in a success rate.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    FloatField,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .delivery import targets as target_kinds
from .delivery.targets import AnyTarget
from .models import HookLog

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
CHART_SPAN = timedelta(days=7)
CHART_BUCKETS = 28  # 6 hours each


# Upper edges (ms) of the SQLite duration histogram: 1 ms steps, then x1.25 up to past the longest timeout (300 s).
def _duration_edges(limit: int = 400_000) -> tuple[int, ...]:
    edges, edge = [], 1
    while edge < limit:
        edges.append(edge)
        edge = max(edge + 1, int(edge * 1.25))
    return tuple(edges)


DURATION_EDGES = _duration_edges()


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(ARRAY[p50, p95]) WITHIN GROUP (ORDER BY expr)``: one sort, both values."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, **extra: Any) -> None:
        from django.contrib.postgres.fields import ArrayField  # PostgreSQL only: imported where it is used

        super().__init__(expression, output_field=ArrayField(FloatField()), **extra)


TargetKey = target_kinds.Key  # (its target_field, id), e.g. ("webhook", 3)
# The HookLog columns naming a row's target, one per kind.
TARGET_COLUMNS: tuple[str, ...] = tuple(f"{field}_id" for field in target_kinds.FIELDS)


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


def _key(row: Mapping[str, Any]) -> TargetKey | None:
    """The target of a ``values(*TARGET_COLUMNS, ...)`` row; None when its target was deleted."""
    for name, column in zip(target_kinds.FIELDS, TARGET_COLUMNS, strict=True):
        if row[column] is not None:
            return (name, row[column])
    return None


def _of_targets(keys: Iterable[TargetKey]) -> Q:
    """Log rows of the given targets: one ``<field>_id IN (...)`` per kind present, OR-ed."""
    ids: dict[str, list[int]] = {}
    for name, pk in keys:
        ids.setdefault(name, []).append(pk)
    conditions = [Q(**{f"{name}_id__in": pks}) for name, pks in ids.items()]
    return reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


def _binary_case(leaf: Any, test: Any, low: int, high: int) -> Any:
    """A CASE tree choosing one of the leaves low..high in log2 comparisons per row (not one per leaf).

    ``test(mid)`` is the condition that the value lies at or below leaf ``mid``.
    """
    if low == high:
        return leaf(low)
    mid = (low + high) // 2
    return Case(
        When(test(mid), then=_binary_case(leaf, test, low, mid)),
        default=_binary_case(leaf, test, mid + 1, high),
        output_field=IntegerField(),
    )


def _duration_bucket() -> Any:
    return _binary_case(Value, lambda mid: Q(duration_ms__lte=DURATION_EDGES[mid]), 0, len(DURATION_EDGES))


def _stats_postgresql(
    logs: QuerySet[HookLog], now: datetime
) -> Iterable[tuple[TargetKey, str, WindowStats, datetime | None]]:
    annotations: dict[str, Any] = {}
    for name, span in WINDOWS.items():
        in_window = Q(triggered_at__gte=now - span)
        annotations[f"runs_{name}"] = Count("id", filter=in_window)
        annotations[f"ok_{name}"] = Count("id", filter=in_window & Q(success=True))
        annotations[f"p_{name}"] = PercentileCont("duration_ms", filter=in_window)
    annotations["last_ok"] = Max("triggered_at", filter=Q(success=True))
    rows: Iterable[Mapping[str, Any]] = logs.values(*TARGET_COLUMNS).order_by().annotate(**annotations)
    for row in rows:
        key = _key(row)
        if key is None:
            continue
        for name in WINDOWS:
            p50, p95 = row[f"p_{name}"] or (None, None)
            stats = WindowStats(row[f"runs_{name}"], row[f"ok_{name}"], p50, p95)
            yield key, name, stats, row["last_ok"]


def _percentile_from_histogram(counts: dict[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile of a duration histogram, interpolated linearly inside its bucket."""
    total = sum(counts.values())
    if not total:
        return None
    rank = fraction * (total - 1)  # as percentile_cont: 0 = the smallest, total-1 = the largest
    seen = 0
    for index in sorted(counts):
        count = counts[index]
        if rank < seen + count:
            low = DURATION_EDGES[index - 1] + 1 if index > 0 else 0
            high = DURATION_EDGES[index] if index < len(DURATION_EDGES) else DURATION_EDGES[-1] * 2
            if count == 1:
                return float((low + high) / 2)
            return float(low + (high - low) * (rank - seen) / (count - 1))
        seen += count
    return float(DURATION_EDGES[-1])


def _stats_histogram(
    logs: QuerySet[HookLog], now: datetime
) -> Iterable[tuple[TargetKey, str, WindowStats, datetime | None]]:
    day = now - WINDOWS["24h"]
    rows: Iterable[Mapping[str, Any]] = (
        logs.annotate(
            bucket=_duration_bucket(),
            in_day=Case(When(triggered_at__gte=day, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .values(*TARGET_COLUMNS, "in_day", "bucket")
        .order_by()
        .annotate(
            n=Count("id"), ok=Count("id", filter=Q(success=True)), last_ok=Max("triggered_at", filter=Q(success=True))
        )
    )
    histograms: dict[TargetKey, dict[str, dict[int, int]]] = {}
    successes: dict[TargetKey, dict[str, int]] = {}
    last_ok: dict[TargetKey, datetime] = {}
    for row in rows:
        key = _key(row)
        if key is None:
            continue
        if row["last_ok"] is not None and (key not in last_ok or row["last_ok"] > last_ok[key]):
            last_ok[key] = row["last_ok"]
        per_window = histograms.setdefault(key, {name: {} for name in WINDOWS})
        ok = successes.setdefault(key, dict.fromkeys(WINDOWS, 0))
        for name in ["7d", "24h"] if row["in_day"] else ["7d"]:
            counts = per_window[name]
            counts[row["bucket"]] = counts.get(row["bucket"], 0) + row["n"]
            ok[name] += row["ok"]
    for key, per_window in histograms.items():
        for name, counts in per_window.items():
            stats = WindowStats(
                sum(counts.values()),
                successes[key][name],
                _percentile_from_histogram(counts, 0.5),
                _percentile_from_histogram(counts, 0.95),
            )
            yield key, name, stats, last_ok.get(key)


def percentile_method() -> str:
    """How durations' percentiles are computed on this database (shown on the dashboard)."""
    if connection.vendor == "postgresql":
        return "exact (PostgreSQL percentile_cont)"
    return "estimated from a duration histogram (x1.25 buckets, within 25 % or 1 ms)"


def _older_successes(keys: list[TargetKey], before: datetime) -> dict[TargetKey, datetime]:
    """The newest success before ``before`` of each given target: one query over the partial indexes."""
    rows: Iterable[Mapping[str, Any]] = (
        HookLog.objects.filter(success=True, is_test=False, triggered_at__lt=before)
        .filter(_of_targets(keys))
        .values(*TARGET_COLUMNS)
        .order_by()
        .annotate(last=Max("triggered_at"))
    )
    return {key: row["last"] for row in rows if (key := _key(row)) is not None}


def targets_health(
    *, targets: Sequence[AnyTarget], now: datetime | None = None, every_target: bool = False
) -> list[TargetHealth]:
    """Health of the given targets (any kinds), in the given order: one query, two when one had no recent success.

    ``every_target``: the targets are all there are, so the log is read without a target filter.
    """
    now = now or timezone.now()
    health = {entry.key: entry for entry in (TargetHealth(target) for target in targets)}
    if not health:
        return []
    since = now - max(WINDOWS.values())
    logs = HookLog.objects.filter(is_test=False, skipped=False, triggered_at__gte=since)
    if not every_target:
        logs = logs.filter(_of_targets(health))
    stats = _stats_postgresql(logs, now) if connection.vendor == "postgresql" else _stats_histogram(logs, now)
    for key, name, window, last_ok in stats:
        target = health.get(key)
        if target is not None:
            target.windows[name] = window
            target.last_success_at = last_ok
    # A success older than the windows: looked up only for the targets without a recent one (one more query).
    unknown = [key for key, target in health.items() if target.last_success_at is None]
    if unknown:
        for key, last in _older_successes(unknown, since).items():
            if key in health:
                health[key].last_success_at = last
    return list(health.values())


def outcome_buckets(
    *,
    target: AnyTarget | None = None,
    now: datetime | None = None,
    span: timedelta = CHART_SPAN,
    buckets: int = CHART_BUCKETS,
) -> list[OutcomeBucket]:
    """Succeeded, failed and skipped attempts in ``buckets`` equal slices of the last ``span``: one query."""
    now = now or timezone.now()
    width = span / buckets
    starts = [now - span + width * index for index in range(buckets)]
    logs = HookLog.objects.filter(is_test=False, triggered_at__gte=starts[0], triggered_at__lte=now)
    if target is not None:
        logs = logs.filter(**{target.target_field: target})
    slice_of: Any
    if connection.vendor == "postgresql":
        # Arithmetic on the timestamp: cheaper than any CASE.
        slice_of = RawSQL(
            "LEAST(FLOOR(EXTRACT(EPOCH FROM (triggered_at - %s)) / %s)::int, %s)",
            (starts[0], width.total_seconds(), buckets - 1),
            output_field=IntegerField(),
        )
    else:
        # Slice i holds starts[i] <= t < starts[i+1]: "at or below leaf mid" is t < starts[mid + 1].
        slice_of = _binary_case(Value, lambda mid: Q(triggered_at__lt=starts[mid + 1]), 0, buckets - 1)
    result = [OutcomeBucket(start, start + width) for start in starts]
    rows = (
        logs.annotate(slice=slice_of)
        .values("slice")
        .order_by()
        .annotate(
            ok=Count("id", filter=Q(success=True)),
            skipped_n=Count("id", filter=Q(skipped=True)),
            total=Count("id"),
        )
    )
    for row in rows:
        bucket = result[row["slice"]]
        bucket.succeeded, bucket.skipped = row["ok"], row["skipped_n"]
        bucket.failed = row["total"] - row["ok"] - row["skipped_n"]
    return result


def _totals(targets: list[TargetHealth]) -> dict[str, WindowStats]:
    totals = {name: WindowStats() for name in WINDOWS}
    for target in targets:
        for name, stats in target.windows.items():
            totals[name].runs += stats.runs
            totals[name].successes += stats.successes
    return totals


def dashboard(*, now: datetime | None = None) -> Dashboard:
    """Every target's health (of every kind) and the outcomes chart: five queries, six at most.

    The targets (one query per kind: 3), their run counts, percentiles and last success in the windows (1),
    the chart (1); and when some target had no success in the last 7 days, its older last success (1).
    """
    now = now or timezone.now()
    every = [target for model in target_kinds.MODELS for target in model.objects.all()]
    targets = targets_health(targets=every, now=now, every_target=True)
    return Dashboard(now=now, targets=targets, buckets=outcome_buckets(now=now), totals=_totals(targets))


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
