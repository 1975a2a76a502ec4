"""Demo ERP mirror: contracts, orders, deliveries, invoices, payments and assets follow
the demo's won deals and add up."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from guanxi.commerce.models import (
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    Payment,
)
from guanxi.core.models import AuditEntry
from guanxi.demo import commerce
from guanxi.demo.commerce import (
    Catalogue,
    CommerceGen,
    CustomerInfo,
    Deal,
    ProductInfo,
    add_months,
)
from guanxi.demo.service_vocab import FREIGHT_CARRIERS, PARCEL_CARRIERS, SEA_CARRIER
from guanxi.sales.models import Opportunity, Product
from guanxi.servicedesk.models import Asset

TODAY = dt.date(2026, 3, 31)
CARRIERS = {c[0] for c in PARCEL_CARRIERS + FREIGHT_CARRIERS + (SEA_CARRIER,)}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The default demo, loaded once for the module and rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo", f"--today={TODAY}", "--seed=11", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo, db):
    return None


def test_every_won_deal_has_its_contract(loaded):
    won = {o.pk: o for o in Opportunity.objects.filter(status="won")}
    contracts = list(Contract.objects.all())
    assert len(contracts) == len(won) > 100
    for c in contracts:
        deal = won[c.opportunity_id]
        assert c.customer_id == deal.customer_id
        assert c.signed_on == deal.closed_on
        assert (c.amount, c.currency) == (deal.amount, deal.currency)
        assert c.source == "erp" and c.external_id == c.number
        assert re.fullmatch(r"HT-\d{4}-\d{6}", c.number)
        assert 0 <= c.executed_amount <= c.amount
    status = Counter(c.status for c in contracts)
    assert set(status) == {"active", "completed"}
    assert status["completed"] > 0.25 * len(contracts)
    # The oldest contracts are done, the newest still running.
    oldest = sorted(contracts, key=lambda c: c.signed_on)[:20]
    newest = sorted(contracts, key=lambda c: c.signed_on)[-20:]
    assert sum(c.status == "completed" for c in oldest) > sum(
        c.status == "completed" for c in newest)


def test_milestones_carry_a_30_60_10_payment_plan(loaded):
    by_contract = defaultdict(list)
    for m in ContractMilestone.objects.order_by("contract_id", "seq"):
        by_contract[m.contract_id].append(m)
    paid = defaultdict(list)
    for p in Payment.objects.order_by("received_on", "pk"):
        paid[p.contract_id].append(p)
    for c in Contract.objects.all():
        ms = by_contract[c.pk]
        assert [m.seq for m in ms] == list(range(1, len(ms) + 1))
        assert all(m.due_on for m in ms)
        plan = [m for m in ms if m.kind == "payment"]
        assert sum(m.amount for m in plan) == c.amount
        assert [round(m.amount * 100 / c.amount) for m in plan] == [30, 60, 10]
        # A payment step is done on the day the payments received reach it.
        running, cum = [], Decimal(0)
        for p in paid[c.pk]:
            cum += p.amount
            running.append((p.received_on, cum))
        threshold = Decimal(0)
        for m in plan:
            threshold += m.amount
            done = next((day for day, value in running if value >= threshold), None)
            assert m.done_on == done, (c.number, m.name)
    kinds = Counter(m.kind for ms in by_contract.values() for m in ms)
    assert {"delivery", "installation", "acceptance", "payment"} <= set(kinds)


def test_orders_belong_to_customers_with_a_won_deal_and_add_up(loaded):
    won_customers = set(Opportunity.objects.filter(status="won")
                        .values_list("customer_id", flat=True))
    orders = list(Order.objects.select_related("contract"))
    assert len(orders) >= len(won_customers)
    lines = defaultdict(list)
    for line in OrderLine.objects.all():
        lines[line.order_id].append(line)
    per_contract = defaultdict(Decimal)
    for o in orders:
        assert o.customer_id in won_customers
        assert o.contract.customer_id == o.customer_id
        assert o.currency == o.contract.currency
        assert o.ordered_on >= o.contract.signed_on and o.ordered_on < TODAY
        assert o.source == "erp" and o.external_id == o.number
        assert re.fullmatch(r"SO-\d{4}-\d{6}", o.number)
        assert lines[o.pk] and sum(x.amount for x in lines[o.pk]) == o.amount
        assert [x.line_no for x in lines[o.pk]] == list(range(1, len(lines[o.pk]) + 1))
        for x in lines[o.pk]:
            assert x.quantity * x.unit_price == x.amount > 0
            assert x.product_id is None or x.product_code
        per_contract[o.contract_id] += o.amount
    full = 0
    for c in Contract.objects.all():
        assert per_contract[c.pk] <= c.amount
        full += per_contract[c.pk] == c.amount
    assert full > 0.9 * Contract.objects.count()
    # The deals' products are on the orders, and ERP materials beside them.
    deal_products = set(Opportunity.products.through.objects.values_list("product_id",
                                                                         flat=True))
    ordered = set(OrderLine.objects.exclude(product=None).values_list("product_id", flat=True))
    assert len(deal_products & ordered) > 10
    erp = Product.objects.filter(source="erp")
    assert erp.count() >= 10 and not erp.filter(external_id="").exists()
    assert OrderLine.objects.filter(product__in=erp).exists()
    assert Counter(o.status for o in orders).keys() >= {"closed", "delivered", "confirmed",
                                                        "in_production"}


def test_deliveries_by_age(loaded):
    deliveries = list(Delivery.objects.select_related("order"))
    status = Counter(d.status for d in deliveries)
    assert status["delivered"] > 0.8 * len(deliveries)
    assert status["in_transit"] + status["shipped"] >= 2  # a few on the road now
    assert status["planned"] >= 1
    for d in deliveries:
        assert d.customer_id == d.order.customer_id
        assert d.carrier in CARRIERS and d.expected_on
        assert re.fullmatch(r"DN-\d{4}-\d{6}", d.number) and d.external_id == d.number
        if d.status == "planned":
            assert d.shipped_on is None and d.delivered_on is None and not d.tracking_number
            assert d.expected_on >= TODAY
        else:
            assert d.tracking_number and d.shipped_on < TODAY
            assert d.shipped_on >= d.order.ordered_on
        if d.status == "delivered":
            assert d.shipped_on < d.delivered_on < TODAY
        else:
            assert d.delivered_on is None
        if d.order.status in ("delivered", "closed"):
            assert d.status == "delivered"


def test_invoices_and_payments_are_consistent(loaded):
    invoices = list(Invoice.objects.select_related("customer", "order"))
    payments = defaultdict(list)
    for p in Payment.objects.all():
        payments[p.invoice_id].append(p)
    deliveries = Counter(Delivery.objects.exclude(shipped_on=None)
                         .values_list("order_id", flat=True))
    on_time = late = partial = open_overdue = 0
    for inv in invoices:
        got = payments[inv.pk]
        assert inv.paid_amount == sum((p.amount for p in got), Decimal(0))
        assert inv.paid_amount <= inv.amount
        expected = "paid" if inv.paid_amount == inv.amount else (
            "partially_paid" if inv.paid_amount else "open")
        assert inv.status == expected, inv.number
        assert inv.due_on == inv.issued_on + dt.timedelta(days=inv.customer.credit_days or 30)
        assert inv.customer_id == inv.order.customer_id and inv.issued_on < TODAY
        assert inv.source == "erp" and re.fullmatch(r"INV-\d{4}-\d{6}", inv.external_id)
        for p in got:
            assert p.customer_id == inv.customer_id and p.contract_id == inv.contract_id
            assert p.received_on < TODAY and p.amount > 0 and p.currency == inv.currency
        if inv.status == "paid":
            last = max(p.received_on for p in got)
            on_time += last <= inv.due_on
            late += last > inv.due_on
        partial += inv.status == "partially_paid"
        open_overdue += inv.outstanding > 0 and inv.overdue_days(TODAY) > 0
    # One invoice per shipment (service contracts invoice their order instead).
    per_order = Counter(i.order_id for i in invoices)
    goods = [o for o in per_order if deliveries[o]]
    assert goods and all(per_order[o] <= deliveries[o] for o in goods)
    n = len(invoices)
    assert on_time > 0.4 * n and late > 0.05 * n and partial > 0.05 * n
    assert open_overdue > 0.05 * n
    assert Payment.objects.filter(method="acceptance_bill").exists()
    # Some customers owe more than their credit limit.
    outstanding = defaultdict(Decimal)
    for inv in invoices:
        if inv.currency == "CNY":
            outstanding[inv.customer] += inv.outstanding
    over = [c for c, owed in outstanding.items() if c.credit_limit and owed > c.credit_limit]
    assert 1 <= len(over) < 0.3 * len(outstanding)


def test_assets_come_from_delivered_equipment(loaded):
    assets = list(Asset.objects.select_related("order", "product", "customer", "contract"))
    assert len(assets) > 100
    delivered = defaultdict(list)
    for d in Delivery.objects.filter(status="delivered"):
        delivered[d.order_id].append(d.delivered_on)
    equipment_lines = {"ro", "uf", "softener", "wastewater"}
    serials = set()
    for a in assets:
        assert a.customer_id == a.order.customer_id == a.contract.customer_id
        assert a.contract_id == a.order.contract_id
        assert delivered[a.order_id] and a.installed_on > min(delivered[a.order_id])
        assert a.installed_on < TODAY
        months = (a.warranty_ends_on.year - a.installed_on.year) * 12 + \
            a.warranty_ends_on.month - a.installed_on.month
        assert 12 <= months <= 24
        assert a.product.product_line.code in equipment_lines
        assert OrderLine.objects.filter(order=a.order, product=a.product).exists()
        assert a.location.startswith(a.customer.city) or a.customer.country != "CN" \
            or a.customer.province in a.location
        assert a.serial_number and a.serial_number not in serials
        serials.add(a.serial_number)
        assert a.source == "erp" and a.external_id
    # Installed in the last year with 12–24 months of warranty: all still covered.
    assert all(a.under_warranty(TODAY) for a in assets)
    assert len({a.warranty_ends_on - a.installed_on for a in assets}) > 3


def test_no_audit_entries_for_commerce_rows(loaded):
    assert not AuditEntry.objects.filter(model__startswith="commerce.").exists()


# --- The generator without a database ---------------------------------------------------


def _catalogue() -> Catalogue:
    items = [
        ProductInfo(1, "RO-10T", "10吨/小时反渗透设备", 560_000, "ro", "套", "system"),
        ProductInfo(2, "EDI-5T", "EDI超纯水系统", 980_000, "ro", "套", "system"),
        ProductInfo(3, "DOS-AS", "阻垢剂自动加药装置", 26_000, "ro", "套", "equipment"),
        ProductInfo(4, "MEM-RO8040", "8040反渗透膜元件", 4_800, "consumables", "支", "part"),
        ProductInfo(5, "FLT-PP20", "20寸PP滤芯（箱）", 680, "consumables", "箱", "part"),
        ProductInfo(6, "SVC-ANNUAL", "年度运维合同", 60_000, "service", "年", "service"),
        ProductInfo(7, "SVC-CIP", "膜化学清洗服务", 18_000, "service", "次", "service"),
    ]
    products = {p.id: p for p in items}
    return Catalogue(products, {10: "ro", 11: "consumables", 12: "service"},
                     {"ro": [products[3]]}, [products[5]], [products[1], products[2]])


def _customer(pk: int, country: str = "CN") -> CustomerInfo:
    return CustomerInfo(pk, "o", "B", "customer", 30, Decimal(300000), 5, 6, country,
                        "江苏省", "苏州", "工业园区", "星湖街1号", "苏州某电子有限公司", "某电子",
                        TODAY - dt.timedelta(days=800), "华东区")


def _deals(pk: int, rng_seed: int) -> list[Deal]:
    import random

    rnd = random.Random(rng_seed).random
    deals = []
    for k, (line, products) in enumerate(((10, (1, 3)), (10, (1, 2)), (11, (4, 5)),
                                          (12, (6, 7)), (11, (4,)))):
        amount = Decimal(int(10_000 + rnd() * 2_000_000) // 1000 * 1000)
        closed = TODAY - dt.timedelta(days=int(rnd() * 360))
        deals.append(Deal(pk * 10 + k, pk, amount, "CNY", Decimal(1), closed, line,
                          f"deal {k}", products))
    return deals


def test_generator_adds_up_for_any_amount():
    gen = CommerceGen(7, TODAY, _catalogue())
    for pk in range(1, 120):
        country = "US" if pk % 17 == 0 else "CN"
        deals = _deals(pk, pk)
        if country != "CN":
            deals = [Deal(d.id, d.customer_id, (d.amount / Decimal("7.2")).quantize(
                Decimal(1)), "USD", Decimal("7.2"), d.closed_on, d.line_id, d.name,
                d.product_ids) for d in deals]
        cc = gen.customer(_customer(pk, country), deals)
        for c in cc.contracts:
            total = sum(x.amount for o in c.orders for x in o.lines)
            assert total <= c.amount
            for o in c.orders:
                assert all(x.amount == x.quantity * x.unit_price > 0 for x in o.lines)
                assert sum(d.amount for d in o.deliveries) <= o.amount
            for inv in c.invoices:
                assert inv.paid <= inv.amount
            plan = [m for m in c.milestones if m[1] == "payment"]
            assert sum(m[5] for m in plan) == c.amount
            for a in c.assets:
                assert a.product.kind in commerce.ASSET_KINDS
                assert a.installed > a.delivery.delivered
                assert add_months(a.installed, 12) <= a.warranty_ends


def test_generator_is_deterministic():
    def run(seed):
        gen = CommerceGen(seed, TODAY, _catalogue())
        batch = [gen.customer(_customer(pk), _deals(pk, pk)) for pk in range(1, 40)]
        commerce.assign_ids(batch, commerce.IdCounters(1, 1, 1, 1, 1, 1))
        fmt = commerce.Formats(True, dt.UTC, TODAY)
        return commerce.rows(batch, fmt)

    a, b, c = run(3), run(3), run(4)
    assert a == b
    assert a.orders != c.orders
    contracts = sorted(r[0] for r in a.contracts)
    assert contracts == list(range(1, len(contracts) + 1))
    signed = [r[8] for r in sorted(a.contracts)]
    assert signed == sorted(signed)  # ids in date order
