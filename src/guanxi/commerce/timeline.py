"""ERP events on the customer's timeline: orders placed, deliveries shipped and
delivered, invoices issued, payments received (filter key "commerce").

The ERP gives dates, not times. Each event is placed at local midnight of its date
plus a few microseconds derived from its kind and id, so every entry has its own
instant: within a day, payments sort above invoices above deliveries above orders,
and a page boundary can never fall between two entries with the same time (the
timeline's cursor is "strictly older than"). Times shown are therefore 00:00–00:09.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.registry import TimelineEntry, TimelineSource, register_timeline

KIND = "commerce"
SOURCE = "commerce"
SLOT_US = 100_000_000  # 100 s of microseconds per kind; ids beyond share the last instant
SLOTS = {"order": 0, "shipped": 1, "delivered": 2, "invoice": 3, "payment": 4}


def _midnight(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the site's time zone (not the request's: cursors must decode
    the same whatever time zone is active)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min),
                               timezone.get_default_timezone())


def stamp(day: dt.date, slot: str, pk: int) -> dt.datetime:
    """The instant of an event of kind `slot` on `day` for the row `pk`."""
    offset = SLOTS[slot] * SLOT_US + min(pk, SLOT_US - 1)
    return _midnight(day) + dt.timedelta(microseconds=offset)


def _cursor(before: dt.datetime | None, column: str, slot: str) -> tuple[str, list]:
    """SQL condition (and its parameters) for rows of `slot` whose stamp(column, slot, id)
    is strictly before `before`."""
    if before is None:
        return f"{column} IS NOT NULL", []
    local = timezone.localtime(before, timezone.get_default_timezone())
    day = local.date()
    delta = local - _midnight(day)
    threshold = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    threshold -= SLOTS[slot] * SLOT_US
    if threshold <= 0:
        return f"{column} < %s", [day]
    if threshold >= SLOT_US:
        return f"{column} <= %s", [day]
    return f"({column} < %s OR ({column} = %s AND id < %s))", [day, day, threshold]


# One page of events from the five sources in one statement: each source contributes
# its newest `limit` rows (an index range on customer), the union is sorted and cut.
# Columns: slot, id, day, number, amount, currency, text1, text2, text3, due.
# Table and column names are constants; every value is a parameter.
_MEMBERS = {
    "order": (
        ("SELECT 0 AS slot, id, ordered_on AS on_day, number, amount, currency, status AS text1, "
        "'' AS text2, '' AS text3, CAST(NULL AS DATE) AS due FROM commerce_order "
        "WHERE customer_id = %s AND {cursor} ORDER BY ordered_on DESC, id DESC LIMIT %s"),
        "ordered_on"),
    "shipped": (
        ("SELECT 1, id, shipped_on, number, CAST(NULL AS NUMERIC), '', status, carrier, "
        "tracking_number, CAST(NULL AS DATE) FROM commerce_delivery "
        "WHERE customer_id = %s AND {cursor} ORDER BY shipped_on DESC, id DESC LIMIT %s"),
        "shipped_on"),
    "delivered": (
        ("SELECT 2, id, delivered_on, number, CAST(NULL AS NUMERIC), '', status, carrier, "
        "tracking_number, CAST(NULL AS DATE) FROM commerce_delivery "
        "WHERE customer_id = %s AND {cursor} ORDER BY delivered_on DESC, id DESC LIMIT %s"),
        "delivered_on"),
    "invoice": (
        ("SELECT 3, id, issued_on, number, amount, currency, '', '', '', due_on "
        "FROM commerce_invoice WHERE customer_id = %s AND status <> 'cancelled' AND {cursor} "
        "ORDER BY issued_on DESC, id DESC LIMIT %s"),
        "issued_on"),
    "payment": (
        ("SELECT 4, id, received_on, (SELECT i.number FROM commerce_invoice i "
        "WHERE i.id = commerce_payment.invoice_id), amount, currency, method, reference, '', "
        "CAST(NULL AS DATE) FROM commerce_payment "
        "WHERE customer_id = %s AND {cursor} ORDER BY received_on DESC, id DESC LIMIT %s"),
        "received_on"),
}
_SLOT_NAMES = {v: k for k, v in SLOTS.items()}


def _statement(customer_id: int, before, limit: int) -> tuple[str, list]:
    parts, params = [], []
    for n, (slot, (sql, column)) in enumerate(_MEMBERS.items()):
        cond, cond_params = _cursor(before, column, slot)
        parts.append(f"SELECT * FROM ({sql.format(cursor=cond)}) AS m{n}")
        params += [customer_id, *cond_params, limit]
    return (" UNION ALL ".join(parts) + " ORDER BY on_day DESC, slot DESC, id DESC LIMIT %s",
            [*params, limit])


CENT = Decimal("0.01")


def _date(value) -> dt.date | None:
    """SQLite hands dates back as text from a raw cursor, PostgreSQL as dates."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)


