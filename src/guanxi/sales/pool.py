"""The customer pool (公海): claiming, releasing, assigning and automatic return.

A customer without an owner sits in the pool of its team (region/office) or of the
nearest ancestor team that has an active pool; a customer without a team belongs to
the pool of the root (company) team. Every owner change writes an `OwnerChange` row
and an audit entry on the customer, in the same transaction as the change.

Services are keyword-only with the actor first; permissions are checked before any
write, so a refused call changes nothing. `now` is a controllable clock (tests, the
scheduler); it defaults to `timezone.now()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from guanxi.accounts.models import Role, Team, User
from guanxi.core import audit
from guanxi.core.jobs import job_body, job_progress, start_job
from guanxi.core.models import AuditAction, Job
from guanxi.parties import permissions as party_perms
from guanxi.parties.models import Customer

from .models import (
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    OwnerChange,
    OwnerChangeReason,
    Pool,
)

# Roles that may own customers: claim from the pool, and receive assigned customers.
OWNER_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP}
# Roles that assign customers to others (managers only within their team subtree).
ASSIGN_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER}
AUTO_RETURN = "auto_return"
BATCH_SIZE = 500


def _role(user) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


# --- Which pool ---------------------------------------------------------------------


def _ancestor_ids(team: Team) -> list[int]:
    """The team's id and its ancestors' ids, nearest first (from the materialised path)."""
    return [int(x) for x in reversed(team.path.strip("/").split("/")) if x]


def _preferred(pools: QuerySet[Pool]) -> QuerySet[Pool]:
    """Several pools on one team (per product line): the general one, then the oldest."""
    return pools.order_by(F("product_line_id").asc(nulls_first=True), "pk")


def _root_pool() -> Pool | None:
    return (Pool.objects.filter(active=True, team__parent__isnull=True).select_related("team")
            .order_by("team_id", F("product_line_id").asc(nulls_first=True), "pk").first())


def pool_for(customer: Customer) -> Pool | None:
    """The active pool of the customer's team or of its nearest ancestor; a customer
    without a team belongs to the pool of the root (company) team, if there is one."""
    if customer.team_id is None:
        return _root_pool()
    ids = _ancestor_ids(customer.team)
    by_team: dict[int, Pool] = {}
    for pool in _preferred(Pool.objects.filter(active=True, team_id__in=ids)).select_related("team"):
        by_team.setdefault(pool.team_id, pool)
    return next((by_team[i] for i in ids if i in by_team), None)


def _pool_map() -> tuple[dict[int, Pool], Pool | None]:
    """team id → the pool its customers belong to, and the pool of customers without team.

    One query for the teams and one for the pools: the team tree is small."""
    by_team: dict[int, Pool] = {}
    for pool in _preferred(Pool.objects.filter(active=True)).select_related("team"):
        by_team.setdefault(pool.team_id, pool)
    mapping: dict[int, Pool] = {}
    for team_id, path in Team.objects.values_list("id", "path"):
        ids = [int(x) for x in reversed(path.strip("/").split("/")) if x]
        pool = next((by_team[i] for i in ids if i in by_team), None)
        if pool is not None:
            mapping[team_id] = pool
    return mapping, _root_pool()


def pool_customers(user, pool: Pool) -> QuerySet[Customer]:
    """Customers in `pool` the user may see: no owner, not deleted, team in the pool
    team's subtree (and, for a root-team pool, customers without a team)."""
    in_pool = Q(team__path__startswith=pool.team.path)
    if pool.team.parent_id is None:
        in_pool |= Q(team__isnull=True)
    return Customer.objects.visible_to(user).filter(in_pool, owner__isnull=True)


# --- Claim, release, assign -----------------------------------------------------------


def _day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = timezone.make_aware(dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time()),
                              local.tzinfo)
    return start, end


def claims_today(user, now: dt.datetime | None = None) -> int:
    """How many customers and leads the user claimed from any pool on the local day of
    `now` (one daily limit covers both)."""
    start, end = _day_bounds(_now(now))
    return OwnerChange.objects.filter(reason=OwnerChangeReason.CLAIM, to_user_id=user.pk,
                                      at__gte=start, at__lt=end).count()


