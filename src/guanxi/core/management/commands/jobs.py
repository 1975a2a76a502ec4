"""`guanxi jobs [--watch]`: background jobs and their progress, in the terminal."""

from __future__ import annotations

import shutil
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from guanxi.core.models import Job, JobStatus


def progress_bar(job: Job, width: int = 20) -> str:
    """"[#########-----------]  45%  450/1000" (or just the count when the total is unknown)."""
    if job.total:
        percent = job.percent or 0
        filled = round(width * percent / 100)
        return f"[{'#' * filled}{'-' * (width - filled)}] {percent:3d}%  {job.progress}/{job.total}"
    if job.status == JobStatus.SUCCEEDED:
        return f"[{'#' * width}] 100%"
    return f"[{'.' * width}]       {job.progress or ''}".rstrip()


def render_table(jobs: list[Job], columns: int = 100) -> str:
    if not jobs:
        return "No jobs yet."
    rows = []
    title_width = max(28, columns - 80)
    header = f"{'#':>5}  {'job':<{title_width}}  {'status':<9}  {'progress':<34}  {'by':<10}  when"
    rows.append(header)
    for job in jobs:
        title = job.title or job.kind
        if len(title) > title_width:
            title = title[: title_width - 1] + "…"
        who = job.created_by.username if job.created_by else "system"
        when = timezone.localtime(job.created_at).strftime("%Y-%m-%d %H:%M")
        rows.append(f"{job.pk:>5}  {title:<{title_width}}  {job.status:<9}  "
                    f"{progress_bar(job):<34}  {who[:10]:<10}  {when}")
        if job.status == JobStatus.FAILED and job.message:
            rows.append(f"{'':>5}  ! {job.message.splitlines()[0][:columns - 10]}")
    return "\n".join(rows)


class Command(BaseCommand):
    help = "List background jobs with their progress. --watch refreshes every second."

    def add_arguments(self, parser):
        parser.add_argument("--watch", action="store_true",
                            help="Keep the list on screen and refresh it (Ctrl+C to stop).")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds between refreshes with --watch (default 1).")
        parser.add_argument("--limit", type=int, default=20,
                            help="How many of the newest jobs to show (default 20).")
        parser.add_argument("--status", choices=JobStatus.values, help="Only jobs in this state.")

    def _jobs(self, limit: int, status: str | None) -> list[Job]:
        qs = Job.objects.select_related("created_by")
        if status:
            qs = qs.filter(status=status)
        return list(qs[:limit])

    def handle(self, *args, watch=False, interval=1.0, limit=20, status=None, **options):
        columns = shutil.get_terminal_size((100, 24)).columns
        if not watch:
            self.stdout.write(render_table(self._jobs(limit, status), columns))
            return
        try:
            while True:
                close_old_connections()
                table = render_table(self._jobs(limit, status), columns)
                stamp = timezone.localtime().strftime("%H:%M:%S")
                # Clear the screen and draw again (ANSI), like `watch`.
                self.stdout.write(f"\x1b[H\x1b[2J{table}\n\n{stamp}  Ctrl+C to stop", ending="\n")
                self.stdout.flush()
                time.sleep(max(0.2, interval))
        except KeyboardInterrupt:
            self.stdout.write("")
