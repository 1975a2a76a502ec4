import re

import pytest
from django.test import Client

EXPECTED_PATHS = {
    "/api/v1/me",
    "/api/v1/customers",
    "/api/v1/customers/{customer_id}",
    "/api/v1/customers/{customer_id}/contacts",
    "/api/v1/contacts/{contact_id}",
    "/api/v1/interactions",
    "/api/v1/interactions/{interaction_id}",
    # sales (issue 4)
    "/api/v1/pipelines",
    "/api/v1/pipelines/{pipeline_id}",
    "/api/v1/product-lines",
    "/api/v1/opportunities",
    "/api/v1/opportunities/{opportunity_id}",
    "/api/v1/opportunities/{opportunity_id}/move",
    "/api/v1/opportunities/{opportunity_id}/stage-changes",
    "/api/v1/pools",
    "/api/v1/pools/{pool_id}/customers",
    "/api/v1/customers/{customer_id}/claim",
    "/api/v1/customers/{customer_id}/release",
    "/api/v1/customer-assignments",
    "/api/v1/leads",
    "/api/v1/lead-assignments",
    "/api/v1/leads/{lead_id}",
    "/api/v1/leads/{lead_id}/qualify",
    "/api/v1/leads/{lead_id}/disqualify",
    "/api/v1/leads/{lead_id}/reopen",
    "/api/v1/leads/{lead_id}/convert",
    "/api/v1/leads/{lead_id}/duplicates",
    "/api/v1/pools/{pool_id}/leads",
    "/api/v1/leads/{lead_id}/claim",
    "/api/v1/leads/{lead_id}/release",
    "/api/v1/forecast",
    "/api/v1/targets",
    "/api/v1/tasks",
    "/api/v1/tasks/{task_id}",
    "/api/v1/tasks/{task_id}/complete",
    "/api/v1/tasks/{task_id}/cancel",
    # commerce mirror of the ERP (issue 5)
    "/api/v1/erp/product_lines",
    "/api/v1/erp/products",
    "/api/v1/erp/contracts",
    "/api/v1/erp/orders",
    "/api/v1/erp/deliveries",
    "/api/v1/erp/invoices",
    "/api/v1/erp/payments",
    "/api/v1/customers/{customer_id}/contracts",
    "/api/v1/customers/{customer_id}/orders",
    "/api/v1/customers/{customer_id}/deliveries",
    "/api/v1/customers/{customer_id}/invoices",
    "/api/v1/customers/{customer_id}/payments",
    "/api/v1/contracts/{contract_id}",
    "/api/v1/orders/{order_id}",
    "/api/v1/invoices/{invoice_id}",
    "/api/v1/receivables",
    # service desk (issue 5)
    "/api/v1/tickets",
    "/api/v1/tickets/{ticket_id}",
    "/api/v1/tickets/{ticket_id}/messages",
    "/api/v1/tickets/{ticket_id}/assign",
    "/api/v1/tickets/{ticket_id}/status",
    "/api/v1/tickets/{ticket_id}/merge",
    "/api/v1/ticket-types",
    "/api/v1/queues",
    "/api/v1/sla/figures",
    "/api/v1/sla/policies",
    "/api/v1/sla/calendar",
    "/api/v1/sla/calendar/days",
    "/api/v1/complaints",
    "/api/v1/complaints/rates",
    "/api/v1/complaints/{ticket_id}",
    "/api/v1/complaints/{ticket_id}/follow-up",
    "/api/v1/assets",
    "/api/v1/assets/{asset_id}",
    "/api/v1/assets/{asset_id}/history",
    "/api/v1/visits",
    "/api/v1/visits/{visit_id}",
    "/api/v1/visits/{visit_id}/report",
    "/api/v1/visits/{visit_id}/cancel",
    "/api/v1/screen-pop",
    "/api/v1/surveys",
    "/api/v1/customers/{customer_id}/satisfaction",
    "/api/v1/nps-campaigns",
    "/api/v1/nps-campaigns/{campaign_id}",
    "/api/v1/cost-to-serve",
}


@pytest.mark.django_db
def test_openapi_document_lists_the_paths():
    resp = Client().get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == EXPECTED_PATHS
    assert set(doc["paths"]["/api/v1/customers/{customer_id}"]) == {"get", "put", "patch", "delete"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionCookieAuth"]["in"] == "cookie"
    assert "version" in doc["components"]["schemas"]["CustomerPatch"]["required"]
    assert "409" in doc["paths"]["/api/v1/customers/{customer_id}"]["patch"]["responses"]
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and "list_customers" in ids


@pytest.mark.django_db
def test_docs_page_uses_no_external_urls():
    resp = Client().get("/api/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "swagger-ui-bundle.js" in html and "/api/openapi.json" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


@pytest.mark.django_db
def test_docs_assets_are_served_locally():
    html = Client().get("/api/docs").content.decode()
    for url in re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", html):
        resp = Client().get(url)
        assert resp.status_code == 200, url
        if hasattr(resp, "streaming_content"):
            b"".join(resp.streaming_content)
