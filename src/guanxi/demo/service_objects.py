"""Demo service desk: the generated objects (tickets, visits, surveys, follow-up tasks),
what the generator's parts share, and small helpers (weighted choices, Poisson counts,
text templates filled only when they fit)."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import commerce
from .commerce import CustomerInfo

if TYPE_CHECKING:
    from .service_calendar import WorkCalendar
    from .service_staff import ServiceSkeleton


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


class _Fill(dict):
    def __missing__(self, key):
        return "—"


def _fits(pair: tuple[str, str], fill: dict) -> bool:
    return _placeholders(pair) <= fill.keys()


@functools.cache
def _placeholders(pair: tuple[str, str]) -> frozenset[str]:
    import string

    return frozenset(f for text in pair for _, f, _, _ in string.Formatter().parse(text) if f)


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


class GenState:
    """What the parts of the generator (service_tickets.ServiceGen and its mixins in
    service_field and service_feedback) share; ServiceGen.__init__ sets it up."""

    seed: int
    today: dt.date
    zone: dt.tzinfo
    sk: ServiceSkeleton
    cal: WorkCalendar
    cat: commerce.Catalogue
    campaign: int | None
    now: dt.datetime  # anything earlier happened
    year_ago: dt.date
    nps_sent: dt.datetime
    all_techs: set[int]

    def _day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()
