"""Caller screen-pop: who is calling, and what they are likely calling about.

    parse_incoming(raw) -> (e164, ext)            any format a phone system sends
    lookup(user, raw) -> Lookup                   the visible customers/contacts with that number
    caller_card(user, customer, contact) -> dict  open tickets, deliveries, overdue invoices…

Formats understood (all through parties.normalize.normalize_phone, China by default):
"+86 138 0013 8000", "8613800138000", "0086-138-0013-8000", "13800138000",
"138-0013-8000", "(021) 6234 5678", "021.6234.5678", full-width digits, "tel:"/"sip:"
URIs, an extension written "转 123" / "ext 12" / "x12" or, when the whole does not
parse, a trailing "-123" ("021-62345678-123").

A local landline without its area code ("62345678", what many PBXs pass on for local
callers) is read with the site setting `service.default_area_code` (e.g. "021") put in
front; when that setting is empty (the default) such a number is not guessed at and
the caller shows as unknown — a wrong guess would pop another city's customer.

How numbers are stored (parties services normalise on every write): Customer.phone,
Contact.mobile and Contact.phone hold E.164 ("+8613800138000"), extensions sit apart in
`phone_ext`. So the incoming number is normalised the same way and compared for
equality: Customer.phone, Contact.mobile and Contact.phone are indexed columns.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import site_settings
from guanxi.parties.models import Contact, Customer
from guanxi.parties.normalize import normalize_phone, to_halfwidth

MAX_MATCHES = 20
TICKET_LIMIT = 10
DELIVERY_LIMIT = 5
INVOICE_LIMIT = 10
AREA_CODE_SETTING = "service.default_area_code"

_URI = re.compile(r"^(?:tel|sip|sips|callto):", re.IGNORECASE)
_TRAILING_EXT = re.compile(r"^(.*\d)\s*[-–—]\s*(\d{1,6})$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")


# ---------------------------------------------------------------- parsing


def default_area_code() -> str:
    """The area code put in front of 7–8 digit local numbers ("" = do not guess)."""
    value = site_settings.get(AREA_CODE_SETTING) or ""
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if digits and not digits.startswith("0"):
        digits = "0" + digits
    return digits


def _strip_uri(text: str) -> str:
    """tel:+8613800138000;ext=12, sip:+8613800138000@pbx.example.cn → the number."""
    text = text.strip()
    if not _URI.match(text):
        return text
    parts = _URI.sub("", text).split("@", 1)[0].split(";")
    number = parts[0]
    for param in parts[1:]:
        if param.lower().startswith("ext="):
            number += " ext " + param[4:]
    return number


def parse_incoming(raw: str, area_code: str | None = None) -> tuple[str, str]:
    """(E.164, extension) of what a phone system or a person passes; ValidationError
    when it is not a phone number. `area_code` defaults to the site setting."""
    text = _strip_uri(to_halfwidth(raw or ""))
    if not text:
        raise ValidationError(_("No phone number given."))
    try:
        return normalize_phone(text)
    except ValidationError as first:
        error = first
    m = _TRAILING_EXT.match(text)
    if m:  # 021-62345678-123: the last group is an extension
        try:
            e164, _ext = normalize_phone(m.group(1))
            return e164, m.group(2)
        except ValidationError:
            pass
    digits = "".join(ch for ch in text if ch.isdigit())
    area = default_area_code() if area_code is None else area_code
    if area and _LOCAL.match(digits):
        try:
            return normalize_phone(area + digits)
        except ValidationError:
            pass
    raise error


# ---------------------------------------------------------------- matching


@dataclass
class CallerMatch:
    customer: Customer
    contact: Contact | None = None
    via: str = "customer"  # "customer" (main line), "mobile", "office"
    ext_matches: bool = False

    @property
    def via_label(self) -> str:
        return {"customer": _("company phone"), "mobile": _("contact's mobile"),
                "office": _("contact's office phone")}.get(self.via, self.via)


@dataclass
class Lookup:
    raw: str
    e164: str = ""
    ext: str = ""
    error: str = ""
    matches: list[CallerMatch] = field(default_factory=list)

    @property
    def customers(self) -> list[Customer]:
        seen: dict[int, Customer] = {}
        for m in self.matches:
            seen.setdefault(m.customer.pk, m.customer)
        return list(seen.values())

    @property
    def single(self) -> CallerMatch | None:
        """The match when the number leads to one customer (its contact if only one
        contact of it has the number)."""
        customers = self.customers
        if len(customers) != 1:
            return None
        contacts = {m.contact.pk: m for m in self.matches if m.contact is not None}
        if len(contacts) == 1:
            return next(iter(contacts.values()))
        return CallerMatch(customer=customers[0],
                           via=self.matches[0].via if len(self.matches) == 1 else "customer")


def _office_phone_contacts(e164: str) -> Any:
    """Contacts whose office phone is `e164` (indexed)."""
    return Contact.objects.filter(phone=e164)


# Rows read per source before visibility is applied (a number shared by more customers
# than this is a switchboard of a group, not a caller to pop).
CANDIDATES = 200


def lookup(user, raw: str, *, area_code: str | None = None) -> Lookup:
    """The customers and contacts `user` may see whose phone is the caller's number.

    The number's matches are found first through the indexes, then the few customers
    they belong to are checked against the user's visibility (rather than collecting
    every customer a rep may see, the pool included, to test the number on).
    With an extension, matches that share it come first (and alone, when there are
    such): the switchboard number plus an extension names the person."""
    result = Lookup(raw=raw or "")
    try:
        result.e164, result.ext = parse_incoming(raw, area_code)
    except ValidationError as exc:
        result.error = " ".join(exc.messages)
        return result
    e164, ext = result.e164, result.ext
    company_ids = list(Customer.objects.filter(phone=e164).order_by("pk")
                       .values_list("pk", flat=True)[:CANDIDATES])
    by_mobile = list(Contact.objects.filter(mobile=e164).order_by("pk")
                     .values_list("pk", "customer_id")[:CANDIDATES])
    by_office = list(_office_phone_contacts(e164).order_by("pk")
                     .values_list("pk", "customer_id")[:CANDIDATES])
    wanted = {*company_ids, *(c for _p, c in by_mobile), *(c for _p, c in by_office)}
    if not wanted:
        return result
    customers = Customer.objects.visible_to(user).filter(pk__in=wanted).select_related(
        "owner", "team").in_bulk()
    contact_ids = [p for p, c in (*by_mobile, *by_office) if c in customers]
    contacts = Contact.objects.in_bulk(contact_ids)
    matches: list[CallerMatch] = []
    for pk in company_ids:
        if (c := customers.get(pk)) is not None:
            matches.append(CallerMatch(customer=c, via="customer",
                                       ext_matches=bool(ext) and c.phone_ext == ext))
    for via, hits in (("mobile", by_mobile), ("office", by_office)):
        for pk, customer_id in hits:
            ct = contacts.get(pk)
            if ct is None or customer_id not in customers:
                continue
            ct.customer = customers[customer_id]
            matches.append(CallerMatch(customer=ct.customer, contact=ct, via=via,
                                       ext_matches=via == "office" and bool(ext)
                                       and ct.phone_ext == ext))
    if ext and any(m.ext_matches for m in matches):
        matches = [m for m in matches if m.ext_matches]
    # A contact found both by mobile and office phone shows once.
    unique: dict[tuple[int, int | None], CallerMatch] = {}
    for m in matches:
        unique.setdefault((m.customer.pk, m.contact.pk if m.contact else None), m)
    result.matches = list(unique.values())[:MAX_MATCHES]
    return result


# ---------------------------------------------------------------- what the caller may want


@dataclass
class SlaState:
    key: str  # "breached", "due", "ok", "none"
    label: str
    due_at: dt.datetime | None = None


def sla_state(ticket, now: dt.datetime | None = None) -> SlaState:
    """Where an open ticket stands against its SLA: the next target still to meet."""
    now = now or timezone.now()
    if ticket.first_responded_at is None and ticket.first_response_due_at:
        due, breached = ticket.first_response_due_at, ticket.response_breached
        label_due = _("first response due")
    elif ticket.resolution_due_at:
        due, breached = ticket.resolution_due_at, ticket.resolution_breached
        label_due = _("resolution due")
    else:
        return SlaState("none", _("no SLA"))
    if breached or due < now:
        return SlaState("breached", _("SLA breached"), due)
    if due - now < dt.timedelta(hours=4):
        return SlaState("due", label_due, due)
    return SlaState("ok", label_due, due)


def caller_card(user, customer: Customer, contact: Contact | None = None, *,
                today: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the agent needs in the first seconds of the call, for a customer the caller
    has checked `user` may see (the lookup's matches, or a visible customer by id):
    every record here hangs off that customer, so no further visibility subquery."""
    from guanxi.commerce.models import OPEN_INVOICE_STATUSES, Delivery, Invoice

    from .models import OPEN_TICKET_STATUSES, Ticket

    now = now or timezone.now()
    today = today or timezone.localdate(now)
    tickets = list(Ticket.objects
                   .filter(customer=customer, status__in=OPEN_TICKET_STATUSES)
                   .select_related("queue", "assignee", "type")
                   .order_by("-created_at", "-id")[:TICKET_LIMIT])
    for t in tickets:
        t.sla = sla_state(t, now)
    deliveries = list(Delivery.objects.filter(customer=customer)
                      .select_related("order").order_by("-id")[:DELIVERY_LIMIT])
    invoices = [i for i in Invoice.objects
                .filter(customer=customer, status__in=OPEN_INVOICE_STATUSES, due_on__lt=today)
                .order_by("due_on", "id")[:INVOICE_LIMIT * 2] if i.outstanding > 0]
    overdue_total: dict[str, Decimal] = {}
    for i in invoices:
        i.days_overdue = i.overdue_days(today)
        overdue_total[i.currency] = overdue_total.get(i.currency, Decimal(0)) + i.outstanding
    return {
        "customer": customer,
        "contact": contact,
        "owner": customer.owner,
        "tier": customer.tier,
        "tickets": tickets,
        "deliveries": deliveries,
        "overdue_invoices": invoices[:INVOICE_LIMIT],
        "overdue_total": sorted(overdue_total.items()),
    }


def other_contacts(customer: Customer, contact: Contact | None, limit: int = 5) -> list[Contact]:
    qs = Contact.objects.filter(customer=customer)
    if contact is not None:
        qs = qs.filter(~Q(pk=contact.pk))
    return list(qs[:limit])
