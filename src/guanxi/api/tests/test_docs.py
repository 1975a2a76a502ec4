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
