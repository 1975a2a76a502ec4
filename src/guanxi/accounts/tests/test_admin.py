import pytest
from django.urls import reverse

from guanxi.accounts import services
from guanxi.accounts.models import Role
from guanxi.core.models import AuditEntry
from guanxi.testing.factories import CustomerFactory

MODELS = ["accounts_user", "accounts_team", "accounts_apitoken", "parties_customer",
          "parties_contact", "parties_industry", "parties_tag", "parties_customfielddef",
          "core_auditentry", "core_job", "core_sitesetting"]


@pytest.fixture
def staff_client(client, users):
    # An administrator made through the service gets Django admin access.
    services.user_update(actor=users["admin"], user=users["admin"], role=Role.ADMIN)
    users["admin"].refresh_from_db()
    assert users["admin"].is_staff and users["admin"].is_superuser
    client.force_login(users["admin"])
    return client


@pytest.mark.django_db
def test_every_model_is_in_the_admin(staff_client):
    CustomerFactory()
    for model in MODELS:
        resp = staff_client.get(reverse(f"admin:{model}_changelist"))
        assert resp.status_code == 200, model


@pytest.mark.django_db
def test_audit_log_and_customers_are_read_only_in_the_admin(staff_client, users):
    c = CustomerFactory()
    entry = AuditEntry.objects.create(action="create", model="parties.customer", object_id=c.pk)
    assert staff_client.get(reverse("admin:core_auditentry_add")).status_code == 403
    resp = staff_client.post(reverse("admin:core_auditentry_delete", args=[entry.pk]),
                             {"post": "yes"})
    assert resp.status_code == 403 and AuditEntry.objects.filter(pk=entry.pk).exists()
    resp = staff_client.post(reverse("admin:parties_customer_change", args=[c.pk]),
                             {"name": "改名"})
    assert resp.status_code == 403
    c.refresh_from_db()
    assert c.name != "改名"


@pytest.mark.django_db
def test_admin_edits_are_audited_and_last_admin_is_protected(staff_client, users, org):
    url = reverse("admin:accounts_team_change", args=[org["hangzhou"].pk])
    resp = staff_client.post(url, {"name": "杭州分公司", "kind": "office",
                                   "parent": org["east"].pk, "city": "杭州"})
    assert resp.status_code == 302
    entry = AuditEntry.objects.filter(model="accounts.team", object_id=org["hangzhou"].pk).first()
    assert entry.changes["name"] == ["杭州办事处", "杭州分公司"] and entry.actor == users["admin"]
    admin = users["admin"]
    resp = staff_client.post(reverse("admin:accounts_user_change", args=[admin.pk]), {
        "username": admin.username, "role": "rep", "is_active": "on", "is_staff": "on",
        "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00"},
        HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200  # the form refuses
    assert "last active administrator" in str(resp.context["adminform"].form.non_field_errors())
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