def _locked(pk: int) -> Customer:
    return Customer.all_objects.select_for_update().get(pk=pk)


def _change_owner(*, actor, customer: Customer, to_user, reason: str, pool: Pool | None,
                  at: dt.datetime, note: str = "") -> OwnerChange:
    """Set the owner (and a missing team from the new owner), bump the version, and
    write the audit entry and the OwnerChange row. The caller holds the row lock."""
    before = audit.snapshot(customer, ["owner", "team"])
    from_id = customer.owner_id
    customer.owner = to_user
    if to_user is not None and customer.team_id is None and to_user.team_id:
        customer.team_id = to_user.team_id
    customer.version += 1
    customer.save(update_fields=["owner", "team", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=customer,
                 changes=audit.diff(before, audit.snapshot(customer, ["owner", "team"])),
                 customer_id=customer.pk)
    return OwnerChange.objects.create(customer=customer, from_user_id=from_id, to_user=to_user,
                                      reason=reason, pool=pool, by=actor, at=at, note=note[:200])


def _serialise_claims(actor) -> None:
    """Lock the claimant's user row: claims of one user are serialised, so two at once
    cannot both pass the daily limit."""
    list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True))


def _check_claim_limit(actor, pool: Pool | None, now: dt.datetime, message: str) -> None:
    """Refuse the claim when the actor reached `pool`'s daily limit (customer and lead
    claims count together); `message` names what was claimed."""
    if pool is None:
        return
    done = claims_today(actor, now)
    if done >= pool.daily_claim_limit:
        raise ValidationError(message, code="claim_limit",
                              params={"n": done, "limit": pool.daily_claim_limit})


def _inside_subtree(model, ids: set[int], subtree: list[int]) -> bool:
    """Whether every record of `model` in `ids` belongs to the team subtree (by its own
    team or by its owner's team)."""
    inside = model.all_objects.filter(pk__in=ids).filter(
        Q(team_id__in=subtree) | Q(owner__team_id__in=subtree)).count()
    return inside == len(ids)


def _manager_may_assign(user, model, ids: set[int], to_user) -> bool:
    """can_assign / can_assign_leads: directors and administrators always; managers only
    records of their subtree, and only to users of it."""
    role = _role(user)
    if not user.is_active or role not in ASSIGN_ROLES:
        return False
    if role != Role.MANAGER:
        return True
    subtree = user.team_subtree_ids()
    if not subtree or to_user.team_id not in subtree:
        return False
    return _inside_subtree(model, ids, subtree)


@transaction.atomic
def claim(*, actor, customer: Customer, now: dt.datetime | None = None) -> Customer:
    """Take a customer from the pool: the actor becomes its owner.

    Refused (PermissionDenied) for roles that do not own customers and for customers
    the actor cannot see or that are in the recycle bin; refused (ValidationError)
    when the customer already has an owner or the pool's daily claim limit is reached.
    """
    now = _now(now)
    if not actor.is_active or _role(actor) not in OWNER_ROLES:
        raise PermissionDenied(_("You may not claim customers from the pool."))
    _serialise_claims(actor)
    customer = _locked(customer.pk)
    if customer.deleted_at is not None or not Customer.objects.visible_to(actor).filter(
            pk=customer.pk).exists():
        raise PermissionDenied(_("You may not claim this customer."))
    if customer.owner_id is not None:
        raise ValidationError(_("This customer already has an owner."), code="owned")
    pool = pool_for(customer)
    _check_claim_limit(actor, pool, now,
                       _("You have claimed %(n)s customers today; the limit is %(limit)s."))
    _change_owner(actor=actor, customer=customer, to_user=actor, reason=OwnerChangeReason.CLAIM,
                  pool=pool, at=now)
    return customer


def can_release(user, customer: Customer) -> bool:
    """The owner, or a manager/director/administrator who may edit the customer."""
    if not user.is_active or customer.owner_id is None or customer.deleted_at is not None:
        return False
    if customer.owner_id == user.pk:
        return True
    return _role(user) in ASSIGN_ROLES and party_perms.can_edit_customer(user, customer)


