"""Cost to serve: staff time spent on a customer, priced at an hourly rate.

    hourly_rate() -> Decimal                      site setting `service.hourly_cost` (元/h)
    default_period(today=None) -> (since, until)  the last 12 months, today included
    minutes_by_customer(user, since, until, customer=None) -> {customer id: Minutes}
    cost_ranking(user, since, until, page=1, per_page=50) -> CostPage
    customer_cost(user, customer, since=None, until=None) -> CostRow

Time comes from two places, both summed in SQL grouped by customer and kind (no
Python loop over the rows): TimeEntry (ticket work, on-site visits, travel; recorded
by ticket and visit services through timeentries.record_time) and
Interaction.duration_minutes (calls, visits, meetings… logged on the timeline).
Revenue in the period is the sum of the customer's invoices issued in it, in 元 (CNY
invoices only, cancelled ones left out: amounts in other currencies are never
added to 元). Everything is limited to the customers the user may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from guanxi.core import site_settings

from .models import HOURLY_COST_DEFAULT, TimeEntry

RATE_SETTING = "service.hourly_cost"
CENT = Decimal("0.01")
# Interaction kinds shown in their own column; the others count as "other".
INTERACTION_COLUMNS = ("call", "visit", "meeting")


def hourly_rate() -> Decimal:
    """元 per hour of staff time (site setting, else the model default)."""
    value = site_settings.get(RATE_SETTING)
    try:
        rate = Decimal(str(value)) if value not in (None, "") else HOURLY_COST_DEFAULT
    except (InvalidOperation, ValueError):
        rate = HOURLY_COST_DEFAULT
    return rate if rate >= 0 else HOURLY_COST_DEFAULT


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - relativedelta(months=12) + dt.timedelta(days=1), today


def price(minutes: int, rate: Decimal) -> Decimal:
    return (Decimal(minutes) * rate / 60).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Minutes:
    """Minutes by where they came from."""

    ticket: int = 0  # TimeEntry kind ticket
    visit: int = 0  # TimeEntry kind visit (on site)
    travel: int = 0  # TimeEntry kind travel
    interactions: dict[str, int] = field(default_factory=dict)  # Interaction kind → minutes

    @property
    def calls(self) -> int:
        return self.interactions.get("call", 0)

    @property
    def interaction_total(self) -> int:
        return sum(self.interactions.values())

    @property
    def total(self) -> int:
        return self.ticket + self.visit + self.travel + self.interaction_total


@dataclass
class CostRow:
    customer_id: int
    minutes: Minutes
    rate: Decimal
    customer: object = None
    revenue: Decimal | None = None  # 元

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes.total) / 60).quantize(Decimal("0.1"))

    @property
    def cost(self) -> Decimal:
        return price(self.minutes.total, self.rate)

    @property
    def ratio(self) -> Decimal | None:
        """Cost as a percentage of revenue (None without revenue)."""
        if not self.revenue:
            return None
        return (self.cost * 100 / self.revenue).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _date_range(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(since, dt.time.min, tzinfo=tz),
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def _sources(user, since: dt.date, until: dt.date, customer=None,
             customer_ids: list[int] | None = None):
    """The time entries and the timed interactions of the period: of the customers
    visible to `user`, or of `customer` / `customer_ids` (which the caller has checked
    `user` may see: no visibility subquery then)."""
    from guanxi.activities.models import Interaction

    start, end = _date_range(since, until)
    if customer is not None:
        entries = TimeEntry.objects.filter(customer=customer)
        calls = Interaction.objects.filter(customer=customer)
    elif customer_ids is not None:
        entries = TimeEntry.objects.filter(customer_id__in=customer_ids)
        calls = Interaction.objects.filter(customer_id__in=customer_ids)
    else:
        entries = TimeEntry.objects.visible_to(user)
        calls = Interaction.objects.visible_to(user)
    return (entries.filter(on__gte=since, on__lte=until),
            calls.filter(occurred_at__gte=start, occurred_at__lt=end, duration_minutes__gt=0))


def minutes_by_customer(user, since: dt.date, until: dt.date, customer=None,
                        customer_ids: list[int] | None = None) -> dict[int, Minutes]:
    """Minutes per customer in [since, until] (local dates), by kind: two grouped
    queries. All visible customers, or `customer` / `customer_ids` (see _sources)."""
    out: dict[int, Minutes] = {}
    entries, calls = _sources(user, since, until, customer, customer_ids)
    for row in entries.order_by().values("customer_id", "kind").annotate(m=Sum("minutes")):
        m = out.setdefault(row["customer_id"], Minutes())
        if row["kind"] in ("ticket", "visit", "travel"):
            setattr(m, row["kind"], getattr(m, row["kind"]) + (row["m"] or 0))
    for row in calls.order_by().values("customer_id", "kind").annotate(
            m=Sum("duration_minutes")):
        m = out.setdefault(row["customer_id"], Minutes())
        kind = row["kind"] if row["kind"] in INTERACTION_COLUMNS else "other"
        m.interactions[kind] = m.interactions.get(kind, 0) + (row["m"] or 0)
    return out


def _ranked(user, since: dt.date, until: dt.date, limit: int,
            offset: int) -> tuple[list[tuple[int, int]], int, int]:
    """([(customer id, minutes)] of one page by minutes descending, how many customers,
    all their minutes) — one UNION ALL of both sources grouped by customer in SQL.
    The SQL is the ORM's own compiled queries (their values travel as parameters)."""
    entries, calls = _sources(user, since, until)
    te_sql, te_params = (entries.order_by().values(c=F("customer_id"), m=F("minutes"))
                         .query.sql_with_params())
    ia_sql, ia_params = (calls.order_by().values(c=F("customer_id"), m=F("duration_minutes"))
                         .query.sql_with_params())
    union = f"SELECT c, SUM(m) AS total FROM ({te_sql} UNION ALL {ia_sql}) u GROUP BY c"
    params = [*te_params, *ia_params]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), SUM(total) FROM ({union}) g", params)
        count, total = cursor.fetchone()
        cursor.execute(f"{union} ORDER BY total DESC, c LIMIT %s OFFSET %s",
                       [*params, limit, offset])
        rows = [(int(c), int(t or 0)) for c, t in cursor.fetchall()]
    return rows, int(count or 0), int(total or 0)


