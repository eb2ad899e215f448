"""The run log counted per target and hour (``HookLogHour``): what the health dashboard reads, not 100,000 rows.

Kept equal to the log (test runs left out):

* ``hours_add`` — by whoever writes log rows, in the same transaction
  (``hooks.delivery.record``, the fan-out's skipped rows): one INSERT … ON
  CONFLICT DO UPDATE of the batch's hours in key order, the counts added and
  the duration histograms summed by the database (two writers of the same
  hour wait for each other, never deadlock; a worker's batch of one costs one
  statement, not four and a savepoint);
* ``hours_rebuild`` — after log rows are deleted (retention, the API's or the
  admin's delete): the touched hours counted again from what is left; the
  migration that added the table fills it the same way.

A duration lands in bucket ``i``: the first of ``DURATION_EDGES`` (ms) at or
above it (1 ms steps, then x1.25, past the longest timeout), ``len(EDGES)``
beyond the last. The percentiles interpolate inside a bucket: within 25 %
(or 1 ms) of the exact value.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models, transaction
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


def hours_add(tallies: dict[HourKey, Tally]) -> None:
    """Add ``tallies`` (new log rows, counted) to their hours. Call inside the transaction writing the rows.

    One statement for the whole batch (``_upsert_sql``): a row per hour, in
    key order, inserted or added to where it exists — two writers of the same
    hour lock it in the same order and wait for each other, never deadlock.
    """
    if not tallies:
        return
    connection = transaction.get_connection()
    adapt = connection.ops.adapt_datetimefield_value
    keys = sorted(tallies)
    params: list[Any] = []
    for kind, pk, hour in keys:
        tally = tallies[(kind, pk, hour)]
        durations = json.dumps({str(bucket): count for bucket, count in sorted(tally.durations.items())})
        params += [kind, pk, adapt(hour), tally.runs, tally.successes, tally.skipped]
        params += [adapt(tally.last_success_at), durations]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(connection.vendor, len(keys)), params)


_UPSERT_COLUMNS = ("target_field", "target_id", "hour", "runs", "successes", "skipped", "last_success_at", "durations")
# Per database: (a row's placeholders, the newer of two timestamps, the two histograms' sum).
_UPSERT_DIALECTS = {
    "postgresql": (
        "(%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
        "GREATEST({old}, {new})",
        "(SELECT COALESCE(jsonb_object_agg(k, n), '{{}}'::jsonb) FROM (SELECT k, SUM(v::bigint) AS n FROM"
        " (SELECT key AS k, value AS v FROM jsonb_each_text({old})"
        " UNION ALL SELECT key, value FROM jsonb_each_text({new})) AS u GROUP BY k) AS s)",
    ),
    "sqlite": (
        "(%s, %s, %s, %s, %s, %s, %s, %s)",
        "MAX(COALESCE({old}, {new}), COALESCE({new}, {old}))",
        "(SELECT json_group_object(k, n) FROM (SELECT k, SUM(v) AS n FROM"
        " (SELECT key AS k, value AS v FROM json_each({old})"
        " UNION ALL SELECT key, value FROM json_each({new})) GROUP BY k))",
    ),
}
_upsert_cache: dict[tuple[str, int], str] = {}


def _upsert_sql(vendor: str, rows: int) -> str:
    """INSERT … ON CONFLICT DO UPDATE of ``rows`` hours: counts added, the newer success kept, histograms summed."""
    sql = _upsert_cache.get((vendor, rows))
    if sql is None:
        row, newer, summed = _UPSERT_DIALECTS[vendor]
        table = HookLogHour._meta.db_table

        def old_new(column: str) -> dict[str, str]:
            return {"old": f"{table}.{column}", "new": f"EXCLUDED.{column}"}

        sql = _upsert_cache[(vendor, rows)] = (
            f"INSERT INTO {table} ({', '.join(_UPSERT_COLUMNS)}) VALUES {', '.join([row] * rows)} "  # noqa: S608 - identifiers only
            "ON CONFLICT (target_field, target_id, hour) DO UPDATE SET "
            + ", ".join(
                f"{column} = {table}.{column} + EXCLUDED.{column}" for column in ("runs", "successes", "skipped")
            )
            + f", last_success_at = {newer.format(**old_new('last_success_at'))}"
            + f", durations = {summed.format(**old_new('durations'))}"
        )
    return sql


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
