"""Background jobs: a Job row that the UI and the CLI show, and the task that does the work.

Start a job with `start_job(...)`: it creates the Job row and enqueues the task
once the surrounding transaction commits, passing the job id (tasks take ids).
A task body is wrapped with `@job_body`, which marks the job running, succeeded
or failed and records the exception in `message`:

    @task()
    @job_body
    def rebuild_search_index(job: Job) -> dict:
        for done in ...:
            job_progress(job.pk, done, total)
        return {"customers": total}

Tasks are idempotent: a job that already succeeded is not run again. Titles are
stored as English source text (mark them with gettext_noop) and translated when shown.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Job, JobStatus

logger = logging.getLogger(__name__)

# Progress writes are throttled to one per job every PROGRESS_INTERVAL seconds.
PROGRESS_INTERVAL = 0.5
_last_progress_write: dict[int, float] = {}

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


def jobs_visible_to(user) -> QuerySet[Job]:
    """Jobs a user may see: administrators see every job, everyone else their own."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return Job.objects.none()
    qs = Job.objects.select_related("created_by")
    if user.is_admin:
        return qs
    return qs.filter(created_by=user)


def start_job(*, actor, kind: str, title: str, task, params: dict[str, Any] | None = None) -> Job:
    """Create a queued Job and enqueue `task(job_id)` when the transaction commits."""
    job = Job.objects.create(kind=kind, title=title, params=params or {}, created_by=actor,
                             status=JobStatus.QUEUED)
    job_id = job.pk
    transaction.on_commit(lambda: _enqueue(task, job_id))
    return job


def _enqueue(task, job_id: int) -> None:
    try:
        result = task.enqueue(job_id)
    except Exception as exc:  # the queue itself failed: say so on the job
        logger.exception("could not enqueue job %s", job_id)
        job_failed(job_id, f"{type(exc).__name__}: {exc}")
        return
    Job.objects.filter(pk=job_id).update(task_result_id=str(result.id))


def job_progress(job_id: int, done: int, total: int | None = None, message: str = "",
                 *, force: bool = False) -> bool:
    """Record progress cheaply: at most one write per PROGRESS_INTERVAL per job.

    The write always happens when `force` is set or when `done` reaches `total`.
    Returns whether the row was written.
    """
    now = time.monotonic()
    last = _last_progress_write.get(job_id)
    finished = total is not None and done >= total
    if not (force or finished or last is None or now - last >= PROGRESS_INTERVAL):
        return False
    _last_progress_write[job_id] = now
    fields: dict[str, Any] = {"progress": max(0, int(done))}
    if total is not None:
        fields["total"] = max(0, int(total))
    if message:
        fields["message"] = message[:2000]
    Job.objects.filter(pk=job_id).update(**fields)
    return True


def job_running(job_id: int) -> None:
    Job.objects.filter(pk=job_id).update(status=JobStatus.RUNNING, started_at=timezone.now(),
                                         finished_at=None, message="")


def job_succeeded(job_id: int, result: dict[str, Any] | None = None, message: str = "") -> None:
    """Mark the job done; a known total counts as fully processed."""
    job = Job.objects.filter(pk=job_id).only("total", "progress").first()
    if job is None:
        return
    fields: dict[str, Any] = {"status": JobStatus.SUCCEEDED, "finished_at": timezone.now(),
                              "result": result or {}}
    if job.total is not None:
        fields["progress"] = job.total
    if message:
        fields["message"] = message[:2000]
    Job.objects.filter(pk=job_id).update(**fields)
    _last_progress_write.pop(job_id, None)


def job_failed(job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).update(status=JobStatus.FAILED, finished_at=timezone.now(),
                                         message=message[:2000])
    _last_progress_write.pop(job_id, None)


def job_body(func: Callable[..., dict[str, Any] | None]) -> Callable[[int], dict[str, Any]]:
    """Turn `func(job, **params)` into a task function `f(job_id)` that keeps the Job row true.

    The job's `params` are passed as keyword arguments. What `func` returns (a
    JSON-able dict) becomes `job.result`. An exception marks the job failed with
    the exception in `message` and is re-raised so the task backend records it too.
    """

    @functools.wraps(func)
    def run(job_id: int) -> dict[str, Any]:
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            logger.warning("job %s does not exist; nothing to do", job_id)
            return {"skipped": "missing"}
        if job.status == JobStatus.SUCCEEDED:
            return {"skipped": "already succeeded", **(job.result or {})}
        job_running(job_id)
        job.refresh_from_db()
        try:
            result = func(job, **(job.params or {})) or {}
        except Exception as exc:
            job_failed(job_id, f"{type(exc).__name__}: {exc}")
            raise
        job_succeeded(job_id, result)
        return result

    return run


# --- Live progress of jobs that hold one long transaction -----------------------------
#
# An import that must land all-or-nothing writes inside one transaction, so progress
# written to its Job row would stay invisible until the end (and on SQLite a second
# connection could not write at all while it holds the lock). Such jobs also report
# progress to a small JSON file next to the database, which the job pages read.


def _live_path(job_id: int):
    from django.conf import settings

    folder = settings.DATA_DIR / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{int(job_id)}.json"


def write_live(job_id: int, **data: Any) -> None:
    """Replace the job's live progress (atomic rename: readers never see half a file)."""
    import json
    import os

    path = _live_path(job_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**data, "at": time.time()}), encoding="utf-8")
    os.replace(tmp, path)


def read_live(job_id: int) -> dict[str, Any] | None:
    import json

    try:
        return json.loads(_live_path(job_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def clear_live(job_id: int) -> None:
    try:
        _live_path(job_id).unlink()
    except OSError:
        pass
