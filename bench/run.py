#!/usr/bin/env python
"""Benchmark: load demo data, then time real pages through the whole Django stack.

    .venv/bin/python bench/run.py --customers 100000
    .venv/bin/python bench/run.py --customers 1000000 --requests 300
    .venv/bin/python bench/run.py --customers 100000 --reuse   # pages only, same database

Builds a fresh database (SQLite in --data-dir, default a directory under the
system temp dir; DATABASE_URL is honoured and must then point at an empty
database unless --reuse), loads `guanxi demo` data with N customers and K
interactions each, and measures the load rate. Then, in this process, it logs in
with `django.test.Client` as a sales rep and as the director and times
`client.get(...)` (server time: URL routing, middleware, sessions, views, queries,
templates; no network) for:

  search        /search/?q=…  Chinese substrings, pinyin, initials, phones, e-mails
  search_dropdown  the same with dropdown=1 (the type-ahead in the top bar)
  list          /customers/?tier=A&sort=name&page=N and other filter/sort/page mixes
  customer_360  /customers/<id>/

By default the database connection is closed after every request, as the real
server does with SQLite (CONN_MAX_AGE=0), so each timed request pays for opening
it; --keep-connection measures with one long-lived connection instead.

Results: bench/out/bench-<N>.json and bench/out/bench-<N>.md (p50/p95/p99/max in ms).
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
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {"search": 20, "search_dropdown": 20, "list": 50, "customer_360": 50}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--per-customer", type=float, default=10.0,
                   help="interactions per customer (default 10)")
    p.add_argument("--requests", type=int, default=200,
                   help="timed requests per page and user (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed requests first")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--today", default=None, help="date the demo history ends (YYYY-MM-DD)")
    p.add_argument("--data-dir", default=None,
                   help="where the SQLite database goes (default: <tmp>/guanxi-bench-<N>)")
    p.add_argument("--reuse", action="store_true",
                   help="keep an existing database with demo data: measure pages only")
    p.add_argument("--workers", type=int, default=None, help="demo generator processes")
    p.add_argument("--keep-connection", action="store_true",
                   help="one database connection for all requests")
    p.add_argument("--analyze", choices=("keep", "on", "off"), default="keep",
                   help="SQLite planner statistics before measuring: run ANALYZE (on), "
                        "delete them (off) or leave the database as it is (default; the "
                        "app and the demo loader never run ANALYZE)")
    p.add_argument("--out", default=str(ROOT / "bench" / "out"))
    return p.parse_args()


def setup_django(args: argparse.Namespace) -> Path:
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / f"guanxi-bench-{args.customers}")
    if not args.reuse and not os.environ.get("DATABASE_URL"):
        db = data_dir / "guanxi.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["GUANXI_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    os.environ.setdefault("GUANXI_DEBUG", "0")
    warnings.filterwarnings("ignore", message="No directory at")  # no collected static files
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    return data_dir


# --- Environment --------------------------------------------------------------------------


def environment(data_dir: Path) -> dict:
    import django
    from django.db import connection

    def sh(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("select sqlite_version()")
        else:
            cur.execute("show server_version")
        db_version = cur.fetchone()[0]
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": next((ln.split(":", 1)[1].strip() for ln in sh(["cat", "/proc/cpuinfo"])
                           .splitlines() if ln.startswith("model name")), platform.processor()),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": f"{connection.vendor} {db_version}",
        "data_dir": str(data_dir),
    }


def db_size_mb(data_dir: Path) -> float | None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    name = Path(connection.settings_dict["NAME"])
    return round(sum(p.stat().st_size for p in name.parent.glob(name.name + "*")) / 1e6, 1)


# --- Loading ------------------------------------------------------------------------------


def load(args: argparse.Namespace) -> dict:
    from django.core.management import call_command

    from guanxi.demo.load import load_demo
    from guanxi.parties.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    existing = Customer.all_objects.count()
    if args.reuse and existing:
        print(f"Reusing the database: {existing:,} customers.")
        return {"reused": True, "customers": existing}
    if existing:
        sys.exit("The database is not empty: give an empty DATABASE_URL or use --reuse.")
    today = dt.date.fromisoformat(args.today) if args.today else None
    last = [0.0]

    def progress(stats, total):
        if stats.seconds_rows - last[0] >= 15 or stats.customers == total:
            last[0] = stats.seconds_rows
            print(f"  {stats.customers:>9,} customers  {stats.interactions:>11,} interactions"
                  f"  {stats.seconds_rows:6.0f} s", flush=True)

    print(f"Loading {args.customers:,} customers × {args.per_customer:g} interactions…",
          flush=True)
    s = load_demo(customers=args.customers, per_customer=args.per_customer, seed=args.seed,
                  today=today, workers=args.workers, progress=progress)
    result = {
        "customers": s.customers, "contacts": s.contacts, "interactions": s.interactions,
        "seconds_setup": round(s.seconds_setup, 1), "seconds_rows": round(s.seconds_rows, 1),
        "seconds_index": round(s.seconds_index, 1), "seconds_total": round(s.seconds_total, 1),
        "seconds_search_index": round(s.seconds_search_index, 1),
        "cpu_seconds_loader": round(s.cpu_main, 1),
        "cpu_seconds_generators": round(s.cpu_workers, 1),
        "insert_seconds": {k: round(v, 1) for k, v in s.insert_seconds.items()},
        "insert_rows_per_s": {
            "customers": round(s.customers / s.insert_seconds.get("customers", 1e-9)),
            "contacts": round(s.contacts / s.insert_seconds.get("contacts", 1e-9)),
            "interactions": round(s.interactions / s.insert_seconds.get("interactions", 1e-9)),
        },
        "customers_per_s": round(s.rate(s.customers)),
        "interactions_per_s": round(s.rate(s.interactions)),
        "rows_per_s": round(s.rate(s.customers + s.contacts + s.interactions)),
        "pack_applied": s.pack_applied,
    }
    print(f"Loaded in {s.seconds_total:.0f} s: {result['customers_per_s']:,} customers/s, "
          f"{result['interactions_per_s']:,} interactions/s; search index rebuild "
          f"{s.seconds_index:.0f} s.", flush=True)
    return result


# --- Requests -----------------------------------------------------------------------------


def url_or_none(name: str, *args) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def sample_customers(user, n: int, rng: random.Random) -> list:
    """`n` random customers the user may see (ids drawn by range, then checked)."""
    from django.db.models import Max, Min

    from guanxi.parties.models import Customer

    visible = Customer.objects.visible_to(user)
    bounds = Customer.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    picked: dict[int, Customer] = {}
    attempts = 0
    while len(picked) < n and attempts < n * 50:
        attempts += 1
        ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(50)]
        for c in visible.filter(pk__in=ids).prefetch_related("contacts"):
            picked.setdefault(c.pk, c)
    return list(picked.values())[:n]


def search_queries(customers: list, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) pairs a person would type, taken from real rows."""
    from guanxi.parties.search import pinyin_forms

    out: list[tuple[str, str]] = []
    for c in customers:
        contacts = [x for x in c.contacts.all()]
        core = c.short_name or c.name
        full, initials = pinyin_forms(core)
        kind = rng.choice(("chinese", "chinese", "initials", "pinyin", "phone", "email",
                           "contact"))
        if kind == "chinese" and len(core) >= 2:
            start = rng.randint(0, max(0, len(core) - 2))
            query = core[start:start + rng.choice((2, 3, 4))]
        elif kind == "initials" and initials:
            query = initials[:rng.choice((2, 3, 4))]
        elif kind == "pinyin" and full:
            query = full[:rng.randint(4, 9)]
        elif kind == "phone":
            numbers = [p for p in [c.phone] + [x.mobile for x in contacts] if p]
            digits = "".join(ch for ch in rng.choice(numbers) if ch.isdigit()) if numbers else ""
            national = digits.removeprefix("86")
            query = national[:rng.choice((4, 7, 11))] if rng.random() < 0.5 else national[-4:]
        elif kind == "email":
            emails = [e for e in [c.email] + [x.email for x in contacts] if e]
            query = rng.choice(emails).split("@")[rng.choice((0, 1))] if emails else c.name[:3]
        elif kind == "contact" and contacts:
            query = rng.choice(contacts).name
        else:
            kind, query = "chinese", c.name[:4]
        out.append((kind, query or c.name[:2]))
    return out


