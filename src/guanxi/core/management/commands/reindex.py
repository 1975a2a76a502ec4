"""`guanxi reindex`: start the "rebuild search index and last contact dates" job."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from guanxi.core.models import Job, JobStatus
from guanxi.core.tasks import start_rebuild_search_index

from .jobs import progress_bar


class Command(BaseCommand):
    help = ("Rebuild the search index and the last contact dates of every customer. "
            "Runs as a background job; `guanxi worker` must be running.")

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true",
                            help="Show the progress and wait until the job has finished.")

    def handle(self, *args, wait=False, **options):
        with transaction.atomic():
            job = start_rebuild_search_index(actor=None)
        self.stdout.write(f"Job #{job.pk} started. Follow it with `guanxi jobs --watch` "
                          "or on the Jobs page.")
        if not wait:
            return
        while True:
            job = Job.objects.get(pk=job.pk)
            self.stdout.write(f"\r{progress_bar(job)}  {job.status}   ", ending="")
            self.stdout.flush()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(1)
        self.stdout.write("")
        if job.status == JobStatus.FAILED:
            raise CommandError(f"The job failed: {job.message}")
