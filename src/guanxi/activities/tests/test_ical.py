"""The iCalendar feed: secret URL without login, events read back with icalendar and vobject."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import vobject
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import ical
from guanxi.activities import task_services as svc
from guanxi.activities.models import CalendarFeed
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BASE = timezone.localdate() + dt.timedelta(days=3)


def at(day: dt.date, h=10, minute=0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(h, minute)))


@pytest.fixture
def tasks(users):
    rep = users["rep"]
    customer = CustomerFactory(name="重庆兴瑞环保有限公司", owner=rep, team=rep.team)
    visit = svc.task_create(actor=rep, title="拜访王经理", kind="visit", customer=customer,
                            due_at=at(BASE, 14), end_at=at(BASE, 15, 30),
                            location="兴瑞工厂 3号楼", remind_minutes_before=15,
                            notes="带样品")
    fair = svc.task_create(actor=rep, title="环保展", all_day=True, due_at=at(BASE, 0),
                           end_at=at(BASE + dt.timedelta(days=2), 0))
    weekly = svc.task_create(actor=rep, title="周例会", kind="meeting",
                             due_at=at(BASE - dt.timedelta(days=7), 9),
                             end_at=at(BASE - dt.timedelta(days=7), 10),
                             recurrence="weekly", recurrence_until=BASE + dt.timedelta(days=60))
    nxt = svc.task_complete(actor=rep, task=weekly).next_occurrence
    old = svc.task_create(actor=rep, title="很久以前", due_at=timezone.now() - dt.timedelta(days=200))
    dropped = svc.task_create(actor=rep, title="取消了", due_at=at(BASE, 11))
    svc.task_cancel(actor=rep, task=dropped)
    svc.task_create(actor=users["rep2"], title="别人的任务", due_at=at(BASE, 11))
    return {"visit": visit, "fair": fair, "weekly": weekly, "next": nxt, "old": old,
            "customer": customer}


def fetch(client, token):
    return client.get(reverse("tasks:feed", args=[token]))


def test_the_feed_needs_only_the_token_and_parses_with_icalendar(client, users, tasks):
    feed = ical.feed_for(users["rep"])
    assert len(feed.token) >= 43
    r = fetch(client, feed.token)  # anonymous client
    assert r.status_code == 200
    assert r["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(r.content)
    events = cal.walk("VEVENT")
    summaries = [str(e["SUMMARY"]) for e in events]
    assert "很久以前" not in summaries and "取消了" not in summaries
    assert "别人的任务" not in summaries

    visit = next(e for e in events if str(e["UID"]) == f"task-{tasks['visit'].pk}@guanxi")
    assert str(visit["SUMMARY"]) == "拜访王经理" and str(visit["STATUS"]) == "CONFIRMED"
    assert visit.decoded("DTSTART") == at(BASE, 14)
    assert visit.decoded("DTEND") == at(BASE, 15, 30)
    assert str(visit["LOCATION"]) == "兴瑞工厂 3号楼"
    desc = str(visit["DESCRIPTION"])
    assert "重庆兴瑞环保有限公司" in desc and "带样品" in desc
    assert f"http://testserver/tasks/{tasks['visit'].pk}/" in desc
    alarms = visit.walk("VALARM")
    assert len(alarms) == 1 and alarms[0].decoded("TRIGGER") == -dt.timedelta(minutes=15)

    fair = next(e for e in events if str(e["UID"]) == f"task-{tasks['fair'].pk}@guanxi")
    assert fair.decoded("DTSTART") == BASE and not isinstance(fair.decoded("DTSTART"),
                                                              dt.datetime)
    assert fair.decoded("DTEND") == BASE + dt.timedelta(days=3)  # exclusive end
    assert not fair.walk("VALARM")

    series_uid = f"task-{tasks['weekly'].pk}@guanxi"
    series = [e for e in events if str(e["UID"]) == series_uid]
    master = [e for e in series if "RRULE" in e]
    assert len(master) == 1
    rule = master[0]["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["INTERVAL"] == [1] and "UNTIL" in rule
    assert master[0].decoded("DTSTART") == at(BASE - dt.timedelta(days=7), 9)
    overrides = {e.decoded("RECURRENCE-ID"): str(e["SUMMARY"]) for e in series
                 if "RECURRENCE-ID" in e}
    assert overrides == {at(BASE - dt.timedelta(days=7), 9): "✓ 周例会", at(BASE, 9): "周例会"}
    assert not any(str(e["UID"]) == f"task-{tasks['next'].pk}@guanxi" for e in events)

    feed.refresh_from_db()
    assert feed.last_used_at is not None


def test_the_feed_parses_with_vobject(client, users, tasks):
    r = fetch(client, ical.feed_for(users["rep"]).token)
    cal = vobject.readOne(r.content.decode("utf-8"))
    events = cal.vevent_list
    by_uid: dict[str, list] = {}
    for e in events:
        by_uid.setdefault(e.uid.value, []).append(e)
    visit = by_uid[f"task-{tasks['visit'].pk}@guanxi"][0]
    assert visit.summary.value == "拜访王经理" and visit.location.value == "兴瑞工厂 3号楼"
    assert visit.dtstart.value == at(BASE, 14)
    assert visit.valarm.trigger.value == -dt.timedelta(minutes=15)
    fair = by_uid[f"task-{tasks['fair'].pk}@guanxi"][0]
    assert fair.dtstart.value == BASE and type(fair.dtstart.value) is dt.date
    series = by_uid[f"task-{tasks['weekly'].pk}@guanxi"]
    master = next(e for e in series if hasattr(e, "rrule"))
    assert "FREQ=WEEKLY" in master.rrule.value
    # vobject expands the rule: a weekly slot on BASE and the one after it.
    starts = list(master.getrruleset(addRDate=True))[:3]
    assert [s.astimezone(dt.UTC) for s in starts[:2]] == [
        at(BASE - dt.timedelta(days=7), 9).astimezone(dt.UTC), at(BASE, 9).astimezone(dt.UTC)]
    assert len(events) == 5  # visit, fair, master, two overrides


def test_reset_gives_a_new_address_and_the_old_one_is_404(client, users, tasks):
    old = ical.feed_for(users["rep"]).token
    assert fetch(client, old).status_code == 200
    client.force_login(users["rep"])
    page = client.get(reverse("tasks:feed_settings")).content.decode()
    assert f"/tasks/feed/{old}.ics" in page
    r = client.post(reverse("tasks:feed_reset"))
    assert r.status_code == 302
    new = CalendarFeed.objects.get(user=users["rep"]).token
    assert new != old
    client.logout()
    assert fetch(client, old).status_code == 404
    assert fetch(client, new).status_code == 200
    assert fetch(client, "not-a-token").status_code == 404


def test_an_inactive_users_feed_is_gone(client, users, tasks):
    token = ical.feed_for(users["rep"]).token
    users["rep"].is_active = False
    users["rep"].save()
    assert fetch(client, token).status_code == 404


def test_a_stopped_series_ends_with_a_count(users):
    rep = users["rep"]
    head = svc.task_create(actor=rep, title="日报", due_at=at(BASE, 18), recurrence="daily")
    nxt = svc.task_complete(actor=rep, task=head).next_occurrence
    svc.task_cancel(actor=rep, task=nxt, stop_series=True)
    cal = icalendar.Calendar.from_ical(ical.build_calendar(rep, base_url="https://crm.test"))
    master = next(e for e in cal.walk("VEVENT") if "RRULE" in e)
    assert master["RRULE"]["COUNT"] == [2]
    cancelled = next(e for e in cal.walk("VEVENT") if "RECURRENCE-ID" in e
                     and str(e["STATUS"]) == "CANCELLED")
    assert cancelled.decoded("RECURRENCE-ID") == at(BASE + dt.timedelta(days=1), 18)
