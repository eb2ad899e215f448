"""Health of webhooks and script hooks, read from the run log: the admin's dashboard and list columns.

Every figure comes from a fixed number of aggregate queries, whatever the
number of log rows or targets (no query per row or per target):

* run counts and success rates over the last 24 h and 7 days (one GROUP BY);
* the last success of each target (one GROUP BY);
* p50/p95 durations over both windows (one query): on PostgreSQL
  ``percentile_cont``, exact; elsewhere (SQLite) a histogram of
  ``DURATION_EDGES`` buckets (x1.25 steps) counted in one GROUP BY, each
  percentile interpolated inside its bucket — within 25 % (or 1 ms) of the exact value,
  and the rows read are the index range of the window, never returned;
* outcomes over time in ``CHART_BUCKETS`` buckets (one GROUP BY on a CASE of
  time thresholds, native comparisons on both databases).

Test runs (``is_test``) are left out; skipped deliveries (webhook disabled)
count as outcomes in the chart, never as runs in a success rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from .models import HookConfig, HookLog, HookType, WebhookConfig

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
    """PostgreSQL's ordered-set aggregate ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


TargetKey = tuple[str, int]  # (HookType value, pk)


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
    kind: str
    target: HookConfig | WebhookConfig
    windows: dict[str, WindowStats] = field(default_factory=lambda: {name: WindowStats() for name in WINDOWS})
    last_success_at: datetime | None = None

    @property
    def consecutive_failures(self) -> int:
        return self.target.consecutive_failures

    @property
    def disabled_reason(self) -> str:
        return self.target.disabled_reason if isinstance(self.target, WebhookConfig) else ""

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


def _key(webhook_id: int | None, hook_id: int | None) -> TargetKey:
    return (HookType.WEBHOOK, webhook_id) if webhook_id is not None else (HookType.SCRIPT, hook_id or 0)


def _logs_of(webhooks: Sequence[WebhookConfig] | None, hooks: Sequence[HookConfig] | None) -> QuerySet[HookLog]:
    """Non-test log rows of the given targets (None: of every target — no filter, a plain scan)."""
    logs = HookLog.objects.filter(is_test=False)
    if webhooks is None or hooks is None:
        return logs
    return logs.filter(Q(webhook_id__in=[w.pk for w in webhooks]) | Q(hook_id__in=[h.pk for h in hooks]))


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


def _stats_postgresql(logs: QuerySet[HookLog], now: datetime) -> Iterable[tuple[TargetKey, str, WindowStats]]:
    annotations: dict[str, Any] = {}
    for name, span in WINDOWS.items():
        in_window = Q(triggered_at__gte=now - span)
        annotations[f"runs_{name}"] = Count("id", filter=in_window)
        annotations[f"ok_{name}"] = Count("id", filter=in_window & Q(success=True))
        annotations[f"p50_{name}"] = PercentileCont("duration_ms", 0.5, filter=in_window)
        annotations[f"p95_{name}"] = PercentileCont("duration_ms", 0.95, filter=in_window)
    rows: Iterable[Mapping[str, Any]] = logs.values("webhook_id", "hook_id").order_by().annotate(**annotations)
    for row in rows:
        for name in WINDOWS:
            stats = WindowStats(row[f"runs_{name}"], row[f"ok_{name}"], row[f"p50_{name}"], row[f"p95_{name}"])
            yield _key(row["webhook_id"], row["hook_id"]), name, stats


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


