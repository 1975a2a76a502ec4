"""Sales targets: who may set them, the writes (audited), which ones a user sees, and
attainment (won revenue in the period ÷ target).

A target belongs to one rep (`user`) or one team (`team`), never both here; its
`period_start` is normalised to the first day of its month, quarter or year. The
database's unique constraint cannot see NULLs as equal, so `target_set` is an upsert
keyed by (user, team, period kind, period start, product line) under a lock.

Public API
----------
- `can_set_target(actor, *, user=None, team=None) -> bool`
- `can_manage_targets(actor) -> bool` (may open the targets page)
- `target_set(*, actor, user=None, team=None, period_kind, period_start, amount,
  product_line=None) -> SalesTarget` (amount 0 or None deletes nothing: use target_delete)
- `target_delete(*, actor, target) -> None`
- `targets_visible_to(user) -> QuerySet[SalesTarget]`
- `attainment(target, *, viewer) -> Attainment` (won, target, percent)
- `target_totals(user, *, kind, start, end, group_by) -> dict[(date, key), Decimal]`
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.core import audit
from guanxi.core.models import AuditAction

from .forecast import _money, add_months, period_of, period_start
from .models import Opportunity, OpportunityStatus, PeriodKind, SalesTarget

MANAGE_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER}
TARGET_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP}  # who may have a target
FIELDS = ["user", "team", "period_kind", "period_start", "amount", "product_line"]


def _role(user) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def can_manage_targets(actor) -> bool:
    return bool(actor.is_active and _role(actor) in MANAGE_ROLES)


def can_set_target(actor, *, user: User | None = None, team: Team | None = None) -> bool:
    """Administrators and directors: any target. Managers: reps of their team subtree
    and teams inside it. Nobody else."""
    if not can_manage_targets(actor):
        return False
    if _role(actor) != Role.MANAGER:
        return True
    subtree = set(actor.team_subtree_ids())
    if user is not None:
        return user.team_id in subtree
    return team is not None and team.pk in subtree


def targets_visible_to(user) -> QuerySet[SalesTarget]:
    """Every target for roles that read all customers; managers their subtree's; reps
    their own and their team's."""
    qs = SalesTarget.objects.select_related("user", "team", "product_line")
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return qs.none()
    if user.sees_all_customers:
        return qs
    q = Q(user_id=user.pk)
    if user.team_id:
        q |= Q(user__isnull=True, team_id=user.team_id)
    if user.role == Role.MANAGER and user.team_id:
        ids = user.team_subtree_ids()
        q |= Q(user__team_id__in=ids) | Q(user__isnull=True, team_id__in=ids)
    return qs.filter(q)


def _clean(*, user, team, period_kind: str, period_start_: Any,
           amount: Any) -> tuple[dt.date, Decimal]:
    errors: dict[str, list[str]] = {}
    if (user is None) == (team is None):
        errors["user"] = [_("Choose a sales rep or a team (one of them).")]
    if user is not None and (not user.is_active or _role(user) not in TARGET_ROLES):
        errors["user"] = [_("%(user)s cannot have a sales target.") % {"user": user}]
    if period_kind not in PeriodKind.values:
        errors["period_kind"] = [_("Choose a month, quarter or year.")]
    if not isinstance(period_start_, dt.date):
        errors["period_start"] = [_("Enter the first day of the period.")]
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
        if value < 0 or not value.is_finite():
            raise InvalidOperation
        if value >= Decimal("1e12"):
            errors["amount"] = [_("This target is too large.")]
    except (InvalidOperation, ValueError):
        errors["amount"] = [_("Enter a target of zero or more.")]
        value = Decimal(0)
    if errors:
        raise ValidationError(errors)
    return period_start(period_kind, period_start_), value


@transaction.atomic
def target_set(*, actor, user: User | None = None, team: Team | None = None,
               period_kind: str = PeriodKind.MONTH, period_start: dt.date, amount: Any,
               product_line=None) -> SalesTarget:
    """Create or change the target of a rep or team for a period (audited)."""
    if not can_set_target(actor, user=user, team=team):
        raise PermissionDenied(_("You may not set this sales target."))
    start, value = _clean(user=user, team=team, period_kind=period_kind,
                          period_start_=period_start, amount=amount)
    # Serialise writers of the same owner's targets (the unique key has NULLs).
    owner = User.objects.filter(pk=user.pk) if user else Team.objects.filter(pk=team.pk)
    list(owner.select_for_update().values_list("pk", flat=True))
    target = SalesTarget.objects.filter(
        user=user, team=team, period_kind=period_kind, period_start=start,
        product_line=product_line).first()
    if target is None:
        target = SalesTarget.objects.create(user=user, team=team, period_kind=period_kind,
                                            period_start=start, amount=value,
                                            product_line=product_line)
        audit.record_create(actor=actor, obj=target, fields=FIELDS)
        return target
    before = audit.snapshot(target, FIELDS)
    if target.amount != value:
        target.amount = value
        target.save(update_fields=["amount"])
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=target,
                     changes=audit.diff(before, audit.snapshot(target, FIELDS)))
    return target