@transaction.atomic
def release(*, actor, customer: Customer, note: str = "",
            now: dt.datetime | None = None) -> Customer:
    """Put a customer back into the pool (no owner)."""
    customer = _locked(customer.pk)
    if customer.deleted_at is None and customer.owner_id is None:
        raise ValidationError(_("This customer is already in the pool."), code="in_pool")
    if not can_release(actor, customer):
        raise PermissionDenied(_("You may not release this customer to the pool."))
    _change_owner(actor=actor, customer=customer, to_user=None, reason=OwnerChangeReason.RELEASE,
                  pool=pool_for(customer), at=_now(now), note=note)
    return customer


def can_assign(user, customers: Iterable[Customer], to_user) -> bool:
    """Directors and administrators assign any customer to anyone who may own customers;
    managers only customers of their team subtree (by office or by owner's team) and
    only to users of that subtree."""
    return _manager_may_assign(user, Customer, {c.pk for c in customers}, to_user)


@transaction.atomic
def assign(*, actor, customers: Iterable[Customer], to_user, note: str = "",
           now: dt.datetime | None = None) -> int:
    """Give customers to `to_user`, all or nothing. Returns how many changed owner
    (customers already owned by `to_user` are left alone)."""
    now = _now(now)
    ids = sorted({c.pk for c in customers})
    if not ids:
        return 0
    locked = list(Customer.all_objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids) or any(c.deleted_at is not None for c in locked):
        raise PermissionDenied(_("You may not assign these customers."))
    if not can_assign(actor, locked, to_user):
        raise PermissionDenied(_("You may not assign these customers."))
    if not to_user.is_active or _role(to_user) not in OWNER_ROLES:
        raise ValidationError(_("%(user)s cannot own customers.") % {"user": to_user},
                              code="to_user")
    pools, root_pool = _pool_map()
    changed = 0
    for customer in locked:
        if customer.owner_id == to_user.pk:
            continue
        from_pool = None
        if customer.owner_id is None:
            from_pool = pools.get(customer.team_id) if customer.team_id else root_pool
        _change_owner(actor=actor, customer=customer, to_user=to_user,
                      reason=OwnerChangeReason.ASSIGN, pool=from_pool, at=now, note=note)
        changed += 1
    return changed


# --- Automatic return -------------------------------------------------------------------


