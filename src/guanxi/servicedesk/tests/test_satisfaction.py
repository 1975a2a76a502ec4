"""NPS campaigns to a segment, NPS maths, satisfaction figures, panels and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.accounts.models import ApiToken
from guanxi.core.models import AuditEntry
from guanxi.parties.models import Tag
from guanxi.servicedesk import survey_services as svc
from guanxi.servicedesk import surveys
from guanxi.servicedesk.models import NpsCampaign, Queue, Survey, SurveyKind
from guanxi.testing.factories import ContactFactory, CustomerFactory

from .test_survey import make_ticket

PW = "pw-Guanxi-123"


# ---------------------------------------------------------------- NPS maths


@pytest.mark.parametrize("p,pa,d,expected", [
    (0, 0, 0, None),
    (10, 0, 0, 100),
    (0, 0, 10, -100),
    (5, 3, 2, 30),
    (1, 1, 1, 0),
    (2, 0, 1, 33),  # 66.7 − 33.3 = 33.3
    (1, 0, 2, -33),
    (1, 6, 0, 14),  # 14.29
    (1, 0, 0, 100),
    (3, 4, 1, 25),
    (1, 2, 5, -50),
    (1, 4, 3, -25),  # −25.0 exactly
    (0, 1, 1, -50),
])
def test_nps_formula(p, pa, d, expected):
    assert svc.nps(p, pa, d) == expected


@pytest.mark.django_db
def test_nps_counts_classify_scores(users):
    customer = CustomerFactory()
    campaign = NpsCampaign.objects.create(name="2025 Q2")
    for score in (10, 9, 9, 8, 7, 6, 0, None):
        s = surveys.create_survey(kind=SurveyKind.NPS, customer=customer, campaign=campaign,
                                  email="a@b.cn", expires_days=14)
        if score is not None:
            surveys.answer(survey=s, score=score)
    counts = svc.nps_counts(Survey.objects.filter(campaign=campaign))
    assert (counts.promoters, counts.passives, counts.detractors) == (3, 2, 2)
    assert (counts.answered, counts.sent, counts.response_rate) == (7, 8, 88)
    assert counts.score == 14  # (3 − 2) / 7 = 14.3 %
    dist = {d["score"]: d["count"] for d in svc.score_distribution(
        Survey.objects.filter(campaign=campaign))}
    assert dist[9] == 2 and dist[5] == 0 and len(dist) == 11


@pytest.mark.django_db
def test_nps_detractor_opens_a_task(users):
    customer = CustomerFactory(owner=users["rep"])
    s = surveys.create_survey(kind=SurveyKind.NPS, customer=customer, email="a@b.cn",
                              expires_days=14)
    surveys.answer(survey=s, score=6)
    s.refresh_from_db()
    assert s.follow_up_task is not None and s.follow_up_task.assignee == users["rep"]
    s2 = surveys.create_survey(kind=SurveyKind.NPS, customer=customer, email="a@b.cn",
                               expires_days=14)
    surveys.answer(survey=s2, score=7)
    s2.refresh_from_db()
    assert s2.follow_up_task is None
    with pytest.raises(ValidationError):
        surveys.answer(survey=s2, score=11)


# ---------------------------------------------------------------- campaigns


@pytest.fixture
def segment_data(users):
    """Tier-A customers: two reachable (contact with e-mail and consent; a person with
    consent), one whose contact declined e-mail, one without an address; one tier-B
    customer that is reachable."""
    vip = Tag.objects.create(name="VIP")
    a1 = CustomerFactory(name="甲公司", tier="A")
    ContactFactory(customer=a1, name="甲-次要", email="minor@a1.cn", consent_email=True)
    ContactFactory(customer=a1, name="甲-主要", email="main@a1.cn", consent_email=True,
                   is_primary=True)
    a2 = CustomerFactory(name="张三", tier="A", kind="person", email="zs@example.cn",
                         consent_email=True)
    a3 = CustomerFactory(name="丙公司", tier="A")
    ContactFactory(customer=a3, email="no@a3.cn", consent_email=False, is_primary=True)
    a4 = CustomerFactory(name="丁公司", tier="A")
    ContactFactory(customer=a4, email="", consent_email=True)
    b1 = CustomerFactory(name="乙公司", tier="B")
    ContactFactory(customer=b1, email="b@b1.cn", consent_email=True)
    a1.tags.add(vip)
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "b1": b1, "vip": vip}


@pytest.mark.django_db
def test_nps_goes_only_to_the_segment_with_consent(users, segment_data,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = svc.campaign_create(actor=users["marketing"], name="2025 客户推荐度",
                                       segment={"tier": "A"}, message="感谢您的支持")
    campaign.refresh_from_db()
    sent = Survey.objects.filter(campaign=campaign)
    assert {s.customer.name for s in sent} == {"甲公司", "张三"}
    assert sorted(m.to[0] for m in mail.outbox) == ["main@a1.cn", "zs@example.cn"]
    assert all(s.kind == "nps" for s in sent)
    assert sent.get(customer=segment_data["a1"]).contact.name == "甲-主要"
    assert "感谢您的支持" in mail.outbox[0].body and "?score=10" in mail.outbox[0].body
    assert campaign.sent_count == 2 and campaign.sent_at is not None
    assert campaign.job.status == "succeeded"
    assert campaign.job.result["skipped"] == 2
    assert AuditEntry.objects.filter(model="servicedesk.npscampaign").exists()
    # A second run finishes what is missing and sends nothing twice.
    svc.send_campaign(campaign)
    assert Survey.objects.filter(campaign=campaign).count() == 2 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_segment_by_tag_and_preview(users, segment_data, client):
    qs = svc.segment_queryset(users["marketing"], {"tag": str(segment_data["vip"].pk)})
    assert list(qs) == [segment_data["a1"]]
    client.login(username="marketing", password=PW)
    r = client.get("/service/satisfaction/nps/new/", {"preview": "1", "tier": "A"})
    html = r.content.decode()
    assert r.status_code == 200 and "4 customers in this segment" in html
    assert "2 can be e-mailed" in html


@pytest.mark.django_db
def test_campaign_form_sends(users, segment_data, client, django_capture_on_commit_callbacks):
    client.login(username="service", password=PW)
    assert client.get("/service/satisfaction/nps/new/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/service/satisfaction/nps/new/", {
            "name": "B 类客户", "message": "", "expires_days": "10", "tier": "B"})
    campaign = NpsCampaign.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/nps/{campaign.pk}/")
    assert campaign.segment == {"tier": "B"} and campaign.expires_days == 10
    assert [m.to for m in mail.outbox] == [["b@b1.cn"]]
    s = Survey.objects.get(campaign=campaign)
    assert s.expires_at - s.sent_at == dt.timedelta(days=10)
    surveys.answer(survey=s, score=10)
    r = client.get(f"/service/satisfaction/nps/{campaign.pk}/")
    html = r.content.decode()
    assert 'id="campaign-nps">100<' in html and 'id="campaign-promoters">1<' in html


@pytest.mark.django_db
def test_only_nps_senders_create_campaigns(users, client, segment_data):
    for role in ("rep", "manager", "finance", "readonly"):
        with pytest.raises(PermissionDenied):
            svc.campaign_create(actor=users[role], name="x", segment={})
    with pytest.raises(ValidationError) as exc:
        svc.campaign_create(actor=users["marketing"], name="", segment={"tier": "Z"})
    assert "name" in exc.value.message_dict and "segment.tier" in exc.value.message_dict
    assert not NpsCampaign.objects.exists()
    client.login(username="rep", password=PW)
    assert client.get("/service/satisfaction/nps/new/").status_code == 403
    assert client.post("/service/satisfaction/nps/new/",
                       {"name": "x", "expires_days": "5"}).status_code == 403
    assert client.get("/service/satisfaction/nps/").status_code == 403
    assert not NpsCampaign.objects.exists()


# ---------------------------------------------------------------- figures


@pytest.fixture
def answered(users):
    """CSAT answers: agent service (queue engineering) 5 and 3, agent admin (finance
    queue) 2, plus one unanswered survey of the service agent."""
    customer = CustomerFactory(owner=users["rep"])
    out = []
    for assignee, code, score in ((users["service"], "equipment_fault", 5),
                                  (users["service"], "equipment_fault", 3),
                                  (users["admin"], "payment", 2),
                                  (users["service"], "equipment_fault", None)):
        ticket = make_ticket(customer, assignee=assignee, type_code=code)
        s = surveys.on_resolved(ticket=ticket, actor=None)
        if score is not None:
            surveys.answer(survey=s, score=score, comment="慢" if score == 2 else "")
        out.append(s)
    return customer, out


@pytest.mark.django_db
def test_csat_rows_per_agent_and_queue(users, answered):
    rows = {r["label"]: r for r in svc.csat_rows(users["director"], group="agent")}
    service = rows[str(users["service"])]
    assert (service["sent"], service["answered"], service["average"],
            service["response_rate"]) == (3, 2, 4.0, 67)
    assert rows[str(users["admin"])]["average"] == 2.0 and rows[str(users["admin"])]["low"] == 1
    queues = {r["label"]: r for r in svc.csat_rows(users["director"], group="queue")}
    engineering = Queue.objects.get(code="engineering").name
    assert queues[engineering]["average"] == 4.0
    months = svc.csat_rows(users["director"], group="month")
    assert len(months) == 1 and months[0]["sent"] == 4
    totals = svc.csat_totals(users["director"])
    assert (totals["sent"], totals["answered"], totals["average"]) == (4, 3, 3.33)
    # Scoped: rep2 does not see the rep's customer.
    assert svc.csat_rows(users["rep2"], group="agent") == []


@pytest.mark.django_db
def test_figures_page(users, answered, client):
    client.login(username="director", password=PW)
    r = client.get("/service/satisfaction/")
    html = r.content.decode()
    assert r.status_code == 200 and 'id="csat-average">3.33<' in html
    assert str(users["service"]) in html and "csat-by-queue" in html
    client.logout()
    client.login(username="rep", password=PW)
    assert client.get("/service/satisfaction/").status_code == 403


@pytest.mark.django_db
def test_customer_panel_and_timeline(users, answered, client):
    customer, _surveys = answered
    data = svc.customer_satisfaction(users["rep"], customer)
    assert data["csat_count"] == 3 and data["csat_average"] == 3.33
    assert data["last_csat"].score == 2 and data["pending"] == 1
    assert [s.comment for s in data["comments"]] == ["慢"]
    client.login(username="rep", password=PW)
    html = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="satisfaction-panel"' in html and "3.3/5" in html
    assert 'id="cost-panel"' not in html  # a rep does not see service figures
    from guanxi.core.registry import timeline_page

    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"survey"})
    assert sorted(e.title.split()[1] for e in entries) == ["2/5", "3/5", "5/5"]
    client.logout()
    client.login(username="service", password=PW)
    html = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="cost-panel"' in html


# ---------------------------------------------------------------- API


@pytest.mark.django_db
def test_api_surveys_and_satisfaction(users, answered, client):
    customer, items = answered
    _t, key = ApiToken.issue(user=users["rep"], name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    r = client.get("/api/v1/surveys", {"customer": customer.pk, "answered": "true"}, **auth)
    assert r.status_code == 200 and r.json()["count"] == 3
    assert {i["score"] for i in r.json()["items"]} == {5, 3, 2}
    r = client.get("/api/v1/surveys", {"answered": "false", "kind": "csat"}, **auth)
    body = r.json()
    assert body["count"] == 1 and body["items"][0]["state"] == "open"
    assert body["items"][0]["link"].endswith(f"/s/{surveys.make_token(items[3])}/")
    r = client.get(f"/api/v1/customers/{customer.pk}/satisfaction", **auth)
    assert r.status_code == 200 and r.json()["csat_count"] == 3
    assert r.json()["last_csat"]["score"] == 2
    _t, key2 = ApiToken.issue(user=users["rep2"], name="t")
    auth2 = {"HTTP_AUTHORIZATION": f"Bearer {key2}"}
    assert client.get(f"/api/v1/customers/{customer.pk}/satisfaction",
                      **auth2).status_code == 404
    assert client.get("/api/v1/surveys", **auth2).json()["count"] == 0


@pytest.mark.django_db
def test_api_nps_campaigns(users, segment_data, client, django_capture_on_commit_callbacks):
    _t, key = ApiToken.issue(user=users["marketing"], name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/v1/nps-campaigns", {"name": "API 推荐度",
                                                  "segment": {"tier": "A"}},
                        content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    campaign_id = r.json()["id"]
    r = client.get(f"/api/v1/nps-campaigns/{campaign_id}", **auth)
    assert r.status_code == 200 and r.json()["sent_count"] == 2
    assert r.json()["results"]["sent"] == 2 and r.json()["results"]["nps"] is None
    r = client.post("/api/v1/nps-campaigns", {"name": "x", "segment": {"tier": "Q"}},
                    content_type="application/json", **auth)
    assert r.status_code == 422 and "segment.tier" in r.json()["errors"]
    _t, rep_key = ApiToken.issue(user=users["rep"], name="t")
    rep = {"HTTP_AUTHORIZATION": f"Bearer {rep_key}"}
    r = client.post("/api/v1/nps-campaigns", {"name": "x"}, content_type="application/json",
                    **rep)
    assert r.status_code == 403 and NpsCampaign.objects.count() == 1
    assert client.get(f"/api/v1/nps-campaigns/{campaign_id}", **rep).status_code == 403
