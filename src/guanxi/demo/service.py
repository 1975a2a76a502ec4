"""Demo ERP mirror and service desk: loaded after the sales rows, consistent with them.

`load_commerce_and_service` is the loader's hook. It creates the service staff (a
department manager, technicians per region, systems and sales-office staff) and puts
them in the seeded queues, then goes through the customers in batches: the commerce
rows of their won deals (commerce.py), then a year of tickets — equipment faults on
the installed assets, delivery and payment questions around the orders and invoices,
requests, feedback and complaints — with replies and internal notes, SLA targets in
business hours (the default working calendar, holidays and make-up days included),
field visits with their reports, time entries, complaint handling with a follow-up
call, CSAT surveys and one NPS campaign. Most tickets are closed; the recent ones are
open, a few of them at risk or breached, and every technician has visits booked in
the coming days.

Deterministic: one random stream per customer from the seed; ids in date order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import importlib
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Min

from guanxi.core.bulk import insert_statement

from . import commerce
from .commerce import CustomerCommerce, CustomerInfo, Deal, Formats
from .service_vocab import (
    CAUSES,
    COMPLAINT_CATEGORY_OF,
    COMPLAINT_CAUSES,
    COMPLAINT_FOLLOW_UP_NOTES,
    COMPLAINT_FOLLOW_UP_TITLE,
    CSAT_COMMENTS,
    CUSTOMER_REPLIES,
    ENGINEERING_TEAM,
    FIRST_REPLIES,
    NOTES,
    NPS_COMMENTS,
    NPS_FOLLOW_UP_TITLE,
    NPS_MESSAGE,
    NPS_NAME,
    PARTS,
    QUEUE_STAFF,
    RENEWED_DESCRIPTION,
    RENEWED_SUBJECT,
    RESOLUTIONS,
    SERVICE_USERS,
    SURVEY_FOLLOW_UP_TITLE,
    SYSTEM_CLOSED,
    SYSTEM_ESCALATED,
    SYSTEM_MERGED,
    TICKETS,
    VISIT_FOLLOW_UP,
    VISIT_INSTRUCTIONS,
    VISIT_REQUESTS,
    VISIT_WORK,
)

BATCH = 20_000  # customers per batch (memory stays flat for big loads)
YEAR = 365
UPCOMING_VISITS = 3  # per technician, in the next working days
STUCK = (0.8, 0.88, 0.95, 1.3, 1.8, 3.0)  # open tickets: share of the target used up
NPS_DAYS_AGO = 40
NPS_SEGMENT = {"stage": "customer"}  # customer-list filter parameters
CSAT_EXPIRES_DAYS = 7  # surveys.DEFAULT_EXPIRES_DAYS
COMPLAINT_FOLLOW_UP_DAYS = 3  # complaint_services.DEFAULT_FOLLOW_UP_DAYS

# Tickets per year: per installed asset, per legacy customer (bought before the CRM's
# history: stage customer/loyal without a won deal on record), per other customer.
ASSET_RATES = {"equipment_fault": 1.1, "system_fault": 0.2, "request": 0.45}
LEGACY_RATES = {"equipment_fault": 0.5, "system_fault": 0.08, "request": 0.3, "feedback": 0.04}
OTHER_RATES = {"request": 0.04, "feedback": 0.01}
CHANNELS = {
    "equipment_fault": (("phone", 55), ("email", 10), ("web", 10), ("visit", 8), ("other", 17)),
    "system_fault": (("phone", 45), ("email", 25), ("web", 15), ("other", 15)),
    "contract_delivery": (("phone", 50), ("email", 35), ("other", 15)),
    "payment": (("phone", 40), ("email", 50), ("other", 10)),
    "complaint": (("phone", 65), ("email", 20), ("web", 10), ("other", 5)),
    "request": (("phone", 45), ("email", 25), ("web", 20), ("other", 10)),
    "feedback": (("web", 40), ("email", 30), ("phone", 20), ("other", 10)),
}
PRIORITIES = {
    "equipment_fault": (("urgent", 20), ("high", 60), ("normal", 20)),
    "system_fault": (("high", 50), ("normal", 50)),
    "contract_delivery": (("normal", 80), ("high", 10), ("low", 10)),
    "payment": (("normal", 85), ("low", 15)),
    "request": (("normal", 70), ("low", 30)),
    "feedback": (("low", 100),),
}
SEVERITY = (("minor", 60), ("major", 32), ("critical", 8))
SEVERITY_PRIORITY = {"minor": "high", "major": "high", "critical": "urgent"}
CSAT_SCORES = ((5, 60), (4, 28), (3, 7), (2, 3), (1, 2))
CSAT_SCORES_BREACHED = ((5, 30), (4, 30), (3, 20), (2, 12), (1, 8))

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


def _weighted(rnd, pairs):
    total = sum(w for _, w in pairs)
    x = rnd() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


def _poisson(rnd, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rnd()
    while p > limit:
        k += 1
        p *= rnd()
    return k


# --- Working calendar --------------------------------------------------------------------


class WorkCalendar:
    """The default service calendar (servicedesk.calendar: working hours, public holidays,
    make-up working days) loaded once for the demo's span; aware local datetimes.

    `add` answers like servicedesk.calendar.add_business_hours (the tests compare every
    ticket's targets with it) from a table of business seconds before each day, since
    the demo asks it some 50,000 times for 20,000 customers."""

    def __init__(self, today: dt.date):
        from guanxi.servicedesk import calendar

        self._maths = calendar
        self.first = today - dt.timedelta(days=YEAR + 60)
        self.last = today + dt.timedelta(days=YEAR)
        self.snapshot = calendar.load(self.first, self.last)
        self.zone = calendar.local_zone()
        self.periods = [(a.hour * 3600 + a.minute * 60 + a.second,
                         b.hour * 3600 + b.minute * 60 + b.second)
                        for a, b in self.snapshot.periods()]
        day_length = sum(b - a for a, b in self.periods)
        self.before: list[int] = []  # business seconds from `first` to each day's start
        total, day = 0, self.first
        while day <= self.last:
            self.before.append(total)
            total += day_length if self.snapshot.is_working_day(day) else 0
            day += dt.timedelta(days=1)
        self.before.append(total)

    def _position(self, moment: dt.datetime) -> float | None:
        local = moment.astimezone(self.zone)
        k = (local.date() - self.first).days
        if not 0 <= k < len(self.before) - 1:
            return None
        pos = self.before[k]
        if self.before[k + 1] > pos:  # a working day: add the time worked before `moment`
            secs = local.hour * 3600 + local.minute * 60 + local.second + \
                local.microsecond / 1e6
            pos += sum(max(0, min(secs, b) - a) for a, b in self.periods)
        return pos

    def hours_between(self, a: dt.datetime, b: dt.datetime) -> float:
        pa, pb = self._position(a), self._position(b)
        if pa is None or pb is None:
            return self._maths.business_hours_between(a, b, self.snapshot)
        return (pb - pa) / 3600

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` (> 0) business hours after `start`."""
        pos = self._position(start)
        target = None if pos is None else pos + hours * 3600
        if target is None or target > self.before[-1]:
            return self._maths.add_business_hours(start, hours, self.snapshot)
        k = bisect.bisect_left(self.before, target) - 1  # the day the target falls in
        left = target - self.before[k]
        for a, b in self.periods:
            if left <= b - a:
                day = self.first + dt.timedelta(days=k)
                return dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(
                    seconds=a + left)
            left -= b - a
        return self._maths.add_business_hours(start, hours, self.snapshot)

    def is_workday(self, day: dt.date) -> bool:
        return self.snapshot.is_working_day(day)

    def between(self, a: dt.datetime, b: dt.datetime) -> float:
        return self._maths.business_hours_between(a, b, self.snapshot)

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        return self._maths.add_business_days(start, days, self.snapshot)

    def workday(self, day: dt.date, ahead: int = 0) -> dt.date:
        """`day` if it is a working day (else the next one), then `ahead` more."""
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        for _ in range(ahead):
            day += dt.timedelta(days=1)
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
        return day

    def workday_before(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day -= dt.timedelta(days=1)
        return day


# --- Staff and queues (ORM) --------------------------------------------------------------


@dataclass
class ServiceSkeleton:
    queues: dict[str, int]  # queue code → id
    types: dict[str, tuple[int, str]]  # type code → (id, queue code)
    members: dict[str, list[int]]  # queue code → user ids
    managers: dict[str, int | None]
    technicians: dict[str, list[int]]  # region → user ids
    agents: list[int]  # customer service
    policies: dict[tuple[str, str], tuple[int, float, float, int]]  # (tier, priority) → …
    names: dict[int, str]  # user id → display name
    marketing: int | None = None


def _ensure_defaults() -> None:
    """Queues, ticket types, SLA policies and the calendar come from a migration;
    `demo --reset` flushed them, so they are created again the same way."""
    from django.apps import apps

    from guanxi.servicedesk.models import BusinessCalendar, Queue, SlaPolicy, TicketType

    if Queue.objects.exists() and TicketType.objects.exists() and SlaPolicy.objects.exists() \
            and BusinessCalendar.objects.filter(is_default=True).exists():
        return
    module = importlib.import_module("guanxi.servicedesk.migrations.0002_defaults")
    module.forwards(apps, None)


def build_service_skeleton(skeleton) -> ServiceSkeleton:
    """Create (or reuse) the service teams and staff and staff the seeded queues."""
    from guanxi.accounts.models import Role, Team, TeamKind, User
    from guanxi.servicedesk.models import Queue, SlaPolicy, TicketType

    from .company import DEMO_PASSWORD, USERS, _mobile, _team
    from .geo import COMPANY_DOMAIN

    _ensure_defaults()
    company = Team.objects.get(pk=skeleton.company_id)
    teams = {t.name: t for t in Team.objects.filter(parent=company)}
    for name in (ENGINEERING_TEAM, "系统部", "销售内勤"):
        if name not in teams:
            teams[name] = _team(name, TeamKind.DEPARTMENT, company)
    for _u, _d, team_name, region in SERVICE_USERS:
        if region and team_name not in teams:
            teams[team_name] = _team(team_name, TeamKind.DEPARTMENT, teams[ENGINEERING_TEAM])
    # Every demo user has the same password: reuse the hash made for the others.
    password = User.objects.filter(username=USERS[0][0]).values_list("password", flat=True) \
        .first()
    if not password:
        from django.contrib.auth.hashers import make_password

        password = make_password(DEMO_PASSWORD)
    users = {u.username: u for u in User.objects.filter(
        username__in=[u[0] for u in USERS] + [u[0] for u in SERVICE_USERS])}
    technicians: dict[str, list[int]] = {}
    for k, (username, display, team_name, region) in enumerate(SERVICE_USERS):
        user = users.get(username) or User(username=username)
        user.display_name, user.role, user.team = display, Role.SERVICE, teams[team_name]
        user.last_name, user.first_name = display[0], display[1:]
        user.email = f"{username}@{COMPANY_DOMAIN}"
        user.phone = _mobile(100 + k)
        user.password = password
        user.save()
        users[username] = user
        if region:
            technicians.setdefault(region, []).append(user.pk)
        login = (username, Role(Role.SERVICE).label, team_name, DEMO_PASSWORD)
        if login not in skeleton.logins:
            skeleton.logins.append(login)
    queues = {q.code: q for q in Queue.objects.all()}
    members, managers = {}, {}
    for code, (team_name, manager, staff, default) in QUEUE_STAFF.items():
        queue = queues.get(code)
        if queue is None:
            continue
        team = teams.get(team_name) or Team.objects.filter(name=team_name).first()
        queue.team = team
        queue.manager = users.get(manager)
        queue.default_assignee = users.get(default)
        queue.save()
        staff_users = [users[u] for u in staff if u in users]
        queue.members.set(staff_users)
        members[code] = [u.pk for u in staff_users]
        managers[code] = queue.manager_id
    types = {t.code: (t.pk, t.queue.code) for t in TicketType.objects.select_related("queue")}
    policies = {(p.tier, p.priority): (p.pk, float(p.first_response_hours),
                                       float(p.resolution_hours), p.warn_percent)
                for p in SlaPolicy.objects.filter(active=True)}
    names = dict(User.objects.values_list("pk", "display_name"))
    marketing = users.get("marketing")
    return ServiceSkeleton(
        queues={c: q.pk for c, q in queues.items()}, types=types, members=members,
        managers=managers, technicians=technicians,
        agents=members.get("customer_service") or list(skeleton.service_ids),
        policies=policies, names=names, marketing=marketing.pk if marketing else None)


# --- Generated objects -------------------------------------------------------------------


@dataclass(eq=False)
class _Task:
    title: str
    assignee: int
    due: dt.datetime
    status: str
    done_at: dt.datetime | None
    customer: int
    contact: int | None
    created: dt.datetime
    notes: str = ""
    created_by: int | None = None
    outcome: str = ""
    id: int = 0


@dataclass(eq=False)
class _Visit:
    technician: int
    start: dt.datetime
    end: dt.datetime
    address: str
    status: str
    instructions: str
    work_done: str = ""
    parts: list = field(default_factory=list)
    signed_off_by: str = ""
    minutes: int = 0
    travel: int = 0
    outcome: str = ""
    completed: dt.datetime | None = None
    created_by: int | None = None
    created: dt.datetime | None = None
    id: int = 0


@dataclass(eq=False)
class _Survey:
    kind: str
    customer: int
    contact: int | None
    email: str
    sent: dt.datetime
    expires: dt.datetime
    answered: dt.datetime | None
    score: int | None
    comment: str
    agent: int | None = None
    queue: int | None = None
    campaign: int | None = None
    task: _Task | None = None


@dataclass(eq=False)
class _Ticket:
    customer: CustomerInfo
    type: str
    queue: str
    created: dt.datetime
    channel: str
    priority: str
    contact: tuple | None
    subject: str = ""
    description: str = ""
    assignee: int | None = None
    created_by: int | None = None
    asset: commerce.Asset | None = None
    order: commerce.Order | None = None
    contract: commerce.Contract | None = None
    product: int | None = None
    policy: int | None = None
    resp_due: dt.datetime | None = None
    resol_due: dt.datetime | None = None
    responded: dt.datetime | None = None
    resolved: dt.datetime | None = None
    closed: dt.datetime | None = None
    resp_warned: dt.datetime | None = None
    resol_warned: dt.datetime | None = None
    resp_breached: bool = False
    resol_breached: bool = False
    escalated_at: dt.datetime | None = None
    escalated_to: int | None = None
    merged_into: _Ticket | None = None
    status: str = "new"
    messages: list[tuple] = field(default_factory=list)  # kind, body, author, at, to, minutes
    visits: list[_Visit] = field(default_factory=list)
    complaint: tuple | None = None
    complaint_task: _Task | None = None
    survey: _Survey | None = None
    hours: tuple[float, float] = (8.0, 40.0)  # SLA targets: first response, resolution
    id: int = 0

    @property
    def updated(self) -> dt.datetime:
        times = [self.created] + [m[3] for m in self.messages]
        times += [v.completed or v.created for v in self.visits if v.completed or v.created]
        return max(times)


@dataclass
class ServiceBatch:
    tickets: list[_Ticket] = field(default_factory=list)
    surveys: list[_Survey] = field(default_factory=list)  # NPS answers (CSAT hang on tickets)
    tasks: list[_Task] = field(default_factory=list)


# --- Generation --------------------------------------------------------------------------


class ServiceGen:
    """Tickets, visits, complaints and surveys for one batch of customers."""

    def __init__(self, seed: int, today: dt.date, zone: dt.tzinfo, sk: ServiceSkeleton,
                 cal: WorkCalendar, catalogue: commerce.Catalogue, campaign: int | None):
        self.seed, self.today, self.zone, self.sk, self.cal = seed, today, zone, sk, cal
        self.cat, self.campaign = catalogue, campaign
        self.now = dt.datetime.combine(today, dt.time(), zone)  # anything earlier happened
        self.year_ago = today - dt.timedelta(days=YEAR)
        self.nps_sent = dt.datetime.combine(today - dt.timedelta(days=NPS_DAYS_AGO),
                                            dt.time(10), zone)
        self.all_techs = {u for ids in sk.technicians.values() for u in ids}

    # Per customer --------------------------------------------------------------------------

    def customer(self, cc: CustomerCommerce, contacts: list[tuple], out: ServiceBatch) -> None:
        """The customer's tickets of the past year (with their visits, complaint handling
        and surveys) and its NPS survey."""
        c = cc.customer
        rng = random.Random(f"{self.seed}/service/{c.id}")
        start = max(self.year_ago, c.created_on + dt.timedelta(days=1))
        if start >= self.today:
            return

        def add(ticket: _Ticket) -> None:
            out.tickets.append(ticket)
            if ticket.complaint_task:
                out.tasks.append(ticket.complaint_task)
            if ticket.survey and ticket.survey.task:
                out.tasks.append(ticket.survey.task)

        for day, kind, links in self._drafts(cc, start, rng):
            ticket = self._ticket(c, cc, contacts, max(day, start), kind, links, rng)
            add(ticket)
            follow = ticket.complaint
            if follow and follow[6] is False and follow[5] < self.now - dt.timedelta(hours=1):
                add(self._ticket(c, cc, contacts, self._day(follow[5]), "complaint",
                                 {"asset": ticket.asset, "order": ticket.order,
                                  "renew": ticket}, rng))
            if ticket.channel == "phone" and kind != "complaint" and rng.random() < 0.015:
                dup = self._duplicate(ticket, rng)
                if dup:
                    out.tickets.append(dup)
        self._nps(c, contacts, rng, out)

    def _drafts(self, cc: CustomerCommerce, start: dt.date,
                rng: random.Random) -> list[tuple[dt.date, str, dict]]:
        """(day, ticket type, links) of the year's tickets: faults and requests on the
        installed equipment, questions around orders and invoices, complaints after
        what went wrong."""
        c, rnd = cc.customer, rng.random
        mult = 0.3 if c.stage == "churned" else 1.0
        legacy = c.stage in ("customer", "loyal") and not cc.contracts
        drafts: list[tuple[dt.date, str, dict]] = []

        def day_in(lo: dt.date, hi: dt.date) -> dt.date:
            return lo + dt.timedelta(days=int(rnd() * max(1, (hi - lo).days)))

        def some(rate: float, lo: dt.date, hi: dt.date, kind: str, **links) -> None:
            if hi <= lo:
                return
            for _ in range(_poisson(rnd, rate * mult * (hi - lo).days / YEAR)):
                drafts.append((day_in(lo, hi), kind, dict(links)))

        for asset in cc.assets:
            lo = max(start, asset.installed + dt.timedelta(days=7))
            for kind, rate in ASSET_RATES.items():
                some(rate, lo, self.today, kind, asset=asset)
        for order in cc.orders:
            first_delivery = min((d.delivered or d.expected for d in order.deliveries),
                                 default=self.today)
            if rnd() < 0.45:
                hi = min(first_delivery, self.today)
                if hi > order.ordered:
                    drafts.append((day_in(order.ordered, hi), "contract_delivery",
                                   {"order": order}))
            delivered = [d.delivered for d in order.deliveries if d.delivered]
            if delivered and rnd() < 0.12:
                day = max(delivered) + dt.timedelta(days=1 + int(rnd() * 10))
                if day < self.today:
                    drafts.append((day, "contract_delivery", {"order": order}))
        for inv in cc.invoices:
            if rnd() < 0.18:
                day = inv.issued + dt.timedelta(days=3 + int(rnd() * 18))
                if day < self.today:
                    drafts.append((day, "payment", {"invoice": inv}))
            if inv.status != "paid" and inv.due < self.today and rnd() < 0.3:
                day = inv.due + dt.timedelta(days=1 + int(rnd() * 20))
                if day < self.today:
                    drafts.append((day, "payment", {"invoice": inv}))
        rates = LEGACY_RATES if legacy else (OTHER_RATES if not cc.contracts else
                                            {"feedback": 0.04, "request": 0.1})
        for kind, rate in rates.items():
            some(rate, start, self.today, kind)
        # Complaints follow what went wrong: late deliveries, repeated faults.
        faults = sum(1 for d in drafts if d[1] == "equipment_fault")
        chance = 0.02 if (cc.contracts or legacy) else 0.002
        late = [o for o in cc.late_orders if o.deliveries]
        if late:
            chance += 0.5
        if faults >= 2:
            chance += 0.3
        if rnd() < chance * (1.5 if c.stage == "churned" else 1.0):
            if late and rnd() < 0.6:
                order = late[0]
                day = (order.deliveries[0].shipped or order.promised) + dt.timedelta(
                    days=int(rnd() * 5))
                drafts.append((min(day, self.today - dt.timedelta(days=1)), "complaint",
                               {"order": order, "subject": "发货延误影响项目进度"}))
            else:
                asset = cc.assets[int(rnd() * len(cc.assets))] if cc.assets else None
                lo = start
                if asset is not None:  # about the equipment: after it was installed
                    lo = max(start, asset.installed + dt.timedelta(days=14))
                    if lo >= self.today:
                        asset, lo = None, start
                day = lo + dt.timedelta(days=int(rnd() * max(1, (self.today - lo).days)))
                drafts.append((day, "complaint", {"asset": asset}))
        drafts.sort(key=lambda d: (d[0], d[1]))
        return drafts

    # One ticket ----------------------------------------------------------------------------

    def _ticket(self, c: CustomerInfo, cc: CustomerCommerce, contacts: list[tuple],
                day: dt.date, kind: str, links: dict, rng: random.Random,
                visit_day: dt.date | None = None, tech: int | None = None,
                elapsed: float | None = None) -> _Ticket:
        """One ticket from its first call to now. `visit_day` and `tech` book its visit;
        `elapsed` (a share of the resolution target used up by now) keeps it open."""
        rnd, cal, sk = rng.random, self.cal, self.sk
        renews: _Ticket | None = links.get("renew")  # an unsatisfied complaint's sequel
        channel = "phone" if visit_day or renews else _weighted(rnd, CHANNELS[kind])
        severity = _weighted(rnd, SEVERITY) if kind == "complaint" else None
        priority = SEVERITY_PRIORITY[severity] if severity else _weighted(rnd, PRIORITIES[kind])
        if severity == "minor" and rnd() < 0.4:
            priority = "normal"
        if renews is not None:
            priority = renews.priority
        tier = c.tier if (c.tier, priority) in sk.policies else ""
        policy = sk.policies.get((tier, priority))
        resp_h, resol_h, warn = (policy[1], policy[2], policy[3]) if policy else (8.0, 40.0, 75)
        created = self._created(day, channel, rng)
        if renews is not None:
            created = renews.complaint[5] + dt.timedelta(minutes=5 + int(rnd() * 25))
        elif elapsed is not None:
            created = self._hours_before_now(resol_h * elapsed)
        created = created.replace(microsecond=0)
        contact = None
        if contacts:
            contact = contacts[0] if rnd() < 0.6 else contacts[int(rnd() * len(contacts))]
        queue = sk.types[kind][1]
        t = _Ticket(c, kind, queue, created, channel, priority, contact)
        t.asset, t.order = links.get("asset"), links.get("order")
        invoice = links.get("invoice")
        if invoice is not None:
            t.order = invoice.order
        if t.order is not None:
            t.contract = t.order.contract
        if t.asset is not None:
            t.contract, t.order, t.product = t.asset.order.contract, t.asset.order, \
                t.asset.product.id
        elif kind == "equipment_fault" and self.cat.system_products:
            systems = self.cat.system_products
            t.product = systems[int(rnd() * len(systems))].id
        t.subject, t.description = self._text(t, kind, links, invoice, rng)
        if renews is not None:
            t.subject = f"{RENEWED_SUBJECT}{renews.subject}"[:200]
            t.description = RENEWED_DESCRIPTION.format(subject=renews.subject)
        t.assignee = self._assignee(c, queue, rng)
        if tech and queue == "engineering":
            t.assignee = tech
        if channel in ("email", "web"):
            t.created_by = None
        elif channel == "visit":
            t.created_by = t.assignee
        else:
            x = rnd()
            agents = sk.agents
            t.created_by = agents[int(rnd() * len(agents))] if x < 0.65 or not c.owner_id \
                else (c.owner_id if x < 0.85 else t.assignee)
        # SLA targets.
        t.policy, t.hours = (policy[0] if policy else None), (resp_h, resol_h)
        t.resp_due, t.resol_due = cal.add(created, resp_h), cal.add(created, resol_h)
        late_reply = rnd() >= 0.92
        responded = cal.add(created, resp_h * (1.1 + 1.4 * rnd() if late_reply
                                               else 0.05 + 0.85 * rnd()))
        needs_visit = c.country == "CN" and (
            (kind == "equipment_fault" and rnd() < (0.8 if priority in ("urgent", "high")
                                                    else 0.5))
            or (kind == "request" and t.subject in VISIT_REQUESTS and rnd() < 0.9)
            or (kind == "complaint" and t.asset is not None and rnd() < 0.5))
        if visit_day:
            needs_visit = True
        if elapsed is not None:
            resolved = None
        elif needs_visit:
            resolved = self._visits(t, responded, contact, rng, visit_day, tech)
        else:
            late = rnd() >= 0.9
            resolved = cal.add(created, resol_h * (1.05 + 1.45 * rnd() if late
                                                   else 0.1 + 0.85 * rnd()))
        if resolved is not None and resolved <= responded:
            responded = created + dt.timedelta(minutes=5 + int(rnd() * 25))
            resolved = max(resolved, responded + dt.timedelta(minutes=10))
        self._status(t, responded, resolved, warn, resp_h, resol_h, rng)
        self._messages(t, rng)
        if kind == "complaint":
            self._complaint(t, severity, rng, renews)
        if t.status in ("resolved", "closed") and contact is not None:
            self._csat(t, rng)
        return t

    def _hours_before_now(self, hours: float) -> dt.datetime:
        """The moment `hours` business hours before now (to the minute)."""
        lo, hi = self.now - dt.timedelta(days=120), self.now
        for _ in range(24):
            mid = lo + (hi - lo) / 2
            if self.cal.between(mid, self.now) > hours:
                lo = mid
            else:
                hi = mid
        return hi.replace(second=0, microsecond=0)

    def _day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def _created(self, day: dt.date, channel: str, rng: random.Random) -> dt.datetime:
        rnd, cal = rng.random, self.cal
        if channel in ("phone", "visit", "other") or rnd() < 0.75:
            if not cal.is_workday(day):
                before = cal.workday_before(day)
                day = before if before >= self.year_ago else cal.workday(day)
            if day >= self.today:
                day = cal.workday_before(self.today - dt.timedelta(days=1))
            minutes = 8 * 60 + 30 + int(rnd() * 9 * 60)
        else:
            minutes = int(rnd() * 24 * 60)
        return dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=minutes)

    def _assignee(self, c: CustomerInfo, queue: str, rng: random.Random) -> int | None:
        rnd, sk = rng.random, self.sk
        if queue == "engineering":
            techs = sk.technicians.get(c.region) if c.country == "CN" else None
            if techs and rnd() < 0.95:
                return techs[int(rnd() * len(techs))]
            return sk.managers.get("engineering")
        members = sk.members.get(queue) or []
        return members[int(rnd() * len(members))] if members else None

    def _text(self, t: _Ticket, kind: str, links: dict, invoice, rng) -> tuple[str, str]:
        rnd = rng.random
        order, contract = t.order, t.contract
        delivery = next((d for d in (order.deliveries if order else []) if d.tracking), None)
        if t.asset is not None:
            eq = t.asset.product.name
        elif t.product:
            eq = self.cat.products[t.product].name
        else:
            eq = "水处理设备"
        fill = {"eq": eq, "who": t.customer.who, "part": PARTS[int(rnd() * len(PARTS))],
                "n": (2, 3, 5, 10, 15, 20, 30)[int(rnd() * 7)]}
        if order is not None:
            fill["order"] = order.number
        if contract is not None:
            fill["contract"] = contract.number
        if invoice is not None:
            fill["invoice"] = invoice.number
        if delivery is not None:
            fill["tracking"], fill["carrier"] = delivery.tracking, delivery.carrier
        pairs = TICKETS[kind]
        if links.get("subject"):
            pairs = [p for p in pairs if p[0] == links["subject"]] or pairs
        usable = [p for p in pairs if _fits(p, fill)]
        subject, description = usable[int(rnd() * len(usable))] if usable else pairs[-1]
        return subject.format_map(_Fill(fill))[:200], description.format_map(_Fill(fill))

    def _visits(self, t: _Ticket, responded: dt.datetime, contact, rng,
                visit_day: dt.date | None, tech: int | None) -> dt.datetime | None:
        """Book the visits; return when the last one resolved the ticket (None: open)."""
        rnd, cal, now = rng.random, self.cal, self.now
        tech = tech or (t.assignee if t.assignee in self.all_techs else None)
        if tech is None:
            techs = self.sk.technicians.get(t.customer.region) or sorted(self.all_techs)
            tech = techs[int(rnd() * len(techs))] if techs else None
            if tech is None:
                return cal.add(t.created, 16)
        if t.queue == "engineering":
            t.assignee = tech
        base = responded.astimezone(self.zone)
        if visit_day:
            day = visit_day
        elif t.priority == "urgent" and base.hour < 14 and cal.is_workday(base.date()):
            day = base.date()  # the same afternoon
        elif t.priority in ("urgent", "high"):
            day = cal.workday(base.date(), 1 + (rnd() < 0.25))
        else:
            day = cal.workday(base.date(), 1 + int(rnd() * 3))
        who = contact[1] if contact else "现场负责人"
        booked_by = self.sk.managers.get("engineering") if rnd() < 0.5 else tech
        for n in range(3):
            slot = (9 * 60, 10 * 60, 13 * 60 + 30, 14 * 60 + 30, 15 * 60 + 30)[int(rnd() * 5)]
            if day == base.date():
                slot = max(slot, base.hour * 60 + base.minute + 90)
                slot = min(slot, 16 * 60)
            start = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=slot)
            end = start + dt.timedelta(minutes=120 + 30 * int(rnd() * 5))
            v = _Visit(tech, start, end, t.customer.address[:300], "scheduled",
                       VISIT_INSTRUCTIONS[int(rnd() * len(VISIT_INSTRUCTIONS))].format(
                           part=PARTS[int(rnd() * len(PARTS))], contact=who),
                       created_by=booked_by, created=min(responded, now - dt.timedelta(
                           minutes=1)) if n == 0 else None)
            t.visits.append(v)
            if end >= now:
                return None
            if rnd() < 0.03:  # the customer postponed: booked again for the next day
                v.status = "cancelled"
                v.created = v.created or start - dt.timedelta(days=1)
                day = cal.workday(day, 1)
                continue
            v.status = "done"
            v.completed = min(end + dt.timedelta(minutes=int(rnd() * 40) - 15),
                              now - dt.timedelta(minutes=1))
            v.created = v.created or start - dt.timedelta(days=2)
            v.minutes = 60 + 15 * int(rnd() * 13)
            v.travel = 30 + 15 * int(rnd() * 9)
            v.signed_off_by = who
            works = VISIT_WORK.get(t.type) or VISIT_WORK["equipment_fault"]
            v.work_done = works[int(rnd() * len(works))].format(n=10 + int(rnd() * 30))
            if t.type != "complaint":
                v.parts = [{"part": p, "quantity": 1 + int(rnd() * 3)}
                           for p in rng.sample(PARTS, 1 + int(rnd() * 2))]
            if n == 0 and rnd() < 0.15:
                v.outcome = "follow_up"
                v.work_done += VISIT_FOLLOW_UP[int(rnd() * len(VISIT_FOLLOW_UP))]
                day = cal.workday(day, 2 + int(rnd() * 4))
                continue
            v.outcome = "resolved"
            return v.completed + dt.timedelta(minutes=15 + int(rnd() * 75))
        return None

    def _status(self, t: _Ticket, responded, resolved, warn: int, resp_h: float,
                resol_h: float, rng) -> None:
        rnd, cal, now = rng.random, self.cal, self.now
        if resolved is not None and resolved < now:
            t.responded, t.resolved = responded, resolved
            closed = resolved + dt.timedelta(days=3, minutes=int(rnd() * 120))
            if closed < now:
                t.status, t.closed = "closed", closed
            else:
                t.status = "resolved"
        elif responded < now:
            t.responded = responded
            t.status = "pending" if rnd() < 0.25 else "open"
        else:
            t.status = "new"
            if t.queue != "engineering" and rnd() < 0.3:
                t.assignee = None
        t.resp_breached = (t.responded or now) > t.resp_due
        t.resol_breached = (t.resolved or now) > t.resol_due
        warn_resp = cal.add(t.created, resp_h * warn / 100)
        if warn_resp < now and (t.responded is None or t.responded > warn_resp):
            t.resp_warned = warn_resp + dt.timedelta(minutes=1 + int(rnd() * 4))
        warn_resol = cal.add(t.created, resol_h * warn / 100)
        if warn_resol < now and (t.resolved is None or t.resolved > warn_resol):
            t.resol_warned = warn_resol + dt.timedelta(minutes=1 + int(rnd() * 4))
        if t.resol_breached and t.resol_due < now:
            t.escalated_at = t.resol_due + dt.timedelta(minutes=1 + int(rnd() * 9))
            t.escalated_to = self.sk.managers.get(t.queue)
        for name in ("resp_warned", "resol_warned", "escalated_at"):
            value = getattr(t, name)
            if value is not None and value >= now:
                setattr(t, name, None)
        if t.escalated_at is None:
            t.escalated_to = None

    def _messages(self, t: _Ticket, rng) -> None:
        rnd, sk, now = rng.random, self.sk, self.now
        email = t.contact[2] if t.contact else ""
        to = email if t.channel in ("email", "web") else ""
        agent = t.assignee or (sk.agents[int(rnd() * len(sk.agents))] if sk.agents else None)
        msgs = t.messages
        if t.channel in ("email", "web", "other"):
            msgs.append(("inbound", t.description, None, t.created, "", 0))
        if t.responded:
            replies = FIRST_REPLIES[t.type]
            msgs.append(("reply", replies[int(rnd() * len(replies))], agent, t.responded, to,
                         5 + int(rnd() * 11)))
            until = t.resolved or now
            span = self.cal.hours_between(t.responded, until)  # notes in office hours
            for _ in range(int(rnd() * 3)):
                if span < 0.2:
                    break
                at = self.cal.add(t.responded, span * (0.1 + 0.8 * rnd()))
                k = int(rnd() * len(NOTES))
                author = agent
                if NOTES[k].startswith("销售补充"):
                    author = t.customer.owner_id or agent
                if "质保" in NOTES[k] and t.asset is None:
                    k = 0
                elif "质保期内" in NOTES[k] and t.asset.warranty_ends < at.date():
                    k += 1
                elif "已过质保期" in NOTES[k] and t.asset.warranty_ends >= at.date():
                    k -= 1
                msgs.append(("note", NOTES[k].format(cause=CAUSES[int(rnd() * len(CAUSES))]),
                             author, at, "", 5 + int(rnd() * 21)))
            if t.status == "pending" or (t.resolved and rnd() < 0.25):
                at = self.cal.add(t.responded, span * 0.95) if span >= 0.2 else max(
                    t.responded, min(t.responded + dt.timedelta(minutes=5),
                                     until - dt.timedelta(minutes=1)))
                msgs.append(("inbound", CUSTOMER_REPLIES[int(rnd() * len(CUSTOMER_REPLIES))],
                             None, at, "", 0))
        if t.escalated_at:
            name = sk.names.get(t.escalated_to, "")
            msgs.append(("system", SYSTEM_ESCALATED.format(manager=name), None, t.escalated_at,
                         "", 0))
        if t.resolved:
            texts = RESOLUTIONS[t.type]
            msgs.append(("reply", texts[int(rnd() * len(texts))], agent, t.resolved, to,
                         5 + int(rnd() * 16)))
        if t.closed:
            msgs.append(("system", SYSTEM_CLOSED, None, t.closed, "", 0))
        msgs.sort(key=lambda m: m[3])

    def _complaint(self, t: _Ticket, severity: str, rng, renews: _Ticket | None) -> None:
        """Severity, root cause and corrective action; once resolved, the follow-up call
        (complaint_services: the owner's task, COMPLAINT_FOLLOW_UP_DAYS business days on)."""
        rnd = rng.random
        category = COMPLAINT_CATEGORY_OF.get(t.subject, "other")
        if renews is not None:
            severity, category = renews.complaint[0], renews.complaint[1]
        cause, action = "", ""
        if t.resolved or rnd() < 0.5:
            options = COMPLAINT_CAUSES[category]
            cause, action = options[int(rnd() * len(options))]
        done_on = None
        if t.resolved:
            day = self._day(t.resolved) + dt.timedelta(days=int(rnd() * 11))
            done_on = day if day < self.today else None
        task, follow_done, satisfied, notes = None, None, None, ""
        owner = t.customer.owner_id or t.assignee or self.sk.managers.get(t.queue)
        if t.resolved and owner:
            due = self.cal.add_days(t.resolved, COMPLAINT_FOLLOW_UP_DAYS)
            task = self._task(COMPLAINT_FOLLOW_UP_TITLE.format(who=t.customer.who, ref="{ref}"),
                              owner, t.resolved, due, t.customer.id,
                              t.contact[0] if t.contact else None, rng, done_share=0.95)
            if task.status == "done":
                follow_done, satisfied = task.done_at, rnd() < 0.88
                texts = COMPLAINT_FOLLOW_UP_NOTES[satisfied]
                notes = task.notes = texts[int(rnd() * len(texts))]
                task.outcome = "resolved" if satisfied else "follow_up"
        t.complaint = (severity, category, cause, action, done_on, follow_done, satisfied,
                       notes)
        t.complaint_task = task

    def _csat(self, t: _Ticket, rng) -> None:
        """The survey sent on resolution (surveys.on_resolved); ~60 % answer."""
        rnd, now = rng.random, self.now
        sent = t.resolved + dt.timedelta(seconds=5 + int(rnd() * 60))
        if sent >= now:
            return
        expires = sent + dt.timedelta(days=CSAT_EXPIRES_DAYS)
        answered, score, comment = None, None, ""
        if rnd() < (0.5 if t.resol_breached else 0.66):
            x = rnd()
            delay = dt.timedelta(minutes=10 + int(rnd() * 110)) if x < 0.6 else (
                dt.timedelta(hours=2 + int(rnd() * 46)) if x < 0.9
                else dt.timedelta(days=2 + int(rnd() * 4)))
            if sent + delay < min(now, expires):
                answered = sent + delay
                score = _weighted(rnd, CSAT_SCORES_BREACHED if t.resol_breached
                                  else CSAT_SCORES)
                if rnd() < 0.5 or score <= 2:
                    texts = CSAT_COMMENTS[score]
                    comment = texts[int(rnd() * len(texts))]
        email = t.contact[2] or t.customer.email
        survey = _Survey("csat", t.customer.id, t.contact[0], email, sent, expires,
                         answered, score, comment, t.assignee, self.sk.queues.get(t.queue))
        if score is not None and score <= 2:  # the follow-up call (surveys.open_follow_up)
            owner = t.customer.owner_id or t.assignee or self.sk.managers.get(t.queue)
            if owner:
                survey.task = self._task(
                    SURVEY_FOLLOW_UP_TITLE.format(who=t.customer.who, ref="{ref}", score=score),
                    owner, answered, self.cal.add_days(answered, 1), t.customer.id,
                    t.contact[0], rng, notes=comment)
        t.survey = survey

    def _task(self, title: str, owner: int, created: dt.datetime, due: dt.datetime,
              customer: int, contact: int | None, rng, notes: str = "",
              done_share: float = 0.9) -> _Task:
        """A follow-up call task; done (mostly) once its time has passed."""
        rnd, now = rng.random, self.now
        status, done_at = "open", None
        if due < now and rnd() < done_share:
            status = "done"
            done_at = min(due + dt.timedelta(minutes=int(rnd() * 240)),
                          now - dt.timedelta(minutes=1))
        return _Task(title, owner, due, status, done_at, customer, contact, created, notes,
                     outcome="reached" if status == "done" else "")

    def _duplicate(self, t: _Ticket, rng) -> _Ticket | None:
        """The same problem reported again by e-mail; merged into the first ticket."""
        rnd, now = rng.random, self.now
        created = t.created + dt.timedelta(minutes=15 + int(rnd() * 105))
        merged = created + dt.timedelta(minutes=20 + int(rnd() * 40))
        if merged >= now or (t.responded or now) <= created:
            return None
        dup = _Ticket(t.customer, t.type, t.queue, created, "email", t.priority, t.contact,
                      t.subject, t.description, t.assignee, None, t.asset, t.order, t.contract,
                      t.product, t.policy, self.cal.add(created, t.hours[0]),
                      self.cal.add(created, t.hours[1]))
        dup.status, dup.closed, dup.merged_into = "merged", merged, t
        dup.messages = [("inbound", t.description, None, created, "", 0),
                        ("system", SYSTEM_MERGED, dup.assignee, merged, "", 0)]
        return dup

    def _nps(self, c: CustomerInfo, contacts: list[tuple], rng, out: ServiceBatch) -> None:
        if self.campaign is None or c.stage != NPS_SEGMENT["stage"]:
            return
        if c.created_on >= self.nps_sent.date():
            return
        contact = next((x for x in contacts if x[2]), None)
        if contact is None:
            return
        rnd, now = rng.random, self.now
        sent = self.nps_sent + dt.timedelta(seconds=int(rnd() * 900))
        expires = sent + dt.timedelta(days=14)
        answered, score, comment = None, None, ""
        if rnd() < 0.42:
            at = sent + dt.timedelta(minutes=int(rnd() * 60 * 24 * 10))
            if at < min(now, expires):
                answered = at
                x = rnd()
                band = "promoter" if x < 0.5 else ("passive" if x < 0.8 else "detractor")
                score = {"promoter": 9 + (rnd() < 0.5), "passive": 7 + (rnd() < 0.5),
                         "detractor": (6, 6, 5, 5, 4, 3, 2, 0)[int(rnd() * 8)]}[band]
                if rnd() < 0.5 or band == "detractor":
                    texts = [s for s in NPS_COMMENTS[band] if s] or [""]
                    comment = texts[int(rnd() * len(texts))]
        survey = _Survey("nps", c.id, contact[0], contact[2], sent, expires, answered, score,
                         comment, campaign=self.campaign)
        if score is not None and score <= 6 and c.owner_id:  # the account manager calls
            survey.task = self._task(NPS_FOLLOW_UP_TITLE.format(who=c.who, score=score),
                                     c.owner_id, answered, self.cal.add_days(answered, 1),
                                     c.id, contact[0], rng, notes=comment)
            out.tasks.append(survey.task)
        out.surveys.append(survey)

    # Technicians' coming days ------------------------------------------------------------

    def present(self, batch: list[CustomerCommerce], contacts: dict[int, list[tuple]],
                      out: ServiceBatch) -> None:
        """The present moment (first batch only): open tickets with visits booked in
        the coming working days, so every technician's board has work ahead, and a few
        tickets at risk of breaching their resolution target or past it."""
        ahead = Counter(v.technician for t in out.tickets for v in t.visits
                        if v.status == "scheduled" and v.start >= self.now)
        used = {t.customer.id for t in out.tickets if t.status in ("new", "open", "pending")}
        yesterday = self.cal.workday_before(self.today - dt.timedelta(days=1))
        for region, techs in sorted(self.sk.technicians.items()):
            candidates = [cc for cc in batch
                          if cc.customer.region == region and cc.customer.country == "CN"
                          and cc.customer.stage != "churned" and cc.customer.id not in used
                          and (cc.assets or cc.customer.stage in ("customer", "loyal"))]
            for tech in techs:
                k = 0
                while ahead[tech] < UPCOMING_VISITS and candidates:
                    cc = candidates.pop(0)
                    used.add(cc.customer.id)
                    rng = random.Random(f"{self.seed}/service/upcoming/{cc.customer.id}")
                    kind = "equipment_fault" if rng.random() < 0.7 else "request"
                    links = {}
                    if cc.assets:
                        links["asset"] = cc.assets[int(rng.random() * len(cc.assets))]
                    if kind == "request":
                        links["subject"] = VISIT_REQUESTS[int(rng.random() * 2)]
                    k += 1
                    visit_day = self.cal.workday(self.today, k - 1)
                    ticket = self._ticket(cc.customer, cc, contacts.get(cc.customer.id, []),
                                          yesterday, kind, links, rng, visit_day=visit_day,
                                          tech=tech)
                    if ticket.visits and ticket.visits[-1].status == "scheduled":
                        ahead[tech] += 1
                    out.tickets.append(ticket)
        # A few requests stuck in the back office: near their target, or past it.
        stuck = [cc for cc in batch if cc.contracts and cc.customer.id not in used
                 and cc.customer.stage != "churned"]
        kinds = ("contract_delivery", "payment", "system_fault", "request")
        for k, share in enumerate(STUCK):
            if k >= len(stuck):
                break
            cc = stuck[k * len(stuck) // len(STUCK)]
            rng = random.Random(f"{self.seed}/service/stuck/{cc.customer.id}")
            links = {"order": cc.orders[0]} if cc.orders else {}
            out.tickets.append(self._ticket(cc.customer, cc, contacts.get(cc.customer.id, []),
                                            self.today, kinds[k % len(kinds)], links, rng,
                                            elapsed=share))

    def finish(self, out: ServiceBatch) -> None:
        """Assets with an open fault are marked faulty."""
        for t in out.tickets:
            if t.asset is not None and t.type == "equipment_fault" and \
                    t.status in ("new", "open", "pending"):
                t.asset.status = "faulty"


class _Fill(dict):
    def __missing__(self, key):
        return "—"


def _fits(pair: tuple[str, str], fill: dict) -> bool:
    return _placeholders(pair) <= fill.keys()


@functools.cache
def _placeholders(pair: tuple[str, str]) -> frozenset[str]:
    import string

    return frozenset(f for text in pair for _, f, _, _ in string.Formatter().parse(text) if f)


# --- Ids and rows ------------------------------------------------------------------------


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


# --- The load ----------------------------------------------------------------------------


def _next_id(model) -> int:
    manager = getattr(model, "all_objects", model._default_manager)
    return (manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _fetch(lo: int, hi: int, zone: dt.tzinfo, regions: dict[str, str]):
    """The batch's customers, their won deals (with products) and contacts."""
    from collections import defaultdict

    from guanxi.parties.models import Contact, Customer
    from guanxi.sales.models import Opportunity

    customers = []
    for (pk, kind, tier, stage, credit_days, credit_limit, owner, team, team_name, country,
         province, city, district, street, name, short, created, email) in (
            Customer.objects.filter(pk__gte=lo, pk__lt=hi).order_by("pk").values_list(
                "pk", "kind", "tier", "stage", "credit_days", "credit_limit", "owner_id",
                "team_id", "team__name", "country", "province", "city", "district", "street",
                "name", "short_name", "created_at", "email")):
        region = regions.get(team_name or "", team_name if team_name in regions.values()
                             else "华东区")
        customers.append(CustomerInfo(
            pk, kind, tier or "C", stage, credit_days or 0, credit_limit, owner, team, country,
            province, city, district, street, name, short, created.astimezone(zone).date(),
            region, email))
    products: dict[int, list[int]] = defaultdict(list)
    won = {"customer_id__gte": lo, "customer_id__lt": hi, "status": "won"}
    through = Opportunity.products.through
    for oid, pid in through.objects.filter(
            **{f"opportunity__{k}": v for k, v in won.items()}).values_list(
            "opportunity_id", "product_id"):
        products[oid].append(pid)
    deals: dict[int, list[Deal]] = defaultdict(list)
    for oid, cid, amount, currency, rate, closed, line, name in Opportunity.objects.filter(
            **won).exclude(closed_on=None).order_by("pk").values_list(
            "pk", "customer_id", "amount", "currency", "exchange_rate", "closed_on",
            "product_line_id", "name"):
        if amount:
            deals[cid].append(Deal(oid, cid, amount, currency, rate, closed, line, name,
                                   tuple(sorted(products[oid]))))
    contacts: dict[int, list[tuple]] = defaultdict(list)
    for pk, cid, name, email in Contact.objects.filter(
            customer_id__gte=lo, customer_id__lt=hi).order_by(
            "customer_id", "-is_primary", "pk").values_list("pk", "customer_id", "name", "email"):
        contacts[cid].append((pk, name, email))
    return customers, deals, contacts


def _campaign(sk: ServiceSkeleton, today: dt.date, zone: dt.tzinfo):
    from guanxi.servicedesk.models import NpsCampaign

    sent = dt.datetime.combine(today - dt.timedelta(days=NPS_DAYS_AGO), dt.time(10), zone)
    return NpsCampaign.objects.create(
        name=NPS_NAME.format(year=sent.year), segment=dict(NPS_SEGMENT), message=NPS_MESSAGE,
        expires_days=14, created_by_id=sk.marketing, created_at=sent - dt.timedelta(days=1),
        sent_at=sent)


def load_commerce_and_service(skeleton, today: dt.date, seed: int, *,
                              batch_size: int = BATCH) -> dict[str, int]:
    """Create the commerce and service rows for every customer; return the counts."""
    from guanxi.activities.models import Task
    from guanxi.commerce import models as cm
    from guanxi.parties.models import Customer
    from guanxi.servicedesk import models as sd

    from .geo import OFFICES

    zone = ZoneInfo(settings.TIME_ZONE)
    fmt = Formats(connection.vendor == "sqlite", zone, today)
    with transaction.atomic():
        catalogue = commerce.ensure_catalogue()
        sk = build_service_skeleton(skeleton)
        campaign = _campaign(sk, today, zone)
    cal = WorkCalendar(today)
    regions = {o.name: o.region for o in OFFICES}
    cgen = commerce.CommerceGen(seed, today, catalogue)
    sgen = ServiceGen(seed, today, zone, sk, cal, catalogue, campaign.pk)
    cids = commerce.IdCounters(*(_next_id(m) for m in (
        cm.Contract, cm.Order, cm.Delivery, cm.Invoice, cm.Payment, sd.Asset)))
    sids = ServiceIds(_next_id(sd.Ticket), _next_id(sd.FieldVisit), _next_id(Task))
    tables = (  # (rows attribute, model, columns), in an order that suits the foreign keys
        ("contracts", cm.Contract, commerce.CONTRACT_COLUMNS),
        ("milestones", cm.ContractMilestone, commerce.MILESTONE_COLUMNS),
        ("orders", cm.Order, commerce.ORDER_COLUMNS),
        ("order_lines", cm.OrderLine, commerce.ORDER_LINE_COLUMNS),
        ("deliveries", cm.Delivery, commerce.DELIVERY_COLUMNS),
        ("invoices", cm.Invoice, commerce.INVOICE_COLUMNS),
        ("payments", cm.Payment, commerce.PAYMENT_COLUMNS),
        ("assets", sd.Asset, commerce.ASSET_COLUMNS),
        ("tasks", Task, TASK_COLUMNS),
        ("tickets", sd.Ticket, TICKET_COLUMNS),
        ("messages", sd.TicketMessage, MESSAGE_COLUMNS),
        ("visits", sd.FieldVisit, VISIT_COLUMNS),
        ("time_entries", sd.TimeEntry, TIME_COLUMNS),
        ("complaints", sd.Complaint, COMPLAINT_COLUMNS),
        ("surveys", sd.Survey, SURVEY_COLUMNS),
    )
    statements = {name: insert_statement(model, columns) for name, model, columns in tables}
    counts: Counter = Counter()
    span = Customer.all_objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    first = True
    for lo in range(span["lo"] or 1, (span["hi"] or 0) + 1, batch_size):
        customers, deals, contacts = _fetch(lo, lo + batch_size, zone, regions)
        batch = [cgen.customer(c, deals.get(c.id, [])) for c in customers]
        commerce.assign_ids(batch, cids)
        out = ServiceBatch()
        for cc in batch:
            sgen.customer(cc, contacts.get(cc.customer.id, []), out)
        if first:
            sgen.present(batch, contacts, out)
            first = False
        sgen.finish(out)
        _assign(out, sids)
        crows, srows = commerce.rows(batch, fmt), _rows(out, sk, fmt, zone)
        with transaction.atomic(), connection.cursor() as cur:
            for name, _model, _columns in tables:
                rows = getattr(crows if hasattr(crows, name) else srows, name)
                statements[name].run(cur, rows)
                counts[name] += len(rows)
        counts["nps"] += len(out.surveys)
        counts["open_tickets"] += sum(t.status in ("new", "open", "pending")
                                      for t in out.tickets)
    sd.NpsCampaign.objects.filter(pk=campaign.pk).update(sent_count=counts["nps"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), [
                    cm.Contract, cm.Order, cm.Delivery, cm.Invoice, cm.Payment, sd.Asset,
                    sd.Ticket, sd.FieldVisit, Task]):
                cur.execute(sql)
    return dict(counts)


def summary(counts: dict[str, int]) -> str:
    """One line for the demo command's notes."""
    return (f"ERP mirror and service desk: {counts.get('contracts', 0):,} contracts, "
            f"{counts.get('orders', 0):,} orders, {counts.get('invoices', 0):,} invoices, "
            f"{counts.get('assets', 0):,} assets, {counts.get('tickets', 0):,} tickets "
            f"({counts.get('open_tickets', 0):,} open), {counts.get('visits', 0):,} field visits,"
            f" {counts.get('surveys', 0):,} surveys")


def sales_tasks():
    """Tasks of the sales demo, without the service desk's follow-up calls (complaints,
    low satisfaction scores): for tests that check the sales side alone."""
    from guanxi.activities.models import Task
    from guanxi.servicedesk.models import Complaint, Survey

    return Task.objects.exclude(
        pk__in=Complaint.objects.filter(follow_up_task__isnull=False)
        .values("follow_up_task")).exclude(
        pk__in=Survey.objects.filter(follow_up_task__isnull=False).values("follow_up_task"))
