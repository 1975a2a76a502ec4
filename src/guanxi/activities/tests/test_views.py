"""Interaction pages: quick log, full form, edit with conflicts, delete, follow-up done."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import Interaction
from guanxi.parties import services as party_services
from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def customer(users):
    return party_services.customer_create(actor=users["rep"], name="重庆兴瑞")


def test_quick_log_form_has_three_fields(client, users, customer):
    client.force_login(users["rep"])
    r = client.get(customer.get_absolute_url())
    form = r.context["quick_form"]
    html = r.content.decode()
    start = html.index('id="quick-log"')
    quick = html[start:html.index("</form>", start)]
    visible = {n for n in ("kind", "subject", "outcome", "direction", "channel", "body",
                           "occurred_at") if f'name="{n}"' in quick}
    assert visible == {"kind", "subject", "outcome"}
    assert form["kind"].value() == "call"


def test_quick_log_creates_an_interaction(client, users, customer):
    client.force_login(users["rep"])
    r = client.post(reverse("activities:log", args=[customer.pk]),
                    {"form": "quick", "kind": "call", "subject": "问了报价",
                     "outcome": "interested"})
    assert r.status_code == 302 and r["Location"] == customer.get_absolute_url()
    ix = Interaction.objects.get(customer=customer)
    assert (ix.kind, ix.subject, ix.outcome) == ("call", "问了报价", "interested")
    assert ix.created_by == users["rep"] and ix.direction == "out" and ix.channel == "phone"
    customer.refresh_from_db()
    assert customer.last_contact_at == ix.occurred_at


def test_quick_log_by_htmx_returns_timeline_and_fresh_form(client, users, customer):
    client.force_login(users["rep"])
    r = client.post(reverse("activities:log", args=[customer.pk]),
                    {"form": "quick", "kind": "visit", "subject": "上门拜访", "outcome": ""},
                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html
    assert 'id="timeline"' in html and "上门拜访" in html
    assert 'hx-swap-oob="true"' in html and "interaction-logged" in r["HX-Trigger-After-Settle"]
    assert '<dd id="last-contact" hx-swap-oob="true"><time' in html  # header refreshed
    assert Interaction.objects.filter(customer=customer, kind="visit").count() == 1


def test_quick_log_error_keeps_input_and_retargets(client, users, customer):
    client.force_login(users["rep"])
    r = client.post(reverse("activities:log", args=[customer.pk]),
                    {"form": "quick", "kind": "bogus", "subject": "我写的摘要"},
                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    assert r["HX-Retarget"] == "#quick-log" and r["HX-Reswap"] == "outerHTML"
    html = r.content.decode()
    assert "我写的摘要" in html and "errorlist" in html
    assert not Interaction.objects.exists()


def test_full_form_logs_every_detail(client, users, customer):
    contact = party_services.contact_create(actor=users["rep"], customer=customer, name="王经理")
    client.force_login(users["rep"])
    url = reverse("activities:log", args=[customer.pk])
    r = client.get(url, {"subject": "带过来的摘要"})
    assert r.status_code == 200 and "带过来的摘要" in r.content.decode()
    r = client.post(url, {
        "kind": "meeting", "subject": "年度合同", "outcome": "order", "direction": "in",
        "channel": "video", "occurred_at": "2025-03-04T10:30", "contact": contact.pk,
        "participant_contacts": [contact.pk], "participant_users": [users["manager"].pk],
        "duration_minutes": "45", "body": "谈了价格", "next_step": "寄合同",
        "follow_up_on": "2025-03-10",
    })
    assert r.status_code == 302
    ix = Interaction.objects.get()
    assert ix.contact == contact and ix.duration_minutes == 45 and ix.direction == "in"
    assert ix.follow_up_on == dt.date(2025, 3, 10)
    assert list(ix.participant_users.all()) == [users["manager"]]
    assert timezone.localtime(ix.occurred_at).hour == 10


def test_contact_of_another_customer_is_refused_on_the_field(client, users, customer):
    other = ContactFactory(customer=CustomerFactory())
    client.force_login(users["director"])
    r = client.post(reverse("activities:log", args=[customer.pk]),
                    {"kind": "call", "contact": other.pk})
    assert r.status_code == 200 and "contact" in r.context["form"].errors
    assert not Interaction.objects.exists()


def test_edit_interaction_and_conflict(client, users, customer):
    ix = services.interaction_create(actor=users["rep"], customer=customer, subject="初次电话")
    client.force_login(users["rep"])
    url = reverse("activities:interaction_edit", args=[ix.pk])
    assert 'name="version" value="1"' in client.get(url).content.decode()
    services.interaction_update(actor=users["manager"], interaction=ix, version=1,
                                outcome="no_answer")
    data = {"kind": "call", "subject": "我改的摘要", "direction": "out",
            "occurred_at": timezone.localtime(ix.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "version": "1"}
    r = client.post(url, data)
    html = r.content.decode()
    assert r.status_code == 200 and "Someone else changed this record" in html
    assert "no answer" in html and "我改的摘要" in html and 'name="version" value="2"' in html
    ix.refresh_from_db()
    assert ix.subject == "初次电话"
    r = client.post(url, {**data, "version": "2"})
    assert r.status_code == 302
    ix.refresh_from_db()
    assert ix.subject == "我改的摘要" and ix.outcome == "" and ix.version == 3


def test_delete_by_htmx_removes_entry(client, users, customer):
    ix = services.interaction_create(actor=users["rep"], customer=customer, subject="x")
    client.force_login(users["rep"])
    r = client.post(reverse("activities:interaction_delete", args=[ix.pk]),
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r.content == b""
    assert not Interaction.objects.filter(pk=ix.pk).exists()
    assert Interaction.all_objects.get(pk=ix.pk).deleted_by == users["rep"]


def test_follow_up_done(client, users, customer):
    ix = services.interaction_create(actor=users["rep"], customer=customer, subject="x",
                                     follow_up_on=dt.date.today())
    client.force_login(users["rep"])
    html = client.get(customer.get_absolute_url()).content.decode()
    assert reverse("activities:follow_up_done", args=[ix.pk]) in html
    r = client.post(reverse("activities:follow_up_done", args=[ix.pk]), {"next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    ix.refresh_from_db()
    assert ix.follow_up_done
    ix2 = services.interaction_create(actor=users["rep"], customer=customer, subject="y",
                                      follow_up_on=dt.date.today())
    r = client.post(reverse("activities:follow_up_done", args=[ix2.pk]),
                    {"next": "https://evil.example/"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "follow-up done" in r.content.decode()
    r = client.post(reverse("activities:follow_up_done", args=[ix2.pk]),
                    {"next": "https://evil.example/"})
    assert r["Location"] == customer.get_absolute_url()  # no open redirect
