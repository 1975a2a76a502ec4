import re

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.accounts.models import ApiToken
from guanxi.core.models import AuditEntry

from .conftest import ApiClient


@pytest.fixture
def browser(users):
    c = Client()
    c.force_login(users["rep"])
    return c


@pytest.mark.django_db
def test_login_required(db):
    resp = Client().get(reverse("api:tokens"))
    assert resp.status_code == 302 and "/login/" in resp["Location"]


@pytest.mark.django_db
def test_create_shows_the_key_once_and_audits(browser, users):
    resp = browser.post(reverse("api:tokens"), {"name": "ERP 同步"})
    assert resp.status_code == 200
    html = resp.content.decode()
    key = re.search(r'value="(gx_[^"]+)"', html).group(1)
    token = ApiToken.objects.get(user=users["rep"])
    assert token.key_hash == ApiToken.hash(key) and token.name == "ERP 同步"
    assert resp["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(model="accounts.apitoken", object_id=token.pk)
    assert entry.action == "create" and entry.actor == users["rep"]
    assert key not in str(entry.changes) and key not in entry.object_repr
    page = browser.get(reverse("api:tokens")).content.decode()
    assert key not in page and token.prefix in page and "ERP 同步" in page
    assert ApiClient(key).get("/api/v1/me").json()["username"] == "rep"


@pytest.mark.django_db
def test_blank_name_is_an_error(browser):
    resp = browser.post(reverse("api:tokens"), {"name": "  "})
    assert resp.status_code == 422 and ApiToken.objects.count() == 0
    assert "errorlist" in resp.content.decode()


@pytest.mark.django_db
def test_revoke_refuses_the_token_and_audits(browser, users):
    token, key = ApiToken.issue(user=users["rep"], name="old")
    resp = browser.post(reverse("api:token_revoke", args=[token.pk]))
    assert resp.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiClient(key).get("/api/v1/me").status_code == 401
    entry = AuditEntry.objects.get(model="accounts.apitoken", object_id=token.pk)
    assert entry.action == "update" and "revoked_at" in entry.changes
    assert "revoked" in browser.get(reverse("api:tokens")).content.decode()


@pytest.mark.django_db
def test_cannot_revoke_someone_elses_token(browser, users):
    token, key = ApiToken.issue(user=users["rep2"], name="theirs")
    assert browser.post(reverse("api:token_revoke", args=[token.pk])).status_code == 404
    assert browser.get(reverse("api:token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None and AuditEntry.objects.count() == 0
    assert "theirs" not in browser.get(reverse("api:tokens")).content.decode()


@pytest.mark.django_db
def test_revoke_needs_csrf(users):
    token, _key = ApiToken.issue(user=users["rep"], name="old")
    c = Client(enforce_csrf_checks=True)
    c.force_login(users["rep"])
    assert c.post(reverse("api:token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
