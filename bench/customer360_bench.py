#!/usr/bin/env python
"""Benchmark: the customer 360 page with every panel at 1M customers and 10M orders.

    .venv/bin/python bench/customer360_bench.py --workdir /tmp/guanxi-c360-bench
    .venv/bin/python bench/customer360_bench.py --workdir /tmp/guanxi-c360-bench --requests 300

Database: the work directory keeps its SQLite database between runs. When it has
none, it starts from a copy of --seed-db (default: the sales bench's database in
/tmp/guanxi-sales-bench, 1,000,000 demo customers with interactions and deals) or,
without one, loads `guanxi demo` customers. Then it adds the ERP mirror straight
into the tables with executemany (core/bulk.insert_statement; a fixture load: no
services, no audit entries), in the order an ERP sync would deliver it (by date,
customers interleaved):

  orders      --orders over three years; 80 % on random customers, 20 % on 1 % of
              them ("key accounts", ~200 orders each)
  deliveries  one per shipped / delivered / closed order (about 80 % of the orders)
  invoices    --invoices on random non-cancelled orders; due 30/60/90 days after issue;
              old ones mostly paid, some partly paid or open (overdue), 1 % cancelled
  payments    one per paid or partly paid invoice, up to --payments
  contracts   --contracts on random customers, five milestones each (advance
              payment, delivery, installation, acceptance, final payment)

Measuring: starts the real server (`guanxi serve`: waitress, DEBUG off) on
127.0.0.1 and GETs /customers/<id>/ with a new TCP connection per request, logged
in (a session cookie) as the director on random customers, as the director on key
accounts, and as a rep on their own customers. p50/p95/p99/max in ms of client
wall time after --warmup requests. In this process it also counts the page's SQL
queries and times the commerce panels and timeline alone (context + template).

Results: bench/out/customer360-<customers>.json and .md. A measuring script, not a
test: it asserts nothing about the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 80
SEED_DB = Path("/tmp/guanxi-sales-bench/guanxi.sqlite3")
CHUNK = 50_000
SYNCED = "2026-01-01 00:00:00.000000"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/guanxi-c360-bench",
                   help="data directory with the SQLite database (kept and reused)")
    p.add_argument("--seed-db", default=str(SEED_DB),
                   help="SQLite database with demo customers to start from (copied)")
    p.add_argument("--customers", type=int, default=1_000_000,
                   help="demo customers to load when there is no database to start from")
    p.add_argument("--orders", type=int, default=10_000_000)
    p.add_argument("--invoices", type=int, default=2_000_000)
    p.add_argument("--payments", type=int, default=1_500_000)
    p.add_argument("--contracts", type=int, default=300_000)
    p.add_argument("--requests", type=int, default=200, help="timed requests per series")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rep", default="rep_sh1", help="the rep whose customers are opened")
    p.add_argument("--series", nargs="+", choices=["any", "key", "rep"],
                   default=["any", "key", "rep"],
                   help="which customers to open: any (director), key accounts (director), "
                        "the rep's own (default: all three)")
    p.add_argument("--series-seconds", type=float, default=600,
                   help="time budget of one series: stop early (and say so) past it")
    p.add_argument("--list-requests", type=int, default=10,
                   help="timed requests per commerce list page (0: skip the lists)")
    p.add_argument("--out", default=str(ROOT / "bench" / "out"))
    return p.parse_args()


def setup_django(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "guanxi.sqlite3"
    seed = Path(args.seed_db) if args.seed_db else None
    if not db.exists() and seed and seed.exists():
        print(f"Copying {seed} ({seed.stat().st_size / 1e9:.1f} GB)…", flush=True)
        t = time.perf_counter()
        shutil.copyfile(seed, db)
        print(f"  copied in {time.perf_counter() - t:.0f} s", flush=True)
    os.environ["GUANXI_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "guanxi.config.settings"
    os.environ["GUANXI_DEBUG"] = "0"
    warnings.filterwarnings("ignore", message="No directory at")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def machine() -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("select sqlite_version()")
        version = cur.fetchone()[0]
    mem_kib, model = 0, platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
        model = next(ln.split(":", 1)[1].strip() for ln in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    name = Path(connection.settings_dict["NAME"])
    size = sum(p.stat().st_size for p in name.parent.glob(name.name + "*"))
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "django": django.get_version(),
        "sqlite": version, "database_mb": round(size / 1e6, 1),
    }


# --- Data -----------------------------------------------------------------------------------


def load_customers(args: argparse.Namespace) -> dict:
    from django.core.management import call_command

    from guanxi.parties.models import Customer

    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = round(time.perf_counter() - t, 1)
    if Customer.all_objects.exists():
        print(f"Reusing the customers (migrate: {migrate_s} s).", flush=True)
        return {"reused": True, "migrate_s": migrate_s}
    from guanxi.demo.load import load_demo

    print(f"Loading {args.customers:,} demo customers (about 20 minutes at 1M)…", flush=True)
    t = time.perf_counter()
    s = load_demo(customers=args.customers, per_customer=10.0, seed=args.seed)
    return {"reused": False, "seconds": round(time.perf_counter() - t, 1),
            "customers": s.customers, "interactions": s.interactions}


def _exists(table: str) -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
        return cur.fetchone() is not None


def _insert(stmt, rows: list[tuple]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        stmt.run(cur, rows)


def _money(rng: random.Random, mu: float, sigma: float = 1.0) -> float:
    return round(min(5e7, math.exp(rng.gauss(mu, sigma))), 2)


CARRIERS = ("顺丰速运", "德邦物流", "中通快递", "京东物流", "安能物流", "自提")
MILESTONES = (("payment", "预付款 30%"), ("delivery", "发货"), ("installation", "安装调试"),
              ("acceptance", "验收"), ("payment", "尾款 70%"))


def customers_and_keys(seed: int) -> tuple[random.Random, list[int], list[int]]:
    """The random generator, the live customers' ids and the 1 % "key accounts" (the
    same for the same seed and customers, so a rerun finds them again)."""
    from django.db import connection

    rng = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM parties_customer WHERE deleted_at IS NULL ORDER BY id")
        customers = [r[0] for r in cur.fetchall()]
    return rng, customers, rng.sample(customers, max(1, len(customers) // 100))


def generate_erp(args: argparse.Namespace) -> dict:
    """The ERP mirror rows (see the module docstring); skipped when orders exist."""
    from django.db import connection

    from guanxi.commerce.models import (
        Contract,
        ContractMilestone,
        Delivery,
        Invoice,
        Order,
        Payment,
    )
    from guanxi.core.bulk import insert_statement

    if _exists("commerce_order"):
        print("Reusing the ERP rows.", flush=True)
        return {"reused": True}
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size = -2000000")  # 2 GB while loading
    rng, customers, keys = customers_and_keys(args.seed)
    today = dt.date.today()
    start = today - dt.timedelta(days=3 * 365)
    span = (today - start).days
    iso = [(start + dt.timedelta(days=d)).isoformat() for d in range(span + 200)]
    timings: dict[str, float] = {}

    # Orders, by date. Remember (customer, day, amount, currency, status) per order for the
    # deliveries and invoices (arrays of ints/floats: ~1 GB of Python objects at 10M).
    print(f"Inserting {args.orders:,} orders…", flush=True)
    t = time.perf_counter()
    o_cols = ("id", "source", "external_id", "synced_at", "customer_id", "number", "ordered_on",
              "promised_on", "status", "amount", "currency")
    o_ins = insert_statement(Order, o_cols)
    from array import array

    o_cust, o_day, o_amount = array("l"), array("H"), array("d")
    o_status, o_usd = bytearray(), bytearray()
    statuses = ("pending", "confirmed", "in_production", "shipped", "delivered", "closed",
                "cancelled")
    rows = []
    n = args.orders
    for i in range(1, n + 1):
        day = min(span, int(span * (i - 1) / n + rng.random()))
        cid = rng.choice(keys) if rng.random() < 0.2 else rng.choice(customers)
        age = span - day
        r = rng.random()
        if r < 0.02:
            st = 6
        elif age > 60:
            st = 5 if r < 0.7 else 4
        elif age > 25:
            st = (4, 3, 5)[int(r * 3)]
        else:
            st = (0, 1, 2, 3)[int(r * 4)]
        usd = rng.random() < 0.03
        amount = _money(rng, 10.5)
        if usd:
            amount = round(amount / 7.1, 2)
        rows.append((i, "erp", str(i), SYNCED, cid, f"SO{i:09d}", iso[day], iso[day + 30],
                     statuses[st], amount, "USD" if usd else "CNY"))
        o_cust.append(cid)
        o_day.append(day)
        o_amount.append(amount)
        o_status.append(st)
        o_usd.append(usd)
        if len(rows) >= CHUNK:
            _insert(o_ins, rows)
            rows = []
            if i % 1_000_000 == 0:
                print(f"  {i:,} orders, {i / (time.perf_counter() - t):,.0f}/s", flush=True)
    _insert(o_ins, rows)
    timings["orders_s"] = round(time.perf_counter() - t, 1)

    # Deliveries of shipped (3), delivered (4) and closed (5) orders.
    print("Inserting deliveries…", flush=True)
    t = time.perf_counter()
    d_cols = ("id", "source", "external_id", "synced_at", "customer_id", "order_id", "number",
              "status", "carrier", "tracking_number", "shipped_on", "expected_on",
              "delivered_on", "address")
    d_ins = insert_statement(Delivery, d_cols)
    rows, did = [], 0
    for i in range(1, n + 1):
        st = o_status[i - 1]
        if st not in (3, 4, 5):
            continue
        did += 1
        day = o_day[i - 1]
        ship = min(span, day + 10 + rng.randint(0, 15))
        expected = ship + rng.randint(2, 6)
        delivered = iso[expected - rng.randint(0, 2)] if st != 3 else None
        status = "delivered" if st != 3 else ("in_transit" if rng.random() < 0.7 else "shipped")
        carrier = rng.choice(CARRIERS)
        rows.append((did, "erp", str(did), SYNCED, o_cust[i - 1], i, f"DN{did:09d}", status,
                     carrier, f"SF{rng.randrange(10**11, 10**12)}" if carrier != "自提" else "",
                     iso[ship], iso[expected], delivered, ""))
        if len(rows) >= CHUNK:
            _insert(d_ins, rows)
            rows = []
    _insert(d_ins, rows)
    timings["deliveries_s"] = round(time.perf_counter() - t, 1)

    # Invoices on random non-cancelled orders, in order-id (date) order.
    print(f"Inserting {args.invoices:,} invoices…", flush=True)
    t = time.perf_counter()
    pick = sorted(rng.sample(range(1, n + 1), min(n, int(args.invoices * 1.03))))
    pick = [i for i in pick if o_status[i - 1] != 6][:args.invoices]
    i_cols = ("id", "source", "external_id", "synced_at", "customer_id", "order_id", "number",
              "issued_on", "due_on", "amount", "paid_amount", "currency", "status")
    i_ins = insert_statement(Invoice, i_cols)
    p_cols = ("id", "source", "external_id", "synced_at", "customer_id", "invoice_id",
              "received_on", "amount", "currency", "method", "reference")
    p_ins = insert_statement(Payment, p_cols)
    methods = ("bank_transfer",) * 6 + ("acceptance_bill", "acceptance_bill", "cash", "cheque")
    rows, prows, pid = [], [], 0
    for iid, oid in enumerate(pick, start=1):
        day = min(span, o_day[oid - 1] + rng.randint(5, 20))
        due = day + rng.choice((30, 60, 90))
        amount = o_amount[oid - 1]
        currency = "USD" if o_usd[oid - 1] else "CNY"
        past = due < span
        r = rng.random()
        if r < 0.01:
            status, paid = "cancelled", 0.0
        elif past and r < 0.86 or not past and r < 0.25:
            status, paid = "paid", amount
        elif r < 0.93:
            status, paid = "partially_paid", round(amount * rng.uniform(0.2, 0.8), 2)
        else:
            status, paid = "open", 0.0
        rows.append((iid, "erp", str(iid), SYNCED, o_cust[oid - 1], oid, f"INV{iid:09d}",
                     iso[day], iso[due], amount, paid, currency, status))
        if paid and pid < args.payments:
            pid += 1
            received = min(span, due + rng.randint(-20, 30))
            prows.append((pid, "erp", str(pid), SYNCED, o_cust[oid - 1], iid, iso[received],
                          paid, currency, rng.choice(methods), f"BK{pid:010d}"))
        if len(rows) >= CHUNK:
            _insert(i_ins, rows)
            _insert(p_ins, prows)
            rows, prows = [], []
    _insert(i_ins, rows)
    _insert(p_ins, prows)
    timings["invoices_payments_s"] = round(time.perf_counter() - t, 1)
    del o_cust, o_day, o_amount, o_status, o_usd

    print(f"Inserting {args.contracts:,} contracts with milestones…", flush=True)
    t = time.perf_counter()
    c_cols = ("id", "source", "external_id", "synced_at", "customer_id", "number", "title",
              "status", "signed_on", "starts_on", "ends_on", "amount", "currency",
              "executed_amount", "notes")
    c_ins = insert_statement(Contract, c_cols)
    m_cols = ("contract_id", "seq", "kind", "name", "due_on", "done_on", "amount")
    m_ins = insert_statement(ContractMilestone, m_cols)
    rows, mrows = [], []
    for k in range(1, args.contracts + 1):
        day = min(span, int(span * (k - 1) / args.contracts + rng.random()))
        cid = rng.choice(keys) if rng.random() < 0.2 else rng.choice(customers)
        age = span - day
        r = rng.random()
        if age > 400:
            status = "completed" if r < 0.8 else ("expired" if r < 0.93 else "terminated")
        else:
            status = "draft" if r < 0.08 else ("active" if r < 0.9 else "completed")
        amount = _money(rng, 12.0)
        done_steps = 5 if status == "completed" else (0 if status == "draft" else
                                                      rng.randint(0, 4))
        executed = round(amount * done_steps / 5, 2)
        rows.append((k, "erp", str(k), SYNCED, cid, f"HT{k:08d}", "设备采购及安装合同", status,
                     iso[day], iso[day], iso[min(span + 199, day + 365)], amount, "CNY",
                     executed, ""))
        for seq, (kind, name) in enumerate(MILESTONES, start=1):
            due = min(span + 199, day + 30 * seq)
            share = 0.3 if seq == 1 else (0.7 if seq == 5 else None)
            mrows.append((k, seq, kind, name, iso[due],
                          iso[min(span, due)] if seq <= done_steps else None,
                          round(amount * share, 2) if share else None))
        if len(rows) >= CHUNK // 5:
            _insert(c_ins, rows)
            _insert(m_ins, mrows)
            rows, mrows = [], []
    _insert(c_ins, rows)
    _insert(m_ins, mrows)
    timings["contracts_s"] = round(time.perf_counter() - t, 1)
    seconds = round(time.perf_counter() - t0, 1)
    print(f"ERP rows inserted in {seconds} s: {timings}", flush=True)
    return {"reused": False, "seconds": seconds, **timings, "key_accounts": len(keys)}


def counts() -> dict:
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for table in ("parties_customer", "activities_interaction", "sales_opportunity",
                      "commerce_order", "commerce_delivery", "commerce_invoice",
                      "commerce_payment", "commerce_contract", "commerce_contractmilestone"):
            cur.execute(f"SELECT max(id) FROM {table}")
            out[table] = cur.fetchone()[0] or 0
    return out


# --- Measuring ------------------------------------------------------------------------------


def summarise(times: list[float], errors: dict | None = None) -> dict:
    ordered = sorted(times)

    def pct(p: float) -> float:  # nearest rank
        k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return round(ordered[k], 1)

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "max": round(ordered[-1], 1), "mean": round(statistics.fmean(ordered), 1),
            "errors": errors or {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "GUANXI_DATA_DIR": workdir, "GUANXI_DEBUG": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "guanxi"), "serve", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("server did not start")


def session_cookie(username: str) -> str:
    from django.test import Client

    from guanxi.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client.cookies["sessionid"].value


def server_cpu_ms(pid: int | None) -> float:
    """CPU time the server process has used so far (all threads; Linux schedstat, ns
    resolution). Sequential requests: the difference is one request's server CPU time,
    which other load on the machine does not inflate the way it does wall time."""
    if pid is None:
        return 0.0
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return total / 1e6


def http_get(port: int, path: str, cookie: str) -> tuple[int, int, float]:
    """(status, body bytes, ms) of one GET on a fresh connection."""
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}",
                                           "Connection": "close"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, len(body), (time.perf_counter() - t) * 1000


def sample_customers(kind: str, n: int, rng: random.Random, rep: str, keys: list[int]) -> list:
    from django.db import connection

    from guanxi.accounts.models import User

    with connection.cursor() as cur:
        if kind == "rep":
            cur.execute("SELECT id FROM parties_customer WHERE owner_id = %s AND "
                        "deleted_at IS NULL", [User.objects.get(username=rep).pk])
            ids = [r[0] for r in cur.fetchall()]
            return [rng.choice(ids) for _ in range(n)]
        if kind == "key":
            return [rng.choice(keys) for _ in range(n)]
        cur.execute("SELECT max(id) FROM parties_customer")
        top = cur.fetchone()[0]
        out = []
        while len(out) < n:
            ids = rng.sample(range(1, top + 1), min(top, 2 * n))
            marks = ",".join(["%s"] * len(ids))
            cur.execute(f"SELECT id FROM parties_customer WHERE id IN ({marks}) "
                        "AND deleted_at IS NULL", ids)
            out.extend(r[0] for r in cur.fetchall())
        return out[:n]


def measure_http(port: int, cookie: str, ids: list[int], warmup: int,
                 pid: int | None = None, budget_s: float = 600) -> dict:
    """GET /customers/<id>/ for each id: the first `warmup` untimed (cut short past a
    quarter of the budget), then timed until the ids or the budget run out (at least 5)."""
    times, errors, sizes, cpu = [], {}, [], []
    start = time.monotonic()
    stopped = False
    warm = 0
    for pk in ids:
        elapsed = time.monotonic() - start
        if elapsed > budget_s and len(times) >= 5:
            stopped = True
            break
        before = server_cpu_ms(pid)
        status, size, ms = http_get(port, f"/customers/{pk}/", cookie)
        if warm < warmup and elapsed < budget_s / 4:
            warm += 1
            continue
        cpu.append(server_cpu_ms(pid) - before)
        times.append(ms)
        sizes.append(size)
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
    result = summarise(times, errors)
    result["stopped_early"] = stopped
    result["kb_mean"] = round(statistics.fmean(sizes) / 1024, 1)
    if pid is not None:
        result["server_cpu_ms"] = summarise(cpu)
    return result


def measure_in_process(username: str, ids: list[int]) -> dict:
    """In this process: the SQL queries of the whole page (one request through the test
    client), and the wall time of every registered panel (context + template) and
    timeline source (one page of entries) on the same customers, to see where the
    page's time goes. The commerce ones are this issue's; the others are listed too."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import User
    from guanxi.core.registry import panels, timeline_sources
    from guanxi.parties.models import Customer

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    client.get(f"/customers/{ids[0]}/")
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/customers/{ids[1]}/")
    queries = len(ctx.captured_queries)
    commerce_q = sum(1 for q in ctx.captured_queries if "commerce_" in q["sql"])
    request = RequestFactory().get("/")
    request.user = user
    costs: dict[str, list[float]] = {}
    for pk in ids:
        customer = Customer.objects.select_related("owner", "team", "industry").get(pk=pk)
        for p in panels():
            t = time.perf_counter()
            ctx_ = p.context(customer, user)
            if ctx_ is not None:
                render_to_string(p.template, {"customer": customer, **ctx_}, request=request)
            costs.setdefault(f"panel {p.key}", []).append((time.perf_counter() - t) * 1000)
        for source in timeline_sources():
            t = time.perf_counter()
            source.provider(customer=customer, user=user, before=None, kinds=None, limit=21)
            costs.setdefault(f"timeline {source.key}", []).append(
                (time.perf_counter() - t) * 1000)
    parts = {k: summarise(v) for k, v in costs.items()}
    commerce = [k for k in parts if "commerce" in k]
    return {"page_queries": queries, "commerce_queries": commerce_q,
            "commerce_panels_ms": summarise([sum(x) for x in zip(
                *(costs[k] for k in commerce if k.startswith("panel")), strict=True)]),
            "commerce_timeline_ms": parts.get("timeline commerce", summarise([0.0])),
            "parts_ms": parts}


