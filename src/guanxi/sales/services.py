"""Writes of opportunities: create, edit, move through the pipeline's stages (with the
stage's entry rules), win or lose — validated, permission-checked, audited, on the
customer's timeline (StageChange rows)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.concurrency import check_version
from guanxi.core.models import AuditAction
from guanxi.parties import permissions as perms

from .models import Opportunity, OpportunityStatus, Pipeline, Stage, StageChange, StageKind

FIELDS = [
    "name", "contact", "pipeline", "stage", "owner", "team", "product_line", "amount",
    "currency", "exchange_rate", "expected_close", "probability", "competitors", "next_step",
    "source", "closed_on", "lost_reason", "lead",
]
EDITABLE = [f for f in FIELDS if f not in ("pipeline", "stage", "closed_on", "lead")]
# What a stage may require, and how the message names it.
REQUIRABLE = {
    "amount": lambda o: o.amount and o.amount > 0,
    "expected_close": lambda o: o.expected_close is not None,
    "contact": lambda o: o.contact_id is not None,
    "product_line": lambda o: o.product_line_id is not None,
    "competitors": lambda o: bool(o.competitors.strip()),
    "next_step": lambda o: bool(o.next_step.strip()),
    "lost_reason": lambda o: bool(o.lost_reason.strip()),
}


class StageGateError(ValidationError):
    """The deal may not enter the stage yet; `missing` lists what to do, in words."""

    def __init__(self, stage: Stage, missing: list[str]):
        self.stage = stage
        self.missing = missing
        super().__init__(_("Before “%(stage)s”: %(missing)s") % {
            "stage": stage.name, "missing": "; ".join(missing)}, code="stage_gate")


def default_pipeline(product_line=None) -> Pipeline:
    qs = Pipeline.objects.filter(active=True)
    if product_line is not None:
        own = qs.filter(product_line=product_line).first()
        if own is not None:
            return own
    pipeline = qs.filter(is_default=True).first() or qs.first()
    if pipeline is None:
        raise ValidationError(_("There is no active pipeline; an administrator must set one up."))
    return pipeline


def first_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order").first()
    if stage is None:
        raise ValidationError(_("The pipeline “%(name)s” has no open stage.")
                              % {"name": pipeline.name})
    return stage


def missing_for_stage(opportunity: Opportunity, stage: Stage) -> list[str]:
    """What stops `opportunity` from entering `stage`, as sentences for the user."""
    from guanxi.activities.models import Interaction, InteractionKind

    missing: list[str] = []
    for name in stage.required_fields or []:
        check = REQUIRABLE.get(name)
        if check is not None and not check(opportunity):
            label = Opportunity._meta.get_field(name).verbose_name
            missing.append(_("fill in “%(field)s”") % {"field": label})
    kinds = list(stage.required_activities or [])
    if kinds:
        # Counted: the activity logged on this deal at any time, or on its customer since
        # the day the deal was created (a visit logged "at 10:00" for a deal entered at
        # 10:00:37 counts).
        now = timezone.now()
        since = timezone.localtime(opportunity.created_at or now).replace(
            hour=0, minute=0, second=0, microsecond=0)
        on_deal = Q(opportunity_id=opportunity.pk) if opportunity.pk else Q(pk__in=[])
        done = set(Interaction.objects.filter(
            on_deal | Q(occurred_at__gte=since), customer_id=opportunity.customer_id,
            kind__in=kinds, occurred_at__lte=now).values_list("kind", flat=True).distinct())
        labels = dict(InteractionKind.choices)
        for kind in kinds:
            if kind not in done:
                missing.append(_("log a %(activity)s with the customer") % {
                    "activity": labels.get(kind, kind)})
    return missing


def _require_edit(actor, opportunity: Opportunity) -> None:
    perms.require(opportunity.deleted_at is None and can_edit_opportunity(actor, opportunity))


def can_edit_opportunity(user, opportunity: Opportunity) -> bool:
    """Owner, or whoever may edit the customer (managers of the team, directors, admins)."""
    if not user.is_active or user.role in ("readonly", "finance", "service"):
        return False
    if opportunity.owner_id == user.pk:
        return True
    if user.role == "rep":
        return False
    return perms.can_edit_customer(user, opportunity.customer)


def _clean(opportunity: Opportunity, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in FIELDS:
            setattr(opportunity, key, value)
    errors: dict[str, list[str]] = {}
    if not (opportunity.name or "").strip():
        errors["name"] = [_("An opportunity needs a name.")]
    if opportunity.stage_id and opportunity.stage.pipeline_id != opportunity.pipeline_id:
        errors["stage"] = [_("This stage belongs to another pipeline.")]
    if opportunity.contact_id and opportunity.contact.customer_id != opportunity.customer_id:
        errors["contact"] = [_("This contact belongs to another customer.")]
    try:
        opportunity.full_clean(exclude=["customer", "pipeline", "stage", "owner", "team",
                                        "contact", "product_line", "products", "lead"])
    except ValidationError as exc:
        for k, v in exc.message_dict.items():
            errors.setdefault(k, v)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def opportunity_create(*, actor, customer, **data: Any) -> Opportunity:
    perms.require(customer.deleted_at is None and perms.can_edit_customer(actor, customer)
                  and actor.role not in ("readonly", "finance", "service"))
    products = data.pop("products", None)
    pipeline = data.pop("pipeline", None) or default_pipeline(data.get("product_line"))
    stage = data.pop("stage", None) or first_stage(pipeline)
    data.setdefault("owner", customer.owner or actor)
    data.setdefault("team", getattr(data["owner"], "team", None) or customer.team)
    data.setdefault("source", customer.source)
    opportunity = Opportunity(customer=customer, pipeline=pipeline, stage=stage)
    _clean(opportunity, data)
    if stage.kind != StageKind.OPEN:
        raise ValidationError({"stage": [_("A new opportunity starts in an open stage.")]})
    opportunity.created_at = timezone.now()
    missing = missing_for_stage(opportunity, stage)
    if missing:
        raise StageGateError(stage, missing)
    opportunity.stage_entered_at = opportunity.created_at
    opportunity.save()
    if products is not None:
        opportunity.products.set(products)
    StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=stage,
                               at=opportunity.created_at, by=actor)
    audit.record_create(actor=actor, obj=opportunity, fields=FIELDS, customer_id=customer.pk)
    return opportunity


@transaction.atomic
def opportunity_update(*, actor, opportunity: Opportunity, version: int | None,
                       **data: Any) -> Opportunity:
    """Edit the deal's details (not its stage: see `opportunity_move`)."""
    opportunity = Opportunity.all_objects.select_for_update().get(pk=opportunity.pk)
    _require_edit(actor, opportunity)
    check_version(opportunity, version)
    products = data.pop("products", None)
    data = {k: v for k, v in data.items() if k in EDITABLE}
    before = audit.snapshot(opportunity, [*FIELDS, "products"])
    _clean(opportunity, data)
    if products is not None:
        opportunity.products.set(products)
    changes = audit.diff(before, audit.snapshot(opportunity, [*FIELDS, "products"]))
    if not changes:
        return opportunity
    opportunity.version += 1
    opportunity.save()
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=opportunity, changes=changes,
                 customer_id=opportunity.customer_id)
    return opportunity


