"""Caller screen-pop: every phone format, scoping, the page, the API and the call log."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.activities.models import Interaction
from guanxi.commerce.models import Delivery, DeliveryStatus, Invoice, InvoiceStatus, Order
from guanxi.core import site_settings
from guanxi.parties import services as party_services
from guanxi.servicedesk import screenpop
from guanxi.servicedesk.models import Ticket, TicketStatus, TicketType

PW = "pw-Guanxi-123"


@pytest.fixture
def callers(users):
    """rep's customer (switchboard with extension, one contact by mobile, one by office
    line with an extension) and rep2's customer."""
    rep, rep2 = users["rep"], users["rep2"]
    acme = party_services.customer_create(actor=rep, name="上海清源水务有限公司",
                                          phone="(021) 6234 5678", tier="A")
    wang = party_services.contact_create(actor=rep, customer=acme, name="王经理",
                                         mobile="138 0013 8000")
    li = party_services.contact_create(actor=rep, customer=acme, name="李工",
                                       phone="021-6234 9999 转 123")
    other = party_services.customer_create(actor=rep2, name="重庆兴瑞环保有限公司",
                                           phone="023 6532 1234")
    zhao = party_services.contact_create(actor=rep2, customer=other, name="赵总",
                                         mobile="139 0000 1111")
    return {"acme": acme, "wang": wang, "li": li, "other": other, "zhao": zhao}


@pytest.mark.parametrize("raw", [
    "+86 138 0013 8000", "8613800138000", "0086-138-0013-8000", "13800138000",
    "138-0013-8000", "138.0013.8000", "１３８００１３８０００", "tel:+8613800138000",
    "sip:+8613800138000@pbx.example.cn",
])
def test_parse_incoming_mobile_formats(raw):
    assert screenpop.parse_incoming(raw, area_code="") == ("+8613800138000", "")


@pytest.mark.parametrize("raw,expected", [
    ("(021) 6234 5678", ("+862162345678", "")),
    ("021-62345678", ("+862162345678", "")),
    ("021.6234.5678", ("+862162345678", "")),
    ("０２１－６２３４５６７８", ("+862162345678", "")),
    ("+86 21 6234 5678", ("+862162345678", "")),
    ("862162345678", ("+862162345678", "")),
    ("0086 21 6234 5678", ("+862162345678", "")),
    ("021-62345678-123", ("+862162345678", "123")),
    ("021 6234 5678 转 123", ("+862162345678", "123")),
    ("０２１－６２３４５６７８－１２３", ("+862162345678", "123")),
    ("tel:+862162345678;ext=123", ("+862162345678", "123")),
])
def test_parse_incoming_landline_formats(raw, expected):
    assert screenpop.parse_incoming(raw, area_code="") == expected


@pytest.mark.django_db
def test_local_number_uses_the_default_area_code_only_when_set():
    with pytest.raises(ValidationError):
        screenpop.parse_incoming("62345678")
    site_settings.put(screenpop.AREA_CODE_SETTING, "21")
    assert screenpop.parse_incoming("62345678") == ("+862162345678", "")
    assert screenpop.parse_incoming("6234-5678") == ("+862162345678", "")


@pytest.mark.parametrize("raw", ["", "anonymous", "12345", "+86 123"])
def test_parse_incoming_refuses_what_is_not_a_number(raw):
    with pytest.raises(ValidationError):
        screenpop.parse_incoming(raw, area_code="")


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "8613800138000", "0086-138-0013-8000",
                                 "13800138000", "138-0013-8000", "１３８００１３８０００"])
def test_lookup_contact_mobile(callers, users, raw):
    result = screenpop.lookup(users["rep"], raw)
    single = result.single
    assert single is not None and single.customer == callers["acme"]
    assert single.contact == callers["wang"] and single.via == "mobile"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["(021) 6234 5678", "021-62345678", "+86 21 6234 5678",
                                 "0086 21 6234 5678", "０２１ ６２３４ ５６７８"])
def test_lookup_customer_phone(callers, users, raw):
    result = screenpop.lookup(users["rep"], raw)
    assert result.single is not None and result.single.customer == callers["acme"]
    assert result.single.contact is None and result.single.via == "customer"


@pytest.mark.django_db
def test_lookup_contact_office_phone_with_extension(callers, users):
    for raw in ("021-62349999-123", "021 6234 9999 转 123", "(021)6234-9999 ext 123"):
        single = screenpop.lookup(users["rep"], raw).single
        assert single is not None and single.contact == callers["li"], raw
        assert single.via == "office"
    # Another extension of the same line still finds the line's contact.
    assert screenpop.lookup(users["rep"], "021-62349999-888").single.contact == callers["li"]


