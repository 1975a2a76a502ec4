"""The database side of global search: index DDL, rebuilding, candidate queries.

SQLite: an FTS5 external-content table `parties_customer_fts` (trigram tokenizer)
over `parties_customer.search_text`, kept in sync by three triggers. It stores no
copy of the text, only the index.

PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `search_text`,
queried with LIKE. The cluster needs a UTF-8 locale (e.g. C.UTF-8) so pg_trgm
counts Chinese characters as word characters (`show_trgm('重庆')` is not empty).

Both answer the same question: rows whose search_text contains, for every query
term, one of the term's patterns (see `search.parse_query`).

Bulk loaders (set `search_text` with `build_search_text(customer, contacts=[...])`
before inserting; ~0.14 ms per customer with two contacts):
- up to some tens of thousands of rows: just insert (bulk_create) with the triggers
  on; they cost ~0.45 ms per customer (100k: 87 s of inserts instead of 42 s);
- a large load (demo data, a first import): `drop_sqlite_triggers()`, insert,
  then `rebuild_search_index()`, which recreates the triggers and re-reads every
  row (~0.15 ms per customer: 1M in ~160 s). Searches miss the new rows until then.
- `optimize_search_index()` (merging FTS5 segments and recounting the common
  trigrams that search_plan uses to look up rare patterns fast) is worth running
  nightly; `rebuild_search_index()` does both too. Until the first run every pattern
  is looked up as a plain phrase (correct, slower for rare pinyin at scale).

SQLite rebuilds a table to alter it; a future migration that alters
`parties_customer` on SQLite drops the triggers with the old table, so it must end
with `migrations.RunPython(search_index.install, search_index.noop)` (a test checks
that the triggers exist after all migrations).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, transaction
from django.db import connection as default_connection
from django.db.models import Q, Value
from django.db.models.expressions import RawSQL

from . import search_plan
from .search import ParsedQuery

FTS_TABLE = "parties_customer_fts"
PG_INDEX = "parties_customer_search_trgm"
_TRIGGERS = ("parties_customer_fts_ai", "parties_customer_fts_ad", "parties_customer_fts_au")
# Document counts of the common trigrams, for search_plan (term '' holds the row count).
STATS_TABLE = "parties_customer_fts_stats"
VOCAB_TABLE = "parties_customer_fts_vocab"
STATS_MIN_DOCS = 50

_SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        search_text, content='parties_customer', content_rowid='id', tokenize='trigram')""",
]
_SQLITE_STATS = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {VOCAB_TABLE} USING fts5vocab({FTS_TABLE}, row)",
    f"""CREATE TABLE IF NOT EXISTS {STATS_TABLE} (
        term TEXT PRIMARY KEY, doc INTEGER NOT NULL) WITHOUT ROWID""",
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
            for sql in _SQLITE_CREATE + _SQLITE_STATS + _SQLITE_TRIGGERS:
                cur.execute(sql)
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif conn.vendor == "postgresql":
            for sql in _PG_CREATE:
                cur.execute(sql)


def install_stats(apps=None, schema_editor=None) -> None:
    """The trigram statistics tables (SQLite; empty until refresh_search_stats)."""
    conn = schema_editor.connection if schema_editor else default_connection
    if conn.vendor == "sqlite":
        with conn.cursor() as cur:
            for sql in _SQLITE_STATS:
                cur.execute(sql)


def uninstall_stats(apps=None, schema_editor=None) -> None:
    conn = schema_editor.connection if schema_editor else default_connection
    if conn.vendor == "sqlite":
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {STATS_TABLE}")
            cur.execute(f"DROP TABLE IF EXISTS {VOCAB_TABLE}")


def uninstall(apps=None, schema_editor=None) -> None:
    conn = schema_editor.connection if schema_editor else default_connection
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            for name in _TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
            cur.execute(f"DROP TABLE IF EXISTS {STATS_TABLE}")
            cur.execute(f"DROP TABLE IF EXISTS {VOCAB_TABLE}")
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
    """Re-read every customer's search_text into the index, make sure the sync
    triggers exist and refresh the trigram statistics (SQLite); refresh planner
    statistics (PostgreSQL).

    Does not recompute search_text itself: loaders set it with build_search_text.
    """
    conn = connection or default_connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        if conn.vendor == "sqlite":
            # One transaction: no write can slip between the triggers and the rebuild.
            for sql in _SQLITE_CREATE + _SQLITE_STATS + _SQLITE_TRIGGERS:
                cur.execute(sql)
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
            _refresh_stats(cur)
        elif conn.vendor == "postgresql":
            cur.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [PG_INDEX])
            if cur.fetchone() is None:
                for sql in _PG_CREATE:
                    cur.execute(sql)
            cur.execute("ANALYZE parties_customer")


