"""Demo service desk: ids in date order, and the generated objects as table rows."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from .commerce import Formats
from .service_objects import ServiceBatch, _Survey
from .service_staff import ServiceSkeleton

TICKET_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "contact_id", "type_id",
    "queue_id", "assignee_id", "subject", "description", "channel", "priority", "status",
    "asset_id", "order_id", "contract_id", "product_id", "sla_policy_id",
    "first_response_due_at", "resolution_due_at", "first_responded_at", "resolved_at",
    "closed_at", "response_warned_at", "resolution_warned_at", "response_breached",
    "resolution_breached", "escalated_at", "escalated_to_id", "merged_into_id",
    "time_spent_minutes", "created_by_id",
)
MESSAGE_COLUMNS = ("ticket_id", "kind", "body", "author_id", "created_at", "emailed_to",
                   "time_spent_minutes")
VISIT_COLUMNS = (
    "id", "created_at", "updated_at", "version", "ticket_id", "customer_id", "technician_id",
    "scheduled_start", "scheduled_end", "address", "status", "instructions", "work_done",
    "parts_used", "signed_off_by", "time_spent_minutes", "travel_minutes", "outcome",
    "completed_at", "created_by_id",
)
TIME_COLUMNS = ("customer_id", "user_id", "kind", "minutes", "on", "ticket_id", "visit_id",
                "created_at")
COMPLAINT_COLUMNS = (
    "ticket_id", "version", "severity", "root_cause_category", "root_cause",
    "corrective_action", "corrective_done_on", "follow_up_task_id", "follow_up_done_at",
    "follow_up_satisfied", "follow_up_notes", "created_at",
)
SURVEY_COLUMNS = (
    "kind", "customer_id", "contact_id", "ticket_id", "campaign_id", "agent_id", "queue_id",
    "email", "sent_at", "expires_at", "answered_at", "score", "comment", "follow_up_task_id",
)
TASK_COLUMNS = (
    "id", "created_at", "updated_at", "version", "title", "kind", "status", "assignee_id",
    "created_by_id", "due_at", "notes", "customer_id", "contact_id", "done_at", "outcome",
)


@dataclass
class ServiceIds:
    ticket: int
    visit: int
    task: int


def _assign(out: ServiceBatch, ids: ServiceIds) -> None:
    out.tickets.sort(key=lambda t: (t.created, t.customer.id))
    for t in out.tickets:
        t.id, ids.ticket = ids.ticket, ids.ticket + 1
    visits = sorted((v for t in out.tickets for v in t.visits), key=lambda v: v.start)
    for v in visits:
        v.id, ids.visit = ids.visit, ids.visit + 1
    ref = {id(t.complaint_task): t for t in out.tickets if t.complaint_task}
    ref.update({id(t.survey.task): t for t in out.tickets if t.survey and t.survey.task})
    for task in sorted(out.tasks, key=lambda x: (x.due, x.customer)):
        task.id, ids.task = ids.task, ids.task + 1
        ticket = ref.get(id(task))
        if ticket is not None:
            task.title = task.title.replace("{ref}", f"T{ticket.id:06d}")


@dataclass
class ServiceRows:
    tickets: list[tuple] = field(default_factory=list)
    messages: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    time_entries: list[tuple] = field(default_factory=list)
    complaints: list[tuple] = field(default_factory=list)
    surveys: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)


def _rows(out: ServiceBatch, sk: ServiceSkeleton, fmt: Formats,
          zone: dt.tzinfo) -> ServiceRows:
    rows = ServiceRows()
    f, d = fmt.dt, fmt.date

    def day(value: dt.datetime):
        return d(value.astimezone(zone).date())

    def opt(value):
        return f(value) if value is not None else None

    for t in out.tickets:
        cid = t.customer.id
        minutes = 0
        for kind, body, author, at, to, spent in t.messages:
            if t.merged_into is not None and kind == "system":
                body = body.format(ref=f"T{t.merged_into.id:06d}")
            rows.messages.append((t.id, kind, body, author, f(at), to, spent))
            if spent and author:
                rows.time_entries.append((cid, author, "ticket", spent, day(at), t.id, None,
                                          f(at)))
                minutes += spent
        for v in t.visits:
            created = v.created or min(v.start, t.updated)
            updated = v.completed or created
            rows.visits.append((
                v.id, f(created), f(updated), 1 + (v.status != "scheduled"), t.id, cid,
                v.technician, f(v.start), f(v.end), v.address, v.status,
                v.instructions, v.work_done, json.dumps(v.parts, ensure_ascii=False),
                v.signed_off_by, v.minutes, v.travel, v.outcome, opt(v.completed),
                v.created_by))
            if v.status == "done":
                stamp = f(v.completed)
                rows.time_entries.append((cid, v.technician, "visit", v.minutes, day(v.start),
                                          t.id, v.id, stamp))
                rows.time_entries.append((cid, v.technician, "travel", v.travel, day(v.start),
                                          t.id, v.id, stamp))
                minutes += v.minutes + v.travel
        rows.tickets.append((
            t.id, f(t.created), f(t.updated), len(t.messages) + 1, cid,
            t.contact[0] if t.contact else None, sk.types[t.type][0], sk.queues[t.queue],
            t.assignee,
            t.subject, t.description, t.channel, t.priority, t.status,
            t.asset.id if t.asset else None, t.order.id if t.order else None,
            t.contract.id if t.contract else None, t.product, t.policy, opt(t.resp_due),
            opt(t.resol_due), opt(t.responded), opt(t.resolved), opt(t.closed),
            opt(t.resp_warned), opt(t.resol_warned), t.resp_breached, t.resol_breached,
            opt(t.escalated_at), t.escalated_to, t.merged_into.id if t.merged_into else None,
            minutes, t.created_by))
        if t.complaint:
            severity, category, cause, action, done_on, follow_done, satisfied, notes = \
                t.complaint
            task = t.complaint_task
            rows.complaints.append((
                t.id, 1 + bool(t.resolved) + bool(follow_done), severity,
                category if cause else "", cause, action, d(done_on) if done_on else None,
                task.id if task else None, opt(follow_done), satisfied, notes, f(t.created)))
        if t.survey:
            rows.surveys.append(_survey_row(t.survey, t.id, f))
    for s in out.surveys:
        rows.surveys.append(_survey_row(s, None, f))
    for task in out.tasks:
        created = task.created
        rows.tasks.append((
            task.id, f(created), f(task.done_at or created), 1 + (task.status != "open"),
            task.title, "call", task.status, task.assignee, task.created_by, f(task.due),
            task.notes, task.customer, task.contact, opt(task.done_at), task.outcome))
    return rows


def _survey_row(s: _Survey, ticket_id: int | None, f) -> tuple:
    return (s.kind, s.customer, s.contact, ticket_id, s.campaign, s.agent, s.queue, s.email,
            f(s.sent), f(s.expires), f(s.answered) if s.answered else None, s.score, s.comment,
            s.task.id if s.task else None)
