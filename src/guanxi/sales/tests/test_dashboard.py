"""The director's dashboard: drill-down sums and scoping, stages, conversion, sales cycle,
stale deals, contacts per week, the summary table's refresh and the page itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.accounts.models import Role
from guanxi.activities.services import interaction_create
from guanxi.sales import dashboard, rollups
from guanxi.sales.models import Opportunity, Stage, StageChange
from guanxi.testing.factories import CustomerFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = timezone.localdate(NOW)


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


PATHS = {  # stage names walked, oldest first
    "full_won": ["初步接洽", "需求确认", "现场勘查", "方案报价", "商务谈判", "赢单"],
    "skip_won": ["初步接洽", "需求确认", "赢单"],
    "direct_won": ["初步接洽", "赢单"],
    "open_2": ["初步接洽", "需求确认"],
    "open_5": ["初步接洽", "需求确认", "现场勘查", "方案报价", "商务谈判"],
    "lost_3": ["初步接洽", "需求确认", "现场勘查", "输单"],
}


def deal(customer, owner, path: str, amount: int, *, created_days_ago: int,
         closed_days_ago: int | None = None, entered_days_ago: float | None = None,
         probability: int | None = None, name: str = "deal") -> Opportunity:
    """A deal with its stage history written directly (dates chosen by the test)."""
    names = PATHS[path]
    created = NOW - dt.timedelta(days=created_days_ago)
    last = stage(names[-1])
    status = last.kind
    end = NOW - dt.timedelta(days=closed_days_ago if closed_days_ago is not None
                             else entered_days_ago if entered_days_ago is not None else 0)
    opp = Opportunity.objects.create(
        customer=customer, name=name, pipeline=last.pipeline, stage=last, status=status,
        owner=owner, team=owner.team, amount=Decimal(amount), probability=probability,
        closed_on=timezone.localdate(end) if status != "open" else None,
        stage_entered_at=end)
    Opportunity.objects.filter(pk=opp.pk).update(created_at=created)
    step = (end - created) / max(1, len(names) - 1)
    prev = None
    for i, n in enumerate(names):
        StageChange.objects.create(opportunity=opp, from_stage=prev, to_stage=stage(n),
                                   at=created + step * i, by=owner)
        prev = stage(n)
    return opp


@pytest.fixture
def data(org, users):
    rep_hz = UserFactory(username="rep_hz", role=Role.REP, team=org["hangzhou"])
    c_sh = CustomerFactory(name="上海甲公司", owner=users["rep"], team=org["shanghai"])
    c_hz = CustomerFactory(name="杭州乙公司", owner=rep_hz, team=org["hangzhou"])
    c_cq = CustomerFactory(name="重庆丙公司", owner=users["rep2"], team=org["chongqing"])
    gone = CustomerFactory(name="已删除公司", owner=users["rep"], team=org["shanghai"],
                           deleted_at=NOW)
    recent = NOW - dt.timedelta(days=1)
    from guanxi.parties.models import Customer

    Customer.all_objects.filter(pk__in=[c_hz.pk, c_cq.pk]).update(last_contact_at=recent)
    Customer.all_objects.filter(pk=c_sh.pk).update(last_contact_at=NOW - dt.timedelta(days=20))
    d = SimpleNamespace(rep_hz=rep_hz, c_sh=c_sh, c_hz=c_hz, c_cq=c_cq)
    d.d1 = deal(c_sh, users["rep"], "full_won", 100_000, created_days_ago=25, closed_days_ago=5)
    d.d2 = deal(c_hz, rep_hz, "skip_won", 50_000, created_days_ago=50, closed_days_ago=10)
    d.d3 = deal(c_cq, users["rep2"], "direct_won", 30_000, created_days_ago=13,
                closed_days_ago=3)
    d.d4 = deal(c_sh, users["rep"], "open_2", 200_000, created_days_ago=40,
                entered_days_ago=30, name="停滞的项目")
    d.d5 = deal(c_cq, users["rep2"], "open_5", 10_000, created_days_ago=20,
                entered_days_ago=2, probability=50)
    d.d6 = deal(c_sh, users["rep"], "lost_3", 70_000, created_days_ago=30, closed_days_ago=2)
    d.ghost = deal(gone, users["rep"], "full_won", 999_999, created_days_ago=20,
                   closed_days_ago=1)
    rollups.refresh(now=NOW)
    return d


def filters(**params) -> dashboard.Filters:
    return dashboard.parse_filters({"period": "12m", **params}, today=TODAY)


def by_label(rows) -> dict:
    return {r.label: r for r in rows}


# --- Who may see it -------------------------------------------------------------------------


def test_only_admin_director_and_managers_may_open_the_dashboard(client, users, data):
    url = reverse("dashboard:director")
    for role, status in (("admin", 200), ("director", 200), ("manager", 200), ("rep", 403),
                         ("service", 403), ("finance", 403), ("readonly", 403)):
        client.force_login(users[role])
        assert client.get(url).status_code == status, role
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


# --- (a) Drill-down -------------------------------------------------------------------------


def test_director_sees_both_regions_with_won_pipeline_and_weighted(users, org, data):
    rows = by_label(dashboard.drill_down(users["director"], filters(), dashboard.Tree()))
    assert set(rows) == {"华东区", "西南区"}
    east, west = rows["华东区"], rows["西南区"]
    assert (east.won, east.won_count) == (150_000, 2)  # the deleted customer's deal is out
    assert (east.pipeline, east.weighted, east.open_count) == (200_000, 50_000, 1)  # 25 %
    assert (west.won, west.pipeline, west.weighted) == (30_000, 10_000, 5_000)  # override 50 %
    assert east.query and f"region={org['east'].pk}" in east.query


def test_east_manager_sees_only_east_and_drills_down_to_customers(users, org, data):
    manager, tree = users["manager"], dashboard.Tree()
    assert set(by_label(dashboard.drill_down(manager, filters(), tree))) == {"华东区"}
    offices = by_label(dashboard.drill_down(manager, filters(region=org["east"].pk), tree))
    assert {k: v.won for k, v in offices.items()} == {"上海办事处": 100_000, "杭州办事处": 50_000}
    reps = by_label(dashboard.drill_down(manager, filters(region=org["east"].pk,
                                                          office=org["shanghai"].pk), tree))
    assert list(reps) == [str(users["rep"])]
    rep_row = reps[str(users["rep"])]
    assert (rep_row.won, rep_row.pipeline) == (100_000, 200_000)
    f = filters(region=org["east"].pk, office=org["shanghai"].pk, rep=users["rep"].pk)
    assert f.level == "customer"
    customers = dashboard.drill_down(manager, f, tree)
    assert [(c.label, c.won, c.pipeline, c.weighted) for c in customers] == [
        ("上海甲公司", 100_000, 200_000, 50_000)]
    crumbs = dashboard.breadcrumbs(f)
    assert [c[0] for c in crumbs] == ["National", "华东区", "上海办事处", str(users["rep"])]
    assert crumbs[-1][1] is None and all(q for _l, q in crumbs[:-1])


def test_manager_cannot_drill_into_another_region(users, org, data):
    tree = dashboard.Tree()
    f = filters(region=org["west"].pk)
    assert dashboard.drill_down(users["manager"], f, tree) == []
    f = filters(rep=users["rep2"].pk)
    assert dashboard.drill_down(users["manager"], f, tree) == []  # live level: scoped too
    assert dashboard.stale_deals(users["manager"], filters(rep=users["rep2"].pk, days=1),
                                 now=NOW)["deals"] == []


def test_scoped_deals_match_visible_to(users, org, data):
    pool = CustomerFactory(name="公海客户", owner=None, team=org["hangzhou"])
    shared = CustomerFactory(name="共享客户", owner=users["rep2"], team=org["chongqing"])
    shared.shared_with.add(users["manager"])
    deal(pool, data.rep_hz, "open_2", 1_000, created_days_ago=5, entered_days_ago=1)
    deal(shared, users["manager"], "open_2", 1_000, created_days_ago=5, entered_days_ago=1)
    f = filters()
    manager = users["manager"]
    visible = set(Opportunity.objects.visible_to(manager).values_list("pk", flat=True))
    in_scope = set(Opportunity.objects.filter(
        team_id__in=manager.team_subtree_ids()).values_list("pk", flat=True))
    assert set(dashboard.scoped_deals(manager, f).values_list("pk", flat=True)) == (
        visible & in_scope)
    assert data.ghost.pk not in visible
    director_ids = set(dashboard.scoped_deals(users["director"], f).values_list("pk", flat=True))
    assert director_ids == set(Opportunity.objects.visible_to(users["director"])
                               .values_list("pk", flat=True))


def test_period_limits_won_revenue(users, data):
    f = dashboard.parse_filters({"period": "custom", "start": (TODAY - dt.timedelta(days=6))
                                 .isoformat(), "end": TODAY.isoformat()}, today=TODAY)
    rows = by_label(dashboard.drill_down(users["director"], f, dashboard.Tree()))
    assert rows["华东区"].won == 100_000 and rows["西南区"].won == 30_000  # d2 closed 10 days ago
    assert rows["华东区"].pipeline == 200_000  # open pipeline is today's, whatever the period


def test_invalid_filters_fall_back(users):
    f = dashboard.parse_filters({"period": "custom", "start": "x", "region": "abc",
                                 "days": "-5"}, today=dt.date(2026, 5, 20))
    assert (f.period, f.start, f.end) == ("quarter", dt.date(2026, 4, 1), dt.date(2026, 5, 20))
    assert f.region is None and f.stale_days == dashboard.DEFAULT_STALE_DAYS
    assert dashboard.period_bounds("12m", dt.date(2026, 5, 20))[0] == dt.date(2025, 5, 21)


# --- (b) Stages, (d) conversion, (e) cycle -------------------------------------------------


def test_pipeline_by_stage(users, data):
    s = dashboard.pipeline_by_stage(users["director"], filters())
    assert [(r.stage.name, r.count, r.amount) for r in s["open"]] == [
        ("需求确认", 1, 200_000), ("商务谈判", 1, 10_000)]
    assert s["won"] == (3, 180_000) and s["lost"] == (1, 70_000)
    east = dashboard.pipeline_by_stage(users["manager"], filters())
    assert [(r.stage.name, r.count) for r in east["open"]] == [("需求确认", 1)]


def test_stage_conversion_rates(users, data):
    c = dashboard.conversion(users["director"], filters())
    rates = {(s["from"].name, s["to"].name): (s["reached"], s["advanced"]) for s in c["steps"]}
    assert rates == {
        ("初步接洽", "需求确认"): (6, 6),  # skipping a stage counts as passing it
        ("需求确认", "现场勘查"): (6, 5),
        ("现场勘查", "方案报价"): (5, 4),
        ("方案报价", "商务谈判"): (4, 4),
        ("商务谈判", "赢单"): (4, 3),
    }
    assert c["won_rate"] == 0.75 and (c["won"], c["lost"], c["open"]) == (3, 1, 2)
    east = dashboard.conversion(users["manager"], filters())
    assert (east["created"], east["won"], east["lost"]) == (4, 2, 1)


@pytest.mark.parametrize("days_back", [0, 1, 31, 45, 70, 400])
def test_conversion_periods_split_into_months_and_days_give_the_daily_sums(users, data,
                                                                            days_back):
    start = TODAY - dt.timedelta(days=days_back)
    f = dashboard.parse_filters({"period": "custom", "start": start.isoformat(),
                                 "end": TODAY.isoformat()}, today=TODAY)
    got = {}
    for r in dashboard._cohort_rows(users["director"], f):
        got[r["key"]] = got.get(r["key"], 0) + r["n"]
    expected = {}
    for r in (rollups.DashboardRollup.objects.filter(metric="cohort", day__gte=start,
                                                     day__lte=TODAY)):
        expected[r.key] = expected.get(r.key, 0) + r.count
    assert got == expected


def test_average_sales_cycle_per_region_and_office(users, data):
    c = dashboard.sales_cycle(users["director"], filters(), dashboard.Tree())
    assert c["won"] == 3 and c["days"] == pytest.approx((20 + 40 + 10) / 3)
    regions = {str(r["team"]): r["days"] for r in c["regions"]}
    assert regions == {"华东区": 30, "西南区": 10}
    offices = {str(r["team"]): r["days"] for r in c["offices"]}
    assert offices == {"上海办事处": 20, "杭州办事处": 40, "重庆办事处": 10}


# --- (f) Stale deals ------------------------------------------------------------------------


def test_stale_deals_follow_the_number_of_days(users, data):
    director = users["director"]
    s14 = dashboard.stale_deals(director, filters(days=14), now=NOW)
    assert [d.pk for d in s14["deals"]] == [data.d4.pk] and s14["count"] == 1
    assert s14["deals"][0].idle_days == 20  # last contact 20 days ago, stage 30 days ago
    # 25 days: the contact 20 days ago is recent enough
    assert dashboard.stale_deals(director, filters(days=25), now=NOW)["deals"] == []
    # 1 day: d5 (stage 2 days ago) has a contact yesterday: still not stale
    assert [d.pk for d in dashboard.stale_deals(director, filters(days=1), now=NOW)
            ["deals"]] == [data.d4.pk]


def test_logging_an_interaction_on_the_deal_clears_it(users, data):
    interaction_create(actor=users["rep"], customer=data.c_sh, kind="call", subject="跟进",
                       opportunity=data.d4, outcome="reached")
    assert dashboard.stale_deals(users["director"], filters(days=14))["deals"] == []


def test_manager_sees_only_stale_deals_of_the_subtree(users, data):
    deal(data.c_cq, users["rep2"], "open_2", 5_000, created_days_ago=90, entered_days_ago=60)
    from guanxi.parties.models import Customer

    Customer.all_objects.filter(pk=data.c_cq.pk).update(last_contact_at=NOW - dt.timedelta(days=40))
    assert dashboard.stale_deals(users["director"], filters(days=14), now=NOW)["count"] == 1
    rollups.refresh(now=NOW)  # the candidates come from the summary
    assert dashboard.stale_deals(users["director"], filters(days=14), now=NOW)["count"] == 2
    east = dashboard.stale_deals(users["manager"], filters(days=14), now=NOW)
    assert [d.pk for d in east["deals"]] == [data.d4.pk]


# --- (c) Contacts per week ------------------------------------------------------------------


def test_contacts_per_rep_per_week_by_outcome(users, org, data):
    monday = dashboard.week_start(TODAY)
    this_week = timezone.make_aware(dt.datetime.combine(monday, dt.time(10)))
    last_week = this_week - dt.timedelta(days=7)
    rep, rep2 = users["rep"], users["rep2"]
    for when, who, outcome in ((this_week, rep, "reached"), (this_week, rep, "reached"),
                               (this_week, rep, "no_answer"), (last_week, rep, "reached"),
                               (last_week, rep2, "interested"),
                               (last_week - dt.timedelta(weeks=20), rep, "reached")):
        InteractionFactory(customer=data.c_sh, created_by=who, occurred_at=when,
                           outcome=outcome)
    rollups.refresh(now=NOW)
    # logged after the refresh: counted live
    InteractionFactory(customer=data.c_sh, created_by=rep, occurred_at=this_week,
                       outcome="no_answer")
    c = dashboard.contacts_per_week(users["director"], filters())
    assert c["weeks"][-1] == monday and c["weeks"][-2] == monday - dt.timedelta(weeks=1)
    assert len(c["weeks"]) == dashboard.WEEKS
    rows = {r["user"].username: r for r in c["rows"]}
    assert rows["rep"]["weeks"][-2:] == [1, 4] and rows["rep"]["total"] == 5  # 20 weeks ago: out
    assert rows["rep2"]["weeks"][-2:] == [1, 0]
    outcome = dict(zip(c["outcomes"], rows["rep"]["outcomes"], strict=True))
    assert outcome["reached, talked"] == 3 and outcome["no answer"] == 2
    by = dict(c["by_outcome"])
    assert by["reached, talked"][-2:] == [1, 2] and by["no answer"][-1] == 2
    east = dashboard.contacts_per_week(users["manager"], filters())
    assert {r["user"].username for r in east["rows"]} == {"rep"}


def test_incremental_refresh_adds_only_new_interactions(users, data):
    InteractionFactory(customer=data.c_sh, created_by=users["rep"], outcome="reached")
    rollups.refresh(now=NOW, full_contacts=True)
    InteractionFactory(customer=data.c_sh, created_by=users["rep"], outcome="reached")
    assert rollups.rebuild_contacts() == 1
    assert rollups.rebuild_contacts() == 0
    total = sum(rollups.DashboardRollup.objects.filter(metric="contacts", user=users["rep"])
                .values_list("count", flat=True))
    assert total == 2


# --- The page -------------------------------------------------------------------------------


def test_page_renders_every_section_with_charts_and_escaped_names(client, users, org, data):
    evil = CustomerFactory(name="<script>alert(1)</script>", owner=users["rep"],
                           team=org["shanghai"])
    deal(evil, users["rep"], "open_2", 1_000, created_days_ago=3, entered_days_ago=1)
    rollups.refresh(now=NOW)
    client.force_login(users["director"])
    url = reverse("dashboard:director")
    r = client.get(url, {"period": "12m", "rep": users["rep"].pk, "office": org["shanghai"].pk,
                         "region": org["east"].pk})
    html = r.content.decode()
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert html.count("<svg") >= 6 and "cdn" not in html.lower()
    r = client.get(url, {"period": "12m"})
    html = r.content.decode()
    for text in ("华东区", "西南区", "150,000", "停滞的项目", "Conversion between stages"):
        assert text in html
    assert "Recompute now" in html


def test_refresh_button_is_for_directors(client, users, data, django_capture_on_commit_callbacks):
    url = reverse("dashboard:refresh")
    client.force_login(users["manager"])
    assert client.post(url).status_code == 403
    client.force_login(users["director"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url)
    assert r.status_code == 302
    from guanxi.core.models import Job

    assert Job.objects.filter(kind=rollups.JOB_KIND, status="succeeded").exists()
