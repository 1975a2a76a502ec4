"""Administration of the sales set-up: product lines, products, pipelines and their
stages (with entry rules), and customer pool settings.

Keyword-only, actor first, atomic, audited; permissions are checked before any write,
so a refused call changes nothing. Pipelines and stages are for administrators; pool
settings also for directors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from guanxi.accounts.models import Role
from guanxi.core import audit
from guanxi.core.models import AuditAction

from .models import (
    Opportunity,
    Pipeline,
    Pool,
    Product,
    ProductLine,
    Stage,
    StageChange,
    StageKind,
)

PRODUCT_LINE_FIELDS = ["code", "name", "active"]
PRODUCT_FIELDS = ["product_line", "code", "name", "unit_price", "active"]
PIPELINE_FIELDS = ["name", "product_line", "is_default", "active"]
STAGE_FIELDS = ["name", "order", "kind", "probability", "required_fields", "required_activities"]
POOL_FIELDS = ["name", "team", "product_line", "daily_claim_limit",
               "return_after_days_without_contact", "return_after_days_without_open_deal",
               "active"]
ORDER_STEP = 10


def can_edit_setup(user) -> bool:
    return bool(user.is_active and user.is_admin)


def can_edit_pools(user) -> bool:
    return bool(user.is_active and (user.is_admin or user.role == Role.DIRECTOR))


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Only an administrator may change the sales set-up."))


def _save(*, actor, obj: models.Model, fields: list[str], data: dict[str, Any]) -> models.Model:
    """Set `data` on `obj`, validate, save and audit (create or the changed fields)."""
    creating = obj.pk is None
    before = {} if creating else audit.snapshot(obj, fields)
    for key, value in data.items():
        if key in fields:
            setattr(obj, key, value)
    obj.full_clean()
    if not creating:
        changes = audit.diff(before, audit.snapshot(obj, fields))
        if not changes:
            return obj
        obj.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
    else:
        obj.save()
        audit.record_create(actor=actor, obj=obj, fields=fields)
    return obj


# ---------------------------------------------------------------- product lines, products


@transaction.atomic
def product_line_save(*, actor, product_line: ProductLine | None = None,
                      **data: Any) -> ProductLine:
    _require(can_edit_setup(actor))
    return _save(actor=actor, obj=product_line or ProductLine(), fields=PRODUCT_LINE_FIELDS,
                 data=data)


@transaction.atomic
def product_save(*, actor, product: Product | None = None, **data: Any) -> Product:
    _require(can_edit_setup(actor))
    return _save(actor=actor, obj=product or Product(), fields=PRODUCT_FIELDS, data=data)


# ---------------------------------------------------------------- pipelines


def pipeline_problems(pipeline: Pipeline) -> list[str]:
    """Why the pipeline may not be active (empty when it may)."""
    kinds = list(pipeline.stages.values_list("kind", flat=True))
    problems = []
    if StageKind.OPEN not in kinds:
        problems.append(_("A pipeline needs at least one open stage."))
    if kinds.count(StageKind.WON) != 1:
        problems.append(_("A pipeline needs exactly one won stage."))
    if StageKind.LOST not in kinds:
        problems.append(_("A pipeline needs at least one lost stage."))
    return problems


def _check_active(pipeline: Pipeline) -> None:
    if pipeline.active:
        problems = pipeline_problems(pipeline)
        if problems:
            raise ValidationError(problems, code="pipeline_invalid")


@transaction.atomic
def pipeline_save(*, actor, pipeline: Pipeline | None = None, copy_from: Pipeline | None = None,
                  **data: Any) -> Pipeline:
    """Create or edit a pipeline. A new pipeline without stages (no `copy_from`) cannot
    be active yet: add its stages, then activate it. Only an active pipeline may be the
    default; making one the default unsets the previous default."""
    _require(can_edit_setup(actor))
    creating = pipeline is None
    if creating:
        pipeline = Pipeline(active=False)
        data.setdefault("active", False)
    else:
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    was_default, was_active = pipeline.is_default, pipeline.active
    if data.get("is_default") and not data.get("active", pipeline.active):
        raise ValidationError({"is_default": [_("Only an active pipeline can be the default.")]})
    if was_default and "is_default" in data and not data["is_default"]:
        raise ValidationError({"is_default": [
            _("Make another pipeline the default instead.")]})
    if was_default and data.get("active") is False:
        raise ValidationError({"active": [
            _("The default pipeline cannot be deactivated; make another one the default first.")]})
    if creating:
        pipeline = _save(actor=actor, obj=pipeline, fields=PIPELINE_FIELDS,
                         data={**data, "active": False})
        if copy_from is not None:
            for s in copy_from.stages.order_by("order", "pk"):
                stage = Stage.objects.create(
                    pipeline=pipeline, name=s.name, order=s.order, kind=s.kind,
                    probability=s.probability, required_fields=list(s.required_fields),
                    required_activities=list(s.required_activities))
                audit.record_create(actor=actor, obj=stage, fields=STAGE_FIELDS)
        if data.get("active"):
            pipeline = _save(actor=actor, obj=pipeline, fields=PIPELINE_FIELDS,
                             data={"active": True})
    else:
        pipeline = _save(actor=actor, obj=pipeline, fields=PIPELINE_FIELDS, data=data)
    _check_active(pipeline)
    if pipeline.is_default and not was_default:
        for other in Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk):
            _save(actor=actor, obj=other, fields=PIPELINE_FIELDS, data={"is_default": False})
    if was_active and not pipeline.active and not Pipeline.objects.filter(active=True).exists():
        raise ValidationError({"active": [_("At least one pipeline must stay active.")]})
    return pipeline


# ---------------------------------------------------------------- stages


def _clean_stage(stage: Stage) -> None:
    from guanxi.activities.models import InteractionKind

    from .services import REQUIRABLE

    errors: dict[str, list[str]] = {}
    if not (stage.name or "").strip():
        errors["name"] = [_("A stage needs a name.")]
    if stage.probability is not None and stage.probability > 100:
        errors["probability"] = [_("A probability is at most 100%.")]
    unknown = [f for f in stage.required_fields or [] if f not in REQUIRABLE]
    if unknown:
        errors["required_fields"] = [_("Unknown field: %(f)s") % {"f": ", ".join(unknown)}]
    kinds = set(InteractionKind.values)
    unknown = [k for k in stage.required_activities or [] if k not in kinds]
    if unknown:
        errors["required_activities"] = [_("Unknown activity: %(k)s") % {"k": ", ".join(unknown)}]
    if errors:
        raise ValidationError(errors)


def _stage_save(*, actor, stage: Stage, data: dict[str, Any]) -> Stage:
    creating = stage.pk is None
    before = {} if creating else audit.snapshot(stage, STAGE_FIELDS)
    for key in ("name", "kind", "probability", "required_fields", "required_activities"):
        if key in data:
            setattr(stage, key, data[key])
    stage.name = (stage.name or "").strip()
    stage.required_fields = list(dict.fromkeys(stage.required_fields or []))
    stage.required_activities = list(dict.fromkeys(stage.required_activities or []))
    _clean_stage(stage)
    if creating:
        stage.save()
        audit.record_create(actor=actor, obj=stage, fields=STAGE_FIELDS)
    else:
        changes = audit.diff(before, audit.snapshot(stage, STAGE_FIELDS))
        if changes:
            stage.save()
            audit.record(actor=actor, action=AuditAction.UPDATE, obj=stage, changes=changes)
    _check_active(stage.pipeline)
    return stage


@transaction.atomic
def stage_add(*, actor, pipeline: Pipeline, **data: Any) -> Stage:
    """Add a stage: open stages go before the first closed (won/lost) one, closed at the end."""
    _require(can_edit_setup(actor))
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stages = list(pipeline.stages.order_by("order", "pk"))
    stage = Stage(pipeline=pipeline)
    kind = data.get("kind", StageKind.OPEN)
    last = max((s.order for s in stages), default=0)
    first_closed = next((i for i, s in enumerate(stages) if s.kind != StageKind.OPEN), None)
    if kind == StageKind.OPEN and first_closed is not None:
        stage.order = last + ORDER_STEP  # placed, then moved before the closed stages
        _stage_save(actor=actor, stage=stage, data=data)
        _renumber(pipeline, [*stages[:first_closed], stage, *stages[first_closed:]])
        return stage
    stage.order = last + ORDER_STEP
    return _stage_save(actor=actor, stage=stage, data=data)


@transaction.atomic
def stage_update(*, actor, stage: Stage, **data: Any) -> Stage:
    _require(can_edit_setup(actor))
    stage = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    return _stage_save(actor=actor, stage=stage, data=data)


def _renumber(pipeline: Pipeline, ordered: list[Stage]) -> None:
    """Give `ordered` the orders 10, 20, … without breaking the unique (pipeline, order)."""
    top = (pipeline.stages.aggregate(m=Max("order"))["m"] or 0) + 1
    for i, s in enumerate(ordered):  # first out of the way, then into place
        Stage.objects.filter(pk=s.pk).update(order=top + i + 1)
    for i, s in enumerate(ordered):
        s.order = (i + 1) * ORDER_STEP
        Stage.objects.filter(pk=s.pk).update(order=s.order)


@transaction.atomic
def stage_move(*, actor, stage: Stage, direction: str) -> Stage:
    """Move a stage one place up or down (stages are renumbered 10, 20, …)."""
    _require(can_edit_setup(actor))
    if direction not in ("up", "down"):
        raise ValidationError(_("Move a stage up or down."))
    pipeline = Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    stages = list(pipeline.stages.order_by("order", "pk"))
    i = next(n for n, s in enumerate(stages) if s.pk == stage.pk)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(stages):
        return stages[i]
    before = [s.name for s in stages]
    stages[i], stages[j] = stages[j], stages[i]
    _renumber(pipeline, stages)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=pipeline,
                 changes={"stages": [before, [s.name for s in stages]]})
    return stages[j]


def stage_in_use(stage: Stage) -> bool:
    """A deal is (or was) in this stage: the stage history refers to it."""
    return (Opportunity.all_objects.filter(stage=stage).exists()
            or StageChange.objects.filter(Q(from_stage=stage) | Q(to_stage=stage)).exists())


@transaction.atomic
def stage_delete(*, actor, stage: Stage) -> None:
    """Delete a stage that no deal uses or ever used (refused otherwise)."""
    _require(can_edit_setup(actor))
    stage = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    if stage_in_use(stage):
        raise ValidationError(
            _("“%(name)s” cannot be deleted: deals are or were in this stage. Rename it or "
              "move the deals first.") % {"name": stage.name}, code="stage_in_use")
    pipeline = stage.pipeline
    audit.record(actor=actor, action=AuditAction.DELETE, obj=stage,
                 changes={k: [v, None] for k, v in audit.snapshot(stage, STAGE_FIELDS).items()})
    stage.delete()
    _check_active(pipeline)


# ---------------------------------------------------------------- pools


@transaction.atomic
def pool_save(*, actor, pool: Pool | None = None, **data: Any) -> Pool:
    """Create or edit a customer pool (daily claim limit, the two return rules)."""
    if not can_edit_pools(actor):
        raise PermissionDenied(_("Only an administrator or a director may change pools."))
    return _save(actor=actor, obj=pool or Pool(), fields=POOL_FIELDS, data=data)
