"""SLA warnings before breach and escalation on breach, run by the scheduler.

    pending(now) -> bool                      is anything to warn about or to escalate?
    run_sla_checks(now=None) -> dict          warn and escalate (idempotent)
    sla_checks_job / start_sla_checks         the background job (periodic.py starts it)

Warning: once `warn_percent` (the ticket's policy, default 75) of a target's business
hours has elapsed and the target is still open, `*_warned_at` is set, the assignee is
e-mailed (unassigned: the queue's members and manager) and a system message is added.

Escalation: once a target's due time has passed while still open, `*_breached` is
set, the ticket is escalated to the queue's manager (else an active director, else an
administrator): escalated_at / escalated_to, an e-mail, a system message and an audit
entry.

Each ticket is claimed with a conditional UPDATE (`… WHERE *_warned_at IS NULL` /
`… WHERE *_breached = false`), so two runs, or two schedulers, warn and escalate once.
The candidate queries use the (status, *_due_at) indexes. E-mails go out after the
claim is committed; a failed send is logged (the system message stays on the ticket).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.accounts.models import Role, User
from guanxi.core import audit
from guanxi.core.jobs import job_body, job_progress, start_job
from guanxi.core.models import AuditAction, Job

from . import calendar as bcal
from .models import OPEN_TICKET_STATUSES, MessageKind, SlaPolicy, Ticket, TicketMessage

log = logging.getLogger(__name__)
DEFAULT_WARN_PERCENT = 75
SLA_CHECKS = "sla_checks"


@dataclass(frozen=True)
class Target:
    """One of the two SLA targets of a ticket and the fields that track it."""

    key: str
    due: str
    warned: str
    breached: str
    hours: str  # SlaPolicy field
    done: str | None  # set once the target is met (None: met by leaving the open states)


RESPONSE = Target("response", "first_response_due_at", "response_warned_at",
                  "response_breached", "first_response_hours", "first_responded_at")
RESOLUTION = Target("resolution", "resolution_due_at", "resolution_warned_at",
                    "resolution_breached", "resolution_hours", None)
TARGETS = (RESPONSE, RESOLUTION)


def _open(target: Target) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES,
                               **{f"{target.due}__isnull": False, target.breached: False})
    if target.done:
        qs = qs.filter(**{f"{target.done}__isnull": True})
    return qs


# ---------------------------------------------------------------- candidates


def _calendar_ahead(now: dt.datetime, policies: list[SlaPolicy]) -> bcal.WorkCalendar:
    longest = max([float(getattr(p, t.hours)) for p in policies for t in TARGETS] or [0])
    today = timezone.localtime(now).date()
    last = bcal._guess_last(today, dt.timedelta(hours=longest), None)
    return bcal.load(today, last)


def _warn_window(target: Target, now: dt.datetime) -> Q:
    """Tickets whose remaining business time is within their policy's warning share:
    due <= now + (100 - warn%) % of the target, in business hours."""
    policies = list(SlaPolicy.objects.all())
    cal = _calendar_ahead(now, policies)
    q = Q(pk__in=[])
    longest = 0.0
    for p in policies:
        share = float(getattr(p, target.hours)) * (100 - p.warn_percent) / 100
        longest = max(longest, float(getattr(p, target.hours)))
        q |= Q(sla_policy=p, **{f"{target.due}__lte": bcal.add_business_hours(now, share, cal)})
    share = longest * (100 - DEFAULT_WARN_PERCENT) / 100
    q |= Q(sla_policy__isnull=True,
           **{f"{target.due}__lte": bcal.add_business_hours(now, share, cal)})
    return q


def warning_candidates(target: Target, now: dt.datetime) -> QuerySet[Ticket]:
    return (_open(target).filter(**{f"{target.warned}__isnull": True, f"{target.due}__gt": now})
            .filter(_warn_window(target, now)))


def breach_candidates(target: Target, now: dt.datetime) -> QuerySet[Ticket]:
    return _open(target).filter(**{f"{target.due}__lte": now})


def pending(now: dt.datetime | None = None) -> bool:
    """Cheap check for the scheduler: is there anything to warn about or escalate?"""
    now = now or timezone.now()
    return any(breach_candidates(t, now).exists() or warning_candidates(t, now).exists()
               for t in TARGETS)


def _due_for_warning(ticket: Ticket, target: Target, now: dt.datetime,
                     cal: bcal.WorkCalendar) -> bool:
    """The exact rule: elapsed business time >= warn% of the ticket's own target."""
    due = getattr(ticket, target.due)
    total = bcal.business_hours_between(ticket.created_at, due, cal)
    left = bcal.business_hours_between(now, due, cal)
    percent = ticket.sla_policy.warn_percent if ticket.sla_policy_id else DEFAULT_WARN_PERCENT
    return total <= 0 or (total - left) >= total * percent / 100 - 1e-9


