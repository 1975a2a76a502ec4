"""Public one-click survey pages (filled in by the issue 5 work)."""

app_name = "survey"
urlpatterns: list = []
