"""Demo sales data: proportions, consistent deal histories, pools, leads, tasks, targets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
from collections import Counter, defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.activities.models import Interaction, Task
from guanxi.core.models import AuditEntry
from guanxi.demo import geo
from guanxi.demo.generate import generate_chunk
from guanxi.demo.plan import Plan, plan_customers
from guanxi.demo.sales import LineSpec, PipelineSpec, SalesSkeleton
from guanxi.demo.sales_vocab import LINES
from guanxi.demo.service import sales_tasks  # without the service desk's follow-up calls
from guanxi.parties.models import Customer
from guanxi.sales import pool as pool_rules
from guanxi.sales.models import (
    Lead,
    LeadForm,
    Opportunity,
    OwnerChange,
    Pipeline,
    Pool,
    SalesTarget,
    StageChange,
)

TODAY = dt.date(2026, 3, 31)
LOCAL = ZoneInfo("Asia/Shanghai")
N = 2000  # the default demo


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


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL)


def test_proportions(loaded):
    assert Customer.objects.count() == N
    opps = Opportunity.objects.count()
    assert N / 3 <= opps <= N / 2  # about one deal per 2–3 customers
    status = Counter(Opportunity.objects.values_list("status", flat=True))
    assert 0.22 < status["won"] / opps < 0.38
    assert 0.35 < status["lost"] / opps < 0.55
    assert 0.15 < status["open"] / opps < 0.35
    leads = Lead.objects.count()
    assert 0.2 * N < leads < 0.3 * N
    lead_status = Counter(Lead.objects.values_list("status", flat=True))
    assert set(lead_status) == {"new", "working", "qualified", "unqualified", "converted"}
    assert all(count >= 0.04 * leads for count in lead_status.values()), lead_status
    in_pool = Customer.objects.filter(owner=None).count() / N
    assert 0.10 < in_pool < 0.22
    reps = User.objects.filter(role=Role.REP).count()
    assert Task.objects.count() > 20 * reps
    # One pool per region, two lead forms, every product line with products and prices.
    pools = Pool.objects.select_related("team")
    assert sorted(p.team.name for p in pools) == sorted(geo.REGIONS)
    assert all(p.team.kind == TeamKind.REGION and p.daily_claim_limit > 0
               and p.return_after_days_without_contact > 0 for p in pools)
    assert set(LeadForm.objects.values_list("key", flat=True)) == {"website", "expo-2026"}
    assert Lead.objects.filter(form__key="website").exists()
    assert Lead.objects.filter(form__key="expo-2026").exists()
    assert Pipeline.objects.filter(is_default=True, name="标准销售流程").count() == 1
    assert Pipeline.objects.count() == 2
    by_line = Counter(Opportunity.objects.values_list("product_line__code", flat=True))
    assert set(by_line) == {line.code for line in LINES}
    assert Opportunity.objects.exclude(currency="CNY").exists()
    assert not Opportunity.objects.filter(products=None).exists()


def test_amounts_fit_the_product_lines(loaded):
    ranges = {line.code: line.amount for line in LINES}
    for code, amount, rate in Opportunity.objects.values_list(
            "product_line__code", "amount", "exchange_rate"):
        lo, hi = ranges[code]
        cny = amount * rate
        assert Decimal(lo) * Decimal("0.95") <= cny <= Decimal(hi) * Decimal("1.05"), (code, cny)
    foreign = Opportunity.objects.exclude(currency="CNY")
    assert all(o.exchange_rate != 1 for o in foreign)


def test_status_matches_stage_and_history_runs_through_the_pipeline(loaded):
    changes = defaultdict(list)
    for c in StageChange.objects.order_by("at", "id").select_related("to_stage"):
        changes[c.opportunity_id].append(c)
    today = _midnight(TODAY)
    for opp in Opportunity.objects.select_related("stage", "pipeline"):
        assert opp.status == opp.stage.kind, opp.pk
        assert opp.stage.pipeline_id == opp.pipeline_id
        history = changes[opp.pk]
        first = opp.pipeline.stages.filter(kind="open").order_by("order").first()
        assert history[0].from_stage_id is None and history[0].to_stage_id == first.pk
        assert history[0].at == opp.created_at
        for before, after in itertools.pairwise(history):
            assert after.from_stage_id == before.to_stage_id, opp.pk
            assert after.at > before.at, opp.pk
            assert after.to_stage.order > before.to_stage.order, opp.pk
        assert history[-1].to_stage_id == opp.stage_id
        assert history[-1].at == opp.stage_entered_at
        assert all(c.to_stage.pipeline_id == opp.pipeline_id for c in history)
        assert opp.stage_entered_at < today
        if opp.status == "open":
            assert opp.closed_on is None and opp.lost_reason == ""
            assert opp.expected_close is not None and opp.expected_close >= TODAY
        else:
            assert opp.closed_on == opp.stage_entered_at.astimezone(LOCAL).date(), opp.pk
            assert bool(opp.lost_reason) == (opp.status == "lost"), opp.pk
    reasons = Counter(Opportunity.objects.filter(status="lost")
                      .values_list("lost_reason", flat=True))
    assert {"价格偏高", "选择了竞争对手", "项目取消", "预算不足"} <= set(reasons)
    assert not Opportunity.objects.filter(lost_reason="选择了竞争对手", competitors="").exists()
    assert Opportunity.objects.filter(status="open").exclude(next_step="").exists()


def test_gated_stages_had_a_visit_first(loaded):
    gated = 0
    for change in StageChange.objects.select_related("to_stage", "opportunity"):
        if "visit" not in (change.to_stage.required_activities or []):
            continue
        gated += 1
        opp = change.opportunity
        assert Interaction.objects.filter(
            customer_id=opp.customer_id, kind="visit", occurred_at__gte=opp.created_at,
            occurred_at__lt=change.at).exists(), opp.pk
    assert gated > 100
    linked = Interaction.objects.filter(opportunity__isnull=False)
    assert linked.filter(kind="visit").count() > 100
    for i in linked.select_related("opportunity")[:500]:
        assert i.opportunity.customer_id == i.customer_id
        assert i.occurred_at >= i.opportunity.created_at


def test_deals_span_a_year(loaded):
    today = _midnight(TODAY)
    created = list(Opportunity.objects.values_list("created_at", flat=True))
    assert min(created) >= today - dt.timedelta(days=367)
    assert max(created) < today
    assert (max(created) - min(created)).days > 330
    months = {c.astimezone(LOCAL).strftime("%Y-%m") for c in created}
    assert len(months) >= 12
    closed = Opportunity.objects.exclude(closed_on=None).values_list("closed_on", flat=True)
    assert len({d.strftime("%Y-%m") for d in closed}) >= 10


def test_every_office_has_deals_and_tasks(loaded):
    for office in geo.OFFICES:
        team = Team.objects.get(name=office.name)
        assert Opportunity.objects.filter(team=team).count() > 20, office.name
        assert Task.objects.filter(assignee__team=team).count() > 20, office.name
        assert Lead.objects.filter(team=team).exists(), office.name
    # Deals are owned by reps of the customer's office.
    for opp in Opportunity.objects.select_related("owner", "customer")[:300]:
        assert opp.owner.team_id == opp.team_id == opp.customer.team_id


def test_pools_follow_their_rules(loaded):
    # The demo looks as if the nightly auto-return had been running all year.
    assert not pool_rules.due_for_return(_midnight(TODAY)).exists()
    reasons = Counter(OwnerChange.objects.values_list("reason", flat=True))
    assert reasons["claim"] and reasons["release"] and reasons["assign"] \
        and reasons["auto_return"]
    latest = {}
    for change in OwnerChange.objects.filter(customer__isnull=False).order_by("at", "id"):
        latest[change.customer_id] = change
    owners = dict(Customer.objects.values_list("pk", "owner_id"))
    for customer_id, change in latest.items():
        assert owners[customer_id] == change.to_user_id, customer_id
    returned = [c for c in latest.values() if c.reason in ("auto_return", "release")]
    assert all(c.pool_id for c in returned)
    # Customers in the pool have no open deals and no tasks.
    pool_ids = [pk for pk, owner in owners.items() if owner is None]
    assert not Opportunity.objects.filter(customer_id__in=pool_ids, status="open").exists()
    assert not sales_tasks().filter(customer_id__in=pool_ids).exists()
    assert OwnerChange.objects.filter(lead__isnull=False).exists()
    lo = _midnight(TODAY) - dt.timedelta(days=370)
    assert not OwnerChange.objects.filter(at__gte=_midnight(TODAY)).exists()
    assert OwnerChange.objects.filter(at__lt=lo + dt.timedelta(days=60)).exists()


def test_leads_are_consistent(loaded):
    for lead in Lead.objects.filter(status="converted"):
        assert lead.converted_customer_id and lead.converted_contact_id and lead.converted_at
        assert lead.converted_contact.customer_id == lead.converted_customer_id
        assert lead.created_at < lead.converted_at
        if lead.converted_opportunity_id:
            opp = lead.converted_opportunity
            assert opp.customer_id == lead.converted_customer_id
            assert opp.lead_id == lead.pk
    assert Lead.objects.filter(status="converted").exclude(
        converted_opportunity=None).count() > 20
    assert not Lead.objects.exclude(status="converted").exclude(converted_customer=None).exists()
    assert not Lead.objects.filter(status="unqualified", unqualified_reason="").exists()
    pool = Lead.objects.filter(owner=None)
    assert pool.exists() and not pool.filter(pool=None).exists()
    assert not Lead.objects.exclude(owner=None).exclude(pool=None).exists()
    assert Lead.objects.filter(owner__role=Role.REP).count() > Lead.objects.count() / 2
    assert not Lead.objects.filter(form__isnull=False, consent=False).exists()


def test_tasks_around_today(loaded):
    today = _midnight(TODAY)
    tasks = sales_tasks()
    window = (today - dt.timedelta(days=25), today + dt.timedelta(days=25))
    assert not tasks.filter(recurrence="").exclude(due_at__range=window).exists()
    done = tasks.filter(status="done")
    assert done.count() > 50
    assert not done.filter(done_at=None).exists()
    assert not done.filter(due_at__gte=today).exists()
    assert done.exclude(kind="todo").exclude(outcome="").count() == done.exclude(
        kind="todo").count()
    # Done calls and visits logged their interaction (mostly), at the task's time.
    logged = done.exclude(interaction=None).select_related("interaction")
    assert logged.count() > done.exclude(kind="todo").count() / 2
    for task in logged:
        assert task.interaction.customer_id == task.customer_id
        assert task.interaction.kind == task.kind
        assert task.interaction.occurred_at == task.due_at
    assert tasks.filter(status="open", due_at__lt=today).exists()  # overdue
    assert tasks.filter(status="open", due_at__gte=today).count() > 100
    assert tasks.filter(status="cancelled").exists()
    assert tasks.filter(recurrence="weekly").count() >= 10
    assert tasks.exclude(remind_at=None).count() > tasks.count() / 4
    assert not tasks.exclude(remind_at=None).filter(remind_minutes_before=None).exists()
    assert tasks.filter(kind="visit").exclude(end_at=None).exists()
    assert tasks.filter(opportunity__isnull=False).count() > 100
    assert tasks.filter(lead__isnull=False).exists()
    for task in tasks.filter(opportunity__isnull=False).select_related("opportunity"):
        assert task.opportunity.customer_id == task.customer_id
    # Tasks on customers belong to their owner.
    for task in tasks.filter(customer__isnull=False).select_related("customer"):
        assert task.assignee_id == task.customer.owner_id


def test_targets_vary_around_the_won_revenue(loaded):
    reps = list(User.objects.filter(role=Role.REP))
    monthly = SalesTarget.objects.filter(period_kind="month", user__isnull=False)
    assert monthly.count() == 12 * len(reps)
    assert {t.period_start for t in monthly} == {dt.date(2026, m, 1) for m in range(1, 13)}
    quarterly = SalesTarget.objects.filter(period_kind="quarter", team__isnull=False)
    assert quarterly.count() == 4 * len(geo.OFFICES)
    ratios = []
    for target in monthly.filter(period_start__lt=dt.date(2026, 3, 1)):
        end = (target.period_start + dt.timedelta(days=32)).replace(day=1)
        won = sum(o.amount_cny for o in Opportunity.objects.filter(
            owner=target.user, status="won", closed_on__gte=target.period_start,
            closed_on__lt=end))
        if won:
            ratios.append(float(won / target.amount))
    assert len(ratios) >= 8
    assert all(0.5 < r < 1.45 for r in ratios), ratios
    assert max(ratios) - min(ratios) > 0.3


def test_no_audit_entries_for_sales_rows(loaded):
    assert not AuditEntry.objects.filter(model__startswith="sales.").exists()


# --- The generator without a database -----------------------------------------------------


def _sales_skeleton() -> SalesSkeleton:
    standard = PipelineSpec(1, ((1, False, 10), (2, False, 25), (3, False, 40), (4, True, 60),
                                (5, False, 80)), 6, 7)
    service = PipelineSpec(2, ((8, False, 20), (9, False, 50), (10, False, 80)), 11, 12)
    lines = tuple(LineSpec(i, 20 + i, (100 + i, 200 + i),
                           service if line.pipeline == "service" else standard)
                  for i, line in enumerate(LINES))
    return SalesSkeleton(lines, {r: 30 + i for i, r in enumerate(geo.REGIONS)},
                         {r: 120 for r in geo.REGIONS}, 1, 2, "2026 上海国际水展", 45)


def _generate(seed: int, n: int = 1500):
    from guanxi.demo.tests.test_demo import _skeleton

    skeleton = dataclasses.replace(_skeleton(), sales=_sales_skeleton())
    plan = Plan(seed=seed, today=TODAY, time_zone="Asia/Shanghai", text_datetimes=True,
                skeleton=skeleton)
    specs = plan_customers(seed, n, 10, 1000, customer_id=1, contact_id=1, interaction_id=1,
                           forced=36, opportunity_id=1, lead_id=1)
    return [generate_chunk(plan, s) for s in specs]


FIELDS = ("leads", "opportunities", "stage_changes", "opportunity_products", "tasks",
          "owner_changes", "interactions", "customers")


def test_generator_is_deterministic_and_ids_are_contiguous():
    a, b = _generate(5), _generate(5)
    for name in FIELDS:
        assert [getattr(r, name) for r in a] == [getattr(r, name) for r in b], name
    c = _generate(6)
    assert c[0].opportunities[:20] != a[0].opportunities[:20]
    opps = [o for r in a for o in r.opportunities]
    leads = [lead for r in a for lead in r.leads]
    assert [o[0] for o in opps] == list(range(1, len(opps) + 1))
    assert [lead[0] for lead in leads] == list(range(1, len(leads) + 1))
    # Interactions point only at deals of their own customer.
    deal_customer = {o[0]: o[4] for o in opps}
    linked = [i for r in a for i in r.interactions if i[-1] is not None]
    assert linked and all(deal_customer[i[-1]] == i[4] for i in linked)
    # Exactly the planned number of interactions: pins replace drawn ones.
    assert sum(len(r.interactions) for r in a) == 15_000


def test_sales_do_not_change_the_customers_and_contacts():
    """Planning deals draws from its own random stream: customers and contacts are the
    same with and without sales."""
    from guanxi.demo.tests.test_demo import _generate as plain

    _specs, without = plain(5, 1500)
    with_sales = _generate(5)
    assert [r.contacts for r in without] == [r.contacts for r in with_sales]
    names = [c[5] for r in without for c in r.customers]
    assert names == [c[5] for r in with_sales for c in r.customers]
