"""The API permission matrix: every role × every route of the OpenAPI document.

Routes are read from the NinjaAPI's schema at collection time, so a new route
without a row in MATRIX fails `test_route_has_a_matrix_row`. Each route is tried on
three customers (and their contact and interaction):

    A  rep's customer, Shanghai office (inside the manager's East region)
    B  rep2's customer, Chongqing office
    P  the pool: no owner, no team

Expected outcomes are written out by hand below (not computed by the code under
test): visible → 200/201/204, invisible → 404, refused write → 403, and every
refused request (and every read) leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEntry
from guanxi.parties.models import Contact, Customer, Tag

ROLES = ["admin", "director", "manager", "rep", "rep2", "service", "marketing", "finance",
         "readonly"]
ALL = set(ROLES)
TARGETS = ("A", "B", "P")

# Who sees each customer (and its contacts and interactions).
VISIBLE = {"A": ALL - {"rep2"}, "B": ALL - {"manager", "rep"}, "P": ALL}
# Who creates customers.
CREATE_CUSTOMER = {"admin", "director", "manager", "rep", "rep2", "marketing"}
# Who edits each customer and its contacts (reps edit their own; the pool must be claimed).
EDIT_CUSTOMER = {
    "A": {"admin", "director", "marketing", "manager", "rep"},
    "B": {"admin", "director", "marketing", "rep2"},
    "P": {"admin", "director", "marketing", "manager"},
}
# Who moves each customer to the recycle bin (not marketing).
DELETE_CUSTOMER = {
    "A": {"admin", "director", "manager", "rep"},
    "B": {"admin", "director", "rep2"},
    "P": {"admin", "director", "manager"},
}
# Who logs an interaction on each customer (everyone who sees it but read-only).
LOG_INTERACTION = {t: VISIBLE[t] - {"readonly"} for t in TARGETS}
# Who edits or deletes each interaction: its author (A: rep, B: rep2, P: director)
# and, except reps, whoever edits the customer.
EDIT_INTERACTION = {
    "A": {"rep", "admin", "director", "marketing", "manager"},
    "B": {"rep2", "admin", "director", "marketing"},
    "P": {"director", "admin", "marketing", "manager"},
}


# ---------------------------------------------------------------- request builders


def _customer_url(w, t):
    return f"/api/v1/customers/{w.customers[t].pk}"


def _contacts_url(w, t):
    return f"/api/v1/customers/{w.customers[t].pk}/contacts"


def _contact_url(w, t):
    return f"/api/v1/contacts/{w.contacts[t].pk}"


def _interaction_url(w, t):
    return f"/api/v1/interactions/{w.interactions[t].pk}"


def _version(obj) -> int:
    return type(obj).all_objects.get(pk=obj.pk).version


def _put_body(out_schema, put_schema, obj, **changes) -> dict[str, Any]:
    """A full PUT body from the record's current API representation."""
    out = out_schema.from_orm(type(obj).all_objects.get(pk=obj.pk)).model_dump(mode="json")
    body = {k: v for k, v in out.items() if k in put_schema.model_fields}
    body.update(changes)
    return body


def _customer_put(w, t):
    from guanxi.parties.api import CustomerOut, CustomerPut

    return _put_body(CustomerOut, CustomerPut, w.customers[t], city="矩阵市")


def _contact_put(w, t):
    from guanxi.parties.api import ContactOut, ContactPut

    return _put_body(ContactOut, ContactPut, w.contacts[t], title="矩阵经理")


def _interaction_put(w, t):
    from guanxi.activities.api import InteractionOut, InteractionPut

    return _put_body(InteractionOut, InteractionPut, w.interactions[t], subject="矩阵电话")


@dataclass(frozen=True)
class Row:
    """How to call one route on target t, and who may.

    kind: "list" (200; the target's record listed iff visible), "read" (200/404),
    "create" (201/403, no target), "write" (404 if invisible, else 2xx/403).
    """

    kind: str
    url: Callable[[Any, str], str]
    allowed: dict[str, set[str]] | set[str] | None = None
    body: Callable[[Any, str], dict] | None = None
    listed: Callable[[Any, str], int] | None = None  # pk expected among list items
    ok: int = 200
    scoped: bool = True  # False: the route does not depend on the target's visibility


