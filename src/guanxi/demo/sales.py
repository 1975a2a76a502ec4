"""Demo sales data: a year of leads, deals, tasks, pool moves and targets.

`build_sales_skeleton` creates the few configuration rows through the ORM (product
lines, products, the service pipeline, one pool per region, two lead forms; the
default pipeline of sales/0002 is reused, or recreated after a flush). `SalesGen`
then makes the rows of one chunk of customers, in the chunk's process, from the seed
and the chunk index alone, hand in hand with `CustomerBuilder`:

* before the customer's history is drawn, its deals and leads are planned, and the
  interactions the deals need are *pinned* into the history (a visit before a deal
  enters a stage that requires one; recent contact on open deals; the calls and
  visits of tasks already done), so the history count stays exactly as planned;
* after the history, the customer's owner story follows the pool's rule: a customer
  not followed up for the pool's days went back to the pool then (auto-return), a few
  were released by hand, new ones were claimed or assigned; tasks are made for the
  customers that still have an owner.

Sales targets come last (`finish_sales`), from the won revenue actually loaded, so
attainment varies between about 60 % and 130 %.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from guanxi.parties.normalize import company_key

from . import geo, vocab
from .sales_vocab import (
    COMPETITORS,
    DEAL_NEXT_STEPS,
    EXPO_DAYS_AGO,
    EXPO_FORM,
    LEAD_REQUESTS,
    LEAD_TASK_TITLES,
    LEAD_TITLES,
    LINES,
    LOST_REASONS,
    RELEASE_NOTES,
    SERVICE_PIPELINE,
    SERVICE_STAGES,
    TASK_TITLES,
    UNQUALIFIED_REASONS,
    WEBSITE_FORM,
    WEEKLY_CALL_TITLE,
    WEEKLY_MEETING_TITLE,
)
from .tables import Clock, Tables, digits, mobile_number, pick, pinyin, weighted

LEAD_COLUMNS = (
    "id", "created_at", "updated_at", "version", "company", "name", "title", "phone", "email",
    "wechat", "province", "city", "address", "website", "industry_id", "product_line_id",
    "source", "campaign", "form_id", "description", "estimated_amount", "status",
    "unqualified_reason", "owner_id", "owner_since", "team_id", "pool_id", "last_activity_at",
    "name_key", "converted_customer_id", "converted_contact_id", "converted_opportunity_id",
    "converted_at", "converted_by_id", "consent", "submitted_ip",
)
OPPORTUNITY_COLUMNS = (
    "id", "created_at", "updated_at", "version", "customer_id", "contact_id", "name",
    "pipeline_id", "stage_id", "status", "owner_id", "team_id", "product_line_id", "amount",
    "currency", "exchange_rate", "expected_close", "probability", "competitors", "next_step",
    "source", "closed_on", "lost_reason", "stage_entered_at", "lead_id",
)
STAGE_CHANGE_COLUMNS = ("opportunity_id", "from_stage_id", "to_stage_id", "at", "by_id")
TASK_COLUMNS = (
    "created_at", "updated_at", "version", "title", "kind", "status", "assignee_id",
    "created_by_id", "due_at", "end_at", "all_day", "location", "notes",
    "remind_minutes_before", "remind_at", "reminded_at", "recurrence", "recurrence_interval",
    "recurrence_until", "customer_id", "contact_id", "lead_id", "opportunity_id", "done_at",
    "outcome", "interaction_id",
)
OWNER_CHANGE_COLUMNS = ("customer_id", "lead_id", "from_user_id", "to_user_id", "reason",
                        "pool_id", "by_id", "at", "note")

DAY = 86400
YEAR_DAYS = 365
TASK_WINDOW = 21  # tasks lie in the three weeks before and after today
# Pool rules of the demo: days without follow-up before a customer goes back (per
# region); the "no open deal" rule is off, as most customers buy once in a while.
RETURN_DAYS = {"华东区": 120, "华北区": 150, "华南区": 120, "西南区": 150, "华中区": 150}
CLAIM_LIMITS = {"华东区": 15, "华北区": 10, "华南区": 10, "西南区": 8, "华中区": 8}
# Per tier: cumulative chances of 1, 2, 3 deals (drawn by the planner); chance of a lead.
DEALS_BY_TIER = {"A": (0.25, 0.6, 0.9), "B": (0.6, 0.92, 1.01), "C": (0.77, 1.01, 1.01)}
LEAD_SHARE = 0.25
_LEAD_SOURCES = weighted({"website": 30, "exhibition": 20, "referral": 12, "cold_call": 10,
                          "advertising": 8, "tender": 8, "partner": 7, "direct_mail": 2,
                          "other": 3})
_DEAL_SOURCES = weighted({"referral": 25, "website": 15, "exhibition": 15, "tender": 15,
                          "cold_call": 12, "partner": 12, "other": 6})
_LOST = weighted(LOST_REASONS)
_NO_VISIT_LOST = ("预算不足", "项目取消", "客户失联", "价格偏高")
_IPS = (58, 61, 101, 113, 114, 116, 117, 119, 120, 121, 122, 125, 180, 183, 218, 222, 223)
_OUTCOMES = {"call": ("reached", "reached", "interested", "follow_up", "no_answer"),
             "visit": ("interested", "follow_up", "reached", "order"),
             "meeting": ("interested", "follow_up", "order"),
             "email": ("info", "follow_up"), "todo": ("",)}
_PIN_KIND = {"call": "call", "visit": "visit", "meeting": "meeting", "email": "email"}


def plan_sales_counts(seed: int, tiers: list[str]) -> tuple[bytearray, bytearray]:
    """Deals and leads per customer, drawn up front (own random stream) so every
    chunk knows its id ranges."""
    rnd = random.Random(f"{seed}/plan/sales").random
    deals, leads = bytearray(), bytearray()
    for tier in tiers:
        x = rnd()
        deals.append(sum(x >= limit for limit in DEALS_BY_TIER[tier]))
        leads.append(rnd() < LEAD_SHARE)
    return deals, leads


# --- The configuration rows (main process, ORM) ------------------------------------------


@dataclass(frozen=True)
class PipelineSpec:
    id: int
    open_stages: tuple[tuple[int, bool, int], ...]  # (stage id, needs a visit, probability)
    won: int
    lost: int


@dataclass(frozen=True)
class LineSpec:
    index: int  # into sales_vocab.LINES
    id: int
    product_ids: tuple[int, ...]
    pipeline: PipelineSpec


@dataclass
class SalesSkeleton:
    lines: tuple[LineSpec, ...]
    pools: dict[str, int]  # region name → pool id
    return_days: dict[str, int]  # region name → days without follow-up (0: off)
    website_form: int
    expo_form: int
    expo_name: str
    expo_day: int  # days before today the expo began


def _pipeline_spec(pipeline) -> PipelineSpec:
    stages = list(pipeline.stages.order_by("order", "id"))
    opens = tuple((s.pk, "visit" in (s.required_activities or []), s.probability)
                  for s in stages if s.kind == "open")
    won = next(s.pk for s in stages if s.kind == "won")
    lost = next(s.pk for s in stages if s.kind == "lost")
    return PipelineSpec(pipeline.pk, opens, won, lost)


def _default_pipeline():
    from guanxi.sales.models import Pipeline, Stage

    pipeline = Pipeline.objects.filter(is_default=True, active=True).first()
    if pipeline is None:  # `demo --reset` flushes what the migration created
        stages = importlib.import_module("guanxi.sales.migrations.0002_default_pipeline").STAGES
        pipeline = Pipeline.objects.create(name="标准销售流程", is_default=True)
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=n, order=o, kind=k, probability=p,
                  required_fields=f, required_activities=a) for n, o, k, p, f, a in stages)
    return pipeline


def build_sales_skeleton(skeleton, today: dt.date) -> SalesSkeleton:
    """Create (or reuse) product lines, products, pipelines, pools and lead forms."""
    from guanxi.sales.models import LeadForm, Pipeline, Pool, Product, ProductLine, Stage

    standard = _pipeline_spec(_default_pipeline())
    lines = []
    service_spec = None
    for index, line in enumerate(LINES):
        pl, _ = ProductLine.objects.get_or_create(code=line.code, defaults={"name": line.name})
        ids = []
        for code, name, price in line.products:
            product, _ = Product.objects.get_or_create(
                code=code, defaults={"name": name, "product_line": pl,
                                     "unit_price": Decimal(price)})
            ids.append(product.pk)
        spec = standard
        if line.pipeline == "service":
            pipeline = Pipeline.objects.filter(product_line=pl, active=True).first()
            if pipeline is None:
                pipeline = Pipeline.objects.create(name=SERVICE_PIPELINE, product_line=pl)
                Stage.objects.bulk_create(
                    Stage(pipeline=pipeline, name=n, order=o, kind=k, probability=p,
                          required_fields=f, required_activities=a)
                    for n, o, k, p, f, a in SERVICE_STAGES)
            service_spec = service_spec or _pipeline_spec(pipeline)
            spec = service_spec
        lines.append(LineSpec(index, pl.pk, tuple(ids), spec))

    pools, return_days = {}, {}
    for region, team_id in skeleton.region_ids.items():
        pool = Pool.objects.filter(team_id=team_id, product_line=None).order_by("pk").first()
        if pool is None:
            pool = Pool.objects.create(
                name=f"{region}公海", team_id=team_id, daily_claim_limit=CLAIM_LIMITS[region],
                return_after_days_without_contact=RETURN_DAYS[region],
                return_after_days_without_open_deal=0)
        pools[region] = pool.pk
        return_days[region] = pool.return_after_days_without_contact if pool.active else 0

    expo_date = today - dt.timedelta(days=EXPO_DAYS_AGO)
    key, name, source, campaign = WEBSITE_FORM
    website, _ = LeadForm.objects.get_or_create(key=key, defaults={
        "name": name, "source": source, "campaign": campaign,
        "thank_you": "感谢您的询价，我们的工程师将在一个工作日内与您联系。"})
    key, name, source, campaign = EXPO_FORM
    year = expo_date.year
    expo, _ = LeadForm.objects.get_or_create(key=f"{key}-{year}", defaults={
        "name": name.format(year=year), "source": source, "campaign": campaign.format(year=year),
        "thank_you": "感谢您莅临清源展位，会后我们将尽快与您联系。"})
    return SalesSkeleton(tuple(lines), pools, return_days, website.pk, expo.pk, expo.campaign,
                         EXPO_DAYS_AGO)


# --- Rows of one chunk (any process, no database) -------------------------------------------


@dataclass
class _Deal:
    id: int
    line: LineSpec
    t0: int  # created (epoch seconds)
    t_last: int  # the last stage change
    status: str
    stage_index: int  # open stage reached (status open: the current one)
    owner: int
    amount: int  # 元


class SalesGen:
    """Sales rows of one chunk; one call before and one after each customer's history."""

    def __init__(self, plan, spec, tables: Tables, clock: Clock):
        self.sk: SalesSkeleton = plan.skeleton.sales
        self.skeleton, self.spec, self.t, self.clock = plan.skeleton, spec, tables, clock
        self.rng = random.Random(f"{plan.seed}/sales/{spec.index}")
        self.rnd = self.rng.random
        self.now = clock.midnight[0]  # the start of today: anything earlier is the past
        self.lines = weighted([(line, LINES[line.index].share) for line in self.sk.lines])
        self.opp_id, self.lead_id = spec.opportunity_id, spec.lead_id
        self.today_wd = clock.weekday[0]
        self.lead_tasks: list[tuple] = []

    # Time helpers ----------------------------------------------------------------------

    def day_start(self, d: int) -> int:
        """Local midnight `d` days ago (negative: ahead)."""
        return self.clock.midnight[d] if d >= 0 else self.clock.midnight[0] - d * DAY

    def moment(self, d: int) -> int:
        """A time during office hours `d` days ago."""
        return self.day_start(d) + 32400 + int(self.rnd() * 30600)

    def workday(self, d: int) -> int:
        wd = (self.today_wd - d) % 7
        return d + 1 if wd == 5 else (d - 1 if wd == 6 else d)

    def day_of(self, ts: int) -> int:
        m = self.clock.midnight
        d = max(0, (m[0] - ts + DAY - 1) // DAY)
        while d + 1 < len(m) and m[d] > ts:
            d += 1
        while d > 0 and m[d - 1] <= ts:
            d -= 1
        return d

    def ts(self, value: int):
        return self.clock.ts(value)

    def date(self, ts: int):
        return self.clock.date(-self.day_of(ts)) if ts < self.now else \
            self.clock.date((ts - self.now) // DAY)

    def _rep(self, office_key: str) -> int | None:
        reps = self.skeleton.reps.get(office_key) or []
        return reps[int(self.rnd() * len(reps))] if reps else None

    # Before the history ------------------------------------------------------------------

    def before_history(self, ctx, j: int, out) -> list[tuple]:
        """Plan the customer's deals, lead and tasks; return the interactions to pin into
        its history as (epoch seconds, days ago, kind, opportunity id, tag)."""
        spec, rnd = self.spec, self.rnd
        n_deals = spec.n_opportunities[j] if spec.n_opportunities else 0
        n_leads = spec.n_leads[j] if spec.n_leads else 0
        ctx.pin_ids = {}
        ctx.pin_rnd = rnd
        ctx.sales_tasks = []
        ctx.open_deals = []
        self.budget = ctx.n_interactions
        self.min_day = 5 if ctx.forced else 1
        self.pins: list[tuple] = []
        region = self.t.region_of[ctx.office.key]
        self.region = region
        self.team_id = self.skeleton.office_team_ids.get(ctx.office.key)
        self.manager = self.skeleton.managers.get(region)
        if ctx.forced and self.budget:  # keeps the reps' follow-up customers owned
            d = self.workday(5 + int(rnd() * 15))
            self._pin(self.moment(max(5, d)), "call", None, None)
        converted = bool(n_leads) and ctx.since_days <= 360 and ctx.kind != "f" and rnd() < 0.75
        lead_id = self.lead_id if n_leads else None
        self.lead_id += n_leads
        start = self._conversion_start(ctx) if converted else None
        deals = []
        for k in range(n_deals):
            deals.append(self._deal(ctx, self.opp_id + k, out,
                                    lead_id if converted and k == 0 else None))
        self.opp_id += n_deals
        if any(d.status == "won" for d in deals):
            ctx.stage_hint = _won_stage
        elif any(d.status == "open" for d in deals):
            ctx.stage_hint = _open_stage
        if n_leads:
            if converted:
                self._converted_lead(ctx, lead_id, deals[0] if deals else None, out, start)
            else:
                self._lead(ctx, lead_id, out)
        if ctx.owner is not None:
            self._plan_tasks(ctx)
        return self.pins

    def _pin(self, ts: int, kind: str, opp_id: int | None, tag) -> bool:
        if self.budget <= 0:
            return False
        d = self.day_of(ts)
        if d < self.min_day:
            return False
        self.budget -= 1
        self.pins.append((ts, d, kind, opp_id, tag))
        return True

    def _deal(self, ctx, oid: int, out, lead_id: int | None) -> _Deal:
        rnd, rng = self.rnd, self.rng
        line = pick(self.lines, rnd())
        v = LINES[line.index]
        p = line.pipeline
        e_min = self.min_day
        max_c = min(ctx.since_days - 1, YEAR_DAYS)
        if lead_id is not None:  # the deal the lead was converted into
            t0 = ctx.created_ts + 3600 + int(rnd() * 5400)
            c = self.day_of(t0)
        else:
            c = e_min + 1 + int(rnd() * (max_c - e_min))
            w = self.workday(c)
            c = w if e_min < w <= max_c else c
            t0 = self.moment(c)
        cycle = rng.randint(*v.cycle)
        close_day = c - cycle
        if close_day >= e_min:
            status = "won" if rnd() < v.win_rate else "lost"
        else:
            status = "open"
        was_open = status == "open"
        if was_open and ctx.owner is None:  # nobody follows customers in the pool
            status = "lost"
        opens = p.open_stages
        last = len(opens) - 1
        if status == "won":
            reached = last
        elif status == "lost":
            reached = min(last, int(rnd() * rnd() * (last + 1.5)))
        else:  # older open deals are further along
            reached = min(last, int(rnd() * (last + 1) * (0.5 + min(1.0, (c - e_min) / 120))))
        path = [i for i in range(reached + 1)
                if i in (0, reached) or opens[i][1] or not (v.short and rnd() < 0.5)]
        if was_open:
            t_end = self.moment(e_min + int(rnd() * (c - e_min)))
        else:
            w = self.workday(close_day)
            t_end = self.moment(w if e_min <= w < c else close_day)
        t_end = max(t_end, t0 + 3600)
        stamps = self._stamps(t0, t_end, len(path) - 1 + (status != "open"))
        gates = [k for k, i in enumerate(path) if k and opens[i][1]]
        budget_before = self.budget
        pins_before = len(self.pins)
        ok = True
        for k in gates:
            lo, hi = stamps[k - 1], stamps[k]
            pin = lo + int((hi - lo) * (0.3 + 0.4 * rnd()))
            office = self.day_start(self.day_of(pin)) + 32400 + int(rnd() * 28800)
            if lo < office < hi:
                pin = office
            if not self._pin(pin, "visit", oid, None):
                ok = False
                break
        if not ok:  # not enough history for the visits: lost before the first gate
            self.budget = budget_before
            del self.pins[pins_before:]
            path = path[:gates[0]]
            status = "lost"
            stamps = self._stamps(t0, t_end, len(path))
        lost_reason = ""
        if status == "lost":
            lost_reason = pick(_LOST, rnd()) if ok and not was_open else \
                _NO_VISIT_LOST[int(rnd() * 4)]
        if status == "open":  # recent contact about an open deal
            d = self.workday(self.min_day + int(rnd() * max(1, min(25, c - self.min_day))))
            ts = self.moment(max(d, self.min_day))
            if ts > t0:
                self._pin(ts, ("call", "call", "meeting", "email", "message")[int(rnd() * 5)],
                          oid, None)
        owner = ctx.owner or self._rep(ctx.office.key)
        amount = math.exp(math.log(v.amount[0]) + rnd() * math.log(v.amount[1] / v.amount[0]))
        if ctx.tier == "A":
            amount = min(v.amount[1], amount * 1.4)
        amount = int(round(amount, -4 if amount >= 100_000 else -3))
        currency, rate, shown = "CNY", "1.000000", amount
        if ctx.kind == "f":
            currency, rate = "USD", 7.15 + rnd() * 0.12
        elif ctx.office.key == "gz" and rnd() < 0.05:
            currency, rate = "HKD", 0.90 + rnd() * 0.03
        if currency != "CNY":
            shown = int(round(amount / rate, -2))
            rate = f"{rate:.6f}"
        competitors = []
        if rnd() < 0.55 or lost_reason == "选择了竞争对手":
            competitors = rng.sample(COMPETITORS, 1 + (rnd() < 0.3))
        next_step = ""
        if status == "open":
            steps = DEAL_NEXT_STEPS[min(path[-1], len(DEAL_NEXT_STEPS) - 1)]
            next_step = steps[int(rnd() * len(steps))]
        elif status == "won" and rnd() < 0.5:
            next_step = "确认发货和安装时间"
        stage_ids = [opens[i][0] for i in path]
        final = {"won": p.won, "lost": p.lost}.get(status)
        if final:
            stage_ids.append(final)
        by = owner
        out.stage_changes.append((oid, None, stage_ids[0], self.ts(stamps[0]), by))
        for k in range(1, len(stage_ids)):
            out.stage_changes.append((oid, stage_ids[k - 1], stage_ids[k], self.ts(stamps[k]),
                                      by))
        t_last = stamps[len(stage_ids) - 1]
        if status == "open":
            ahead = max(7 + int(rnd() * 21), -close_day + int(rnd() * 20) - 10)
            expected = self.clock.date(min(ahead, 300))
            closed_on = None
        else:
            closed_on = self.date(t_last)
            expected = self.clock.date(-self.day_of(t_last) + int(rnd() * 15) - 5)
        probability = None
        if status == "open" and rnd() < 0.08:
            probability = max(5, min(95, opens[path[-1]][2] + (10 if rnd() < 0.5 else -10)))
        who = ctx.short_name or ctx.name
        names = v.deal_names
        contact = None
        if ctx.contact_ids:
            contact = ctx.contact_ids[0 if rnd() < 0.6 else int(rnd() * len(ctx.contact_ids))]
        source = getattr(ctx, "source_hint", "") or pick(_DEAL_SOURCES, rnd())
        updated = max([t_last] + [pin[0] for pin in self.pins if pin[3] == oid])
        out.opportunities.append((
            oid, self.ts(t0), self.ts(updated), len(stage_ids), ctx.id, contact,
            names[int(rnd() * len(names))].format(who=who), p.id, stage_ids[-1], status, owner,
            self.team_id, line.id, f"{shown}.00", currency, rate, expected, probability,
            "、".join(competitors), next_step, source, closed_on, lost_reason, self.ts(t_last),
            lead_id,
        ))
        products = line.product_ids
        for pid in rng.sample(products, min(len(products), 1 + (rnd() < 0.35))):
            out.opportunity_products.append((oid, pid))
        deal = _Deal(oid, line, t0, t_last, status, path[-1], owner, amount)
        if status == "open":
            ctx.open_deals.append(deal)
        return deal

    def _stamps(self, t0: int, t_end: int, moves: int) -> list[int]:
        """t0 and `moves` strictly increasing times after it, the last one at t_end."""
        if moves <= 0:
            return [t0]
        inner = sorted(t0 + int((t_end - t0) * self.rnd()) for _ in range(moves - 1))
        stamps = [t0]
        for ts in inner + [t_end]:
            stamps.append(max(ts, stamps[-1] + 60))
        return stamps

    # Leads ------------------------------------------------------------------------------

    def _lead_common(self, created: int):
        rnd = self.rnd
        source = pick(_LEAD_SOURCES, rnd())
        form, campaign, ip, consent = None, "", None, rnd() < 0.5
        expo_lo = self.sk.expo_day - 2
        if source == "website" and rnd() < 0.7:
            form, campaign = self.sk.website_form, WEBSITE_FORM[3]
        elif source == "exhibition" and expo_lo <= self.day_of(created) <= self.sk.expo_day:
            form, campaign = self.sk.expo_form, self.sk.expo_name
        if form:
            consent = True
            ip = f"{_IPS[int(rnd() * len(_IPS))]}.{int(rnd() * 256)}.{int(rnd() * 256)}." \
                 f"{1 + int(rnd() * 254)}"
        return source, form, campaign, ip, consent

    def _request(self) -> str:
        rnd = self.rnd
        return LEAD_REQUESTS[int(rnd() * len(LEAD_REQUESTS))].format(
            eq=vocab.EQUIPMENT[int(rnd() * len(vocab.EQUIPMENT))],
            n=(10, 20, 50, 100, 200, 500)[int(rnd() * 6)])

    def _conversion_start(self, ctx) -> tuple:
        """When the lead came in and from where (the customer and its deal keep the source)."""
        created = ctx.created_ts - (2 + int(self.rnd() * 28)) * DAY - int(self.rnd() * 3600)
        common = self._lead_common(created)
        ctx.source_hint = common[0]
        return (created, *common)

    def _converted_lead(self, ctx, lead_id: int, deal: _Deal | None, out, start) -> None:
        rnd = self.rnd
        converted_at = ctx.created_ts
        created, source, form, campaign, ip, consent = start
        owner = ctx.owner or self._rep(ctx.office.key)
        contact = ctx.contact_ns[0] if ctx.contact_ns else None
        name = contact.name if contact else ""
        phone = (contact.mobile or contact.phone) if contact else ctx.phone
        company = "" if ctx.kind == "p" else ctx.name
        estimated = f"{deal.amount}.00" if deal else None
        line = deal.line.id if deal else pick(self.lines, rnd()).id
        owner_since = created + int(rnd() * DAY)
        self._lead_owner_change(lead_id, owner, owner_since, out)
        out.leads.append((
            lead_id, self.ts(created), self.ts(converted_at), 3, company, name,
            LEAD_TITLES[int(rnd() * len(LEAD_TITLES))] if company else "", phone,
            contact.email if contact else "", "", ctx.province, ctx.city_name, ctx.street,
            ctx.website, ctx.industry_id, line, source, campaign, form, self._request(),
            estimated, "converted", "", owner, self.ts(owner_since), self.team_id, None,
            self.ts(converted_at), company_key(company) if company else "", ctx.id,
            ctx.contact_ids[0] if ctx.contact_ids else None, deal.id if deal else None,
            self.ts(converted_at), owner, consent, ip,
        ))

    def _lead(self, ctx, lead_id: int, out) -> None:
        """A lead that is not (yet) a customer, in the customer's office area."""
        rnd, t = self.rnd, self.t
        age = 1 + int(rnd() * YEAR_DAYS)
        if rnd() < 0.12:  # met at the expo
            age = self.sk.expo_day - int(rnd() * 3)
        created = self.moment(age)
        if age <= self.sk.expo_day and age >= self.sk.expo_day - 2 and rnd() < 0.8:
            source, form, campaign = "exhibition", self.sk.expo_form, self.sk.expo_name
            ip, consent = None, True
        else:
            source, form, campaign, ip, consent = self._lead_common(created)
        city = pick(t.cities[ctx.office.key], rnd())
        code, templates = pick(t.industries, rnd())
        template, _short = templates[int(rnd() * len(templates))]
        chars = vocab.BRAND_CHARS
        brand = chars[int(rnd() * len(chars))] + chars[int(rnd() * len(chars))]
        company = template.format(city=city.name, brand=brand,
                                  num=vocab.NUMERALS[int(rnd() * len(vocab.NUMERALS))])
        person = t.person_names[int(rnd() * len(t.person_names))]
        phone = mobile_number(rnd) if rnd() < 0.9 else ""
        if rnd() < 0.5:
            email = f"{pinyin(person)}@{pinyin(brand)}{vocab.DOMAIN_HINTS[code]}.com"
        elif rnd() < 0.5:
            email = f"{digits(rnd, 9, '123456789')}@qq.com"
        else:
            email = ""
        wechat = phone[3:] if phone and rnd() < 0.3 else ""
        if age <= 14:
            status = ("new", "new", "new", "working", "working", "unqualified")[int(rnd() * 6)]
        else:
            x = rnd()
            status = "new" if x < 0.12 else "working" if x < 0.42 else \
                "qualified" if x < 0.58 else "unqualified"
        in_pool = rnd() < 0.2 and status in ("new", "working")
        owner = None if in_pool else self._rep(ctx.office.key)
        pool = self.sk.pools.get(self.region) if in_pool else None
        owner_since = created + int(rnd() * 2 * DAY) if owner else None
        if owner_since and owner_since >= self.now:
            owner_since = created
        last_activity = None
        if status != "new":
            span = max(1, min(self.now - created - 3600, 40 * DAY))
            last_activity = created + 3600 + int(rnd() * span)
        if in_pool and status == "working":  # worked on, then given back
            rep = self._rep(ctx.office.key)
            got = created + int(rnd() * DAY)
            back = min(self.now - 600, got + (1 + int(rnd() * 20)) * DAY)
            last_activity = min(last_activity or back, back)
            self._lead_owner_change(lead_id, rep, got, out)
            out.owner_changes.append((None, lead_id, rep, None, "release", pool, rep,
                                      self.ts(back), RELEASE_NOTES[0]))
        elif owner:
            self._lead_owner_change(lead_id, owner, owner_since, out)
        estimated = None
        line = pick(self.lines, rnd())
        if rnd() < 0.5:
            lo, hi = LINES[line.index].amount
            estimated = f"{int(round(lo * (hi / lo) ** rnd(), -3))}.00"
        updated = max(created, last_activity or 0, owner_since or 0)
        out.leads.append((
            lead_id, self.ts(created), self.ts(updated), 1 + (status != "new"), company, person,
            LEAD_TITLES[int(rnd() * len(LEAD_TITLES))], phone, email, wechat, city.province,
            city.name, "", "", self.skeleton.industry_ids.get(code), line.id, source, campaign,
            form, self._request(), estimated, status,
            UNQUALIFIED_REASONS[int(rnd() * len(UNQUALIFIED_REASONS))]
            if status == "unqualified" else "",
            owner, self.ts(owner_since) if owner_since else None, self.team_id, pool,
            self.ts(last_activity) if last_activity else None, company_key(company), None, None,
            None, None, None, consent, ip,
        ))
        if owner and status in ("new", "working") and self.now - created < 30 * DAY \
                and rnd() < 0.6:
            d = self.workday(-int(rnd() * 10) + 3)
            self._lead_task(owner, lead_id, company, d)

    def _lead_owner_change(self, lead_id: int, owner, at: int, out) -> None:
        x = self.rnd()
        if owner is None or x >= 0.7:
            return  # created by its owner
        if x < 0.35:
            out.owner_changes.append((None, lead_id, None, owner, "claim",
                                      self.sk.pools.get(self.region), owner, self.ts(at), ""))
        else:
            out.owner_changes.append((None, lead_id, None, owner, "assign", None,
                                      self.manager or owner, self.ts(at), ""))

    def _lead_task(self, owner: int, lead_id: int, company: str, d: int) -> None:
        title = LEAD_TASK_TITLES[int(self.rnd() * len(LEAD_TASK_TITLES))].format(who=company)
        self.lead_tasks.append((owner, lead_id, title, d))

    # Tasks --------------------------------------------------------------------------------

    def _plan_tasks(self, ctx) -> None:
        """(kind, days ago, status, deal, tag, recurring) for the customer; done ones with
        an interaction pinned at their time when the history has room."""
        rnd = self.rnd
        plans = []
        for deal in ctx.open_deals:
            r = deal.stage_index
            kind = (("call", "email"), ("call", "email"), ("visit", "call"), ("meeting", "email"),
                    ("meeting", "todo"))[min(r, 4)][rnd() < 0.4]
            plans.append([kind, -int(rnd() * TASK_WINDOW), deal])
            if rnd() < 0.6:
                plans.append([("call", "visit", "email", "todo")[int(rnd() * 4)],
                              1 + int(rnd() * TASK_WINDOW), deal])
        if not ctx.open_deals and rnd() < (0.25 if ctx.tier == "A" else 0.1):
            plans.append([("call", "call", "visit", "email", "todo", "meeting")[int(rnd() * 6)],
                          TASK_WINDOW - int(rnd() * (2 * TASK_WINDOW + 1)), None])
        for kind, d, deal in plans:
            d = self.workday(d)
            status, tag = "open", None
            if d >= 1:
                x = rnd()
                status = "done" if x < 0.8 else ("open" if x < 0.93 else "cancelled")
                if d < self.min_day and status == "done" and kind in _PIN_KIND:
                    d = self.min_day
            due = self._due(kind, d)
            if deal is not None and due <= deal.t0:
                continue  # the deal did not exist yet
            if status == "done" and kind in _PIN_KIND:
                tag = len(ctx.sales_tasks)
                if not self._pin(due, _PIN_KIND[kind], deal.id if deal else None, tag):
                    tag = None
            ctx.sales_tasks.append((kind, d, due, status, deal, tag, False))
        if ctx.tier == "A" and rnd() < 0.08:
            d = self.workday(-int(rnd() * 6))
            ctx.sales_tasks.append(("call", d, self._due("call", d), "open", None, None, True))

    def _due(self, kind: str, d: int) -> int:
        rnd = self.rnd
        start = self.day_start(d)
        if kind in ("visit", "meeting"):
            return start + (9 * 3600 + 1800, 10 * 3600, 14 * 3600, 15 * 3600)[int(rnd() * 4)]
        return start + 9 * 3600 + 1800 * int(rnd() * 16)

    # After the history --------------------------------------------------------------------

    def after_history(self, ctx, out) -> None:
        """Ownership story, then the tasks of customers that still have an owner."""
        rnd = self.rnd
        owner = ctx.owner
        pool = self.sk.pools.get(self.region)
        owner_since = ctx.created_ts
        if owner is not None and ctx.since_days <= YEAR_DAYS:
            at = ctx.created_ts + 1800 + int(rnd() * 9000)
            x = rnd()
            if x < 0.35:
                out.owner_changes.append((ctx.id, None, None, owner, "claim", pool, owner,
                                          self.ts(at), ""))
                owner_since = at
            elif x < 0.6 and self.manager:
                out.owner_changes.append((ctx.id, None, None, owner, "assign", None,
                                          self.manager, self.ts(at), ""))
                owner_since = at
        days = self.sk.return_days.get(self.region, 0)
        if owner is not None and not ctx.forced and not ctx.open_deals:
            touch = max(ctx.last_contact_ts or owner_since, owner_since)
            idle = (self.now - touch) / DAY
            if days and idle > days:  # the nightly auto-return sent it back
                at = touch + days * DAY
                at += int(rnd() * min(DAY, self.now - at))
                out.owner_changes.append((ctx.id, None, owner, None, "auto_return", pool, None,
                                          self.ts(at), f"No follow-up for {days} days"))
                ctx.owner = None
            elif idle > 60 and rnd() < 0.06:
                at = touch + int((30 + rnd() * (idle - 31)) * DAY)
                out.owner_changes.append((ctx.id, None, owner, None, "release", pool, owner,
                                          self.ts(at),
                                          RELEASE_NOTES[int(rnd() * len(RELEASE_NOTES))]))
                ctx.owner = None
        if ctx.owner is not None:
            self._tasks(ctx, out)
        self._lead_tasks(out)

    def _tasks(self, ctx, out) -> None:
        rnd = self.rnd
        owner = ctx.owner
        who = ctx.short_name or ctx.name
        if ctx.country == "CN":
            place = f"{ctx.city_name}{ctx.district}{ctx.street}"
        else:
            place = f"{ctx.street}, {ctx.city_name}"
        for kind, d, due, status, deal, tag, recurring in ctx.sales_tasks:
            titles = TASK_TITLES[kind]
            title = titles[int(rnd() * len(titles))].format(
                who=who, eq=vocab.EQUIPMENT[int(rnd() * len(vocab.EQUIPMENT))])
            if recurring:
                title = WEEKLY_CALL_TITLE.format(who=who)
            end, location, all_day = None, "", False
            if kind in ("visit", "meeting"):
                end = due + (60 + 30 * int(rnd() * 4)) * 60
                location = "腾讯会议" if kind == "meeting" and rnd() < 0.3 else place
            elif kind == "todo" and rnd() < 0.3:
                all_day, due = True, self.day_start(d)
            by = owner if rnd() < 0.8 or not self.manager else self.manager
            created = min(due - (1 + int(rnd() * 7)) * DAY, self.now - int(rnd() * 4 * DAY))
            contact = ctx.contact_ids[0] if ctx.contact_ids else None
            self._task_row(out, title, kind, status, owner, by, due, end, all_day, location,
                           "", created, ctx.id, contact,
                           None, deal.id if deal else None,
                           ctx.pin_ids.get(tag) if tag is not None else None, recurring)

    def _lead_tasks(self, out) -> None:
        rnd = self.rnd
        for owner_id, lead_id, title, d in self.lead_tasks:
            due = self._due("call", d)
            status = "open" if d < 1 or rnd() < 0.2 else "done"
            self._task_row(out, title, "call", status, owner_id, owner_id, due, None, False, "",
                           "", due - 2 * DAY, None, None, lead_id, None, None, False)
        self.lead_tasks.clear()

    def _task_row(self, out, title, kind, status, assignee, by, due, end, all_day, location,
                  notes, created, customer, contact, lead, opp, interaction, recurring) -> None:
        rnd = self.rnd
        remind, remind_at, reminded = None, None, None
        if rnd() < 0.45 and not all_day:
            remind = (15, 30, 30, 60, 1440)[int(rnd() * 5)]
            remind_at = due - remind * 60
            if remind_at < self.now and status != "cancelled":
                reminded = self.ts(remind_at)
        done_at, outcome = None, ""
        if status == "done":
            done = min(due + int(rnd() * 4 * 3600), self.now - 60)
            done_at = self.ts(done)
            outcomes = _OUTCOMES[kind]
            outcome = outcomes[int(rnd() * len(outcomes))]
        created = min(created, due)
        until = self.clock.date(90) if recurring else None
        out.tasks.append((
            self.ts(created), done_at or self.ts(created), 1 + (status != "open"), title, kind,
            status, assignee, by, self.ts(due), self.ts(end) if end else None, all_day,
            location, notes, remind, self.ts(remind_at) if remind_at else None, reminded,
            "weekly" if recurring else "", 1, until, customer, contact, lead, opp, done_at,
            outcome, interaction,
        ))


def _won_stage(stage: str) -> str:
    return stage if stage in ("customer", "loyal") else "customer"


def _open_stage(stage: str) -> str:
    return "opportunity" if stage in ("suspect", "prospect", "lead") else stage


# --- After the load (main process) ----------------------------------------------------------


def finish_sales(skeleton, today: dt.date, seed: int) -> dict[str, int]:
    """Weekly sales meetings per office and this year's targets (monthly per rep,
    quarterly per office) around the won revenue actually loaded."""
    from django.db.models import DecimalField, ExpressionWrapper, F, Sum
    from django.db.models.functions import TruncMonth
    from django.utils import timezone

    from guanxi.activities.models import Task
    from guanxi.sales.models import Opportunity, SalesTarget

    rng = random.Random(f"{seed}/targets")
    zone = timezone.get_current_timezone()
    year_ago = today.replace(day=1) - dt.timedelta(days=366)
    value = ExpressionWrapper(F("amount") * F("exchange_rate"),
                              output_field=DecimalField(max_digits=20, decimal_places=2))
    won: dict[tuple[int, dt.date], float] = defaultdict(float)
    for row in (Opportunity.objects.filter(status="won", closed_on__gte=year_ago,
                                           owner__isnull=False)
                .annotate(month=TruncMonth("closed_on")).values("owner_id", "month")
                .annotate(total=Sum(value))):
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        won[(row["owner_id"], month)] += float(row["total"] or 0)

    months = [dt.date(today.year, m, 1) for m in range(1, 13)]
    this_month = today.replace(day=1)
    targets, office_sum = [], defaultdict(float)
    for office in geo.OFFICES:
        team_id = skeleton.office_team_ids.get(office.key)
        for rep in skeleton.reps.get(office.key, []):
            history = [v for (u, m), v in won.items() if u == rep and m < this_month]
            usual = sum(history) / 12 if history else 200_000.0
            for month in months:
                actual = won.get((rep, month), 0.0)
                if month < this_month and actual > 0:
                    amount = actual / (0.6 + 0.7 * rng.random())
                else:
                    amount = usual * (0.9 + 0.35 * rng.random())
                amount = max(50_000, round(amount, -4))
                targets.append(SalesTarget(user_id=rep, period_kind="month", period_start=month,
                                           amount=Decimal(amount)))
                office_sum[(team_id, (month.month - 1) // 3)] += amount
    for (team_id, quarter), total in sorted(office_sum.items()):
        targets.append(SalesTarget(
            team_id=team_id, period_kind="quarter",
            period_start=dt.date(today.year, 3 * quarter + 1, 1),
            amount=Decimal(round(total * (0.95 + 0.1 * rng.random()), -4))))
    SalesTarget.objects.bulk_create(targets, ignore_conflicts=True)

    # One weekly sales meeting per office, every rep invited (a recurring appointment).
    monday = today - dt.timedelta(days=today.weekday())
    if monday < today:
        monday += dt.timedelta(days=7)
    start = dt.datetime.combine(monday, dt.time(9, 0), zone)
    tasks = []
    for office in geo.OFFICES:
        manager = skeleton.managers.get(office.region)
        for rep in skeleton.reps.get(office.key, []):
            tasks.append(Task(
                title=WEEKLY_MEETING_TITLE.format(office=office.name), kind="meeting",
                assignee_id=rep, created_by_id=manager or rep, due_at=start,
                end_at=start + dt.timedelta(hours=1), location=f"{office.name}会议室",
                remind_minutes_before=30, remind_at=start - dt.timedelta(minutes=30),
                recurrence="weekly", recurrence_until=today + dt.timedelta(days=180)))
    Task.objects.bulk_create(tasks)
    return {"targets": len(targets), "meetings": len(tasks)}
