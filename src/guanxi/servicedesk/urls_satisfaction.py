"""Satisfaction: figures, NPS campaigns (filled in by the issue 5 work)."""

app_name = "satisfaction"
urlpatterns: list = []
