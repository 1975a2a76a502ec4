"""Importing contacts and interactions: each row names its customer; writes go through
the services (validated, permission-checked, audited) one row at a time.

The customer is found, among the customers the importing user can see, by external
id, then phone, then company name (company key); a name that fits several customers
is ambiguous and the row is rejected. A contact matches an existing contact of that
customer by mobile, e-mail or name; an interaction matches one of the same customer,
kind and time (and subject, when given) — so importing the same file twice changes
nothing the second time.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.parties.models import Contact, Customer
from guanxi.parties.normalize import company_key
from guanxi.parties.services import CONTACT_FIELDS, contact_create, contact_update

from .prepare import Row


def _first_message(exc: ValidationError) -> tuple[str, str]:
    if hasattr(exc, "message_dict"):
        for key, messages in exc.message_dict.items():
            return key, messages[0]
    return "", exc.messages[0]


class SimpleBatcher:
    def __init__(self, *, actor, options, job_id: int | None, editable_ids) -> None:
        self.actor = actor
        self.options = options
        self.job_id = job_id
        self.near: list[dict[str, Any]] = []
        self.created_ids: set[int] = set()

    def _customers(self, rows: list[Row]) -> dict[tuple[str, str], set[int]]:
        visible = Customer.objects.visible_to(self.actor)
        found: dict[tuple[str, str], set[int]] = {}
        for key, column, value_of in (
            ("customer_external_id", "external_id", lambda d: d.get("customer_external_id")),
            ("customer_phone", "phone", lambda d: d.get("customer_phone")),
            ("customer_name", "name_key", lambda d: company_key(d.get("customer_name", ""))),
        ):
            values = {value_of(r.data) for r in rows} - {None, ""}
            if not values:
                continue
            for pk, v in visible.filter(**{f"{column}__in": list(values)}).values_list("pk", column):
                found.setdefault((key, v), set()).add(pk)
        return found

    def _customer_for(self, r: Row, found) -> tuple[Customer | None, str]:
        for key in ("customer_external_id", "customer_phone", "customer_name"):
            raw = r.data.get(key)
            if not raw:
                continue
            value = company_key(raw) if key == "customer_name" else raw
            ids = found.get((key, value), set())
            if len(ids) == 1:
                return Customer.objects.get(pk=next(iter(ids))), ""
            if len(ids) > 1:
                return None, _("“%(value)s” fits %(n)s customers; give the customer's external "
                               "id or phone instead.") % {"value": raw, "n": len(ids)}
        return None, _("No customer you can see matches this row.")

    def process(self, rows: list[Row], result, reject) -> None:
        if not rows:
            return
        found = self._customers(rows)
        handler = self._contact if self.options.target == "contacts" else self._interaction
        for r in rows:
            customer, why = self._customer_for(r, found)
            if customer is None:
                reject(r, "customer_name", why)
                continue
            try:
                with transaction.atomic():
                    outcome = handler(r, customer)
            except PermissionDenied:
                reject(r, "", _("You may not change this customer."))
                continue
            except ValidationError as exc:
                key, message = _first_message(exc)
                reject(r, key, message)
                continue
            setattr(result, outcome, getattr(result, outcome) + 1)

    # --- contacts -------------------------------------------------------------------

    def _contact(self, r: Row, customer: Customer) -> str:
        d = r.data
        data = {k: v for k, v in d.items() if k in CONTACT_FIELDS}
        existing = None
        for key in ("mobile", "email", "name"):
            if d.get(key):
                existing = Contact.objects.filter(customer=customer, **{key: d[key]}).first()
                if existing:
                    break
        if existing is None:
            if self.options.mode == "update":
                raise ValidationError(_("No existing contact matches this row (mode “update”)."))
            contact = contact_create(actor=self.actor, customer=customer, **data)
            self.created_ids.add(contact.pk)
            return "created"
        changes = {k: v for k, v in data.items() if getattr(existing, k) != v}
        merged = existing.pk in self.created_ids
        if not changes:
            return "merged" if merged else "unchanged"
        if self.options.mode == "create" and not merged:
            raise ValidationError(_("Contact #%(id)s already exists (mode “create” does not "
                                    "change existing contacts).") % {"id": existing.pk})
        contact_update(actor=self.actor, contact=existing, version=existing.version, **changes)
        return "merged" if merged else "updated"

    # --- interactions ---------------------------------------------------------------

    def _interaction(self, r: Row, customer: Customer) -> str:
        from guanxi.activities.models import Interaction
        from guanxi.activities.services import interaction_create

        d = dict(r.data)
        for k in ("customer_external_id", "customer_phone", "customer_name"):
            d.pop(k, None)
        contact_name = d.pop("contact_name", "")
        created_by_id = d.pop("created_by_id", None)
        same = Interaction.objects.filter(customer=customer, kind=d["kind"],
                                          occurred_at=d["occurred_at"])
        if d.get("subject"):
            same = same.filter(subject=d["subject"])
        hit = same.first()
        if hit is not None:
            return "merged" if hit.pk in self.created_ids else "unchanged"
        if self.options.mode == "update":
            raise ValidationError(_("No existing interaction matches this row (mode “update”)."))
        if contact_name:
            d["contact"] = Contact.objects.filter(customer=customer, name=contact_name).first()
        interaction = interaction_create(actor=self.actor, customer=customer, **d)
        if created_by_id and created_by_id != getattr(self.actor, "pk", None):
            Interaction.all_objects.filter(pk=interaction.pk).update(created_by_id=created_by_id)
        self.created_ids.add(interaction.pk)
        return "created"
