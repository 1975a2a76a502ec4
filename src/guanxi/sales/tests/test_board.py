"""The pipeline board: columns with counts and totals, capped cards, filters, and the
move endpoint the drag-and-drop script calls (gates, conflicts, permissions)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.services import interaction_create
from guanxi.sales import selectors
from guanxi.sales.models import Opportunity, Stage, StageChange
from guanxi.sales.services import opportunity_create, opportunity_move
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def deals(users):
    rep, rep2 = users["rep"], users["rep2"]
    mine = CustomerFactory(name="上海清源水务集团", owner=rep, team=rep.team)
    theirs = CustomerFactory(name="重庆兴瑞环保有限公司", owner=rep2, team=rep2.team)
    a = opportunity_create(actor=rep, customer=mine, name="反渗透设备", amount=Decimal(0))
    b = opportunity_create(actor=rep, customer=mine, name="进口膜组件", amount=Decimal(1000),
                           currency="USD", exchange_rate=Decimal("7.2"),
                           expected_close=dt.date(2030, 1, 1))
    opportunity_move(actor=rep, opportunity=b, stage=stage("需求确认"))
    c = opportunity_create(actor=rep2, customer=theirs, name="加药装置", amount=Decimal(5000))
    return {"a": a, "b": b, "c": c, "mine": mine, "theirs": theirs}


def columns(response) -> dict[str, tuple[int, Decimal, list[str]]]:
    return {col.stage.name: (col.count, col.amount, [d.name for d in col.cards])
            for col in response.context["columns"]}


def move(client, deal, stage_name, **extra):
    deal.refresh_from_db()
    data = {"stage": stage(stage_name).pk, "version": deal.version, **extra}
    return client.post(reverse("sales:move", args=[deal.pk]), data, **JSON)


def test_board_renders_every_stage_with_counts_and_amounts(client, users, deals):
    client.force_login(users["director"])
    r = client.get(reverse("sales:board"))
    assert r.status_code == 200
    cols = columns(r)
    assert list(cols) == ["初步接洽", "需求确认", "现场勘查", "方案报价", "商务谈判", "赢单", "输单"]
    assert cols["初步接洽"][0] == 2 and cols["初步接洽"][1] == Decimal("5000.00")
    assert cols["需求确认"] == (1, Decimal("7200.00"), ["进口膜组件"])
    assert cols["赢单"][0] == 0
    body = r.content.decode()
    assert f'data-stage="{stage("方案报价").pk}"' in body and 'draggable="true"' in body
    # Card links are built from a prefix: they must be the routes' own addresses.
    deal = deals["a"]
    assert f'href="{reverse("sales:detail", args=[deal.pk])}"' in body
    assert f'data-move-url="{reverse("sales:move", args=[deal.pk])}"' in body
    assert f'action="{reverse("sales:move", args=[deal.pk])}"' in body


def test_board_is_scoped_and_filtered(client, users, deals):
    client.force_login(users["rep"])
    cols = columns(client.get(reverse("sales:board")))
    assert cols["初步接洽"][2] == ["反渗透设备"]  # not rep2's deal
    client.force_login(users["director"])
    cols = columns(client.get(reverse("sales:board"), {"owner": users["rep2"].pk}))
    assert cols["初步接洽"] == (1, Decimal("5000.00"), ["加药装置"]) and cols["需求确认"][0] == 0
    cols = columns(client.get(reverse("sales:board"), {"q": "膜"}))
    assert sum(c[0] for c in cols.values()) == 1
    r = client.get(reverse("sales:board"), {"owner": "me"}, HTTP_HX_REQUEST="true")
    assert "<html" not in r.content.decode() and sum(c[0] for c in columns(r).values()) == 0


def test_board_caps_cards_and_links_to_the_list(client, users, deals):
    for i in range(4):
        opportunity_create(actor=users["rep"], customer=deals["mine"], name=f"批量{i}")
    data = {"owner": str(users["rep"].pk)}
    pipeline = selectors.board_pipeline()
    cols = selectors.board_columns(users["director"], pipeline, data, cap=3)
    first = cols[0]
    assert first.count == 5 and len(first.cards) == 3 and first.more == 2
    client.force_login(users["director"])
    r = client.get(reverse("sales:board"), data)
    first = r.context["columns"][0]
    assert f"stage={first.stage.pk}" in first.more_url and f"owner={users['rep'].pk}" in \
        first.more_url


def test_board_query_count_does_not_grow_with_cards(client, users, deals):
    for i in range(30):
        opportunity_create(actor=users["rep"], customer=deals["mine"], name=f"批量{i}")
    client.force_login(users["director"])
    with CaptureQueriesContext(connection) as q1:
        client.get(reverse("sales:board"))
    for i in range(30):
        opportunity_create(actor=users["rep"], customer=deals["mine"], name=f"再来{i}")
    with CaptureQueriesContext(connection) as q2:
        r = client.get(reverse("sales:board"))
    assert len(q2) == len(q1)
    assert len(r.context["columns"][0].cards) == selectors.BOARD_CAP


def test_old_closed_deals_leave_the_board(client, users, deals):
    deal = opportunity_move(actor=users["rep2"], opportunity=deals["c"], stage=stage("输单"),
                            lost_reason="预算取消")
    client.force_login(users["director"])
    assert columns(client.get(reverse("sales:board")))["输单"][0] == 1
    Opportunity.objects.filter(pk=deal.pk).update(
        closed_on=timezone.localdate() - dt.timedelta(days=selectors.BOARD_CLOSED_DAYS + 1))
    assert columns(client.get(reverse("sales:board")))["输单"][0] == 0


def test_gated_move_answers_422_with_the_missing_items_and_changes_nothing(client, users,
                                                                           deals):
    deal = deals["a"]
    client.force_login(users["rep"])
    r = move(client, deal, "方案报价", board_query="")
    assert r.status_code == 422
    data = json.loads(r.content)
    assert data["stage"] == "方案报价" and len(data["missing"]) == 2
    assert any("拜访" in m or "visit" in m for m in data["missing"])
    assert any("金额" in m or "amount" in m for m in data["missing"])
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽" and deal.version == 1
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_allowed_move_goes_through_and_returns_the_fresh_board(client, users, deals):
    deal = deals["b"]  # has an amount
    interaction_create(actor=users["rep"], customer=deals["mine"], kind="visit",
                       subject="现场拜访", occurred_at=timezone.now())
    client.force_login(users["rep"])
    r = move(client, deal, "方案报价", board_query=f"owner={users['rep'].pk}")
    assert r.status_code == 200
    body = r.content.decode()
    assert "<html" not in body and f'id="deal-{deal.pk}"' in body
    cols = columns(r)
    assert cols["方案报价"] == (1, Decimal("7200.00"), ["进口膜组件"]) and cols["需求确认"][0] == 0
    deal.refresh_from_db()
    assert deal.stage.name == "方案报价"
    last = StageChange.objects.filter(opportunity=deal).last()
    assert last.from_stage.name == "需求确认" and last.to_stage.name == "方案报价"
    assert last.by == users["rep"]


def test_stale_version_is_409(client, users, deals):
    deal = deals["a"]
    client.force_login(users["rep"])
    r = client.post(reverse("sales:move", args=[deal.pk]),
                    {"stage": stage("现场勘查").pk, "version": 99}, **JSON)
    assert r.status_code == 409
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"


def test_moving_to_lost_needs_a_reason(client, users, deals):
    client.force_login(users["rep"])
    r = move(client, deals["a"], "输单")
    assert r.status_code == 422 and json.loads(r.content)["missing"]
    r = move(client, deals["a"], "输单", lost_reason="价格")
    assert r.status_code == 200
    deals["a"].refresh_from_db()
    assert deals["a"].status == "lost" and deals["a"].lost_reason == "价格"


def test_permissions_of_the_move_endpoint(client, users, deals):
    # Invisible: 404.
    client.force_login(users["rep2"])
    assert move(client, deals["a"], "现场勘查").status_code == 404
    # A rep sees a colleague's deal on a shared customer but may not move it: 403.
    deals["mine"].shared_with.add(users["rep2"])
    r = move(client, deals["a"], "现场勘查")
    assert r.status_code == 403
    # Read-only: sees the board, cards are not draggable, and a move is refused.
    client.force_login(users["readonly"])
    r = client.get(reverse("sales:board"))
    assert r.status_code == 200 and "反渗透设备" in r.content.decode()
    assert 'draggable="true"' not in r.content.decode() and "card-move" not in \
        r.content.decode()
    assert move(client, deals["a"], "现场勘查").status_code == 403
    assert client.post(reverse("sales:move", args=[deals["a"].pk]),
                       {"stage": stage("现场勘查").pk}).status_code == 403
    deals["a"].refresh_from_db()
    assert deals["a"].stage.name == "初步接洽" and deals["a"].version == 1


def test_no_js_move_select_redirects_back_to_the_board(client, users, deals):
    client.force_login(users["rep"])
    deal = deals["a"]
    nxt = reverse("sales:board") + "?owner=me"
    r = client.post(reverse("sales:move", args=[deal.pk]),
                    {"stage": stage("现场勘查").pk, "version": 1, "next": nxt})
    assert r.status_code == 302 and r["Location"] == nxt
    r = client.post(reverse("sales:move", args=[deal.pk]),
                    {"stage": stage("方案报价").pk, "version": 2, "next": nxt})
    assert r.status_code == 422 and len(r.context["missing"]) == 2
    assert "gate-missing" in r.content.decode()
