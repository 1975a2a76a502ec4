"""The API permission matrix of issue 5: every role × every route of the commerce mirror
(ERP upserts and reads) and of the service desk (tickets, SLAs, complaints, assets,
field visits, screen-pop, surveys).

It reuses test_matrix.py's machinery (Row, the roles, the world of customers A, B and
P, the snapshot) and adds, per target, a contract with a payment milestone, an order
with a line, a delivery in transit, an overdue invoice, a payment, an asset, an
equipment-fault ticket (with a reply, a duplicate to merge, a field visit, an answered
survey and a time entry) and a resolved complaint ticket whose follow-up call is the
owner's, all created with the ORM. Every route lives in SERVICE_MATRIX (a route of
guanxi.commerce or guanxi.servicedesk without a row fails, and test_matrix.py leaves
those routes out); SERVICE_VARIANTS call a route another way (an internal note).

Expected outcomes are written by hand from the rules (guanxi.servicedesk.permissions
and the issue), not computed by the code under test:

- reading follows the customer: rep sees A and P, rep2 B and P, the East manager A and
  P, every other role all three (VISIBLE); invisible ⇒ 404;
- ERP upserts: administrators and finance only (403 otherwise, nothing written);
- ticket work (reply, assign, status, merge) and dispatching: desk staff (admin,
  director, service) and managers on what they see; read-only never; internal notes
  and new tickets: everyone who sees the customer but read-only;
- SLA policies and the working calendar: everyone reads, administrators write;
- NPS campaigns are sent by admin, director, marketing and service;
- service figures and cost to serve: admin, director, manager, service, finance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from guanxi.activities.models import Task
from guanxi.commerce.models import (
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    Payment,
)
from guanxi.core.models import Job, SiteSetting
from guanxi.parties.models import Customer
from guanxi.sales.models import Product, ProductLine
from guanxi.servicedesk.models import (
    Asset,
    BusinessCalendar,
    CalendarDay,
    Complaint,
    FieldVisit,
    NpsCampaign,
    Queue,
    SlaPolicy,
    Survey,
    Ticket,
    TicketMessage,
    TicketType,
    TimeEntry,
)

from .test_matrix import (  # noqa: F401  (world: the sales world fixture, extended below)
    ROLES,
    TARGETS,
    VISIBLE,
    Row,
    _expected,
    _schema_routes,
    snapshot,
    world,
)

SERVICE_ROUTES = _schema_routes(service=True)

# ---------------------------------------------------------------- the rules, by hand

# Who sees each target's records (customer visibility): VISIBLE from test_matrix.
# ERP upserts (servicedesk.permissions.can_sync_erp).
ERP_SYNC = {"admin", "finance"}
# Desk staff and managers work the tickets they see (reply, assign, status, merge,
# dispatch, report a visit for the technician); read-only users never. The tickets
# are unassigned and nobody of the roles is in their queue.
DESK = {"admin", "director", "service"}
WORK_TICKET = {
    "A": DESK | {"manager"},
    "B": DESK,
    "P": DESK | {"manager"},
}
# New tickets and internal notes: whoever sees the customer, except read-only users.
COMMENT_TICKET = {t: VISIBLE[t] - {"readonly"} for t in TARGETS}
# Assets: whoever sees the customer, except read-only users and marketing.
EDIT_ASSET = {t: VISIBLE[t] - {"readonly", "marketing"} for t in TARGETS}
# The follow-up call of a (resolved) complaint: who works the ticket, and the person the
# call was given to (the customer's owner; P: the director).
FOLLOW_UP = {"A": WORK_TICKET["A"] | {"rep"}, "B": WORK_TICKET["B"] | {"rep2"},
             "P": WORK_TICKET["P"]}
# Setup: administrators only.
SETUP = {"admin"}
# NPS campaigns.
SEND_NPS = {"admin", "director", "marketing", "service"}
# SLA, satisfaction and complaint figures, cost to serve.
FIGURES = {"admin", "director", "manager", "service", "finance"}


# The customers' company phones, and how a caller's number arrives at the screen-pop.
PHONES = {"A": "+862165321234", "B": "+862363001234", "P": "+8657188001234"}
PHONE_FORMATS = {"A": "021-6532 1234", "B": "(023)63001234", "P": "+86 571 8800 1234"}

# ---------------------------------------------------------------- the service world


@pytest.fixture
def service_world(world, users, org):  # noqa: F811  (the sales world, imported)
    """The sales world plus, per target, the commerce and service records."""
    w = world
    today = timezone.localdate()
    now = timezone.now()
    w.types = {t.code: t for t in TicketType.objects.all()}
    w.queues = {q.code: q for q in Queue.objects.all()}
    w.product_line = ProductLine.objects.create(code="water", name="水处理设备",
                                                source="erp", external_id="PL-1")
    w.product = Product.objects.create(product_line=w.product_line, code="RO-500",
                                       name="反渗透纯水设备 RO-500", unit_price=Decimal(88000),
                                       source="erp", external_id="P-1")
    owners = {"A": users["rep"], "B": users["rep2"], "P": users["director"]}
    technician = users["service"]
    names = ("contracts", "milestones", "orders", "lines", "deliveries", "invoices",
             "payments", "assets", "tickets", "messages", "duplicates", "complaint_tickets",
             "complaints", "visits", "surveys", "time_entries")
    for name in names:
        setattr(w, name, {})
    for t, c in w.customers.items():
        Customer.all_objects.filter(pk=c.pk).update(phone=PHONES[t])
        contract = Contract.objects.create(
            customer=c, external_id=f"C-{t}", number=f"HT-2025-00{t}", title=f"合同{t}",
            signed_on=today - dt.timedelta(days=120), amount=Decimal("176000.00"),
            executed_amount=Decimal("88000.00"))
        w.contracts[t] = contract
        w.milestones[t] = ContractMilestone.objects.create(
            contract=contract, seq=1, kind="payment", name="到货款",
            due_on=today - dt.timedelta(days=30), amount=Decimal("88000.00"))
        order = Order.objects.create(
            customer=c, contract=contract, external_id=f"O-{t}", number=f"SO-2025-00{t}",
            ordered_on=today - dt.timedelta(days=60), promised_on=today + dt.timedelta(days=5),
            status="shipped", amount=Decimal("176000.00"))
        w.orders[t] = order
        w.lines[t] = OrderLine.objects.create(
            order=order, line_no=1, product=w.product, product_code="RO-500",
            description="反渗透纯水设备", quantity=Decimal(2), unit="台",
            unit_price=Decimal("88000.00"), amount=Decimal("176000.00"))
        w.deliveries[t] = Delivery.objects.create(
            customer=c, order=order, external_id=f"D-{t}", number=f"DN-2025-00{t}",
            status="in_transit", carrier="顺丰速运", tracking_number=f"SF10000000{t}",
            shipped_on=today - dt.timedelta(days=2), expected_on=today + dt.timedelta(days=2))
        invoice = Invoice.objects.create(
            customer=c, order=order, contract=contract, external_id=f"I-{t}",
            number=f"FP-2025-00{t}", issued_on=today - dt.timedelta(days=75),
            due_on=today - dt.timedelta(days=45), amount=Decimal("88000.00"),
            paid_amount=Decimal("30000.00"), status="partially_paid")
        w.invoices[t] = invoice
        w.payments[t] = Payment.objects.create(
            customer=c, invoice=invoice, contract=contract, external_id=f"R-{t}",
            received_on=today - dt.timedelta(days=40), amount=Decimal("30000.00"),
            reference=f"回单{t}")
        asset = Asset.objects.create(
            customer=c, product=w.product, name="反渗透纯水设备", serial_number=f"SN-{t}-001",
            installed_on=today - dt.timedelta(days=300),
            warranty_ends_on=today + dt.timedelta(days=65), location="一号车间",
            order=order, contract=contract)
        w.assets[t] = asset
        contact = w.contacts[t]
        ticket = Ticket.objects.create(
            customer=c, contact=contact, type=w.types["equipment_fault"],
            queue=w.queues["engineering"], subject=f"设备故障{t}", description="压力报警",
            priority="high", status="open", asset=asset, order=order,
            created_by=owners[t])
        w.tickets[t] = ticket
        w.messages[t] = TicketMessage.objects.create(
            ticket=ticket, kind="reply", body="已收到，工程师将联系您。", author=technician)
        w.duplicates[t] = Ticket.objects.create(
            customer=c, contact=contact, type=w.types["equipment_fault"],
            queue=w.queues["engineering"], subject=f"设备故障{t}（重复）", status="new",
            created_by=owners[t])
        complaint_ticket = Ticket.objects.create(
            customer=c, contact=contact, type=w.types["complaint"],
            queue=w.queues["customer_service"], subject=f"投诉{t}", description="响应太慢",
            priority="high", status="resolved", resolved_at=now - dt.timedelta(days=1),
            created_by=owners[t])
        w.complaint_tickets[t] = complaint_ticket
        # Resolved yesterday; the follow-up call is the owner's (P: the director's).
        follow_up = Task.objects.create(
            title=f"投诉回访{t}", kind="call", assignee=owners[t], created_by=technician,
            customer=c, due_at=now + dt.timedelta(days=1))
        w.complaints[t] = Complaint.objects.create(
            ticket=complaint_ticket, severity="major", follow_up_task=follow_up)
        start = now.replace(microsecond=0) + dt.timedelta(days=1)
        visit = FieldVisit.objects.create(
            ticket=ticket, customer=c, technician=technician, scheduled_start=start,
            scheduled_end=start + dt.timedelta(hours=2), address="一号车间",
            instructions="带压力传感器", created_by=users["service"])
        w.visits[t] = visit
        w.surveys[t] = Survey.objects.create(
            kind="csat", customer=c, contact=contact, ticket=ticket, agent=technician,
            queue=w.queues["engineering"], email=f"survey-{t.lower()}@example.com",
            sent_at=now - dt.timedelta(days=1), expires_at=now + dt.timedelta(days=13),
            answered_at=now - dt.timedelta(hours=3), score=4, comment="满意")
        w.time_entries[t] = TimeEntry.objects.create(
            customer=c, user=technician, kind="ticket", minutes=30, ticket=ticket)
    w.campaign = NpsCampaign.objects.create(name="2025年度NPS", segment={"tier": "A"},
                                            created_by=users["marketing"])
    w.calendar = BusinessCalendar.objects.get(is_default=True)
    w.policy = SlaPolicy.objects.get(tier="A", priority="high")
    return w


# ---------------------------------------------------------------- snapshot


def _rows(model) -> list[dict[str, Any]]:
    manager = getattr(model, "all_objects", model._default_manager)
    return list(manager.order_by("pk").values())


SERVICE_MODELS = (Contract, ContractMilestone, Order, OrderLine, Delivery, Invoice, Payment,
                  ProductLine, Product, Asset, Queue, Queue.members.through, TicketType,
                  SlaPolicy, BusinessCalendar, CalendarDay, Ticket, TicketMessage, Complaint,
                  FieldVisit, TimeEntry, NpsCampaign, Survey, Job, SiteSetting)


def service_snapshot() -> dict[str, Any]:
    """test_matrix's snapshot plus every row of the commerce and service tables, the
    jobs, the site settings and the mail sent."""
    state = snapshot()
    for model in SERVICE_MODELS:
        state[model._meta.label] = _rows(model)
    state["mail"] = len(mail.outbox)
    return state


# ---------------------------------------------------------------- request builders


def _gated(url: Callable[[Any, str], str], allowed: set[str], ok: int = 200,
           body: Callable[[Any, str], dict] | None = None) -> Row:
    """A route about no one customer, open to some roles only (403 for the others).
    Reads are tried once per target (what the answer lists still follows the
    customer's visibility); writes once."""
    return Row("gated", url, allowed=allowed, ok=ok, body=body)


def _once(url: Callable[[Any, str], str], allowed: set[str], ok: int = 200,
          body: Callable[[Any, str], dict] | None = None) -> Row:
    """A write about no one customer, open to some roles only; tried once."""
    return Row("create", url, allowed=allowed, ok=ok, body=body)


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _at(days: int, hour: int) -> str:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone()
                               ).isoformat()


