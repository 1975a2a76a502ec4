"""Loading the demo data fast: parameterised multi-row INSERTs in chunk transactions.

A fixture load, not business activity: rows go straight into the tables with
`executemany` (parameters only; the SQL is built from model metadata), no
services, no per-row audit entries. On SQLite the load runs with
`PRAGMA synchronous=OFF` and foreign-key checks off (as Django's `loaddata` does),
and for large loads the search-index triggers are dropped and the index rebuilt
once at the end. Chunks are generated in worker processes while the main process
inserts the previous ones. Do not power off during a load: with `synchronous=OFF`
an interrupted write can damage the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from guanxi.activities.models import Interaction, Task
from guanxi.core.bulk import Insert as _Insert
from guanxi.core.bulk import insert_statement
from guanxi.parties.models import Contact, Customer
from guanxi.sales.models import Lead, Opportunity, OwnerChange, StageChange

from . import sales
from .company import build_skeleton
from .generate import generate_chunk
from .plan import (
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    INTERACTION_COLUMNS,
    ChunkRows,
    ChunkSpec,
    Plan,
    Skeleton,
    plan_customers,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000
# From this many customers on, generate in worker processes, drop the search-index
# triggers during the load and rebuild the index once afterwards.
LARGE_LOAD = 20_000
# The first customers get follow-ups due (overdue, today, coming) for every rep.
FORCED_PER_REP = 3


@dataclass
class LoadStats:
    customers: int = 0
    contacts: int = 0
    interactions: int = 0
    leads: int = 0
    opportunities: int = 0
    tasks: int = 0
    seconds_setup: float = 0.0
    seconds_rows: float = 0.0  # generating and inserting the rows
    seconds_index: float = 0.0  # search index rebuild and finishing touches
    seconds_search_index: float = 0.0
    cpu_main: float = 0.0  # CPU seconds of the loading process
    cpu_workers: float = 0.0  # CPU seconds of the generator processes
    insert_seconds: dict[str, float] = field(default_factory=dict)  # per table, in executemany
    pack_applied: bool = False
    skeleton: Skeleton | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seconds_total(self) -> float:
        return self.seconds_setup + self.seconds_rows + self.seconds_index

    def rate(self, count: int) -> float:
        return count / self.seconds_rows if self.seconds_rows else 0.0


def _m2m_insert(through: type[models.Model], left: str, right: str) -> _Insert:
    return insert_statement(through, (left, right))


def _next_id(model: type[models.Model]) -> int:
    manager = getattr(model, "all_objects", model._default_manager)
    return (manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _search_index_hooks() -> tuple[Callable | None, Callable | None]:
    try:
        from guanxi.parties import search_index
    except ImportError:
        return None, None
    return (getattr(search_index, "drop_sqlite_triggers", None),
            getattr(search_index, "rebuild_search_index", None))


@contextmanager
def _sqlite_bulk_mode() -> Iterator[None]:
    """synchronous=OFF and a bigger page cache for the load (restored afterwards)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield  # inside a transaction (tests) the safety level cannot change
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA synchronous")
        old_sync = cur.fetchone()[0]
        cur.execute("PRAGMA cache_size")
        old_cache = cur.fetchone()[0]
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-262144")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA synchronous={int(old_sync)}")
            cur.execute(f"PRAGMA cache_size={int(old_cache)}")


class _ChunkSource:
    """Yields the chunks' rows in order, generated inline or by worker processes
    (a bounded window of chunks ahead, so memory stays flat)."""

    def __init__(self, plan: Plan, specs: list[ChunkSpec], workers: int):
        self.plan, self.specs, self.workers = plan, specs, workers
        self.executor: ProcessPoolExecutor | None = None
        self.pending: deque = deque()
        self.queue = iter(specs)

    def start(self) -> None:
        """Start the workers (before the loader opens its database connection)."""
        if self.workers <= 0:
            return
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        for _ in range(self.workers * 2):
            self._submit()

    def _submit(self) -> None:
        spec = next(self.queue, None)
        if spec is not None and self.executor is not None:
            self.pending.append(self.executor.submit(generate_chunk, self.plan, spec))

    def __iter__(self) -> Iterator[ChunkRows]:
        if self.executor is None:
            for spec in self.specs:
                yield generate_chunk(self.plan, spec)
            return
        try:
            while self.pending:
                rows = self.pending.popleft().result()
                self._submit()
                yield rows
        finally:
            self.close()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None


def default_workers(customers: int) -> int:
    """None for small loads; otherwise one generator per CPU (up to 8): generating a
    customer costs about twice the CPU of inserting it, so on two cores two workers
    and the inserting process share the machine best."""
    if customers < LARGE_LOAD:
        return 0
    return max(1, min(os.cpu_count() or 1, 8))


