"""Loading the demo again: `demo --reset` then the same seed gives the same ERP and
service rows. Its own module: a transactional test cannot share a module with the
module-scoped demo fixtures of test_commerce_demo.py and test_service_demo.py."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from guanxi.accounts.models import User
from guanxi.commerce.models import Contract, Invoice
from guanxi.parties.models import Customer
from guanxi.servicedesk.models import FieldVisit, Queue, Survey, Ticket, TicketType

TODAY = dt.date(2026, 3, 31)


@pytest.mark.django_db(transaction=True)
def test_loading_again_after_reset_gives_the_same_rows():
    """`demo --reset` flushes the queues and types the migration made; the load puts
    them back, and the same seed gives the same rows."""

    def run(*args: str) -> list:
        call_command("demo", "--customers=150", f"--today={TODAY}", "--seed=5", *args,
                     stdout=io.StringIO())
        return [
            list(Contract.objects.order_by("pk").values_list("number", "amount", "status")),
            list(Invoice.objects.order_by("pk").values_list("number", "paid_amount")),
            list(Ticket.all_objects.order_by("pk").values_list(
                "customer_id", "type__code", "subject", "status", "resolution_due_at")),
            list(FieldVisit.objects.order_by("pk").values_list("ticket_id", "scheduled_start")),
            list(Survey.objects.order_by("pk").values_list("kind", "score")),
        ]

    first = run()
    assert first[0] and first[2] and Customer.objects.count() == 150
    again = run("--reset")
    assert again == first
    assert Queue.objects.count() == 5 and TicketType.objects.count() == 7
    assert User.objects.filter(username="eng_mgr").count() == 1
