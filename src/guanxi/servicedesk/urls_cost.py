"""Cost to serve (filled in by the issue 5 work)."""

app_name = "costtoserve"
urlpatterns: list = []
