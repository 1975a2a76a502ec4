"""Field service: dispatch board, my visits, visit report (filled in by the issue 5 work)."""

app_name = "field"
urlpatterns: list = []
