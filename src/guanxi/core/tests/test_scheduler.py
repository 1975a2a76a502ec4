"""The scheduler starts each registered job once per interval, even with two callers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.core import scheduler
from guanxi.core.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(scheduler, "_REGISTRY", {})
    return scheduler._REGISTRY


def test_runs_when_due_and_not_again_within_the_interval(registry):
    calls = []
    scheduler.register("t.hourly", dt.timedelta(hours=1), lambda: calls.append(1))
    t0 = timezone.now()
    assert scheduler.run_due(t0) == ["t.hourly"]
    assert scheduler.run_due(t0 + dt.timedelta(minutes=59)) == []
    assert scheduler.last_run("t.hourly") == t0
    assert scheduler.run_due(t0 + dt.timedelta(hours=1)) == ["t.hourly"]
    assert len(calls) == 2


def test_a_failing_job_does_not_stop_the_others(registry):
    calls = []

    def broken():
        raise RuntimeError("boom")

    scheduler.register("a.broken", dt.timedelta(hours=1), broken)
    scheduler.register("b.fine", dt.timedelta(hours=1), lambda: calls.append(1))
    assert scheduler.run_due() == ["b.fine"]
    assert calls == [1]


def test_sales_registers_the_pool_return_and_the_command_starts_it(
        users, django_capture_on_commit_callbacks):
    keys = [e.key for e in scheduler.entries()]
    assert "sales.pool_auto_return" in keys
    with django_capture_on_commit_callbacks(execute=True):
        call_command("scheduler", "--once", verbosity=0)
    job = Job.objects.get(kind="auto_return")
    assert job.status == "succeeded"
    call_command("scheduler", "--once", verbosity=0)
    assert Job.objects.filter(kind="auto_return").count() == 1