LIST_PAGES = (
    ("orders, one customer", "/commerce/orders/?customer={pk}"),
    ("invoices, one customer", "/commerce/invoices/?customer={pk}"),
    ("orders, all", "/commerce/orders/"),
    ("orders, customer search", "/commerce/orders/?q={name}"),
    ("receivables (open invoices + ageing), all", "/commerce/invoices/"),
    ("deliveries by tracking number", "/commerce/deliveries/?q={tracking}"),
    ("payments, all", "/commerce/payments/"),
)


def measure_lists(port: int, cookie: str, ids: list[int], n: int) -> dict:
    """A few requests per list page (informational: the target is the customer page)."""
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        marks = ",".join(["%s"] * len(ids))
        cur.execute(f"SELECT id, name FROM parties_customer WHERE id IN ({marks})", ids)
        names = dict(cur.fetchall())
        cur.execute("SELECT tracking_number FROM commerce_delivery WHERE id IN "
                    "(SELECT abs(random()) % (SELECT max(id) FROM commerce_delivery) FROM "
                    f"commerce_order LIMIT {n + 1}) AND tracking_number != ''")
        tracking = [r[0] for r in cur.fetchall()] or ["SF000"]
    for label, pattern in LIST_PAGES:
        times, errors = [], {}
        for k in range(n + 1):
            pk = ids[k % len(ids)]
            path = pattern.format(pk=pk, name=quote(names.get(pk, "")[:4]),
                                  tracking=tracking[k % len(tracking)])
            status, _size, ms = http_get(port, path, cookie)
            if k == 0:
                continue  # warm-up
            times.append(ms)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
        out[label] = summarise(times, errors)
        r = out[label]
        print(f"    {label:<42} p50 {r['p50']:8.1f}  max {r['max']:8.1f} ms  "
              f"errors {r['errors'] or '-'}", flush=True)
    return out


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed + 7)
    n = args.requests + args.warmup
    keys = customers_and_keys(args.seed)[2]
    plan = [("director", "random customers", "any"), ("director", "key accounts", "key"),
            (args.rep, "own customers", "rep")]
    plan = [p for p in plan if p[2] in args.series]
    port = free_port()
    print(f"Starting the server on 127.0.0.1:{port}…", flush=True)
    proc = start_server(args.workdir, port)
    results: dict = {}
    try:
        for username, label, kind in plan:
            ids = sample_customers(kind, n, rng, args.rep, keys)
            cookie = session_cookie(username)
            r = measure_http(port, cookie, ids, args.warmup, proc.pid, args.series_seconds)
            r.update(measure_in_process(username, ids[: 10 if r["stopped_early"] else 60]))
            results[f"{username} / {label}"] = r
            if args.list_requests and kind != "key":
                r["lists"] = measure_lists(port, cookie, ids, args.list_requests)
            print(f"  {username:<9} {label:<17} p50 {r['p50']:6.1f}  p95 {r['p95']:6.1f}  "
                  f"p99 {r['p99']:6.1f}  max {r['max']:6.1f} ms  server CPU p50/p95 "
                  f"{r['server_cpu_ms']['p50']}/{r['server_cpu_ms']['p95']} ms  {r['kb_mean']} KB  "
                  f"{r['page_queries']} queries ({r['commerce_queries']} commerce)  "
                  f"commerce panels p95 {r['commerce_panels_ms']['p95']} ms, timeline p95 "
                  f"{r['commerce_timeline_ms']['p95']} ms  errors {r['errors'] or '-'}",
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return results


def markdown(result: dict) -> str:
    m = result["machine"]
    c = result["counts"]
    lines = [
        (f"### Customer 360 page at {c['parties_customer']:,} customers and "
        f"{c['commerce_order']:,} orders"), "",
        (f"{m['date']} · {m['cpus']} CPUs ({m['cpu_model']}) · {m['memory_gib']} GiB · "
        f"Python {m['python']} · Django {m['django']} · SQLite {m['sqlite']} · database "
        f"{m['database_mb']:,} MB · load average at start {m['load_average']} · real server "
        "(waitress) on 127.0.0.1, new TCP connection per request"), "",
        (f"Rows: {c['commerce_delivery']:,} deliveries, {c['commerce_invoice']:,} invoices, "
        f"{c['commerce_payment']:,} payments, {c['commerce_contract']:,} contracts "
        f"({c['commerce_contractmilestone']:,} milestones), "
        f"{c['activities_interaction']:,} interactions, {c['sales_opportunity']:,} "
        "opportunities."), "",
        ("| user / customers | n | p50 ms | p95 ms | p99 ms | max ms | target p95 | "
         "server CPU p50/p95 ms | page KB | queries (commerce) | commerce panels p50/p95 ms | "
         "commerce timeline p50/p95 ms | errors |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, r in result["pages"].items():
        ok = "✓" if r["p95"] <= TARGET_MS else "✗"
        n = f"{r['n']} (time budget)" if r.get("stopped_early") else r["n"]
        lines.append(
            f"| {key} | {n} | {r['p50']} | {r['p95']} | {r['p99']} | {r['max']} | "
            f"≤ {TARGET_MS} {ok} | {r['server_cpu_ms']['p50']} / {r['server_cpu_ms']['p95']} | "
            f"{r['kb_mean']} | {r['page_queries']} "
            f"({r['commerce_queries']}) | {r['commerce_panels_ms']['p50']} / "
            f"{r['commerce_panels_ms']['p95']} | {r['commerce_timeline_ms']['p50']} / "
            f"{r['commerce_timeline_ms']['p95']} | {r['errors'] or '–'} |")
    first = next(iter(result["pages"].items()), None)
    if first and first[1].get("parts_ms"):
        lines += ["", (f"Where the page's time goes ({first[0]}; each registered panel's context "
                      "+ template and each timeline source's page of entries, in process):"), "",
                  "| part | p50 ms | p95 ms |", "|---|---:|---:|"]
        for part, r in sorted(first[1]["parts_ms"].items(), key=lambda kv: -kv[1]["p50"]):
            lines.append(f"| {part} | {r['p50']} | {r['p95']} |")
    lists = [(k, r["lists"]) for k, r in result["pages"].items() if r.get("lists")]
    if lists:
        lines += ["", "Commerce list pages (informational, a few requests each):", "",
                  "| user | page | n | p50 ms | max ms | errors |", "|---|---|---:|---:|---:|---|"]
        for key, pages in lists:
            for label, r in pages.items():
                lines.append(f"| {key.split(' / ')[0]} | {label} | {r['n']} | {r['p50']} | "
                             f"{r['max']} | {r['errors'] or '–'} |")
    load = result.get("erp_load", {})
    if not load.get("reused"):
        lines += ["", (f"ERP rows generated and inserted in {load.get('seconds')} s "
                      f"({ {k: v for k, v in load.items() if k.endswith('_s')} }).")]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    setup_django(args)
    result: dict = {"customers_load": load_customers(args)}
    result["erp_load"] = generate_erp(args)
    result["machine"] = machine()
    result["counts"] = counts()
    print(json.dumps(result["machine"], ensure_ascii=False), flush=True)
    print(json.dumps(result["counts"]), flush=True)
    result["pages"] = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"customer360-{result['counts']['parties_customer']}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False,
                                                 default=str))
    text = markdown(result)
    (out / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
