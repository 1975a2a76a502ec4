"""Jobs pages: who sees which job, the live progress fragment, the admin's start button."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from guanxi.core.models import Job, JobStatus


@pytest.fixture
def some_jobs(users):
    return {
        "rep": Job.objects.create(kind="import", title="Import customers.xlsx",
                                  created_by=users["rep"], status=JobStatus.RUNNING,
                                  progress=250, total=1000),
        "rep2": Job.objects.create(kind="import", title="Import 重庆客户.csv",
                                   created_by=users["rep2"], status=JobStatus.SUCCEEDED,
                                   progress=10, total=10),
    }


def _login(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_list_requires_login(client):
    response = client.get(reverse("core:job_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_admin_sees_every_job_and_the_start_button(client, users, some_jobs):
    response = _login(client, users["admin"]).get(reverse("core:job_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Import customers.xlsx" in html and "Import 重庆客户.csv" in html
    assert reverse("core:job_start_rebuild") in html
    assert 'aria-valuenow="25"' in html  # the running job's progress bar
    assert 'hx-trigger="every 2s"' in html  # the table refreshes while a job runs


@pytest.mark.django_db
def test_a_rep_sees_only_own_jobs_and_no_button(client, users, some_jobs):
    response = _login(client, users["rep"]).get(reverse("core:job_list"))
    html = response.content.decode()
    assert "Import customers.xlsx" in html and "重庆客户" not in html
    assert reverse("core:job_start_rebuild") not in html


@pytest.mark.django_db
def test_status_filter_and_empty_state(client, users, some_jobs):
    client = _login(client, users["admin"])
    html = client.get(reverse("core:job_list"), {"status": "failed"}).content.decode()
    assert "Import customers.xlsx" not in html and 'class="empty"' in html
    html = client.get(reverse("core:job_list"), {"status": "succeeded"}).content.decode()
    assert "重庆客户" in html and "customers.xlsx" not in html
    assert 'hx-trigger="every 2s"' not in html  # nothing running on this page


@pytest.mark.django_db
def test_detail_is_404_for_someone_elses_job(client, users, some_jobs):
    client = _login(client, users["rep"])
    assert client.get(reverse("core:job_detail", args=[some_jobs["rep2"].pk])).status_code == 404
    assert client.get(reverse("core:job_detail", args=[some_jobs["rep"].pk])).status_code == 200


@pytest.mark.django_db
def test_detail_fragment_polls_while_running_and_stops_when_done(client, users, some_jobs):
    client = _login(client, users["rep"])
    job = some_jobs["rep"]
    url = reverse("core:job_detail", args=[job.pk])
    page = client.get(url).content.decode()
    assert "<html" in page and 'id="job-progress"' in page
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert re.search(r"250 / 1,?000 · 25%", fragment)  # grouping follows the language
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=1000)
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and 'aria-valuenow="100"' in fragment


@pytest.mark.django_db
def test_failed_job_shows_its_message(client, users):
    job = Job.objects.create(kind="import", title="Import", created_by=users["rep"],
                             status=JobStatus.FAILED, message="ValueError: <no header row>")
    html = _login(client, users["rep"]).get(
        reverse("core:job_detail", args=[job.pk])).content.decode()
    assert "ValueError: &lt;no header row&gt;" in html  # escaped


@pytest.mark.django_db
def test_admin_starts_the_rebuild_job(client, users, django_capture_on_commit_callbacks):
    client = _login(client, users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("core:job_start_rebuild"))
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    assert job.kind == "rebuild_search_index" and job.status == JobStatus.SUCCEEDED
    assert job.created_by == users["admin"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["rep", "manager", "director", "readonly"])
def test_others_cannot_start_it(client, users, role):
    response = _login(client, users[role]).post(reverse("core:job_start_rebuild"))
    assert response.status_code == 403 and Job.objects.count() == 0


@pytest.mark.django_db
def test_start_needs_post(client, users):
    response = _login(client, users["admin"]).get(reverse("core:job_start_rebuild"))
    assert response.status_code == 405 and Job.objects.count() == 0


@pytest.mark.django_db
def test_detail_says_how_long_the_job_took(client, users):
    import datetime as dt

    from django.utils import timezone

    start = timezone.now() - dt.timedelta(minutes=10)
    job = Job.objects.create(kind="x", title="X", created_by=users["admin"],
                             status=JobStatus.SUCCEEDED, started_at=start,
                             finished_at=start + dt.timedelta(minutes=3, seconds=5))
    client.force_login(users["admin"])
    with translation.override("en"):
        html = client.get(reverse("core:job_detail", args=[job.pk]),
                          headers={"Accept-Language": "en"}).content.decode()
    assert "took 3 min 5 s" in html
