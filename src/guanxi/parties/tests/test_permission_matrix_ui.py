"""Permission matrix of the customer web UI: every role × every customer, contact and
interaction page.

Reads: a record the user may not see is a 404; a page the user may see but not act on
is a 403. Writes: a refused POST answers 403/404 and leaves the database exactly as it
was (rows, versions, recycle bin, audit log); an allowed POST goes through.

Rules (see parties/querysets.py and parties/permissions.py): reps see their own, shared
and pool customers; the East-region manager sees the East subtree and the pool;
everyone else reads all. The tables below spell the rules out per fixture record.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guanxi.activities import services as activity_services
from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEntry
from guanxi.parties import services
from guanxi.parties.models import Contact, Customer

pytestmark = pytest.mark.django_db

ROLES = ["admin", "director", "manager", "rep", "rep2", "service", "marketing", "finance",
         "readonly"]
ALL = set(ROLES)
TARGETS = ["own", "other", "pool"]  # rep's customer (Shanghai), rep2's (Chongqing), pool

VISIBLE = {"own": ALL - {"rep2"}, "other": ALL - {"rep", "manager"}, "pool": ALL}
EDIT = {
    "own": {"admin", "director", "marketing", "manager", "rep"},
    "other": {"admin", "director", "marketing", "rep2"},
    "pool": {"admin", "director", "marketing", "manager"},  # a rep must claim it first
}
DELETE = {
    "own": {"admin", "director", "manager", "rep"},
    "other": {"admin", "director", "rep2"},
    "pool": {"admin", "director", "manager"},
}
LOG = {t: VISIBLE[t] - {"readonly"} for t in TARGETS}
# Interactions are logged by the owner (own: rep, other: rep2) or the director (pool).
EDIT_INTERACTION = {
    "own": {"rep", "admin", "director", "marketing", "manager"},
    "other": {"rep2", "admin", "director", "marketing"},
    "pool": {"director", "admin", "marketing", "manager"},
}
CREATE = {"admin", "director", "manager", "rep", "rep2", "marketing"}
RESTORE = {"admin"}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def world(users):
    """Three customers, each with a contact and an interaction, and a filled recycle bin."""
    own = services.customer_create(actor=users["rep"], name="上海自有客户")
    other = services.customer_create(actor=users["rep2"], name="重庆别人客户")
    pool = services.customer_create(actor=users["director"], name="公海客户")
    assert pool.owner is None and own.team is not None
    logger = {"own": users["rep"], "other": users["rep2"], "pool": users["director"]}
    world = {}
    for key, customer in (("own", own), ("other", other), ("pool", pool)):
        contact = services.contact_create(actor=logger[key], customer=customer,
                                          name=f"{key}联系人")
        ix = activity_services.interaction_create(
            actor=logger[key], customer=customer, subject=f"{key}电话",
            follow_up_on=dt.date.today())
        world[key] = {"customer": customer, "contact": contact, "interaction": ix}
    binned = services.customer_create(actor=users["admin"], name="回收站客户")
    services.customer_delete(actor=users["admin"], customer=binned)
    bin_contact = services.contact_create(actor=users["admin"], customer=pool, name="回收站联系人")
    services.contact_delete(actor=users["admin"], contact=bin_contact)
    bin_ix = activity_services.interaction_create(actor=users["admin"], customer=pool,
                                                  subject="回收站互动")
    activity_services.interaction_delete(actor=users["admin"], interaction=bin_ix)
    world["bin"] = {"customer": binned, "contact": bin_contact, "interaction": bin_ix}
    return world


def snapshot():
    """Everything a write could touch."""
    return {
        "customers": list(Customer.all_objects.order_by("pk").values_list(
            "pk", "version", "deleted_at", "name", "city", "owner_id")),
        "contacts": list(Contact.all_objects.order_by("pk").values_list(
            "pk", "version", "deleted_at", "name")),
        "interactions": list(Interaction.all_objects.order_by("pk").values_list(
            "pk", "version", "deleted_at", "subject", "follow_up_done")),
        "audit": AuditEntry.objects.count(),
    }


def expected(allowed: set[str], role: str, target: str) -> int:
    if role not in VISIBLE[target]:
        return 404
    return 200 if role in allowed else 403


# ---------------------------------------------------------------- reads


@pytest.mark.parametrize("role", ROLES)
def test_get_pages(client, users, world, role):
    client.force_login(users[role])
    seen = {}
    for target in TARGETS:
        c = world[target]["customer"]
        contact = world[target]["contact"]
        ix = world[target]["interaction"]
        pages = {
            "detail": (reverse("parties:customer_detail", args=[c.pk]), ALL),
            "history": (reverse("parties:customer_history", args=[c.pk]), ALL),
            "edit": (reverse("parties:customer_edit", args=[c.pk]), EDIT[target]),
            "contact_create": (reverse("parties:contact_create", args=[c.pk]), EDIT[target]),
            "contact_edit": (reverse("parties:contact_edit", args=[contact.pk]), EDIT[target]),
            "log": (reverse("activities:log", args=[c.pk]), LOG[target]),
            "interaction_edit": (reverse("activities:interaction_edit", args=[ix.pk]),
                                 EDIT_INTERACTION[target]),
        }
        for name, (url, allowed) in pages.items():
            seen[(target, name)] = (client.get(url).status_code, expected(allowed, role, target))
    wrong = {k: v for k, v in seen.items() if v[0] != v[1]}
    assert not wrong, f"{role}: (got, expected) {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_list_create_and_bin_pages(client, users, world, role):
    client.force_login(users[role])
    r = client.get(reverse("parties:customer_list"))
    assert r.status_code == 200
    listed = {c.pk for c in r.context["page"].object_list}
    assert listed == {world[t]["customer"].pk for t in TARGETS if role in VISIBLE[t]}
    assert world["bin"]["customer"].pk not in listed
    # Filtered lists apply visibility differently (a correlated EXISTS): same rows.
    filtered = client.get(reverse("parties:customer_list"), {"stage": "prospect", "tier": "C"})
    assert {c.pk for c in filtered.context["page"].object_list} == listed
    status = client.get(reverse("parties:customer_create")).status_code
    assert status == (200 if role in CREATE else 403)
    assert client.get(reverse("parties:recycle_bin")).status_code == (
        200 if role in RESTORE else 404)


@pytest.mark.parametrize("role", ROLES)
def test_buttons_follow_permissions(client, users, world, role):
    client.force_login(users[role])
    for target in TARGETS:
        if role not in VISIBLE[target]:
            continue
        c = world[target]["customer"]
        html = client.get(c.get_absolute_url()).content.decode()
        assert (reverse("parties:customer_edit", args=[c.pk]) in html) == (role in EDIT[target])
        assert (reverse("parties:customer_delete", args=[c.pk]) in html) == (
            role in DELETE[target])
        assert ('id="quick-log"' in html) == (role in LOG[target])
        ix = world[target]["interaction"]
        assert (reverse("activities:interaction_edit", args=[ix.pk]) in html) == (
            role in EDIT_INTERACTION[target])
        contact = world[target]["contact"]
        assert (reverse("parties:contact_edit", args=[contact.pk]) in html) == (
            role in EDIT[target])


# ---------------------------------------------------------------- writes


def post_actions(world, target):
    """(name, allowed roles, url, data) of every POST on one target's records, in an
    order that lets one client run them all (deletes last)."""
    w = world[target]
    c, contact, ix = w["customer"], w["contact"], w["interaction"]
    edit_data = {"kind": "org", "name": "改名了", "country": "CN", "tier": "A",
                 "stage": "lead", "credit_days": "0", "version": str(c.version)}
    contact_data = {"name": "改名联系人", "version": str(contact.version)}
    ix_data = {"kind": "visit", "subject": "改过的", "direction": "out",
               "occurred_at": "2025-01-02T03:04", "version": str(ix.version)}
    return [
        ("edit", EDIT[target], reverse("parties:customer_edit", args=[c.pk]), edit_data),
        ("contact_create", EDIT[target], reverse("parties:contact_create", args=[c.pk]),
         {"name": "新联系人"}),
        ("contact_edit", EDIT[target], reverse("parties:contact_edit", args=[contact.pk]),
         contact_data),
        ("contact_delete", EDIT[target], reverse("parties:contact_delete", args=[contact.pk]),
         {}),
        ("log", LOG[target], reverse("activities:log", args=[c.pk]),
         {"form": "quick", "kind": "call", "subject": "新电话"}),
        ("interaction_edit", EDIT_INTERACTION[target],
         reverse("activities:interaction_edit", args=[ix.pk]), ix_data),
        ("follow_up_done", EDIT_INTERACTION[target],
         reverse("activities:follow_up_done", args=[ix.pk]), {}),
        ("interaction_delete", EDIT_INTERACTION[target],
         reverse("activities:interaction_delete", args=[ix.pk]), {}),
        ("delete", DELETE[target], reverse("parties:customer_delete", args=[c.pk]), {}),
    ]


def restore_actions(world):
    b = world["bin"]
    return [(f"restore_{kind}", reverse("parties:restore", args=[kind, b[kind].pk]))
            for kind in ("customer", "contact", "interaction")]


@pytest.mark.parametrize("role", ROLES)
def test_refused_posts_change_nothing(client, users, world, role):
    client.force_login(users[role])
    before = snapshot()
    results = {}
    for target in TARGETS:
        for name, allowed, url, data in post_actions(world, target):
            if role in allowed and role in VISIBLE[target]:
                continue
            want = 404 if role not in VISIBLE[target] else 403
            results[(target, name)] = (client.post(url, data).status_code, want)
    if role not in RESTORE:
        for name, url in restore_actions(world):
            results[("bin", name)] = (client.post(url).status_code, 404)
    if role not in CREATE:
        results[("new", "create")] = (client.post(reverse("parties:customer_create"),
                                                  {"name": "不该有", "kind": "org",
                                                   "country": "CN", "tier": "C",
                                                   "stage": "lead",
                                                   "credit_days": "0"}).status_code, 403)
    wrong = {k: v for k, v in results.items() if v[0] != v[1]}
    assert not wrong, f"{role}: (got, expected) {wrong}"
    assert snapshot() == before


@pytest.mark.parametrize("role, target", [(r, t) for t in TARGETS for r in ROLES
                                           if r in VISIBLE[t]])
def test_allowed_posts_go_through(client, users, world, role, target):
    """Every write the role may do on the target succeeds (deletes last, in this order)."""
    client.force_login(users[role])
    done = []
    for name, allowed, url, data in post_actions(world, target):
        if role not in allowed:
            continue
        before = snapshot()
        r = client.post(url, data)
        form = r.context.get("form") if r.context else None
        assert r.status_code == 302, (name, r.status_code, form and form.errors)
        assert snapshot() != before, name
        assert AuditEntry.objects.count() == before["audit"] + 1, name
        done.append(name)
    assert ("log" in done) == (role in LOG[target])


@pytest.mark.parametrize("kind", ["customer", "contact", "interaction"])
def test_admin_restores(client, users, world, kind):
    client.force_login(users["admin"])
    obj = world["bin"][kind]
    r = client.post(reverse("parties:restore", args=[kind, obj.pk]))
    assert r.status_code == 302
    obj.refresh_from_db()
    assert obj.deleted_at is None
