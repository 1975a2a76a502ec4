"""`guanxi demo`: fill the database with a believable demo company and its customers."""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from guanxi.demo import geo
from guanxi.demo.company import existing_demo_usernames
from guanxi.demo.load import LoadStats, load_demo
from guanxi.parties.models import Customer


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today wants a date like 2026-03-31, not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        f"Fill the database with demo data: {geo.COMPANY_NAME} (a water-treatment equipment "
        "maker) with offices in six cities, about 20 users of every role (the logins are "
        "printed at the end), customers with contacts and a two-year history of calls, "
        "visits, e-mails and meetings. The same --seed (and --today) gives the same data. "
        "This is a fixture load: it writes no audit entries for the rows it creates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000, metavar="N",
                            help="How many customers to create (default 2000; 1000000 for "
                                 "benchmarks).")
        parser.add_argument("--interactions-per-customer", type=float, default=10.0,
                            dest="per_customer", metavar="K",
                            help="Interactions per customer on average (default 10).")
        parser.add_argument("--seed", type=int, default=1, metavar="S",
                            help="Random seed: the same seed gives the same data (default 1).")
        parser.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                            help="Pretend today is this date (YYYY-MM-DD); the history ends "
                                 "the day before and follow-ups are due around it. Default: "
                                 "the real date.")
        parser.add_argument("--reset", action="store_true",
                            help="ERASE EVERY ROW in the database first (users and settings "
                                 "included, like `flush`), then load the demo data.")
        parser.add_argument("--workers", type=int, default=None, metavar="W",
                            help="Processes that generate rows while the loader inserts "
                                 "(default: none for small loads, CPUs - 1 for large ones).")

    def handle(self, *args, customers, per_customer, seed, today, reset, workers, **options):
        if customers < 0 or per_customer < 0:
            raise CommandError("--customers and --interactions-per-customer cannot be negative.")
        if reset:
            self._reset()
        else:
            self._refuse_if_not_empty()
        verbose = options.get("verbosity", 1) >= 1
        self._last_report = 0.0
        stats = load_demo(customers=customers, per_customer=per_customer, seed=seed,
                          today=today, workers=workers,
                          progress=self._progress if verbose and customers >= 20_000 else None)
        if verbose:
            self._report(stats)

    def _refuse_if_not_empty(self) -> None:
        count = Customer.all_objects.count()
        if count:
            raise CommandError(
                f"The database already has {count} customers. Run `guanxi demo --reset` to "
                "erase everything and load the demo data, or use a new data directory.")
        taken = existing_demo_usernames()
        if taken:
            raise CommandError(
                f"Users {', '.join(taken)} already exist. Run `guanxi demo --reset` to erase "
                "everything first, or use a new data directory.")

    def _reset(self) -> None:
        from guanxi.parties import search_index

        self.stdout.write("Erasing the database…")
        # Deleting a million customers through the search-index triggers is slow: drop
        # them, empty the tables, and reinstall the (now empty) index afterwards.
        if connection.vendor == "sqlite":
            search_index.drop_sqlite_triggers()
        try:
            call_command("flush", interactive=False, verbosity=0)
        finally:
            search_index.rebuild_search_index()

    def _progress(self, stats: LoadStats, total: int) -> None:
        if stats.seconds_rows - self._last_report < 5 and stats.customers < total:
            return
        self._last_report = stats.seconds_rows
        pct = 100 * stats.customers / total if total else 100
        self.stdout.write(
            f"  {stats.customers:>9,} / {total:,} customers ({pct:3.0f}%)  "
            f"{stats.interactions:>11,} interactions  {stats.seconds_rows:6.0f} s")
        sys.stdout.flush()

    def _report(self, stats: LoadStats) -> None:
        w = self.stdout.write
        w(self.style.SUCCESS(
            f"Demo data loaded: {stats.customers:,} customers, {stats.contacts:,} contacts, "
            f"{stats.interactions:,} interactions in {stats.seconds_total:.1f} s "
            f"({stats.rate(stats.customers):,.0f} customers/s, "
            f"{stats.rate(stats.interactions):,.0f} interactions/s"
            + (f"; search index rebuilt in {stats.seconds_index:.1f} s"
               if stats.seconds_index >= 0.1 else "") + ")."))
        for note in stats.notes:
            w(f"Note: {note}.")
        w("")
        w(f"{geo.COMPANY_NAME} — demo logins:")
        rows = [("Username", "Role", "Team / office", "Password")] + [
            tuple(str(c) for c in login) for login in stats.skeleton.logins]
        widths = [max(_width(r[i]) for r in rows) for i in range(4)]
        for k, row in enumerate(rows):
            w("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)))
            if k == 0:
                w("  " + "  ".join("-" * n for n in widths))
        w("")
        w("Start the server with `guanxi serve` and open http://127.0.0.1:8000")


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
