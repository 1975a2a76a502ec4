"""Installed equipment: services (validation, audit, versions, recycle bin), warranty
states, pages (list filters, detail with service history, forms), the customer panel
and scoping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.sales.models import Product, ProductLine
from guanxi.servicedesk import asset_services as svc
from guanxi.servicedesk import field_services as field
from guanxi.servicedesk.models import Asset

from . import test_field_support as support
from .test_field_support import DAY, at, open_ticket

pytestmark = pytest.mark.django_db
fw = support.fw  # the shared fixture
TODAY = timezone.localdate()


@pytest.fixture
def pump(db):
    line = ProductLine.objects.create(code="pumps", name="水泵")
    return Product.objects.create(product_line=line, code="P-200", name="离心泵 P200")


@pytest.fixture
def asset(users, fw, pump):
    return svc.asset_create(actor=users["rep"], customer=fw.a, product=pump, serial_number="SN-001",
                            installed_on=dt.date(2024, 5, 1),
                            warranty_ends_on=TODAY + dt.timedelta(days=400),
                            location="二号泵房")


# ---------------------------------------------------------------- services


def test_create_defaults_the_name_and_audits_with_the_customer(users, fw, asset, pump):
    assert asset.name == "离心泵 P200" and asset.customer == fw.a
    entry = AuditEntry.objects.get(model="servicedesk.asset", object_id=asset.pk)
    assert entry.action == "create" and entry.customer_id == fw.a.pk
    assert entry.changes["serial_number"] == [None, "SN-001"]


def test_warranty_cannot_end_before_installation(users, fw):
    with pytest.raises(ValidationError) as exc:
        svc.asset_create(actor=users["rep"], customer=fw.a, name="控制柜",
                         installed_on=dt.date(2025, 3, 1), warranty_ends_on=dt.date(2025, 2, 1))
    assert "warranty_ends_on" in exc.value.message_dict
    assert not Asset.objects.exists()


def test_serial_number_is_unique_per_customer_and_product(users, fw, asset, pump):
    with pytest.raises(ValidationError) as exc:
        svc.asset_create(actor=users["rep"], customer=fw.a, product=pump, serial_number="sn-001")
    message = exc.value.message_dict["serial_number"][0]
    assert "SN-001" in message and "离心泵 P200" in message
    # Another customer, or another product, may have the same serial number.
    svc.asset_create(actor=users["rep2"], customer=fw.b, product=pump, serial_number="SN-001")
    svc.asset_create(actor=users["rep"], customer=fw.a, name="控制柜", serial_number="SN-001")
    assert Asset.objects.filter(serial_number__iexact="SN-001").count() == 3


def test_update_with_version_conflict_and_audit(users, fw, asset):
    updated = svc.asset_update(actor=users["rep"], asset=asset, version=asset.version,
                               status="faulty", location="三号泵房")
    assert updated.version == asset.version + 1
    entry = AuditEntry.objects.filter(model="servicedesk.asset", action="update").get()
    assert entry.changes["location"] == ["二号泵房", "三号泵房"]
    assert entry.customer_id == fw.a.pk
    with pytest.raises(ConflictError):
        svc.asset_update(actor=users["rep"], asset=asset, version=asset.version, notes="x")
    with pytest.raises(ValidationError):
        svc.asset_update(actor=users["rep"], asset=asset, version=updated.version,
                         installed_on=TODAY + dt.timedelta(days=500))


def test_permissions(users, fw, asset):
    for role in ("readonly", "marketing"):
        with pytest.raises(PermissionDenied):
            svc.asset_create(actor=users[role], customer=fw.a, name="控制柜")
    with pytest.raises(PermissionDenied):  # rep2 cannot see rep's customer
        svc.asset_update(actor=users["rep2"], asset=asset, version=None, notes="x")
    assert svc.asset_create(actor=users["service"], customer=fw.a, name="控制柜").pk


def test_delete_and_restore(users, fw, asset, pump):
    svc.asset_delete(actor=users["rep"], asset=asset)
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert Asset.all_objects.get(pk=asset.pk).deleted_by == users["rep"]
    # The serial number is free again while the asset sits in the recycle bin...
    twin = svc.asset_create(actor=users["rep"], customer=fw.a, product=pump,
                            serial_number="SN-001")
    with pytest.raises(PermissionDenied):
        svc.asset_restore(actor=users["rep"], asset=asset)
    # ...so restoring it would duplicate: refused with the message.
    with pytest.raises(ValidationError):
        svc.asset_restore(actor=users["admin"], asset=asset)
    svc.asset_delete(actor=users["rep"], asset=twin)
    svc.asset_restore(actor=users["admin"], asset=asset)
    assert Asset.objects.filter(pk=asset.pk).exists()


# ---------------------------------------------------------------- warranty


@pytest.mark.parametrize("days,state", [(None, "none"), (-1, "expired"), (0, "expiring"),
                                        (60, "expiring"), (61, "in")])
def test_warranty_states(days, state):
    ends = None if days is None else DAY + dt.timedelta(days=days)
    assert svc.warranty_state(Asset(warranty_ends_on=ends), DAY) == state


def test_warranty_filter(users, fw):
    def make(name, days):
        ends = None if days is None else TODAY + dt.timedelta(days=days)
        return svc.asset_create(actor=users["rep"], customer=fw.a, name=name,
                                warranty_ends_on=ends)

    expired, soon, later, undated = make("A", -3), make("B", 30), make("C", 300), make("D", None)
    qs = Asset.objects.all()
    assert set(svc.warranty_filter(qs, "expired")) == {expired}
    assert set(svc.warranty_filter(qs, "expiring")) == {soon}
    assert set(svc.warranty_filter(qs, "in")) == {soon, later}
    assert set(svc.warranty_filter(qs, "none")) == {undated}


# ---------------------------------------------------------------- pages


def test_list_filters_and_scoping(client, users, fw, asset, pump):
    other = svc.asset_create(actor=users["rep2"], customer=fw.b, product=pump,
                             serial_number="SN-900")
    old = svc.asset_create(actor=users["rep"], customer=fw.a, name="旧控制柜",
                           serial_number="CT-7", warranty_ends_on=TODAY - dt.timedelta(days=1))
    client.force_login(users["rep"])
    url = reverse("assets:list")
    html = client.get(url).content.decode()
    assert "SN-001" in html and "CT-7" in html and "SN-900" not in html
    html = client.get(url, {"warranty": "expired"}).content.decode()
    assert "CT-7" in html and "SN-001" not in html
    html = client.get(url, {"q": "sn-0"}).content.decode()
    assert "SN-001" in html and "CT-7" not in html
    html = client.get(url, {"customer": fw.a.pk, "product": pump.pk}).content.decode()
    assert "SN-001" in html and "CT-7" not in html
    r = client.get(url, {"status": "in_service"}, HTTP_HX_REQUEST="true")
    assert "<html" not in r.content.decode() and "SN-001" in r.content.decode()
    # Another rep's customer's asset: 404 on its page.
    assert client.get(reverse("assets:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("assets:edit", args=[other.pk])).status_code == 404
    assert client.get(reverse("assets:detail", args=[old.pk])).status_code == 200


def test_detail_shows_the_service_history(client, users, fw, asset):
    ticket = open_ticket(users["service"], fw.a, fw, asset=asset, subject="泵体渗漏")
    visit = field.visit_schedule(actor=users["service"], ticket=ticket,
                                 technician=fw.tech_east, start=at(DAY, 9), end=at(DAY, 11))
    field.visit_report(actor=fw.tech_east, visit=visit, work_done="更换机械密封",
                       parts_used=[{"part": "机械密封", "quantity": 2}],
                       signed_off_by="王经理", time_spent_minutes=60, travel_minutes=20,
                       outcome="resolved", version=visit.version)
    open_ticket(users["service"], fw.a, fw, subject="与设备无关")
    client.force_login(users["rep"])
    html = client.get(reverse("assets:detail", args=[asset.pk])).content.decode()
    assert "泵体渗漏" in html and ticket.reference in html and "与设备无关" not in html
    assert "更换机械密封" in html and "王经理" in html
    assert "机械密封 × 2" in html
    assert reverse("field:visit_detail", args=[visit.pk]) in html
    assert "under warranty" in html


def test_new_form_prefills_the_customer_and_creates(client, users, fw, pump):
    client.force_login(users["rep"])
    url = f"{reverse('assets:new')}?customer={fw.a.pk}"
    html = client.get(url).content.decode()
    assert fw.a.name in html
    r = client.post(url, {"customer": fw.a.pk, "product": pump.pk, "name": "",
                          "serial_number": "SN-555", "installed_on": "2025-01-10",
                          "warranty_ends_on": "2024-01-10", "status": "in_service"})
    assert r.status_code == 200 and "cannot end before" in r.content.decode()
    r = client.post(url, {"customer": fw.a.pk, "product": pump.pk, "name": "",
                          "serial_number": "SN-555", "installed_on": "2025-01-10",
                          "warranty_ends_on": "2027-01-10", "status": "in_service"})
    asset = Asset.objects.get(serial_number="SN-555")
    assert r.status_code == 302 and r["Location"] == reverse("assets:detail", args=[asset.pk])
    assert asset.customer == fw.a and asset.name == "离心泵 P200"
    # Without a customer: a picker; another rep's customer: 404; marketing: 403.
    assert "First find the customer" in client.get(reverse("assets:new")).content.decode()
    assert client.get(f"{reverse('assets:new')}?customer={fw.b.pk}").status_code == 404
    client.force_login(users["marketing"])
    assert client.get(url).status_code == 403


def test_edit_and_delete_pages(client, users, fw, asset):
    client.force_login(users["rep"])
    url = reverse("assets:edit", args=[asset.pk])
    data = {"name": asset.name, "serial_number": "SN-001", "status": "faulty",
            "installed_on": "2024-05-01", "version": asset.version}
    assert client.post(url, data).status_code == 302
    asset.refresh_from_db()
    assert asset.status == "faulty" and asset.location == ""
    r = client.post(url, {**data, "status": "retired"})  # stale version
    assert 'id="conflict"' in r.content.decode()
    r = client.post(reverse("assets:delete", args=[asset.pk]))
    assert r.status_code == 302 and not Asset.objects.filter(pk=asset.pk).exists()


def test_customer_page_panel(client, users, fw, asset):
    open_ticket(users["service"], fw.a, fw, asset=asset)
    svc.asset_create(actor=users["rep"], customer=fw.a, name="旧控制柜",
                     warranty_ends_on=TODAY - dt.timedelta(days=10))
    client.force_login(users["rep"])
    html = client.get(reverse("parties:customer_detail", args=[fw.a.pk])).content.decode()
    assert "Installed equipment" in html
    panel = html[html.index('class="asset-panel"'):]
    assert "离心泵 P200" in panel and "SN-001" in panel
    assert "under warranty" in panel and "warranty expired" in panel
    assert '<span class="badge badge-warn">1</span>' in panel
    assert f"{reverse('assets:new')}?customer={fw.a.pk}" in panel
    client.force_login(users["readonly"])
    html = client.get(reverse("parties:customer_detail", args=[fw.a.pk])).content.decode()
    assert "离心泵 P200" in html and 'id="new-asset"' not in html
