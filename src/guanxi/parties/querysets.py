"""Permission-scoped querysets: `.visible_to(user)` is the one way user-facing reads start.

Every list, detail page, search, export, API endpoint and report of customers and
of the records that hang off a customer starts from these methods.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ScopedQuerySet(models.QuerySet):
    @classmethod
    def as_manager_alive(cls):
        """A manager that hides soft-deleted rows (the recycle bin)."""

        class _Alive(models.Manager.from_queryset(cls)):  # type: ignore[misc]
            def get_queryset(self):
                return super().get_queryset().filter(deleted_at__isnull=True)

        return _Alive()


def _is_active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def customer_visibility(user) -> Q | None:
    """The condition on customers a user may read; None means every customer.

    Reps: their own customers, customers shared with them and the pool (no owner).
    Managers: the same plus every customer of their team subtree (by the customer's
    office or by its owner's team). Every role in SEE_ALL_ROLES reads all customers.
    """
    if user.sees_all_customers:
        return None
    from .models import Customer

    shared = Customer.shared_with.through.objects.filter(user_id=user.pk).values("customer_id")
    q = Q(owner_id=user.pk) | Q(owner__isnull=True) | Q(pk__in=shared)
    if user.role == "manager" and user.team_id:
        ids = user.team_subtree_ids()
        q |= Q(team_id__in=ids) | Q(owner__team_id__in=ids)
    return q


class CustomerQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        if not _is_active(user):
            return self.none()
        q = customer_visibility(user)
        return self if q is None else self.filter(q)


class ContactQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        return scoped_by_customer(self, user)


def scoped_by_customer(qs: models.QuerySet, user, field: str = "customer") -> models.QuerySet:
    """Scope any queryset of records that belong to a customer (contacts, interactions,
    and later deals, tickets, orders) by the customer's visibility."""
    if not _is_active(user):
        return qs.none()
    qs = qs.filter(**{f"{field}__deleted_at__isnull": True})
    if user.sees_all_customers:
        return qs
    from .models import Customer

    # customer_visibility's rule, checked on each record's customer through the join (by
    # primary key). An IN over the visible customers would list every pool customer first —
    # a scan of the whole customer table for every query, even for one customer's panel.
    shared = Customer.shared_with.through.objects.filter(user_id=user.pk).values("customer_id")
    q = (Q(**{f"{field}__owner_id": user.pk}) | Q(**{f"{field}__owner_id__isnull": True})
         | Q(**{f"{field}__in": shared}))
    if user.role == "manager" and user.team_id:
        ids = user.team_subtree_ids()
        q |= Q(**{f"{field}__team_id__in": ids}) | Q(**{f"{field}__owner__team_id__in": ids})
    return qs.filter(q)