def _v(obj) -> int:
    """The record's current version."""
    manager = getattr(type(obj), "all_objects", type(obj)._default_manager)
    return manager.get(pk=obj.pk).version


def _customers(w, t) -> str:
    return f"/api/v1/customers/{w.customers[t].pk}"


def _ticket(w, t) -> str:
    return f"/api/v1/tickets/{w.tickets[t].pk}"


def _complaint(w, t) -> str:
    return f"/api/v1/complaints/{w.complaint_tickets[t].pk}"


def _policy_grid(w, t) -> dict:
    """The whole SLA grid as stored, with tier A's high-priority first response at 3 h."""
    cells = []
    for p in SlaPolicy.objects.filter(active=True):
        first = "3" if (p.tier, p.priority) == ("A", "high") else str(p.first_response_hours)
        cells.append({"tier": p.tier, "priority": p.priority, "first_response_hours": first,
                      "resolution_hours": str(p.resolution_hours),
                      "warn_percent": p.warn_percent})
    return {"policies": cells}


def _asset(w, t) -> str:
    return f"/api/v1/assets/{w.assets[t].pk}"


def _visit(w, t) -> str:
    return f"/api/v1/visits/{w.visits[t].pk}"


def _erp(entity: str, row: Callable[[Any, str], dict]) -> Row:
    """POST /erp/<entity> with one new row for customer A: administrators and finance."""
    return _once(lambda w, t: f"/api/v1/erp/{entity}", ERP_SYNC,
                 body=lambda w, t: {"source": "erp", "rows": [row(w, t)]})