def optimize_search_index(connection=None) -> None:
    """Merge the FTS5 index into one segment and refresh the trigram statistics
    (SQLite; a nightly job: ~10 s at a million customers). Idempotent."""
    conn = connection or default_connection
    if conn.vendor == "sqlite":
        with transaction.atomic(using=conn.alias), conn.cursor() as cur:
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
            _refresh_stats(cur)


def refresh_search_stats(connection=None) -> None:
    """Recount the common trigrams (SQLite; part of rebuild and optimize)."""
    conn = connection or default_connection
    if conn.vendor == "sqlite":
        with transaction.atomic(using=conn.alias), conn.cursor() as cur:
            _refresh_stats(cur)


def _refresh_stats(cur) -> None:
    for sql in _SQLITE_STATS:
        cur.execute(sql)
    cur.execute("SELECT count(*) FROM parties_customer")
    total = cur.fetchone()[0]
    cur.execute(f"DELETE FROM {STATS_TABLE}")
    cur.execute(f"INSERT INTO {STATS_TABLE}(term, doc) SELECT term, doc FROM {VOCAB_TABLE} "
                "WHERE doc >= %s AND term != ''", [max(STATS_MIN_DOCS, total // 2000)])
    cur.execute(f"INSERT INTO {STATS_TABLE}(term, doc) VALUES ('', %s)", [total])


def trigram_stats(query: ParsedQuery) -> tuple[dict[str, int], int]:
    """({trigram: rows containing it}, rows) for the query's long patterns; trigrams
    missing from the table are rare. ({}, 0) without statistics."""
    wanted = search_plan.patterns_needing_stats(query)
    if not wanted:
        return {}, 0
    wanted.add("")
    marks = ", ".join(["%s"] * len(wanted))
    try:
        with default_connection.cursor() as cur:
            cur.execute(f"SELECT term, doc FROM {STATS_TABLE} WHERE term IN ({marks})",
                        list(wanted))
            docs = dict(cur.fetchall())
    except DatabaseError:  # not migrated yet
        return {}, 0
    return docs, docs.pop("", 0)


# --- Queries ------------------------------------------------------------------------


def fts_match_string(query: ParsedQuery) -> str:
    """The FTS5 MATCH expression asking every pattern as a phrase (no statistics)."""
    return search_plan.lookup(query, {}, 0).match


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


# PostgreSQL plan choice. A GIN index returns matches as an unordered bitmap: cheap
# for a rare pattern, costly for a common one (every match is collected). Walking the
# primary key with a filter stops after `cap` visible matches: cheap for a common
# pattern, a full table scan for a rare one. The planner's LIKE estimates cannot tell
# them apart, so a probe of the first PROBE_ROWS customers decides: the walk is
# chosen when the visible matches found there predict it ends within WALK_ROWS rows.
PROBE_ROWS = 2000
WALK_ROWS = 15000


def _orm_candidates(visible_qs, query: ParsedQuery, cap: int, prefix_limit: int) -> list:
    """PostgreSQL: LIKE on the pg_trgm-indexed column; a probe, then one statement."""
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
    visible = visible_qs.filter(pk=RawSQL("gx_c.id", ())).order_by().values("pk")
    vsql, vparams = visible.query.sql_with_params()
    likes, like_params = _like_conditions(query)
    min_hits = -(-cap * PROBE_ROWS // WALK_ROWS)  # ceiling
    with transaction.atomic(), default_connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM (SELECT id, search_text FROM parties_customer "
            f"ORDER BY id LIMIT {PROBE_ROWS}) AS gx_c WHERE {likes} AND EXISTS ({vsql}) "
            "LIMIT %s) AS gx_probe", [*like_params, *vparams, min_hits])
        if cur.fetchone()[0] >= min_hits:  # common: walk the primary key
            switched_off = ("enable_bitmapscan", "enable_seqscan")
        else:  # rare: collect the matches from the trigram index
            switched_off = ("enable_indexscan", "enable_seqscan")
        for name in switched_off:
            cur.execute(f"SET LOCAL {name} = off")
        rows = matching.order_by("pk").annotate(gx_src=Value(0)).values_list(*fields)[:cap]
        found = list(rows.union(prefix, all=True))
        # SET LOCAL lasts until the outermost transaction ends (a failed query rolls
        # the savepoint back, settings included): undo it at once.
        for name in switched_off:
            cur.execute(f"SET LOCAL {name} TO DEFAULT")
        return found


def _like_conditions(query: ParsedQuery) -> tuple[str, list[str]]:
    """Every term, any of its patterns, as LIKE on gx_c.search_text (escaped)."""
    groups, params = [], []
    for term in query.terms:
        groups.append("(" + " OR ".join(["gx_c.search_text LIKE %s"] * len(term.patterns)) + ")")
        params += ["%" + _like_escape(p) + "%" for p in term.patterns]
    return " AND ".join(groups), params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fetch_ids(match: str, limit: int) -> list[int]:
    with default_connection.cursor() as cur:
        cur.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s",
                    [match, limit])
        return [row[0] for row in cur.fetchall()]


def _sqlite_candidates(visible_qs, query: ParsedQuery, cap: int, prefix_limit: int) -> list:
    """SQLite: the FTS5 table joined to customers; visibility as a correlated EXISTS."""
    visible = visible_qs.filter(pk=RawSQL("gx_c.id", ())).order_by().values("pk")
    vsql, vparams = visible.query.sql_with_params()
    psql, pparams = _prefix_ids(query).query.sql_with_params()
    parts: list[str] = []
    params: list = []
    if query.terms:
        docs, total = trigram_stats(query)
        found = search_plan.lookup(query, docs, total, fetch=_fetch_ids)
        checks, check_params = search_plan.instr_conditions(found.recheck, "gx_c.search_text")
        if found.ids is None:
            # CROSS JOIN keeps the FTS index as the outer loop: rows stream in id order
            # and the scan stops after `cap` visible matches, however common the term.
            parts.append(
                "SELECT * FROM (SELECT gx_c.id, gx_c.name, gx_c.search_text, 0 "
                f"FROM {FTS_TABLE} AS gx_f CROSS JOIN parties_customer AS gx_c "
                f"ON gx_c.id = gx_f.rowid WHERE gx_f.{FTS_TABLE} MATCH %s{checks} "
                f"AND EXISTS ({vsql}) ORDER BY gx_f.rowid LIMIT %s)")
            params += [found.match, *check_params, *vparams, cap]
        elif found.ids:
            marks = ", ".join(["%s"] * len(found.ids))
            parts.append(
                "SELECT * FROM (SELECT gx_c.id, gx_c.name, gx_c.search_text, 0 "
                f"FROM parties_customer AS gx_c WHERE gx_c.id IN ({marks}){checks} "
                f"AND EXISTS ({vsql}) ORDER BY gx_c.id LIMIT %s)")
            params += [*found.ids, *check_params, *vparams, cap]
    parts.append(
        "SELECT * FROM (SELECT gx_c.id, gx_c.name, gx_c.search_text, 1 "
        f"FROM parties_customer AS gx_c WHERE gx_c.id IN ({psql}) "
        f"AND EXISTS ({vsql}) LIMIT %s)")
    params += [*pparams, *vparams, prefix_limit]
    with default_connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(parts), params)
        return cur.fetchall()


@contextmanager
def bulk_insert_mode(connection=None) -> Iterator[None]:
    """A context manager for inserting many customers inside one transaction (SQLite).

    Inside, the per-row insert trigger is off; call `index_inserted(first_id, last_id)`
    after inserting rows with ids in that range, before leaving. The trigger comes
    back on exit (it is DDL inside the caller's transaction, so a rollback restores it
    too). Other writers are locked out meanwhile: SQLite has one writer, and the
    caller's transaction holds the write lock. Elsewhere it does nothing.
    """
    conn = connection or default_connection
    if conn.vendor != "sqlite":
        yield
        return
    if not conn.in_atomic_block:
        raise RuntimeError("bulk_insert_mode needs a transaction")
    with conn.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS parties_customer_fts_ai")
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute(_SQLITE_TRIGGERS[0])


def index_inserted(first_id: int, last_id: int, connection=None) -> None:
    """Add customers first_id…last_id to the FTS index (inside bulk_insert_mode)."""
    conn = connection or default_connection
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {FTS_TABLE}(rowid, search_text) SELECT id, search_text "
                    "FROM parties_customer WHERE id BETWEEN %s AND %s", [first_id, last_id])
