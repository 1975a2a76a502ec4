"""ERP sync: idempotent bulk upserts of the commerce mirror.

    result = upsert("orders", rows, actor=user, source="erp")

Entities: product_lines, products, contracts (nested `milestones`), orders (nested
`lines`), deliveries, invoices, payments; row shapes in commerce/schemas.py, how rows
name customers, orders, contracts, invoices and products in commerce/sync_refs.py.

Rules
- Key: (source, external_id). The same batch twice gives one copy; so do two identical
  batches at the same time (the unique constraint + INSERT … ON CONFLICT DO UPDATE; on
  PostgreSQL rows are written in external-id order so concurrent batches cannot
  deadlock). An external id twice in one batch is an error.
- A row is the whole record: an optional field it leaves out takes its default. Nested
  `lines` / `milestones`: when the key is present they replace the stored ones (an
  empty list removes them); when it is absent the stored ones stay.
- Validation comes first (types, then every reference, one IN query per table). By
  default a batch with any bad row is refused whole — SyncError (a ValidationError
  keyed `rows.<index>.<field>`, index from 0) and nothing is written; that is what the
  API does (422). `partial=True` (file imports) writes the good rows and returns the
  bad ones in `result.errors`.
- Only rows that differ from the stored record are written; identical rows only get
  their synced_at refreshed (`unchanged`). `mode`: "upsert" (default), "create"
  (existing records are left alone) or "update" (a row with no stored record is an
  error).
- Invoices and payments: an invoice row that carries `paid_amount` sets it (the ERP
  knows best); one without it gets the sum of the payments linked to it (in the
  invoice's currency). After a payments batch, every invoice those payments reference
  (now or before) is recomputed the same way — unless its stored paid_amount differs
  from the sum of its payments before the batch, which means the ERP set it: then it
  is left alone. Status follows the paid amount (open / partially paid / paid) unless
  the invoice row gives a status; a cancelled invoice stays cancelled.
- Permission: `servicedesk.permissions.can_sync_erp(actor)` (administrators, finance),
  checked before anything is read or written (PermissionDenied).
- Audit: one AuditEntry per batch (action "import", model = the entity, object id 0)
  with the source and the counts — not one per row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.servicedesk.permissions import can_sync_erp

from . import sync_db
from .models import Invoice, InvoiceStatus, Payment
from .schemas import ENTITIES, ROWS, Source
from .sync_specs import SPECS, Errors, Spec, build, children_of, duplicates

MODES = ("upsert", "create", "update")
CATALOG = ("product_lines", "products")
ZERO = Decimal(0)
_SOURCE = TypeAdapter(Source)


@dataclass
class RowError:
    row: int  # index in the batch, from 0
    field: str  # "customer", "lines.1.product_code"; "" for the whole row
    message: str


@dataclass
class SyncResult:
    entity: str
    source: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Per row: "created" / "updated" / "unchanged", or None when refused.
    outcomes: list[str | None] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {"entity": self.entity, "source": self.source, "rows": self.rows,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged}

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts(), "errors": [asdict(e) for e in self.errors]}


def error_key(row: int, field_path: str) -> str:
    if row < 0:
        return field_path or "rows"
    return f"rows.{row}.{field_path}" if field_path else f"rows.{row}"


class SyncError(ValidationError):
    """A refused batch: every bad row, keyed rows.<index>.<field>; nothing was written."""

    def __init__(self, errors: list[RowError]):
        keyed: dict[str, list[str]] = {}
        for e in errors:
            keyed.setdefault(error_key(e.row, e.field), []).append(e.message)
        super().__init__(keyed)
        self.row_errors = errors


def pydantic_errors(exc: PydanticError, *, offset: int = 0) -> list[RowError]:
    """A TypeAdapter error of a list of rows as RowErrors (loc = (index, field, …))."""
    out = []
    for err in exc.errors(include_url=False):
        loc = list(err.get("loc", ()))
        if loc and isinstance(loc[0], int):
            row = loc.pop(0) - offset
        else:
            row = -1
        out.append(RowError(row, ".".join(str(p) for p in loc), str(err.get("msg", ""))))
    return out


def _validate(entity: str, rows: list[Any], partial: bool) -> tuple[list[int], list[dict],
                                                                  list[RowError]]:
    """(original indexes of the valid rows, the valid rows, errors of the others)."""
    adapter = ROWS[entity]
    try:
        return list(range(len(rows))), adapter.validate_python(rows), []
    except PydanticError as exc:
        errors = pydantic_errors(exc)
    bad = {e.row for e in errors}
    if -1 in bad:  # not a list of rows at all
        raise SyncError(errors)
    if not partial:
        return [], [], errors
    keep = [i for i in range(len(rows)) if i not in bad]
    return keep, adapter.validate_python([rows[i] for i in keep]), errors


def upsert(entity: str, rows: list[Any], *, actor, source: str = "erp", mode: str = "upsert",
           partial: bool = False, validated: bool = False, now=None,
           append_children: frozenset[str] | set[str] = frozenset()) -> SyncResult:
    """Upsert a batch of `entity` rows from `source`; see the module docstring.

    `validated=True`: the rows already went through schemas.ROWS/BODIES (the API).
    `append_children`: external ids whose nested rows are merged by number instead of
    replaced (a file import whose order lines continue from an earlier batch)."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown ERP entity {entity!r}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if not can_sync_erp(actor):
        raise PermissionDenied(_("You may not synchronise ERP records."))
    try:
        source = _SOURCE.validate_python(source)
    except PydanticError as exc:
        raise ValidationError({"source": [_("“%(value)s” is not a source system name (letters, "
                                            "digits, - _ . : ; at most 30).")
                                          % {"value": source}]}) from exc
    result = SyncResult(entity=entity, source=source, rows=len(rows),
                        outcomes=[None] * len(rows))
    if validated:
        index, good, errors = list(range(len(rows))), list(rows), []
    else:
        index, good, errors = _validate(entity, rows, partial)
    if errors and not partial:
        raise SyncError(errors)
    now = now or timezone.now()
    for attempt in (1, 2):
        found = Errors()
        if entity in CATALOG:
            from .sync_catalog import plan_catalog

            outcomes, _ids, commit = plan_catalog(entity, good, source=source, mode=mode,
                                                 errors=found)
        else:
            outcomes, _ids, commit = _plan_records(SPECS[entity], good, source=source, mode=mode,
                                                  now=now, errors=found,
                                                  append_children=frozenset(append_children))
        all_errors = sorted(errors + [RowError(index[i], f, m) for i, f, m in found.items],
                            key=lambda e: e.row)
        if all_errors and not partial:
            raise SyncError(all_errors)
        result.errors = all_errors
        result.created = result.updated = result.unchanged = 0
        result.outcomes = [None] * len(rows)
        for pos, outcome in enumerate(outcomes):
            if outcome:
                result.outcomes[index[pos]] = outcome
                setattr(result, outcome, getattr(result, outcome) + 1)
        try:
            with sync_db.write_section(len(good)), transaction.atomic():
                commit()
                if rows:
                    _audit(actor, _model(entity), result)
        except IntegrityError:
            # Products and product lines are matched before they are written; a batch
            # written at the same moment by someone else is seen on the second try.
            if attempt == 2 or entity not in CATALOG:
                raise
            continue
        break
    return result


