"""The database side of global search: index DDL, rebuilding, candidate queries.

SQLite: an FTS5 external-content table `parties_customer_fts` (trigram tokenizer)
over `parties_customer.search_text`, kept in sync by three triggers. It stores no
copy of the text, only the index.

PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `search_text`,
queried with LIKE. The cluster needs a UTF-8 locale (e.g. C.UTF-8) so pg_trgm
counts Chinese characters as word characters (`show_trgm('重庆')` is not empty).

Both answer the same question: rows whose search_text contains, for every query
term, one of the term's patterns (see `search.parse_query`).

Bulk loaders: inserting customers with the triggers in place keeps the index in
sync by itself (measured: see bench/search_quick.py). For the fastest load of a
large batch, call `drop_sqlite_triggers()` first and `rebuild_search_index()`
afterwards (which recreates the triggers); either way, set `search_text` with
`build_search_text(customer, contacts=[...])` before inserting.

SQLite rebuilds a table to alter it; a future migration that alters
`parties_customer` on SQLite drops the triggers with the old table, so it must end
with `migrations.RunPython(search_index.install, search_index.noop)`.
"""

from __future__ import annotations

from django.db import connection as default_connection
from django.db.models import Q, Value
from django.db.models.expressions import RawSQL

from .search import ParsedQuery

FTS_TABLE = "parties_customer_fts"
PG_INDEX = "parties_customer_search_trgm"
_TRIGGERS = ("parties_customer_fts_ai", "parties_customer_fts_ad", "parties_customer_fts_au")

_SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        search_text, content='parties_customer', content_rowid='id', tokenize='trigram')""",
]
_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS parties_customer_fts_ai AFTER INSERT ON parties_customer
    BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS parties_customer_fts_ad AFTER DELETE ON parties_customer
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
    END""",
    # Only when the text changed: a save that touches other columns costs nothing here.
    f"""CREATE TRIGGER IF NOT EXISTS parties_customer_fts_au AFTER UPDATE ON parties_customer
    WHEN old.search_text IS NOT new.search_text OR old.id IS NOT new.id
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
]
_PG_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    (f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON parties_customer "
     "USING gin (search_text gin_trgm_ops)"),
]


def install(apps=None, schema_editor=None) -> None:
    """Create the index for the current backend (idempotent; usable from RunPython)."""
    conn = schema_editor.connection if schema_editor else default_connection
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            for sql in _SQLITE_CREATE + _SQLITE_TRIGGERS:
                cur.execute(sql)
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif conn.vendor == "postgresql":
            for sql in _PG_CREATE:
                cur.execute(sql)


def uninstall(apps=None, schema_editor=None) -> None:
    conn = schema_editor.connection if schema_editor else default_connection
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            for name in _TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
            cur.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif conn.vendor == "postgresql":
            cur.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")


def noop(apps=None, schema_editor=None) -> None:
    pass


def drop_sqlite_triggers(connection=None) -> None:
    """Before a very large bulk insert on SQLite; `rebuild_search_index()` afterwards."""
    conn = connection or default_connection
    if conn.vendor == "sqlite":
        with conn.cursor() as cur:
            for name in _TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")


def rebuild_search_index(connection=None) -> None:
    """Re-read every customer's search_text into the index and make sure the sync
    triggers exist (SQLite); refresh planner statistics (PostgreSQL).

    Does not recompute search_text itself: loaders set it with build_search_text.
    """
    conn = connection or default_connection
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            for sql in _SQLITE_CREATE + _SQLITE_TRIGGERS:
                cur.execute(sql)
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
        elif conn.vendor == "postgresql":
            cur.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [PG_INDEX])
            if cur.fetchone() is None:
                for sql in _PG_CREATE:
                    cur.execute(sql)
            cur.execute("ANALYZE parties_customer")


# --- Queries ------------------------------------------------------------------------


def fts_match_string(query: ParsedQuery) -> str:
    """The FTS5 MATCH expression: every term, any of its patterns, each a quoted
    phrase (quotes doubled), so user text is never FTS syntax. Passed as a parameter."""
    groups = []
    for term in query.terms:
        phrases = " OR ".join('"' + p.replace('"', '""') + '"' for p in term.patterns)
        groups.append(f"({phrases})")
    return " AND ".join(groups)


Candidate = tuple[int, str, str, bool]  # (id, name, search_text, from the prefix lookup)
PREFIX_SCAN = 200  # names looked at, before visibility, for the name-prefix boost
_MAX_CODEPOINT = "\U0010ffff"


def candidates(visible_qs, query: ParsedQuery, cap: int, prefix_limit: int) -> list[Candidate]:
    """Visible customers worth ranking, fetched in one statement:

    1. up to `cap` rows matching every term, in id order (all of them when the
       query is specific; when it is common, the scan stops at `cap`; ascending
       because FTS5 walks its doclists forwards about twice as fast as backwards);
    2. up to `prefix_limit` rows whose name starts with the query as typed or in
       the other script (an index range on (deleted_at, name), at most PREFIX_SCAN
       names), so exact and prefix matches are ranked even when (1) was cut short.

    `visible_qs` is `Customer.objects.visible_to(user)` and is applied inside the
    query (on SQLite compiled by Django into a correlated EXISTS), so invisible
    rows never use up a limit. User text only ever travels as parameters.
    """
    if visible_qs.query.is_empty():
        return []
    if default_connection.vendor == "sqlite":
        rows = _sqlite_candidates(visible_qs, query, cap, prefix_limit)
    else:
        rows = _orm_candidates(visible_qs, query, cap, prefix_limit)
    return [(pk, name, text, bool(src)) for pk, name, text, src in rows]


def _prefix_ids(query: ParsedQuery):
    from .models import Customer

    cond = Q()
    for form in query.forms:
        cond |= Q(name__gte=form, name__lt=form + _MAX_CODEPOINT)
    return Customer.objects.filter(cond).order_by().values("pk")[:PREFIX_SCAN]


def _orm_candidates(visible_qs, query: ParsedQuery, cap: int, prefix_limit: int) -> list:
    """PostgreSQL: LIKE on the pg_trgm-indexed column; one UNION ALL statement."""
    fields = ("pk", "name", "search_text", "gx_src")
    prefix = (visible_qs.filter(pk__in=_prefix_ids(query)).order_by()
              .annotate(gx_src=Value(1)).values_list(*fields)[:prefix_limit])
    if not query.terms:
        return list(prefix)
    matching = visible_qs
    for term in query.terms:
        cond = Q()
        for pattern in term.patterns:
            cond |= Q(search_text__contains=pattern)
        matching = matching.filter(cond)
    matching = matching.order_by("pk").annotate(gx_src=Value(0)).values_list(*fields)[:cap]
    return list(matching.union(prefix, all=True))


def _sqlite_candidates(visible_qs, query: ParsedQuery, cap: int, prefix_limit: int) -> list:
    """SQLite: the FTS5 table joined to customers; visibility as a correlated EXISTS."""
    visible = visible_qs.filter(pk=RawSQL("gx_c.id", ())).order_by().values("pk")
    vsql, vparams = visible.query.sql_with_params()
    psql, pparams = _prefix_ids(query).query.sql_with_params()
    parts: list[str] = []
    params: list = []
    if query.terms:
        # CROSS JOIN keeps the FTS index as the outer loop: rows stream in id order
        # and the scan stops after `cap` visible matches, however common the term.
        parts.append(
            "SELECT * FROM (SELECT gx_c.id, gx_c.name, gx_c.search_text, 0 "
            f"FROM {FTS_TABLE} AS gx_f CROSS JOIN parties_customer AS gx_c "
            f"ON gx_c.id = gx_f.rowid WHERE gx_f.{FTS_TABLE} MATCH %s "
            f"AND EXISTS ({vsql}) ORDER BY gx_f.rowid LIMIT %s)")
        params += [fts_match_string(query), *vparams, cap]
    parts.append(
        "SELECT * FROM (SELECT gx_c.id, gx_c.name, gx_c.search_text, 1 "
        f"FROM parties_customer AS gx_c WHERE gx_c.id IN ({psql}) "
        f"AND EXISTS ({vsql}) LIMIT %s)")
    params += [*pparams, *vparams, prefix_limit]
    with default_connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(parts), params)
        return cur.fetchall()
