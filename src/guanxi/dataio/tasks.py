"""The import job: runs `engine.run_import` for a Job and keeps the Job row true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import translation
from django_tasks import task

from guanxi.core.jobs import job_body
from guanxi.core.models import Job


@task()
@job_body
def run_import_job(job: Job, path: str, options: dict[str, Any], original_name: str = "",
                   language: str = "") -> dict[str, Any]:
    from .engine import ImportError_, ImportOptions, finish_job, is_import_path, run_import

    if not is_import_path(path):
        raise ImportError_("not an uploaded import file")
    opts = ImportOptions.from_dict(options)
    previous = job.result or {}
    resume = previous if previous.get("running") and opts.skip_invalid else None
    start_after = (resume or {}).get("checkpoint", {}).get("row", 0)
    # Messages (row problems) are stored in the language of whoever started the import.
    with translation.override(language or None):
        result = run_import(Path(path), opts, actor=job.created_by, job_id=job.pk,
                            original_name=original_name, start_after=start_after,
                            resume=resume)
    return finish_job(job.pk, result, start_after)