ERP_ROWS: dict[str, Callable[[Any, str], dict]] = {
    "product_lines": lambda w, t: {"external_id": "PL-9", "code": "pumps", "name": "水泵"},
    "products": lambda w, t: {"external_id": "P-9", "code": "PUMP-9", "name": "离心泵",
                              "product_line": "PL-1", "unit_price": "12000.00"},
    "contracts": lambda w, t: {
        "external_id": "C-NEW", "customer_id": w.customers[t].pk, "number": "HT-2025-NEW",
        "signed_on": _day(-1), "amount": "50000.00",
        "milestones": [{"seq": 1, "kind": "payment", "name": "预付款", "due_on": _day(30),
                        "amount": "15000.00"}]},
    "orders": lambda w, t: {
        "external_id": "O-NEW", "customer_id": w.customers[t].pk, "number": "SO-2025-NEW",
        "ordered_on": _day(-1), "amount": "12000.00",
        "lines": [{"line_no": 1, "product": "P-1", "quantity": "1", "unit_price": "12000.00",
                   "amount": "12000.00"}]},
    "deliveries": lambda w, t: {
        "external_id": "D-NEW", "customer_id": w.customers[t].pk, "order": "O-A",
        "number": "DN-2025-NEW", "status": "shipped", "carrier": "德邦物流",
        "shipped_on": _day(0)},
    "invoices": lambda w, t: {
        "external_id": "I-NEW", "customer_id": w.customers[t].pk, "order": "O-A",
        "number": "FP-2025-NEW", "issued_on": _day(0), "due_on": _day(30),
        "amount": "12000.00"},
    "payments": lambda w, t: {
        "external_id": "R-NEW", "customer_id": w.customers[t].pk, "invoice": "I-A",
        "received_on": _day(0), "amount": "10000.00", "reference": "回单NEW"},
}

