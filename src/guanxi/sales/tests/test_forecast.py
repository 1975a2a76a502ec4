"""Forecast sums on a hand-built set of deals: foreign currency, hand override, learned
score, the commit threshold, month and quarter buckets, grouping and scoping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.core import site_settings
from guanxi.sales import forecast as fc
from guanxi.sales.models import (
    Opportunity,
    OpportunityStatus,
    ProductLine,
    SalesTarget,
    Stage,
)
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 5, 15)
D = Decimal


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def deal(customer, owner, team, name: str, amount: str, stage_name: str, **extra) -> Opportunity:
    s = stage(stage_name)
    return Opportunity.objects.create(customer=customer, owner=owner, team=team, name=name,
                                      pipeline=s.pipeline, stage=s, amount=D(amount), **extra)


@pytest.fixture
def deals(users, org):
    """rep (上海) and rep2 (重庆) deals; see each line for its contribution."""
    line = ProductLine.objects.create(code="ro", name="反渗透")
    a = CustomerFactory(owner=users["rep"], team=org["shanghai"])
    b = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    sh, cq = org["shanghai"], org["chongqing"]
    out = {
        # May: 100,000 at the stage's 40 % → weighted 40,000, not committed.
        "d1": deal(a, users["rep"], sh, "d1", "100000", "现场勘查",
                   expected_close=dt.date(2025, 5, 20), product_line=line),
        # June: US$10,000 × 7.2 = 72,000, override 75 % → 54,000, committed.
        "d2": deal(a, users["rep"], sh, "d2", "10000", "初步接洽", currency="USD",
                   exchange_rate=D("7.2"), probability=75, expected_close=dt.date(2025, 6, 10)),
        # July (Q3): 200,000, learned score 0.5 beats the stage's 80 % → 100,000, not committed.
        "d3": deal(b, users["rep2"], cq, "d3", "200000", "商务谈判", score=0.5,
                   expected_close=dt.date(2025, 7, 1)),
        # May: 50,000, override exactly at the threshold (70 %) → 35,000, committed, even
        # though its learned score is low.
        "d4": deal(b, users["rep2"], cq, "d4", "50000", "初步接洽", probability=70, score=0.05,
                   expected_close=dt.date(2025, 5, 31)),
        # Won in May (30,000) and in April (€1,000 × 7.5 = 7,500).
        "w1": deal(a, users["rep"], sh, "w1", "30000", "赢单", status=OpportunityStatus.WON,
                   closed_on=dt.date(2025, 5, 2), expected_close=dt.date(2025, 5, 2),
                   product_line=line),
        "w2": deal(b, users["rep2"], cq, "w2", "1000", "赢单", status=OpportunityStatus.WON,
                   currency="EUR", exchange_rate=D("7.5"), closed_on=dt.date(2025, 4, 10)),
        # Ignored: lost, in the recycle bin, no expected close date, outside the range.
        "lost": deal(a, users["rep"], sh, "lost", "999999", "输单",
                     status=OpportunityStatus.LOST, closed_on=dt.date(2025, 5, 3),
                     expected_close=dt.date(2025, 5, 3)),
        "bin": deal(a, users["rep"], sh, "bin", "888888", "现场勘查",
                    expected_close=dt.date(2025, 5, 3), deleted_at=dt.datetime(2025, 5, 1,
                                                                               tzinfo=dt.UTC)),
        "undated": deal(a, users["rep"], sh, "undated", "777777", "现场勘查"),
        "late": deal(a, users["rep"], sh, "late", "666666", "现场勘查",
                     expected_close=dt.date(2026, 1, 5)),
        "line": line,
    }
    return out


def test_monthly_totals_with_currency_override_score_and_commit(users, deals):
    f = fc.forecast(users["director"], kind="month", today=TODAY)
    assert [p.label for p in f.periods] == ["2025-05", "2025-06", "2025-07", "2025-08",
                                            "2025-09", "2025-10"]
    may, june, july = f.by_period[:3]
    assert (may.totals.pipeline, may.totals.weighted, may.totals.committed) == (
        D("150000.00"), D("75000.00"), D("50000.00"))
    assert may.totals.count == 2 and may.won == D("30000.00")
    assert (june.totals.pipeline, june.totals.weighted, june.totals.committed) == (
        D("72000.00"), D("54000.00"), D("72000.00"))
    assert (july.totals.pipeline, july.totals.weighted, july.totals.committed) == (
        D("200000.00"), D("100000.00"), D("0.00"))
    assert all(r.totals.count == 0 for r in f.by_period[3:])
    assert f.total.totals.pipeline == D("422000.00")
    assert f.total.totals.weighted == D("229000.00")
    assert f.total.won == D("30000.00")  # April's win is before the range
    assert f.threshold == 70


def test_quarter_buckets(users, deals):
    f = fc.forecast(users["director"], kind="quarter", start=dt.date(2025, 4, 1))
    assert [p.label for p in f.periods] == ["2025 Q2", "2025 Q3", "2025 Q4", "2026 Q1"]
    q2, q3, q4, q1 = f.by_period
    assert (q2.totals.pipeline, q2.totals.weighted, q2.totals.committed) == (
        D("222000.00"), D("129000.00"), D("122000.00"))
    assert q2.won == D("37500.00")
    assert (q3.totals.pipeline, q3.totals.weighted) == (D("200000.00"), D("100000.00"))
    assert q4.totals.count == 0
    assert q1.totals.pipeline == D("666666.00")  # January 2026 is in Q1


def test_the_commit_threshold_is_a_site_setting(users, deals):
    site_settings.put(fc.COMMIT_KEY, 50)
    f = fc.forecast(users["director"], kind="month", today=TODAY)
    assert f.threshold == 50
    assert f.by_period[2].totals.committed == D("200000.00")  # d3 at 50 % now counts


def test_grouping_by_rep_team_region_and_product_line(users, org, deals):
    by_rep = {r.key: r for r in fc.forecast(users["director"], kind="quarter", count=2,
                                            start=TODAY, group_by="rep").by_group}
    rep, rep2 = by_rep[users["rep"].pk], by_rep[users["rep2"].pk]
    assert rep.label == str(users["rep"])
    assert (rep.totals.pipeline, rep.won) == (D("172000.00"), D("30000.00"))
    assert (rep2.totals.pipeline, rep2.totals.weighted, rep2.won) == (
        D("250000.00"), D("135000.00"), D("7500.00"))
    by_region = {r.key: r for r in fc.forecast(users["director"], kind="quarter", count=2,
                                               start=TODAY, group_by="region").by_group}
    assert set(by_region) == {org["east"].pk, org["west"].pk}
    assert by_region[org["east"].pk].label == "华东区"
    assert by_region[org["west"].pk].totals.committed == D("50000.00")
    by_team = {r.key for r in fc.forecast(users["director"], start=TODAY,
                                          group_by="team").by_group}
    assert by_team == {org["shanghai"].pk, org["chongqing"].pk}
    by_line = {r.key: r for r in fc.forecast(users["director"], kind="quarter", count=2,
                                             start=TODAY, group_by="product_line").by_group}
    assert by_line[deals["line"].pk].totals.pipeline == D("100000.00")
    assert by_line[deals["line"].pk].won == D("30000.00")
    assert by_line[None].totals.pipeline == D("322000.00")


def test_a_rep_sees_only_visible_deals(users, org, deals):
    f = fc.forecast(users["rep"], kind="quarter", count=2, start=TODAY)
    assert f.total.totals.pipeline == D("172000.00")  # d1 + d2, none of rep2's
    assert f.total.won == D("30000.00")
    assert [r.key for r in f.by_group] == [users["rep"].pk]
    manager = fc.forecast(users["manager"], kind="quarter", count=2, start=TODAY)  # East only
    assert manager.total.totals.pipeline == D("172000.00")
    assert fc.forecast(users["readonly"], start=TODAY).total.totals.count == 4  # sees all


def test_targets_and_attainment_in_the_table(users, org, deals):
    SalesTarget.objects.create(user=users["rep"], period_kind="month",
                               period_start=dt.date(2025, 5, 1), amount=D("60000"))
    SalesTarget.objects.create(user=users["rep"], period_kind="month",
                               period_start=dt.date(2025, 6, 1), amount=D("40000"))
    SalesTarget.objects.create(user=users["rep2"], period_kind="quarter",
                               period_start=dt.date(2025, 4, 1), amount=D("75000"))
    SalesTarget.objects.create(team=org["east"], period_kind="quarter",
                               period_start=dt.date(2025, 4, 1), amount=D("300000"))
    months = fc.forecast(users["director"], kind="month", today=TODAY)
    may = {r.key: r for r in months.by_group}[users["rep"].pk]
    assert may.target == D("100000")  # May + June targets over the range
    assert may.attainment == pytest.approx(30.0)
    assert months.by_period[0].target == D("60000")
    assert months.by_period[0].attainment == pytest.approx(50.0)
    quarters = fc.forecast(users["director"], kind="quarter", start=TODAY)
    rows = {r.key: r for r in quarters.by_group}
    # rep: no quarter target, so May + June month targets roll up into Q2.
    assert rows[users["rep"].pk].target == D("100000")
    assert rows[users["rep2"].pk].target == D("75000")
    assert rows[users["rep2"].pk].attainment == pytest.approx(10.0)
    regions = {r.key: r for r in fc.forecast(users["director"], kind="quarter", start=TODAY,
                                             group_by="region").by_group}
    assert regions[org["east"].pk].target == D("300000")
    assert regions[org["east"].pk].attainment == pytest.approx(10.0)
    # A rep does not see the other rep's target.
    mine = fc.forecast(users["rep"], kind="quarter", start=TODAY)
    assert {r.key for r in mine.by_group} == {users["rep"].pk}


def test_won_trend_covers_twelve_months(users, deals):
    trend = fc.won_trend(users["director"], today=TODAY)
    assert len(trend) == 12 and trend[0][0] == dt.date(2024, 6, 1)
    assert trend[-1] == (dt.date(2025, 5, 1), D("30000.00"))
    assert trend[-2] == (dt.date(2025, 4, 1), D("7500.00"))
    assert sum(v for _m, v in trend) == D("37500.00")
    assert fc.won_trend(users["rep"], today=TODAY)[-2][1] == D("0.00")


def test_effective_probability_and_summary(users, deals):
    assert fc.effective_probability(deals["d1"]) == 40
    assert fc.effective_probability(deals["d2"]) == 75
    assert fc.effective_probability(deals["d3"]) == 50
    summary = fc.by_month_totals(users["director"], today=TODAY)
    assert summary["month"]["pipeline"] == D("150000.00")
    assert summary["quarter"]["weighted"] == D("129000.00")


def test_the_forecast_uses_few_queries(users, deals, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        fc.forecast(users["manager"], kind="month", today=TODAY, group_by="region")
