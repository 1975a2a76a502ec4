#!/usr/bin/env python
"""Benchmark: ERP bulk upsert of 1,000,000 orders through the REST API (a real server).

    .venv/bin/python bench/erp_bench.py --workdir /tmp/guanxi-erp-bench
    .venv/bin/python bench/erp_bench.py --orders 200000 --lines 2

1. a fresh SQLite database under --workdir (`guanxi migrate`), then customers with ERP
   external ids (straight into the table, like the demo loader) and a finance user
   with a personal access token;
2. `guanxi serve` (waitress, the production server) on 127.0.0.1 in a child process;
3. first pass: every order once, POST /api/v1/erp/orders in batches of --batch rows
   (5,000 by default), from --clients keep-alive connections at a time; each order
   names its customer by external id (and has --lines order lines when asked);
4. second pass: a random sample of the batches posted again, unchanged (the
   idempotent path: nothing is written but synced_at), and a third pass re-posting
   another sample with a changed status (the update path); then the database must
   still hold exactly one order per external id.

Reports rows/s per pass (wall time of the pass; the client runs on the same machine
and its JSON encoding is included), the request latency percentiles, and the CPU
seconds the server process and the client used (rows per server CPU second is what
one unshared core does, a figure that depends less on how busy the machine is);
results in bench/out/erp-<N>[-lines<L>].json. A measuring script: it asserts only correctness (no
duplicates, every request 200), not the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_ROWS_PER_S = 20_000
STATUSES = ["pending", "confirmed", "in_production", "shipped", "delivered", "closed"]
PRODUCTS = [("RO-500", "反渗透设备 500", "12000.00"), ("UF-20", "超滤膜组件", "3000.50"),
            ("SV-01", "安装调试服务", "800.00"), ("PM-3", "计量泵", "450.00")]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/guanxi-erp-bench",
                   help="data directory (its database is recreated on every run)")
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=5000, help="rows per request (at most 5,000)")
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--lines", type=int, default=0, help="order lines per order (0: none)")
    p.add_argument("--clients", type=int, default=2, help="requests in flight at a time")
    p.add_argument("--threads", type=int, default=4, help="server threads")
    p.add_argument("--sample", type=int, default=100_000,
                   help="rows re-posted in the second (unchanged) and third (changed) pass")
    p.add_argument("--drop-customer-fk-index", action="store_true",
                   help="drop the order table's single-column customer_id index (the "
                        "(customer, -ordered_on) index covers it): what making the FK "
                        "db_index=False would give")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "bench" / "out"))
    return p.parse_args()


def env_for(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GUANXI_DATA_DIR=str(workdir), GUANXI_DEBUG="0",
               DJANGO_SETTINGS_MODULE="guanxi.config.settings")
    env.pop("DATABASE_URL", None)
    return env


def guanxi(*args: str, workdir: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guanxi.cli", *args], env=env_for(workdir),
                          cwd=ROOT, check=True, **kw)


def setup_django(workdir: Path) -> None:
    os.environ.update(env_for(workdir))
    warnings.filterwarnings("ignore", message="No directory at")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


# --- Data -----------------------------------------------------------------------------------


def fresh_database(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for f in workdir.glob("guanxi.sqlite3*"):
        f.unlink()
    print("Creating a fresh database…", flush=True)
    guanxi("migrate", workdir=workdir, stdout=subprocess.DEVNULL)


def drop_customer_fk_index() -> str:
    """Drop commerce_order's single-column index on customer_id; returns its name."""
    from django.db import connection

    with connection.cursor() as cur:
        constraints = connection.introspection.get_constraints(cur, "commerce_order")
        name = next(n for n, c in constraints.items()
                    if c["index"] and c["columns"] == ["customer_id"] and not c["unique"])
        cur.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return name