def list_urls(base: str, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(label, url) of list pages: a filter/sort mix and a page number (mostly early)."""
    from guanxi.accounts.models import Team
    from guanxi.parties.models import Industry

    industries = list(Industry.objects.values_list("pk", flat=True))
    offices = list(Team.objects.filter(kind="office").values_list("pk", flat=True))
    mixes = [
        lambda: {"tier": "A", "sort": "name"},
        lambda: {"tier": "C", "sort": "-last_contact"},
        lambda: {"stage": rng.choice(("customer", "lead", "opportunity")), "sort": "-updated"},
        lambda: {"industry": rng.choice(industries), "sort": "name"},
        lambda: {"team": rng.choice(offices), "tier": "B", "sort": "tier"},
        lambda: {"owner": "me", "sort": "-updated"},
        dict,
    ]
    from urllib.parse import urlencode

    urls = []
    for _ in range(n):
        params = rng.choice(mixes)()
        label = "&".join(f"{k}={'…' if k in ('industry', 'team') else v}"
                         for k, v in params.items()) or "(no filter)"
        page = rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 8, 10, 20))
        if page > 1:
            params["page"] = page
        urls.append((label, base + ("?" + urlencode(params) if params else "")))
    return urls


def measure(client, urls: list[str], warmup: int, keep_connection: bool,
            headers: dict | None = None, labels: list[str] | None = None) -> dict:
    from django.db import connection

    """Time GET of every url after the first `warmup` (which are requested untimed).

    Wall time is the server time; CPU time (this process: Python and SQLite) is
    also kept, since on a busy machine wall time includes waiting for a core."""
    for url in urls[:warmup]:
        client.get(url, **(headers or {}))
    times, cpu, errors = [], [], {}
    for url in urls[warmup:]:
        if not keep_connection:
            connection.close()
        t, c = time.perf_counter(), time.process_time()
        response = client.get(url, **(headers or {}))
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if response.status_code != 200:
            errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
    result = summarise(times, errors)
    cpu_summary = summarise(cpu)
    result["cpu_p50"], result["cpu_p95"] = cpu_summary["p50"], cpu_summary["p95"]
    if labels:
        groups: dict[str, list[float]] = {}
        for label, ms in zip(labels[warmup:], times, strict=True):
            groups.setdefault(label, []).append(ms)
        result["by_kind"] = {k: {key: v for key, v in summarise(g).items() if key != "errors"}
                             for k, g in sorted(groups.items())}
    return result


def summarise(times: list[float], errors: dict | None = None) -> dict:
    ordered = sorted(times)

    def pct(p: float) -> float:  # nearest rank
        k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return round(ordered[k], 2)

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "max": round(ordered[-1], 2), "mean": round(statistics.fmean(ordered), 2),
            "errors": errors or {}}


def planner_statistics(mode: str) -> bool:
    """Apply --analyze; return whether SQLite statistics (sqlite_stat1) exist."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return True
    with connection.cursor() as cur:
        if mode == "on":
            cur.execute("PRAGMA analysis_limit=1000")
            cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")
        exists = bool(cur.fetchone()[0])
        if mode == "off" and exists:
            cur.execute("DELETE FROM sqlite_stat1")
            exists = False
        elif exists:
            cur.execute("SELECT count(*) FROM sqlite_stat1")
            exists = bool(cur.fetchone()[0])
    connection.close()  # the next connection plans with the new statistics
    return exists


def run_pages(args: argparse.Namespace) -> dict:
    from django.test import Client

    from guanxi.accounts.models import User

    rng = random.Random(args.seed)
    users = {"rep": User.objects.get(username="rep_sh1"),
             "director": User.objects.get(username="director")}
    search_url = url_or_none("search:results")
    list_url = url_or_none("parties:customer_list")
    detail_ok = url_or_none("parties:customer_detail", 1) is not None
    results: dict = {}
    n = args.requests
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        customers = sample_customers(user, n + args.warmup, rng)
        per_page: dict[str, dict] = {}
        if search_url:
            queries = search_queries(customers, rng)
            urls = [f"{search_url}?{_q(q)}" for _k, q in queries]
            kinds = [k for k, _q in queries]
            per_page["search"] = measure(client, urls, args.warmup, args.keep_connection,
                                         labels=kinds)
            per_page["search_dropdown"] = measure(
                client, [u + "&dropdown=1" for u in urls], args.warmup, args.keep_connection,
                {"headers": {"HX-Request": "true"}}, labels=kinds)
        else:
            print("skip search: URL search:results does not resolve")
        if list_url:
            labelled = list_urls(list_url, rng, n + args.warmup)
            per_page["list"] = measure(client, [u for _l, u in labelled], args.warmup,
                                       args.keep_connection, labels=[lb for lb, _u in labelled])
        else:
            print("skip list: URL parties:customer_list does not resolve")
        if detail_ok:
            urls = [url_or_none("parties:customer_detail", c.pk) for c in customers]
            per_page["customer_360"] = measure(client, urls, args.warmup, args.keep_connection)
        else:
            print("skip customer 360: URL parties:customer_detail does not resolve")
        results[who] = per_page
        for page, r in per_page.items():
            print(f"  {who:<9} {page:<16} p50 {r['p50']:7.1f}  p95 {r['p95']:7.1f}  "
                  f"p99 {r['p99']:7.1f}  max {r['max']:7.1f} ms  (CPU p95 {r['cpu_p95']:.1f})"
                  f"  errors {r['errors'] or '-'}", flush=True)
    return results


def _q(query: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": query})


# --- Report -------------------------------------------------------------------------------


def markdown(report: dict) -> str:
    env, load_ = report["environment"], report["load"]
    lines = [
        f"### {report['customers']:,} customers × {report['per_customer']:g} interactions",
        "",
        (f"{env['date']} · {env['cpus']} CPUs ({env['cpu_model']}) · {env['memory_gib']} GiB · "
         f"Python {env['python']} · Django {env['django']} · {env['database']} · "
         f"load average at start {', '.join(f'{x:.1f}' for x in env['load_average'])} · "
         f"database {report.get('db_size_mb')} MB · "
         f"{'one connection' if report['keep_connection'] else 'new connection per request'}"
         f" · SQLite planner statistics: {'yes' if report.get('planner_statistics') else 'no'}"),
        "",
    ]
    if not load_.get("reused"):
        lines += [
            (f"Load: {load_['customers']:,} customers, {load_['contacts']:,} contacts, "
             f"{load_['interactions']:,} interactions in {load_['seconds_total']} s "
             f"(rows {load_['seconds_rows']} s: {load_['customers_per_s']:,} customers/s, "
             f"{load_['interactions_per_s']:,} interactions/s, {load_['rows_per_s']:,} rows/s; "
             f"search index rebuild {load_['seconds_index']} s; CPU: loader "
             f"{load_.get('cpu_seconds_loader')} s, generator processes "
             f"{load_.get('cpu_seconds_generators')} s). INSERT alone (time inside "
             f"executemany): " + ", ".join(f"{k} {v:,} rows/s" for k, v in
                                           load_.get("insert_rows_per_s", {}).items())
             + "."),
            "",
        ]
    lines += [("| page | user | n | p50 ms | p95 ms | p99 ms | max ms | CPU p50 / p95 ms "
               "| target p95 | errors |"),
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for who, pages in report["pages"].items():
        for page, r in pages.items():
            target = TARGETS_MS.get(page)
            ok = "" if target is None else (" ✓" if r["p95"] <= target else " ✗")
            errors = ", ".join(f"{k}×{v}" for k, v in r["errors"].items()) or "–"
            lines.append(f"| {page} | {who} | {r['n']} | {r['p50']} | {r['p95']} | {r['p99']} | "
                         f"{r['max']} | {r['cpu_p50']} / {r['cpu_p95']} | ≤ {target}{ok} | "
                         f"{errors} |")
    lines.append("")
    for who, pages in report["pages"].items():
        for page, r in pages.items():
            if r.get("by_kind"):
                parts = " · ".join(f"{k} {v['p95']} ({v['n']})" for k, v in r["by_kind"].items())
                lines.append(f"- {page}, {who}, p95 ms (requests) by kind: {parts}")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    data_dir = setup_django(args)
    env = environment(data_dir)
    load_result = load(args)
    stats = planner_statistics(args.analyze)
    print(f"Measuring pages (planner statistics: {'yes' if stats else 'none'})…", flush=True)
    pages = run_pages(args)
    report = {
        "customers": load_result["customers"], "per_customer": args.per_customer,
        "requests": args.requests, "keep_connection": args.keep_connection,
        "planner_statistics": stats,
        "environment": env, "load_average_end": list(os.getloadavg()),
        "db_size_mb": db_size_mb(data_dir), "load": load_result, "pages": pages,
        "targets_ms": TARGETS_MS,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = (f"bench-{args.customers}" + ("-keepconn" if args.keep_connection else "")
            + ("-analyzed" if stats and args.analyze != "keep" else ""))
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / f"{stem}.md").write_text(markdown(report))
    print()
    print(markdown(report))
    print(f"Written: {out / (stem + '.json')}, {out / (stem + '.md')}")


if __name__ == "__main__":
    main()
