"""Opportunities: create, stage gates with exact messages, history, won/lost, permissions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.activities.services import interaction_create
from guanxi.core.concurrency import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.core.registry import timeline_page
from guanxi.sales.models import OpportunityStatus, Pipeline, Stage, StageChange
from guanxi.sales.services import (StageGateError, opportunity_create, opportunity_move,
                                   opportunity_update)
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


@pytest.fixture
def customer(users):
    return CustomerFactory(name="重庆兴瑞环保有限公司", owner=users["rep"],
                           team=users["rep"].team)


def test_the_default_pipeline_exists_with_gated_stages():
    p = Pipeline.objects.get(is_default=True)
    names = list(p.stages.values_list("name", flat=True))
    assert names[0] == "初步接洽" and names[-2:] == ["赢单", "输单"]
    assert stage("方案报价").required_activities == ["visit"]


def test_create_starts_in_the_first_stage_with_history_and_audit(users, customer):
    deal = opportunity_create(actor=users["rep"], customer=customer, name="反渗透设备",
                              amount=Decimal("380000"))
    assert deal.stage.name == "初步接洽" and deal.status == OpportunityStatus.OPEN
    assert deal.owner == users["rep"] and deal.team == users["rep"].team
    assert deal.win_probability == 10 and deal.amount_cny == Decimal("380000.00")
    assert StageChange.objects.get(opportunity=deal).from_stage is None
    assert AuditEntry.objects.filter(object_id=deal.pk, model="sales.opportunity",
                                     action="create").exists()


def test_a_gated_stage_says_exactly_what_is_missing(users, customer):
    deal = opportunity_create(actor=users["rep"], customer=customer, name="反渗透设备")
    with pytest.raises(StageGateError) as exc:
        opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("方案报价"))
    assert len(exc.value.missing) == 2
    assert "amount" in exc.value.missing[0] or "金额" in exc.value.missing[0]
    assert "visit" in exc.value.missing[1] or "拜访" in exc.value.missing[1]
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽" and deal.version == 1  # nothing written
    deal = opportunity_update(actor=users["rep"], opportunity=deal, version=1,
                              amount=Decimal("380000"))
    with pytest.raises(StageGateError) as exc:
        opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("方案报价"))
    assert len(exc.value.missing) == 1
    interaction_create(actor=users["rep"], customer=customer, kind="visit",
                       subject="现场勘查", occurred_at=timezone.now())
    deal = opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("方案报价"))
    assert deal.stage.name == "方案报价" and deal.win_probability == 60
    history = list(StageChange.objects.filter(opportunity=deal).values_list(
        "to_stage__name", flat=True))
    assert history == ["初步接洽", "方案报价"]


def test_won_and_lost_close_the_deal_and_lost_needs_a_reason(users, customer):
    deal = opportunity_create(actor=users["rep"], customer=customer, name="加药装置",
                              amount=Decimal("50000"))
    with pytest.raises(StageGateError):
        opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("输单"))
    deal = opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("输单"),
                            lost_reason="价格高于竞品")
    assert deal.status == OpportunityStatus.LOST and deal.closed_on == timezone.localdate()
    deal = opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("初步接洽"))
    assert deal.status == OpportunityStatus.OPEN and deal.closed_on is None
    assert deal.lost_reason == ""
    deal = opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("赢单"))
    assert deal.status == OpportunityStatus.WON


def test_the_customer_timeline_shows_each_step(users, customer):
    deal = opportunity_create(actor=users["rep"], customer=customer, name="超滤系统",
                              expected_close=dt.date(2026, 12, 31))
    opportunity_move(actor=users["rep"], opportunity=deal, stage=stage("需求确认"))
    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds=["deal"])
    titles = [e.title for e in entries]
    assert len(titles) == 2 and "超滤系统" in titles[0] and "需求确认" in titles[0]


def test_permissions_and_conflicts(users, customer):
    with pytest.raises(PermissionDenied):
        opportunity_create(actor=users["rep2"], customer=customer, name="别人的")
    with pytest.raises(PermissionDenied):
        opportunity_create(actor=users["readonly"], customer=customer, name="只读")
    deal = opportunity_create(actor=users["rep"], customer=customer, name="我的")
    with pytest.raises(PermissionDenied):
        opportunity_update(actor=users["rep2"], opportunity=deal, version=1, name="改")
    opportunity_update(actor=users["manager"], opportunity=deal, version=1, next_step="报价")
    with pytest.raises(ConflictError):
        opportunity_update(actor=users["rep"], opportunity=deal, version=1, name="旧版本")
    with pytest.raises(ValidationError):
        opportunity_update(actor=users["rep"], opportunity=deal, version=2, name="  ")


def test_a_stage_of_another_pipeline_is_refused(users, customer):
    other = Pipeline.objects.create(name="备件")
    foreign = Stage.objects.create(pipeline=other, name="报价", order=1)
    deal = opportunity_create(actor=users["rep"], customer=customer, name="备件单")
    with pytest.raises(ValidationError):
        opportunity_move(actor=users["rep"], opportunity=deal, stage=foreign)
