"""Reads behind "My day" and the first-run screen, scoped by `Customer.visible_to(user)`.

Whose follow-ups: a follow-up (an interaction with `follow_up_on` set and not done)
is the user's when they logged it *or* it is on a customer they own — the person
who will act on it either way. It is personal for every role: a manager's or
director's team follow-ups belong on team reports, not on their own day.

Whose customers "gone too long without contact": a rep's (and any other role's)
own customers; a manager's, the customers owned by anyone in their team subtree;
a director's or administrator's, every customer with an owner. Pool customers
(no owner) are nobody's duty yet and are left out. A customer is stale when its
`last_contact_at` is older than its tier's interval or null (never contacted).
Lists are capped (limit + 1 rows fetched to know whether there are more), so no
page ever counts a million rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from guanxi.accounts.models import Role, Team, User
from guanxi.activities.models import Interaction
from guanxi.core import site_settings
from guanxi.parties.models import Customer, Tier

FOLLOW_UP_LIMIT = 50
STALE_LIMIT = 50
UPCOMING_DAYS = 7


@dataclass
class Section:
    """A capped list: `items` (at most the limit) and whether more rows exist."""

    items: list[Any]
    more: bool = False

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def count_label(self) -> str:
        return f"{len(self.items)}+" if self.more else str(len(self.items))


# --- Follow-ups ----------------------------------------------------------------------


def _follow_up_candidates(user, until: dt.date) -> list[tuple]:
    """(pk, customer_id, follow_up_on) of the user's open follow-ups due by `until`,
    earliest first, not yet checked for visibility.

    Two index-driven reads of four small columns: those the user logged (index on
    created_by, follow_up_done, follow_up_on) and those on customers the user owns
    (owner index, then interactions by customer). `follow_up_done__in=[False]`
    rather than `=False`, because SQLite renders the latter as `NOT col`, which no
    index serves. Soft-deleted interactions are dropped here (reading deleted_at
    instead of filtering on it keeps SQLite off the unselective deleted_at index).
    """
    base = Interaction.all_objects.filter(follow_up_done__in=[False], follow_up_on__lte=until)
    cols = ("pk", "customer_id", "follow_up_on", "deleted_at")
    rows = {r[0]: r for r in base.filter(created_by_id=user.pk).values_list(*cols)}
    rows.update({r[0]: r for r in base.filter(customer__owner_id=user.pk).values_list(*cols)})
    return sorted((r[:3] for r in rows.values() if r[3] is None), key=lambda r: (r[2], r[0]))


def _take_visible(user, candidates: list[tuple], limit: int) -> list[tuple]:
    """The first limit + 1 candidates whose customer the user may see, checked with
    `Customer.objects.visible_to(user)` for just those customers, batch by batch (so
    the check never materialises everything a rep may see, such as the pool)."""
    out: list[tuple] = []
    batch = limit * 2 + 1
    for i in range(0, len(candidates), batch):
        chunk = candidates[i:i + batch]
        # all_objects + deleted_at read back: without ANALYZE statistics SQLite would
        # otherwise drive this by the unselective deleted_at index, not by the pks.
        visible = {
            pk for pk, deleted_at in Customer.all_objects.visible_to(user)
            .filter(pk__in={r[1] for r in chunk}).values_list("pk", "deleted_at")
            if deleted_at is None
        }
        out += [r for r in chunk if r[1] in visible]
        if len(out) > limit:
            break
    return out[: limit + 1]


@dataclass
class FollowUps:
    overdue: Section
    today: Section
    upcoming: Section

    @property
    def empty(self) -> bool:
        return not (self.overdue.items or self.today.items or self.upcoming.items)


def my_follow_ups(user, *, today: dt.date | None = None,
                  limit: int = FOLLOW_UP_LIMIT) -> FollowUps:
    """Overdue, today's and the next seven days' follow-ups (each capped at `limit`)."""
    today = today or timezone.localdate()
    candidates = _follow_up_candidates(user, today + dt.timedelta(days=UPCOMING_DAYS))
    groups = {
        "overdue": _take_visible(user, [r for r in candidates if r[2] < today], limit),
        "today": _take_visible(user, [r for r in candidates if r[2] == today], limit),
        "upcoming": _take_visible(user, [r for r in candidates if r[2] > today], limit),
    }
    ids = [r[0] for rows in groups.values() for r in rows[:limit]]
    by_pk = Interaction.all_objects.select_related("customer", "contact", "created_by").in_bulk(ids)
    sections = {
        key: Section([by_pk[r[0]] for r in rows[:limit] if r[0] in by_pk], len(rows) > limit)
        for key, rows in groups.items()
    }
    return FollowUps(**sections)


# --- Customers gone too long without contact ------------------------------------------


def stale_scope(user) -> Q:
    """Whose customers a user keeps an eye on (see the module docstring)."""
    role = Role.ADMIN if user.is_superuser else user.role
    if role in (Role.ADMIN, Role.DIRECTOR):
        return Q(owner__isnull=False)
    if role == Role.MANAGER and user.team_id:
        team = Team.objects.get(pk=user.team_id)
        members = User.objects.filter(team__path__startswith=team.path).values("pk")
        return Q(owner_id__in=members)
    return Q(owner_id=user.pk)


def stale_base(user, tier: str) -> QuerySet:
    """One tier's customers in the user's stale scope, visible to the user.

    For one owner the (owner, last_contact_at) index is the right one; without planner
    statistics SQLite sees (tier, last_contact_at) as just as good and may pick it, so
    the tier is compared with `iexact` there, which no index serves (same rows: tiers
    are upper-case letters)."""
    scope = stale_scope(user)
    one_owner = scope.children == [("owner_id", user.pk)]
    tier_q = Q(tier__iexact=tier) if one_owner else Q(tier=tier)
    return (
        Customer.objects.visible_to(user)
        .filter(scope, tier_q)
        .select_related("owner")
        .defer("search_text", "notes", "custom")
    )


def stale_section(user, tier: str, days: int, *, now: dt.datetime | None = None,
                  limit: int = STALE_LIMIT) -> Section:
    """One tier's customers not contacted for more than `days` days: never contacted
    first, then the longest ago. Two index range scans that stop at the limit, on
    (owner, last_contact_at) for one owner or (tier, last_contact_at) for many; no
    NULLS FIRST ordering, so PostgreSQL uses the same plain indexes."""
    threshold = (now or timezone.now()) - dt.timedelta(days=days)
    base = stale_base(user, tier)
    rows = list(base.filter(last_contact_at__isnull=True).order_by("id")[: limit + 1])
    if len(rows) <= limit:
        older = base.filter(last_contact_at__lt=threshold).order_by("last_contact_at", "id")
        rows += list(older[: limit + 1 - len(rows)])
    return Section(rows[:limit], len(rows) > limit)


@dataclass
class StaleTier:
    tier: str
    days: int
    section: Section = field(default_factory=lambda: Section([]))


def stale_customers(user, *, now: dt.datetime | None = None,
                    limit: int = STALE_LIMIT) -> list[StaleTier]:
    """Per tier (A, B, C): the customers gone too long without contact."""
    now = now or timezone.now()
    intervals = site_settings.contact_interval_days()
    out = []
    for tier in Tier.values:
        days = intervals[tier]
        section = stale_section(user, tier, days, now=now, limit=limit)
        for c in section.items:
            c.days_since = (now - c.last_contact_at).days if c.last_contact_at else None
        out.append(StaleTier(tier=tier, days=days, section=section))
    return out


# --- First run ------------------------------------------------------------------------


@dataclass
class FirstRun:
    users: bool
    teams: bool
    customers: bool
    pack: str | None

    @property
    def people_done(self) -> bool:
        return self.users and self.teams

    @property
    def all_done(self) -> bool:
        return self.people_done and self.customers and bool(self.pack)


def first_run_status() -> FirstRun:
    return FirstRun(
        users=User.objects.filter(is_active=True).count() > 1,
        teams=Team.objects.exists(),
        customers=Customer.objects.exists(),
        pack=site_settings.get("industry_pack"),
    )


def show_first_run(user) -> bool:
    """An administrator on a database without customers sees the welcome screen, until
    they dismiss it."""
    return (
        user.is_active and user.is_admin
        and not Customer.all_objects.exists()
        and not site_settings.get("first_run_dismissed")
    )


def custom_field_usage(key: str) -> int:
    """How many customers hold a non-empty value for a custom field (admin-only page)."""
    qs = Customer.all_objects.filter(custom__has_key=key)
    for empty in (None, "", []):
        qs = qs.exclude(**{f"custom__{key}": empty})
    return qs.count()