def _stats_histogram(logs: QuerySet[HookLog], now: datetime) -> Iterable[tuple[TargetKey, str, WindowStats]]:
    day = now - WINDOWS["24h"]
    rows: Iterable[Mapping[str, Any]] = (
        logs.annotate(
            bucket=_duration_bucket(),
            in_day=Case(When(triggered_at__gte=day, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .values("webhook_id", "hook_id", "in_day", "bucket")
        .order_by()
        .annotate(n=Count("id"), ok=Count("id", filter=Q(success=True)))
    )
    histograms: dict[TargetKey, dict[str, dict[int, int]]] = {}
    successes: dict[TargetKey, dict[str, int]] = {}
    for row in rows:
        key = _key(row["webhook_id"], row["hook_id"])
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
            yield key, name, stats


def percentile_method() -> str:
    """How durations' percentiles are computed on this database (shown on the dashboard)."""
    if connection.vendor == "postgresql":
        return "exact (PostgreSQL percentile_cont)"
    return "estimated from a duration histogram (x1.25 buckets, within 25 % or 1 ms)"


def _last_successes(model: type[WebhookConfig] | type[HookConfig], ids: list[int]) -> dict[int, datetime | None]:
    """Each target's newest successful run: one query, an index walk per target (hooks_log_*_recent)."""
    if not ids:
        return {}
    field = "webhook" if model is WebhookConfig else "hook"
    newest = (
        HookLog.objects.filter(**{field: OuterRef("pk")}, success=True, is_test=False)
        .order_by("-triggered_at")
        .values("triggered_at")[:1]
    )
    return dict(model.objects.filter(pk__in=ids).annotate(last=Subquery(newest)).values_list("pk", "last"))


def targets_health(
    *,
    webhooks: Sequence[WebhookConfig],
    hooks: Sequence[HookConfig],
    now: datetime | None = None,
    every_target: bool = False,
) -> list[TargetHealth]:
    """Health of the given targets, in the given order: three queries, whatever their number and their logs.

    ``every_target``: the targets are all there are, so the log is read without a target filter.
    """
    now = now or timezone.now()
    health: dict[TargetKey, TargetHealth] = {}
    health.update({(HookType.WEBHOOK, w.pk): TargetHealth(HookType.WEBHOOK, w) for w in webhooks})
    health.update({(HookType.SCRIPT, h.pk): TargetHealth(HookType.SCRIPT, h) for h in hooks})
    if not health:
        return []
    logs = _logs_of(None, None) if every_target else _logs_of(webhooks, hooks)
    logs = logs.filter(skipped=False, triggered_at__gte=now - max(WINDOWS.values()))
    stats = _stats_postgresql(logs, now) if connection.vendor == "postgresql" else _stats_histogram(logs, now)
    for key, name, window in stats:
        target = health.get(key)
        if target is not None:
            target.windows[name] = window
    for kind, model, targets in (
        (HookType.WEBHOOK, WebhookConfig, webhooks),
        (HookType.SCRIPT, HookConfig, hooks),
    ):
        for pk, last in _last_successes(model, [t.pk for t in targets]).items():
            health[(kind, pk)].last_success_at = last
    return list(health.values())


def outcome_buckets(
    *,
    webhook: WebhookConfig | None = None,
    hook: HookConfig | None = None,
    now: datetime | None = None,
    span: timedelta = CHART_SPAN,
    buckets: int = CHART_BUCKETS,
) -> list[OutcomeBucket]:
    """Succeeded, failed and skipped attempts in ``buckets`` equal slices of the last ``span``: one query."""
    now = now or timezone.now()
    width = span / buckets
    starts = [now - span + width * index for index in range(buckets)]
    logs = HookLog.objects.filter(is_test=False, triggered_at__gte=starts[0], triggered_at__lte=now)
    if webhook is not None:
        logs = logs.filter(webhook=webhook)
    if hook is not None:
        logs = logs.filter(hook=hook)
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
    """Every webhook's and script hook's health and the outcomes chart: six queries.

    The targets (2), their run counts and percentiles (1), their last successes (2), the chart (1).
    """
    now = now or timezone.now()
    webhooks = list(WebhookConfig.objects.all())
    hooks = list(HookConfig.objects.all())
    targets = targets_health(webhooks=webhooks, hooks=hooks, now=now, every_target=True)
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
