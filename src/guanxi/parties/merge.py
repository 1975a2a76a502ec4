"""Merging duplicate customers into one survivor, and undoing a merge.

`merge_customers` runs in one transaction: it locks every customer involved, checks
permission (`permissions.can_merge`) and versions, applies the chosen field values to
the survivor through `services._clean_customer` (so they are validated), unions tags
and shares, moves every row that points at a merged customer to the survivor, puts
the merged customers in the recycle bin (`merged_into` = survivor), writes one audit
entry on the survivor and a MergeRecord that says how to undo it.

Which rows move: every foreign key to Customer from another model, found through
`Customer._meta` (contacts, interactions, and deals, tickets, orders… as those apps
arrive, with no change here), except DuplicateCandidate, MergeRecord and the
`merged_into` self key. Rows move through the model's base manager, so rows in the
recycle bin move too, with a queryset `.update()`: their version and `updated_at` do
not change (nothing the user edited changed). A one-to-one row moves only when the
survivor has none; a row of another model's many-to-many table (e.g. a campaign's
customers) moves unless the survivor is already linked to the same record. The audit
history stays where it was written (entries keep their customer id); the survivor's
history shows the merge entry.

The MergeRecord keeps `before` (the survivor's raw field values), `changes` ({field:
[before, after]} raw values, what the merge changed), `moved` ({model label: {fk name:
{old customer id: [row ids]}}}) and `added` (tag and share ids the survivor gained,
candidate pairs marked merged with their previous status).

`undo_merge` reverses exactly that: rows listed in `moved` that still point at the
survivor go back to their customer, including rows deleted or edited since (their edits
go with them; rows added to the survivor after the merge stay). A field the merge
changed is restored only if it still holds the merged value; a field somebody edited
after the merge keeps the newer value. Tags and shares the merge added are removed,
the merged customers come back from the recycle bin, last contact dates are recomputed
from the timeline. Undo is refused when the kept customer is in the recycle bin, a
merged customer was deleted permanently or merged elsewhere, or a later merge into the
same customer is not undone yet (undo merges newest first).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction

from . import permissions as perms
from . import services
from .custom_fields import clean_custom, definitions_for
from .models import Customer, CustomerKind, DuplicateCandidate, DuplicateStatus, MergeRecord
from .normalize import company_key, name_block

# Fields chosen on the merge screen, in screen order. external_id/source_system are not
# merged: the survivor keeps its ERP key, the merged customers keep theirs in the bin.
MERGE_FIELDS = [
    "name", "short_name", "kind", "phone", "email", "website", "country", "province", "city",
    "district", "street", "postal_code", "industry", "source", "owner", "team", "tier", "stage",
    "credit_days", "credit_limit", "consent_email", "consent_sms", "consent_phone",
    "consent_mail", "notes",
]
# Fields that travel with another one when it is taken from a customer.
COMPANIONS = {"phone": ["phone_ext"]}
CHUNK = 500


@dataclass(frozen=True)
class Value:
    """A literal value for a field in `merge_customers(values=…)`.

    A plain int there names the customer (one of those merged) to take the value from;
    wrap anything else (including a number meant as the value) in Value(…).
    For foreign keys pass the object or its id.
    """

    value: Any


# ------------------------------------------------------------------ raw field state


def _state_fields() -> list[str]:
    names = [*MERGE_FIELDS, "phone_ext"]
    return [Customer._meta.get_field(n).attname for n in names] + ["custom", "name_key"]


def _raw(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)
    return value


def _state(customer: Customer) -> dict[str, Any]:
    return {name: _raw(getattr(customer, name)) for name in _state_fields()}


def _field_by_attname(attname: str) -> models.Field:
    for field in Customer._meta.concrete_fields:
        if field.attname == attname:
            return field
    raise LookupError(attname)


def _from_raw(attname: str, raw: Any) -> Any:
    field = _field_by_attname(attname)
    if raw is None or field.is_relation or attname in {"custom"}:
        return raw
    return field.to_python(raw)


# ------------------------------------------------------------------ related rows


@dataclass(frozen=True)
class Relation:
    model: type[models.Model]
    field: models.ForeignKey
    through: bool  # an auto-created many-to-many table of another model

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def relations() -> Iterator[Relation]:
    """Every foreign key to Customer whose rows follow a customer into a merge."""
    own_through = {Customer._meta.get_field(n).remote_field.through for n in ("tags", "shared_with")}
    skip = {DuplicateCandidate, MergeRecord, Customer, *own_through}
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model in skip or model._meta.proxy:
            continue
        yield Relation(model=model, field=rel.field, through=bool(model._meta.auto_created))


def _other_side(relation: Relation) -> str | None:
    """In a many-to-many table, the column of the record linked to the customer."""
    for field in relation.model._meta.concrete_fields:
        if field.is_relation and field is not relation.field and field.many_to_one:
            return field.attname
    return None


def _ids_to_move(relation: Relation, old_id: int, survivor_id: int) -> list[int]:
    manager = relation.model._base_manager
    fk = relation.field.attname
    qs = manager.filter(**{fk: old_id})
    if relation.field.one_to_one and manager.filter(**{fk: survivor_id}).exists():
        return []
    if relation.through and (other := _other_side(relation)):
        linked = manager.filter(**{fk: survivor_id}).values(other)
        qs = qs.exclude(**{f"{other}__in": linked})
    return list(qs.order_by("pk").values_list("pk", flat=True))


def _move(relation: Relation, ids: list[int], frm: int, to: int) -> int:
    """Point rows `ids` (still pointing at `frm`) at `to`; returns how many moved."""
    manager = relation.model._base_manager
    fk = relation.field.attname
    count = 0
    try:
        with transaction.atomic():
            for start in range(0, len(ids), CHUNK):
                count += manager.filter(pk__in=ids[start:start + CHUNK], **{fk: frm}).update(
                    **{fk: to})
    except IntegrityError as exc:
        raise ValidationError(
            _("%(records)s of this customer cannot be moved: %(error)s")
            % {"records": relation.model._meta.verbose_name_plural, "error": exc}
        ) from exc
    return count


def moves_preview(others: Iterable[Customer]) -> list[dict[str, Any]]:
    """What a merge of `others` would move, for the merge screen: [{label, count}]."""
    ids = [c.pk for c in others]
    counts: dict[str, dict[str, Any]] = {}
    for relation in relations():
        if relation.through:
            continue
        n = relation.model._default_manager.filter(
            **{f"{relation.field.attname}__in": ids}).count()
        if n:
            entry = counts.setdefault(relation.label, {"model": relation.model, "count": 0})
            entry["count"] += n
    return [
        {"label": (e["model"]._meta.verbose_name if e["count"] == 1
                   else e["model"]._meta.verbose_name_plural), "count": e["count"]}
        for e in counts.values()
    ]


# ------------------------------------------------------------------ merge


def _lock(ids: list[int]) -> dict[int, Customer]:
    qs = Customer.all_objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {c.pk: c for c in qs}


def _source(choice: Any, locked: dict[int, Customer], field: str) -> Customer:
    try:
        return locked[int(choice)]
    except (KeyError, TypeError, ValueError):
        raise ValidationError(
            {field: [_("Choose the value of one of the customers being merged.")]}) from None


def _literal(field_name: str, value: Any) -> Any:
    field = Customer._meta.get_field(field_name)
    if not field.is_relation or value is None or isinstance(value, models.Model):
        return value
    obj = field.related_model._default_manager.filter(pk=value).first()
    if obj is None:
        raise ValidationError({field_name: [_("This choice does not exist.")]})
    return obj


def _chosen_data(values: dict[str, Any], locked: dict[int, Customer]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(field data for services._clean_customer, custom values by key)."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, choice in values.items():
        if name.startswith("custom."):
            key = name.removeprefix("custom.")
            custom[key] = (choice.value if isinstance(choice, Value)
                           else _source(choice, locked, name).custom.get(key))
            continue
        if name not in MERGE_FIELDS and name != "phone_ext":
            raise ValidationError({name: [_("This field cannot be merged.")]})
        if isinstance(choice, Value):
            data[name] = _literal(name, choice.value)
            continue
        source = _source(choice, locked, name)
        data[name] = getattr(source, name)
        for companion in COMPANIONS.get(name, []):
            if companion not in values:
                data[companion] = getattr(source, companion)
    return data, custom


def _apply_custom(survivor: Customer, chosen: dict[str, Any]) -> None:
    """Validate chosen custom values that apply to the survivor's industry; keep others as
    stored (they were valid where they came from)."""
    known = {d.key for d in definitions_for(survivor.industry_id)}
    result = clean_custom(survivor.industry_id, {k: v for k, v in chosen.items() if k in known},
                          partial=True, existing=survivor.custom)
    for key, value in chosen.items():
        if key not in known:
            if value in (None, "", []):
                result.pop(key, None)
            else:
                result[key] = value
    survivor.custom = result


def _label(customer: Customer) -> str:
    return f"#{customer.pk} {customer.name}"


@transaction.atomic
def merge_customers(*, actor, survivor: Customer, others: list[Customer],
                    values: dict[str, Any] | None = None,
                    versions: dict[int, int] | None = None) -> MergeRecord:
    """Merge `others` into `survivor`; see the module docstring.

    `values` maps a field name (MERGE_FIELDS, or "custom.<key>") to the id of the
    customer whose value to take, or to Value(literal). Fields left out keep the
    survivor's value. `versions` ({customer id: version} as shown on the merge screen)
    makes the merge raise ConflictError if any of them changed since.
    """
    other_ids = list(dict.fromkeys(getattr(c, "pk", c) for c in others))
    if not other_ids or survivor.pk in other_ids:
        raise ValidationError(
            _("Choose the customer to keep and at least one other customer to merge into it."))
    ids = [survivor.pk, *other_ids]
    locked = _lock(ids)
    if len(locked) != len(ids) or any(c.deleted_at is not None for c in locked.values()):
        raise ValidationError(
            _("One of these customers was deleted or merged in the meantime."))
    perms.require(perms.can_merge(actor, locked.values()))
    for cid, version in (versions or {}).items():
        if int(cid) in locked:
            check_version(locked[int(cid)], version)
    survivor = locked[survivor.pk]
    merged = [locked[i] for i in other_ids]

    audit_before = audit.snapshot(survivor, services.CUSTOMER_AUDIT_FIELDS)
    raw_before = _state(survivor)
    data, custom = _chosen_data(values or {}, locked)
    services._clean_customer(survivor, data)
    if custom:
        _apply_custom(survivor, custom)

    # Tags and shares: the union, remembering what the survivor gained.
    tag_through = Customer.tags.through
    share_through = Customer.shared_with.through
    has_tags = set(tag_through.objects.filter(customer_id=survivor.pk)
                   .values_list("tag_id", flat=True))
    new_tags = set(tag_through.objects.filter(customer_id__in=other_ids)
                   .values_list("tag_id", flat=True)) - has_tags
    has_shares = set(share_through.objects.filter(customer_id=survivor.pk)
                     .values_list("user_id", flat=True))
    new_shares = set(share_through.objects.filter(customer_id__in=other_ids)
                     .values_list("user_id", flat=True)) - has_shares - {survivor.owner_id}
    survivor.tags.add(*new_tags)
    survivor.shared_with.add(*new_shares)

    moved: dict[str, dict[str, dict[str, list[int]]]] = {}
    for relation in relations():
        for old_id in other_ids:
            row_ids = _ids_to_move(relation, old_id, survivor.pk)
            if row_ids and _move(relation, row_ids, old_id, survivor.pk):
                moved.setdefault(relation.label, {}).setdefault(
                    relation.field.name, {})[str(old_id)] = row_ids

    now = timezone.now()
    for customer in merged:
        customer.deleted_at = now
        customer.deleted_by = actor
        customer.merged_into = survivor
        customer.version += 1
        customer.save(update_fields=["deleted_at", "deleted_by", "merged_into", "version",
                                     "updated_at"])
    contacts = [c.last_contact_at for c in (survivor, *merged) if c.last_contact_at]
    survivor.last_contact_at = max(contacts) if contacts else None
    survivor.version += 1
    survivor.save()
    for customer in (survivor, *merged):
        services.refresh_search_text(customer)

    raw_after = _state(survivor)
    changes = audit.diff(audit_before, audit.snapshot(survivor, services.CUSTOMER_AUDIT_FIELDS))
    changes["merged"] = [None, [_label(c) for c in merged]]
    pairs = DuplicateCandidate.objects.filter(first_id__in=ids, second_id__in=ids).exclude(
        status=DuplicateStatus.MERGED)
    previous = {str(pk): status for pk, status in pairs.values_list("pk", "status")}
    pairs.update(status=DuplicateStatus.MERGED, decided_by=actor, decided_at=now)
    record = MergeRecord.objects.create(
        survivor=survivor,
        merged_ids=other_ids,
        before=raw_before,
        changes={k: [raw_before[k], raw_after[k]] for k in raw_before
                 if raw_before[k] != raw_after[k]},
        moved=moved,
        added={"tags": sorted(new_tags), "shared_with": sorted(new_shares),
               "candidates": previous},
        created_by=actor,
    )
    audit.record(actor=actor, action=AuditAction.MERGE, obj=survivor, changes=changes,
                 customer_id=survivor.pk)
    return record


# ------------------------------------------------------------------ undo


def undo_blocker(record: MergeRecord, survivor: Customer | None = None,
                 merged: list[Customer] | None = None) -> str | None:
    """Why this merge cannot be undone now (a sentence for the user), or None."""
    if record.undone_at is not None:
        return _("This merge has already been undone.")
    survivor = survivor or Customer.all_objects.get(pk=record.survivor_id)
    if survivor.deleted_at is not None:
        return _("The kept customer is in the recycle bin; restore it first.")
    if merged is None:
        merged = list(Customer.all_objects.filter(pk__in=record.merged_ids))
    if len(merged) != len(record.merged_ids):
        return _("A merged customer has been deleted permanently, so the merge cannot be "
                 "undone.")
    for customer in merged:
        if customer.merged_into_id not in (None, record.survivor_id):
            return _("“%(name)s” has since been merged into another customer.") % {
                "name": customer.name}
    later = MergeRecord.objects.filter(survivor_id=record.survivor_id, undone_at__isnull=True,
                                       pk__gt=record.pk)
    if later.exists():
        return _("A later merge into this customer must be undone first.")
    return None


def _restore_fields(survivor: Customer, record: MergeRecord) -> None:
    current = _state(survivor)
    for attname, (before, after) in record.changes.items():
        if attname not in current or current[attname] != after:
            continue  # edited after the merge: the newer value stays
        field = _field_by_attname(attname)
        if field.is_relation and before is not None and not (
            field.related_model._base_manager.filter(pk=before).exists()
        ):
            continue  # the user, team or industry no longer exists
        setattr(survivor, attname, _from_raw(attname, before))
    org = survivor.kind == CustomerKind.ORGANISATION
    survivor.name_key = company_key(survivor.name) if org else ""
    survivor.name_block = name_block(survivor.city, survivor.name_key)


@transaction.atomic
def undo_merge(*, actor, record: MergeRecord) -> MergeRecord:
    """Undo a merge (see the module docstring); ValidationError says why it cannot be."""
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    locked = _lock([record.survivor_id, *record.merged_ids])
    survivor = locked[record.survivor_id]
    merged = [locked[i] for i in record.merged_ids if i in locked]
    perms.require(perms.can_undo_merge(actor, survivor, merged))
    blocker = undo_blocker(record, survivor, merged)
    if blocker:
        raise ValidationError(blocker)

    audit_before = audit.snapshot(survivor, services.CUSTOMER_AUDIT_FIELDS)
    for label, by_field in record.moved.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        for fk_name, by_old in by_field.items():
            relation = Relation(model=model, field=model._meta.get_field(fk_name),
                                through=bool(model._meta.auto_created))
            for old_id, row_ids in by_old.items():
                _move(relation, list(row_ids), survivor.pk, int(old_id))

    _restore_fields(survivor, record)
    survivor.tags.remove(*record.added.get("tags", []))
    survivor.shared_with.remove(*record.added.get("shared_with", []))
    for customer in merged:
        if customer.merged_into_id == survivor.pk and customer.deleted_at is not None:
            customer.deleted_at = None
            customer.deleted_by = None
        customer.merged_into = None
        customer.version += 1
        customer.save(update_fields=["deleted_at", "deleted_by", "merged_into", "version",
                                     "updated_at"])
    survivor.version += 1
    survivor.save()

    from guanxi.activities.services import refresh_last_contact

    for customer in (survivor, *merged):
        refresh_last_contact(customer.pk)
        services.refresh_search_text(customer)
    for status in {s for s in record.added.get("candidates", {}).values()}:
        ids = [int(pk) for pk, s in record.added["candidates"].items() if s == status]
        DuplicateCandidate.objects.filter(pk__in=ids, status=DuplicateStatus.MERGED).update(
            status=status, decided_by=None if status == DuplicateStatus.OPEN else actor,
            decided_at=None if status == DuplicateStatus.OPEN else timezone.now())

    now = timezone.now()
    record.undone_by = actor
    record.undone_at = now
    record.save(update_fields=["undone_by", "undone_at"])
    changes = audit.diff(audit_before, audit.snapshot(survivor, services.CUSTOMER_AUDIT_FIELDS))
    changes["merged"] = [[_label(c) for c in merged], None]
    audit.record(actor=actor, action=AuditAction.UNMERGE, obj=survivor, changes=changes,
                 customer_id=survivor.pk)
    return record
