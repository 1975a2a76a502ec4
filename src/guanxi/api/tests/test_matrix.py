"""The API permission matrix: every role × every route of the OpenAPI document.

Routes are read from the NinjaAPI's schema at collection time, so a new route
without a row in MATRIX fails `test_route_has_a_matrix_row`. Each route is tried on
three customers (and their contact, interaction, opportunity, lead and task):

    A  rep's customer, Shanghai office (inside the manager's East region); the lead
       and the task are rep's, in Shanghai
    B  rep2's customer, Chongqing office; the lead and the task are rep2's
    P  the pool: no owner, no team (the company pool 总公司公海); its opportunity has
       no owner, its lead is in the pool, its task is the director's

Expected outcomes are written out by hand below (not computed by the code under
test): visible → 200/201/204, invisible → 404, refused write → 403, and every
refused request (and every read) leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from guanxi.activities.models import Interaction, Task
from guanxi.core.models import AuditEntry
from guanxi.parties.models import Contact, Customer, Tag
from guanxi.sales.models import (
    Lead,
    Opportunity,
    OwnerChange,
    Pipeline,
    Pool,
    SalesTarget,
    StageChange,
)

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


# Who edits, moves or deletes each opportunity: its owner (A: rep, B: rep2, P: nobody)
# and whoever edits the customer, except service, finance and read-only.
EDIT_OPPORTUNITY = {
    "A": {"rep", "admin", "director", "marketing", "manager"},
    "B": {"rep2", "admin", "director", "marketing"},
    "P": {"admin", "director", "marketing", "manager"},
}
# Who adds an opportunity to each customer (who edits the customer; not service/finance).
CREATE_OPPORTUNITY = {
    "A": {"admin", "director", "marketing", "manager", "rep"},
    "B": {"admin", "director", "marketing", "rep2"},
    "P": {"admin", "director", "marketing", "manager"},
}
# Roles that own customers and leads, so claim from the pool.
CLAIMERS = {"admin", "director", "manager", "rep", "rep2"}
# Claiming: only P (no owner) can be claimed; an owned A or B answers 422 to a claimer
# who sees it. Other roles: 403 before anything else.
CLAIM = {"A": set(), "B": set(), "P": CLAIMERS}
CLAIM_OWNED = {
    "A": {"admin": 422, "director": 422, "manager": 422, "rep": 422},
    "B": {"admin": 422, "director": 422, "rep2": 422},
}
# Releasing to the pool: the owner, or an administrator/director/manager who may edit
# it; P is in the pool already (422 for everyone, who all see it).
RELEASE = {
    "A": {"rep", "admin", "director", "manager"},
    "B": {"rep2", "admin", "director"},
    "P": set(),
}
IN_POOL = {"P": {role: 422 for role in ROLES}}
# Assigning to the East-region manager: administrators and directors anything; the
# manager only records of the East region (A).
ASSIGN = {
    "A": {"admin", "director", "manager"},
    "B": {"admin", "director"},
    "P": {"admin", "director"},
}
# Leads: visible like the customers (reps: own + pool; managers: + their region).
LEAD_VISIBLE = {"A": ALL - {"rep2"}, "B": ALL - {"manager", "rep"}, "P": ALL}
CREATE_LEAD = {"admin", "director", "manager", "rep", "rep2", "marketing"}
# Who edits, qualifies, converts or deletes each lead: owner, administrators,
# directors, marketing, the manager of the lead's region; nobody else (a rep claims a
# pool lead first; the pool lead has no team, so not the manager's).
EDIT_LEAD = {
    "A": {"rep", "admin", "director", "marketing", "manager"},
    "B": {"rep2", "admin", "director", "marketing"},
    "P": {"admin", "director", "marketing"},
}
# Targets: A rep's, B rep2's, P the company's (a team target). Roles that read all
# customers see every target; reps their own and their office's; the manager those of
# the East region's people and teams.
TARGET_VISIBLE = {"A": ALL - {"rep2"}, "B": ALL - {"rep", "manager"},
                  "P": ALL - {"rep", "rep2", "manager"}}
# Tasks: visible with their customer (or to their assignee and creator).
TASK_VISIBLE = {"A": ALL - {"rep2"}, "B": ALL - {"manager", "rep"}, "P": ALL}
# Who adds a task on each customer: everyone who sees it but read-only.
CREATE_TASK = {
    "A": ALL - {"rep2", "readonly"},
    "B": ALL - {"manager", "rep", "readonly"},
    "P": ALL - {"readonly"},
}
# Who edits, completes, cancels or deletes each task: assignee/creator (A: rep,
# B: rep2, P: director), or an administrator/director/manager who edits the customer.
EDIT_TASK = {
    "A": {"rep", "admin", "director", "manager"},
    "B": {"rep2", "admin", "director"},
    "P": {"director", "admin", "manager"},
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


def _opportunity_url(w, t):
    return f"/api/v1/opportunities/{w.opportunities[t].pk}"


def _lead_url(w, t):
    return f"/api/v1/leads/{w.leads[t].pk}"


def _task_url(w, t):
    return f"/api/v1/tasks/{w.tasks[t].pk}"


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


def _opportunity_put(w, t):
    from guanxi.sales.api import OpportunityOut, OpportunityPut

    return _put_body(OpportunityOut, OpportunityPut, w.opportunities[t], next_step="矩阵报价")


def _lead_put(w, t):
    from guanxi.sales.api_leads import LeadOut, LeadPut

    return _put_body(LeadOut, LeadPut, w.leads[t], city="矩阵市")


def _task_put(w, t):
    from guanxi.activities.api_tasks import TaskOut, TaskPut

    return _put_body(TaskOut, TaskPut, w.tasks[t], title="矩阵任务")


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
    visible: dict[str, set[str]] | None = None  # who sees the target; default VISIBLE
    special: dict[str, dict[str, int]] | None = None  # target → role → other outcome


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
    # pipelines and product lines (reference data: everyone reads them)
    ("get", "/api/v1/pipelines"): Row("read", lambda w, t: "/api/v1/pipelines", scoped=False),
    ("get", "/api/v1/pipelines/{pipeline_id}"): Row(
        "read", lambda w, t: f"/api/v1/pipelines/{w.pipeline.pk}", scoped=False),
    ("get", "/api/v1/product-lines"): Row(
        "read", lambda w, t: "/api/v1/product-lines", scoped=False),
    # opportunities
    ("get", "/api/v1/opportunities"): Row(
        "list", lambda w, t: "/api/v1/opportunities?limit=200",
        listed=lambda w, t: w.opportunities[t].pk),
    ("post", "/api/v1/opportunities"): Row(
        "write", lambda w, t: "/api/v1/opportunities", allowed=CREATE_OPPORTUNITY, ok=201,
        body=lambda w, t: {"customer": w.customers[t].pk, "name": "矩阵商机",
                           "amount": "1000.00"}),
    ("get", "/api/v1/opportunities/{opportunity_id}"): Row("read", _opportunity_url),
    ("put", "/api/v1/opportunities/{opportunity_id}"): Row(
        "write", _opportunity_url, allowed=EDIT_OPPORTUNITY, body=_opportunity_put),
    ("patch", "/api/v1/opportunities/{opportunity_id}"): Row(
        "write", _opportunity_url, allowed=EDIT_OPPORTUNITY,
        body=lambda w, t: {"version": _version(w.opportunities[t]), "next_step": "矩阵报价"}),
    ("delete", "/api/v1/opportunities/{opportunity_id}"): Row(
        "write", _opportunity_url, allowed=EDIT_OPPORTUNITY, ok=204),
    ("post", "/api/v1/opportunities/{opportunity_id}/move"): Row(
        "write", lambda w, t: _opportunity_url(w, t) + "/move", allowed=EDIT_OPPORTUNITY,
        body=lambda w, t: {"stage": w.stages["现场勘查"].pk,
                           "version": _version(w.opportunities[t])}),
    ("get", "/api/v1/opportunities/{opportunity_id}/stage-changes"): Row(
        "read", lambda w, t: _opportunity_url(w, t) + "/stage-changes"),
    # customer pool
    ("get", "/api/v1/pools"): Row("read", lambda w, t: "/api/v1/pools", scoped=False),
    ("get", "/api/v1/pools/{pool_id}/customers"): Row(
        "list", lambda w, t: f"/api/v1/pools/{w.pool.pk}/customers?limit=200",
        listed=lambda w, t: w.customers[t].pk,
        visible={"A": set(), "B": set(), "P": ALL}),
    ("post", "/api/v1/customers/{customer_id}/claim"): Row(
        "write", lambda w, t: _customer_url(w, t) + "/claim", allowed=CLAIM,
        special=CLAIM_OWNED),
    ("post", "/api/v1/customers/{customer_id}/release"): Row(
        "write", lambda w, t: _customer_url(w, t) + "/release", allowed=RELEASE,
        body=lambda w, t: {"note": "矩阵"}, special=IN_POOL),
    ("post", "/api/v1/customer-assignments"): Row(
        "write", lambda w, t: "/api/v1/customer-assignments", allowed=ASSIGN,
        body=lambda w, t: {"customers": [w.customers[t].pk], "to_user": w.users["manager"].pk}),
    # leads
    ("get", "/api/v1/leads"): Row(
        "list", lambda w, t: "/api/v1/leads?limit=200", listed=lambda w, t: w.leads[t].pk,
        visible=LEAD_VISIBLE),
    ("post", "/api/v1/leads"): Row(
        "create", lambda w, t: "/api/v1/leads", allowed=CREATE_LEAD, ok=201,
        body=lambda w, t: {"company": "矩阵新线索", "name": "赵磊", "phone": "13900139000"}),
    ("get", "/api/v1/leads/{lead_id}"): Row("read", _lead_url, visible=LEAD_VISIBLE),
    ("put", "/api/v1/leads/{lead_id}"): Row(
        "write", _lead_url, allowed=EDIT_LEAD, body=_lead_put, visible=LEAD_VISIBLE),
    ("patch", "/api/v1/leads/{lead_id}"): Row(
        "write", _lead_url, allowed=EDIT_LEAD, visible=LEAD_VISIBLE,
        body=lambda w, t: {"version": _version(w.leads[t]), "city": "矩阵市"}),
    ("delete", "/api/v1/leads/{lead_id}"): Row(
        "write", _lead_url, allowed=EDIT_LEAD, ok=204, visible=LEAD_VISIBLE),
    ("post", "/api/v1/leads/{lead_id}/qualify"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/qualify", allowed=EDIT_LEAD,
        visible=LEAD_VISIBLE, body=lambda w, t: {"version": _version(w.leads[t])}),
    ("post", "/api/v1/leads/{lead_id}/disqualify"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/disqualify", allowed=EDIT_LEAD,
        visible=LEAD_VISIBLE, body=lambda w, t: {"reason": "没有预算"}),
    ("post", "/api/v1/leads/{lead_id}/reopen"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/reopen", allowed=EDIT_LEAD,
        visible=LEAD_VISIBLE, body=lambda w, t: {}),
    ("post", "/api/v1/leads/{lead_id}/convert"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/convert", allowed=EDIT_LEAD,
        visible=LEAD_VISIBLE, body=lambda w, t: {"opportunity": {"amount": "50000.00"}}),
    ("get", "/api/v1/leads/{lead_id}/duplicates"): Row(
        "read", lambda w, t: _lead_url(w, t) + "/duplicates", visible=LEAD_VISIBLE),
    ("get", "/api/v1/pools/{pool_id}/leads"): Row(
        "list", lambda w, t: f"/api/v1/pools/{w.pool.pk}/leads?limit=200",
        listed=lambda w, t: w.leads[t].pk, visible={"A": set(), "B": set(), "P": ALL}),
    ("post", "/api/v1/leads/{lead_id}/claim"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/claim", allowed=CLAIM, special=CLAIM_OWNED,
        visible=LEAD_VISIBLE),
    ("post", "/api/v1/leads/{lead_id}/release"): Row(
        "write", lambda w, t: _lead_url(w, t) + "/release", allowed=RELEASE, special=IN_POOL,
        visible=LEAD_VISIBLE, body=lambda w, t: {"note": "矩阵"}),
    ("post", "/api/v1/lead-assignments"): Row(
        "write", lambda w, t: "/api/v1/lead-assignments", allowed=ASSIGN, visible=LEAD_VISIBLE,
        body=lambda w, t: {"leads": [w.leads[t].pk], "to_user": w.users["manager"].pk}),
    # forecast and targets (over what each user sees; see test_api.py for the numbers)
    ("get", "/api/v1/forecast"): Row(
        "read", lambda w, t: "/api/v1/forecast?period=quarter&group_by=region", scoped=False),
    ("get", "/api/v1/targets"): Row(
        "list", lambda w, t: "/api/v1/targets?limit=200", listed=lambda w, t: w.targets[t].pk,
        visible=TARGET_VISIBLE),
    # tasks
    ("get", "/api/v1/tasks"): Row(
        "list", lambda w, t: "/api/v1/tasks?limit=200", listed=lambda w, t: w.tasks[t].pk,
        visible=TASK_VISIBLE),
    ("post", "/api/v1/tasks"): Row(
        "write", lambda w, t: "/api/v1/tasks", allowed=CREATE_TASK, ok=201,
        body=lambda w, t: {"title": "矩阵回访", "kind": "call", "customer": w.customers[t].pk,
                           "due_at": "2030-01-15T10:00:00+08:00"}),
    ("get", "/api/v1/tasks/{task_id}"): Row("read", _task_url, visible=TASK_VISIBLE),
    ("put", "/api/v1/tasks/{task_id}"): Row(
        "write", _task_url, allowed=EDIT_TASK, body=_task_put, visible=TASK_VISIBLE),
    ("patch", "/api/v1/tasks/{task_id}"): Row(
        "write", _task_url, allowed=EDIT_TASK, visible=TASK_VISIBLE,
        body=lambda w, t: {"version": _version(w.tasks[t]), "title": "矩阵任务"}),
    ("delete", "/api/v1/tasks/{task_id}"): Row(
        "write", _task_url, allowed=EDIT_TASK, ok=204, visible=TASK_VISIBLE),
    ("post", "/api/v1/tasks/{task_id}/complete"): Row(
        "write", lambda w, t: _task_url(w, t) + "/complete", allowed=EDIT_TASK,
        visible=TASK_VISIBLE, body=lambda w, t: {"outcome": "reached", "notes": "已联系"}),
    ("post", "/api/v1/tasks/{task_id}/cancel"): Row(
        "write", lambda w, t: _task_url(w, t) + "/cancel", allowed=EDIT_TASK,
        visible=TASK_VISIBLE, body=lambda w, t: {}),
}


# Routes of these modules (issue 5: ERP mirror, service desk) have their rows in
# test_matrix_service.py (SERVICE_MATRIX) and are left out here.
SERVICE_MODULES = ("guanxi.commerce.", "guanxi.servicedesk.")


def _view_modules(api) -> dict[str, str]:
    """operationId (the view's name, unique) → the module that defines the view."""
    modules: dict[str, str] = {}
    pending = [mount[1] for mount in api._routers]
    while pending:
        router = pending.pop()
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                modules[operation.view_func.__name__] = operation.view_func.__module__
        pending.extend(mount[1] for mount in router._routers)
    return modules


def _schema_routes(service: bool = False) -> list[tuple[str, str]]:
    """The (method, path) of every route; service=True: only the issue 5 modules',
    otherwise only the others'."""
    from guanxi.api.main import api

    schema = api.get_openapi_schema(path_prefix="/api/")
    modules = _view_modules(api)
    return sorted(
        (method, path) for path, ops in schema["paths"].items() for method, op in ops.items()
        if modules.get(op["operationId"], "").startswith(SERVICE_MODULES) == service)


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
        "opportunities": list(Opportunity.all_objects.order_by("pk").values_list(
            "pk", "version", "name", "stage_id", "status", "owner_id", "next_step",
            "deleted_at", "updated_at")),
        "stage_changes": StageChange.objects.count(),
        "owner_changes": list(OwnerChange.objects.order_by("pk").values_list(
            "pk", "customer_id", "lead_id", "to_user_id", "reason")),
        "leads": list(Lead.all_objects.order_by("pk").values_list(
            "pk", "version", "company", "city", "status", "owner_id", "pool_id",
            "converted_customer_id", "deleted_at", "updated_at")),
        "tasks": list(Task.all_objects.order_by("pk").values_list(
            "pk", "version", "title", "status", "outcome", "interaction_id", "deleted_at",
            "updated_at")),
        "audit": AuditEntry.objects.count(),
    }


