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

The parts: service_calendar (the working calendar), service_staff (staff and queues),
service_tickets (ServiceGen: tickets, SLA, messages, the present moment), service_field
(its field visits), service_feedback (its complaints, surveys and NPS), service_objects
(the generated objects), service_rows (ids and table rows). This module loads them.

Deterministic: one random stream per customer from the seed; ids in date order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Min

from guanxi.core.bulk import insert_statement

from . import commerce
from .commerce import CustomerInfo, Deal, Formats
from .service_calendar import WorkCalendar
from .service_feedback import _campaign
from .service_objects import ServiceBatch
from .service_rows import (
    COMPLAINT_COLUMNS,
    MESSAGE_COLUMNS,
    SURVEY_COLUMNS,
    TASK_COLUMNS,
    TICKET_COLUMNS,
    TIME_COLUMNS,
    VISIT_COLUMNS,
    ServiceIds,
    _assign,
    _rows,
)
from .service_staff import build_service_skeleton
from .service_tickets import ServiceGen

BATCH = 20_000  # customers per batch (memory stays flat for big loads)


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