def _model(entity: str):
    if entity in SPECS:
        return SPECS[entity].model
    return _catalog_model(entity)


def _catalog_model(entity: str):
    from guanxi.sales.models import Product, ProductLine

    return ProductLine if entity == "product_lines" else Product


def _audit(actor, model, result: SyncResult) -> None:
    rejected = sum(1 for o in result.outcomes if o is None)
    AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=AuditAction.IMPORT,
        model=model._meta.label_lower,
        object_id=0,
        object_repr=f"ERP sync: {result.entity} ({result.source})"[:255],
        changes={"source": [None, result.source], "rows": [None, result.rows],
                 "created": [None, result.created], "updated": [None, result.updated],
                 "unchanged": [None, result.unchanged], "rejected": [None, rejected]},
    )


# ---------------------------------------------------------------- contracts … payments


@dataclass
class _Plan:
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    kids: set[int] = field(default_factory=set)  # rows whose nested rows are (re)written


def _existing(spec: Spec, source: str, exts: list[str]) -> dict[str, tuple[int, tuple]]:
    """external id → (id, stored values of spec.fields)."""
    return {t[0]: (t[1], t[2:]) for t in sync_db.select_in(
        spec.model, ("external_id", "id", *spec.fields), "external_id", exts, source=source)}


def invoice_status(amount: Decimal, paid: Decimal) -> str:
    if paid > 0 and paid >= amount:
        return InvoiceStatus.PAID
    if paid > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def payment_sums(invoice_ids) -> dict[tuple[int, str], Decimal]:
    """(invoice id, currency) → sum of the payments linked to the invoice."""
    out: dict[tuple[int, str], Decimal] = {}
    for chunk in sync_db.chunks(sorted(invoice_ids)):
        for inv, currency, total in (Payment.objects.filter(invoice_id__in=chunk).order_by()
                                     .values_list("invoice_id", "currency")
                                     .annotate(total=Sum("amount"))):
            out[(inv, currency)] = total or ZERO
    return out