# ---------------------------------------------------------------- recipients and mail


def _active(users) -> list[User]:
    return [u for u in users if u is not None and u.is_active]


def warning_recipients(ticket: Ticket) -> list[User]:
    """The assignee; an unassigned ticket: its queue's members and manager."""
    if ticket.assignee_id and ticket.assignee.is_active:
        return [ticket.assignee]
    people = list(ticket.queue.members.filter(is_active=True).order_by("pk"))
    if ticket.queue.manager_id and ticket.queue.manager not in people:
        people.append(ticket.queue.manager)
    return _active(people)


def escalation_target(ticket: Ticket) -> User | None:
    """The queue's manager, else an active director, else an active administrator."""
    manager = ticket.queue.manager
    if manager is not None and manager.is_active:
        return manager
    for role in (Role.DIRECTOR, Role.ADMIN):
        user = User.objects.filter(role=role, is_active=True).order_by("pk").first()
        if user is not None:
            return user
    return User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()


def _when(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def ticket_url(ticket: Ticket) -> str:
    try:
        path = reverse("service:ticket_detail", args=[ticket.pk])
    except NoReverseMatch:
        return ""
    return getattr(settings, "GUANXI_BASE_URL", "").rstrip("/") + path


def _texts(ticket: Ticket, target: Target, kind: str, now: dt.datetime,
           to: User | None = None) -> tuple[str, str]:
    """(subject, system message) of a warning or an escalation, in the site language."""
    due = _when(getattr(ticket, target.due))
    what = _("first response") if target is RESPONSE else _("resolution")
    values = {"ref": ticket.reference, "what": what, "due": due,
              "user": str(to) if to else _("nobody")}
    if kind == "warning":
        subject = _("[%(ref)s] SLA warning: %(what)s due %(due)s") % values
        body = _("SLA warning: the %(what)s of this ticket is due %(due)s.") % values
    else:
        subject = _("[%(ref)s] SLA breached: %(what)s was due %(due)s") % values
        body = _("SLA breached: the %(what)s of this ticket was due %(due)s. "
                 "Escalated to %(user)s.") % values
    return subject, body


def _mail_body(ticket: Ticket, line: str) -> str:
    lines = [line, "", f"{ticket.reference} {ticket.subject}",
             _("Customer: %(name)s") % {"name": ticket.customer.name},
             _("Queue: %(name)s") % {"name": ticket.queue.name},
             _("Priority: %(p)s") % {"p": ticket.get_priority_display()}]
    url = ticket_url(ticket)
    if url:
        lines += ["", url]
    return "\n".join(lines)


def _send(subject: str, body: str, emails: list[str], ticket: Ticket) -> None:
    if not emails:
        return
    try:
        send_mail(subject.replace("\n", " ")[:200], body, None, emails)
    except Exception:  # the claim and the system message stay; the log says why
        log.exception("could not e-mail the SLA notice of ticket %s", ticket.pk)


# ---------------------------------------------------------------- warn and escalate


def warn(ticket: Ticket, target: Target, now: dt.datetime) -> bool:
    """Warn about one target of one ticket, once. True when this call warned."""
    with transaction.atomic():
        claimed = Ticket.all_objects.filter(
            pk=ticket.pk, status__in=OPEN_TICKET_STATUSES,
            **{f"{target.warned}__isnull": True}).update(**{target.warned: now})
        if not claimed:
            return False
        setattr(ticket, target.warned, now)
        people = warning_recipients(ticket)
        emails = [u.email for u in people if u.email]
        with translation.override(settings.LANGUAGE_CODE):
            subject, line = _texts(ticket, target, "warning", now)
            body = _mail_body(ticket, line)
        TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM, body=line,
                                     created_at=now, emailed_to=", ".join(emails)[:254])
    _send(subject, body, emails, ticket)
    return True


