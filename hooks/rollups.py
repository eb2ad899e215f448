"""The run log counted per target and hour (``HookLogHour``): what the health dashboard reads, not 100,000 rows.

Kept equal to the log (test runs left out):

* ``hours_add`` — by whoever writes log rows, in the same transaction
  (``hooks.delivery.record``, the fan-out's skipped rows): an INSERT … ON
  CONFLICT DO NOTHING of the batch's hours, a SELECT … FOR UPDATE of them in
  key order (two writers of the same hour wait for each other, never
  deadlock), one UPDATE per hour row (a batch's rows are mostly of the
  current hour: one per target);
* ``hours_rebuild`` — after log rows are deleted (retention, the API's or the
  admin's delete): the touched hours counted again from what is left; the
  migration that added the table fills it the same way.

A duration lands in bucket ``i``: the first of ``DURATION_EDGES`` (ms) at or
above it (1 ms steps, then x1.25, past the longest timeout), ``len(EDGES)``
beyond the last. The percentiles interpolate inside a bucket: within 25 %
(or 1 ms) of the exact value.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import TruncHour

from .delivery import targets
from .models import HookLog, HookLogHour

HOUR = timedelta(hours=1)


# Upper edges (ms) of the duration histogram: 1 ms steps, then x1.25 up to past the longest timeout (300 s).
def _duration_edges(limit: int = 400_000) -> tuple[int, ...]:
    edges, edge = [], 1
    while edge < limit:
        edges.append(edge)
        edge = max(edge + 1, int(edge * 1.25))
    return tuple(edges)


DURATION_EDGES = _duration_edges()


def bucket_of(duration_ms: int) -> int:
    return bisect_left(DURATION_EDGES, duration_ms)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def percentile(counts: dict[int, int], fraction: float) -> float | None:
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


@dataclass
class Tally:
    """Counts of some log rows: runs (skipped ones left out), successes, skipped, newest success, durations."""

    runs: int = 0
    successes: int = 0
    skipped: int = 0
    last_success_at: datetime | None = None
    durations: dict[int, int] = field(default_factory=dict)

    def add_row(self, *, success: bool, skipped: bool, duration_ms: int, at: datetime) -> None:
        if skipped:
            self.skipped += 1
            return
        self.runs += 1
        if success:
            self.successes += 1
            if self.last_success_at is None or at > self.last_success_at:
                self.last_success_at = at
        bucket = bucket_of(duration_ms)
        self.durations[bucket] = self.durations.get(bucket, 0) + 1

    def merge(self, other: Tally) -> None:
        self.runs += other.runs
        self.successes += other.successes
        self.skipped += other.skipped
        if other.last_success_at is not None and (
            self.last_success_at is None or other.last_success_at > self.last_success_at
        ):
            self.last_success_at = other.last_success_at
        for bucket, count in other.durations.items():
            self.durations[bucket] = self.durations.get(bucket, 0) + count

    @classmethod
    def of(cls, row: Any) -> Tally:
        """The tally stored in a ``HookLogHour`` (its ``durations`` keys are strings in JSON)."""
        return cls(
            row.runs,
            row.successes,
            row.skipped,
            row.last_success_at,
            {int(bucket): count for bucket, count in row.durations.items()},
        )


HourKey = tuple[str, int, datetime]  # (target_field, target id, hour)

# The log's columns a tally reads, and the target's.
LOG_COLUMNS = (*(f"{name}_id" for name in targets.FIELDS), "triggered_at", "success", "skipped", "duration_ms")


def tally_log_rows(rows: Iterable[tuple[Any, ...]]) -> dict[HourKey, Tally]:
    """Tallies per target and hour of log rows given as ``values_list(*LOG_COLUMNS)`` tuples."""
    width = len(targets.FIELDS)
    tallies: dict[HourKey, Tally] = {}
    for row in rows:
        ids, (at, success, skipped, duration) = row[:width], row[width:]
        kind, pk = targets.key(*ids)
        tally = tallies.setdefault((kind, pk, hour_of(at)), Tally())
        tally.add_row(success=success, skipped=skipped, duration_ms=duration, at=at)
    return tallies


def tally_logs(logs: Iterable[Any]) -> dict[HourKey, Tally]:
    """Tallies per target and hour of new ``HookLog`` instances (test runs left out)."""
    tallies: dict[HourKey, Tally] = {}
    for log in logs:
        if log.is_test:
            continue
        kind, pk = targets.key_of(log)
        tally = tallies.setdefault((kind, pk, hour_of(log.triggered_at)), Tally())
        tally.add_row(success=log.success, skipped=log.skipped, duration_ms=log.duration_ms, at=log.triggered_at)
    return tallies


def _key_filter(keys: Iterable[HourKey]) -> Q:
    by_target: dict[tuple[str, int], list[datetime]] = {}
    for kind, pk, hour in keys:
        by_target.setdefault((kind, pk), []).append(hour)
    condition = Q(pk__in=[])
    for (kind, pk), hours in by_target.items():
        condition |= Q(target_field=kind, target_id=pk, hour__in=hours)
    return condition


def hours_add(tallies: dict[HourKey, Tally]) -> None:
    """Add ``tallies`` (new log rows, counted) to their hours. Call inside the transaction writing the rows."""
    if not tallies:
        return
    hour_model = HookLogHour
    keys = sorted(tallies)
    with transaction.atomic():
        hour_model._default_manager.bulk_create(
            [hour_model(target_field=kind, target_id=pk, hour=hour) for kind, pk, hour in keys],
            ignore_conflicts=True,
        )
        stored = list(
            hour_model._default_manager.select_for_update()
            .filter(_key_filter(keys))
            .order_by("target_field", "target_id", "hour")
        )
        for row in stored:  # one UPDATE per hour row (bulk_update's CASE per row and field costs far more)
            tally = Tally.of(row)
            tally.merge(tallies[(row.target_field, row.target_id, row.hour)])
            hour_model._default_manager.filter(pk=row.pk).update(
                runs=tally.runs,
                successes=tally.successes,
                skipped=tally.skipped,
                last_success_at=tally.last_success_at,
                durations={str(bucket): count for bucket, count in sorted(tally.durations.items())},
            )


def hours_rebuild(
    hours: Iterable[datetime] | None = None,
    *,
    before: datetime | None = None,
    log_model: type[models.Model] | None = None,
    hour_model: type[models.Model] | None = None,
) -> int:
    """Count the given hours (None: every hour) again from the log; drop every hour before ``before``.

    Returns how many hour rows were written. ``log_model``/``hour_model``: a
    migration's historical models (the backfill).
    """
    log_model, hour_model = log_model or HookLog, hour_model or HookLogHour
    logs = log_model._default_manager.filter(is_test=False)
    stored = hour_model._default_manager.all()
    spans: set[datetime] | None = None
    with transaction.atomic():
        if before is not None:
            stored.filter(hour__lt=hour_of(before)).delete()
        if hours is not None:
            spans = {hour_of(hour) for hour in hours}
            if not spans:
                return 0
            # The rows from the first hour to the end of the last, counted only in the given hours.
            logs = logs.filter(triggered_at__gte=min(spans), triggered_at__lt=max(spans) + HOUR)
            stored.filter(hour__in=spans).delete()
        else:
            stored.delete()
        rows = logs.order_by().values_list(*LOG_COLUMNS).iterator(chunk_size=5000)
        tallies = {key: tally for key, tally in tally_log_rows(rows).items() if spans is None or key[2] in spans}
        hour_model._default_manager.bulk_create(
            [
                hour_model(
                    target_field=kind,
                    target_id=pk,
                    hour=hour,
                    runs=tally.runs,
                    successes=tally.successes,
                    skipped=tally.skipped,
                    last_success_at=tally.last_success_at,
                    durations={str(bucket): count for bucket, count in sorted(tally.durations.items())},
                )
                for (kind, pk, hour), tally in sorted(tallies.items())
            ],
            batch_size=1000,
        )
    return len(tallies)


def hours_of_rows(logs: Any) -> set[datetime]:
    """The hours the given log rows (a HookLog queryset) fall in: what to rebuild after deleting them."""
    hours = logs.order_by().annotate(hour=TruncHour("triggered_at", tzinfo=UTC)).values_list("hour", flat=True)
    return {hour_of(hour) for hour in hours.distinct()}
