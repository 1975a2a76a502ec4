"""Background jobs: Job rows, on-commit enqueueing, progress, failure, the real worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks import task

from guanxi.core import jobs
from guanxi.core.jobs import job_body, job_progress, jobs_visible_to, start_job
from guanxi.core.models import Job, JobStatus
from guanxi.core.tasks import rebuild_search_index, start_rebuild_search_index
from guanxi.parties.models import Customer
from guanxi.parties.search import build_search_text
from guanxi.testing.factories import ContactFactory, CustomerFactory, InteractionFactory


@task()
@job_body
def failing_task(job: Job, reason: str = "boom") -> dict:
    job_progress(job.pk, 3, 10, force=True)
    raise ValueError(reason)


@task()
@job_body
def counting_task(job: Job, upto: int = 5) -> dict:
    for i in range(1, upto + 1):
        job_progress(job.pk, i, upto)
    return {"counted": upto}


@pytest.mark.django_db
def test_job_is_enqueued_only_on_commit_and_runs(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(actor=users["admin"], kind="count", title="Count", task=counting_task,
                        params={"upto": 4})
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.progress == 0  # nothing ran before commit
    callbacks[0]()  # the commit happens
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress, job.total, job.percent) == (4, 4, 100)
    assert job.result == {"counted": 4}
    assert job.task_result_id
    assert job.started_at and job.finished_at and job.started_at <= job.finished_at
    assert job.created_by == users["admin"]


@pytest.mark.django_db
def test_failure_is_recorded_on_the_job(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(actor=users["rep"], kind="fail", title="Fail", task=failing_task,
                        params={"reason": "the file has no header row"})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "ValueError: the file has no header row"
    assert job.progress == 3 and job.total == 10 and job.finished_at


@pytest.mark.django_db
def test_a_succeeded_job_is_not_run_again(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(actor=users["admin"], kind="count", title="Count", task=counting_task,
                        params={"upto": 2})
    job.refresh_from_db()
    finished = job.finished_at
    result = counting_task.call(job.pk)  # a retry of the same task
    assert result["skipped"] == "already succeeded"
    job.refresh_from_db()
    assert job.finished_at == finished and job.status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_missing_job_is_a_no_op():
    assert counting_task.call(987654)["skipped"] == "missing"


@pytest.mark.django_db
def test_progress_writes_are_throttled(users, monkeypatch):
    job = Job.objects.create(kind="x", created_by=users["admin"])
    clock = [100.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    assert job_progress(job.pk, 1, 100) is True
    assert job_progress(job.pk, 2, 100) is False  # too soon
    clock[0] += jobs.PROGRESS_INTERVAL
    assert job_progress(job.pk, 3, 100, message="half") is True
    assert job_progress(job.pk, 4, 100, force=True) is True
    assert job_progress(job.pk, 100, 100) is True  # the end is always written
    job.refresh_from_db()
    assert (job.progress, job.total, job.message) == (100, 100, "half")


@pytest.mark.django_db
def test_visibility_admins_see_all_others_their_own(users):
    mine = Job.objects.create(kind="x", created_by=users["rep"])
    theirs = Job.objects.create(kind="x", created_by=users["rep2"])
    system = Job.objects.create(kind="x")
    assert set(jobs_visible_to(users["admin"])) == {mine, theirs, system}
    assert list(jobs_visible_to(users["rep"])) == [mine]
    assert list(jobs_visible_to(users["director"])) == []


@pytest.mark.django_db
def test_rebuild_search_index_recomputes_text_and_last_contact(
        users, django_capture_on_commit_callbacks):
    now = timezone.now()
    customers = [CustomerFactory(name=f"重庆兴瑞{i}号") for i in range(5)]
    a, b, c, d, gone = customers
    ContactFactory(customer=a, name="王晓明")
    InteractionFactory(customer=a, kind="call", occurred_at=now - dt.timedelta(days=3))
    InteractionFactory(customer=a, kind="visit", occurred_at=now - dt.timedelta(days=1))
    InteractionFactory(customer=b, kind="note", occurred_at=now)  # a note is not a contact
    deleted = InteractionFactory(customer=c, kind="call", occurred_at=now)
    Interaction = deleted.__class__
    Interaction.all_objects.filter(pk=deleted.pk).update(deleted_at=now)
    Customer.all_objects.filter(pk=gone.pk).update(deleted_at=now)  # recycle bin: indexed too
    Customer.all_objects.update(search_text="stale", last_contact_at=now - dt.timedelta(days=99))
    before = {x.pk: (x.version, x.updated_at) for x in Customer.all_objects.all()}

    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(actor=users["admin"], kind="rebuild_search_index", title="Rebuild",
                        task=rebuild_search_index, params={"batch_size": 2})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.progress, job.total) == (5, 5)
    assert job.result == {"customers": 5, "changed": 5}
    for x in Customer.all_objects.all():
        assert x.search_text == build_search_text(x)
        assert (x.version, x.updated_at) == before[x.pk]  # not an edit
    a.refresh_from_db()
    assert "wangxiaoming" in a.search_text and "cqxr0h" in a.search_text
    assert a.last_contact_at == now - dt.timedelta(days=1)
    for other in (b, c, d):
        other.refresh_from_db()
        assert other.last_contact_at is None

    # Idempotent: a second run finds nothing to change.
    with django_capture_on_commit_callbacks(execute=True):
        again = start_job(actor=users["admin"], kind="rebuild_search_index", title="Rebuild",
                          task=rebuild_search_index, params={})
    again.refresh_from_db()
    assert again.result == {"customers": 5, "changed": 0}


@pytest.mark.django_db
def test_start_rebuild_helper_names_the_job(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_rebuild_search_index(actor=users["admin"])
    job.refresh_from_db()
    assert job.kind == "rebuild_search_index" and job.status == JobStatus.SUCCEEDED
    assert job.title == "Rebuild search index and last contact dates"


@pytest.mark.django_db(transaction=True)
def test_database_worker_runs_the_job(users):
    """The real path: the database backend stores the task, `db_worker --batch` runs it.

    transaction=True: the worker closes connections that are inside a transaction.
    """
    from django_tasks_db.models import DBTaskResult

    CustomerFactory.create_batch(3)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        with transaction.atomic():
            job = start_rebuild_search_index(actor=users["admin"])
            assert not DBTaskResult.objects.exists()  # enqueued only on commit
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED
        stored = DBTaskResult.objects.get(id=job.task_result_id)
        assert stored.args_kwargs == {"args": [job.pk], "kwargs": {}}
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload",
                     "--queue-name", "*", verbosity=0)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result["customers"] == 3
    stored.refresh_from_db()
    assert stored.status == "SUCCESSFUL"
