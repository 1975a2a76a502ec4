#!/usr/bin/env python
"""Benchmark: the pipeline board and the director's dashboard at 1M customers.

    .venv/bin/python bench/sales_bench.py --workdir /tmp/guanxi-sales-bench
    .venv/bin/python bench/sales_bench.py --workdir /tmp/guanxi-sales-bench --requests 60

Builds (or reuses: the work directory keeps its SQLite database between runs) a
database with `guanxi demo` data (default 1,000,000 customers × 10 interactions) and
adds sales data straight into the tables: product lines and 200,000 opportunities on
random customers of the six offices, created over the last 400 days, each with its
stage history (StageChange rows) walking the default pipeline, closed as won or lost
or still open. Then it refreshes the dashboard's contact roll-up (timed, reported)
and times, with `django.test.Client` in this process (server time: routing,
middleware, session, views, queries, templates; a new database connection per
request as in production):

  dashboard   /sales/dashboard/ with a mix of periods, product lines and drill-down
              levels, as the director and as a regional manager
  board       /sales/board/ (when the URL exists), as the director and as a rep

p50/p95/p99/max in ms after warm-up; results in bench/out/sales-<N>.json and .md.
This is a measuring script, not a test: it asserts nothing about the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/guanxi-sales-bench",
                   help="data directory with the SQLite database (kept and reused)")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--per-customer", type=float, default=10.0)
    p.add_argument("--opportunities", type=int, default=200_000)
    p.add_argument("--requests", type=int, default=40, help="timed requests per page and user")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "bench" / "out"))
    p.add_argument("--only", choices=["dashboard", "board"],
                   help="time only this page (skips nothing else: the data is still checked)")
    return p.parse_args()


def setup_django(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["GUANXI_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    os.environ.setdefault("GUANXI_DEBUG", "0")
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

    from guanxi.demo.load import load_demo
    from guanxi.parties.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    existing = Customer.all_objects.count()
    if existing:
        print(f"Reusing {existing:,} customers.", flush=True)
        return {"reused": True}
    print(f"Loading {args.customers:,} demo customers (about 10 minutes at 1M)…", flush=True)
    t = time.perf_counter()
    s = load_demo(customers=args.customers, per_customer=args.per_customer, seed=args.seed)
    return {"reused": False, "seconds": round(time.perf_counter() - t, 1),
            "customers": s.customers, "interactions": s.interactions}


PRODUCT_LINES = (("industrial", "工业水处理"), ("municipal", "市政供水"),
                 ("purewater", "纯水设备"))
WORDS = ("水处理改造", "纯水系统", "污水回用", "反渗透设备", "软化水设备", "超滤系统",
         "EDI 模块", "维保合同", "管网改造", "加药系统")


def _ts(value: dt.datetime) -> str:
    """Django's SQLite text format for an aware UTC datetime."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate_opportunities(n: int, seed: int) -> dict:
    """`n` opportunities with stage history, inserted with executemany (a fixture load:
    no services, no audit entries)."""
    from django.db import connection, transaction

    from guanxi.accounts.models import Role, User
    from guanxi.core.bulk import insert_statement
    from guanxi.sales.models import Opportunity, ProductLine, StageChange, StageKind
    from guanxi.sales.services import default_pipeline

    existing = Opportunity.all_objects.count()
    if existing:
        print(f"Reusing {existing:,} opportunities.", flush=True)
        return {"reused": True, "opportunities": existing}
    t0 = time.perf_counter()
    rng = random.Random(seed)
    lines = [ProductLine.objects.get_or_create(code=c, defaults={"name": nm})[0]
             for c, nm in PRODUCT_LINES]
    pipeline = default_pipeline(None)
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    reps_by_team: dict[int, list[int]] = {}
    for uid, team_id in User.objects.filter(role=Role.REP).values_list("pk", "team_id"):
        reps_by_team.setdefault(team_id, []).append(uid)
    rep_team = {u: t for t, us in reps_by_team.items() for u in us}
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM parties_customer")
        max_id = cur.fetchone()[0]
    picked = sorted(rng.sample(range(1, max_id + 1), min(n, max_id)))
    customers: list[tuple[int, int | None, int | None]] = []
    for i in range(0, len(picked), 900):
        ids = picked[i:i + 900]
        with connection.cursor() as cur:
            marks = ",".join(["%s"] * len(ids))
            cur.execute(f"SELECT id, team_id, owner_id FROM parties_customer WHERE id IN ({marks})",
                        ids)
            customers.extend(cur.fetchall())
    now = dt.datetime.now(dt.UTC)
    opp_cols = ("id", "created_at", "updated_at", "version", "customer_id", "name", "pipeline_id",
                "stage_id", "status", "owner_id", "team_id", "product_line_id", "amount",
                "currency", "exchange_rate", "expected_close", "probability", "competitors",
                "next_step", "source", "closed_on", "lost_reason", "stage_entered_at",
                "score_reasons")
    sc_cols = ("opportunity_id", "from_stage_id", "to_stage_id", "at", "by_id")
    opp_insert = insert_statement(Opportunity, opp_cols)
    sc_insert = insert_statement(StageChange, sc_cols)
    opps, changes = [], []
    n_changes = 0
    for k, (cid, team_id, owner_id) in enumerate(customers, start=1):
        if owner_id not in rep_team:
            team_reps = reps_by_team.get(team_id) or rng.choice(list(reps_by_team.values()))
            owner_id = rng.choice(team_reps)
        team_id = rep_team[owner_id]
        created = now - dt.timedelta(days=rng.uniform(0, 400), minutes=rng.randint(0, 1440))
        t = created
        path = [open_stages[0]]
        status = "open"
        for nxt in open_stages[1:]:
            if rng.random() < 0.62:
                path.append(nxt)
            else:
                break
        end = rng.random()
        advance_won = len(path) >= 3 and end < 0.55 or len(path) == len(open_stages) and end < 0.7
        final = won if advance_won else (lost if end < 0.8 else None)
        if final is not None:
            path.append(final)
        history = []
        prev = None
        for stage in path:
            if prev is not None:
                t = t + dt.timedelta(days=rng.expovariate(1 / 12), hours=rng.randint(0, 8))
                if t > now:
                    break
            history.append((prev, stage, t))
            prev = stage
        stage = history[-1][1]
        status = stage.kind if stage.kind != StageKind.OPEN else "open"
        entered = history[-1][2]
        amount = round(min(5e7, math.exp(rng.gauss(12.0, 1.0))), -2)
        usd = rng.random() < 0.05
        probability = rng.choice((None,) * 9 + (rng.randint(5, 95),))
        expected = (created + dt.timedelta(days=rng.randint(30, 180))).date()
        closed = entered.astimezone().date() if status != "open" else None
        opps.append((
            k, _ts(created), _ts(entered), 1, cid, f"{rng.choice(WORDS)} {k}", pipeline.pk,
            stage.pk, status, owner_id, team_id, rng.choice(lines).pk,
            f"{amount / 7.1 if usd else amount:.2f}", "USD" if usd else "CNY",
            "7.100000" if usd else "1.000000", expected.isoformat(), probability,
            "", "", "", closed.isoformat() if closed else None,
            "价格" if status == "lost" else "", _ts(entered), "[]",
        ))
        for frm, to, at in history:
            changes.append((k, frm.pk if frm else None, to.pk, _ts(at), owner_id))
        if len(opps) >= 5000 or k == len(customers):
            with transaction.atomic(), connection.cursor() as cur:
                opp_insert.run(cur, opps)
                sc_insert.run(cur, changes)
            n_changes += len(changes)
            opps, changes = [], []
    seconds = round(time.perf_counter() - t0, 1)
    print(f"Inserted {len(customers):,} opportunities and {n_changes:,} stage changes in "
          f"{seconds} s.", flush=True)
    return {"reused": False, "opportunities": len(customers), "stage_changes": n_changes,
            "seconds": seconds}