def load_customers_and_token(n: int, lines: int) -> str:
    """n customers with external ids C000000…, the catalogue, a finance user's token."""
    from django.db import connection, transaction
    from django.utils import timezone

    from guanxi.accounts.models import ApiToken, Role, User
    from guanxi.core.bulk import insert_statement
    from guanxi.parties.models import Customer
    from guanxi.sales.models import Product, ProductLine

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    insert = insert_statement(Customer, ("name", "external_id", "source_system", "city",
                                         "created_at", "updated_at", "version", "search_text"))
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for start in range(0, n, 10_000):
            insert.run(cur, [(f"基准客户{i:06d}有限公司", f"C{i:06d}", "erp", "上海", now, now,
                              1, "") for i in range(start, min(n, start + 10_000))])
    if lines:
        line = ProductLine.objects.create(code="bench", name="基准产品线")
        for code, name, price in PRODUCTS:
            Product.objects.create(code=code, name=name, unit_price=price, product_line=line)
    user = User.objects.create_user(username="erp-sync", password=None, role=Role.FINANCE,
                                    display_name="ERP 接口")
    _token, key = ApiToken.issue(user=user, name="erp bench")
    connection.close()
    print(f"{n:,} customers in {time.perf_counter() - t:.1f} s.", flush=True)
    return key


def order_rows(start: int, stop: int, args: argparse.Namespace, status_shift: int = 0,
               ) -> list[dict]:
    base = dt.date(2024, 1, 1)
    rows = []
    for i in range(start, stop):
        row = {"external_id": f"SO{i:08d}", "customer": f"C{(i * 7919) % args.customers:06d}",
               "number": f"XS-{i:08d}",
               "ordered_on": (base + dt.timedelta(days=i % 800)).isoformat(),
               "promised_on": (base + dt.timedelta(days=i % 800 + 30)).isoformat(),
               "status": STATUSES[(i + status_shift) % len(STATUSES)],
               "currency": "CNY"}
        if args.lines:
            row["lines"] = [{"line_no": j + 1, "product_code": PRODUCTS[(i + j) % 4][0],
                             "description": PRODUCTS[(i + j) % 4][1], "quantity": (i + j) % 5 + 1,
                             "unit_price": PRODUCTS[(i + j) % 4][2]} for j in range(args.lines)]
        else:
            row["amount"] = f"{(i * 37) % 100_000}.50"
        rows.append(row)
    return rows


