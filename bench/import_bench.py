"""Benchmark: a large customer CSV through `guanxi import customers` (the real CLI).

    .venv/bin/python bench/import_bench.py --rows 1000000 [--workdir /tmp/guanxi-import-bench]

1. writes a realistic customer sheet (Chinese headers, GB-style names built from the
   demo vocabulary, phones in the formats people type, ~3 % duplicate rows), streamed;
2. runs `guanxi migrate` on a fresh SQLite data directory, then
   `guanxi import customers FILE --json` in a child process, measuring wall time and
   the child's peak memory (ru_maxrss);
3. for scale, measures the raw SQLite insert rate of the same number of rows into a
   bare table (no indexes, no search index, one executemany per 2,000 rows).

Prints one JSON object with the figures (recorded in docs/performance.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from guanxi.demo import geo, vocab  # noqa: E402

HEADERS = ["客户名称", "客户编号", "手机", "邮箱", "省份", "城市", "地址", "客户等级", "标签", "备注"]


def _cities():
    return [c for office in geo.OFFICES for c in office.cities]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    cities = _cities()
    templates = [t for ind in vocab.INDUSTRIES for t in ind[3]]
    brands = vocab.BRAND_CHARS
    prefixes = geo.MOBILE_PREFIXES
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        last = None
        for i in range(rows):
            if last is not None and rng.random() < 0.03:
                w.writerow(last)  # the same customer entered twice
                continue
            city = cities[rng.randrange(len(cities))]
            brand = "".join(brands[rng.randrange(len(brands))] for _ in range(3))
            full = templates[rng.randrange(len(templates))][0]
            name = full.format(city=city.name, brand=brand, num=i % 9 + 1, surname="王") + (f"{i % 97}分厂" if i % 5 == 0
                                                               else "")
            digits = f"{prefixes[i % len(prefixes)]}{(i * 7919 + 13) % 10**8:08d}"
            style = i % 3
            phone = (f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}" if style == 0 else
                     f"{digits[:3]}-{digits[3:7]}-{digits[7:]}" if style == 1 else digits)
            row = [name, f"C{i:07d}", phone, f"c{i}@k{i % 1000}.cn", city.province, city.name,
                   f"{city.name}{rng.choice(geo.ROADS)}路{rng.randrange(1, 999)}号",
                   "ABC"[min(2, int(rng.random() * 3))], "重点" if i % 11 == 0 else "",
                   "老客户" if i % 13 == 0 else ""]
            w.writerow(row)
            last = row


def raw_sqlite_rate(path: Path, db: Path) -> float:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"CREATE TABLE raw ({', '.join(f'c{i} TEXT' for i in range(len(HEADERS)))})")
    start = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        next(r)
        batch = []
        n = 0
        placeholders = ", ".join("?" * len(HEADERS))
        with con:
            for row in r:
                batch.append(row)
                if len(batch) == 2000:
                    con.executemany(f"INSERT INTO raw VALUES ({placeholders})", batch)
                    n += len(batch)
                    batch = []
            con.executemany(f"INSERT INTO raw VALUES ({placeholders})", batch)
            n += len(batch)
    seconds = time.perf_counter() - start
    con.close()
    return n / seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/guanxi-import-bench")
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    if data.exists():
        for p in sorted(data.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    csv_path = work / f"customers-{args.rows}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(f"wrote {csv_path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    env = {**os.environ, "GUANXI_DATA_DIR": str(data),
           "DJANGO_SETTINGS_MODULE": "guanxi.config.settings"}
    env.pop("DATABASE_URL", None)
    guanxi = str(Path(sys.executable).with_name("guanxi"))
    subprocess.run([guanxi, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([guanxi, "createuser", "--username", "bench", "--role", "admin",
                    "--password", "pw-Bench-123"], env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run([guanxi, "import", "customers", str(csv_path), "--json"], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    errors = out.pop("errors", [])
    raw_db = work / "raw.sqlite3"
    if raw_db.exists():
        raw_db.unlink()
    raw_rate = raw_sqlite_rate(csv_path, raw_db)
    raw_db.unlink()
    report = {
        "rows": args.rows, "exit": proc.returncode, "seconds": round(seconds, 1),
        "rows_per_second": round(args.rows / seconds), "peak_rss_mb": round(peak_kb / 1024, 1),
        "peak_rss_note": "max RSS of any child so far" if before else "",
        "counts": out, "errors_shown": errors[:3],
        "raw_sqlite_rows_per_second": round(raw_rate), "cpus": os.cpu_count(),
        "stderr_tail": proc.stderr[-500:] if proc.returncode not in (0, 1) else "",
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
