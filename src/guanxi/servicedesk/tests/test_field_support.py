"""Shared fixtures of the field-service and installed-equipment tests (imported by
test_field*.py, test_dispatch*.py and test_asset*.py; this module has no tests)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.accounts.models import ApiToken, Role
from guanxi.servicedesk.models import Queue, TicketType
from guanxi.servicedesk.services import ticket_create
from guanxi.testing.factories import ContactFactory, CustomerFactory, UserFactory

DAY = dt.date(2030, 4, 17)  # a Wednesday


def at(day: dt.date, h: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(h, minute)))


@dataclass
class FieldWorld:
    a: Any  # rep's customer in Shanghai
    b: Any  # rep2's customer in Chongqing
    pool: Any  # a pool customer (no owner): every rep sees it
    contact: Any
    tech_east: Any  # service agent in Shanghai, engineering member
    tech_west: Any  # service agent in Chongqing, engineering member
    field_rep: Any  # an engineering member with the rep role (not a dispatcher)
    engineering: Any
    fault: Any  # the equipment-fault ticket type


@pytest.fixture
def fw(users, org) -> FieldWorld:
    engineering = Queue.objects.get(code="engineering")
    tech_east = UserFactory(username="tech_east", display_name="张工", role=Role.SERVICE,
                            team=org["shanghai"])
    tech_west = UserFactory(username="tech_west", display_name="李工", role=Role.SERVICE,
                            team=org["chongqing"])
    field_rep = UserFactory(username="field_rep", display_name="王工", role=Role.REP,
                            team=org["hangzhou"])
    engineering.members.add(tech_east, tech_west, field_rep)
    a = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                        province="上海市", city="上海", district="浦东新区",
                        street="张江路 88 号", phone="+862165321234")
    b = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"],
                        city="重庆", street="渝北区金开大道 1 号")
    pool = CustomerFactory(name="杭州公海客户", owner=None, team=org["hangzhou"], city="杭州",
                           street="西湖区文三路 5 号")
    contact = ContactFactory(customer=a, name="王经理", mobile="+8613800138000")
    return FieldWorld(a=a, b=b, pool=pool, contact=contact, tech_east=tech_east,
                      tech_west=tech_west, field_rep=field_rep, engineering=engineering,
                      fault=TicketType.objects.get(code="equipment_fault"))


def open_ticket(actor, customer, fw: FieldWorld, subject: str = "水泵停机", **kw):
    return ticket_create(actor=actor, customer=customer, type=fw.fault, subject=subject,
                         description=kw.pop("description", "泵房二号泵无法启动"), **kw)


class ApiClient:
    """Token client sending JSON bodies."""

    def __init__(self, user):
        _token, key = ApiToken.issue(user=user, name="test")
        self.client = Client(headers={"Authorization": f"Bearer {key}"})

    def get(self, url: str, params: dict | None = None):
        return self.client.get(url, params or {})

    def _send(self, method: str, url: str, body: Any):
        return getattr(self.client, method)(url, data=json.dumps(body),
                                            content_type="application/json")

    def post(self, url: str, body: Any = None):
        return self._send("post", url, body if body is not None else {})

    def patch(self, url: str, body: Any):
        return self._send("patch", url, body)

    def delete(self, url: str):
        return self.client.delete(url)