@transaction.atomic
def target_delete(*, actor, target: SalesTarget) -> None:
    if not can_set_target(actor, user=target.user, team=target.team):
        raise PermissionDenied(_("You may not delete this sales target."))
    before = audit.snapshot(target, FIELDS)
    audit.record(actor=actor, action=AuditAction.DELETE, obj=target,
                 changes={k: [v, None] for k, v in before.items() if v not in (None, "")})
    target.delete()


# --- Attainment ---------------------------------------------------------------------------


@dataclass
class Attainment:
    won: Decimal
    target: Decimal

    @property
    def percent(self) -> float | None:
        return float(self.won / self.target * 100) if self.target else None


def period_end(target: SalesTarget) -> dt.date:
    return period_of(target.period_kind, target.period_start).end


def won_for_target(target: SalesTarget, *, viewer) -> Decimal:
    """Won revenue (元) in the target's period: deals owned by the rep, or of the team's
    subtree; only deals of the target's product line when it has one; as `viewer` sees."""
    qs = Opportunity.objects.visible_to(viewer).filter(
        status=OpportunityStatus.WON, closed_on__gte=target.period_start,
        closed_on__lt=period_end(target))
    if target.user_id:
        qs = qs.filter(owner_id=target.user_id)
    else:
        qs = qs.filter(team__path__startswith=target.team.path)
    if target.product_line_id:
        qs = qs.filter(product_line_id=target.product_line_id)
    total = qs.aggregate(t=Sum(Cast(F("amount"), FloatField()) * Cast(F("exchange_rate"),
                                                                        FloatField())))["t"]
    return _money(total)


def attainment(target: SalesTarget, *, viewer) -> Attainment:
    return Attainment(won_for_target(target, viewer=viewer), target.amount)


# --- Targets in the forecast table ----------------------------------------------------------


def _target_scope(qs: QuerySet[SalesTarget], group_by: str) -> tuple[QuerySet[SalesTarget], str]:
    """Which targets a grouping shows, and the key column: reps' own targets; targets
    of offices/departments; of regions; per product line (team targets summed)."""
    if group_by == "rep":
        return qs.filter(user__isnull=False, product_line__isnull=True), "user_id"
    if group_by == "team":
        return qs.filter(user__isnull=True, product_line__isnull=True).exclude(
            team__kind__in=[TeamKind.REGION, TeamKind.COMPANY]), "team_id"
    if group_by == "region":
        return qs.filter(user__isnull=True, product_line__isnull=True,
                         team__kind=TeamKind.REGION), "team_id"
    if group_by == "product_line":
        return qs.filter(user__isnull=True, product_line__isnull=False), "product_line_id"
    raise ValueError(group_by)


def target_totals(user, *, kind: str, start: dt.date, end: dt.date,
                  group_by: str = "rep") -> dict[tuple[dt.date, Any], Decimal]:
    """Targets the user may see, per (period start, group key) for periods of `kind` in
    [start, end). In a quarter view, a key without a quarter target gets the sum of its
    month targets in that quarter."""
    qs, key = _target_scope(targets_visible_to(user), group_by)
    kinds = [kind, PeriodKind.MONTH] if kind == PeriodKind.QUARTER else [kind]
    rows = (qs.filter(period_kind__in=kinds, period_start__gte=start, period_start__lt=end)
            .values("period_kind", "period_start", key).annotate(total=Sum("amount")).order_by())
    own: dict[tuple[dt.date, Any], Decimal] = {}
    rolled: dict[tuple[dt.date, Any], Decimal] = {}
    for row in rows:
        bucket = own if row["period_kind"] == kind else rolled
        k = (period_start(kind, row["period_start"]), row[key])
        bucket[k] = bucket.get(k, Decimal(0)) + Decimal(row["total"])
    for k, value in rolled.items():
        own.setdefault(k, value)
    return own


def next_periods(kind: str, today: dt.date, count: int = 6) -> list[dt.date]:
    """Starts of the current and next periods (choices on the targets page)."""
    first = period_start(kind, today)
    step = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[kind]
    return [add_months(first, i * step) for i in range(-1, count)]
