"""Complaints: list, handling, complaint rates (filled in by the issue 5 work)."""

app_name = "complaints"
urlpatterns: list = []
