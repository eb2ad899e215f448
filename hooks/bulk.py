"""Bulk INSERTs on the delivery path: PostgreSQL's COPY where it can be used, ``bulk_create`` elsewhere.

A queue worker writes two rows per delivery — its ``Delivery`` at fan-out and
a ``HookLog`` per attempt — and on PostgreSQL ``bulk_create`` spent more CPU
preparing them (per field, per row, then psycopg adapting every value) than
the signed POST itself. ``COPY … FROM STDIN`` takes the model instances'
attribute values as they are (JSON fields wrapped for jsonb) and costs about a
third as much (docs/PERFORMANCE.md). The rows are the same either way: built
as model instances, each field's ``pre_save`` run (so ``auto_now`` values are
filled in as ``bulk_create`` fills them), NULL for None.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models
from psycopg.types.json import Jsonb


def _copy_plan(model: type[models.Model], using: str, with_pk: bool) -> tuple[str, list[models.Field], set[int]]:
    fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]  # concrete: has a column
    json_columns = {i for i, field in enumerate(fields) if isinstance(field, models.JSONField)}
    # Identifiers only, quoted by the backend; the values travel as COPY data.
    return f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN", fields, json_columns


_plans: dict[tuple[type[models.Model], str, bool], tuple[str, list[models.Field], set[int]]] = {}
_sequences: dict[tuple[type[models.Model], str], str] = {}


def uses_copy(using: str = "default") -> bool:
    """Whether ``insert`` uses COPY on this database (PostgreSQL) rather than ``bulk_create``."""
    return connections[using].vendor == "postgresql"


def next_ids(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
    """``count`` new primary keys of ``model``'s table from its sequence (PostgreSQL), for ``insert(with_pk=True)``."""
    connection = connections[using]
    with connection.cursor() as cursor:
        sequence = _sequences.get((model, using))
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column])
            sequence = _sequences[model, using] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [pk for (pk,) in cursor.fetchall()]


def insert(
    model: type[models.Model], objs: Sequence[models.Model], *, using: str = "default", with_pk: bool = False
) -> None:
    """INSERT ``objs`` (new instances of ``model``) in one statement; their primary keys are not read back.

    ``with_pk``: the objects' own primary keys are written (from ``next_ids``);
    otherwise the database assigns them. Database errors (a unique violation,
    say) are raised as Django's, as from ``bulk_create``, and abort the
    caller's transaction the same way.
    """
    if not objs:
        return
    if not uses_copy(using):
        model._default_manager.using(using).bulk_create(objs)
        return
    plan = _plans.get((model, using, with_pk))
    if plan is None:
        plan = _plans[model, using, with_pk] = _copy_plan(model, using, with_pk)
    sql, fields, json_columns = plan
    connection = connections[using]
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            values = [field.pre_save(obj, True) for field in fields]
            for i in json_columns:
                if values[i] is not None:
                    values[i] = Jsonb(values[i])
            copy.write_row(values)
