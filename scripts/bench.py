"""`make bench`: time the things that grow with the data, on a fresh SQLite database.

Steps, each timed: migrate, demo data for N customers, the "rebuild search index"
job, a backup, and the main pages (median of several requests, as an administrator
and as a sales rep). Results go to the terminal and to bench/out/results.json.
Everything happens in a temporary data directory; ./var is not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(label: str, results: dict, func, *args, **kwargs):
    t0 = time.perf_counter()
    value = func(*args, **kwargs)
    results[label] = round(time.perf_counter() - t0, 3)
    print(f"  {label:<40} {results[label]:8.2f} s", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="requests per page")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="guanxi-bench-"))
    os.environ.update(GUANXI_DATA_DIR=str(data_dir),
                      DJANGO_SETTINGS_MODULE="guanxi.config.settings",
                      GUANXI_TASK_BACKEND="django_tasks.backends.immediate.ImmediateBackend")
    os.environ.pop("DATABASE_URL", None)
    (data_dir / "static").mkdir()
    import django

    django.setup()
    from django.core.management import call_command, get_commands
    from django.db import transaction
    from django.db.models import Count
    from django.test import Client

    from guanxi.accounts.models import Role, User
    from guanxi.core.models import Job
    from guanxi.core.tasks import start_rebuild_search_index
    from guanxi.parties.models import Customer

    print(f"Benchmark with {args.customers} customers in {data_dir}")
    results: dict = {"customers": args.customers, "seconds": {}, "pages_ms": {}}
    secs = results["seconds"]
    timed("migrate", secs, call_command, "migrate", verbosity=0)
    if "demo" not in get_commands():
        print("The `demo` command is not installed; cannot generate data.", file=sys.stderr)
        return 1
    with open(os.devnull, "w") as devnull:
        timed("demo data", secs, call_command, "demo", "--customers", str(args.customers),
              "--seed", str(args.seed), stdout=devnull)
    results["rows"] = {"customers": Customer.all_objects.count()}

    def rebuild():
        with transaction.atomic():
            job = start_rebuild_search_index(actor=None)
        job = Job.objects.get(pk=job.pk)
        assert job.status == "succeeded", job.message

    timed("rebuild search index job", secs, rebuild)
    backup = data_dir / "bench-backup.sqlite3"
    with open(os.devnull, "w") as devnull:
        timed("backup", secs, call_command, "backup", str(backup), stdout=devnull)
    results["database_mb"] = round(backup.stat().st_size / 1e6, 1)

    admin = User.objects.filter(role=Role.ADMIN).first() or User.objects.filter(
        is_superuser=True).first()
    rep = (User.objects.filter(role=Role.REP).annotate(n=Count("owned_customers"))
           .order_by("-n").first())
    print(f"  pages (median of {args.repeat} requests, ms):")
    for who, user in (("admin", admin), ("rep", rep)):
        if user is None:
            continue
        sample = Customer.objects.visible_to(user).exclude(name="").order_by("pk").first()
        term = sample.name[:2] if sample else "公司"
        pages = ["/", "/customers/", f"/customers/?q={term}", f"/search/?q={term}&dropdown=1",
                 f"/search/?q={term}", "/jobs/"]
        if sample:
            pages.append(f"/customers/{sample.pk}/")
        client = Client()
        client.force_login(user)
        for url in pages:
            times, status = [], None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                status = response.status_code
            median = round(statistics.median(times), 1)
            results["pages_ms"][f"{who} {url}"] = {"median": median, "status": status}
            print(f"    {who:<6} {url:<45} {median:8.1f}  (HTTP {status})", flush=True)

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"Results written to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
