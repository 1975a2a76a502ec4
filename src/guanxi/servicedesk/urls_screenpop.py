"""Caller screen-pop and call log (filled in by the issue 5 work)."""

app_name = "screenpop"
urlpatterns: list = []
