"""Installed equipment (filled in by the issue 5 work)."""

app_name = "assets"
urlpatterns: list = []
