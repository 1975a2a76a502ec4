#!/usr/bin/env python
"""Where does a page's time go? Queries (with their times) and a Python profile.

    .venv/bin/python bench/profile_page.py --data-dir /tmp/guanxi-bench-100000 \\
        --user director "/customers/?tier=A&sort=name"

Runs against an existing database (e.g. one left by bench/run.py), logged in as
--user, through the real Django stack. Prints the SQL of one request with the time
of each query, then the top functions of a cProfile over --repeat requests.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--user", default="director")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    os.environ["GUANXI_DATA_DIR"] = args.data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    warnings.filterwarnings("ignore", message="No directory at")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=args.user))
    for _ in range(3):
        client.get(args.url)
    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        response = client.get(args.url)
        total = (time.perf_counter() - t) * 1000
    sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    print(f"{args.url} as {args.user}: HTTP {response.status_code}, {total:.1f} ms, "
          f"{len(ctx.captured_queries)} queries, {sql_ms:.1f} ms in SQL "
          "(query times are rounded to the millisecond)")
    for q in ctx.captured_queries:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:240]}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.repeat):
        client.get(args.url)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
