"""Ticket pages: the desk list (queues, filters, scope), a new ticket (prefilled from the
screen-pop), the ticket page (replies vs internal notes, actions, conflicts), the
customer-page panel and the timeline entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.core.registry import timeline_page
from guanxi.servicedesk import services
from guanxi.servicedesk.models import Queue, Ticket, TicketMessage, TicketType
from guanxi.testing.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def ttype(code: str) -> TicketType:
    return TicketType.objects.get(code=code)


@pytest.fixture
def world(users, org):
    mine = CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"],
                           tier="A", phone="+862165321234", email="info@qingyuan.example")
    contact = ContactFactory(customer=mine, name="李经理", mobile="+8613800138000",
                             email="li@qingyuan.example")
    theirs = CustomerFactory(name="重庆兴瑞环保", owner=users["rep2"], team=org["chongqing"])
    svc = users["service"]
    fault = services.ticket_create(actor=svc, customer=mine, type=ttype("equipment_fault"),
                                   subject="反渗透设备压力报警", contact=contact)
    invoice = services.ticket_create(actor=svc, customer=mine, type=ttype("payment"),
                                     subject="发票抬头错误", assignee=svc)
    done = services.ticket_create(actor=svc, customer=mine, type=ttype("request"),
                                  subject="操作培训")
    services.ticket_set_status(actor=svc, ticket=done, status="resolved")
    far = services.ticket_create(actor=svc, customer=theirs, type=ttype("system_fault"),
                                 subject="系统无法登录")
    return {"mine": mine, "theirs": theirs, "contact": contact, "fault": fault,
            "invoice": invoice, "done": done, "far": far}


def login(client, user):
    client.force_login(user)
    return client


def subjects(response) -> set[str]:
    return {t.subject for t in response.context["page"].object_list}


# ---------------------------------------------------------------- list


def test_list_defaults_to_open_tickets_with_queue_tabs(client, users, world):
    r = login(client, users["service"]).get(reverse("service:tickets"))
    assert r.status_code == 200
    assert subjects(r) == {"反渗透设备压力报警", "发票抬头错误", "系统无法登录"}
    tabs = {tab["queue"].code: tab["count"] for tab in r.context["tabs"]}
    assert tabs["engineering"] == 1 and tabs["finance"] == 1 and tabs["systems"] == 1
    assert tabs["customer_service"] == 0
    assert f"T{world['fault'].pk:06d}" in r.content.decode()


def test_list_filters(client, users, world):
    c = login(client, users["service"])
    url = reverse("service:tickets")
    eng = Queue.objects.get(code="engineering")
    assert subjects(c.get(url, {"queue": eng.pk})) == {"反渗透设备压力报警"}
    assert subjects(c.get(url, {"assignee": "me"})) == {"发票抬头错误"}
    assert "发票抬头错误" not in subjects(c.get(url, {"assignee": "none"}))
    assert subjects(c.get(url, {"status": "resolved"})) == {"操作培训"}
    assert len(subjects(c.get(url, {"status": "any"}))) == 4
    assert subjects(c.get(url, {"priority": "normal"})) == {"发票抬头错误"}
    assert subjects(c.get(url, {"type": ttype("system_fault").pk})) == {"系统无法登录"}
    assert subjects(c.get(url, {"q": "发票"})) == {"发票抬头错误"}
    assert subjects(c.get(url, {"q": world["fault"].reference})) == {"反渗透设备压力报警"}
    assert subjects(c.get(url, {"customer": world["theirs"].pk})) == {"系统无法登录"}
    # SLA: nothing is breached yet; pushing a due time into the past breaches it.
    assert subjects(c.get(url, {"sla": "breached"})) == set()
    Ticket.objects.filter(pk=world["far"].pk).update(
        first_response_due_at=timezone.now() - dt.timedelta(hours=1))
    assert subjects(c.get(url, {"sla": "breached"})) == {"系统无法登录"}
    Ticket.objects.filter(pk=world["fault"].pk).update(response_warned_at=timezone.now())
    assert subjects(c.get(url, {"sla": "at_risk"})) == {"反渗透设备压力报警"}
    # A bad filter value is ignored, not an error.
    assert c.get(url, {"queue": "nope", "sort": "bogus"}).status_code == 200


def test_list_is_scoped_to_the_customers_a_rep_sees(client, users, world):
    r = login(client, users["rep2"]).get(reverse("service:tickets"), {"status": "any"})
    assert subjects(r) == {"系统无法登录"}
    r = login(client, users["rep"]).get(reverse("service:tickets"), {"status": "any"})
    assert "系统无法登录" not in subjects(r)


def test_list_fragment_for_htmx(client, users, world):
    r = login(client, users["service"]).get(reverse("service:tickets"), {"q": "发票"},
                                            HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    body = r.content.decode()
    assert "<html" not in body and "发票抬头错误" in body


# ---------------------------------------------------------------- new ticket


def test_new_ticket_is_prefilled_from_the_query_string(client, users, world):
    c = login(client, users["rep"])
    r = c.get(reverse("service:ticket_new"), {
        "customer": world["mine"].pk, "contact": world["contact"].pk,
        "type": "equipment_fault", "channel": "phone"})
    assert r.status_code == 200
    form = r.context["form"]
    assert form.initial["contact"] == world["contact"].pk
    assert form.initial["type"] == ttype("equipment_fault").pk
    assert form.initial["channel"] == "phone"
    # A contact of another customer is not prefilled.
    other = ContactFactory(customer=world["theirs"])
    r = c.get(reverse("service:ticket_new"), {"customer": world["mine"].pk,
                                              "contact": other.pk})
    assert "contact" not in r.context["form"].initial


def test_new_ticket_routes_and_redirects(client, users, world):
    c = login(client, users["rep"])
    r = c.post(reverse("service:ticket_new"), {
        "customer": world["mine"].pk, "type": ttype("contract_delivery").pk,
        "subject": "交货期确认", "channel": "phone", "contact": world["contact"].pk})
    ticket = Ticket.objects.get(subject="交货期确认")
    assert r.status_code == 302 and r.url == reverse("service:ticket_detail", args=[ticket.pk])
    assert ticket.queue.code == "sales_office"
    assert ticket.created_by == users["rep"]


def test_new_ticket_errors_and_permissions(client, users, world):
    r = login(client, users["rep"]).post(reverse("service:ticket_new"), {
        "customer": world["mine"].pk, "type": ttype("request").pk, "subject": "",
        "channel": "phone"})
    assert r.status_code == 422
    assert "subject" in r.context["form"].errors
    assert login(client, users["rep"]).get(
        reverse("service:ticket_new"), {"customer": world["theirs"].pk}).status_code == 404
    assert login(client, users["readonly"]).get(
        reverse("service:ticket_new"), {"customer": world["mine"].pk}).status_code == 403
    picker = login(client, users["rep"]).get(reverse("service:ticket_new"), {"q": "清源"})
    assert picker.status_code == 200
    assert world["mine"] in picker.context["results"]
    assert world["theirs"] not in picker.context["results"]


# ---------------------------------------------------------------- detail


def test_detail_shows_replies_and_internal_notes_differently(client, users, world):
    t = world["fault"]
    services.ticket_add_message(actor=users["service"], ticket=t, kind="reply",
                                body="已安排工程师。")
    services.ticket_add_message(actor=users["rep"], ticket=t, kind="note",
                                body="客户是重点客户。")
    r = login(client, users["service"]).get(reverse("service:ticket_detail", args=[t.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert t.reference in html
    assert 'class="tk-msg tk-msg-reply"' in html and 'class="tk-msg tk-msg-note"' in html
    note_at = html.index("客户是重点客户。")
    assert "internal" in html[html.rindex("tk-msg-note", 0, note_at):note_at]
    assert 'href="tel:+862165321234"' in html and 'href="tel:+8613800138000"' in html
    assert r.context["can_work"] and r.context["status_form"] is not None


def test_detail_is_404_for_a_customer_the_rep_does_not_see(client, users, world):
    url = reverse("service:ticket_detail", args=[world["far"].pk])
    assert login(client, users["rep"]).get(url).status_code == 404
    assert login(client, users["rep2"]).get(url).status_code == 200
    post = login(client, users["rep"]).post(
        reverse("service:ticket_message", args=[world["far"].pk]),
        {"kind": "note", "body": "x"})
    assert post.status_code == 404
    assert not TicketMessage.objects.filter(ticket=world["far"], kind="note").exists()


def test_rep_may_add_a_note_but_not_reply(client, users, world):
    t, c = world["fault"], login(client, users["rep"])
    r = c.get(reverse("service:ticket_detail", args=[t.pk]))
    assert [k for k, _ in r.context["message_form"].fields["kind"].choices] == ["note"]
    assert r.context["status_form"] is None
    r = c.post(reverse("service:ticket_message", args=[t.pk]), {"kind": "reply", "body": "x"})
    assert r.status_code == 422
    assert not TicketMessage.objects.filter(ticket=t, kind="reply").exists()
    r = c.post(reverse("service:ticket_message", args=[t.pk]),
               {"kind": "note", "body": "上次维修是去年。", "time_spent_minutes": "5"})
    assert r.status_code == 302
    assert TicketMessage.objects.filter(ticket=t, kind="note", time_spent_minutes=5).exists()
    assert c.post(reverse("service:ticket_status", args=[t.pk]),
                  {"status": "resolved"}).status_code == 403


def test_reply_through_the_page_is_emailed(client, users, world,
                                           django_capture_on_commit_callbacks):
    from django.core import mail

    t = world["fault"]
    with django_capture_on_commit_callbacks(execute=True):
        r = login(client, users["service"]).post(
            reverse("service:ticket_message", args=[t.pk]),
            {"kind": "reply", "body": "明天上午上门。", "time_spent_minutes": ""})
    assert r.status_code == 302
    sent = [m for m in mail.outbox if t.reference in m.subject]
    assert len(sent) == 1 and sent[0].to == ["li@qingyuan.example"]


def test_assign_status_and_take(client, users, world):
    t, c = world["fault"], login(client, users["service"])
    fin = Queue.objects.get(code="finance")
    r = c.post(reverse("service:ticket_assign", args=[t.pk]),
               {"queue": fin.pk, "assignee": users["service"].pk})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.queue == fin and t.assignee == users["service"]
    r = c.post(reverse("service:ticket_status", args=[t.pk]), {"status": "pending"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == "pending"
    r = c.post(reverse("service:ticket_status", args=[t.pk]), {"status": "merged"})
    assert r.status_code == 422
    director = login(client, users["director"])
    assert director.post(reverse("service:ticket_take", args=[t.pk])).status_code == 302
    t.refresh_from_db()
    assert t.assignee == users["director"]


def test_edit_conflict_is_shown(client, users, world):
    t, c = world["fault"], login(client, users["service"])
    services.ticket_update(actor=users["director"], ticket=t, version=t.version,
                           subject="压力报警（更新）")
    r = c.post(reverse("service:ticket_edit", args=[t.pk]), {
        "version": 1, "type": t.type_id, "subject": "我的修改", "channel": "phone",
        "priority": "urgent"})
    assert r.status_code == 409
    assert r.context["conflict"]
    assert "压力报警（更新）" in r.content.decode()
    t.refresh_from_db()
    assert t.subject == "压力报警（更新）" and t.priority == "high"
    # Saving again on the new version goes through; the type change re-routes.
    r = c.post(reverse("service:ticket_edit", args=[t.pk]), {
        "version": t.version, "type": ttype("system_fault").pk, "subject": "我的修改",
        "channel": "phone", "priority": "urgent"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert (t.subject, t.priority, t.queue.code) == ("我的修改", "urgent", "systems")


def test_merge_from_the_page(client, users, world):
    c = login(client, users["service"])
    dup = services.ticket_create(actor=users["service"], customer=world["mine"],
                                 type=ttype("equipment_fault"), subject="压力报警（又来电）")
    r = c.get(reverse("service:ticket_detail", args=[dup.pk]))
    targets = set(r.context["merge_form"].fields["target"].queryset)
    assert world["fault"] in targets and world["far"] not in targets
    r = c.post(reverse("service:ticket_merge", args=[dup.pk]), {"target": world["fault"].pk})
    assert r.status_code == 302
    assert r.url == reverse("service:ticket_detail", args=[world["fault"].pk])
    dup.refresh_from_db()
    assert dup.status == "merged"
    r = c.get(reverse("service:ticket_detail", args=[dup.pk]))
    assert 'id="merged-banner"' in r.content.decode()
    assert r.context["message_form"] is None
    r = c.post(reverse("service:ticket_merge", args=[dup.pk]), {"target": world["far"].pk})
    assert r.status_code == 422


# ---------------------------------------------------------------- customer page


def test_customer_page_panel(client, users, world):
    r = login(client, users["rep"]).get(world["mine"].get_absolute_url())
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="ticket-panel"' in html
    assert world["fault"].reference in html and world["done"].reference not in html.split(
        'id="ticket-panel"')[1].split("</section>")[0]
    assert "1 resolved or closed ticket" in html
    assert f'{reverse("service:ticket_new")}?customer={world["mine"].pk}' in html
    panel = next(p for p in r.context["panels"] if p["key"] == "tickets")
    assert "反渗透设备压力报警" in panel["html"]
    r = login(client, users["readonly"]).get(world["mine"].get_absolute_url())
    assert 'id="new-ticket"' not in r.content.decode()


def test_timeline_entries(users, world):
    dup = services.ticket_create(actor=users["service"], customer=world["mine"],
                                 type=ttype("equipment_fault"), subject="重复报修")
    services.ticket_merge(actor=users["service"], source=dup, target=world["fault"])
    entries, _cursor = timeline_page(customer=world["mine"], user=users["rep"],
                                     kinds={"ticket"}, limit=20)
    titles = [e.title for e in entries]
    assert any(f"{world['fault'].reference} opened" in t for t in titles)
    assert any(f"{world['done'].reference} resolved" in t for t in titles)
    merged = [e for e in entries if e.extra["ticket"].pk == dup.pk]
    assert merged and world["fault"].reference in merged[0].body
    assert all(e.kind == "ticket" for e in entries)
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)
    assert entries[0].url.startswith("/service/")
    none, _ = timeline_page(customer=world["mine"], user=users["rep"], kinds={"call"})
    assert not [e for e in none if e.kind == "ticket"]


def test_ticket_page_shows_the_satisfaction_survey(client, users, world):
    t = world["fault"]  # its contact has an e-mail address
    services.ticket_set_status(actor=users["service"], ticket=t, status="resolved")
    r = login(client, users["service"]).get(reverse("service:ticket_detail", args=[t.pk]))
    survey = r.context["survey"]
    assert survey is not None and survey.ticket_id == t.pk
    assert survey.link  # desk staff may pass the link on (WeChat, SMS)
    assert 'id="ticket-survey"' in r.content.decode()
    r = login(client, users["rep"]).get(reverse("service:ticket_detail", args=[t.pk]))
    assert r.context["survey"].link == ""
