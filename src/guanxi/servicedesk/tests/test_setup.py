"""Service desk set-up pages (administrators only): ticket types and queues, add/edit,
and a type or queue in use can only be deactivated, not deleted."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guanxi.core.models import AuditEntry
from guanxi.servicedesk import services, setup_services
from guanxi.servicedesk.models import Queue, TicketType
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def test_setup_is_for_administrators_only(client, users):
    url = reverse("servicesetup:index")
    r = login(client, users["admin"]).get(url)
    assert r.status_code == 200
    assert "设备故障" in r.content.decode() and "工程部" in r.content.decode()
    for role in ("director", "manager", "service", "rep", "readonly"):
        assert login(client, users[role]).get(url).status_code == 403
        assert login(client, users[role]).post(
            reverse("servicesetup:type_create"),
            {"code": "x", "name": "x", "queue": Queue.objects.first().pk,
             "default_priority": "normal", "order": 0, "active": "on"}).status_code == 403
    assert not TicketType.objects.filter(code="x").exists()


def test_add_and_edit_a_ticket_type(client, users):
    c = login(client, users["admin"])
    eng = Queue.objects.get(code="engineering")
    r = c.post(reverse("servicesetup:type_create"), {
        "code": "installation", "name": "安装调试", "queue": eng.pk,
        "default_priority": "normal", "order": 9, "active": "on"})
    assert r.status_code == 302
    t = TicketType.objects.get(code="installation")
    assert t.queue == eng and t.active and not t.is_complaint
    fin = Queue.objects.get(code="finance")
    r = c.post(reverse("servicesetup:type_edit", args=[t.pk]), {
        "code": "installation", "name": "安装调试", "queue": fin.pk,
        "default_priority": "high", "order": 9, "active": "on", "is_complaint": "on"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert (t.queue, t.default_priority, t.is_complaint) == (fin, "high", True)
    assert AuditEntry.objects.filter(model="servicedesk.tickettype", object_id=t.pk,
                                     action="update").exists()
    r = c.post(reverse("servicesetup:type_create"), {
        "code": "installation", "name": "重复", "queue": eng.pk,
        "default_priority": "normal", "order": 0})
    assert r.status_code == 422


def test_add_a_queue_with_members_and_default_assignee(client, users, org):
    c = login(client, users["admin"])
    r = c.post(reverse("servicesetup:queue_create"), {
        "code": "field", "name": "现场服务部", "team": org["company"].pk,
        "manager": users["manager"].pk, "members": [users["rep"].pk, users["rep2"].pk],
        "default_assignee": users["rep"].pk, "order": 5, "active": "on"})
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    q = Queue.objects.get(code="field")
    assert set(q.members.all()) == {users["rep"], users["rep2"]}
    assert q.default_assignee == users["rep"]
    # The default assignee must belong to the queue.
    r = c.post(reverse("servicesetup:queue_edit", args=[q.pk]), {
        "code": "field", "name": "现场服务部", "members": [users["rep2"].pk],
        "default_assignee": users["rep"].pk, "order": 5, "active": "on"})
    assert r.status_code == 422
    assert "default_assignee" in r.context["form"].errors
    q.refresh_from_db()
    assert set(q.members.all()) == {users["rep"], users["rep2"]}


def test_in_use_can_only_be_deactivated(client, users):
    c = login(client, users["admin"])
    customer = CustomerFactory()
    fault = TicketType.objects.get(code="equipment_fault")
    services.ticket_create(actor=users["service"], customer=customer, type=fault,
                           subject="报警")
    r = c.post(reverse("servicesetup:type_delete", args=[fault.pk]))
    assert r.status_code == 302
    assert TicketType.objects.filter(pk=fault.pk).exists()
    eng = Queue.objects.get(code="engineering")
    c.post(reverse("servicesetup:queue_delete", args=[eng.pk]))
    assert Queue.objects.filter(pk=eng.pk).exists()
    # An unused type can be deleted.
    feedback = TicketType.objects.get(code="feedback")
    c.post(reverse("servicesetup:type_delete", args=[feedback.pk]))
    assert not TicketType.objects.filter(pk=feedback.pk).exists()
    # Deactivating works, and an inactive type takes no new tickets.
    setup_services.ticket_type_save(actor=users["admin"], ticket_type=fault, active=False)
    with pytest.raises(ValidationError) as exc:
        services.ticket_create(actor=users["service"], customer=customer, type=fault,
                               subject="又报警")
    assert "type" in exc.value.message_dict


def test_queue_with_active_types_cannot_be_deactivated(users):
    eng = Queue.objects.get(code="engineering")
    with pytest.raises(ValidationError) as exc:
        setup_services.queue_save(actor=users["admin"], queue=eng, active=False)
    assert "active" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        setup_services.queue_save(actor=users["director"], queue=eng, name="改名")
    eng.refresh_from_db()
    assert eng.active and eng.name == "工程部"