def escalate(ticket: Ticket, target: Target, now: dt.datetime) -> bool:
    """Mark one target breached and escalate, once. True when this call escalated."""
    to = escalation_target(ticket)
    with transaction.atomic():
        still = {target.breached: False, f"{target.due}__lte": now}
        if target.done:
            still[f"{target.done}__isnull"] = True
        claimed = Ticket.all_objects.filter(
            pk=ticket.pk, status__in=OPEN_TICKET_STATUSES, **still
        ).update(**{target.breached: True, "escalated_at": now, "escalated_to": to})
        if not claimed:
            return False
        before = {target.breached: False, "escalated_at": audit._display(ticket.escalated_at),
                  "escalated_to": audit._display(ticket.escalated_to)}
        setattr(ticket, target.breached, True)
        ticket.escalated_at, ticket.escalated_to = now, to
        after = {target.breached: True, "escalated_at": audit._display(now),
                 "escalated_to": audit._display(to)}
        audit.record(actor=None, action=AuditAction.UPDATE, obj=ticket,
                     changes=audit.diff(before, after), customer_id=ticket.customer_id)
        emails = [to.email] if to is not None and to.email else []
        with translation.override(settings.LANGUAGE_CODE):
            subject, line = _texts(ticket, target, "escalation", now, to)
            body = _mail_body(ticket, line)
        TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM, body=line,
                                     created_at=now, emailed_to=", ".join(emails)[:254])
    _send(subject, body, emails, ticket)
    return True


def _related(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.select_related("customer", "queue", "queue__manager", "assignee", "sla_policy",
                             "escalated_to").order_by("pk")


def run_sla_checks(now: dt.datetime | None = None) -> dict[str, int]:
    """Escalate every breached target and warn about every target at risk."""
    now = now or timezone.now()
    counts = {"escalated": 0, "warned": 0}
    for target in TARGETS:
        for ticket in _related(breach_candidates(target, now)):
            counts["escalated"] += escalate(ticket, target, now)
    for target in TARGETS:
        tickets = list(_related(warning_candidates(target, now)))
        if not tickets:
            continue
        first = min(timezone.localtime(t.created_at).date() for t in tickets)
        last = max(timezone.localtime(getattr(t, target.due)).date() for t in tickets)
        cal = bcal.load(min(first, timezone.localtime(now).date()), last)
        for ticket in tickets:
            if _due_for_warning(ticket, target, now, cal):
                counts["warned"] += warn(ticket, target, now)
    return counts


# ---------------------------------------------------------------- the background job


@task()
@job_body
def sla_checks_job(job: Job, now: str | None = None) -> dict[str, Any]:
    """Background job: SLA warnings and escalations."""
    counts = run_sla_checks(dt.datetime.fromisoformat(now) if now else None)
    done = counts["warned"] + counts["escalated"]
    job_progress(job.pk, done, done, force=True)
    return counts


def start_sla_checks(*, actor=None, now: dt.datetime | None = None) -> Job:
    return start_job(actor=actor, kind=SLA_CHECKS, title=gettext_noop("SLA warnings and "
                                                                      "escalations"),
                     task=sla_checks_job,
                     params={"now": now.isoformat()} if now is not None else {})


def scheduled(now: dt.datetime | None = None) -> Job | None:
    """The scheduler's entry: a job only when something is due (no empty job rows)."""
    if not pending(now):
        return None
    return start_sla_checks(now=now)
