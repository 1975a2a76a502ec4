"""Lead pages: list with filters, detail, create/edit, status actions, conversion, and
the web-form admin page; 404 for leads a user can't see, 403 for refused writes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guanxi.parties.models import Customer
from guanxi.sales import leads as svc
from guanxi.sales.models import Lead, LeadForm, LeadStatus, Opportunity
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def leads(users, org):
    return {
        "mine": svc.lead_create(actor=users["rep"], company="重庆兴瑞环保有限公司", name="张伟",
                                phone="13800138000", source="website"),
        "theirs": svc.lead_create(actor=users["rep2"], company="成都天府电子", name="王芳",
                                  phone="13900139000", source="exhibition"),
        "pool": svc.lead_create(actor=users["marketing"], company="杭州绿源科技", name="李雷",
                                team=org["hangzhou"], source="website"),
    }


def test_list_scoped_and_filtered(client, users, leads):
    login(client, users["rep"])
    response = client.get(reverse("leads:list"))
    assert response.status_code == 200
    shown = set(response.context["page"].object_list)
    assert shown == {leads["mine"], leads["pool"]}
    assert response.context["all_count"] == 2
    assert set(client.get(reverse("leads:list"), {"scope": "pool"})
               .context["page"].object_list) == {leads["pool"]}
    assert set(client.get(reverse("leads:list"), {"q": "兴瑞"})
               .context["page"].object_list) == {leads["mine"]}
    assert set(client.get(reverse("leads:list"), {"q": "8000"})
               .context["page"].object_list) == {leads["mine"]}
    svc.lead_qualify(actor=users["rep"], lead=leads["mine"])
    response = client.get(reverse("leads:list"), {"status": "qualified"})
    assert list(response.context["page"].object_list) == [leads["mine"]]
    assert {v: n for v, _l, n in response.context["status_counts"]}["qualified"] == 1


def test_list_fragment_for_htmx(client, users, leads):
    login(client, users["director"])
    response = client.get(reverse("leads:list"), HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "sales/leads/partials/results.html"
    assert len(response.context["page"].object_list) == 3


def test_detail_404_for_invisible_lead(client, users, leads):
    login(client, users["rep"])
    assert client.get(reverse("leads:detail", args=[leads["theirs"].pk])).status_code == 404
    assert client.get(reverse("leads:edit", args=[leads["theirs"].pk])).status_code == 404
    assert client.post(reverse("leads:qualify", args=[leads["theirs"].pk])).status_code == 404
    assert client.get(reverse("leads:convert", args=[leads["theirs"].pk])).status_code == 404
    assert client.get(reverse("leads:detail", args=[leads["mine"].pk])).status_code == 200


def test_rep_gets_403_on_pool_lead_writes(client, users, leads):
    login(client, users["rep"])
    pk = leads["pool"].pk
    assert client.get(reverse("leads:detail", args=[pk])).status_code == 200
    assert client.get(reverse("leads:edit", args=[pk])).status_code == 403
    assert client.post(reverse("leads:qualify", args=[pk])).status_code == 403
    assert client.get(reverse("leads:convert", args=[pk])).status_code == 403
    assert client.post(reverse("leads:delete", args=[pk])).status_code == 403
    assert Lead.objects.get(pk=pk).status == LeadStatus.NEW


def test_pool_lead_offers_claim_when_pool_urls_exist(client, users, leads):
    from django.urls import NoReverseMatch

    login(client, users["rep"])
    content = client.get(reverse("leads:detail", args=[leads["pool"].pk])).content.decode()
    try:
        claim = reverse("pools:claim_lead", args=[leads["pool"].pk])
    except NoReverseMatch:
        pytest.skip("the pool helper's URLs are not there yet")
    assert claim in content


@pytest.mark.parametrize("role", ["readonly", "service", "finance"])
def test_create_403_for_roles(client, users, role):
    login(client, users[role])
    assert client.get(reverse("leads:create")).status_code == 403
    assert client.post(reverse("leads:create"), {"company": "X"}).status_code == 403
    assert not Lead.objects.exists()


def test_create_and_edit(client, users):
    login(client, users["rep"])
    response = client.post(reverse("leads:create"), {
        "company": "重庆兴瑞环保有限公司", "name": "张伟", "phone": "138-0013-8000",
        "email": "bad-mail", "source": "website"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    response = client.post(reverse("leads:create"), {
        "company": "重庆兴瑞环保有限公司", "name": "张伟", "phone": "138-0013-8000",
        "source": "website"})
    lead = Lead.objects.get()
    assert response.status_code == 302 and response.url == reverse("leads:detail",
                                                                   args=[lead.pk])
    assert lead.owner == users["rep"] and lead.phone == "+8613800138000"
    response = client.post(reverse("leads:edit", args=[lead.pk]), {
        "company": "重庆兴瑞环保有限公司", "name": "张伟", "phone": "13800138000",
        "city": "重庆", "version": lead.version})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.city == "重庆" and lead.version == 2
    # A stale version shows the conflict instead of saving.
    response = client.post(reverse("leads:edit", args=[lead.pk]), {
        "company": "别的", "name": "张伟", "version": 1})
    assert response.status_code == 200 and response.context["conflict"]
    lead.refresh_from_db()
    assert lead.company == "重庆兴瑞环保有限公司"


def test_status_actions(client, users, leads):
    login(client, users["rep"])
    pk = leads["mine"].pk
    client.post(reverse("leads:disqualify", args=[pk]), {"unqualified_reason": ""})
    assert Lead.objects.get(pk=pk).status == LeadStatus.NEW
    client.post(reverse("leads:disqualify", args=[pk]), {"unqualified_reason": "没有预算"})
    assert Lead.objects.get(pk=pk).status == LeadStatus.UNQUALIFIED
    client.post(reverse("leads:reopen", args=[pk]))
    assert Lead.objects.get(pk=pk).status == LeadStatus.WORKING
    client.post(reverse("leads:qualify", args=[pk]))
    assert Lead.objects.get(pk=pk).status == LeadStatus.QUALIFIED
    assert client.get(reverse("leads:qualify", args=[pk])).status_code == 405


def test_detail_shows_duplicates_and_convert_attaches(client, users, org, leads):
    existing = CustomerFactory(name="重慶興瑞環保有限公司", name_key="重庆兴瑞环保",
                               owner=users["rep"], team=org["shanghai"])
    login(client, users["rep"])
    pk = leads["mine"].pk
    detail = client.get(reverse("leads:detail", args=[pk]))
    assert [d["customer"] for d in detail.context["duplicates"]] == [existing]
    page = client.get(reverse("leads:convert", args=[pk]))
    assert page.status_code == 200
    assert page.context["form"].initial["target"] == str(existing.pk)
    assert page.context["form"].initial["opp_name"] == "重庆兴瑞环保有限公司"
    response = client.post(reverse("leads:convert", args=[pk]), {
        "target": str(existing.pk), "create_opportunity": "on", "opp_name": "设备采购",
        "opp_amount": "120000", "version": leads["mine"].version})
    assert response.status_code == 302 and response.url == existing.get_absolute_url()
    lead = Lead.objects.get(pk=pk)
    assert lead.status == LeadStatus.CONVERTED and lead.converted_customer == existing
    assert Customer.objects.count() == 1
    opp = Opportunity.objects.get()
    assert (opp.name, opp.amount, opp.customer) == ("设备采购", 120000, existing)


def test_convert_creates_new_customer(client, users, leads):
    login(client, users["rep"])
    pk = leads["mine"].pk
    response = client.post(reverse("leads:convert", args=[pk]), {
        "target": "new", "opp_name": "", "version": 1})
    assert response.status_code == 302
    assert Customer.objects.get().name == "重庆兴瑞环保有限公司"
    assert not Opportunity.objects.exists()  # the box was not ticked


def test_convert_requires_opportunity_name(client, users, leads):
    login(client, users["rep"])
    response = client.post(reverse("leads:convert", args=[leads["mine"].pk]), {
        "target": "new", "create_opportunity": "on", "opp_name": " ", "version": 1})
    assert response.status_code == 200 and "opp_name" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_web_form_admin(client, users, org):
    login(client, users["rep"])
    assert client.get(reverse("leads:forms")).status_code == 403
    assert client.post(reverse("leads:form_create"), {"name": "x", "key": "x"}).status_code == 403
    login(client, users["marketing"])
    response = client.post(reverse("leads:form_create"), {
        "name": "官网咨询", "key": "site", "source": "website", "campaign": "春季",
        "team": org["shanghai"].pk, "rate_limit_per_hour": 5, "active": "on"})
    assert response.status_code == 302
    form = LeadForm.objects.get()
    assert (form.key, form.team) == ("site", org["shanghai"])
    page = client.get(reverse("leads:forms"))
    snippet = page.context["rows"][0]["snippet"]
    assert snippet.startswith("<iframe") and "/f/site/" in snippet
    assert "&lt;iframe" in page.content.decode()  # shown escaped, to copy
    dup = client.post(reverse("leads:form_create"), {
        "name": "另一个", "key": "site", "source": "website", "rate_limit_per_hour": 5})
    assert dup.status_code == 200 and "key" in dup.context["form"].errors
    response = client.post(reverse("leads:form_edit", args=[form.pk]), {
        "name": "官网咨询", "key": "site", "source": "website", "rate_limit_per_hour": 9})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.rate_limit_per_hour == 9 and not form.active
