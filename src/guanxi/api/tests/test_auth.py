import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.parties.models import Customer

from .conftest import ApiClient

ME = "/api/v1/me"


@pytest.mark.django_db
def test_token_auth_and_last_used(users):
    token, key = ApiToken.issue(user=users["rep"], name="cli")
    c = ApiClient(key)
    resp = c.get(ME)
    assert resp.status_code == 200 and resp.json()["username"] == "rep"
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    c.get(ME)
    token.refresh_from_db()
    assert token.last_used_at == first  # at most once a minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    c.get(ME)
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(seconds=1)


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer gx_wrong", "Bearer ", "Token gx_x", "Basic eDp5"])
def test_missing_or_bad_credentials_are_401(header):
    c = Client(headers={"Authorization": header} if header else {})
    resp = c.get(ME)
    assert resp.status_code == 401
    assert "detail" in resp.json() and resp["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_revoked_token_and_inactive_user_are_refused(users):
    token, key = ApiToken.issue(user=users["rep"], name="old")
    assert ApiClient(key).get(ME).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert ApiClient(key).get(ME).status_code == 401
    _t2, key2 = ApiToken.issue(user=users["rep2"], name="x")
    users["rep2"].is_active = False
    users["rep2"].save()
    assert ApiClient(key2).get(ME).status_code == 401


@pytest.mark.django_db
def test_session_auth_reads_and_writes_with_csrf(users, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(users["rep"])
    assert browser.get(ME).json()["username"] == "rep"
    # Without the CSRF token an unsafe request is refused and writes nothing.
    before = Customer.all_objects.count()
    c = ApiClient(client=browser)
    resp = c.post("/api/v1/customers", {"name": "无令牌"})
    assert resp.status_code == 403
    a = world.customers["A"]
    resp = c.patch(f"/api/v1/customers/{a.pk}", {"version": 1, "city": "苏州"})
    assert resp.status_code == 403
    assert c.delete(f"/api/v1/customers/{a.pk}").status_code == 403
    a.refresh_from_db()
    assert a.city == "上海" and a.version == 1 and a.deleted_at is None
    assert Customer.all_objects.count() == before
    # With the token (cookie + header, as a page or Swagger UI sends it) it works.
    browser.get("/api/tokens/")
    csrf = browser.cookies["csrftoken"].value
    resp = c.post("/api/v1/customers", {"name": "有令牌"}, HTTP_X_CSRFTOKEN=csrf)
    assert resp.status_code == 201, resp.content
    resp = c.patch(f"/api/v1/customers/{a.pk}", {"version": 1, "city": "苏州"},
                   HTTP_X_CSRFTOKEN=csrf)
    assert resp.status_code == 200 and resp.json()["city"] == "苏州"


@pytest.mark.django_db
def test_token_request_needs_no_csrf(users):
    _t, key = ApiToken.issue(user=users["rep"], name="cli")
    headers = {"Authorization": f"Bearer {key}"}
    c = ApiClient(client=Client(enforce_csrf_checks=True, headers=headers))
    assert c.post("/api/v1/customers", {"name": "脚本客户"}).status_code == 201


@pytest.mark.django_db
def test_session_of_anonymous_is_401_not_csrf(db):
    c = ApiClient(client=Client(enforce_csrf_checks=True))
    assert c.post("/api/v1/customers", {"name": "x"}).status_code == 401