@pytest.mark.django_db
def test_extension_picks_the_person_on_a_shared_switchboard(callers, users):
    acme = callers["acme"]
    zhang = party_services.contact_create(actor=users["rep"], customer=acme, name="张会计",
                                          phone="021 6234 5678 转 201")
    result = screenpop.lookup(users["rep"], "021-62345678-201")
    assert [m.contact for m in result.matches] == [zhang]
    # Without the extension the switchboard matches the company and that contact.
    result = screenpop.lookup(users["rep"], "021-62345678")
    assert {m.contact for m in result.matches} == {None, zhang}
    assert result.single is not None and result.single.contact == zhang


@pytest.mark.django_db
def test_lookup_is_scoped_to_what_the_user_sees(callers, users):
    assert screenpop.lookup(users["rep"], "139 0000 1111").matches == []
    assert screenpop.lookup(users["rep"], "023 6532 1234").matches == []
    assert screenpop.lookup(users["rep2"], "139 0000 1111").single.customer == callers["other"]
    assert screenpop.lookup(users["rep2"], "13800138000").matches == []
    assert screenpop.lookup(users["service"], "13800138000").single.contact == callers["wang"]


@pytest.mark.django_db
def test_several_customers_with_one_number(callers, users):
    twin = party_services.customer_create(actor=users["rep"], name="上海清源水务二厂",
                                          phone="021 6234 5678")
    result = screenpop.lookup(users["rep"], "02162345678")
    assert {c.pk for c in result.customers} == {callers["acme"].pk, twin.pk}
    assert result.single is None


def _ticket(customer, **kw):
    ttype = TicketType.objects.get(code="equipment_fault")
    return Ticket.objects.create(customer=customer, type=ttype, queue=ttype.queue,
                                 subject=kw.pop("subject", "设备报警"), **kw)