def _derive_invoices(rows, values, existing) -> None:
    """Invoice rows without paid_amount: the sum of their payments; status from it."""
    wanted = [existing[r["external_id"]][0] for r, v in zip(rows, values)
              if v is not None and v["_derive_paid"] and r["external_id"] in existing]
    sums = payment_sums(wanted) if wanted else {}
    for r, v in zip(rows, values):
        if v is None:
            continue
        if v["_derive_paid"]:
            old = existing.get(r["external_id"])
            v["paid_amount"] = sums.get((old[0], v["currency"]), ZERO) if old else ZERO
        if v["_derive_status"]:
            v["status"] = invoice_status(v["amount"], v["paid_amount"])


def _plan(spec: Spec, rows, values, existing, mode: str, errors: Errors,
          append_children: frozenset[str]) -> _Plan:
    child = spec.child
    stored_kids: dict[int, list[tuple]] = {}
    if child is not None:
        parents = [existing[r["external_id"]][0] for r, v in zip(rows, values)
                   if v is not None and v["_children"] is not None and r["external_id"] in existing]
        stored_kids = children_of(spec, parents) if parents else {}
    plan = _Plan()
    for i, (r, v) in enumerate(zip(rows, values)):
        if v is None:
            continue
        ext = r["external_id"]
        old = existing.get(ext)
        kids = v.get("_children")
        if old is None:
            if mode == "update":
                errors.add(i, "external_id", _("There is no stored record with external id "
                                               "“%(value)s” to update.") % {"value": ext})
                continue
            plan.new.append(i)
            if kids is not None:
                plan.kids.add(i)
            continue
        if mode == "create":
            plan.unchanged.append(i)
            continue
        same = old[1] == tuple(v[f] for f in spec.fields)
        kids_same = True
        if kids is not None:
            stored = stored_kids.get(old[0], [])
            if ext in append_children:
                by_seq = {t[0]: t for t in stored}
                kids_same = all(by_seq.get(t[0]) == t for t in kids)
            else:
                kids_same = stored == kids
            if not kids_same:
                plan.kids.add(i)
        if same and kids_same:
            plan.unchanged.append(i)
        else:
            plan.changed.append(i)
    return plan