# --- Server and client ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, port: int, threads: int) -> subprocess.Popen:
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "serve", "--port", str(port),
                             "--threads", str(threads)], env=env_for(workdir), cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped; see {workdir / 'server.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server did not start within 2 minutes")


class Poster:
    """POST batches from `clients` keep-alive connections; records latency and answers."""

    def __init__(self, port: int, key: str, clients: int):
        self.port, self.key, self.clients = port, key, clients
        self.latencies: list[float] = []
        self.totals = {"created": 0, "updated": 0, "unchanged": 0, "rows": 0}
        self.failures: list[str] = []
        self.lock = threading.Lock()

    def run(self, batches: list[tuple[int, int]], make) -> float:
        """Post every (start, stop) batch built by make(start, stop); wall seconds."""
        queue = list(reversed(batches))
        started = time.perf_counter()

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            headers = {"Authorization": f"Bearer {self.key}",
                       "Content-Type": "application/json"}
            while True:
                with self.lock:
                    if not queue or self.failures:
                        break
                    start, stop = queue.pop()
                body = json.dumps({"source": "erp", "rows": make(start, stop)},
                                  ensure_ascii=False).encode()
                t = time.perf_counter()
                conn.request("POST", "/api/v1/erp/orders", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - t
                with self.lock:
                    if resp.status != 200:
                        self.failures.append(f"{resp.status}: {data[:500]!r}")
                        break
                    self.latencies.append(elapsed)
                    answer = json.loads(data)
                    for k in self.totals:
                        self.totals[k] += answer[k]
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(self.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if self.failures:
            raise SystemExit("request failed: " + self.failures[0])
        return time.perf_counter() - started


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process: the server's (pid) or this one's."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_pass(poster: Poster, server: subprocess.Popen, batches, make, rows: int) -> dict:
    server_cpu, client_cpu = cpu_seconds(server.pid), cpu_seconds()
    seconds = poster.run(batches, make)
    server_cpu = cpu_seconds(server.pid) - server_cpu
    client_cpu = cpu_seconds() - client_cpu
    out = summarise(poster, seconds, rows)
    out["server_cpu_s"] = round(server_cpu, 1)
    out["client_cpu_s"] = round(client_cpu, 1)
    # What one server core does when it is not shared (the machine may be busy).
    out["rows_per_server_cpu_s"] = round(rows / server_cpu) if server_cpu else None
    return out


def summarise(poster: Poster, seconds: float, rows: int) -> dict:
    lat = sorted(poster.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 1)

    return {"rows": rows, "seconds": round(seconds, 1),
            "rows_per_s": round(rows / seconds), "requests": len(lat),
            "request_ms": {"p50": pct(50), "p95": pct(95), "max": pct(100),
                           "mean": round(statistics.fmean(lat) * 1000, 1)},
            "answers": dict(poster.totals)}


def machine(workdir: Path) -> dict:
    import django

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
    import sqlite3

    size = sum(p.stat().st_size for p in workdir.glob("guanxi.sqlite3*"))
    return {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpus": os.cpu_count(), "cpu_model": model,
            "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "django": django.get_version(),
            "sqlite": sqlite3.sqlite_version, "database_mb": round(size / 1e6, 1)}


def counts() -> dict:
    from django.db import connection

    from guanxi.commerce.models import Order, OrderLine

    out = {"orders": Order.objects.count(), "order_lines": OrderLine.objects.count(),
           "distinct_keys": Order.objects.values("source", "external_id").distinct().count()}
    connection.close()
    return out


def main() -> None:
    args = parse_args()
    if not 1 <= args.batch <= 5000:
        raise SystemExit("--batch: 1 to 5,000 rows")
    workdir = Path(args.workdir)
    fresh_database(workdir)
    setup_django(workdir)
    key = load_customers_and_token(args.customers, args.lines)
    if args.drop_customer_fk_index:
        print(f"Dropped index {drop_customer_fk_index()}.", flush=True)
    port = free_port()
    server = start_server(workdir, port, args.threads)
    rng = random.Random(args.seed)
    result: dict = {"params": vars(args) | {"out": None}, "target_rows_per_s": TARGET_ROWS_PER_S}
    try:
        batches = [(s, min(args.orders, s + args.batch)) for s in range(0, args.orders,
                                                                         args.batch)]
        print(f"First pass: {args.orders:,} orders in {len(batches):,} requests…", flush=True)
        poster = Poster(port, key, args.clients)
        result["first_pass"] = timed_pass(poster, server, batches,
                                          lambda a, b: order_rows(a, b, args), args.orders)
        print(json.dumps(result["first_pass"]), flush=True)

        sample = rng.sample(batches, max(1, min(len(batches), args.sample // args.batch)))
        n = sum(b - a for a, b in sample)
        print(f"Second pass: {n:,} of them again, unchanged…", flush=True)
        poster = Poster(port, key, args.clients)
        result["repost_unchanged"] = timed_pass(poster, server, sample,
                                                lambda a, b: order_rows(a, b, args), n)
        print(json.dumps(result["repost_unchanged"]), flush=True)

        sample = rng.sample(batches, max(1, min(len(batches), args.sample // args.batch)))
        n = sum(b - a for a, b in sample)
        print(f"Third pass: {n:,} with a new status…", flush=True)
        poster = Poster(port, key, args.clients)
        result["repost_changed"] = timed_pass(
            poster, server, sample, lambda a, b: order_rows(a, b, args, status_shift=1), n)
        print(json.dumps(result["repost_changed"]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["counts"] = counts()
    result["machine"] = machine(workdir)
    ok = (result["counts"]["orders"] == args.orders == result["counts"]["distinct_keys"]
          and result["first_pass"]["answers"]["created"] == args.orders
          and result["repost_unchanged"]["answers"]["unchanged"]
          == result["repost_unchanged"]["rows"]
          and result["repost_changed"]["answers"]["updated"] == result["repost_changed"]["rows"]
          and result["counts"]["order_lines"] == args.orders * args.lines)
    result["no_duplicates"] = ok
    print(json.dumps(result["counts"]), json.dumps(result["machine"]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"erp-{args.orders}" + (f"-lines{args.lines}" if args.lines else "") + (
        "-nofkindex" if args.drop_customer_fk_index else "")
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"First pass {result['first_pass']['rows_per_s']:,} rows/s (target "
          f"{TARGET_ROWS_PER_S:,}); results in {out / (stem + '.json')}", flush=True)
    if not ok:
        raise SystemExit("CHECK FAILED: duplicates or unexpected answers")


if __name__ == "__main__":
    main()
