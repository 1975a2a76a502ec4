"""`guanxi scheduler [--once]`: start periodic background jobs when they are due."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from guanxi.core import scheduler


class Command(BaseCommand):
    help = ("Start periodic jobs (pool returns, score retraining, task reminders) when due. "
            "Keep it running beside `guanxi worker`, or run it with --once from cron.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="start what is due now and stop")
        parser.add_argument("--interval", type=int, default=30,
                            help="seconds between checks (default 30)")

    def handle(self, *args, once=False, interval=30, verbosity=1, **options):
        while True:
            started = scheduler.run_due()
            if started and verbosity:
                self.stdout.write("started: " + ", ".join(started))
            if once:
                return
            time.sleep(max(1, interval))
            close_old_connections()