def _money(amount, currency: str) -> str:
    return f"{floatformat(amount, '2g')} {currency}"


def _detail_url(list_name: str, pk: int) -> str:
    """The detail page of row `pk` of list `list_name` (see selectors.list_urls)."""
    from .selectors import list_urls

    return f"{list_urls()[list_name]}{pk}/"


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _entry(row: tuple) -> TimelineEntry:
    from .models import DeliveryStatus, OrderStatus, PaymentMethod

    slot_no, pk, day, number, amount, currency, text1, text2, text3, due = row
    slot = _SLOT_NAMES[slot_no]
    at = stamp(_date(day), slot, pk)
    amount = _decimal(amount)
    if slot == "order":
        return TimelineEntry(
            at=at, kind=KIND, kind_label=_("order"),
            title=_("Order %(number)s placed") % {"number": number},
            body=f"{_money(amount, currency)} · {_label(OrderStatus, text1)}",
            url=_detail_url("orders", pk), source=SOURCE, extra={"commerce": slot})
    if slot in ("shipped", "delivered"):
        if slot == "shipped":
            title = _("Delivery %(number)s shipped") % {"number": number}
        else:
            title = _("Delivery %(number)s delivered") % {"number": number}
        parts = [text2, text3]
        if text1 != slot:
            parts.append(_label(DeliveryStatus, text1))
        return TimelineEntry(at=at, kind=KIND, kind_label=_("delivery"), title=title,
                             body=" · ".join(x for x in parts if x),
                             url=_detail_url("deliveries", pk), source=SOURCE,
                             extra={"commerce": slot})
    if slot == "invoice":
        body = _money(amount, currency)
        if due is not None:
            body = _("%(amount)s, due on %(date)s") % {"amount": body,
                                                      "date": _date(due).isoformat()}
        return TimelineEntry(at=at, kind=KIND, kind_label=_("invoice"),
                             title=_("Invoice %(number)s issued") % {"number": number},
                             body=body, url=_detail_url("invoices", pk), source=SOURCE,
                             extra={"commerce": slot})
    parts = [_label(PaymentMethod, text1)]
    if number:
        parts.append(_("invoice %(number)s") % {"number": number})
    if text2:
        parts.append(text2)
    return TimelineEntry(
        at=at, kind=KIND, kind_label=_("payment"),
        title=_("Payment of %(amount)s received") % {"amount": _money(amount, currency)},
        body=" · ".join(parts), url=_detail_url("payments", pk), source=SOURCE,
        extra={"commerce": slot})


def commerce_entries(*, customer, user, before=None, kinds=None, limit=20):
    """Up to `limit` newest ERP events of `customer` older than `before`, newest first
    (one query)."""
    from .selectors import customer_is_visible

    if kinds is not None and KIND not in kinds:
        return []
    if not customer_is_visible(user, customer):
        return []
    sql, params = _statement(customer.pk, before, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_entry(row) for row in rows]


register_timeline(TimelineSource(key=SOURCE, label=gettext_lazy("Orders and payments"),
                                 kinds=[(KIND, gettext_lazy("orders and payments"))],
                                 provider=commerce_entries))
