"""Sales set-up: product lines, products, pipelines and stage rules (administrators)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.sales import setup_services as svc
from guanxi.sales.models import Pipeline, Product, ProductLine, Stage, StageKind
from guanxi.sales.services import StageGateError, opportunity_create, opportunity_move
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def default() -> Pipeline:
    return Pipeline.objects.get(is_default=True)


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def orders(pipeline: Pipeline) -> list[tuple[str, int]]:
    return list(pipeline.stages.order_by("order").values_list("name", "order"))


# ---------------------------------------------------------------- stage rules in the UI


def test_admin_edits_stage_rules_and_opportunity_move_honours_them(client, users):
    rep = users["rep"]
    customer = CustomerFactory(team=rep.team, owner=rep)
    deal = opportunity_create(actor=rep, customer=customer, name="冷水机组",
                              amount=Decimal(100000))
    target = stage("现场勘查")
    assert target.required_fields == [] and target.required_activities == []

    client.force_login(users["admin"])
    r = client.post(reverse("salessetup:stage_edit", args=[target.pk]), {
        "name": "现场勘查", "kind": "open", "probability": 40,
        "required_fields": ["competitors"], "required_activities": ["meeting"]})
    assert r.status_code == 302
    target.refresh_from_db()
    assert target.required_fields == ["competitors"]
    assert target.required_activities == ["meeting"]
    entry = AuditEntry.objects.get(model="sales.stage", object_id=target.pk)
    assert entry.action == AuditAction.UPDATE and entry.actor == users["admin"]
    assert entry.changes["required_fields"] == [[], ["competitors"]]

    with pytest.raises(StageGateError) as exc:
        opportunity_move(actor=rep, opportunity=deal, stage=target)
    assert exc.value.missing == ["fill in “competitors”", "log a meeting with the customer"]
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"


def test_the_stage_form_offers_requirable_fields_and_activity_kinds(client, users):
    client.force_login(users["admin"])
    html = client.get(reverse("salessetup:stage_edit", args=[stage("方案报价").pk])).content.decode()
    assert 'value="expected_close"' in html and 'value="complaint"' in html
    assert "Expected close date" in html
    # The current rules (amount, visit) are ticked, the others not.
    assert re.search(r'name="required_fields" value="amount"[^>]*checked', html)
    assert re.search(r'name="required_activities" value="visit"[^>]*checked', html)
    assert not re.search(r'name="required_activities" value="call"[^>]*checked', html)


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("role", ["director", "manager", "rep", "readonly"])
def test_non_admins_get_403(client, users, role):
    client.force_login(users[role])
    target = stage("现场勘查")
    assert client.get(reverse("salessetup:index")).status_code == 403
    assert client.get(reverse("salessetup:pipeline", args=[default().pk])).status_code == 403
    r = client.post(reverse("salessetup:stage_edit", args=[target.pk]), {
        "name": "改名", "kind": "open", "probability": 40, "required_fields": ["amount"]})
    assert r.status_code == 403
    assert client.post(reverse("salessetup:stage_delete", args=[target.pk])).status_code == 403
    target.refresh_from_db()
    assert target.name == "现场勘查" and target.required_fields == []
    with pytest.raises(PermissionDenied):
        svc.stage_update(actor=users[role], stage=target, name="改名")
    assert not AuditEntry.objects.exists()


def test_admin_pages_render(client, users):
    client.force_login(users["admin"])
    line = svc.product_line_save(actor=users["admin"], code="water", name="水处理")
    svc.product_save(actor=users["admin"], product_line=line, code="RO-1", name="反渗透设备")
    assert client.get(reverse("salessetup:index")).status_code == 200
    assert client.get(reverse("salessetup:pipeline", args=[default().pk])).status_code == 200
    assert client.get(reverse("salessetup:pipeline_create")).status_code == 200
    assert client.get(reverse("salessetup:product_edit",
                              args=[Product.objects.get().pk])).status_code == 200


# ---------------------------------------------------------------- reorder, add, delete


def test_reorder_keeps_a_unique_order(client, users):
    client.force_login(users["admin"])
    p = default()
    third = stage("现场勘查")
    client.post(reverse("salessetup:stage_move", args=[third.pk]), {"direction": "up"})
    names = [n for n, _ in orders(p)]
    assert names[:3] == ["初步接洽", "现场勘查", "需求确认"]
    got = [o for _, o in orders(p)]
    assert len(set(got)) == len(got) == 7 and got == sorted(got)
    client.post(reverse("salessetup:stage_move", args=[third.pk]), {"direction": "down"})
    assert [n for n, _ in orders(p)][:3] == ["初步接洽", "需求确认", "现场勘查"]
    first = stage("初步接洽")
    client.post(reverse("salessetup:stage_move", args=[first.pk]), {"direction": "up"})
    assert orders(p)[0][0] == "初步接洽"  # already first: nothing moves
    assert AuditEntry.objects.filter(model="sales.pipeline").count() == 2


def test_an_added_open_stage_goes_before_the_closed_ones(users):
    p = default()
    svc.stage_add(actor=users["admin"], pipeline=p, name="样机试用", kind=StageKind.OPEN,
                  probability=70, required_fields=["amount"], required_activities=[])
    names = [n for n, _ in orders(p)]
    assert names[-3:] == ["样机试用", "赢单", "输单"]
    got = [o for _, o in orders(p)]
    assert len(set(got)) == len(got)
    assert AuditEntry.objects.filter(model="sales.stage", action=AuditAction.CREATE).count() == 1


def test_deleting_a_used_stage_is_refused(client, users):
    rep = users["rep"]
    customer = CustomerFactory(team=rep.team, owner=rep)
    opportunity_create(actor=rep, customer=customer, name="设备")
    used = stage("初步接洽")
    client.force_login(users["admin"])
    r = client.post(reverse("salessetup:stage_delete", args=[used.pk]), follow=True)
    msgs = [str(m) for m in r.context["messages"]]
    assert msgs and "cannot be deleted" in msgs[0]
    assert Stage.objects.filter(pk=used.pk).exists()
    assert not AuditEntry.objects.filter(model="sales.stage").exists()

    unused = stage("现场勘查")
    client.post(reverse("salessetup:stage_delete", args=[unused.pk]))
    assert not Stage.objects.filter(pk=unused.pk).exists()
    assert AuditEntry.objects.get(model="sales.stage", object_id=unused.pk).action == "delete"


# ---------------------------------------------------------------- pipeline validity


def test_a_pipeline_must_be_complete_before_it_is_active(users):
    admin = users["admin"]
    line = svc.product_line_save(actor=admin, code="air", name="空气净化")
    with pytest.raises(ValidationError):  # an empty pipeline cannot start active
        svc.pipeline_save(actor=admin, name="净化设备流程", product_line=line, active=True)
    assert not Pipeline.objects.filter(name="净化设备流程").exists()
    p = svc.pipeline_save(actor=admin, name="净化设备流程", product_line=line, is_default=False)
    assert p.active is False
    with pytest.raises(ValidationError) as exc:
        svc.pipeline_save(actor=admin, pipeline=p, active=True)
    assert set(exc.value.messages) == {"A pipeline needs at least one open stage.",
                                       "A pipeline needs exactly one won stage.",
                                       "A pipeline needs at least one lost stage."}
    svc.stage_add(actor=admin, pipeline=p, name="接洽", kind=StageKind.OPEN, probability=10)
    svc.stage_add(actor=admin, pipeline=p, name="赢单", kind=StageKind.WON, probability=100)
    svc.stage_add(actor=admin, pipeline=p, name="输单", kind=StageKind.LOST, probability=0)
    p = svc.pipeline_save(actor=admin, pipeline=p, active=True)
    assert p.active
    won = p.stages.get(kind=StageKind.WON)
    with pytest.raises(ValidationError):  # an active pipeline keeps its won stage
        svc.stage_delete(actor=admin, stage=won)
    with pytest.raises(ValidationError):  # and exactly one
        svc.stage_add(actor=admin, pipeline=p, name="二次赢单", kind=StageKind.WON)
    assert p.stages.count() == 3


def test_pipeline_copy_and_default_flag(client, users):
    client.force_login(users["admin"])
    r = client.post(reverse("salessetup:pipeline_create"), {
        "name": "复制流程", "copy_from": default().pk, "is_default": "on", "active": "on"})
    new = Pipeline.objects.get(name="复制流程")
    assert r.status_code == 302 and new.active and new.is_default
    assert new.stages.count() == 7
    assert Pipeline.objects.filter(is_default=True).count() == 1
    with pytest.raises(ValidationError):  # the default cannot be switched off
        svc.pipeline_save(actor=users["admin"], pipeline=new, active=False)


def test_product_line_deactivate_via_ui(client, users):
    line = ProductLine.objects.create(code="water", name="水处理")
    client.force_login(users["admin"])
    client.post(reverse("salessetup:product_line_toggle", args=[line.pk]))
    line.refresh_from_db()
    assert line.active is False
    assert AuditEntry.objects.get(model="sales.productline").changes == {"active": [True, False]}


def test_adding_a_second_won_stage_in_the_ui_says_why(client, users):
    client.force_login(users["admin"])
    r = client.post(reverse("salessetup:stage_add", args=[default().pk]), {
        "new-name": "再次赢单", "new-kind": "won", "new-probability": 100})
    assert r.status_code == 400
    assert "A pipeline needs exactly one won stage." in r.content.decode()
    assert not Stage.objects.filter(name="再次赢单").exists()
    assert not AuditEntry.objects.exists()