# --- Measuring ------------------------------------------------------------------------------


def summarise(times: list[float], errors: dict | None = None) -> dict:
    ordered = sorted(times)

    def pct(p: float) -> float:  # nearest rank
        k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return round(ordered[k], 1)

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "max": round(ordered[-1], 1), "mean": round(statistics.fmean(ordered), 1),
            "errors": errors or {}}


def measure(client, urls: list[str], warmup: int) -> dict:
    """GET every url; the first `warmup` untimed. A new connection per request."""
    from django.db import connection

    for url in urls[:warmup]:
        client.get(url)
    times, errors = [], {}
    for url in urls[warmup:]:
        connection.close()
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
    return summarise(times, errors)


def dashboard_urls(user, n: int, rng: random.Random) -> list[str]:
    """A mix of periods, product lines, stale-days and drill-down levels in the user's scope."""
    from django.urls import reverse

    from guanxi.accounts.models import Role, Team, User
    from guanxi.sales.dashboard import STALE_CHOICES, team_scope
    from guanxi.sales.models import ProductLine

    base = reverse("dashboard:director")
    lines = list(ProductLine.objects.values_list("pk", flat=True))
    scope = team_scope(user)
    regions = [t for t in Team.objects.filter(kind="region") if scope is None or t.pk in scope]
    urls = []
    for _ in range(n):
        params: dict = {"period": rng.choice(("month", "quarter", "year", "12m")),
                        "days": rng.choice(STALE_CHOICES)}
        if lines and rng.random() < 0.3:
            params["product_line"] = rng.choice(lines)
        depth = rng.choice((0, 0, 1, 2, 3))
        if depth and regions:
            region = rng.choice(regions)
            params["region"] = region.pk
            offices = list(Team.objects.filter(parent=region, kind="office"))
            if depth >= 2 and offices:
                office = rng.choice(offices)
                params["office"] = office.pk
                reps = list(User.objects.filter(team=office, role=Role.REP))
                if depth >= 3 and reps:
                    params["rep"] = rng.choice(reps).pk
        urls.append(f"{base}?{urlencode(params)}")
    return urls