def revenue_by_customer(user, since: dt.date, until: dt.date,
                        customer_ids: list[int]) -> dict[int, Decimal]:
    """元 invoiced per customer in the period (CNY invoices, cancelled left out), for
    customers already known to be visible to `user` (a ranking's rows, the page's
    customer)."""
    from guanxi.commerce.models import Invoice, InvoiceStatus

    if not customer_ids:
        return {}
    qs = (Invoice.objects
          .filter(customer_id__in=customer_ids, issued_on__gte=since, issued_on__lte=until,
                  currency="CNY").exclude(status=InvoiceStatus.CANCELLED))
    return {r["customer_id"]: r["total"] or Decimal(0)
            for r in qs.order_by().values("customer_id").annotate(total=Sum("amount"))}


@dataclass
class CostPage:
    rows: list[CostRow]
    number: int
    per_page: int
    count: int
    total_minutes: int
    total_cost: Decimal
    since: dt.date
    until: dt.date
    rate: Decimal

    @property
    def has_next(self) -> bool:
        return self.offset + self.per_page < self.count

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    offset: int = 0

    @property
    def start_index(self) -> int:
        return self.offset


def cost_ranking(user, since: dt.date, until: dt.date, *, page: int = 1,
                 per_page: int = 50, offset: int | None = None) -> CostPage:
    """Visible customers by cost to serve in the period, most expensive first; revenue
    and the cost/revenue ratio for the rows of the page."""
    from guanxi.parties.models import Customer

    rate = hourly_rate()
    page = max(1, page)
    offset = (page - 1) * per_page if offset is None else max(0, offset)
    ranked, count, total = _ranked(user, since, until, per_page, offset)
    ids = [pk for pk, _m in ranked]
    minutes = minutes_by_customer(user, since, until, customer_ids=ids)
    customers = Customer.objects.in_bulk(ids)
    revenue = revenue_by_customer(user, since, until, ids)
    rows = [CostRow(customer_id=pk, minutes=minutes.get(pk, Minutes()), rate=rate,
                    customer=customers.get(pk), revenue=revenue.get(pk, Decimal(0)))
            for pk in ids]
    return CostPage(rows=rows, number=page, per_page=per_page, count=count,
                    total_minutes=total, total_cost=price(total, rate), since=since,
                    until=until, rate=rate, offset=offset)


def customer_cost(user, customer, since: dt.date | None = None,
                  until: dt.date | None = None) -> CostRow:
    """One customer's cost to serve (default: the last 12 months) with its revenue.
    The caller has checked that `user` may see `customer`."""
    if since is None or until is None:
        since, until = default_period()
    minutes = minutes_by_customer(user, since, until, customer=customer).get(
        customer.pk, Minutes())
    revenue = revenue_by_customer(user, since, until, [customer.pk]).get(customer.pk,
                                                                          Decimal(0))
    return CostRow(customer_id=customer.pk, minutes=minutes, rate=hourly_rate(),
                   customer=customer, revenue=revenue)


def parse_period(since: str | None, until: str | None,
                 today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Dates from ?since=&until= (YYYY-MM-DD); missing or unreadable ones fall back to
    the last 12 months; a reversed range is put the right way round."""
    default_since, default_until = default_period(today)

    def read(value: str | None, fallback: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat((value or "").strip()) if value else fallback
        except ValueError:
            return fallback

    start, end = read(since, default_since), read(until, default_until)
    return (start, end) if start <= end else (end, start)
