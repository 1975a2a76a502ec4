"""Demo commerce data: what the ERP holds about the demo's won deals.

Every won opportunity becomes a contract signed on its close date for the deal's
amount, with its milestones (delivery, installation, acceptance and a 30/60/10 %
payment plan), one or more orders whose lines (the deal's products, quantity × unit
price) add up to the amount, deliveries with a carrier and tracking number, one
invoice per delivery (due after the customer's credit days, or 30) and the payments
received against it — most on time, some late, partial or still open, so a few
customers are over their credit limit. Delivered equipment becomes installed assets.

Rows are generated per batch of customers from the seed and the loaded sales rows
alone (one random stream per customer), then given ids in date order and inserted
with `core.bulk` statements. All mirrored rows have source "erp" and external ids
such as SO-2026-000123, so a later ERP upsert updates them in place.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from . import geo
from .service_vocab import (
    DEFAULT_UNIT,
    ERP_PRODUCTS,
    FREIGHT_CARRIERS,
    PARCEL_CARRIERS,
    PLACES,
    PRODUCT_UNITS,
    REST_LINES,
    SEA_CARRIER,
)

SOURCE = "erp"
EQUIPMENT_LINES = ("ro", "uf", "softener", "wastewater")
ASSET_KINDS = ("system", "equipment")
LEAD_DAYS = {"ro": (25, 60), "uf": (25, 55), "wastewater": (35, 75), "softener": (7, 20),
             "consumables": (1, 5)}
PLAN = ((30, "预付款（30%）"), (60, "到货款（60%）"), (10, "验收款（10%）"))

CONTRACT_COLUMNS = (
    "id", "source", "external_id", "synced_at", "customer_id", "number", "title", "status",
    "signed_on", "starts_on", "ends_on", "amount", "currency", "executed_amount",
    "opportunity_id", "notes",
)
MILESTONE_COLUMNS = ("contract_id", "seq", "kind", "name", "due_on", "done_on", "amount")
ORDER_COLUMNS = (
    "id", "source", "external_id", "synced_at", "customer_id", "contract_id", "number",
    "ordered_on", "promised_on", "status", "amount", "currency",
)
ORDER_LINE_COLUMNS = ("order_id", "line_no", "product_id", "product_code", "description",
                      "quantity", "unit", "unit_price", "amount")
DELIVERY_COLUMNS = (
    "id", "source", "external_id", "synced_at", "customer_id", "order_id", "number", "status",
    "carrier", "tracking_number", "shipped_on", "expected_on", "delivered_on", "address",
)
INVOICE_COLUMNS = (
    "id", "source", "external_id", "synced_at", "customer_id", "order_id", "contract_id",
    "number", "issued_on", "due_on", "amount", "paid_amount", "currency", "status",
)
PAYMENT_COLUMNS = (
    "id", "source", "external_id", "synced_at", "customer_id", "invoice_id", "contract_id",
    "received_on", "amount", "currency", "method", "reference",
)
ASSET_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "product_id", "name",
    "serial_number", "installed_on", "warranty_ends_on", "location", "status", "order_id",
    "contract_id", "notes", "source", "external_id",
)

# How customers pay, by tier: cumulative chances of prompt, late, slow (the rest: bad).
PAYERS = {"A": (0.45, 0.80, 0.95), "B": (0.60, 0.85, 0.95), "C": (0.70, 0.90, 0.97)}


# --- Inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductInfo:
    id: int
    code: str
    name: str
    price: int  # list price, 元
    line: str  # product line code
    unit: str
    kind: str  # system / equipment / part / service


@dataclass
class Catalogue:
    products: dict[int, ProductInfo]
    line_codes: dict[int, str]  # product line id → code
    accessories: dict[str, list[ProductInfo]]  # line code → ERP equipment add-ons
    parts: list[ProductInfo]  # consumables that go with any order
    system_products: list[ProductInfo]  # for equipment the CRM has no record of


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    kind: str
    tier: str
    stage: str
    credit_days: int
    credit_limit: Decimal | None
    owner_id: int | None
    team_id: int | None
    country: str
    province: str
    city: str
    district: str
    street: str
    name: str
    short_name: str
    created_on: dt.date
    region: str
    email: str = ""

    @property
    def address(self) -> str:
        if self.country != "CN":
            return f"{self.street}, {self.city}"
        city = "" if self.province.startswith(self.city) else self.city  # 上海市, 重庆市…
        return f"{self.province}{city}{self.district}{self.street}"

    @property
    def who(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True)
class Deal:
    id: int
    customer_id: int
    amount: Decimal
    currency: str
    rate: Decimal
    closed_on: dt.date
    line_id: int
    name: str
    product_ids: tuple[int, ...]


# --- Generated objects (ids are given after a batch is generated, in date order) ------


@dataclass(eq=False)
class Line:
    product: ProductInfo | None
    code: str
    description: str
    quantity: int
    unit: str
    unit_price: int  # cents
    amount: int  # cents
    line_no: int = 0


@dataclass(eq=False)
class Delivery:
    lines: list[Line]
    status: str
    carrier: str
    tracking: str
    shipped: dt.date | None
    expected: dt.date
    delivered: dt.date | None
    address: str
    planned_ship: dt.date
    installed: dt.date | None = None
    id: int = 0
    number: str = ""

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(eq=False)
class Order:
    contract: Contract
    ordered: dt.date
    promised: dt.date | None
    lines: list[Line]
    status: str = "confirmed"
    deliveries: list[Delivery] = field(default_factory=list)  # rows that exist now
    late_days: int = 0  # shipped this many days after the promise
    id: int = 0
    number: str = ""

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(eq=False)
class Payment:
    invoice: Invoice
    received: dt.date
    amount: int
    method: str
    reference: str
    id: int = 0


@dataclass(eq=False)
class Invoice:
    contract: Contract
    order: Order
    issued: dt.date
    due: dt.date
    amount: int
    payments: list[Payment] = field(default_factory=list)
    id: int = 0
    number: str = ""

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def status(self) -> str:
        paid = self.paid
        return "paid" if paid >= self.amount else ("partially_paid" if paid else "open")


@dataclass(eq=False)
class Asset:
    customer: CustomerInfo
    product: ProductInfo
    order: Order
    delivery: Delivery
    installed: dt.date
    warranty_ends: dt.date
    location: str
    status: str = "in_service"
    id: int = 0
    serial: str = ""


@dataclass(eq=False)
class Contract:
    deal: Deal
    customer: CustomerInfo
    category: str  # equipment / consumables / service
    line_code: str
    signed: dt.date
    amount: int  # cents
    currency: str
    warranty_months: int
    orders: list[Order] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    ends: dt.date | None = None
    status: str = "active"
    executed: int = 0
    milestones: list[tuple] = field(default_factory=list)  # (seq, kind, name, due, done, cents)
    id: int = 0
    number: str = ""


@dataclass
class CustomerCommerce:
    """What the service generator needs to know about one customer's purchases."""

    customer: CustomerInfo
    contracts: list[Contract] = field(default_factory=list)

    @property
    def orders(self) -> list[Order]:
        return [o for c in self.contracts for o in c.orders]

    @property
    def invoices(self) -> list[Invoice]:
        return [i for c in self.contracts for i in c.invoices]

    @property
    def assets(self) -> list[Asset]:
        return [a for c in self.contracts for a in c.assets]

    @property
    def late_orders(self) -> list[Order]:
        return [o for o in self.orders if o.late_days > 10]


