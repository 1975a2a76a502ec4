"""Fixtures of the API tests: token clients per role and a small world of records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.accounts.models import ApiToken
from guanxi.parties.services import refresh_search_text
from guanxi.testing.factories import ContactFactory, CustomerFactory, InteractionFactory


class ApiClient:
    """A test client that sends a personal access token and JSON bodies."""

    def __init__(self, key: str | None = None, client: Client | None = None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = client or Client(headers=headers)

    def _send(self, method: str, url: str, body: Any = None, **extra: Any):
        kwargs: dict[str, Any] = dict(extra)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(url, **kwargs)

    def get(self, url: str, params: dict | None = None, **extra: Any):
        return self.client.get(url, params or {}, **extra)

    def post(self, url: str, body: Any = None, **extra: Any):
        return self._send("post", url, body, **extra)

    def put(self, url: str, body: Any = None, **extra: Any):
        return self._send("put", url, body, **extra)

    def patch(self, url: str, body: Any = None, **extra: Any):
        return self._send("patch", url, body, **extra)

    def delete(self, url: str, **extra: Any):
        return self.client.delete(url, **extra)

    def request(self, method: str, url: str, body: Any = None):
        if method in ("get", "delete"):
            return getattr(self, method)(url)
        return getattr(self, method)(url, body)


@pytest.fixture
def api(users):
    """api("rep") → an ApiClient authenticated with a fresh token of that user."""

    def make(role: str) -> ApiClient:
        _token, key = ApiToken.issue(user=users[role], name=f"test {role}")
        return ApiClient(key)

    return make


@dataclass
class World:
    customers: dict[str, Any]
    contacts: dict[str, Any]
    interactions: dict[str, Any]


@pytest.fixture
def world(users, org) -> World:
    """A: rep's customer in Shanghai (East region); B: rep2's in Chongqing; P: the pool.

    Each has a contact and an interaction (logged by its owner; the pool's by the director).
    """
    a = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"], tier="A",
                        stage="customer", phone="+862165321234")
    b = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"], tier="B",
                        stage="prospect", city="重庆")
    p = CustomerFactory(name="杭州公海客户", owner=None, team=None, tier="C", stage="lead",
                        city="杭州")
    customers = {"A": a, "B": b, "P": p}
    contacts = {k: ContactFactory(customer=c, name=f"联系人{k}", mobile="+8613800138000")
                for k, c in customers.items()}
    for c in customers.values():
        # CustomerFactory's own index hook is undone by factory_boy's final save.
        refresh_search_text(c)
    loggers = {"A": users["rep"], "B": users["rep2"], "P": users["director"]}
    interactions = {k: InteractionFactory(customer=c, created_by=loggers[k], subject=f"电话{k}")
                    for k, c in customers.items()}
    return World(customers, contacts, interactions)
