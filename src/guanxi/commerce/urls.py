"""Commerce pages: contracts, orders, deliveries, invoices, payments (filled in by the issue 5 work)."""

app_name = "commerce"
urlpatterns: list = []
