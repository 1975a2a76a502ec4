"""The public, embeddable web form /f/<key>/: honeypot, signed timestamp, rate limit,
closed forms, framing, and the lead it creates."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from guanxi.sales.models import Lead, LeadForm, Pool
from guanxi.sales.views_leadform import make_token, token_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def leadform(org):
    return LeadForm.objects.create(name="官网咨询", key="site", source="website",
                                   campaign="2025春季", team=org["shanghai"],
                                   thank_you="谢谢，我们会尽快联系您。", rate_limit_per_hour=3)


def url(form) -> str:
    return reverse("leadform:public", args=[form.key])


def payload(form, *, age: float = 10, **kw) -> dict:
    data = {"company": "重庆兴瑞环保有限公司", "name": "张伟", "phone": "138 0013 8000",
            "email": "", "city": "重庆", "message": "想了解污水处理设备", "consent": "on",
            "website_url": "", "token": make_token(form, time.time() - age)}
    data.update(kw)
    return data


def test_get_is_embeddable_and_not_csrf_protected(client, leadform):
    response = client.get(url(leadform))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert b'name="website_url"' in response.content
    assert b'name="token"' in response.content
    # Other pages still refuse to be framed.
    assert client.get(reverse("login")).headers.get("X-Frame-Options") == "DENY"


def test_valid_submission_creates_lead(org, leadform):
    from django.test import Client

    pool = Pool.objects.create(name="华东公海", team=org["east"])
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")
    response = client.post(url(leadform), payload(leadform))
    assert response.status_code == 200
    assert "谢谢，我们会尽快联系您。" in response.content.decode()
    assert "X-Frame-Options" not in response.headers
    lead = Lead.objects.get()
    assert (lead.company, lead.phone, lead.source, lead.campaign) == (
        "重庆兴瑞环保有限公司", "+8613800138000", "website", "2025春季")
    assert (lead.form, lead.team, lead.owner, lead.pool) == (leadform, org["shanghai"], None,
                                                             pool)
    assert lead.consent and str(lead.submitted_ip) == "203.0.113.7"
    assert lead.description == "想了解污水处理设备"


def test_form_owner_gets_the_lead(users, leadform):
    leadform.owner = users["rep"]
    leadform.save()
    assert leadform_post(leadform).status_code == 200
    assert Lead.objects.get().owner == users["rep"]


def leadform_post(form, **kw):
    from django.test import Client

    return Client().post(url(form), payload(form, **kw))


def test_honeypot_creates_nothing(leadform):
    response = leadform_post(leadform, website_url="http://spam.example")
    assert response.status_code == 200  # the bot is told all went well
    assert not Lead.all_objects.exists()


def test_too_fast_is_refused(leadform):
    response = leadform_post(leadform, age=0.5)
    assert response.status_code == 400
    assert not Lead.all_objects.exists()


def test_too_old_is_refused(leadform):
    response = leadform_post(leadform, age=2 * 24 * 3600)
    assert response.status_code == 400
    assert not Lead.all_objects.exists()


def test_forged_or_foreign_token_is_refused(leadform):
    other = LeadForm.objects.create(name="展会", key="expo")
    assert leadform_post(leadform, token="abc").status_code == 400
    assert leadform_post(leadform, token=make_token(other, time.time() - 10)).status_code == 400
    assert not Lead.all_objects.exists()
    assert token_problem(leadform, make_token(leadform, time.time() - 10)) == ""


def test_rate_limit_per_address(leadform, client):
    for i in range(3):
        response = client.post(url(leadform), payload(leadform, phone=f"1390013900{i}"))
        assert response.status_code == 200
    response = client.post(url(leadform), payload(leadform, phone="13900139009"))
    assert response.status_code == 429
    assert "sales/leadform/limited.html" in [t.name for t in response.templates]
    assert Lead.objects.count() == 3
    # Another address is not affected.
    from django.test import Client

    other = Client(REMOTE_ADDR="198.51.100.1")
    assert other.post(url(leadform), payload(leadform, phone="13700137000")).status_code == 200
    assert Lead.objects.count() == 4


def test_invalid_input_shows_errors(leadform):
    response = leadform_post(leadform, phone="", email="", consent="")
    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"phone", "consent"}
    assert not Lead.all_objects.exists()


def test_inactive_or_unknown_form_is_404(client, leadform):
    leadform.active = False
    leadform.save()
    assert client.get(url(leadform)).status_code == 404
    assert client.post(url(leadform), payload(leadform)).status_code == 404
    assert client.get("/f/nope/").status_code == 404
    assert not Lead.all_objects.exists()