# ---------------------------------------------------------------- the sales world


@pytest.fixture
def world(world, users, org):
    """The customers' world (conftest) plus, per target, an opportunity, a lead, a task and
    a sales target, the default pipeline's stages and the company pool (limit 10/day)."""
    w = world
    w.users = users
    w.pipeline = Pipeline.objects.get(is_default=True)
    w.stages = {s.name: s for s in w.pipeline.stages.all()}
    first = w.stages["初步接洽"]
    w.pool = Pool.objects.create(name="总公司公海", team=org["company"], daily_claim_limit=10)
    deal_owners = {"A": users["rep"], "B": users["rep2"], "P": None}
    w.opportunities = {
        t: Opportunity.objects.create(customer=c, name=f"商机{t}", pipeline=w.pipeline,
                                      stage=first, owner=deal_owners[t], team=c.team)
        for t, c in w.customers.items()}
    w.leads = {
        "A": Lead.objects.create(company="上海线索科技", name="张伟", owner=users["rep"],
                                 team=org["shanghai"], city="上海"),
        "B": Lead.objects.create(company="重庆线索实业", name="李娜", owner=users["rep2"],
                                 team=org["chongqing"], city="重庆"),
        "P": Lead.objects.create(company="公海线索贸易", name="王芳", owner=None, team=None,
                                 pool=w.pool, city="杭州"),
    }
    month = timezone.localdate().replace(day=1)
    w.targets = {
        "A": SalesTarget.objects.create(user=users["rep"], period_start=month, amount=100000),
        "B": SalesTarget.objects.create(user=users["rep2"], period_start=month, amount=80000),
        "P": SalesTarget.objects.create(team=org["company"], period_start=month,
                                        amount=500000),
    }
    assignees = {"A": users["rep"], "B": users["rep2"], "P": users["director"]}
    w.tasks = {
        t: Task.objects.create(title=f"回访{t}", kind="call", assignee=assignees[t],
                               created_by=assignees[t], customer=c,
                               due_at=timezone.now() + dt.timedelta(days=1))
        for t, c in w.customers.items()}
    return w


# ---------------------------------------------------------------- tests


def test_route_list_is_not_empty():
    assert len(ROUTES) >= 19


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m.upper()} {p}" for m, p in ROUTES])
def test_route_has_a_matrix_row(route):
    assert route in MATRIX, f"{route} has no row in the API permission matrix"


def test_matrix_has_no_stale_rows():
    assert set(MATRIX) <= set(ROUTES), set(MATRIX) - set(ROUTES)


def _visible(row: Row, target: str) -> set[str]:
    return (row.visible or VISIBLE)[target]


def _expected(row: Row, role: str, target: str) -> int:
    if row.kind == "list" or not row.scoped:
        return 200
    if row.kind == "create":
        return row.ok if role in row.allowed else 403  # type: ignore[operator]
    if role not in _visible(row, target):
        return 404
    if row.special and role in row.special.get(target, {}):
        return row.special[target][role]
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
            assert (row.listed(world, target) in pks) == (role in _visible(row, target)), where
        if expected >= 400:
            assert "detail" in resp.json(), where
