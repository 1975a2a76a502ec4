"""Demo service desk: a year of tickets per customer, from the first call to now — routing,
SLA targets in business hours, replies and notes, duplicates merged — and the present
moment (visits booked in the coming days, tickets at risk). Field visits and feedback
come from the mixins in service_field and service_feedback."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from . import commerce
from .commerce import CustomerCommerce, CustomerInfo
from .service_calendar import YEAR, WorkCalendar
from .service_feedback import NPS_DAYS_AGO, Feedback
from .service_field import FieldVisits
from .service_objects import ServiceBatch, _Fill, _fits, _poisson, _Ticket, _weighted
from .service_staff import ServiceSkeleton
from .service_vocab import (
    CAUSES,
    CUSTOMER_REPLIES,
    FIRST_REPLIES,
    NOTES,
    PARTS,
    RENEWED_DESCRIPTION,
    RENEWED_SUBJECT,
    RESOLUTIONS,
    SYSTEM_CLOSED,
    SYSTEM_ESCALATED,
    SYSTEM_MERGED,
    TICKETS,
    VISIT_REQUESTS,
)

UPCOMING_VISITS = 3  # per technician, in the next working days
STUCK = (0.8, 0.88, 0.95, 1.3, 1.8, 3.0)  # open tickets: share of the target used up

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


class ServiceGen(FieldVisits, Feedback):
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
