"""Writes of tasks and appointments: create, update, complete, cancel, delete.

Every service is keyword-only with the actor first, atomic, validated (a
ValidationError keyed by field name), permission-checked before any write
(PermissionDenied, so a refused call changes nothing) and audited (with the
customer's id when the task is on a customer).

    task_create(*, actor, title, due_at, **data) -> Task
    task_update(*, actor, task, version, **data) -> Task
    task_complete(*, actor, task, outcome="", notes="", log_interaction=True, now=None) -> Task
    task_cancel(*, actor, task, stop_series=False) -> Task
    task_delete(*, actor, task) -> None

`data` keys are Task field names (see FIELDS); foreign keys are passed as objects
(assignee, customer, contact, lead, opportunity). Linking: a task on a deal takes the
deal's customer; a task on a lead has no customer.

Recurrence: the rule lives on the series head (the first task, `series` empty);
completing or cancelling an occurrence creates the next one in the series, the
next slot of the head's rule (dateutil.rrule, `recurrence_interval`, up to
`recurrence_until`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil import rrule
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import Role, User
from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as party_perms
from guanxi.parties.models import Contact, Customer

from .models import InteractionKind, Outcome, Recurrence, Task, TaskKind, TaskStatus

FIELDS = [
    "title", "kind", "assignee", "due_at", "end_at", "all_day", "location", "notes",
    "remind_minutes_before", "recurrence", "recurrence_interval", "recurrence_until",
    "customer", "contact", "lead", "opportunity",
]
AUDIT_FIELDS = FIELDS + ["status", "outcome", "done_at"]
LINK_FIELDS = ("customer", "lead", "opportunity")

# Task kinds whose completion logs an interaction on the customer's timeline.
LOGGED_KINDS = {
    TaskKind.CALL: InteractionKind.CALL,
    TaskKind.VISIT: InteractionKind.VISIT,
    TaskKind.MEETING: InteractionKind.MEETING,
    TaskKind.EMAIL: InteractionKind.EMAIL,
}
FREQ = {
    Recurrence.DAILY: rrule.DAILY,
    Recurrence.WEEKLY: rrule.WEEKLY,
    Recurrence.MONTHLY: rrule.MONTHLY,
    Recurrence.YEARLY: rrule.YEARLY,
}
# Roles that assign tasks to others: anyone (admin, director), their team subtree (manager).
ASSIGN_ANYONE = {Role.ADMIN, Role.DIRECTOR}


# --- Permissions ------------------------------------------------------------------------


def _role(user) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def can_create_task(user) -> bool:
    """Everyone active but the read-only role keeps tasks."""
    return bool(user.is_active and _role(user) != Role.READONLY)


def can_assign_to(user, assignee) -> bool:
    """Reps (and every other role) assign only to themselves, managers within their team
    subtree, directors and administrators to anyone."""
    if assignee.pk == user.pk:
        return True
    role = _role(user)
    if role in ASSIGN_ANYONE:
        return True
    if role == Role.MANAGER:
        return assignee.team_id is not None and assignee.team_id in user.team_subtree_ids()
    return False


def assignable_users(user) -> QuerySet[User]:
    """Active users `user` may give a task to (themselves first in any listing)."""
    qs = User.objects.filter(is_active=True)
    role = _role(user)
    if role in ASSIGN_ANYONE:
        return qs
    if role == Role.MANAGER and user.team_id:
        from django.db.models import Q

        return qs.filter(Q(pk=user.pk) | Q(team_id__in=user.team_subtree_ids()))
    return qs.filter(pk=user.pk)


def calendar_users(user) -> QuerySet[User]:
    """Users whose calendar `user` may look at: the same set as `assignable_users`."""
    return assignable_users(user)


def _may_read_links(user, *, customer=None, lead=None, opportunity=None) -> bool:
    from guanxi.sales.models import Lead, Opportunity

    if customer is not None and not Customer.objects.visible_to(user).filter(
            pk=customer.pk).exists():
        return False
    if lead is not None and not Lead.objects.visible_to(user).filter(pk=lead.pk).exists():
        return False
    return opportunity is None or Opportunity.objects.visible_to(user).filter(
        pk=opportunity.pk).exists()


def can_edit_task(user, task: Task) -> bool:
    """Edit, complete, cancel, delete: the assignee, the creator, or a manager, director or
    administrator who may edit the linked customer (a lead task: who may read the lead; a
    task without a link: the assignee's manager)."""
    if not can_create_task(user) or task.deleted_at is not None:
        return False
    if user.pk in (task.assignee_id, task.created_by_id):
        return True
    role = _role(user)
    if role not in ASSIGN_ANYONE | {Role.MANAGER}:
        return False
    if task.customer_id:
        return party_perms.can_edit_customer(user, task.customer)
    if task.lead_id:
        return _may_read_links(user, lead=task.lead)
    return role in ASSIGN_ANYONE or can_assign_to(user, task.assignee)


# --- Validation ---------------------------------------------------------------------------


def _local_midnight(value: dt.datetime) -> dt.datetime:
    day = timezone.localtime(value).date()
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def compute_remind_at(task: Task) -> dt.datetime | None:
    """due_at − remind_minutes_before (None when no reminder is set)."""
    if task.remind_minutes_before is None or task.due_at is None:
        return None
    return task.due_at - dt.timedelta(minutes=task.remind_minutes_before)


def _apply(task: Task, data: dict[str, Any]) -> None:
    """Set `data` on `task`, normalise and validate; raises ValidationError by field."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError({k: [_("Unknown field.")] for k in sorted(unknown)})
    for key, value in data.items():
        if key in ("title", "location", "notes"):
            value = (value or "").strip()
        elif key == "recurrence":
            value = value or ""
        elif key == "recurrence_interval" and value in (None, ""):
            value = 1
        setattr(task, key, value)
    errors: dict[str, list[str]] = {}
    if task.opportunity_id:
        opp_customer = task.opportunity.customer
        if "customer" in data and data["customer"] is not None and \
                data["customer"].pk != opp_customer.pk:
            errors["customer"] = [_("The deal belongs to another customer.")]
        task.customer = opp_customer
    if task.lead_id and task.customer_id:
        errors["lead"] = [_("A task is on a customer or on a lead, not both.")]
    if task.contact_id and task.contact.customer_id != task.customer_id:
        errors["contact"] = [_("This contact belongs to another customer.")]
    if not task.title:
        errors["title"] = [_("Give the task a title.")]
    if task.due_at is None:
        errors["due_at"] = [_("Say when the task is due.")]
    else:
        if task.all_day:
            task.due_at = _local_midnight(task.due_at)
            if task.end_at is not None:
                task.end_at = _local_midnight(task.end_at)
        if task.end_at is not None and task.end_at < task.due_at:
            errors["end_at"] = [_("The end is before the start.")]
        if task.recurrence and task.recurrence_until is not None and \
                task.recurrence_until < timezone.localtime(task.due_at).date():
            errors["recurrence_until"] = [_("The last repetition is before the first.")]
    if task.recurrence_interval is None or task.recurrence_interval < 1:
        errors["recurrence_interval"] = [_("Repeat at least every 1.")]
    if task.assignee_id and not task.assignee.is_active:
        errors["assignee"] = [_("This user is not active.")]
    try:
        task.full_clean(exclude=["assignee", "created_by", "customer", "contact", "lead",
                                 "opportunity", "series", "interaction", "deleted_by"])
    except ValidationError as exc:
        for k, v in exc.message_dict.items():
            errors.setdefault(k, v)
    if errors:
        raise ValidationError(errors)
    task.remind_at = compute_remind_at(task)


def _check_links(actor, task: Task, data: dict[str, Any]) -> None:
    """The actor must read every record the task is (newly) linked to."""
    links = {k: getattr(task, k) for k in LINK_FIELDS if k in data and getattr(task, k)}
    if links and not _may_read_links(actor, **links):
        raise PermissionDenied(_("You may not add a task to this record."))


def _check_assignee(actor, assignee) -> None:
    if assignee is not None and not can_assign_to(actor, assignee):
        raise PermissionDenied(_("You may not give tasks to %(user)s.") % {"user": assignee})


# --- Services ---------------------------------------------------------------------------


@transaction.atomic
def task_create(*, actor, **data: Any) -> Task:
    """Create a task or appointment; the assignee defaults to the actor."""
    if not can_create_task(actor):
        raise PermissionDenied(_("You may not create tasks."))
    data.setdefault("assignee", actor)
    task = Task(created_by=actor, status=TaskStatus.OPEN)
    _check_assignee(actor, data["assignee"])
    _apply(task, data)
    _check_links(actor, task, {**data, "customer": task.customer})
    task.save()
    audit.record_create(actor=actor, obj=task, fields=AUDIT_FIELDS, customer_id=task.customer_id)
    return task


def _locked(task: Task) -> Task:
    # Only the task row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of
    # the outer joins select_related makes.
    return Task.all_objects.select_for_update(of=("self",)).select_related(
        "customer", "assignee", "lead", "opportunity").get(pk=task.pk)


def _require_edit(actor, task: Task) -> None:
    if not can_edit_task(actor, task):
        raise PermissionDenied(_("You may not change this task."))


def _save_changes(actor, task: Task, before: dict[str, Any]) -> dict[str, list[Any]]:
    changes = audit.diff(before, audit.snapshot(task, AUDIT_FIELDS))
    if changes:
        task.version += 1
        task.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=task, changes=changes,
                     customer_id=task.customer_id)
    return changes


@transaction.atomic
def task_update(*, actor, task: Task, version: int | None, **data: Any) -> Task:
    """Change a task (optimistic concurrency: `version` as loaded, None skips the check).
    A new due time or reminder recomputes `remind_at` and re-arms the reminder."""
    task = _locked(task)
    _require_edit(actor, task)
    check_version(task, version)
    if "assignee" in data and data["assignee"] is not None and \
            data["assignee"].pk != task.assignee_id:
        _check_assignee(actor, data["assignee"])
    before = audit.snapshot(task, AUDIT_FIELDS)
    old_links = {k: getattr(task, f"{k}_id") for k in LINK_FIELDS}
    old_remind = task.remind_at
    _apply(task, data)
    # Only links that change are checked: an old link stays even if no longer readable.
    _check_links(actor, task, {k: 1 for k in LINK_FIELDS
                               if getattr(task, f"{k}_id") != old_links[k]})
    if task.remind_at != old_remind:
        task.reminded_at = None
    _save_changes(actor, task, before)
    return task


def _interaction_data(task: Task, outcome: str, notes: str, now: dt.datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": LOGGED_KINDS[task.kind], "subject": task.title[:200], "outcome": outcome,
        "body": notes or task.notes, "contact": task.contact, "occurred_at": now,
    }
    if task.end_at and task.end_at > task.due_at and not task.all_day:
        data["duration_minutes"] = int((task.end_at - task.due_at).total_seconds() // 60)
    return data


@transaction.atomic
def task_complete(*, actor, task: Task, outcome: str = "", notes: str = "",
                  log_interaction: bool = True, now: dt.datetime | None = None) -> Task:
    """Mark an open task done. A call, visit, meeting or e-mail task on a customer logs
    the interaction (kind mapped, subject = title, the outcome, the contact, the deal),
    kept in `task.interaction`. A recurring task creates its next occurrence, returned
    as `task.next_occurrence` (None when the series ends)."""
    from .services import interaction_create

    now = now or timezone.now()
    task = _locked(task)
    _require_edit(actor, task)
    if task.status != TaskStatus.OPEN:
        raise ValidationError({"status": [_("Only an open task can be completed.")]})
    outcome = outcome or ""
    if outcome and outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Choose a valid outcome.")]})
    notes = (notes or "").strip()
    before = audit.snapshot(task, AUDIT_FIELDS)
    if log_interaction and task.kind in LOGGED_KINDS and task.customer_id:
        interaction = interaction_create(actor=actor, customer=task.customer,
                                         opportunity=task.opportunity,
                                         **_interaction_data(task, outcome, notes, now))
        task.interaction = interaction
    task.status, task.done_at, task.outcome = TaskStatus.DONE, now, outcome
    if notes:
        task.notes = f"{task.notes}\n\n{notes}".strip()
    _save_changes(actor, task, before)
    task.next_occurrence = _next_occurrence(actor, task)
    return task


@transaction.atomic
def task_cancel(*, actor, task: Task, stop_series: bool = False) -> Task:
    """Cancel an open task. In a series the next occurrence still comes, unless
    `stop_series`, which ends the series here."""
    task = _locked(task)
    _require_edit(actor, task)
    if task.status != TaskStatus.OPEN:
        raise ValidationError({"status": [_("Only an open task can be cancelled.")]})
    before = audit.snapshot(task, AUDIT_FIELDS)
    task.status = TaskStatus.CANCELLED
    if stop_series:
        task.recurrence = Recurrence.NONE
    _save_changes(actor, task, before)
    task.next_occurrence = _next_occurrence(actor, task)
    return task


@transaction.atomic
def task_delete(*, actor, task: Task) -> None:
    """Move a task to the recycle bin."""
    task = _locked(task)
    _require_edit(actor, task)
    task.deleted_at = timezone.now()
    task.deleted_by = actor
    task.version += 1
    task.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=task, customer_id=task.customer_id)


# --- Recurrence ---------------------------------------------------------------------------


def series_head(task: Task) -> Task:
    return task.series if task.series_id else task


def series_position(task: Task) -> int:
    """0 for the head, n for the head's n-th later occurrence."""
    if not task.series_id:
        return 0
    return Task.all_objects.filter(series_id=task.series_id, pk__lt=task.pk).count() + 1


def series_rule(head: Task) -> rrule.rrule | None:
    """The head's rule in local (naive) time, or None when the head does not repeat."""
    freq = FREQ.get(head.recurrence)
    if freq is None:
        return None
    start = timezone.localtime(head.due_at).replace(tzinfo=None)
    until = None
    if head.recurrence_until:
        until = dt.datetime.combine(head.recurrence_until, dt.time.max)
    return rrule.rrule(freq, dtstart=start, interval=max(1, head.recurrence_interval or 1),
                       until=until)


def slot(head: Task, position: int) -> dt.datetime | None:
    """The aware start of the series' `position`-th slot (None past the rule's end)."""
    rule = series_rule(head)
    if rule is None:
        return None
    for i, start in enumerate(rule):
        if i == position:
            return timezone.make_aware(start)
        if i > position:
            break
    return None


def _next_occurrence(actor, task: Task) -> Task | None:
    """Create the occurrence after `task` when the series goes on (task still repeats)."""
    if not task.recurrence:
        return None
    head = series_head(task)
    nxt = slot(head, series_position(task) + 1)
    if nxt is None:
        return None
    length = task.end_at - task.due_at if task.end_at else None
    occurrence = Task(
        title=task.title, kind=task.kind, status=TaskStatus.OPEN, assignee=task.assignee,
        created_by=task.created_by, due_at=nxt, end_at=nxt + length if length else None,
        all_day=task.all_day, location=task.location,
        remind_minutes_before=task.remind_minutes_before, recurrence=task.recurrence,
        recurrence_interval=task.recurrence_interval, recurrence_until=task.recurrence_until,
        series=head, customer=task.customer, contact=task.contact, lead=task.lead,
        opportunity=task.opportunity,
    )
    occurrence.remind_at = compute_remind_at(occurrence)
    occurrence.save()
    audit.record_create(actor=actor, obj=occurrence, fields=AUDIT_FIELDS,
                        customer_id=occurrence.customer_id)
    return occurrence


def task_contacts(customer: Customer | None) -> QuerySet[Contact]:
    """Contacts a task on `customer` may name."""
    if customer is None:
        return Contact.objects.none()
    return Contact.objects.filter(customer=customer)