def _plan_records(spec: Spec, rows: list[dict[str, Any]], *, source: str, mode: str, now,
                  errors: Errors, append_children: frozenset[str]):
    """(outcome per row, {external id: id} — filled in by the writes, the writes)."""
    duplicates(rows, errors)
    values = build(spec, rows, source, errors)
    for i in errors.bad:
        values[i] = None
    existing = _existing(spec, source, [r["external_id"] for r, v in zip(rows, values)
                                        if v is not None])
    if spec.entity == "invoices":
        _derive_invoices(rows, values, existing)
    plan = _plan(spec, rows, values, existing, mode, errors, append_children)
    outcomes: list[str | None] = [None] * len(rows)
    for name, which in (("created", plan.new), ("updated", plan.changed),
                        ("unchanged", plan.unchanged)):
        for i in which:
            outcomes[i] = name
    ids: dict[str, int] = {rows[i]["external_id"]: existing[rows[i]["external_id"]][0]
                           for i in plan.changed + plan.unchanged}

    # Everything the writes need is prepared here, before the write lock is taken.
    write = sorted(plan.new + plan.changed, key=lambda i: rows[i]["external_id"])
    columns = ("source", "external_id", "synced_at", *spec.fields)
    synced = sync_db.adapt(spec.model, "synced_at", now)
    params = sync_db.for_driver(spec.model, columns, [
        (source, rows[i]["external_id"], synced, *[values[i][f] for f in spec.fields])
        for i in write])
    statement = sync_db.upsert_statement(spec.model, columns)

    def commit() -> None:
        """The writes (the caller holds the transaction)."""
        affected, before = _payments_before(spec, rows, values, existing, write)
        statement.run(params)
        new_exts = [rows[i]["external_id"] for i in plan.new
                    if spec.child is not None and i in plan.kids]
        if new_exts:  # the new parents' ids, for their nested rows
            ids.update({ext: pk for ext, pk in sync_db.select_in(
                spec.model, ("external_id", "id"), "external_id", new_exts, source=source)})
        if spec.child is not None:
            _write_children(spec, rows, values, ids, sorted(plan.kids), append_children)
        if plan.unchanged:
            sync_db.set_where_in(spec.model, "synced_at", now,
                                 sorted(ids[rows[i]["external_id"]] for i in plan.unchanged))
        if affected:
            _recompute_invoices(affected, before)

    return outcomes, ids, commit


def _write_children(spec: Spec, rows, values, ids: dict[str, int], which: list[int],
                    append_children: frozenset[str]) -> None:
    child = spec.child
    assert child is not None
    replace: list[int] = []
    pairs: list[tuple[int, int]] = []
    insert: list[tuple] = []
    for i in which:
        ext = rows[i]["external_id"]
        parent = ids[ext]
        kids = values[i]["_children"]
        if ext in append_children:
            pairs += [(parent, t[0]) for t in kids]
        else:
            replace.append(parent)
        insert += [(parent, *t) for t in kids]
    sync_db.delete_where_in(child.model, child.fk, replace)
    sync_db.delete_pairs(child.model, (child.fk, child.seq), pairs)
    sync_db.insert_rows(child.model, child.columns,
                        sync_db.for_driver(child.model, child.columns, insert))
    # Lines merged into an order (a file whose order continues from an earlier batch):
    # an order total the rows don't give is the sum of all its lines, not of these.
    resum = [ids[rows[i]["external_id"]] for i in which
             if values[i].get("_sum_amount") and rows[i]["external_id"] in append_children]
    if resum:
        sync_db.sum_children_into(spec.model, "amount", child.model, child.fk, "amount", resum)


def _payments_before(spec: Spec, rows, values, existing, write: list[int]):
    """Payments batch: the invoices it touches and their payment sums before it."""
    if spec.entity != "payments" or not write:
        return set(), {}
    at = spec.fields.index("invoice_id")
    affected: set[int] = set()
    for i in write:
        if values[i]["invoice_id"]:
            affected.add(values[i]["invoice_id"])
        old = existing.get(rows[i]["external_id"])
        if old and old[1][at]:
            affected.add(old[1][at])
    return affected, (payment_sums(affected) if affected else {})


def _recompute_invoices(affected: set[int], before: dict[tuple[int, str], Decimal]) -> None:
    after = payment_sums(affected)
    updates = []
    for chunk in sync_db.chunks(sorted(affected)):
        for pk, amount, paid, status, currency in Invoice.objects.filter(pk__in=chunk) \
                .order_by().values_list("pk", "amount", "paid_amount", "status", "currency"):
            old, new = before.get((pk, currency), ZERO), after.get((pk, currency), ZERO)
            if paid != old or new == old:
                continue  # set by the ERP itself, or nothing changed
            new_status = status if status == InvoiceStatus.CANCELLED else invoice_status(amount,
                                                                                         new)
            updates.append((new, new_status, pk))
    if updates:
        from django.db import connection

        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.executemany(f"UPDATE {qn(Invoice._meta.db_table)} SET {qn('paid_amount')} = %s, "
                            f"{qn('status')} = %s WHERE {qn('id')} = %s", updates)
