"""The iCalendar feed of a user's tasks (phones and Outlook subscribe to a secret URL).

    feed_for(user) -> CalendarFeed            the user's feed row, created on first use
    reset_feed(user) -> CalendarFeed          a new token: the old address stops working
    build_calendar(user, *, base_url, now=None) -> bytes

One VEVENT per open or done task of the user due between 90 days ago and a year ahead,
UID task-<pk>@guanxi. A repeating series is one master VEVENT (the head's UID, with an
RRULE) plus one override per stored occurrence (same UID, RECURRENCE-ID = its slot), so a
client neither loses nor doubles occurrences.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

import icalendar
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import CalendarFeed, Task, TaskStatus
from .task_services import series_rule

PAST = dt.timedelta(days=90)
AHEAD = dt.timedelta(days=365)
DEFAULT_LENGTH = dt.timedelta(minutes=30)
PRODID = "-//Guanxi CRM//Tasks//EN"
RRULE_FREQ = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_for(user) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(user=user,
                                                        defaults={"token": new_token()})
    return feed


@transaction.atomic
def reset_feed(user) -> CalendarFeed:
    """Give the user a new secret address; the old one answers 404 from now on."""
    feed = feed_for(user)
    feed.token = new_token()
    feed.last_used_at = None
    feed.save(update_fields=["token", "last_used_at"])
    return feed


def uid(task: Task) -> str:
    return f"task-{task.pk}@guanxi"


def _description(task: Task, base_url: str) -> str:
    lines = []
    if task.customer_id:
        lines.append(_("Customer: %(name)s") % {"name": task.customer.name})
    elif task.lead_id:
        lines.append(_("Lead: %(name)s") % {"name": task.lead})
    if task.opportunity_id:
        lines.append(_("Deal: %(name)s") % {"name": task.opportunity.name})
    if task.contact_id:
        lines.append(_("Contact: %(name)s") % {"name": task.contact.name})
    if task.notes:
        lines += ["", task.notes]
    lines += ["", base_url + reverse("tasks:detail", args=[task.pk])]
    return "\n".join(lines).strip()


def _times(event: icalendar.Event, task: Task, prop: str = "dtstart") -> None:
    start = timezone.localtime(task.due_at)
    if task.all_day:
        last = timezone.localtime(task.end_at).date() if task.end_at else start.date()
        event.add("dtstart", start.date())
        event.add("dtend", max(last, start.date()) + dt.timedelta(days=1))
    else:
        event.add("dtstart", start)
        end = timezone.localtime(task.end_at) if task.end_at else start + DEFAULT_LENGTH
        event.add("dtend", end)


def _event(task: Task, base_url: str, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid(task))
    event.add("dtstamp", stamp)
    _times(event, task)
    title = task.title
    if task.status == TaskStatus.DONE:
        title = f"✓ {title}"
    event.add("summary", title)
    event.add("description", _description(task, base_url))
    if task.location:
        event.add("location", task.location)
    event.add("status", "CANCELLED" if task.status == TaskStatus.CANCELLED else "CONFIRMED")
    event.add("categories", [task.get_kind_display()])
    event.add("url", base_url + reverse("tasks:detail", args=[task.pk]))
    event.add("last-modified", task.updated_at)
    event.add("sequence", task.version)
    if task.remind_minutes_before is not None and task.status == TaskStatus.OPEN:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", task.title)
        alarm.add("trigger", -dt.timedelta(minutes=task.remind_minutes_before))
        event.add_component(alarm)
    return event


def _rrule(head: Task, count: int | None) -> dict:
    rule: dict = {"freq": RRULE_FREQ[head.recurrence],
                  "interval": max(1, head.recurrence_interval or 1)}
    if count is not None:
        rule["count"] = count
    elif head.recurrence_until:
        if head.all_day:
            rule["until"] = head.recurrence_until
        else:
            end = timezone.make_aware(dt.datetime.combine(head.recurrence_until, dt.time.max))
            rule["until"] = end.astimezone(dt.UTC).replace(microsecond=0)
    return rule


def _slots(head: Task, upto: int) -> list[dt.datetime]:
    rule = series_rule(head)
    out: list[dt.datetime] = []
    for i, start in enumerate(rule or []):
        if i > upto:
            break
        out.append(timezone.make_aware(start))
    return out


def _master(head: Task, members: list[Task], base_url: str,
            stamp: dt.datetime) -> tuple[icalendar.Event, dict[int, dt.datetime]]:
    """The series' master event and each member's slot (its RECURRENCE-ID)."""
    ordered = sorted({t.pk: t for t in [head, *members]}.values(), key=lambda t: t.pk)
    slots = _slots(head, len(ordered))
    recurrence_ids = {t.pk: slots[i] for i, t in enumerate(ordered) if i < len(slots)}
    ended = next((i + 1 for i, t in enumerate(ordered) if not t.recurrence), None)
    event = _event(head, base_url, stamp)
    event.pop("summary")
    event.add("summary", head.title)
    event.pop("status")
    event.add("status", "CONFIRMED")
    event.add("rrule", _rrule(head, ended))
    return event, recurrence_ids


def build_calendar(user, *, base_url: str, now: dt.datetime | None = None) -> bytes:
    """The user's feed as iCalendar bytes; `base_url` ("https://crm.example.com") makes
    the links in it absolute."""
    now = now or timezone.now()
    base_url = base_url.rstrip("/")
    mine = (Task.objects.filter(assignee=user)
            .select_related("customer", "lead", "opportunity", "contact"))
    window = list(mine.filter(due_at__gte=now - PAST, due_at__lte=now + AHEAD))
    head_ids = {t.series_id or t.pk for t in window if t.series_id or t.recurrence}
    heads = {h.pk: h for h in mine.filter(pk__in=head_ids, series__isnull=True)
             .exclude(recurrence="")}
    all_members: dict[int, list[Task]] = defaultdict(list)
    for t in mine.filter(series_id__in=list(heads)):
        all_members[t.series_id].append(t)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Guanxi tasks · %(user)s") % {"user": user})
    cal.add("x-published-ttl", "PT15M")
    recurrence_ids: dict[int, dt.datetime] = {}
    for head in heads.values():
        master, ids = _master(head, all_members[head.pk], base_url, now)
        cal.add_component(master)
        recurrence_ids.update(ids)
    for t in window:
        in_series = (t.series_id or t.pk) in heads and t.pk in recurrence_ids
        if t.status == TaskStatus.CANCELLED and not in_series:
            continue
        event = _event(t, base_url, now)
        if in_series:
            head = heads[t.series_id or t.pk]
            event.pop("uid")
            event.add("uid", uid(head))
            event.pop("sequence")
            event.add("sequence", max(t.version, head.version))
            rid = recurrence_ids[t.pk]
            event.add("recurrence-id", rid.date() if t.all_day else timezone.localtime(rid))
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
