"""The interaction list page: visibility, filters, paging, export links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.testing.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

URL = "/activities/"


def subjects(response) -> list[str]:
    return [i.subject for i in response.context["page"].object_list]


def at(day: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 3, day, hour))


@pytest.fixture
def log(users, org):
    mine = CustomerFactory(name="我的客户", owner=users["rep"], team=org["shanghai"])
    theirs = CustomerFactory(name="别人的客户", owner=users["rep2"], team=org["chongqing"])
    pool = CustomerFactory(name="公海客户", owner=None)
    InteractionFactory(customer=mine, subject="三月一日电话", kind="call", occurred_at=at(1),
                       created_by=users["rep"])
    InteractionFactory(customer=mine, subject="三月五日拜访", kind="visit", occurred_at=at(5, 23),
                       created_by=users["manager"])
    InteractionFactory(customer=pool, subject="公海备注", kind="note", occurred_at=at(9),
                       created_by=users["rep"])
    InteractionFactory(customer=theirs, subject="别人的拜访", kind="visit", occurred_at=at(3),
                       created_by=users["rep2"])
    return {"mine": mine, "theirs": theirs, "pool": pool}


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_rep_sees_own_and_pool_customers_newest_first(client, users, log):
    client.force_login(users["rep"])
    response = client.get(URL)
    assert response.status_code == 200
    assert subjects(response) == ["公海备注", "三月五日拜访", "三月一日电话"]
    content = response.content.decode()
    assert f'href="/customers/{log["mine"].pk}/"' in content
    assert 'href="/export/interactions.csv"' in content


def test_director_sees_everything(client, users, log):
    client.force_login(users["director"])
    assert len(subjects(client.get(URL))) == 4


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "visit"}, ["三月五日拜访"]),
    ({"date_from": "2026-03-05", "date_to": "2026-03-05"}, ["三月五日拜访"]),
    ({"date_to": "2026-03-04"}, ["三月一日电话"]),
    ({"date_from": "2026-03-02"}, ["公海备注", "三月五日拜访"]),
    ({"created_by": "me"}, ["公海备注", "三月一日电话"]),
    ({"date_from": "not a date"}, ["公海备注", "三月五日拜访", "三月一日电话"]),
])
def test_filters(client, users, log, params, expected):
    client.force_login(users["rep"])
    assert subjects(client.get(URL, params)) == expected


def test_customer_filter(client, users, log):
    client.force_login(users["rep"])
    response = client.get(URL, {"customer": log["mine"].pk, "kind": "call"})
    assert subjects(response) == ["三月一日电话"]
    content = response.content.decode()
    assert "我的客户" in content
    assert f"/export/interactions.xlsx?customer={log['mine'].pk}&amp;kind=call" in content
    hidden = client.get(URL, {"customer": log["theirs"].pk})
    assert subjects(hidden) == [] and hidden.context["customer"] is None


def test_paging(client, users, log, settings):
    settings.GUANXI_PAGE_SIZE = 2
    client.force_login(users["rep"])
    first, second = client.get(URL), client.get(URL, {"page": 2})
    assert subjects(first) == ["公海备注", "三月五日拜访"] and first.context["page"].has_next
    assert subjects(second) == ["三月一日电话"] and not second.context["page"].has_next