# --- Helpers -----------------------------------------------------------------------------


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _digits(rnd, n: int) -> str:
    return "".join(str(int(rnd() * 10)) for _ in range(n))


def _category(line_code: str) -> str:
    if line_code in EQUIPMENT_LINES:
        return "equipment"
    return "service" if line_code == "service" else "consumables"


def region_of_team() -> dict[str, str]:
    """Office team name → region name."""
    return {o.name: o.region for o in geo.OFFICES}


# --- The catalogue (main process, ORM) ---------------------------------------------------


def ensure_catalogue() -> Catalogue:
    """The ERP's extra materials (source "erp", external id MAT-<code>) and the
    catalogue of every product with its unit and kind."""
    from guanxi.sales.models import Product, ProductLine

    lines = {pl.code: pl for pl in ProductLine.objects.all()}
    for line_code, code, name, price, _unit, _kind in ERP_PRODUCTS:
        line = lines.get(line_code)
        if line is None:
            continue
        Product.objects.get_or_create(code=code, defaults={
            "name": name, "product_line": line, "unit_price": Decimal(price),
            "source": SOURCE, "external_id": f"MAT-{code}"})
    extra = {code: (unit, kind) for _l, code, _n, _p, unit, kind in ERP_PRODUCTS}
    line_codes = {pl.pk: pl.code for pl in lines.values()}
    products = {}
    for pk, code, name, price, line_id in Product.objects.order_by("pk").values_list(
            "pk", "code", "name", "unit_price", "product_line_id"):
        unit, kind = PRODUCT_UNITS.get(code) or extra.get(code) or DEFAULT_UNIT
        products[pk] = ProductInfo(pk, code, name, int(price or 1000), line_codes[line_id],
                                   unit, kind)
    erp_codes = set(extra)
    accessories: dict[str, list[ProductInfo]] = {}
    for p in products.values():
        if p.code in erp_codes and p.kind == "equipment":
            accessories.setdefault(p.line, []).append(p)
    parts = [p for p in products.values() if p.code in erp_codes and p.line == "consumables"]
    systems = [p for p in products.values() if p.kind == "system"]
    return Catalogue(products, line_codes, accessories, parts, systems)


