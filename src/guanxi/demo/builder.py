"""One demo customer with its contacts and history, as rows."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

from guanxi.parties.normalize import company_key, name_block
from guanxi.parties.search import build_search_text

from . import geo, vocab
from .plan import HISTORY_DAYS, MAX_AGE_DAYS, ChunkRows, ChunkSpec, Plan
from .tables import (
    Clock,
    Tables,
    digits,
    foreign_number,
    landline_number,
    mobile_number,
    pick,
    pinyin,
    weighted,
)


class CustomerBuilder:
    """Builds one customer, its contacts and its history."""

    def __init__(self, plan: Plan, spec: ChunkSpec, j: int, rng: random.Random,
                 tables: Tables, clock: Clock):
        self.plan, self.sk, self.rng, self.t, self.clock = plan, plan.skeleton, rng, tables, clock
        rnd = self.rnd = rng.random
        self.id = spec.customer_id + j
        self.kind = spec.kinds[j]
        self.tier = spec.tiers[j]
        self.n_contacts = spec.n_contacts[j]
        self.n_interactions = spec.n_interactions[j]
        self.forced = j < spec.forced_follow_ups and bool(tables.reps_flat)
        self.forced_offset = (-2, 0, 4)[j % 3]  # overdue, today, coming
        if self.forced:  # the first customers: three per rep, with follow-ups due
            owner, office_key = tables.reps_flat[(j // 3) % len(tables.reps_flat)]
            self.office = next(o for o in geo.OFFICES if o.key == office_key)
        else:
            self.office = pick(tables.offices, rnd())
            reps = self.sk.reps.get(self.office.key) or [None]
            owner = None if rnd() < 0.05 else reps[int(rnd() * len(reps))]
        self.owner = owner
        self.city = pick(tables.cities[self.office.key], rnd())
        self.since_days = 20 + int(rnd() * (MAX_AGE_DAYS - 20))
        self.created_ts = clock.midnight[self.since_days] + 30600 + int(rnd() * 36000)
        self.tag_ids: list[int] = []
        self.shared: list[int] = []
        self.contact_rows: list[tuple] = []
        self.contact_ids: list[int] = []
        self.contact_ns: list[SimpleNamespace] = []
        self.last_ts: int | None = None  # the latest interaction (epoch seconds)
        self.last_contact_ts: int | None = None  # the latest one that is not a note
        # Set by sales.SalesGen: pinned interactions' ids by tag, hints for the row.
        self.pin_ids: dict = {}
        self.pin_rnd = rnd  # pinned interactions draw from the sales stream
        self.stage_hint = None
        self.source_hint = ""
        self._identity()

    # Identity, address, phone --------------------------------------------------------

    def _identity(self) -> None:
        rnd = self.rnd
        self.country, self.website, self.industry_id = "CN", "", None
        self.phone_ext = ""
        if self.kind == "f":
            self._foreign()
            return
        city = self.city
        self.province, self.city_name = city.province, city.name
        self.district = city.districts[int(rnd() * len(city.districts))]
        self.postal_code = city.postal_prefix + digits(rnd, 6 - len(city.postal_prefix))
        road_name = geo.ROADS[int(rnd() * len(geo.ROADS))]
        road = road_name + geo.ROAD_KINDS[int(rnd() * len(geo.ROAD_KINDS))]
        if self.kind == "p":
            self.name = self.person_name()
            self.short_name = ""
            self.street = (f"{road}{1 + int(rnd() * 300)}号{road_name}"
                           f"{geo.ESTATES[int(rnd() * len(geo.ESTATES))]}"
                           f"{1 + int(rnd() * 30)}栋{1 + int(rnd() * 30)}0{1 + int(rnd() * 4)}室")
            self.phone = self.mobile()
            self.email = self.personal_email(self.name) if rnd() < 0.5 else ""
            self.brand_py = ""
            return
        code, templates = pick(self.t.industries, rnd())
        self.industry_code = code
        self.industry_id = self.sk.industry_ids.get(code)
        template, short = templates[int(rnd() * len(templates))]
        chars = vocab.BRAND_CHARS
        brand = chars[int(rnd() * len(chars))]
        brand += chars[int(rnd() * len(chars))]
        fill = {"city": city.name, "brand": brand,
                "num": vocab.NUMERALS[int(rnd() * len(vocab.NUMERALS))]}
        self.name = template.format(**fill)
        self.short_name = short.format(**fill)
        building = geo.BUILDINGS[int(rnd() * len(geo.BUILDINGS))].format(
            n=1 + int(rnd() * 20), f=1 + int(rnd() * 12), z="ABCDEF"[int(rnd() * 6)])
        self.street = f"{road}{1 + int(rnd() * 999)}号{building}"
        if rnd() < 0.85:
            self.phone = landline_number(rnd, city)
            if rnd() < 0.12:
                self.phone_ext = str(800 + int(rnd() * 200))
        else:
            self.phone = self.mobile()
        self.brand_py = pinyin(brand)
        tld = (".com", ".cn", ".com.cn")[int(rnd() * 3)]
        self.domain = f"{self.brand_py}{vocab.DOMAIN_HINTS[code]}{tld}"
        box = ("info", "sales", "office", "service", "contact")[int(rnd() * 5)]
        self.email = f"{box}@{self.domain}" if rnd() < 0.7 else ""
        if rnd() < 0.5:
            self.website = f"https://www.{self.domain}"

    def _foreign(self) -> None:
        rng, rnd = self.rng, self.rnd
        code, city, phones, heads, tails, people = rng.choice(vocab.FOREIGN)
        self.country, self.province, self.city_name, self.district = code, "", city, ""
        self.name = f"{rng.choice(heads)} {rng.choice(tails)}"
        self.short_name = ""
        self.street = f"{1 + int(rnd() * 200)} {rng.choice(('Harbour', 'Industrial', 'Park', 'Ring'))} Road"
        self.postal_code = digits(rnd, 5, "123456789")
        self.phone = foreign_number(rnd, phones[0])
        self.domain = self.name.split()[-2].lower().replace(".", "") + "-water.com"
        self.email = f"info@{self.domain}"
        self.website = f"https://www.{self.domain}"
        self.brand_py = ""
        self.foreign_people = (people, phones)
        self.industry_code = "environmental"
        self.industry_id = self.sk.industry_ids.get("environmental")

    def mobile(self) -> str:
        return mobile_number(self.rnd)

    def person_name(self) -> str:
        names = self.t.person_names
        return names[int(self.rnd() * len(names))]

    def personal_email(self, name: str) -> str:
        rnd = self.rnd
        if rnd() < 0.4:
            return f"{digits(rnd, 9, '123456789')}@qq.com"
        host = ("163.com", "126.com", "sina.com", "outlook.com")[int(rnd() * 4)]
        return f"{pinyin(name)}{int(rnd() * 1000)}@{host}"

    # Contacts -----------------------------------------------------------------------

    def contacts(self, first_id: int) -> None:
        rnd, clock = self.rnd, self.clock
        created = clock.ts(self.created_ts)
        for k in range(self.n_contacts):
            cid = first_id + k
            wechat, phone, ext = "", "", ""
            if self.kind == "f":
                people, phones = self.foreign_people
                name = people[int(rnd() * len(people))]
                title, dept = (("Purchasing Manager", "Purchasing") if k == 0
                               else ("Engineer", "Engineering"))
                mobile = foreign_number(rnd, phones[-1])
                email = f"{name.split()[0].lower()}@{self.domain}"
            elif self.kind == "p":
                name, title, dept = self.name, "", ""
                mobile, email = self.phone, self.email
            else:
                name = self.person_name()
                title, dept = vocab.TITLES[int(rnd() * len(vocab.TITLES))]
                mobile = self.mobile() if rnd() < 0.92 else ""
                if self.phone.startswith("+86") and not self.phone.startswith("+861") \
                        and rnd() < 0.5:
                    phone, ext = self.phone, str(100 + int(rnd() * 800))
                x = rnd()
                if x < 0.55:
                    email = f"{pinyin(name)}@{self.domain}"
                elif x < 0.75:
                    email = self.personal_email(name)
                else:
                    email = ""
                if rnd() < 0.45:
                    wechat = mobile[3:] if mobile and rnd() < 0.5 else \
                        f"wxid_{pinyin(name)}{int(rnd() * 10000)}"
            self.contact_ids.append(cid)
            self.contact_ns.append(SimpleNamespace(name=name, mobile=mobile, phone=phone,
                                                   email=email, deleted_at=None))
            self.contact_rows.append((
                cid, created, created, 1, self.id, name, title, dept, mobile, phone, ext, email,
                wechat, k == 0, rnd() < 0.5, rnd() < 0.3, rnd() < 0.95, "",
            ))

    # History ---------------------------------------------------------------------------

    def history(self, first_id: int, out: ChunkRows, pins: list[tuple] = ()) -> None:
        """Draw the customer's interactions. `pins` (epoch seconds, days ago, kind,
        opportunity id, tag) replace as many drawn ones: interactions deals and tasks
        need at given times (at most n of them)."""
        n = self.n_interactions
        if not n:
            return
        rnd, clock, t = self.rnd, self.clock, self.t
        span = min(self.since_days, HISTORY_DAYS)
        # A follow-up that is already overdue needs a visit a few days before it.
        first_day = 5 if self.forced else 1
        stamps = []
        for _ in range(n):
            d = first_day + int(rnd() * (span - first_day))
            wd = clock.weekday[d]
            if wd >= 5 and d + 2 < span and rnd() < 0.85:  # quiet weekends: the Friday before
                d += wd - 4
            stamps.append((clock.midnight[d] + 30600 + int(rnd() * 36000), d, -1))
        for k, pin in enumerate(pins[:n]):
            stamps[k] = (pin[0], pin[1], k)
        stamps.sort()
        reps = self.sk.reps.get(self.office.key) or []
        manager = self.sk.managers.get(self.office.region)
        services = self.sk.service_ids
        open_p = {"A": 0.3, "B": 0.15, "C": 0.08}[self.tier]
        last_contact = None

        def draw(rnd, kind: str, d: int, last: bool) -> tuple:
            pool = t.pool[kind]
            direction, channel, subject, body, outcome, duration, next_step = \
                pool[int(rnd() * len(pool))]
            x = rnd()
            if kind == "complaint" and services and x < 0.7:
                by = services[int(rnd() * len(services))]
            elif self.owner and x < 0.88:
                by = self.owner
            elif manager and x < 0.93:
                by = manager
            elif reps:
                by = reps[int(rnd() * len(reps))]
            else:
                by = self.owner
            contact = None
            if self.contact_ids and rnd() < 0.85:
                contact = self.contact_ids[int(rnd() * len(self.contact_ids))]
            follow_on, done = None, False
            if last and (self.forced or rnd() < open_p):
                offset = self.forced_offset if self.forced else -14 + int(rnd() * 36)
                follow_on = clock.date(max(offset, 1 - d))  # never before the interaction
                next_step = next_step or vocab.NEXT_STEPS[int(rnd() * len(vocab.NEXT_STEPS))]
                if self.forced:
                    by = self.owner
            elif next_step and rnd() < 0.3:
                offset = -d + 2 + int(rnd() * 12)
                follow_on = clock.date(offset)
                done = rnd() < 0.97 and offset < 0  # one draw whatever the date
            with_manager = kind in ("visit", "meeting") and bool(manager) \
                and rnd() < 0.15 and by != manager
            return (kind, direction, channel, subject, body, outcome, duration, next_step,
                    follow_on, done, by, contact, with_manager)

        for k, (ts, d, p) in enumerate(stamps):
            iid = first_id + k
            last = k == n - 1
            drawn = draw(rnd, pick(t.kinds, rnd()), d, last)
            opportunity = None
            if p >= 0:  # drawn as usual (the random stream stays the same), then replaced
                _ts, _d, kind, opportunity, tag = pins[p]
                if tag is not None:
                    self.pin_ids[tag] = iid
                drawn = draw(self.pin_rnd, kind, d, last)
            (kind, direction, channel, subject, body, outcome, duration, next_step,
             follow_on, done, by, contact, with_manager) = drawn
            stamp = clock.ts(ts)
            out.interactions.append((
                iid, stamp, stamp, 1, self.id, contact, kind, direction, channel, stamp,
                subject, body, outcome, duration, next_step, follow_on, done, by, opportunity,
            ))
            if kind in ("visit", "meeting") and contact:
                out.participant_contacts.append((iid, contact))
            if with_manager:
                out.participant_users.append((iid, manager))
            if kind != "note":
                last_contact = ts
        self.last_ts = stamps[-1][0]
        self.last_contact_ts = last_contact

    # The customer row -------------------------------------------------------------------

    def row(self) -> tuple:
        rng, rnd, clock, sk = self.rng, self.rnd, self.clock, self.sk
        tier = self.tier
        if self.kind != "p" and rnd() < 0.35:
            self.tag_ids = rng.sample(sk.tag_ids, 1 + int(rnd() * 2)) if sk.tag_ids else []
        if rnd() < 0.03:
            others = [u for u in self.t.reps_flat if u[0] != self.owner]
            if others:
                self.shared = [others[int(rnd() * len(others))][0]]
            if sk.service_ids and rnd() < 0.3:
                self.shared.append(sk.service_ids[int(rnd() * len(sk.service_ids))])
        stage = _stage(tier, rnd(), self.last_ts is not None)
        if self.stage_hint is not None:
            stage = self.stage_hint(stage)
        credit_days = {"A": (30, 60, 90), "B": (0, 30, 60), "C": (0, 0, 0, 30)}[tier]
        credit_days = credit_days[int(rnd() * len(credit_days))]
        credit_limit = None
        if tier == "A":
            credit_limit = f"{500_000 + 100_000 * int(rnd() * 26)}.00"
        elif tier == "B":
            credit_limit = f"{100_000 + 50_000 * int(rnd() * 9)}.00"
        elif rnd() < 0.3:
            credit_limit = f"{20_000 + 10_000 * int(rnd() * 9)}.00"
        source = pick(_SOURCES, rnd())
        source = self.source_hint or source
        custom = self._custom() if sk.custom_fields and self.kind == "o" and rnd() < 0.6 else {}
        notes = ""
        if rnd() < 0.15:
            notes = vocab.CUSTOMER_NOTES[int(rnd() * len(vocab.CUSTOMER_NOTES))].format(
                year=2015 + int(rnd() * 10), eq=vocab.EQUIPMENT[int(rnd() * len(vocab.EQUIPMENT))],
                city=self.city_name)
        team_id = sk.office_team_ids.get(self.office.key)
        search = build_search_text(
            SimpleNamespace(pk=self.id, name=self.name, short_name=self.short_name,
                            phone=self.phone, email=self.email, kind=self.kind,
                            city=self.city_name, country=self.country, deleted_at=None),
            contacts=self.contact_ns,
        )
        key = "" if self.kind == "p" else company_key(self.name)
        updated = max(self.created_ts, self.last_ts or 0)
        created = clock.ts(self.created_ts)
        return (
            self.id, created, clock.ts(updated), 1, "person" if self.kind == "p" else "org",
            self.name, self.short_name, self.country, self.province, self.city_name,
            self.district, self.street, self.postal_code, self.phone, self.phone_ext, self.email,
            self.website, self.industry_id, source, team_id, self.owner, tier, stage, credit_days,
            credit_limit, rnd() < 0.45, rnd() < 0.25, rnd() < 0.92, rnd() < 0.8,
            json.dumps(custom), notes,
            clock.ts(self.last_contact_ts) if self.last_contact_ts else None, search, "", "",
            key, name_block(self.city_name, key),
        )

    def _custom(self) -> dict:
        rng, rnd = self.rng, self.rnd
        values = {}
        for d in self.sk.custom_fields:
            if d["industry_id"] and d["industry_id"] != self.industry_id:
                continue
            if rnd() < 0.2:
                continue
            values[d["key"]] = _custom_value(d, rng, self, self.clock)
        return values


_SOURCES = weighted({"referral": 20, "exhibition": 15, "website": 15, "tender": 12,
                      "cold_call": 12, "partner": 10, "advertising": 6, "direct_mail": 3,
                      "other": 7})
_STANDARD_BY_INDUSTRY = {"municipal-water": "GB 5749 生活饮用水", "pharma": "纯化水(药典)",
                         "electronics": "电子级超纯水", "power": "锅炉补给水",
                         "environmental": "GB 18918 一级A"}


def _stage(tier: str, x: float, contacted: bool) -> str:
    if tier == "A":
        table = (("customer", 0.45), ("loyal", 0.85), ("opportunity", 0.97), ("churned", 1.0))
    elif tier == "B":
        table = (("customer", 0.35), ("opportunity", 0.6), ("lead", 0.75), ("loyal", 0.9),
                 ("churned", 1.0))
    else:
        table = (("suspect", 0.2), ("prospect", 0.5), ("lead", 0.72), ("opportunity", 0.82),
                 ("customer", 0.95), ("churned", 1.0))
    stage = next(s for s, limit in table if x < limit)
    return "suspect" if not contacted and stage in ("customer", "loyal") else stage


def _custom_value(d: dict, rng: random.Random, customer: CustomerBuilder, clock: Clock):
    """A plausible value for one pack field, in the stored JSON form."""
    key, ftype, choices = d["key"], d["type"], d["choices"]
    if key == "water_standard" and choices:
        wanted = _STANDARD_BY_INDUSTRY.get(getattr(customer, "industry_code", ""))
        return wanted if wanted in choices and rng.random() < 0.8 else rng.choice(choices)
    if key == "tender_project":
        return f"{customer.city_name}{rng.choice(vocab.EQUIPMENT)}采购项目" \
            f"（{2023 + int(rng.random() * 3)}）"
    if ftype == "multi":
        return rng.sample(choices, min(len(choices), 1 + int(rng.random() * 2)))
    if ftype == "choice":
        return rng.choice(choices)
    if ftype == "number":
        return rng.choice((5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000))
    if ftype == "bool":
        return rng.random() < 0.5
    if ftype == "date":
        value = clock.dates[1200 + int(rng.random() * 420) - 120]
        return value if isinstance(value, str) else value.isoformat()
    return f"{customer.city_name}{rng.choice(vocab.EQUIPMENT)}"