def _annotated(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """owner_since: when the current owner got the customer (latest OwnerChange to them,
    else created_at). last_touch: the later of the last contact and owner_since, so a
    customer just claimed gets the full follow-up window even if its last contact is old."""
    got = (OwnerChange.objects.filter(customer_id=OuterRef("pk"), to_user_id=OuterRef("owner_id"))
           .order_by("-at", "-id").values("at")[:1])
    return qs.annotate(owner_since=Coalesce(Subquery(got), F("created_at"))).annotate(
        last_touch=Greatest(Coalesce(F("last_contact_at"), F("owner_since")), F("owner_since")))


def _recent_deal(cutoff: dt.datetime) -> Exists:
    """An open opportunity, or one closed since `cutoff`."""
    return Exists(Opportunity.objects.filter(customer_id=OuterRef("pk")).filter(
        Q(status=OpportunityStatus.OPEN) | Q(closed_on__gte=timezone.localdate(cutoff))))


def _rules(pool: Pool, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The contact and deal cutoffs of a pool; a rule set to 0 days is off."""
    contact = pool.return_after_days_without_contact
    deal = pool.return_after_days_without_open_deal
    return (now - dt.timedelta(days=contact) if contact else None,
            now - dt.timedelta(days=deal) if deal else None)


def _rule_q(pool: Pool, now: dt.datetime) -> Q:
    contact_cutoff, deal_cutoff = _rules(pool, now)
    rule = Q(pk__in=[])
    if contact_cutoff is not None:
        rule |= Q(last_touch__lt=contact_cutoff)
    if deal_cutoff is not None:
        rule |= Q(owner_since__lt=deal_cutoff) & ~_recent_deal(deal_cutoff)
    return rule


def due_for_return(now: dt.datetime | None = None) -> QuerySet[Customer]:
    """Owned customers that their pool's rules send back: not followed up for
    `return_after_days_without_contact` days, or without an open (or recently closed)
    opportunity `return_after_days_without_open_deal` days after the owner got them.

    One query; each customer is judged by the rules of its own (nearest) pool."""
    now = _now(now)
    pools, root_pool = _pool_map()
    teams_of: dict[int, tuple[Pool, list[int]]] = {}
    for team_id, pool in pools.items():
        teams_of.setdefault(pool.pk, (pool, []))[1].append(team_id)
    if root_pool is not None:
        teams_of.setdefault(root_pool.pk, (root_pool, []))
    condition = Q(pk__in=[])
    for pool, team_ids in teams_of.values():
        scope = Q(team_id__in=team_ids)
        if root_pool is not None and pool.pk == root_pool.pk:
            scope |= Q(team__isnull=True)
        condition |= scope & _rule_q(pool, now)
    return _annotated(Customer.objects.filter(owner__isnull=False)).filter(condition)


def _note(pool: Pool, customer: Customer, now: dt.datetime) -> str:
    """Which rule returned the customer (English source text, translated when shown)."""
    contact_cutoff, _deal = _rules(pool, now)
    if contact_cutoff is not None and customer.last_touch < contact_cutoff:  # type: ignore[attr-defined]
        return gettext_noop("No follow-up for %(days)s days") % {
            "days": pool.return_after_days_without_contact}
    return gettext_noop("No open opportunity for %(days)s days") % {
        "days": pool.return_after_days_without_open_deal}


def auto_return(now: dt.datetime | None = None, *, batch_size: int = BATCH_SIZE,
                progress: Callable[[int, int], Any] | None = None) -> int:
    """Return every customer due for return to its pool, in short transactions of
    `batch_size` customers. Idempotent; returns how many customers went back."""
    now = _now(now)
    ids = list(due_for_return(now).order_by("pk").values_list("pk", flat=True))
    pools, root_pool = _pool_map()
    returned = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with transaction.atomic():
            # Judged again under the lock: a contact logged meanwhile keeps the customer.
            rows = list(due_for_return(now).filter(pk__in=chunk).select_for_update()
                        .order_by("pk"))
            if rows:
                returned += _return_rows(rows, pools, root_pool, now)
        if progress is not None:
            progress(min(start + batch_size, len(ids)), len(ids))
    return returned


def _return_rows(rows: list[Customer], pools: dict[int, Pool], root_pool: Pool | None,
                 now: dt.datetime) -> int:
    owners = User.objects.in_bulk({c.owner_id for c in rows})
    Customer.all_objects.filter(pk__in=[c.pk for c in rows]).update(
        owner=None, version=F("version") + 1, updated_at=timezone.now())
    changes = []
    for customer in rows:
        pool = pools.get(customer.team_id) if customer.team_id else root_pool
        assert pool is not None  # due_for_return only selects customers with a pool
        changes.append(OwnerChange(customer=customer, from_user_id=customer.owner_id,
                                   to_user=None, reason=OwnerChangeReason.AUTO_RETURN,
                                   pool=pool, by=None, at=now, note=_note(pool, customer, now)))
        owner = owners.get(customer.owner_id)
        customer.version += 1
        customer.owner_id = None
        audit.record(actor=None, action=AuditAction.UPDATE, obj=customer,
                     changes={"owner": [str(owner) if owner else None, None]},
                     customer_id=customer.pk)
    OwnerChange.objects.bulk_create(changes)
    return len(rows)


@task()
@job_body
def auto_return_job(job: Job, now: str | None = None) -> dict[str, Any]:
    """Background job: return neglected customers to their pools (run daily)."""
    at = dt.datetime.fromisoformat(now) if now else None
    returned = auto_return(at, progress=lambda done, total: job_progress(job.pk, done, total))
    return {"returned": returned}


def start_auto_return(*, actor=None, now: dt.datetime | None = None) -> Job:
    """Start the auto-return job (the scheduler, or an administrator)."""
    return start_job(actor=actor, kind=AUTO_RETURN,
                     title=gettext_noop("Return neglected customers to the pool"),
                     task=auto_return_job,
                     params={"now": now.isoformat()} if now is not None else {})


# --- Which pools a user works with ------------------------------------------------------


def pool_for_team(team: Team | None) -> Pool | None:
    """The active pool of `team` or of its nearest ancestor; the root pool for no team."""
    if team is None:
        return _root_pool()
    ids = _ancestor_ids(team)
    by_team: dict[int, Pool] = {}
    for pool in _preferred(Pool.objects.filter(active=True, team_id__in=ids)).select_related("team"):
        by_team.setdefault(pool.team_id, pool)
    return next((by_team[i] for i in ids if i in by_team), None)


def pools_for_user(user) -> QuerySet[Pool]:
    """Active pools a user works with: everyone who reads all customers sees every pool;
    others the pools of their team's ancestors and (managers) of their subtree."""
    qs = (Pool.objects.filter(active=True).select_related("team", "product_line")
          .order_by("team__path", "name", "pk"))
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return qs.none()
    if user.sees_all_customers:
        return qs
    if not user.team_id:
        return qs.filter(team__parent__isnull=True)
    ids = set(_ancestor_ids(user.team))
    if _role(user) == Role.MANAGER:
        ids |= set(user.team_subtree_ids())
    return qs.filter(team_id__in=ids)


def claims_left(user, pool: Pool | None, now: dt.datetime | None = None) -> int | None:
    """Claims the user has left today under `pool`'s limit (None: no pool, no limit)."""
    if pool is None:
        return None
    return max(0, pool.daily_claim_limit - claims_today(user, now))


# --- Leads in the pool ----------------------------------------------------------------------


def pool_for_lead(lead: Lead) -> Pool | None:
    """The lead's own pool when it is set and active, else the pool of its team."""
    if lead.pool_id is not None and lead.pool.active:
        return lead.pool
    return pool_for_team(lead.team)


def pool_of_leads(leads: Iterable[Lead]) -> dict[int, Pool | None]:
    """lead id → its pool, for many leads at once (two queries)."""
    mapping, root_pool = _pool_map()
    result: dict[int, Pool | None] = {}
    for lead in leads:
        if lead.pool_id is not None and lead.pool.active:
            result[lead.pk] = lead.pool
        else:
            result[lead.pk] = mapping.get(lead.team_id) if lead.team_id else root_pool
    return result


def pool_of_customers(customers: Iterable[Customer]) -> dict[int, Pool | None]:
    """customer id → its pool, for many customers at once (two queries)."""
    mapping, root_pool = _pool_map()
    return {c.pk: (mapping.get(c.team_id) if c.team_id else root_pool) for c in customers}


def pool_leads(user, pool: Pool) -> QuerySet[Lead]:
    """Leads in `pool` the user may see: no owner, not converted, not deleted; put into
    this pool (or a pool below it) or, without a pool, of a team in the pool's subtree
    (a root-team pool also holds leads without team and pool)."""
    path = pool.team.path
    in_pool = (Q(pool_id=pool.pk) | Q(pool__team__path__startswith=path)
               | Q(pool__isnull=True, team__path__startswith=path))
    if pool.team.parent_id is None:
        in_pool |= Q(pool__isnull=True, team__isnull=True)
    return (Lead.objects.visible_to(user).filter(in_pool, owner__isnull=True)
            .exclude(status=LeadStatus.CONVERTED))


LEAD_AUDIT_FIELDS = ["owner", "team", "pool"]


def _change_lead_owner(*, actor, lead: Lead, to_user, reason: str, pool: Pool | None,
                       at: dt.datetime, note: str = "") -> OwnerChange:
    """Like `_change_owner` for a lead; a released lead is put into `pool`."""
    before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
    from_id = lead.owner_id
    lead.owner = to_user
    lead.owner_since = at if to_user is not None else None
    if to_user is not None and lead.team_id is None and to_user.team_id:
        lead.team_id = to_user.team_id
    if to_user is None and pool is not None:
        lead.pool = pool
    lead.version += 1
    lead.save(update_fields=["owner", "owner_since", "team", "pool", "version", "updated_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=lead,
                 changes=audit.diff(before, audit.snapshot(lead, LEAD_AUDIT_FIELDS)))
    return OwnerChange.objects.create(lead=lead, from_user_id=from_id, to_user=to_user,
                                      reason=reason, pool=pool, by=actor, at=at, note=note[:200])


@transaction.atomic
def claim_lead(*, actor, lead: Lead, now: dt.datetime | None = None) -> Lead:
    """Take a lead from the pool. The daily limit counts customer and lead claims together."""
    now = _now(now)
    if not actor.is_active or _role(actor) not in OWNER_ROLES:
        raise PermissionDenied(_("You may not claim leads from the pool."))
    _serialise_claims(actor)
    lead = Lead.all_objects.select_for_update().get(pk=lead.pk)
    if lead.deleted_at is not None or not Lead.objects.visible_to(actor).filter(
            pk=lead.pk).exists():
        raise PermissionDenied(_("You may not claim this lead."))
    if lead.owner_id is not None:
        raise ValidationError(_("This lead already has an owner."), code="owned")
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(_("This lead has been converted already."), code="converted")
    pool = pool_for_lead(lead)
    _check_claim_limit(
        actor, pool, now,
        _("You have claimed %(n)s customers and leads today; the limit is %(limit)s."))
    _change_lead_owner(actor=actor, lead=lead, to_user=actor, reason=OwnerChangeReason.CLAIM,
                       pool=pool, at=now)
    return lead


def can_release_lead(user, lead: Lead) -> bool:
    """The owner, or a manager/director/administrator who sees the lead."""
    if not user.is_active or lead.owner_id is None or lead.deleted_at is not None:
        return False
    if lead.owner_id == user.pk:
        return True
    return (_role(user) in ASSIGN_ROLES
            and Lead.objects.visible_to(user).filter(pk=lead.pk).exists())


@transaction.atomic
def release_lead(*, actor, lead: Lead, note: str = "", now: dt.datetime | None = None) -> Lead:
    """Put a lead back into the pool of its team (no owner)."""
    lead = Lead.all_objects.select_for_update().get(pk=lead.pk)
    if lead.deleted_at is None and lead.owner_id is None:
        raise ValidationError(_("This lead is already in the pool."), code="in_pool")
    if not can_release_lead(actor, lead):
        raise PermissionDenied(_("You may not release this lead to the pool."))
    _change_lead_owner(actor=actor, lead=lead, to_user=None, reason=OwnerChangeReason.RELEASE,
                       pool=pool_for_lead(lead), at=_now(now), note=note)
    return lead


def can_assign_leads(user, leads: Iterable[Lead], to_user) -> bool:
    """As `can_assign`, for leads (by the lead's team or its owner's team)."""
    return _manager_may_assign(user, Lead, {lead.pk for lead in leads}, to_user)


@transaction.atomic
def assign_leads(*, actor, leads: Iterable[Lead], to_user, note: str = "",
                 now: dt.datetime | None = None) -> int:
    """Give leads to `to_user`, all or nothing; returns how many changed owner."""
    now = _now(now)
    ids = sorted({lead.pk for lead in leads})
    if not ids:
        return 0
    locked = list(Lead.all_objects.select_for_update(of=("self",)).filter(pk__in=ids)
                  .order_by("pk").select_related("pool"))
    if len(locked) != len(ids) or any(lead.deleted_at is not None for lead in locked):
        raise PermissionDenied(_("You may not assign these leads."))
    if not can_assign_leads(actor, locked, to_user):
        raise PermissionDenied(_("You may not assign these leads."))
    if not to_user.is_active or _role(to_user) not in OWNER_ROLES:
        raise ValidationError(_("%(user)s cannot own leads.") % {"user": to_user},
                              code="to_user")
    pools = pool_of_leads(locked)
    changed = 0
    for lead in locked:
        if lead.owner_id == to_user.pk:
            continue
        from_pool = pools[lead.pk] if lead.owner_id is None else None
        _change_lead_owner(actor=actor, lead=lead, to_user=to_user,
                           reason=OwnerChangeReason.ASSIGN, pool=from_pool, at=now, note=note)
        changed += 1
    return changed
