"""Bulk INSERTs on the delivery path: PostgreSQL's COPY, elsewhere one INSERT … VALUES … RETURNING per batch.

A queue worker writes two rows per delivery — its ``Delivery`` at fan-out and
a ``HookLog`` per attempt — and on PostgreSQL ``bulk_create`` spent more CPU
preparing them (per field, per row, then psycopg adapting every value) than
the signed POST itself. ``COPY … FROM STDIN`` takes the model instances'
attribute values as they are (JSON fields wrapped for jsonb) and costs about a
third as much (docs/PERFORMANCE.md). The rows are the same either way: built
as model instances, each field's ``pre_save`` run (so ``auto_now`` values are
filled in as ``bulk_create`` fills them), NULL for None. On SQLite the
values are ``bulk_create``'s too, in a statement whose text is built once per
batch size rather than per row and field.
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
    """INSERT ``objs`` (new instances of ``model``) in one statement per batch; keys set on them only on SQLite.

    ``with_pk``: the objects' own primary keys are written (from ``next_ids``);
    otherwise the database assigns them. Database errors (a unique violation,
    say) are raised as Django's, as from ``bulk_create``, and abort the
    caller's transaction the same way.
    """
    if not objs:
        return
    if not uses_copy(using):
        _insert_values(model, objs, using)
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


def _insert_values(model: type[models.Model], objs: Sequence[models.Model], using: str) -> None:
    """INSERT … VALUES (…), (…) RETURNING the keys, set on ``objs`` (SQLite; ``bulk_create`` without RETURNING).

    The values are what ``bulk_create`` writes (each field's ``pre_save``,
    then ``get_db_prep_save``); the statement's text is built once per model
    and batch size instead of per row and field (Django's SQL assembly was
    most of what writing a row cost a worker on SQLite: issue #19).
    """
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.using(using).bulk_create(objs)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    pk = model._meta.pk
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            batch = objs[start : start + size]
            params = [
                field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
                for obj in batch
                for field in fields
            ]
            cursor.execute(_values_sql(model, using, fields, len(batch)), params)
            for obj, (key,) in zip(batch, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, key)
                obj._state.adding = False
                obj._state.db = using


_values_statements: dict[tuple[type[models.Model], str, int], str] = {}


def _values_sql(model: type[models.Model], using: str, fields: list[models.Field], rows: int) -> str:
    sql = _values_statements.get((model, using, rows))
    if sql is None:
        quote = connections[using].ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]  # concrete: has a column
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = _values_statements[model, using, rows] = (
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)} "  # noqa: S608 - identifiers only
            f"RETURNING {quote(model._meta.pk.column)}"  # type: ignore[arg-type]  # a primary key has a column
        )
    return sql