# --- Generation --------------------------------------------------------------------------


class CommerceGen:
    """Contracts and everything after them for one batch of customers."""

    def __init__(self, seed: int, today: dt.date, catalogue: Catalogue):
        self.seed, self.today, self.cat = seed, today, catalogue

    def customer(self, c: CustomerInfo, deals: list[Deal]) -> CustomerCommerce:
        rng = random.Random(f"{self.seed}/commerce/{c.id}")
        out = CustomerCommerce(c)
        if not deals:
            return out
        x = rng.random()
        limits = PAYERS[c.tier]
        payer = "prompt" if c.country != "CN" and x < 0.8 else \
            "prompt" if x < limits[0] else "late" if x < limits[1] else \
            "slow" if x < limits[2] else "bad"
        for deal in sorted(deals, key=lambda d: (d.closed_on, d.id)):
            out.contracts.append(self._contract(c, deal, rng, payer))
        return out

    # One contract ------------------------------------------------------------------------

    def _contract(self, c: CustomerInfo, deal: Deal, rng: random.Random,
                  payer: str) -> Contract:
        rnd = rng.random
        line_code = self.cat.line_codes.get(deal.line_id, "consumables")
        category = _category(line_code)
        amount = int(deal.amount * 100)
        months = (12, 12, 18, 24)[int(rnd() * 4)] if category == "equipment" else 12
        contract = Contract(deal, c, category, line_code, deal.closed_on, amount, deal.currency,
                            months)
        lines = self._lines(contract, deal, rng)
        self._orders(contract, lines, rng)
        for order in contract.orders:
            self._deliver(contract, order, rng)
        self._invoice(contract, rng)
        self._pay(contract, rng, payer)
        self._assets(contract, rng)
        self._finish(contract, rng)
        return contract

    def _lines(self, contract: Contract, deal: Deal, rng: random.Random) -> list[Line]:
        rnd = rng.random
        rate = float(deal.rate) or 1.0
        total = contract.amount
        products = [self.cat.products[p] for p in sorted(deal.product_ids)
                    if p in self.cat.products]
        if not products:
            products = [p for p in self.cat.products.values()
                        if p.line == contract.line_code][:1] or [self.cat.system_products[0]]

        def price(p: ProductInfo) -> int:
            return max(100, int(p.price * 100 / rate))

        def line(p: ProductInfo, qty: int, unit_price: int) -> Line:
            return Line(p, p.code, p.name, qty, p.unit, unit_price, qty * unit_price)

        lines: list[Line] = []
        if contract.category == "service":
            left = total
            for k, p in enumerate(products):
                share = left if k == len(products) - 1 else \
                    (left * (40 + int(rnd() * 30)) // 100 // 10_000) * 10_000
                lines.append(line(p, 1, share))
                left -= share
            return lines
        if contract.category == "equipment":
            # The budget is shared in proportion to list prices, so every system sells
            # at the same discount (or premium) and in the same quantity.
            budget = total * (0.72 + 0.13 * rnd())
            listed = sum(price(p) for p in products)
            qty = max(1, min(10, round(budget / listed)))
            for p in products:
                share = budget * price(p) / listed
                unit_price = max(10_000, int(share / qty / 10_000) * 10_000)  # whole hundreds
                lines.append(line(p, qty, unit_price))
            used = sum(x.amount for x in lines)
            options = list(self.cat.accessories.get(contract.line_code, ()))
            for _ in range(int(rnd() * 3)):
                if not options:
                    break
                p = options.pop(int(rnd() * len(options)))
                qty = 1 + (rnd() < 0.25)
                unit_price = int(price(p) * (0.85 + 0.15 * rnd()) / 100) * 100
                if used + qty * unit_price <= total * 0.95:
                    lines.append(line(p, qty, unit_price))
                    used += qty * unit_price
        else:  # consumables: the deal's parts and often a few more
            extra = [p for p in self.cat.parts if p not in products]
            for _ in range(int(rnd() * 3)):
                if extra:
                    products.append(extra.pop(int(rnd() * len(extra))))
            budget = total * (0.93 + 0.05 * rnd())
            per = budget / len(products)
            for p in products:
                unit_price = max(100, int(price(p) * (0.88 + 0.12 * rnd()) / 100) * 100)
                qty = int(per // unit_price)
                if qty < 1:
                    qty, unit_price = 1, max(100, int(per / 100) * 100)
                lines.append(line(p, qty, unit_price))
        rest = total - sum(x.amount for x in lines)
        if rest > 0:
            name, unit = REST_LINES[contract.category]
            lines.append(Line(None, "", name, 1, unit, rest, rest))
        elif rest < 0:  # cannot happen with the budgets above; keep the sum exact anyway
            lines[-1].unit_price += rest // lines[-1].quantity
            lines[-1].amount = lines[-1].unit_price * lines[-1].quantity
            fix = total - sum(x.amount for x in lines)
            if fix:
                name, unit = REST_LINES.get(contract.category, ("调整", "项"))
                lines.append(Line(None, "", name, 1, unit, fix, fix))
        return lines

    def _orders(self, contract: Contract, lines: list[Line], rng: random.Random) -> None:
        rnd = rng.random
        start = contract.signed + dt.timedelta(days=int(rnd() * 4))
        groups: list[tuple[dt.date, list[Line]]]
        goods = [x for x in lines if x.product is not None]
        rest = [x for x in lines if x.product is None]
        if contract.category == "equipment":
            main = [x for x in goods if x.product.kind == "system"] or goods[:1]
            extra = [x for x in goods if x not in main]
            if extra and rnd() < 0.35:
                later = start + dt.timedelta(days=7 + int(rnd() * 30))
                groups = [(start, main + rest), (later, extra)]
            else:
                groups = [(start, main + extra + rest)]
        elif contract.category == "consumables" and len(goods) >= 2 and rnd() < 0.4:
            groups, day = [], start
            for k, x in enumerate(goods):
                groups.append((day, [x] + (rest if k == 0 else [])))
                day += dt.timedelta(days=20 + int(rnd() * 40))
        else:
            groups = [(start, lines)]
        for ordered, group in groups:
            if ordered >= self.today:
                continue  # not ordered yet: the contract's later call-off
            for k, x in enumerate(group, 1):
                x.line_no = k
            contract.orders.append(Order(contract, ordered, None, group))

    def _deliver(self, contract: Contract, order: Order, rng: random.Random) -> None:
        rnd, today = rng.random, self.today
        c = contract.customer
        if contract.category == "service":
            order.status = "confirmed"
            return
        lo, hi = LEAD_DAYS.get(contract.line_code, (5, 20))
        lead = lo + int(rnd() * (hi - lo + 1))
        order.promised = order.ordered + dt.timedelta(days=lead)
        x = rnd()
        delay = -int(rnd() * 6) if x < 0.65 else (1 + int(rnd() * 10) if x < 0.9
                                                   else 11 + int(rnd() * 20))
        ship = order.promised + dt.timedelta(days=delay)
        ship = max(ship, order.ordered + dt.timedelta(days=1))
        order.late_days = max(0, (ship - order.promised).days)
        goods = [x for x in order.lines if x.product is not None]
        parts = [order.lines]
        if len(goods) >= 2 and rnd() < 0.15:  # a partial shipment first
            first = goods[: len(goods) // 2]
            parts = [first, [x for x in order.lines if x not in first]]
        for k, group in enumerate(parts):
            shipped = ship + dt.timedelta(days=k * (5 + int(rnd() * 15)))
            if c.country != "CN":
                carrier, prefix, n = SEA_CARRIER
                transit = 18 + int(rnd() * 18)
            elif contract.category == "consumables":
                carrier, prefix, n = PARCEL_CARRIERS[int(rnd() * len(PARCEL_CARRIERS))]
                transit = 1 + int(rnd() * 3)
            else:
                carrier, prefix, n = FREIGHT_CARRIERS[int(rnd() * len(FREIGHT_CARRIERS))]
                transit = 3 + int(rnd() * 6)
            expected = shipped + dt.timedelta(days=transit)
            arrived = expected + dt.timedelta(days=int(rnd() * 3) if rnd() < 0.15 else 0)
            tracking = prefix + _digits(rnd, n)
            # The ERP marks a delivery delivered when the signed receipt comes back.
            signed = arrived + dt.timedelta(days=int(rnd() * 4))
            installed = max(arrived + dt.timedelta(days=3 + int(rnd() * 13)),
                            signed + dt.timedelta(days=1))
            if shipped >= today:
                if (shipped - today).days > 10:
                    continue  # not planned in the ERP yet
                order.deliveries.append(Delivery(group, "planned", carrier, "", None, expected,
                                                 None, c.address, shipped))
                continue
            if signed >= today:
                status = "shipped" if (today - shipped).days <= 1 else "in_transit"
                order.deliveries.append(Delivery(group, status, carrier, tracking, shipped,
                                                 expected, None, c.address, shipped))
                continue
            order.deliveries.append(Delivery(group, "delivered", carrier, tracking, shipped,
                                             expected, arrived, c.address, shipped,
                                             installed if installed < today else None))
        shipped_rows = [d for d in order.deliveries if d.shipped]
        covered = sum(len(d.lines) for d in order.deliveries)
        if shipped_rows and covered == len(order.lines) and \
                all(d.status == "delivered" for d in order.deliveries):
            order.status = "delivered"
        elif shipped_rows:
            order.status = "shipped"
        elif (today - order.ordered).days <= 2:
            order.status = "pending"
        elif contract.category == "equipment" and (today - order.ordered).days > 5:
            order.status = "in_production"
        else:
            order.status = "confirmed"

    def _invoice(self, contract: Contract, rng: random.Random) -> None:
        rnd, today = rng.random, self.today
        days = contract.customer.credit_days or 30
        for order in contract.orders:
            if contract.category == "service":
                issued = order.ordered + dt.timedelta(days=int(rnd() * 6))
                if issued < today:
                    contract.invoices.append(Invoice(contract, order, issued,
                                                     issued + dt.timedelta(days=days),
                                                     order.amount))
                continue
            for d in order.deliveries:
                if d.shipped is None:
                    continue
                issued = d.shipped + dt.timedelta(days=int(rnd() * 4))
                if issued < today:
                    contract.invoices.append(Invoice(contract, order, issued,
                                                     issued + dt.timedelta(days=days),
                                                     d.amount))

    def _pay(self, contract: Contract, rng: random.Random, payer: str) -> None:
        rnd, today = rng.random, self.today
        c = contract.customer
        advance = contract.amount * 30 // 100 if contract.category != "consumables" else 0
        for k, inv in enumerate(sorted(contract.invoices, key=lambda i: i.issued)):
            due = inv.due
            plan: list[tuple[dt.date, int]] = []
            left = inv.amount
            if k == 0 and advance:
                part = min(left, advance)
                plan.append((contract.signed + dt.timedelta(days=2 + int(rnd() * 9)), part))
                left -= part
            if left > 0:
                if payer == "prompt":
                    day = max(inv.issued + dt.timedelta(days=1),
                              due - dt.timedelta(days=int(rnd() * 16)))
                    plan.append((day, left))
                elif payer == "late":
                    plan.append((due + dt.timedelta(days=5 + int(rnd() * 56)), left))
                elif payer == "slow" or inv.issued < today - dt.timedelta(days=240):
                    first = int(left * (0.4 + 0.3 * rnd()) / 100) * 100
                    plan.append((due + dt.timedelta(days=10 + int(rnd() * 31)), first))
                    plan.append((due + dt.timedelta(days=60 + int(rnd() * 91)), left - first))
                elif rnd() < 0.5:  # bad payer, recent invoice: a token payment at most
                    plan.append((due + dt.timedelta(days=20 + int(rnd() * 41)),
                                 int(left * 0.2 / 100) * 100))
            for day, amount in plan:
                if day >= today or amount <= 0:
                    continue
                inv.payments.append(Payment(inv, day, amount, *self._method(c, amount, day,
                                                                              rng)))

    def _method(self, c: CustomerInfo, amount: int, day: dt.date,
                rng: random.Random) -> tuple[str, str]:
        rnd = rng.random
        x = rnd()
        if c.tier in "AB" and amount > 5_000_000 and x < 0.25:
            return "acceptance_bill", f"银承{_digits(rnd, 20)}"
        if amount < 500_000 and x < 0.08:
            return "cash", "现金收款"
        if x > 0.98:
            return "cheque", f"支票{_digits(rnd, 8)}"
        return "bank_transfer", f"网银回单{day:%Y%m%d}{_digits(rnd, 8)}"

    def _assets(self, contract: Contract, rng: random.Random) -> None:
        if contract.category != "equipment":
            return
        rnd = rng.random
        c = contract.customer
        places = PLACES.get(contract.line_code, ("设备间",))
        place = places[int(rnd() * len(places))]
        for order in contract.orders:
            for d in order.deliveries:
                if d.installed is None:
                    continue
                for x in d.lines:
                    if x.product is None or x.product.kind not in ASSET_KINDS:
                        continue
                    for _ in range(min(x.quantity, 3)):
                        contract.assets.append(Asset(
                            c, x.product, order, d, d.installed,
                            add_months(d.installed, contract.warranty_months),
                            f"{c.address} {place}"[:300]))

    def _finish(self, contract: Contract, rng: random.Random) -> None:
        """Status, executed amount, end date and milestones from what happened."""
        rnd, today = rng.random, self.today
        amount, signed = contract.amount, contract.signed
        days = contract.customer.credit_days or 30
        orders = contract.orders
        deliveries = [d for o in orders for d in o.deliveries]
        all_lines = sum(len(o.lines) for o in orders)
        delivered_lines = sum(len(d.lines) for d in deliveries if d.status == "delivered")
        delivered_on = max((d.delivered for d in deliveries if d.delivered), default=None)
        all_delivered = bool(orders) and delivered_lines == all_lines and \
            not self._later_orders_missing(contract)
        paid_all = bool(contract.invoices) and all(i.status == "paid" for i in contract.invoices)
        invoiced = sum(i.amount for i in contract.invoices)
        promised = max((o.promised for o in orders if o.promised), default=None) or \
            signed + dt.timedelta(days=30)
        ms: list[tuple] = []
        if contract.category == "service":
            ends = signed + dt.timedelta(days=364)
            contract.ends = ends
            elapsed = max(0, min(365, (today - signed).days))
            contract.executed = amount * elapsed // 365
            contract.status = "completed" if ends < today else "active"
            check = signed + dt.timedelta(days=180)
            ms += [(1, "other", "服务启动", signed, signed, None),
                   (2, "other", "半年巡检", check, check if check < today else None, None),
                   (3, "other", "服务期满", ends, ends if ends < today else None, None)]
            dues = (signed + dt.timedelta(days=7), check, ends)
        else:
            contract.executed = sum(d.amount for d in deliveries if d.status == "delivered")
            ms.append((1, "delivery", "设备到货" if contract.category == "equipment" else "交货",
                       promised, delivered_on if all_delivered else None, None))
            accepted = None
            if contract.category == "equipment":
                installed = max((d.installed for d in deliveries if d.installed), default=None)
                installed_all = installed if all_delivered and all(
                    d.installed for d in deliveries) else None
                install_due = (delivered_on or promised) + dt.timedelta(days=10)
                ms.append((2, "installation", "安装调试", install_due, installed_all, None))
                accept_due = (installed_all or install_due) + dt.timedelta(days=30)
                if installed_all:
                    day = installed_all + dt.timedelta(days=10 + int(rnd() * 31))
                    accepted = day if day < today else None
                ms.append((3, "acceptance", "竣工验收", accept_due, accepted, None))
                contract.ends = add_months(accepted or accept_due, contract.warranty_months)
                done = all_delivered and accepted is not None and paid_all
                dues = (signed + dt.timedelta(days=7),
                        (delivered_on or promised) + dt.timedelta(days=days),
                        accept_due + dt.timedelta(days=days))
            else:
                contract.ends = signed + dt.timedelta(days=365)
                done = all_delivered and paid_all
                dues = (signed + dt.timedelta(days=7),
                        (delivered_on or promised) + dt.timedelta(days=days),
                        (delivered_on or promised) + dt.timedelta(days=90))
            contract.status = "completed" if done and invoiced >= amount else "active"
            for order in orders:
                invoices = [i for i in contract.invoices if i.order is order]
                if order.status == "delivered" and invoices and \
                        all(i.status == "paid" for i in invoices) and \
                        sum(i.amount for i in invoices) == order.amount:
                    order.status = "closed"
        if contract.category == "service" and contract.status == "completed":
            for order in orders:
                order.status = "closed"
        # The payment plan: each step is done on the day the payments received reach it.
        running, total = [], 0
        for day, cents in sorted((p.received, p.amount)
                                 for i in contract.invoices for p in i.payments):
            total += cents
            running.append((day, total))
        threshold, planned, seq = 0, 0, len(ms)
        for n, (pct, name) in enumerate(PLAN):
            share = amount - planned if n == len(PLAN) - 1 else amount * pct // 100
            planned += share
            threshold += share
            done_on = next((day for day, paid in running if paid >= threshold), None)
            seq += 1
            ms.append((seq, "payment", name, dues[n], done_on, share))
        contract.milestones = ms

    def _later_orders_missing(self, contract: Contract) -> bool:
        """A contract whose lines are not all ordered yet (call-offs still to come)."""
        ordered = sum(o.amount for o in contract.orders)
        return ordered < contract.amount


# --- Ids, numbers and rows ---------------------------------------------------------------


class Formats:
    """Dates and datetimes as the database takes them in bulk inserts: UTC text for
    SQLite (as Django stores them), date and aware datetime objects otherwise."""

    def __init__(self, text: bool, zone: dt.tzinfo, today: dt.date):
        self.text, self.zone = text, zone
        self.synced = self.dt(dt.datetime.combine(today, dt.time(), zone)
                              - dt.timedelta(minutes=30))  # last night's ERP sync

    def date(self, value: dt.date):
        return value.isoformat() if self.text else value

    def dt(self, value: dt.datetime):
        if self.text:
            return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")
        return value

    def at(self, day: dt.date, hour: int, minute: int = 0):
        return self.dt(dt.datetime.combine(day, dt.time(hour, minute), self.zone))



@dataclass
class IdCounters:
    contract: int
    order: int
    delivery: int
    invoice: int
    payment: int
    asset: int


def assign_ids(batch: list[CustomerCommerce], ids: IdCounters) -> None:
    """Ids in date order within the batch; numbers and serials from them."""
    contracts = sorted((c for cc in batch for c in cc.contracts),
                       key=lambda c: (c.signed, c.deal.id))
    orders, deliveries, invoices, payments, assets = [], [], [], [], []
    for c in contracts:
        c.id, ids.contract = ids.contract, ids.contract + 1
        c.number = f"HT-{c.signed.year}-{c.id:06d}"
        orders += c.orders
        invoices += c.invoices
        assets += c.assets
    for o in sorted(orders, key=lambda o: (o.ordered, o.contract.id)):
        o.id, ids.order = ids.order, ids.order + 1
        o.number = f"SO-{o.ordered.year}-{o.id:06d}"
        deliveries += o.deliveries
    for d in sorted(deliveries, key=lambda d: d.planned_ship):  # stable: order id order
        d.id, ids.delivery = ids.delivery, ids.delivery + 1
        d.number = f"DN-{d.planned_ship.year}-{d.id:06d}"
    for i in sorted(invoices, key=lambda i: (i.issued, i.order.id)):
        i.id, ids.invoice = ids.invoice, ids.invoice + 1
        i.number = f"{i.issued.year % 100:02d}31{i.id:016d}"
        payments += i.payments
    for p in sorted(payments, key=lambda p: (p.received, p.invoice.id)):
        p.id, ids.payment = ids.payment, ids.payment + 1
    for a in sorted(assets, key=lambda a: (a.installed, a.order.id, a.product.id)):
        a.id, ids.asset = ids.asset, ids.asset + 1
        a.serial = f"QY{a.installed:%y%m}-{a.product.code.replace('-', '')}-{a.id:05d}"


@dataclass
class CommerceRows:
    contracts: list[tuple] = field(default_factory=list)
    milestones: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    order_lines: list[tuple] = field(default_factory=list)
    deliveries: list[tuple] = field(default_factory=list)
    invoices: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    assets: list[tuple] = field(default_factory=list)


def rows(batch: list[CustomerCommerce], fmt) -> CommerceRows:
    """Row tuples in the column order of the *_COLUMNS above. `fmt` formats dates and
    datetimes for the database (see service.Formats)."""
    out = CommerceRows()
    d, synced = fmt.date, fmt.synced
    for cc in batch:
        cid = cc.customer.id
        for c in cc.contracts:
            cur = c.currency
            out.contracts.append((
                c.id, SOURCE, c.number, synced, cid, c.number, c.deal.name[:200], c.status,
                d(c.signed), d(c.signed), d(c.ends) if c.ends else None, money(c.amount), cur,
                money(c.executed), c.deal.id,
                f"质保期{c.warranty_months}个月" if c.category == "equipment" else ""))
            for seq, kind, name, due, done, cents in c.milestones:
                out.milestones.append((c.id, seq, kind, name, d(due), d(done) if done else None,
                                       money(cents) if cents is not None else None))
            for o in c.orders:
                out.orders.append((
                    o.id, SOURCE, o.number, synced, cid, c.id, o.number, d(o.ordered),
                    d(o.promised) if o.promised else None, o.status, money(o.amount), cur))
                for x in o.lines:
                    out.order_lines.append((
                        o.id, x.line_no, x.product.id if x.product else None, x.code,
                        x.description[:200], f"{x.quantity}.000", x.unit, money(x.unit_price),
                        money(x.amount)))
                for v in o.deliveries:
                    out.deliveries.append((
                        v.id, SOURCE, v.number, synced, cid, o.id, v.number, v.status,
                        v.carrier, v.tracking, d(v.shipped) if v.shipped else None,
                        d(v.expected), d(v.delivered) if v.delivered else None, v.address[:300]))
            for i in c.invoices:
                out.invoices.append((
                    i.id, SOURCE, f"INV-{i.issued.year}-{i.id:06d}", synced, cid, i.order.id,
                    c.id, i.number, d(i.issued), d(i.due), money(i.amount), money(i.paid), cur,
                    i.status))
                for p in i.payments:
                    out.payments.append((
                        p.id, SOURCE, f"RC-{p.received.year}-{p.id:06d}", synced, cid, i.id,
                        c.id, d(p.received), money(p.amount), cur, p.method, p.reference))
            for a in c.assets:
                stamp = fmt.at(a.installed, 17)
                out.assets.append((
                    a.id, stamp, stamp, 1, cid, a.product.id, a.product.name, a.serial,
                    d(a.installed), d(a.warranty_ends), a.location, a.status, a.order.id, c.id,
                    "", SOURCE, f"EQ-{a.installed.year}-{a.id:06d}"))
    return out