MATRIX: dict[tuple[str, str], Row] = {
    ("get", "/api/v1/me"): Row("read", lambda w, t: "/api/v1/me", scoped=False),
    # customers
    ("get", "/api/v1/customers"): Row(
        "list", lambda w, t: "/api/v1/customers?limit=200",
        listed=lambda w, t: w.customers[t].pk),
    ("post", "/api/v1/customers"): Row(
        "create", lambda w, t: "/api/v1/customers", allowed=CREATE_CUSTOMER, ok=201,
        body=lambda w, t: {"name": "矩阵新客户", "city": "苏州", "tags": ["矩阵"]}),
    ("get", "/api/v1/customers/{customer_id}"): Row("read", _customer_url),
    ("put", "/api/v1/customers/{customer_id}"): Row(
        "write", _customer_url, allowed=EDIT_CUSTOMER, body=_customer_put),
    ("patch", "/api/v1/customers/{customer_id}"): Row(
        "write", _customer_url, allowed=EDIT_CUSTOMER,
        body=lambda w, t: {"version": _version(w.customers[t]), "city": "矩阵市"}),
    ("delete", "/api/v1/customers/{customer_id}"): Row(
        "write", _customer_url, allowed=DELETE_CUSTOMER, ok=204),
    # contacts
    ("get", "/api/v1/customers/{customer_id}/contacts"): Row(
        "read", _contacts_url, listed=lambda w, t: w.contacts[t].pk),
    ("post", "/api/v1/customers/{customer_id}/contacts"): Row(
        "write", _contacts_url, allowed=EDIT_CUSTOMER, ok=201,
        body=lambda w, t: {"name": "矩阵联系人", "mobile": "13900139000"}),
    ("get", "/api/v1/contacts/{contact_id}"): Row("read", _contact_url),
    ("put", "/api/v1/contacts/{contact_id}"): Row(
        "write", _contact_url, allowed=EDIT_CUSTOMER, body=_contact_put),
    ("patch", "/api/v1/contacts/{contact_id}"): Row(
        "write", _contact_url, allowed=EDIT_CUSTOMER,
        body=lambda w, t: {"version": _version(w.contacts[t]), "title": "矩阵经理"}),
    ("delete", "/api/v1/contacts/{contact_id}"): Row(
        "write", _contact_url, allowed=EDIT_CUSTOMER, ok=204),
    # interactions
    ("get", "/api/v1/interactions"): Row(
        "list", lambda w, t: "/api/v1/interactions?limit=200",
        listed=lambda w, t: w.interactions[t].pk),
    ("post", "/api/v1/interactions"): Row(
        "write", lambda w, t: "/api/v1/interactions", allowed=LOG_INTERACTION, ok=201,
        body=lambda w, t: {"customer": w.customers[t].pk, "kind": "call",
                           "subject": "矩阵电话"}),
    ("get", "/api/v1/interactions/{interaction_id}"): Row("read", _interaction_url),
    ("put", "/api/v1/interactions/{interaction_id}"): Row(
        "write", _interaction_url, allowed=EDIT_INTERACTION, body=_interaction_put),
    ("patch", "/api/v1/interactions/{interaction_id}"): Row(
        "write", _interaction_url, allowed=EDIT_INTERACTION,
        body=lambda w, t: {"version": _version(w.interactions[t]), "subject": "矩阵电话"}),
    ("delete", "/api/v1/interactions/{interaction_id}"): Row(
        "write", _interaction_url, allowed=EDIT_INTERACTION, ok=204),
}


def _schema_routes() -> list[tuple[str, str]]:
    from guanxi.api.main import api

    schema = api.get_openapi_schema(path_prefix="/api/")
    return sorted((method, path) for path, ops in schema["paths"].items() for method in ops)


ROUTES = _schema_routes()


# ---------------------------------------------------------------- database snapshot


def snapshot() -> dict[str, Any]:
    """Everything a request could change: rows, versions, values, relations, audit."""
    return {
        "customers": list(Customer.all_objects.order_by("pk").values_list(
            "pk", "version", "name", "city", "tier", "owner_id", "team_id", "custom",
            "deleted_at", "updated_at", "last_contact_at")),
        "customer_tags": list(Customer.tags.through.objects.order_by("pk").values_list(
            "customer_id", "tag_id")),
        "tags": Tag.objects.count(),
        "contacts": list(Contact.all_objects.order_by("pk").values_list(
            "pk", "version", "name", "title", "mobile", "deleted_at", "updated_at")),
        "interactions": list(Interaction.all_objects.order_by("pk").values_list(
            "pk", "version", "subject", "deleted_at", "updated_at")),
        "audit": AuditEntry.objects.count(),
    }


# ---------------------------------------------------------------- tests


def test_route_list_is_not_empty():
    assert len(ROUTES) >= 19


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m.upper()} {p}" for m, p in ROUTES])
def test_route_has_a_matrix_row(route):
    assert route in MATRIX, f"{route} has no row in the API permission matrix"


def test_matrix_has_no_stale_rows():
    assert set(MATRIX) <= set(ROUTES), set(MATRIX) - set(ROUTES)


def _expected(row: Row, role: str, target: str) -> int:
    if row.kind == "list" or not row.scoped:
        return 200
    if row.kind == "create":
        return row.ok if role in row.allowed else 403  # type: ignore[operator]
    if role not in VISIBLE[target]:
        return 404
    if row.kind == "read":
        return 200
    allowed = row.allowed[target] if isinstance(row.allowed, dict) else row.allowed
    return row.ok if role in allowed else 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{m.upper()} {p}" for m, p in ROUTES])
def test_permission_matrix(route, role, api, world):
    row = MATRIX.get(route)
    if row is None:
        pytest.fail(f"{route} has no row in the API permission matrix")
    method = route[0]
    client = api(role)
    targets = ("A",) if row.kind == "create" else TARGETS
    for target in targets:
        expected = _expected(row, role, target)
        body = row.body(world, target) if row.body else None
        before = snapshot()
        resp = client.request(method, row.url(world, target), body)
        where = f"{method.upper()} {route[1]} as {role} on {target}"
        assert resp.status_code == expected, f"{where}: {resp.status_code} {resp.content[:300]!r}"
        after = snapshot()
        if method == "get" or expected >= 400:
            assert after == before, f"{where}: the database changed"
        else:
            assert after != before, f"{where}: nothing was written"
            assert after["audit"] > before["audit"], f"{where}: the write was not audited"
        if row.listed and expected == 200:
            pks = {item["id"] for item in resp.json()["items"]}
            assert (row.listed(world, target) in pks) == (role in VISIBLE[target]), where
        if expected >= 400:
            assert "detail" in resp.json(), where
