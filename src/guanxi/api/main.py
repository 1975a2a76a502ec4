"""The NinjaAPI instance: auth, error shapes, docs, and every app's router under /v1/."""

from __future__ import annotations

from ninja import NinjaAPI

from . import errors
from .auth import api_auth
from .docs import LocalSwagger

DESCRIPTION = """
Customers, contacts and interactions; leads, customer pools, opportunities, pipelines,
tasks and the sales forecast of Guanxi CRM.

**Authentication**: a personal access token (`Authorization: Bearer gx_…`, created
at /api/tokens/) or the logged-in browser session (unsafe methods then need the
`X-CSRFToken` header).

**Permissions** are those of the web interface: a record you may not see answers
404; a write you may not make answers 403 and changes nothing.

**Updates** (PUT/PATCH) carry the `version` you loaded; if someone saved in
between, the answer is 409 with their change in `theirs`.

**Errors**: 422 `{"errors": {"field": ["message"]}}`; custom fields are keyed
`custom.<key>`.
"""

class GuanxiAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """Short operation ids for client generators: the view's name (list_customers)."""
        return operation.view_func.__name__


api = GuanxiAPI(
    title="Guanxi CRM API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=api_auth(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)

api.add_router("/v1/", "guanxi.api.me.router")
api.add_router("/v1/", "guanxi.parties.api.router")
api.add_router("/v1/", "guanxi.activities.api.router")
api.add_router("/v1/", "guanxi.sales.api.router")
api.add_router("/v1/", "guanxi.activities.api_tasks.router")
api.add_router("/v1/", "guanxi.commerce.api.router")
for _module in ("api", "api_assets", "api_sla", "api_field", "api_complaints", "api_screenpop",
                "api_surveys"):
    api.add_router("/v1/", f"guanxi.servicedesk.{_module}.router")
