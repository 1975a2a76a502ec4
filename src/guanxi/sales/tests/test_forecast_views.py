"""The forecast and targets pages: who may open them, what they show, setting and
deleting targets through the form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.sales.models import Opportunity, OpportunityStatus, SalesTarget, Stage
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db
PW = "pw-Guanxi-123"


def login(client, user):
    assert client.login(username=user.username, password=PW)
    return client


@pytest.fixture
def deals(users, org):
    today = timezone.localdate()
    open_stage = Stage.objects.get(pipeline__is_default=True, name="现场勘查")
    won = Stage.objects.get(pipeline__is_default=True, name="赢单")
    mine = CustomerFactory(owner=users["rep"], team=org["shanghai"], name="<b>上海客户</b>")
    theirs = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    Opportunity.objects.create(customer=mine, name="mine", pipeline=open_stage.pipeline,
                               stage=open_stage, owner=users["rep"], team=org["shanghai"],
                               amount=Decimal(123456), expected_close=today)
    Opportunity.objects.create(customer=theirs, name="theirs", pipeline=open_stage.pipeline,
                               stage=open_stage, owner=users["rep2"], team=org["chongqing"],
                               amount=Decimal(987654), expected_close=today)
    Opportunity.objects.create(customer=mine, name="won", pipeline=won.pipeline, stage=won,
                               status=OpportunityStatus.WON, owner=users["rep"],
                               team=org["shanghai"], amount=Decimal(55555), closed_on=today)


@pytest.mark.parametrize("role", ["admin", "director", "manager", "rep", "finance"])
def test_the_forecast_renders_for_roles_with_access(client, users, deals, role):
    response = login(client, users[role]).get(reverse("forecast:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "forecast-table" in html
    assert "123,456" in html or "123456" in html or "123 456" in html
    sees_all = role in ("admin", "director", "finance")
    assert ("987,654" in html or "987654" in html) == sees_all


@pytest.mark.parametrize("role", ["service", "marketing", "readonly"])
def test_the_forecast_is_refused_to_other_roles(client, users, role):
    assert login(client, users[role]).get(reverse("forecast:overview")).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("forecast:overview"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_options_and_the_htmx_fragment(client, users, org, deals):
    login(client, users["director"])
    url = reverse("forecast:overview")
    response = client.get(url, {"period": "quarter", "group": "region", "start": "2025-04"})
    html = response.content.decode()
    assert response.status_code == 200 and "2025 Q2" in html and "2026 Q1" in html
    fragment = client.get(url, {"group": "team"}, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body and "上海办事处" in body
    # Garbage options fall back to the defaults instead of failing.
    assert client.get(url, {"period": "decade", "group": "x", "start": "nope"}).status_code == 200


def test_targets_page_access(client, users):
    url = reverse("forecast:targets")
    for role in ("admin", "director", "manager"):
        client.logout()
        assert login(client, users[role]).get(url).status_code == 200
    for role in ("rep", "rep2", "finance", "service", "readonly"):
        client.logout()
        assert login(client, users[role]).get(url).status_code == 403


def test_a_manager_sets_a_target_and_sees_attainment(client, users, org, deals):
    login(client, users["manager"])
    url = reverse("forecast:targets")
    month = timezone.localdate().strftime("%Y-%m")
    response = client.post(url, {"owner": f"u:{users['rep'].pk}", "period_kind": "month",
                                 "period_start": month, "amount": "111110"})
    assert response.status_code == 302
    target = SalesTarget.objects.get()
    assert target.user == users["rep"] and target.period_start.day == 1
    page = client.get(url).content.decode()
    assert "50%" in page  # 55,555 won of 111,110
    # The form only offers reps and teams of the manager's subtree.
    assert f"u:{users['rep2'].pk}" not in page and f"t:{org['west'].pk}" not in page
    refused = client.post(url, {"owner": f"u:{users['rep2'].pk}", "period_kind": "month",
                                "period_start": month, "amount": "1"})
    assert refused.status_code == 200 and SalesTarget.objects.count() == 1
    # Deleting: POST only.
    delete = reverse("forecast:target_delete", args=[target.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not SalesTarget.objects.exists()


def test_a_manager_cannot_delete_a_target_outside_the_subtree(client, users):
    other = SalesTarget.objects.create(user=users["rep2"], period_start=dt.date(2025, 5, 1),
                                       amount=Decimal(1))
    login(client, users["manager"])
    response = client.post(reverse("forecast:target_delete", args=[other.pk]))
    assert response.status_code == 404
    assert SalesTarget.objects.filter(pk=other.pk).exists()


def test_a_rep_cannot_post_targets(client, users):
    login(client, users["rep"])
    response = client.post(reverse("forecast:targets"), {
        "owner": f"u:{users['rep'].pk}", "period_kind": "month", "period_start": "2025-05",
        "amount": "1"})
    assert response.status_code == 403 and not SalesTarget.objects.exists()


def test_names_are_escaped_in_the_page(client, users, deals):
    users["rep"].display_name = "<b>Rep</b>"
    users["rep"].save()
    login(client, users["director"])
    html = client.get(reverse("forecast:overview"), {"group": "rep"}).content.decode()
    assert "&lt;b&gt;Rep&lt;/b&gt;" in html and "<b>Rep</b>" not in html
