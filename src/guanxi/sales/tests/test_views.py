"""Opportunity pages: list filters and totals in 元, saved views, detail, create, edit,
move form, delete, the customer-page panel, and who may see or change what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from guanxi.core.models import SavedView
from guanxi.sales import saved_views
from guanxi.sales.models import Opportunity, ProductLine, Stage, StageChange
from guanxi.sales.services import opportunity_create, opportunity_update
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db
PW = "pw-Guanxi-123"


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def deals(users):
    """Two deals of the Shanghai rep (one in US dollars) and one of the Chongqing rep."""
    rep, rep2 = users["rep"], users["rep2"]
    mine = CustomerFactory(name="上海清源水务集团", owner=rep, team=rep.team)
    theirs = CustomerFactory(name="重庆兴瑞环保有限公司", owner=rep2, team=rep2.team)
    water = ProductLine.objects.create(code="water", name="水处理")
    a = opportunity_create(actor=rep, customer=mine, name="反渗透设备", amount=Decimal(100000),
                           expected_close=dt.date(2030, 3, 1), product_line=water)
    b = opportunity_create(actor=rep, customer=mine, name="进口膜组件", amount=Decimal(1000),
                           currency="USD", exchange_rate=Decimal("7.2"), probability=50,
                           expected_close=dt.date(2030, 6, 1))
    c = opportunity_create(actor=rep2, customer=theirs, name="加药装置", amount=Decimal(5000))
    return {"a": a, "b": b, "c": c, "mine": mine, "theirs": theirs, "water": water}


def login(client, user):
    client.force_login(user)
    return client


def names(response) -> set[str]:
    return {d.name for d in response.context["page"].object_list}


def test_list_shows_only_visible_deals_with_totals_in_yuan(client, users, deals):
    r = login(client, users["rep"]).get(reverse("sales:list"))
    assert r.status_code == 200
    assert names(r) == {"反渗透设备", "进口膜组件"}
    totals = r.context["totals"]
    assert totals["count"] == 2
    # 100 000 元 + 1 000 USD × 7.2 = 107 200 元
    assert totals["amount"] == Decimal("107200.00")
    # weighted: 100 000 × 10 % (stage) + 7 200 × 50 % (hand-set) = 13 600
    assert totals["weighted"] == Decimal("13600.00")
    assert "107,200.00" in r.content.decode()


def test_director_sees_all_and_filters_narrow_the_totals(client, users, deals):
    c = login(client, users["director"])
    assert names(c.get(reverse("sales:list"))) == {"反渗透设备", "进口膜组件", "加药装置"}
    r = c.get(reverse("sales:list"), {"amount_min": "6000"})
    assert names(r) == {"反渗透设备", "进口膜组件"}  # 7 200 元 counts, not 1 000
    r = c.get(reverse("sales:list"), {"product_line": deals["water"].pk})
    assert names(r) == {"反渗透设备"} and r.context["totals"]["amount"] == Decimal("100000.00")
    r = c.get(reverse("sales:list"), {"owner": users["rep2"].pk})
    assert names(r) == {"加药装置"}
    r = c.get(reverse("sales:list"), {"q": "兴瑞"})  # the customer's name
    assert names(r) == {"加药装置"}
    r = c.get(reverse("sales:list"), {"close_from": "2030-04-01", "close_to": "2030-12-31"})
    assert names(r) == {"进口膜组件"}
    r = c.get(reverse("sales:list"), {"team": users["rep"].team.parent_id})  # 华东区 subtree
    assert names(r) == {"反渗透设备", "进口膜组件"}
    r = c.get(reverse("sales:list"), {"customer": deals["theirs"].pk})
    assert names(r) == {"加药装置"}
    r = c.get(reverse("sales:list"), {"status": "won"})
    assert names(r) == set() and r.context["totals"]["count"] == 0
    r = c.get(reverse("sales:list"), {"stage": stage("初步接洽").pk, "sort": "amount"})
    assert [d.name for d in r.context["page"].object_list] == ["加药装置", "进口膜组件", "反渗透设备"]
    r = c.get(reverse("sales:list"), {"sort": "-amount"})
    assert next(d.name for d in r.context["page"].object_list) == "反渗透设备"


def test_htmx_request_gets_the_results_fragment(client, users, deals):
    r = login(client, users["rep"]).get(reverse("sales:list"), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "<html" not in body and "反渗透设备" in body and 'id="opp-totals"' in body


def test_saved_views_own_and_shared(client, users, deals):
    c = login(client, users["rep"])
    r = c.post(reverse("sales:view_save"), {"name": "我的大单", "query": "amount_min=6000&page=3",
                                             "shared": ""})
    assert r.status_code == 302
    mine = SavedView.objects.get(name="我的大单")
    assert mine.user == users["rep"] and mine.page == "opportunities"
    assert mine.query == "amount_min=6000" and not mine.shared
    c.post(reverse("sales:view_save"), {"name": "本季度", "query": "status=open",
                                         "shared": "on"})
    shared = SavedView.objects.get(name="本季度")
    assert shared.shared
    # The menu: the owner sees both; a colleague sees only the shared one.
    r = c.get(reverse("sales:list"))
    assert {v.name for v in r.context["saved_views"]} == {"我的大单", "本季度"}
    other = login(client, users["rep2"])
    r = other.get(reverse("sales:list"))
    assert {v.name for v in r.context["saved_views"]} == {"本季度"}
    # A colleague cannot delete either: not visible → 404, shared → 403.
    assert other.post(reverse("sales:view_delete", args=[mine.pk])).status_code == 404
    assert other.post(reverse("sales:view_delete", args=[shared.pk])).status_code == 403
    assert SavedView.objects.count() == 2
    with pytest.raises(PermissionDenied):
        saved_views.delete_view(user=users["rep2"], view=shared)
    c = login(client, users["rep"])
    assert c.post(reverse("sales:view_delete", args=[mine.pk])).status_code == 302
    assert not SavedView.objects.filter(pk=mine.pk).exists()


def test_picking_a_saved_view_applies_its_filters(client, users, deals):
    view = saved_views.save_view(user=users["rep"], name="大单", query="amount_min=6000")
    r = login(client, users["rep"]).get(f"{reverse('sales:list')}?{view.query}&view={view.pk}")
    assert names(r) == {"反渗透设备", "进口膜组件"} and r.context["current_view"] == view.pk


def test_detail_shows_fields_history_and_score(client, users, deals):
    deal = deals["b"]
    Opportunity.objects.filter(pk=deal.pk).update(score=0.42, score_reasons=["拜访次数多"])
    r = login(client, users["rep"]).get(reverse("sales:detail", args=[deal.pk]))
    body = r.content.decode()
    assert r.status_code == 200
    assert "进口膜组件" in body and "7,200.00" in body and "USD" in body
    assert "42%" in body and "拜访次数多" in body
    assert "50%" in body  # the hand-set probability
    assert len(r.context["history"]) == 1 and r.context["history"][0].to_stage.name == "初步接洽"
    assert f"opportunity={deal.pk}" in r.context["log_url"]
    r = client.get(reverse("sales:detail", args=[deals["a"].pk]))
    assert r.context["score_pct"] is None and 'id="deal-score">—' in r.content.decode()


def test_invisible_deal_is_404_everywhere(client, users, deals):
    c = login(client, users["rep2"])
    pk = deals["a"].pk
    for name in ("sales:detail", "sales:edit", "sales:move"):
        assert c.get(reverse(name, args=[pk])).status_code == 404
    assert c.post(reverse("sales:delete", args=[pk])).status_code == 404


def test_create_from_a_customer_page(client, users, deals):
    c = login(client, users["rep"])
    customer = deals["mine"]
    r = c.get(reverse("sales:create"), {"customer": customer.pk})
    assert r.status_code == 200 and customer.name in r.content.decode()
    r = c.post(reverse("sales:create"), {
        "customer": customer.pk, "name": "超滤系统", "amount": "20000", "currency": "EUR",
        "exchange_rate": "7.8", "expected_close": "2030-01-15", "competitors": "某某环保",
        "next_step": "技术交流"})
    deal = Opportunity.objects.get(name="超滤系统")
    assert r.status_code == 302 and r["Location"] == reverse("sales:detail", args=[deal.pk])
    assert deal.amount_cny == Decimal("156000.00") and deal.owner == users["rep"]
    assert deal.stage.name == "初步接洽"
    # A currency of 元 always has the rate 1.
    c.post(reverse("sales:create"), {"customer": customer.pk, "name": "配件", "amount": "10",
                                     "currency": "CNY", "exchange_rate": "9"})
    assert Opportunity.objects.get(name="配件").exchange_rate == 1
    # A foreign currency needs a rate; nothing is created without one.
    r = c.post(reverse("sales:create"), {"customer": customer.pk, "name": "缺汇率",
                                         "amount": "10", "currency": "USD", "exchange_rate": ""})
    assert r.status_code == 200 and "exchange_rate" in r.context["form"].errors
    assert not Opportunity.objects.filter(name="缺汇率").exists()


def test_create_from_the_list_picks_a_customer_first(client, users, deals):
    c = login(client, users["rep"])
    r = c.get(reverse("sales:create"), {"q": "清源"})
    assert [x.name for x in r.context["results"]] == ["上海清源水务集团"]
    r = c.get(reverse("sales:create"), {"q": "兴瑞"})  # rep2's customer: not visible
    assert r.context["results"] == []
    assert c.get(reverse("sales:create"), {"customer": deals["theirs"].pk}).status_code == 404
    # A pool customer is visible but must be claimed before a deal is opened on it.
    pool = CustomerFactory(name="公海客户", owner=None)
    r = c.post(reverse("sales:create"), {"customer": pool.pk, "name": "x", "currency": "CNY"})
    assert r.status_code == 403


def test_readonly_cannot_create(client, users, deals):
    c = login(client, users["readonly"])
    assert c.get(reverse("sales:create")).status_code == 403
    assert c.get(reverse("sales:list")).status_code == 200


def test_edit_with_version_conflict(client, users, deals):
    deal = deals["a"]
    c = login(client, users["rep"])
    form = {"name": "反渗透设备（二期）", "amount": "120000", "currency": "CNY",
            "exchange_rate": "1", "version": deal.version}
    opportunity_update(actor=users["manager"], opportunity=deal, version=deal.version,
                       next_step="经理改的")
    r = c.post(reverse("sales:edit", args=[deal.pk]), form)
    assert r.status_code == 200 and r.context["conflict"]
    assert "经理改的" in r.content.decode()
    deal.refresh_from_db()
    assert deal.name == "反渗透设备" and deal.version == 2
    form["version"] = r.context["version"]
    r = c.post(reverse("sales:edit", args=[deal.pk]), form)
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.name == "反渗透设备（二期）" and deal.amount == Decimal(120000)


def test_other_rep_and_readonly_cannot_edit(client, users, deals):
    assert login(client, users["readonly"]).get(
        reverse("sales:edit", args=[deals["a"].pk])).status_code == 403
    # The manager of 华东区 may edit the Shanghai rep's deal.
    assert login(client, users["manager"]).get(
        reverse("sales:edit", args=[deals["a"].pk])).status_code == 200


def test_move_form_shows_what_is_missing_and_then_moves(client, users, deals):
    deal = deals["a"]
    c = login(client, users["rep"])
    target = stage("方案报价")
    r = c.post(reverse("sales:move", args=[deal.pk]), {"stage": target.pk,
                                                       "version": deal.version})
    assert r.status_code == 422
    missing = r.context["missing"]
    assert len(missing) == 1 and ("拜访" in missing[0] or "visit" in missing[0])
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"
    r = c.post(reverse("sales:move", args=[deal.pk]), {"stage": stage("需求确认").pk,
                                                       "version": deal.version})
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.name == "需求确认"
    # Lost with a reason shows on the page.
    r = c.post(reverse("sales:move", args=[deal.pk]), {
        "stage": stage("输单").pk, "version": deal.version, "lost_reason": "价格高于竞品"})
    assert r.status_code == 302
    r = c.get(reverse("sales:detail", args=[deal.pk]))
    assert "价格高于竞品" in r.content.decode()
    assert [h.to_stage.name for h in r.context["history"]] == ["初步接洽", "需求确认", "输单"]


def test_delete(client, users, deals):
    deal = deals["a"]
    assert login(client, users["rep2"]).post(
        reverse("sales:delete", args=[deals["c"].pk])).status_code == 302
    r = login(client, users["readonly"]).post(reverse("sales:delete", args=[deal.pk]))
    assert r.status_code == 403
    r = login(client, users["rep"]).post(reverse("sales:delete", args=[deal.pk]))
    assert r.status_code == 302
    assert not Opportunity.objects.filter(pk=deal.pk).exists()
    assert StageChange.objects.filter(opportunity_id=deal.pk).exists()  # history kept


def test_customer_page_panel_lists_deals_with_a_new_link(client, users, deals):
    r = login(client, users["rep"]).get(deals["mine"].get_absolute_url())
    body = r.content.decode()
    assert "反渗透设备" in body and "进口膜组件" in body
    assert f"{reverse('sales:create')}?customer={deals['mine'].pk}" in body
    assert "panel-opportunities" in body
    r = login(client, users["readonly"]).get(deals["mine"].get_absolute_url())
    body = r.content.decode()
    assert "反渗透设备" in body and 'id="new-opportunity"' not in body
