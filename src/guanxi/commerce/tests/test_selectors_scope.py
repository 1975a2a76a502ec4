"""`selectors.visible` is `Model.objects.visible_to(user)` for every role."""

from __future__ import annotations

import pytest

from guanxi.commerce import selectors
from guanxi.commerce.models import Contract, Delivery, Invoice, Order, Payment
from guanxi.testing.factories import CustomerFactory

from . import erp_rows as erp

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(users, org):
    from django.utils import timezone

    customers = [
        CustomerFactory(owner=users["rep"], team=org["shanghai"]),
        CustomerFactory(owner=users["rep2"], team=org["chongqing"]),
        CustomerFactory(owner=None, team=org["hangzhou"]),            # the pool
        CustomerFactory(owner=users["rep2"], team=org["hangzhou"]),   # in the manager's region
        CustomerFactory(owner=users["rep"], deleted_at=timezone.now()),  # recycle bin
    ]
    shared = CustomerFactory(owner=users["rep2"], team=org["chongqing"])
    shared.shared_with.add(users["rep"])
    customers.append(shared)
    for c in customers:
        o = erp.order(c)
        erp.delivery(c, o)
        erp.invoice(c, order=o)
        erp.payment(c)
        erp.contract(c)
    return customers


@pytest.mark.parametrize("model", [Order, Delivery, Invoice, Payment, Contract])
def test_visible_matches_visible_to(users, spread, model):
    for user in users.values():
        expected = set(model.objects.visible_to(user).values_list("pk", flat=True))
        assert set(selectors.visible(model, user).values_list("pk", flat=True)) == expected
    assert selectors.visible(model, users["rep"]).count() == 3  # own, pool, shared
    inactive = users["director"]
    inactive.is_active = False
    assert not selectors.visible(model, inactive).exists()
