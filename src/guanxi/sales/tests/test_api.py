"""The sales REST API: opportunities (create, stage gates, 409 conflicts), pipelines, the
customer pool (claim limit → 429), leads (convert) and the forecast (same numbers as
the service). Permission outcomes of every route are in api/tests/test_matrix.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.api.tests.conftest import ApiClient
from guanxi.core.models import AuditEntry
from guanxi.core.registry import timeline_page
from guanxi.parties.models import Contact, Customer
from guanxi.sales import forecast as forecast_services
from guanxi.sales.models import (
    Lead,
    LeadStatus,
    Opportunity,
    OwnerChange,
    Pipeline,
    Pool,
    SalesTarget,
    Stage,
    StageChange,
)
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(users):
    def make(role: str) -> ApiClient:
        _token, key = ApiToken.issue(user=users[role], name=f"test {role}")
        return ApiClient(key)

    return make


@pytest.fixture
def customer(users, org):
    return CustomerFactory(name="上海清源水务", owner=users["rep"], team=org["shanghai"])


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def create_deal(client, customer, **body):
    resp = client.post("/api/v1/opportunities", {"customer": customer.pk, "name": "反渗透设备",
                                                 **body})
    assert resp.status_code == 201, resp.content
    return resp.json()


# ---------------------------------------------------------------- opportunities


def test_create_starts_in_the_first_stage_audited_and_on_the_timeline(api, users, customer):
    deal = create_deal(api("rep"), customer, amount="380000.00", expected_close="2026-06-30")
    assert deal["stage_name"] == "初步接洽" and deal["status"] == "open"
    assert deal["owner"] == users["rep"].pk and deal["team"] == customer.team_id
    assert deal["win_probability"] == 10 and Decimal(deal["amount_cny"]) == Decimal(380000)
    assert deal["version"] == 1 and deal["pipeline_name"] == "标准销售流程"
    assert AuditEntry.objects.filter(model="sales.opportunity", object_id=deal["id"],
                                     action="create", customer_id=customer.pk).exists()
    entries, _cursor = timeline_page(customer=customer, user=users["rep"], kinds={"deal"})
    assert len(entries) == 1 and "反渗透设备" in entries[0].title


def test_create_validates_references_and_unknown_fields(api, customer, users):
    other = CustomerFactory(owner=users["rep"])
    foreign_contact = Contact.objects.create(customer=other, name="别家的人")
    client = api("rep")
    resp = client.post("/api/v1/opportunities", {"customer": customer.pk, "name": "X",
                                                 "contact": foreign_contact.pk})
    assert resp.status_code == 422 and "contact" in resp.json()["errors"]
    resp = client.post("/api/v1/opportunities", {"customer": customer.pk, "name": "X",
                                                 "colour": "red"})
    assert resp.status_code == 422 and "colour" in resp.json()["errors"]
    resp = client.post("/api/v1/opportunities", {"customer": customer.pk, "name": " "})
    assert resp.status_code == 422 and "name" in resp.json()["errors"]
    assert not Opportunity.all_objects.exists()


def test_a_gated_stage_answers_422_with_what_is_missing_and_writes_nothing(api, customer):
    client = api("rep")
    deal = create_deal(client, customer)
    url = f"/api/v1/opportunities/{deal['id']}"
    resp = client.post(url + "/move", {"stage": stage("方案报价").pk, "version": 1})
    assert resp.status_code == 422
    body = resp.json()
    assert body["stage"] == stage("方案报价").pk and len(body["missing"]) == 2
    assert body["errors"]["stage"] == body["missing"]
    assert "方案报价" in body["detail"]
    fresh = Opportunity.objects.get(pk=deal["id"])
    assert fresh.stage.name == "初步接洽" and fresh.version == 1
    assert StageChange.objects.filter(opportunity=fresh).count() == 1

    # Fill in the amount, log the visit (both over the API), then the move goes through.
    resp = client.patch(url, {"version": 1, "amount": "120000"})
    assert resp.status_code == 200 and resp.json()["version"] == 2
    resp = client.post(url + "/move", {"stage": stage("方案报价").pk, "version": 2})
    assert resp.status_code == 422 and len(resp.json()["missing"]) == 1
    resp = client.post("/api/v1/interactions", {"customer": customer.pk, "kind": "visit",
                                                "subject": "现场勘查"})
    assert resp.status_code == 201
    resp = client.post(url + "/move", {"stage": stage("方案报价").pk, "version": 2})
    assert resp.status_code == 200, resp.content
    assert resp.json()["stage_name"] == "方案报价" and resp.json()["win_probability"] == 60
    history = client.get(url + "/stage-changes").json()
    assert [h["to_stage_name"] for h in history] == ["初步接洽", "方案报价"]
    assert history[1]["from_stage_name"] == "初步接洽"


def test_lost_needs_a_reason_and_closes_the_deal(api, customer):
    client = api("rep")
    deal = create_deal(client, customer)
    url = f"/api/v1/opportunities/{deal['id']}/move"
    resp = client.post(url, {"stage": stage("输单").pk})
    assert resp.status_code == 422 and resp.json()["missing"]
    resp = client.post(url, {"stage": stage("输单").pk, "lost_reason": "价格高于竞品"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "lost" and resp.json()["lost_reason"] == "价格高于竞品"
    assert resp.json()["closed_on"] == timezone.localdate().isoformat()


def test_a_stage_of_another_pipeline_is_422(api, customer):
    other = Pipeline.objects.create(name="备件")
    foreign = Stage.objects.create(pipeline=other, name="报价", order=1)
    client = api("rep")
    deal = create_deal(client, customer)
    resp = client.post(f"/api/v1/opportunities/{deal['id']}/move", {"stage": foreign.pk})
    assert resp.status_code == 422 and "stage" in resp.json()["errors"]


def test_a_stale_version_is_a_409_with_their_change(api, customer):
    rep, manager = api("rep"), api("manager")
    deal = create_deal(rep, customer)
    url = f"/api/v1/opportunities/{deal['id']}"
    assert manager.patch(url, {"version": 1, "next_step": "发报价"}).status_code == 200
    resp = rep.patch(url, {"version": 1, "name": "旧版本上的修改"})
    assert resp.status_code == 409
    body = resp.json()
    assert body["current_version"] == 2
    assert body["theirs"][0]["changes"]["next_step"] == ["", "发报价"]
    assert Opportunity.objects.get(pk=deal["id"]).name == "反渗透设备"
    resp = rep.post(url + "/move", {"stage": stage("现场勘查").pk, "version": 1})
    assert resp.status_code == 409
    # PUT needs every field: a missing one is 422, not a silent reset.
    resp = rep.put(url, {"version": 2, "name": "只有名字"})
    assert resp.status_code == 422 and "amount" in resp.json()["errors"]


def test_put_replaces_the_details(api, customer, users):
    client = api("rep")
    deal = create_deal(client, customer, amount="1000")
    body = {k: v for k, v in client.get(f"/api/v1/opportunities/{deal['id']}").json().items()
            if k in ("name", "contact", "owner", "team", "product_line", "products", "amount",
                     "currency", "exchange_rate", "expected_close", "probability",
                     "competitors", "next_step", "source", "lost_reason", "version")}
    body.update(currency="USD", exchange_rate="7.1", competitors="威立雅")
    resp = client.put(f"/api/v1/opportunities/{deal['id']}", body)
    assert resp.status_code == 200, resp.content
    assert Decimal(resp.json()["amount_cny"]) == Decimal("7100.00")
    assert resp.json()["competitors"] == "威立雅" and resp.json()["version"] == 2


def test_visibility_and_refusals(api, users, customer):
    deal = create_deal(api("rep"), customer)
    url = f"/api/v1/opportunities/{deal['id']}"
    assert api("rep2").get(url).status_code == 404
    assert api("rep2").patch(url, {"version": 1, "name": "x"}).status_code == 404
    resp = api("readonly").patch(url, {"version": 1, "name": "只读的修改"})
    assert resp.status_code == 403 and "detail" in resp.json()
    # A refused write is refused before its body is validated: 403, not 422.
    assert api("finance").patch(url, {"version": 1, "name": " "}).status_code == 403
    assert api("rep2").post("/api/v1/opportunities",
                            {"customer": customer.pk, "name": "x"}).status_code == 404
    assert Opportunity.objects.get(pk=deal["id"]).version == 1
    assert api("rep").delete(url).status_code == 204
    assert api("rep").get(url).status_code == 404
    assert Opportunity.all_objects.get(pk=deal["id"]).deleted_at is not None


def test_list_filters(api, users, customer, org):
    client = api("director")
    first = create_deal(client, customer, expected_close="2026-03-31")
    other_customer = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    second = create_deal(client, other_customer, expected_close="2026-09-30")
    client.post(f"/api/v1/opportunities/{second['id']}/move",
                {"stage": stage("输单").pk, "lost_reason": "预算取消"})

    def ids(**params):
        resp = client.get("/api/v1/opportunities", params)
        assert resp.status_code == 200, resp.content
        return {item["id"] for item in resp.json()["items"]}

    assert ids() == {first["id"], second["id"]}
    assert ids(status="open") == {first["id"]}
    assert ids(status="lost") == {second["id"]}
    assert ids(owner=str(users["rep"].pk)) == {first["id"]}
    assert ids(customer=other_customer.pk) == {second["id"]}
    assert ids(stage=stage("初步接洽").pk) == {first["id"]}
    assert ids(team=org["east"].pk) == {first["id"]}
    assert ids(closing_until="2026-06-30") == {first["id"]}
    assert ids(updated_since=(timezone.now() + dt.timedelta(hours=1)).isoformat()) == set()
    assert client.get("/api/v1/opportunities", {"status": "maybe"}).status_code == 422
    assert {i["id"] for i in api("rep").get("/api/v1/opportunities").json()["items"]} == {
        first["id"]}


def test_pipelines_show_stages_and_rules(api):
    pipelines = api("readonly").get("/api/v1/pipelines").json()
    default = next(p for p in pipelines if p["is_default"])
    quote = next(s for s in default["stages"] if s["name"] == "方案报价")
    assert quote["required_fields"] == ["amount"] and quote["required_activities"] == ["visit"]
    assert [s["order"] for s in default["stages"]] == sorted(s["order"] for s in default["stages"])
    assert api("rep").get(f"/api/v1/pipelines/{default['id']}").json()["name"] == "标准销售流程"
    assert api("rep").get("/api/v1/pipelines/999999").status_code == 404


# ---------------------------------------------------------------- the pool


@pytest.fixture
def east_pool(org):
    return Pool.objects.create(name="华东公海", team=org["east"], daily_claim_limit=2)


def test_claiming_over_the_daily_limit_is_429_and_writes_nothing(api, users, org, east_pool):
    pool_customers = [CustomerFactory(name=f"公海客户{i}", owner=None, team=org["shanghai"])
                      for i in range(3)]
    client = api("rep")
    listing = client.get("/api/v1/pools").json()
    assert [p["name"] for p in listing["items"]] == ["华东公海"]
    assert listing["items"][0]["customer_count"] == 3 and listing["claims_today"] == 0
    for c in pool_customers[:2]:
        resp = client.post(f"/api/v1/customers/{c.pk}/claim")
        assert resp.status_code == 200 and resp.json()["owner"] == users["rep"].pk
    before = (AuditEntry.objects.count(), OwnerChange.objects.count())
    resp = client.post(f"/api/v1/customers/{pool_customers[2].pk}/claim")
    assert resp.status_code == 429
    body = resp.json()
    assert body["claimed_today"] == 2 and body["limit"] == 2 and "2" in body["detail"]
    assert 0 < int(resp["Retry-After"]) <= 24 * 3600
    assert Customer.objects.get(pk=pool_customers[2].pk).owner_id is None
    assert (AuditEntry.objects.count(), OwnerChange.objects.count()) == before
    assert client.get("/api/v1/pools").json()["claims_today"] == 2
    pool_list = client.get(f"/api/v1/pools/{east_pool.pk}/customers").json()
    assert [c["id"] for c in pool_list["items"]] == [pool_customers[2].pk]
    # Claiming an owned customer is 422 (not the limit).
    resp = api("manager").post(f"/api/v1/customers/{pool_customers[0].pk}/claim")
    assert resp.status_code == 422


def test_release_and_assign(api, users, org, east_pool, customer):
    resp = api("rep").post(f"/api/v1/customers/{customer.pk}/release", {"note": "不再跟进"})
    assert resp.status_code == 200 and resp.json()["owner"] is None
    change = OwnerChange.objects.get(customer=customer)
    assert change.reason == "release" and change.note == "不再跟进" and change.pool == east_pool
    assert api("rep").post(f"/api/v1/customers/{customer.pk}/release",
                           {}).status_code == 422  # already in the pool
    b = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    # The manager does not see B: 404, nothing assigned.
    resp = api("manager").post("/api/v1/customer-assignments",
                               {"customers": [customer.pk, b.pk], "to_user": users["rep"].pk})
    assert resp.status_code == 404 and str(b.pk) in resp.json()["detail"]
    assert Customer.objects.get(pk=customer.pk).owner_id is None
    resp = api("director").post("/api/v1/customer-assignments",
                                {"customers": [customer.pk, b.pk], "to_user": users["rep"].pk,
                                 "note": "重新分配"})
    assert resp.status_code == 200 and resp.json() == {"changed": 2}
    assert set(Customer.objects.filter(owner=users["rep"]).values_list("pk", flat=True)) == {
        customer.pk, b.pk}
    resp = api("director").post("/api/v1/customer-assignments",
                                {"customers": [b.pk], "to_user": users["readonly"].pk})
    assert resp.status_code == 422


# ---------------------------------------------------------------- leads


def test_lead_lifecycle_and_convert(api, users, org):
    client = api("rep")
    resp = client.post("/api/v1/leads", {"company": "苏州恒通精密机械有限公司", "name": "陈静",
                                         "title": "采购经理", "phone": "138 0013 8000",
                                         "estimated_amount": "250000", "source": "exhibition"})
    assert resp.status_code == 201, resp.content
    lead = resp.json()
    assert lead["owner"] == users["rep"].pk and lead["status"] == "new"
    assert lead["phone"] == "+8613800138000" and lead["team"] == org["shanghai"].pk
    url = f"/api/v1/leads/{lead['id']}"
    assert api("rep2").get(url).status_code == 404
    assert client.post(url + "/disqualify", {"reason": ""}).status_code == 422
    resp = client.post(url + "/qualify", {"version": lead["version"]})
    assert resp.status_code == 200 and resp.json()["status"] == "qualified"
    # A stale version is a conflict.
    assert client.post(url + "/qualify", {"version": lead["version"]}).status_code == 409

    resp = client.post(url + "/convert", {"opportunity": {"name": "精密机床冷却水处理",
                                                          "expected_close": "2026-05-31"}})
    assert resp.status_code == 200, resp.content
    converted = resp.json()
    assert converted["status"] == "converted"
    customer = Customer.objects.get(pk=converted["converted_customer"])
    assert customer.name == "苏州恒通精密机械有限公司" and customer.owner == users["rep"]
    assert Contact.objects.get(pk=converted["converted_contact"]).name == "陈静"
    deal = Opportunity.objects.get(pk=converted["converted_opportunity"])
    assert deal.lead_id == lead["id"] and deal.customer == customer
    assert deal.amount == Decimal(250000) and deal.name == "精密机床冷却水处理"
    assert AuditEntry.objects.filter(model="sales.lead", object_id=lead["id"],
                                     customer_id=customer.pk).exists()
    entries, _cursor = timeline_page(customer=customer, user=users["rep"],
                                     kinds={"lead", "deal"})
    assert {e.kind for e in entries} == {"lead", "deal"}
    assert client.post(url + "/convert", {}).status_code == 422  # only once


def test_convert_into_an_existing_customer(api, users, customer):
    client = api("rep")
    lead = client.post("/api/v1/leads", {"company": "上海清源水务", "name": "刘洋"}).json()
    dupes = client.get(f"/api/v1/leads/{lead['id']}/duplicates").json()
    assert dupes and dupes[0]["customer"] == customer.pk
    resp = client.post(f"/api/v1/leads/{lead['id']}/convert",
                       {"customer": customer.pk, "create_opportunity": False})
    assert resp.status_code == 200, resp.content
    assert resp.json()["converted_customer"] == customer.pk
    assert resp.json()["converted_opportunity"] is None
    assert Customer.objects.count() == 1
    assert Contact.objects.filter(customer=customer, name="刘洋").exists()


def test_convert_into_an_invisible_customer_is_404_and_writes_nothing(api, users, org):
    theirs = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    client = api("rep")
    lead = client.post("/api/v1/leads", {"company": "某公司", "name": "周强"}).json()
    before = (Customer.all_objects.count(), Contact.all_objects.count(),
              Opportunity.all_objects.count(), AuditEntry.objects.count())
    resp = client.post(f"/api/v1/leads/{lead['id']}/convert", {"customer": theirs.pk})
    assert resp.status_code == 404
    assert Lead.objects.get(pk=lead["id"]).status == LeadStatus.NEW
    assert (Customer.all_objects.count(), Contact.all_objects.count(),
            Opportunity.all_objects.count(), AuditEntry.objects.count()) == before


def test_lead_pool_claim_shares_the_daily_limit(api, users, org, east_pool):
    customers = [CustomerFactory(owner=None, team=org["shanghai"]) for _ in range(2)]
    lead = Lead.objects.create(company="公海线索", owner=None, team=org["shanghai"],
                               pool=east_pool)
    client = api("rep")
    assert [row["id"] for row in client.get(f"/api/v1/pools/{east_pool.pk}/leads")
            .json()["items"]] == [lead.pk]
    for c in customers:
        assert client.post(f"/api/v1/customers/{c.pk}/claim").status_code == 200
    resp = client.post(f"/api/v1/leads/{lead.pk}/claim")
    assert resp.status_code == 429 and resp.json()["limit"] == 2
    assert Lead.objects.get(pk=lead.pk).owner_id is None
    resp = api("rep2").post(f"/api/v1/leads/{lead.pk}/claim")
    assert resp.status_code == 200 and resp.json()["owner"] == users["rep2"].pk
    resp = api("rep2").post(f"/api/v1/leads/{lead.pk}/release", {"note": "不是目标客户"})
    assert resp.status_code == 200 and resp.json()["owner"] is None
    resp = api("director").post("/api/v1/lead-assignments",
                                {"leads": [lead.pk], "to_user": users["rep"].pk})
    assert resp.status_code == 200 and resp.json() == {"changed": 1}
    assert Lead.objects.get(pk=lead.pk).owner == users["rep"]


def test_lead_list_filters(api, users, org):
    client = api("director")
    a = client.post("/api/v1/leads", {"company": "杭州绿源", "owner": users["rep"].pk,
                                      "source": "website"}).json()
    b = client.post("/api/v1/leads", {"company": "成都蓝天", "owner": None}).json()

    def ids(**params):
        resp = client.get("/api/v1/leads", params)
        assert resp.status_code == 200, resp.content
        return {item["id"] for item in resp.json()["items"]}

    assert ids() == {a["id"], b["id"]}
    assert ids(owner="none") == {b["id"]}
    assert ids(q="绿源") == {a["id"]}
    assert ids(source="website") == {a["id"]}
    assert ids(status="converted") == set()
    assert ids(ordering="-score") == {a["id"], b["id"]}


# ---------------------------------------------------------------- forecast and targets


def test_forecast_numbers_equal_the_services(api, users, org):
    today = timezone.localdate()
    close = today.replace(day=28)
    shanghai = CustomerFactory(owner=users["rep"], team=org["shanghai"])
    chongqing = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    rep, rep2 = api("rep"), api("rep2")
    create_deal(rep, shanghai, amount="100000", expected_close=close.isoformat())
    create_deal(rep, shanghai, amount="40000", expected_close=close.isoformat(),
                probability=90)
    create_deal(rep2, chongqing, amount="70000", expected_close=close.isoformat())
    won = create_deal(rep2, chongqing, amount="30000", expected_close=close.isoformat())
    assert rep2.post(f"/api/v1/opportunities/{won['id']}/move",
                     {"stage": stage("赢单").pk}).status_code == 200
    SalesTarget.objects.create(user=users["rep2"], period_start=today.replace(day=1),
                               amount=60000)

    for role, group_by, period in (("director", "rep", "month"), ("director", "region",
                                                                   "quarter"),
                                   ("rep", "rep", "month"), ("manager", "team", "quarter")):
        resp = api(role).get("/api/v1/forecast", {"period": period, "group_by": group_by})
        assert resp.status_code == 200, resp.content
        body = resp.json()
        expected = forecast_services.forecast(users[role], kind=period, group_by=group_by)
        assert body["commit_threshold"] == expected.threshold
        assert [p["start"] for p in body["periods"]] == [p.start.isoformat()
                                                          for p in expected.periods]
        assert Decimal(body["total"]["pipeline"]) == expected.total.totals.pipeline
        assert Decimal(body["total"]["weighted"]) == expected.total.totals.weighted
        assert Decimal(body["total"]["committed"]) == expected.total.totals.committed
        assert Decimal(body["total"]["won"]) == expected.total.won
        assert [(g["key"], Decimal(g["pipeline"]), Decimal(g["won"]))
                for g in body["by_group"]] == [
            (g.key, g.totals.pipeline, g.won) for g in expected.by_group]
        assert [Decimal(p["weighted"]) for p in body["by_period"]] == [
            p.totals.weighted for p in expected.by_period]

    # And the numbers themselves, by hand: the director sees all four deals.
    body = api("director").get("/api/v1/forecast", {"group_by": "rep"}).json()
    assert Decimal(body["by_period"][0]["pipeline"]) == Decimal(210000)
    assert Decimal(body["by_period"][0]["won"]) == Decimal(30000)
    rep2_row = next(g for g in body["by_group"] if g["key"] == users["rep2"].pk)
    assert Decimal(rep2_row["target"]) == Decimal(60000) and rep2_row["attainment"] == 50.0
    # The rep sees only their own deals.
    body = api("rep").get("/api/v1/forecast").json()
    assert Decimal(body["total"]["pipeline"]) == Decimal(140000)
    assert Decimal(body["total"]["won"]) == 0
    assert api("rep").get("/api/v1/forecast", {"group_by": "planet"}).status_code == 422


def test_targets_are_scoped_and_show_attainment(api, users, org):
    month = timezone.localdate().replace(day=1)
    mine = SalesTarget.objects.create(user=users["rep"], period_start=month, amount=50000)
    theirs = SalesTarget.objects.create(user=users["rep2"], period_start=month, amount=50000)
    items = api("rep").get("/api/v1/targets").json()["items"]
    assert [t["id"] for t in items] == [mine.pk]
    assert items[0]["attainment"] == 0.0 and Decimal(items[0]["won"]) == 0
    assert {t["id"] for t in api("director").get("/api/v1/targets").json()["items"]} == {
        mine.pk, theirs.pk}
