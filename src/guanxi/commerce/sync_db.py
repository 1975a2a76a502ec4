"""Set-based SQL helpers of the ERP sync: IN lists cut to the database's variable limit,
INSERT … ON CONFLICT upserts and plain deletes/updates by id, all built from model
metadata (never from input: values are always parameters).

Why not `bulk_create(update_conflicts=True)`: it gives exactly this SQL, but builds a
model instance per row and, on SQLite, splits a batch into statements of 999 variables
(Django's own conservative figure); at 5,000 orders per request that costs more than
the whole rest of the request. `executemany` of one prepared statement does the same
upsert at a fraction of the cost on SQLite and PostgreSQL alike (psycopg pipelines it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models.constants import OnConflict

KEY_COLUMNS = ("source", "external_id")


def in_size() -> int:
    """How many values one IN list may hold here (SQLite: its real variable limit)."""
    if connection.vendor != "sqlite":
        return 10_000
    connection.ensure_connection()
    try:
        import sqlite3

        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, Exception):  # noqa: BLE001 - older Python/SQLite: be safe
        limit = 999
    return max(100, min(limit - 10, 10_000))


def chunks(values: Iterable[Any], size: int | None = None) -> Iterator[list[Any]]:
    size = size or in_size()
    items = values if isinstance(values, list) else list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fields(model: type[models.Model], attnames: Sequence[str]) -> list[models.Field]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return [by_attname[a] for a in attnames]


@dataclass(frozen=True)
class Upsert:
    """INSERT INTO t (cols) VALUES (…) ON CONFLICT (source, external_id) DO UPDATE SET
    every other column = EXCLUDED.column — the statement bulk_create(update_conflicts=True,
    unique_fields=["source", "external_id"]) emits, run with executemany."""

    sql: str

    def run(self, rows: list[tuple]) -> None:
        if rows:
            with connection.cursor() as cur:
                cur.executemany(self.sql, rows)


def upsert_statement(model: type[models.Model], attnames: Sequence[str]) -> Upsert:
    fields = _fields(model, attnames)
    qn = connection.ops.quote_name
    columns = [f.column for f in fields]
    update = [c for c in columns if c not in KEY_COLUMNS]
    suffix = connection.ops.on_conflict_suffix_sql(fields, OnConflict.UPDATE, update,
                                                   list(KEY_COLUMNS))
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))}) {suffix}")
    return Upsert(sql)


def for_driver(model: type[models.Model], attnames: Sequence[str],
               rows: list[tuple]) -> list[Any]:
    """Rows with their dates already as the driver stores them (SQLite: ISO text), so
    the database's adapter isn't called per value while the write lock is held."""
    if connection.vendor != "sqlite" or not rows:
        return rows
    dates = [k for k, f in enumerate(_fields(model, attnames))
             if f.get_internal_type() == "DateField"]
    if not dates:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for k in dates:
            if row[k] is not None:
                row[k] = row[k].isoformat()
        out.append(row)
    return out


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    qn = connection.ops.quote_name
    columns = [f.column for f in _fields(model, attnames)]
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cur:
        cur.executemany(sql, rows)


def delete_where_in(model: type[models.Model], attname: str, values: Iterable[Any]) -> None:
    """DELETE FROM t WHERE column IN (…), in chunks (no model instances, no signals: the
    nested rows of the mirror have nothing that depends on them)."""
    qn = connection.ops.quote_name
    column = _fields(model, [attname])[0].column
    with connection.cursor() as cur:
        for chunk in chunks(values):
            cur.execute(f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(column)} IN "
                        f"({', '.join(['%s'] * len(chunk))})", chunk)


def delete_pairs(model: type[models.Model], attnames: tuple[str, str],
                 pairs: list[tuple[Any, Any]]) -> None:
    """DELETE FROM t WHERE a = %s AND b = %s for each pair."""
    if not pairs:
        return
    qn = connection.ops.quote_name
    a, b = (f.column for f in _fields(model, attnames))
    with connection.cursor() as cur:
        cur.executemany(f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(a)} = %s AND "
                        f"{qn(b)} = %s", pairs)


def set_where_in(model: type[models.Model], attname: str, value: Any, ids: Iterable[int]) -> None:
    """UPDATE t SET column = value WHERE id IN (…), in chunks."""
    qn = connection.ops.quote_name
    field = _fields(model, [attname])[0]
    prepared = field.get_db_prep_save(value, connection)
    with connection.cursor() as cur:
        for chunk in chunks(ids):
            cur.execute(f"UPDATE {qn(model._meta.db_table)} SET {qn(field.column)} = %s "
                        f"WHERE {qn(model._meta.pk.column)} IN ({', '.join(['%s'] * len(chunk))})",
                        [prepared, *chunk])


def adapt(model: type[models.Model], attname: str, value: Any) -> Any:
    """A value as the database driver takes it (datetimes on SQLite: naive UTC text)."""
    return _fields(model, [attname])[0].get_db_prep_save(value, connection)


def sum_children_into(model: type[models.Model], attname: str, child: type[models.Model],
                      fk: str, child_attname: str, ids: list[int]) -> None:
    """UPDATE parent SET column = (SELECT COALESCE(SUM(child column), 0) …) for these ids."""
    qn = connection.ops.quote_name
    column = _fields(model, [attname])[0].column
    fk_column = _fields(child, [fk])[0].column
    child_column = _fields(child, [child_attname])[0].column
    table, child_table = qn(model._meta.db_table), qn(child._meta.db_table)
    pk = qn(model._meta.pk.column)
    with connection.cursor() as cur:
        for chunk in chunks(ids):
            cur.execute(f"UPDATE {table} SET {qn(column)} = (SELECT COALESCE(SUM("
                        f"{qn(child_column)}), 0) FROM {child_table} WHERE {qn(fk_column)} = "
                        f"{table}.{pk}) WHERE {pk} IN ({', '.join(['%s'] * len(chunk))})", chunk)


def select_in(model: type[models.Model], attnames: Sequence[str], key: str,
              values: Iterable[Any], **equal: Any) -> Iterator[tuple]:
    """SELECT attnames FROM t WHERE key IN (values) [AND column = value …], in chunks, with
    the values converted as the ORM converts them (dates, decimals on SQLite).

    The ORM's `filter(key__in=[5,000 values])` spends longer preparing the IN list
    than the database spends answering it; this builds the same query directly."""
    qn = connection.ops.quote_name
    table = model._meta.db_table
    fields = _fields(model, attnames)
    key_column = _fields(model, [key])[0].column
    where_fields = _fields(model, list(equal))
    where = "".join(f" AND {qn(f.column)} = %s" for f in where_fields)
    fixed = [f.get_db_prep_value(equal[f.attname], connection) for f in where_fields]
    convert = []
    for f in fields:
        col = f.get_col(table)
        fns = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        convert.append((col, fns))
    plain = all(not fns for _c, fns in convert)
    columns = ", ".join(qn(f.column) for f in fields)
    with connection.cursor() as cur:
        for chunk in chunks(values):
            cur.execute(f"SELECT {columns} FROM {qn(table)} WHERE {qn(key_column)} IN "
                        f"({', '.join(['%s'] * len(chunk))}){where}", [*chunk, *fixed])
            rows = cur.fetchall()
            if plain:
                yield from (tuple(r) for r in rows)
                continue
            for r in rows:
                out = []
                for value, (col, fns) in zip(r, convert):
                    for fn in fns:
                        value = fn(value, col, connection)
                    out.append(value)
                yield tuple(out)


BIG_BATCH = 1000
WAL_PAGES = 10_000  # about 40 MB


@contextmanager
def write_section(rows: int):
    """Around an ERP batch's write transaction. SQLite: a big batch's commit may leave
    up to WAL_PAGES in the write-ahead log before checkpointing (instead of SQLite's
    1,000). Thousands of orders touch thousands of pages of the customer indexes (one
    random leaf page per row: 25–30 MB of WAL per 5,000 orders at a million orders),
    and checkpointing after every such commit copies the same pages into the database
    again and again; after every second or third batch it halves the I/O of an initial
    load. Only this connection's setting changes, and only for this batch."""
    if connection.vendor != "sqlite" or rows < BIG_BATCH:
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA wal_autocheckpoint={int(before):d}")