def load_demo(*, customers: int = 2000, per_customer: float = 10.0, seed: int = 1,
              today: dt.date | None = None, workers: int | None = None,
              chunk_size: int = CHUNK_SIZE,
              progress: Callable[[LoadStats, int], None] | None = None,
              erp_and_service: bool = True) -> LoadStats:
    """Create the demo company and `customers` customers with contacts and history.

    Writes no audit entries (a fixture load). `today` fixes the dates (default: the
    local date); with the same seed and today the data is identical.
    """
    stats = LoadStats()
    started = time.perf_counter()
    cpu_self, cpu_children = _cpu()
    today = today or timezone.localdate()
    with transaction.atomic():
        skeleton = build_skeleton()
        skeleton.sales = sales.build_sales_skeleton(skeleton, today)
    stats.skeleton, stats.pack_applied = skeleton, skeleton.pack_applied
    if not skeleton.pack_applied:
        stats.notes.append("industry pack loader not found: no custom field values")
    reps = sum(len(v) for v in skeleton.reps.values())
    specs = plan_customers(
        seed, customers, per_customer, chunk_size,
        customer_id=_next_id(Customer), contact_id=_next_id(Contact),
        interaction_id=_next_id(Interaction), forced=FORCED_PER_REP * reps,
        opportunity_id=_next_id(Opportunity), lead_id=_next_id(Lead),
    )
    plan = Plan(seed=seed, today=today, time_zone=settings.TIME_ZONE,
                text_datetimes=connection.vendor == "sqlite", skeleton=skeleton)
    workers = default_workers(customers) if workers is None else workers
    large = customers >= LARGE_LOAD
    statements = {
        "customers": insert_statement(Customer, CUSTOMER_COLUMNS),
        "contacts": insert_statement(Contact, CONTACT_COLUMNS),
        "interactions": insert_statement(Interaction, INTERACTION_COLUMNS),
        "customer_tags": _m2m_insert(Customer.tags.through, "customer_id", "tag_id"),
        "shared_with": _m2m_insert(Customer.shared_with.through, "customer_id", "user_id"),
        "participant_users": _m2m_insert(Interaction.participant_users.through,
                                         "interaction_id", "user_id"),
        "participant_contacts": _m2m_insert(Interaction.participant_contacts.through,
                                            "interaction_id", "contact_id"),
        "leads": insert_statement(Lead, sales.LEAD_COLUMNS),
        "opportunities": insert_statement(Opportunity, sales.OPPORTUNITY_COLUMNS),
        "stage_changes": insert_statement(StageChange, sales.STAGE_CHANGE_COLUMNS),
        "opportunity_products": _m2m_insert(Opportunity.products.through, "opportunity_id",
                                            "product_id"),
        "tasks": insert_statement(Task, sales.TASK_COLUMNS),
        "owner_changes": insert_statement(OwnerChange, sales.OWNER_CHANGE_COLUMNS),
    }
    source = _ChunkSource(plan, specs, workers)
    if workers > 0:
        connection.close()  # no open database handle may cross the fork
    source.start()
    stats.seconds_setup = time.perf_counter() - started

    drop_triggers, rebuild = _search_index_hooks()
    t0 = time.perf_counter()
    triggers_dropped = False
    try:
        with _sqlite_bulk_mode(), connection.constraint_checks_disabled():
            if large and drop_triggers and rebuild and connection.vendor == "sqlite":
                drop_triggers()
                triggers_dropped = True
            # The interactions' secondary indexes stay: dropping and recreating them
            # makes the INSERTs twice as fast, but the rebuild afterwards is serial
            # and cost as much again at 10M rows (docs/performance.md).
            for rows in source:
                _insert_chunk(statements, rows, stats.insert_seconds)
                stats.customers += len(rows.customers)
                stats.contacts += len(rows.contacts)
                stats.interactions += len(rows.interactions)
                stats.leads += len(rows.leads)
                stats.opportunities += len(rows.opportunities)
                stats.tasks += len(rows.tasks)
                stats.seconds_rows = time.perf_counter() - t0
                if progress:
                    progress(stats, customers)
        stats.seconds_rows = time.perf_counter() - t0
    finally:
        source.close()
        t1 = time.perf_counter()
        if triggers_dropped:
            rebuild()
        stats.seconds_search_index = time.perf_counter() - t1
        _finish(large)
        stats.seconds_index = time.perf_counter() - t1
    t2 = time.perf_counter()
    with transaction.atomic():
        done = sales.finish_sales(skeleton, today, seed)
    stats.tasks += done["meetings"]
    # The ERP mirror and the service desk, consistent with the sales rows (issue 5);
    # benchmarks that bring their own ERP rows pass erp_and_service=False.
    from . import service

    service_counts = None
    if erp_and_service:
        with _sqlite_bulk_mode():
            service_counts = service.load_commerce_and_service(skeleton, today, seed)
    if not large:
        # Learned win probabilities from the demo's closed deals, so the first screens
        # show scores; a large load leaves this to the nightly job (`guanxi scheduler`).
        from guanxi.sales.scoring import retrain

        retrain()
    stats.seconds_index += time.perf_counter() - t2
    stats.notes.append(
        f"sales: {stats.opportunities:,} opportunities, {stats.leads:,} leads, "
        f"{stats.tasks:,} tasks, {done['targets']} sales targets")
    if service_counts is not None:
        stats.notes.append(service.summary(service_counts))
    now_self, now_children = _cpu()
    stats.cpu_main, stats.cpu_workers = now_self - cpu_self, now_children - cpu_children
    return stats


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0.0, 0.0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _insert_chunk(statements: dict[str, _Insert], rows: ChunkRows,
                  seconds: dict[str, float]) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        for name in ("customers", "contacts", "customer_tags", "shared_with", "leads",
                     "opportunities", "interactions", "participant_users",
                     "participant_contacts", "stage_changes", "opportunity_products", "tasks",
                     "owner_changes"):
            t = time.perf_counter()
            statements[name].run(cur, getattr(rows, name))
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t


def _finish(large: bool) -> None:
    """PostgreSQL: sequences after explicit ids, planner statistics after a big load
    (autovacuum would gather them soon anyway). SQLite gets no ANALYZE: the app never
    runs it, and its queries are written for the planner without statistics, so a
    demo database should plan like a real one."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(
                no_style(), [Customer, Contact, Interaction, Lead, Opportunity]):
            cur.execute(sql)
        if large:
            cur.execute("ANALYZE")