def board_urls(user, n: int, rng: random.Random) -> list[str] | None:
    from django.urls import NoReverseMatch, reverse

    from guanxi.accounts.models import Team
    from guanxi.sales.models import ProductLine

    try:
        base = reverse("sales:board")
    except NoReverseMatch:
        return None
    lines = list(ProductLine.objects.values_list("pk", flat=True))
    offices = list(Team.objects.filter(kind="office").values_list("pk", flat=True))
    mixes = [dict, dict, lambda: {"product_line": rng.choice(lines)},
             lambda: {"team": rng.choice(offices)}]
    return [f"{base}?{urlencode(rng.choice(mixes)())}" for _ in range(n)]


def run_pages(args: argparse.Namespace) -> dict:
    from django.test import Client

    from guanxi.accounts.models import User

    rng = random.Random(args.seed)
    n = args.requests + args.warmup
    # A rep's board opens on their own deals; "board (all)" is "Anyone": every deal the
    # rep may see (their customers, shared ones and the pool).
    plan = [("dashboard", "director"), ("dashboard", "mgr_east"), ("board", "director"),
            ("board", "mgr_east"), ("board", "rep_sh1"), ("board (all)", "rep_sh1")]
    if getattr(args, "only", None):
        plan = [p for p in plan if p[0].startswith(args.only)]
    results: dict = {}
    for page, username in plan:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        urls = dashboard_urls(user, n, rng) if page == "dashboard" else board_urls(user, n, rng)
        if urls is not None and page == "board (all)":
            urls = [f"{u}{'&' if '?' in u else '?'}owner=" for u in urls]
        if urls is None:
            print(f"skip {page}: URL not found", flush=True)
            continue
        r = measure(client, urls, args.warmup)
        results[f"{page} / {username}"] = r
        print(f"  {page:<11} {username:<9} p50 {r['p50']:7.1f}  p95 {r['p95']:7.1f}  "
              f"p99 {r['p99']:7.1f}  max {r['max']:7.1f} ms  errors {r['errors'] or '-'}",
              flush=True)
    return results


def counts() -> dict:
    from guanxi.activities.models import Interaction
    from guanxi.parties.models import Customer
    from guanxi.sales.models import Opportunity, StageChange
    from guanxi.sales.rollups import DashboardRollup

    return {"customers": Customer.all_objects.count(),
            "interactions": Interaction.all_objects.count(),
            "opportunities": Opportunity.all_objects.count(),
            "open_opportunities": Opportunity.objects.filter(status="open").count(),
            "stage_changes": StageChange.objects.count(),
            "rollup_rows": DashboardRollup.objects.count()}


def main() -> None:
    args = parse_args()
    setup_django(Path(args.workdir))
    from guanxi.sales import rollups

    result: dict = {"customers_load": load_customers(args)}
    result["opportunities_load"] = generate_opportunities(args.opportunities, args.seed)
    t = time.perf_counter()
    full = rollups.refresh(full_contacts=True)
    result["refresh_full_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    incremental = rollups.refresh(full_contacts=False)
    result["refresh_incremental_s"] = round(time.perf_counter() - t, 1)
    result["refresh"] = {"full": full, "incremental": incremental}
    print(f"Summary refresh: full {result['refresh_full_s']} s, incremental (the 10-minute job) "
          f"{result['refresh_incremental_s']} s.", flush=True)
    result["machine"] = machine()
    result["counts"] = counts()
    print(json.dumps(result["machine"], ensure_ascii=False), flush=True)
    print(json.dumps(result["counts"]), flush=True)
    result["pages"] = run_pages(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"sales-{result['counts']['customers']}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    lines = ["| page / user | n | p50 ms | p95 ms | p99 ms | max ms | target p95 | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for key, r in result["pages"].items():
        ok = "✓" if r["p95"] <= TARGET_MS else "✗"
        lines.append(f"| {key} | {r['n']} | {r['p50']} | {r['p95']} | {r['p99']} | {r['max']} | "
                     f"≤ {TARGET_MS} {ok} | {r['errors'] or '–'} |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
