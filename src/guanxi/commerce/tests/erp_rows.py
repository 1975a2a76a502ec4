"""Small builders of ERP-mirror rows for the UI tests (straight ORM rows, as a sync
would leave them)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from guanxi.commerce.models import (
    Contract,
    ContractMilestone,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    Payment,
)

_seq = itertools.count(1)
TODAY = timezone.localdate()  # the panels and lists use the real date


def _key(prefix: str) -> tuple[str, str]:
    n = next(_seq)
    return f"{prefix}-{n}", f"{prefix}{n:06d}"


def order(customer, *, ordered_on=TODAY, amount="1000.00", currency="CNY", status="confirmed",
          **kw) -> Order:
    ext, number = _key("O")
    return Order.objects.create(customer=customer, external_id=ext,
                                number=kw.pop("number", number), ordered_on=ordered_on,
                                amount=Decimal(amount), currency=currency, status=status, **kw)


def line(o: Order, line_no: int = 1, **kw) -> OrderLine:
    return OrderLine.objects.create(order=o, line_no=line_no, **kw)


def delivery(customer, o: Order | None = None, *, status="shipped", **kw) -> Delivery:
    ext, number = _key("D")
    return Delivery.objects.create(customer=customer, order=o, external_id=ext,
                                   number=kw.pop("number", number), status=status, **kw)


def invoice(customer, *, amount="1000.00", paid="0", currency="CNY", status="open",
            issued_on=TODAY - dt.timedelta(days=30), due_on=TODAY, **kw) -> Invoice:
    ext, number = _key("I")
    return Invoice.objects.create(customer=customer, external_id=ext,
                                  number=kw.pop("number", number), issued_on=issued_on,
                                  due_on=due_on, amount=Decimal(amount), paid_amount=Decimal(paid),
                                  currency=currency, status=status, **kw)


def payment(customer, *, amount="100.00", currency="CNY", received_on=TODAY, **kw) -> Payment:
    ext, _number = _key("P")
    return Payment.objects.create(customer=customer, external_id=ext, amount=Decimal(amount),
                                  currency=currency, received_on=received_on, **kw)


def contract(customer, *, amount="10000.00", executed="2500.00", status="active",
             signed_on=TODAY - dt.timedelta(days=90), **kw) -> Contract:
    ext, number = _key("C")
    return Contract.objects.create(customer=customer, external_id=ext,
                                   number=kw.pop("number", number), amount=Decimal(amount),
                                   executed_amount=Decimal(executed), status=status,
                                   signed_on=signed_on, **kw)


def milestone(c: Contract, seq: int, *, kind="other", name=None, **kw) -> ContractMilestone:
    return ContractMilestone.objects.create(contract=c, seq=seq, kind=kind,
                                            name=name or f"step {seq}", **kw)
