"""Writes of installed equipment (assets): validate, save, audit, in one transaction.

Keyword-only, actor first; PermissionDenied before any write, ValidationError keyed by
field, ConflictError on a stale version. Every audit entry carries the customer's id,
so the asset's changes show in the customer's history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as party_perms
from guanxi.parties.models import Customer
from guanxi.parties.normalize import to_halfwidth

from .models import Asset, AssetStatus
from .permissions import can_edit_asset

ASSET_FIELDS = [
    "product", "name", "serial_number", "installed_on", "warranty_ends_on", "location",
    "status", "order", "contract", "notes", "source", "external_id",
]
WARRANTY_SOON_DAYS = 60


def may_edit_asset(user, customer: Customer) -> bool:
    """can_edit_asset on a customer the user can see (and that is not in the bin)."""
    return bool(
        customer.deleted_at is None and can_edit_asset(user, customer)
        and Customer.objects.visible_to(user).filter(pk=customer.pk).exists())


def _require(allowed: bool) -> None:
    party_perms.require(allowed)


def _clean(asset: Asset, data: dict[str, Any]) -> None:
    """Normalise and validate `data` onto `asset` in place; ValidationError by field."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(ASSET_FIELDS)
    if unknown:
        raise ValidationError({k: [_("This field cannot be set here.")] for k in sorted(unknown)})
    for key in ("name", "serial_number", "location", "source", "external_id"):
        if key in data:
            data[key] = to_halfwidth(data[key] or "")
    if "notes" in data:
        data["notes"] = (data["notes"] or "").strip()
    for key, value in data.items():
        setattr(asset, key, value)
    if not asset.name and asset.product_id:
        asset.name = asset.product.name
    if not asset.name:
        errors["name"] = [_("Name the equipment (or pick its product).")]
    if asset.status not in AssetStatus.values:
        errors["status"] = [_("Pick a status from the list.")]
    if (asset.installed_on and asset.warranty_ends_on
            and asset.warranty_ends_on < asset.installed_on):
        errors["warranty_ends_on"] = [_("The warranty cannot end before the installation "
                                        "date (%(date)s).") % {"date": asset.installed_on}]
    for key, label in (("order", _("order")), ("contract", _("contract"))):
        linked = getattr(asset, key)
        if linked is not None and linked.customer_id != asset.customer_id:
            errors[key] = [_("This %(what)s belongs to another customer.") % {"what": label}]
    if asset.serial_number:
        twins = Asset.objects.filter(customer_id=asset.customer_id,
                                     product_id=asset.product_id,
                                     serial_number__iexact=asset.serial_number)
        if asset.pk:
            twins = twins.exclude(pk=asset.pk)
        twin = twins.first()
        if twin is not None:
            errors["serial_number"] = [
                _("This customer already has %(product)s with serial number %(serial)s "
                  "(“%(name)s”).") % {"product": asset.product or _("equipment"),
                                     "serial": twin.serial_number, "name": twin.name}]
    if asset.external_id and not asset.source:
        asset.source = "erp"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def asset_create(*, actor, customer: Customer, **data: Any) -> Asset:
    """Record equipment installed at `customer`'s site."""
    _require(may_edit_asset(actor, customer))
    asset = Asset(customer=customer)
    _clean(asset, data)
    asset.save()
    audit.record_create(actor=actor, obj=asset, fields=ASSET_FIELDS, customer_id=customer.pk)
    return asset


def _locked(pk: int) -> Asset:
    return Asset.all_objects.select_for_update().select_related("customer").get(pk=pk)


@transaction.atomic
def asset_update(*, actor, asset: Asset, version: int | None, **data: Any) -> Asset:
    """Apply `data` if nobody saved since `version`; otherwise ConflictError."""
    asset = _locked(asset.pk)
    _require(asset.deleted_at is None and may_edit_asset(actor, asset.customer))
    check_version(asset, version)
    before = audit.snapshot(asset, ASSET_FIELDS)
    _clean(asset, data)
    changes = audit.diff(before, audit.snapshot(asset, ASSET_FIELDS))
    if not changes:
        return asset
    asset.version += 1
    asset.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=asset, changes=changes,
                 customer_id=asset.customer_id)
    return asset


@transaction.atomic
def asset_delete(*, actor, asset: Asset, now: dt.datetime | None = None) -> None:
    """Move to the recycle bin; tickets and visits keep their link."""
    asset = _locked(asset.pk)
    _require(asset.deleted_at is None and may_edit_asset(actor, asset.customer))
    asset.deleted_at = now or timezone.now()
    asset.deleted_by = actor
    asset.version += 1
    asset.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=asset,
                 customer_id=asset.customer_id)


@transaction.atomic
def asset_restore(*, actor, asset: Asset) -> Asset:
    """Back from the recycle bin (administrators, as for every record), unless a live
    asset took its serial number meanwhile."""
    asset = _locked(asset.pk)
    _require(asset.deleted_at is not None and party_perms.can_restore(actor)
             and may_edit_asset(actor, asset.customer))
    asset.deleted_at = None
    _clean(asset, {})
    asset.deleted_by = None
    asset.version += 1
    asset.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.RESTORE, obj=asset,
                 customer_id=asset.customer_id)
    return asset


# ---------------------------------------------------------------- warranty


def warranty_state(asset: Asset, today: dt.date | None = None) -> str:
    """"none" (no end date), "expired", "expiring" (within 60 days) or "in"."""
    today = today or timezone.localdate()
    end = asset.warranty_ends_on
    if end is None:
        return "none"
    if end < today:
        return "expired"
    if end <= today + dt.timedelta(days=WARRANTY_SOON_DAYS):
        return "expiring"
    return "in"


def warranty_filter(qs, state: str, today: dt.date | None = None):
    """Assets in a warranty state: in (not yet ended, incl. expiring), expiring (ends
    within 60 days), expired, none (no end date)."""
    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=WARRANTY_SOON_DAYS)
    if state == "in":
        return qs.filter(warranty_ends_on__gte=today)
    if state == "expiring":
        return qs.filter(warranty_ends_on__gte=today, warranty_ends_on__lte=soon)
    if state == "expired":
        return qs.filter(warranty_ends_on__lt=today)
    if state == "none":
        return qs.filter(warranty_ends_on__isnull=True)
    return qs
