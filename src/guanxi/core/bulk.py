"""Fast bulk inserts: executemany of an INSERT built from model metadata only.

For loaders that move many rows (demo data, imports) where `bulk_create` costs too
much per row. The SQL never contains input: columns come from the model, values are
parameters. Columns left out that are NOT NULL with a default get their default.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models


@dataclass(frozen=True)
class Insert:
    sql: str
    extra: tuple  # values for NOT NULL columns with a default that the generator leaves out

    def run(self, cursor, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.extra:
            extra = self.extra
            rows = [r + extra for r in rows]
        cursor.executemany(self.sql, rows)


def insert_statement(model: type[models.Model], attnames: tuple[str, ...]) -> Insert:
    """INSERT for `attnames` of `model`; the SQL comes from model metadata only."""
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    missing = [a for a in attnames if a not in by_attname]
    if missing:
        raise ImproperlyConfigured(f"{meta.label} has no field(s) {missing}")
    fields = [by_attname[a] for a in attnames]
    extra_fields = []
    for f in meta.concrete_fields:
        if f.attname in attnames or f.null or f.primary_key:
            continue
        if not f.has_default() and not f.empty_strings_allowed:
            raise ImproperlyConfigured(
                f"bulk insert: {meta.label}.{f.name} is NOT NULL without a default; "
                "give it a value")
        extra_fields.append(f)
    extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra_fields)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields + extra_fields)
    placeholders = ", ".join(["%s"] * (len(fields) + len(extra_fields)))
    return Insert(f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({placeholders})", extra)
