"""Sales targets: who may set them, upsert and audit, normalised periods, attainment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.core.models import AuditEntry
from guanxi.sales import targets as tg
from guanxi.sales.models import Opportunity, OpportunityStatus, SalesTarget, Stage
from guanxi.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_set_upserts_normalises_the_period_and_audits(users):
    t = tg.target_set(actor=users["director"], user=users["rep"], period_kind="quarter",
                      period_start=dt.date(2025, 5, 17), amount="120000")
    assert t.period_start == dt.date(2025, 4, 1) and t.amount == D("120000.00")
    again = tg.target_set(actor=users["director"], user=users["rep"], period_kind="quarter",
                          period_start=dt.date(2025, 6, 30), amount=D("150000"))
    assert again.pk == t.pk and SalesTarget.objects.count() == 1
    again.refresh_from_db()
    assert again.amount == D("150000.00")
    actions = list(AuditEntry.objects.filter(model="sales.salestarget", object_id=t.pk)
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["create", "update"]
    last = AuditEntry.objects.filter(model="sales.salestarget").order_by("id").last()
    assert last.changes["amount"] == ["120000.00", "150000.00"]
    tg.target_delete(actor=users["director"], target=again)
    assert not SalesTarget.objects.exists()
    assert AuditEntry.objects.filter(model="sales.salestarget", action="delete").exists()


@pytest.mark.parametrize("role", ["rep", "service", "marketing", "finance", "readonly"])
def test_roles_without_the_right_cannot_set_targets(users, role):
    with pytest.raises(PermissionDenied):
        tg.target_set(actor=users[role], user=users["rep"], period_start=dt.date(2025, 5, 1),
                      amount=1000)
    assert not SalesTarget.objects.exists()


def test_managers_set_targets_within_their_subtree_only(users, org):
    assert tg.target_set(actor=users["manager"], user=users["rep"],
                         period_start=dt.date(2025, 5, 1), amount=1000)
    assert tg.target_set(actor=users["manager"], team=org["hangzhou"],
                         period_start=dt.date(2025, 5, 1), amount=1000)
    with pytest.raises(PermissionDenied):  # 重庆 is in the West
        tg.target_set(actor=users["manager"], user=users["rep2"],
                      period_start=dt.date(2025, 5, 1), amount=1000)
    with pytest.raises(PermissionDenied):
        tg.target_set(actor=users["manager"], team=org["west"],
                      period_start=dt.date(2025, 5, 1), amount=1000)
    t = SalesTarget.objects.create(user=users["rep2"], period_start=dt.date(2025, 5, 1),
                                   amount=5)
    with pytest.raises(PermissionDenied):
        tg.target_delete(actor=users["manager"], target=t)
    assert SalesTarget.objects.count() == 3


def test_invalid_targets_are_refused_with_field_errors(users, org):
    with pytest.raises(ValidationError) as exc:
        tg.target_set(actor=users["admin"], user=users["rep"], team=org["east"],
                      period_start=dt.date(2025, 5, 1), amount=-5)
    assert set(exc.value.message_dict) == {"user", "amount"}
    with pytest.raises(ValidationError) as exc:
        tg.target_set(actor=users["admin"], user=users["service"],
                      period_start=dt.date(2025, 5, 1), amount=5)
    assert "user" in exc.value.message_dict
    assert not SalesTarget.objects.exists()


def test_visibility_of_targets(users, org):
    mine = SalesTarget.objects.create(user=users["rep"], period_start=dt.date(2025, 5, 1),
                                      amount=1)
    team = SalesTarget.objects.create(team=org["shanghai"], period_start=dt.date(2025, 5, 1),
                                      amount=1)
    other = SalesTarget.objects.create(user=users["rep2"], period_start=dt.date(2025, 5, 1),
                                       amount=1)
    west = SalesTarget.objects.create(team=org["west"], period_start=dt.date(2025, 5, 1),
                                      amount=1)
    assert set(tg.targets_visible_to(users["rep"])) == {mine, team}
    assert set(tg.targets_visible_to(users["manager"])) == {mine, team}
    assert set(tg.targets_visible_to(users["finance"])) == {mine, team, other, west}


def test_attainment_counts_won_deals_in_the_period(users, org):
    won = Stage.objects.get(pipeline__is_default=True, name="赢单")
    c = CustomerFactory(owner=users["rep"], team=org["shanghai"])
    other_rep = UserFactory(role="rep", team=org["hangzhou"])
    for owner, team, amount, day, rate in [
        (users["rep"], org["shanghai"], "40000", dt.date(2025, 5, 3), "1"),
        (users["rep"], org["shanghai"], "1000", dt.date(2025, 5, 30), "7.2"),
        (users["rep"], org["shanghai"], "99999", dt.date(2025, 6, 1), "1"),  # next month
        (other_rep, org["hangzhou"], "20000", dt.date(2025, 5, 9), "1"),
    ]:
        Opportunity.objects.create(customer=c, name="x", pipeline=won.pipeline, stage=won,
                                   status=OpportunityStatus.WON, owner=owner, team=team,
                                   amount=D(amount), exchange_rate=D(rate), closed_on=day)
    t = tg.target_set(actor=users["admin"], user=users["rep"], period_start=dt.date(2025, 5, 1),
                      amount=D("94400"))
    att = tg.attainment(t, viewer=users["director"])
    assert att.won == D("47200.00") and att.percent == pytest.approx(50.0)
    region = tg.target_set(actor=users["admin"], team=org["east"], period_kind="quarter",
                           period_start=dt.date(2025, 4, 1), amount=D("334398"))
    assert tg.attainment(region, viewer=users["director"]).won == D("167199.00")
    assert tg.attainment(region, viewer=users["director"]).percent == pytest.approx(50.0)