@pytest.mark.django_db
def test_page_shows_the_caller_card(client, callers, users):
    acme = callers["acme"]
    today = timezone.localdate()
    t = _ticket(acme, status=TicketStatus.OPEN,
                resolution_due_at=timezone.now() - dt.timedelta(hours=1))
    _ticket(acme, status=TicketStatus.CLOSED, subject="旧问题")
    order = Order.objects.create(customer=acme, external_id="O1", number="SO-001",
                                 ordered_on=today)
    Delivery.objects.create(customer=acme, order=order, external_id="D1", number="DN-001",
                            status=DeliveryStatus.IN_TRANSIT, carrier="顺丰",
                            tracking_number="SF123456")
    Invoice.objects.create(customer=acme, external_id="I1", number="INV-001",
                           issued_on=today - dt.timedelta(days=60),
                           due_on=today - dt.timedelta(days=15), amount=Decimal(10000),
                           paid_amount=Decimal(2500), status=InvoiceStatus.PARTIALLY_PAID)
    Invoice.objects.create(customer=acme, external_id="I2", number="INV-002",
                           issued_on=today, due_on=today + dt.timedelta(days=30),
                           amount=Decimal(500))
    client.login(username="rep", password=PW)
    r = client.get("/service/call/", {"phone": "+86 138 0013 8000"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "上海清源水务有限公司" in html and "王经理" in html
    assert t.reference in html and "旧问题" not in html and "SLA breached" in html
    assert "DN-001" in html and "SF123456" in html and "in transit" in html
    assert "INV-001" in html and "7,500.00" in html and ">15<" in html
    assert "INV-002" not in html
    assert 'href="tel:+8613800138000"' in html
    assert (f"/service/new/?customer={acme.pk}&amp;channel=phone"
            f"&amp;contact={callers['wang'].pk}") in html
    assert f"/service/call/log/?customer={acme.pk}" in html
    assert f'id="screenpop-owner">{users["rep"]}' in html


@pytest.mark.django_db
def test_page_unknown_caller_and_other_reps_customer(client, callers, users):
    client.login(username="rep", password=PW)
    r = client.get("/service/call/", {"phone": "139 0000 1111"})  # rep2's contact
    html = r.content.decode()
    assert r.status_code == 200 and "Unknown caller" in html and "赵总" not in html
    assert 'id="new-lead"' in html and "phone=139+0000+1111" in html
    assert 'id="new-customer"' in html
    # Naming the customer directly is a 404 for someone who may not see it.
    r = client.get("/service/call/", {"phone": "13900001111",
                                      "customer": callers["other"].pk})
    assert r.status_code == 404


@pytest.mark.django_db
def test_page_choose_list_and_choice(client, callers, users):
    twin = party_services.customer_create(actor=users["rep"], name="上海清源水务二厂",
                                          phone="021 6234 5678")
    client.login(username="rep", password=PW)
    r = client.get("/service/call/", {"phone": "021-62345678"})
    html = r.content.decode()
    assert "Who is calling?" in html and "二厂" in html and "上海清源水务有限公司" in html
    r = client.get("/service/call/", {"phone": "021-62345678", "customer": twin.pk})
    assert r.status_code == 200 and "上海清源水务二厂" in r.content.decode()


@pytest.mark.django_db
def test_page_needs_login_and_get(client, callers):
    r = client.get("/service/call/", {"phone": "13800138000"})
    assert r.status_code == 302 and "/login/" in r["Location"]
    client.login(username="rep", password=PW)
    assert client.post("/service/call/", {"phone": "13800138000"}).status_code == 405


@pytest.mark.django_db
def test_call_log_creates_an_interaction(client, callers, users):
    acme, wang = callers["acme"], callers["wang"]
    client.login(username="service", password=PW)
    r = client.get("/service/call/log/", {"customer": acme.pk, "contact": wang.pk,
                                          "phone": "13800138000"})
    html = r.content.decode()
    assert r.status_code == 200 and '<option value="in" selected>' in html
    assert "Caller: 13800138000" in html
    r = client.post(f"/service/call/log/?customer={acme.pk}", {
        "customer": acme.pk, "contact": wang.pk, "kind": "call", "direction": "in",
        "occurred_at": "2025-06-03T10:15", "duration_minutes": "12",
        "subject": "询问发货", "outcome": "info", "body": "客户问订单SO-001"})
    assert r.status_code == 302 and r["Location"] == acme.get_absolute_url()
    i = Interaction.objects.get(customer=acme)
    assert (i.kind, i.direction, i.duration_minutes, i.contact, i.created_by) == (
        "call", "in", 12, wang, users["service"])
    assert i.subject == "询问发货"


@pytest.mark.django_db
def test_call_log_also_opens_a_ticket_and_refuses_invisible(client, callers, users):
    acme = callers["acme"]
    client.login(username="rep", password=PW)
    r = client.post("/service/call/log/", {
        "customer": acme.pk, "kind": "call", "direction": "in",
        "occurred_at": "2025-06-03T10:15", "subject": "设备故障", "open_ticket": "on"})
    assert r.status_code == 302 and r["Location"].startswith("/service/new/?customer=")
    assert "channel=phone" in r["Location"] and Interaction.objects.count() == 1
    r = client.post("/service/call/log/", {
        "customer": callers["other"].pk, "kind": "call", "direction": "in",
        "occurred_at": "2025-06-03T10:15", "subject": "x"})
    assert r.status_code == 404 and Interaction.objects.count() == 1
    client.logout()
    client.login(username="readonly", password=PW)
    r = client.get("/service/call/log/", {"customer": acme.pk})
    assert r.status_code == 403


@pytest.mark.django_db
def test_api_screen_pop(client, callers, users):
    _token, key = ApiToken.issue(user=users["rep"], name="cti")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    r = client.get("/api/v1/screen-pop", {"phone": "0086-138-0013-8000"}, **auth)
    assert r.status_code == 200
    body = r.json()
    assert body["e164"] == "+8613800138000"
    assert body["matches"][0]["contact"]["name"] == "王经理"
    assert body["card"]["customer"]["id"] == callers["acme"].pk
    assert body["card"]["overdue_invoices"] == []
    r = client.get("/api/v1/screen-pop", {"phone": "13900001111"}, **auth)
    assert r.status_code == 200 and r.json()["matches"] == [] and r.json()["card"] is None
    r = client.get("/api/v1/screen-pop", {"phone": "anonymous"}, **auth)
    assert r.status_code == 422 and "phone" in r.json()["errors"]
    assert client.get("/api/v1/screen-pop", {"phone": "13800138000"}).status_code == 401


def test_tel_link_filter():
    out = Template("{% load service_tags %}{{ p|tel_link:x }}|{{ q|tel_link }}|{{ r|tel_link }}"
                   ).render(Context({"p": "+862162345678", "x": "12", "q": "138 0013 8000",
                                     "r": "<b>call me</b>"}))
    assert '<a class="tel" href="tel:+862162345678;ext=12">021 6234 5678 转 12</a>' in out
    assert 'href="tel:+8613800138000"' in out
    assert "&lt;b&gt;call me&lt;/b&gt;" in out


@pytest.mark.django_db
def test_unknown_caller_buttons_prefill_the_phone(client, users):
    client.login(username="rep", password=PW)
    html = client.get("/service/call/", {"phone": "+86 139 1234 5678"}).content.decode()
    for button in ("new-customer", "new-lead"):
        url = re.search(rf'id="{button}" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        page = client.get(url).content.decode()
        assert 'value="139 1234 5678"' in page, button
