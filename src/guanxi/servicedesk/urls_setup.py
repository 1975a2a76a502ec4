"""Service desk setup: ticket types, queues (filled in by the issue 5 work)."""

app_name = "servicesetup"
urlpatterns: list = []