@transaction.atomic
def opportunity_move(*, actor, opportunity: Opportunity, stage: Stage,
                     version: int | None = None, lost_reason: str = "") -> Opportunity:
    """Move the deal to `stage` of its pipeline if the stage's rules are met.

    Raises StageGateError listing what is missing (nothing is written). Entering a
    won or lost stage closes the deal (lost needs a reason); leaving one reopens it.
    """
    opportunity = Opportunity.all_objects.select_for_update().get(pk=opportunity.pk)
    _require_edit(actor, opportunity)
    check_version(opportunity, version)
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": [_("This stage belongs to another pipeline.")]})
    if stage.pk == opportunity.stage_id:
        return opportunity
    if lost_reason:
        opportunity.lost_reason = lost_reason.strip()[:200]
    missing = missing_for_stage(opportunity, stage)
    if stage.kind == StageKind.LOST and not opportunity.lost_reason.strip():
        missing.append(_("say why the deal was lost"))
    if missing:
        raise StageGateError(stage, missing)
    old = opportunity.stage
    now = timezone.now()
    opportunity.stage = stage
    opportunity.stage_entered_at = now
    if stage.kind == StageKind.OPEN:
        opportunity.status = OpportunityStatus.OPEN
        opportunity.closed_on = None
    else:
        opportunity.status = (OpportunityStatus.WON if stage.kind == StageKind.WON
                              else OpportunityStatus.LOST)
        opportunity.closed_on = timezone.localdate(now)
    if stage.kind != StageKind.LOST:
        opportunity.lost_reason = ""
    opportunity.version += 1
    opportunity.save()
    StageChange.objects.create(opportunity=opportunity, from_stage=old, to_stage=stage, at=now,
                               by=actor)
    changes = {"stage": [old.name, stage.name]}
    if opportunity.status != OpportunityStatus.OPEN or old.kind != StageKind.OPEN:
        changes["status"] = [old.kind, opportunity.status]
    if opportunity.lost_reason:
        changes["lost_reason"] = [None, opportunity.lost_reason]
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=opportunity, changes=changes,
                 customer_id=opportunity.customer_id)
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor, opportunity: Opportunity) -> None:
    opportunity = Opportunity.all_objects.select_for_update().get(pk=opportunity.pk)
    _require_edit(actor, opportunity)
    opportunity.deleted_at = timezone.now()
    opportunity.deleted_by = actor
    opportunity.version += 1
    opportunity.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.DELETE, obj=opportunity,
                 customer_id=opportunity.customer_id)
