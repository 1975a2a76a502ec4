"""Service desk: queues, tickets (filled in by the issue 5 work)."""

app_name = "service"
urlpatterns: list = []
