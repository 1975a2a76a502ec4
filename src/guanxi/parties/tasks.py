"""Background tasks of the parties app. Each takes a Job id (see core/jobs.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.core.jobs import job_body, start_job
from guanxi.core.models import Job

FIND_DUPLICATES = "find_duplicates"


@task()
@job_body
def find_duplicates(job: Job) -> dict[str, Any]:
    """Scan every customer for likely duplicates (parties.duplicates.scan_report).

    Idempotent: a second run finds the same pairs and adds none; pairs people have
    dismissed or merged are never reopened.
    """
    from .duplicates import scan_report

    return scan_report(job)


def start_find_duplicates(*, actor) -> Job:
    """Start the "find duplicates" job (the button on the duplicates page)."""
    return start_job(actor=actor, kind=FIND_DUPLICATES,
                     title=gettext_noop("Find duplicate customers"),
                     task=find_duplicates, params={})
