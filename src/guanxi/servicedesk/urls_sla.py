"""SLA: policies, business calendar, figures per queue (filled in by the issue 5 work)."""

app_name = "sla"
urlpatterns: list = []