SERVICE_MATRIX: dict[tuple[str, str], Row] = {
    # ---- ERP sync: administrators and finance only
    **{("post", f"/api/v1/erp/{entity}"): _erp(entity, row) for entity, row in ERP_ROWS.items()},
    # ---- commerce reads: whoever sees the customer (finance sees every payment)
    ("get", "/api/v1/customers/{customer_id}/contracts"): Row(
        "read", lambda w, t: _customers(w, t) + "/contracts",
        listed=lambda w, t: w.contracts[t].pk),
    ("get", "/api/v1/customers/{customer_id}/orders"): Row(
        "read", lambda w, t: _customers(w, t) + "/orders", listed=lambda w, t: w.orders[t].pk),
    ("get", "/api/v1/customers/{customer_id}/deliveries"): Row(
        "read", lambda w, t: _customers(w, t) + "/deliveries",
        listed=lambda w, t: w.deliveries[t].pk),
    ("get", "/api/v1/customers/{customer_id}/invoices"): Row(
        "read", lambda w, t: _customers(w, t) + "/invoices?overdue=true",
        listed=lambda w, t: w.invoices[t].pk),
    ("get", "/api/v1/customers/{customer_id}/payments"): Row(
        "read", lambda w, t: _customers(w, t) + "/payments",
        listed=lambda w, t: w.payments[t].pk),
    ("get", "/api/v1/orders/{order_id}"): Row(
        "read", lambda w, t: f"/api/v1/orders/{w.orders[t].pk}"),
    ("get", "/api/v1/contracts/{contract_id}"): Row(
        "read", lambda w, t: f"/api/v1/contracts/{w.contracts[t].pk}"),
    ("get", "/api/v1/invoices/{invoice_id}"): Row(
        "read", lambda w, t: f"/api/v1/invoices/{w.invoices[t].pk}"),
    ("get", "/api/v1/receivables"): Row(
        "list", lambda w, t: "/api/v1/receivables?overdue=true&limit=200",
        listed=lambda w, t: w.invoices[t].pk),
    # ---- tickets: read with the customer; desk staff and managers work them
    ("get", "/api/v1/tickets"): Row(
        "list", lambda w, t: "/api/v1/tickets?limit=200", listed=lambda w, t: w.tickets[t].pk),
    ("post", "/api/v1/tickets"): Row(
        "write", lambda w, t: "/api/v1/tickets", allowed=COMMENT_TICKET, ok=201,
        body=lambda w, t: {"customer": w.customers[t].pk, "type": "equipment_fault",
                           "subject": "矩阵：设备异响", "contact": w.contacts[t].pk,
                           "asset": w.assets[t].pk}),
    ("get", "/api/v1/tickets/{ticket_id}"): Row("read", _ticket),
    ("patch", "/api/v1/tickets/{ticket_id}"): Row(
        "write", _ticket, allowed=WORK_TICKET,
        body=lambda w, t: {"version": _v(w.tickets[t]), "subject": "矩阵：压力报警"}),
    ("get", "/api/v1/tickets/{ticket_id}/messages"): Row(
        "read", lambda w, t: _ticket(w, t) + "/messages"),
    # A reply to the customer is ticket work (an internal note: SERVICE_VARIANTS).
    ("post", "/api/v1/tickets/{ticket_id}/messages"): Row(
        "write", lambda w, t: _ticket(w, t) + "/messages", allowed=WORK_TICKET, ok=201,
        body=lambda w, t: {"kind": "reply", "body": "矩阵：工程师明天上门。"}),
    ("post", "/api/v1/tickets/{ticket_id}/assign"): Row(
        "write", lambda w, t: _ticket(w, t) + "/assign", allowed=WORK_TICKET,
        body=lambda w, t: {"assignee": w.users["service"].pk}),
    ("post", "/api/v1/tickets/{ticket_id}/status"): Row(
        "write", lambda w, t: _ticket(w, t) + "/status", allowed=WORK_TICKET,
        body=lambda w, t: {"status": "resolved", "note": "矩阵：已修复"}),
    ("post", "/api/v1/tickets/{ticket_id}/merge"): Row(
        "write", lambda w, t: f"/api/v1/tickets/{w.duplicates[t].pk}/merge",
        allowed=WORK_TICKET, body=lambda w, t: {"into": w.tickets[t].pk}),
    ("get", "/api/v1/ticket-types"): Row(
        "read", lambda w, t: "/api/v1/ticket-types", scoped=False),
    ("get", "/api/v1/queues"): Row("read", lambda w, t: "/api/v1/queues", scoped=False),
    # ---- complaints (addressed by their ticket): handled by who works the ticket
    ("get", "/api/v1/complaints"): Row("list", lambda w, t: "/api/v1/complaints?limit=200"),
    ("get", "/api/v1/complaints/{ticket_id}"): Row("read", _complaint),
    ("patch", "/api/v1/complaints/{ticket_id}"): Row(
        "write", _complaint, allowed=WORK_TICKET,
        body=lambda w, t: {"version": _v(w.complaints[t]), "root_cause_category": "service",
                           "root_cause": "值班人员未及时回电", "corrective_action": "增加值班"}),
    ("post", "/api/v1/complaints/{ticket_id}/follow-up"): Row(
        "write", lambda w, t: _complaint(w, t) + "/follow-up", allowed=FOLLOW_UP,
        body=lambda w, t: {"satisfied": True, "notes": "客户表示满意"}),
    ("get", "/api/v1/complaints/rates"): _gated(
        lambda w, t: "/api/v1/complaints/rates", FIGURES),
    # ---- SLAs: figures for who sees service figures; setup read by all, written by
    # administrators
    ("get", "/api/v1/sla/figures"): _gated(lambda w, t: "/api/v1/sla/figures", FIGURES),
    ("get", "/api/v1/sla/policies"): Row(
        "read", lambda w, t: "/api/v1/sla/policies", scoped=False),
    ("put", "/api/v1/sla/policies"): _once(
        lambda w, t: "/api/v1/sla/policies", SETUP, body=_policy_grid),
    ("get", "/api/v1/sla/calendar"): Row(
        "read", lambda w, t: "/api/v1/sla/calendar", scoped=False),
    ("put", "/api/v1/sla/calendar"): _once(
        lambda w, t: "/api/v1/sla/calendar", SETUP,
        body=lambda w, t: {"lunch_start": "12:00:00", "lunch_end": "13:30:00"}),
    ("get", "/api/v1/sla/calendar/days"): Row(
        "read", lambda w, t: "/api/v1/sla/calendar/days?year=2026", scoped=False),
    ("post", "/api/v1/sla/calendar/days"): _once(
        lambda w, t: "/api/v1/sla/calendar/days", SETUP,
        body=lambda w, t: {"year": 2027, "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}),
    # ---- installed equipment: whoever sees the customer but read-only and marketing edits
    ("get", "/api/v1/assets"): Row(
        "list", lambda w, t: "/api/v1/assets?limit=200", listed=lambda w, t: w.assets[t].pk),
    ("post", "/api/v1/assets"): Row(
        "write", lambda w, t: "/api/v1/assets", allowed=EDIT_ASSET, ok=201,
        body=lambda w, t: {"customer": w.customers[t].pk, "product": w.product.pk,
                           "serial_number": f"SN-{t}-NEW", "installed_on": _day(-1),
                           "location": "二号车间"}),
    ("get", "/api/v1/assets/{asset_id}"): Row("read", _asset),
    ("patch", "/api/v1/assets/{asset_id}"): Row(
        "write", _asset, allowed=EDIT_ASSET,
        body=lambda w, t: {"version": _v(w.assets[t]), "location": "三号车间"}),
    ("delete", "/api/v1/assets/{asset_id}"): Row(
        "write", _asset, allowed=EDIT_ASSET, ok=204),
    ("get", "/api/v1/assets/{asset_id}/history"): Row(
        "read", lambda w, t: _asset(w, t) + "/history"),
    # ---- field service: dispatchers (desk staff, managers) book, move, cancel; the
    # technician (service) or a dispatcher files the report
    ("get", "/api/v1/visits"): Row(
        "list", lambda w, t: "/api/v1/visits?limit=200", listed=lambda w, t: w.visits[t].pk),
    ("post", "/api/v1/visits"): Row(
        "write", lambda w, t: "/api/v1/visits", allowed=WORK_TICKET, ok=201,
        body=lambda w, t: {"ticket": w.tickets[t].pk, "technician": w.users["service"].pk,
                           "scheduled_start": _at(2, 9), "scheduled_end": _at(2, 11)}),
    ("get", "/api/v1/visits/{visit_id}"): Row("read", _visit),
    ("patch", "/api/v1/visits/{visit_id}"): Row(
        "write", _visit, allowed=WORK_TICKET,
        body=lambda w, t: {"version": _v(w.visits[t]), "instructions": "矩阵：带备件"}),
    ("post", "/api/v1/visits/{visit_id}/report"): Row(
        "write", lambda w, t: _visit(w, t) + "/report", allowed=WORK_TICKET,
        body=lambda w, t: {"work_done": "更换压力传感器", "signed_off_by": "王工",
                           "parts_used": [{"part": "压力传感器", "quantity": 1}],
                           "time_spent_minutes": 90, "travel_minutes": 40,
                           "outcome": "resolved"}),
    ("post", "/api/v1/visits/{visit_id}/cancel"): Row(
        "write", lambda w, t: _visit(w, t) + "/cancel", allowed=WORK_TICKET,
        body=lambda w, t: {"reason": "客户改期"}),
    # ---- screen-pop: everyone; the caller is found among the customers one sees
    ("get", "/api/v1/screen-pop"): Row(
        "read", lambda w, t: f"/api/v1/screen-pop?phone={PHONE_FORMATS[t]}", scoped=False),
    # ---- satisfaction and cost to serve
    ("get", "/api/v1/surveys"): Row(
        "list", lambda w, t: "/api/v1/surveys?limit=200", listed=lambda w, t: w.surveys[t].pk),
    ("get", "/api/v1/customers/{customer_id}/satisfaction"): Row(
        "read", lambda w, t: _customers(w, t) + "/satisfaction"),
    ("post", "/api/v1/nps-campaigns"): _once(
        lambda w, t: "/api/v1/nps-campaigns", SEND_NPS, ok=201,
        body=lambda w, t: {"name": "矩阵NPS", "segment": {"tier": "A"}}),
    ("get", "/api/v1/nps-campaigns/{campaign_id}"): _gated(
        lambda w, t: f"/api/v1/nps-campaigns/{w.campaign.pk}", SEND_NPS | FIGURES),
    ("get", "/api/v1/cost-to-serve"): _gated(
        lambda w, t: "/api/v1/cost-to-serve?limit=200", FIGURES),
}

# The same routes called another way, with other rules.
SERVICE_VARIANTS: dict[tuple[str, str, str], Row] = {
    # An internal note: everyone who sees the ticket but read-only.
    ("post", "/api/v1/tickets/{ticket_id}/messages", "note"): Row(
        "write", lambda w, t: _ticket(w, t) + "/messages", allowed=COMMENT_TICKET, ok=201,
        body=lambda w, t: {"kind": "note", "body": "矩阵：客户上次也报过这个问题。"}),
    # A message received from the customer (pasted in by the desk): ticket work.
    ("post", "/api/v1/tickets/{ticket_id}/messages", "inbound"): Row(
        "write", lambda w, t: _ticket(w, t) + "/messages", allowed=WORK_TICKET, ok=201,
        body=lambda w, t: {"kind": "inbound", "body": "矩阵：设备又报警了。"}),
}

# Answers that are not a page of items: is the target's record in it?
FOUND: dict[tuple[str, str], Callable[[Any, Any, str], bool]] = {
    ("get", "/api/v1/complaints"): lambda data, w, t: any(
        item["ticket"] == w.complaint_tickets[t].pk for item in data["items"]),
    ("get", "/api/v1/complaints/rates"): lambda data, w, t: any(
        item["customer"] == w.customers[t].pk for item in data["customers"]),
    ("get", "/api/v1/screen-pop"): lambda data, w, t: any(
        m["customer"]["id"] == w.customers[t].pk for m in data["matches"]),
    ("get", "/api/v1/cost-to-serve"): lambda data, w, t: any(
        item["customer"] == w.customers[t].pk for item in data["items"]),
    ("get", "/api/v1/tickets/{ticket_id}/messages"): lambda data, w, t: any(
        m["id"] == w.messages[t].pk for m in data),
    ("get", "/api/v1/customers/{customer_id}/satisfaction"): lambda data, w, t: (
        (data["last_csat"] or {}).get("id") == w.surveys[t].pk),
    ("get", "/api/v1/orders/{order_id}"): lambda data, w, t: (
        [line["line_no"] for line in data["lines"]] == [1]
        and [d["id"] for d in data["deliveries"]] == [w.deliveries[t].pk]),
}


# ---------------------------------------------------------------- tests


def _expected_service(row: Row, role: str, target: str) -> int:
    if row.kind == "gated":
        return row.ok if role in row.allowed else 403  # type: ignore[operator]
    return _expected(row, role, target)


def _check(route: tuple[str, str], row: Row, role: str, client, w) -> None:
    method = route[0]
    targets = ("A",) if row.kind == "create" else TARGETS
    for target in targets:
        expected = _expected_service(row, role, target)
        body = row.body(w, target) if row.body else None
        before = service_snapshot()
        resp = client.request(method, row.url(w, target), body)
        where = f"{method.upper()} {route[1]} as {role} on {target}"
        assert resp.status_code == expected, f"{where}: {resp.status_code} {resp.content[:300]!r}"
        after = service_snapshot()
        if method == "get" or expected >= 400:
            changed = {k for k in before if before[k] != after[k]}
            assert not changed, f"{where}: the database changed ({', '.join(sorted(changed))})"
        else:
            assert after != before, f"{where}: nothing was written"
            assert after["audit"] > before["audit"], f"{where}: the write was not audited"
        sees = role in (row.visible or VISIBLE)[target]
        if row.listed and expected == 200:
            pks = {item["id"] for item in resp.json()["items"]}
            assert (row.listed(w, target) in pks) == sees, f"{where}: listed?"
        found = FOUND.get(route)
        if found and expected == 200:
            assert found(resp.json(), w, target) == sees, f"{where}: found?"
        if expected >= 400:
            assert "detail" in resp.json(), where


def test_service_routes_exist():
    assert SERVICE_ROUTES, "no route under guanxi.commerce / guanxi.servicedesk"


@pytest.mark.parametrize("route", SERVICE_ROUTES,
                         ids=[f"{m.upper()} {p}" for m, p in SERVICE_ROUTES])
def test_service_route_has_a_matrix_row(route):
    assert route in SERVICE_MATRIX, f"{route} has no row in SERVICE_MATRIX"


def test_service_matrix_has_no_stale_rows():
    routes = set(SERVICE_ROUTES)
    assert set(SERVICE_MATRIX) <= routes, set(SERVICE_MATRIX) - routes
    assert {(m, p) for m, p, _ in SERVICE_VARIANTS} <= routes


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", SERVICE_ROUTES,
                         ids=[f"{m.upper()} {p}" for m, p in SERVICE_ROUTES])
def test_service_permission_matrix(route, role, api, service_world):
    row = SERVICE_MATRIX.get(route)
    if row is None:
        pytest.fail(f"{route} has no row in SERVICE_MATRIX")
    _check(route, row, role, api(role), service_world)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("variant", list(SERVICE_VARIANTS),
                         ids=[f"{m.upper()} {p} {v}" for m, p, v in SERVICE_VARIANTS])
def test_service_permission_matrix_variants(variant, role, api, service_world):
    method, path, _label = variant
    _check((method, path), SERVICE_VARIANTS[variant], role, api(role), service_world)


# ---------------------------------------------------------------- the cases


@pytest.mark.django_db
def test_finance_sees_payments_and_a_rep_only_their_customers_tickets(api, service_world):
    """The issue's two named cases, spelt out (the matrix rows above cover them too)."""
    w = service_world
    finance = api("finance")
    for t in TARGETS:
        resp = finance.get(f"/api/v1/customers/{w.customers[t].pk}/payments")
        assert resp.status_code == 200
        assert [p["id"] for p in resp.json()["items"]] == [w.payments[t].pk]
    assert finance.get(f"/api/v1/invoices/{w.invoices['B'].pk}").status_code == 200

    own = {w.tickets["A"].pk, w.duplicates["A"].pk, w.complaint_tickets["A"].pk}
    pool = {w.tickets["P"].pk, w.duplicates["P"].pk, w.complaint_tickets["P"].pk}
    other = {w.tickets["B"].pk, w.duplicates["B"].pk, w.complaint_tickets["B"].pk}
    rep = api("rep")
    listed = {item["id"] for item in rep.get("/api/v1/tickets?limit=200").json()["items"]}
    assert listed == own | pool  # their customer's and the pool's, never rep2's
    assert rep.get(f"/api/v1/tickets/{w.tickets['B'].pk}").status_code == 404
    assert rep.get(f"/api/v1/tickets?customer={w.customers['B'].pk}").json()["items"] == []
    assert rep.get(f"/api/v1/customers/{w.customers['B'].pk}/payments").status_code == 404
    rep2 = api("rep2")
    listed = {item["id"] for item in rep2.get("/api/v1/tickets?limit=200").json()["items"]}
    assert listed == other | pool

