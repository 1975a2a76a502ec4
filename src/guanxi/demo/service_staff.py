"""Demo service desk: the service teams and staff, put in the seeded queues."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .service_vocab import ENGINEERING_TEAM, QUEUE_STAFF, SERVICE_USERS


@dataclass
class ServiceSkeleton:
    queues: dict[str, int]  # queue code → id
    types: dict[str, tuple[int, str]]  # type code → (id, queue code)
    members: dict[str, list[int]]  # queue code → user ids
    managers: dict[str, int | None]
    technicians: dict[str, list[int]]  # region → user ids
    agents: list[int]  # customer service
    policies: dict[tuple[str, str], tuple[int, float, float, int]]  # (tier, priority) → …
    names: dict[int, str]  # user id → display name
    marketing: int | None = None


def _ensure_defaults() -> None:
    """Queues, ticket types, SLA policies and the calendar come from a migration;
    `demo --reset` flushed them, so they are created again the same way."""
    from django.apps import apps

    from guanxi.servicedesk.models import BusinessCalendar, Queue, SlaPolicy, TicketType

    if Queue.objects.exists() and TicketType.objects.exists() and SlaPolicy.objects.exists() \
            and BusinessCalendar.objects.filter(is_default=True).exists():
        return
    module = importlib.import_module("guanxi.servicedesk.migrations.0002_defaults")
    module.forwards(apps, None)


def build_service_skeleton(skeleton) -> ServiceSkeleton:
    """Create (or reuse) the service teams and staff and staff the seeded queues."""
    from guanxi.accounts.models import Role, Team, TeamKind, User
    from guanxi.servicedesk.models import Queue, SlaPolicy, TicketType

    from .company import DEMO_PASSWORD, USERS, _mobile, _team
    from .geo import COMPANY_DOMAIN

    _ensure_defaults()
    company = Team.objects.get(pk=skeleton.company_id)
    teams = {t.name: t for t in Team.objects.filter(parent=company)}
    for name in (ENGINEERING_TEAM, "系统部", "销售内勤"):
        if name not in teams:
            teams[name] = _team(name, TeamKind.DEPARTMENT, company)
    for _u, _d, team_name, region in SERVICE_USERS:
        if region and team_name not in teams:
            teams[team_name] = _team(team_name, TeamKind.DEPARTMENT, teams[ENGINEERING_TEAM])
    # Every demo user has the same password: reuse the hash made for the others.
    password = User.objects.filter(username=USERS[0][0]).values_list("password", flat=True) \
        .first()
    if not password:
        from django.contrib.auth.hashers import make_password

        password = make_password(DEMO_PASSWORD)
    users = {u.username: u for u in User.objects.filter(
        username__in=[u[0] for u in USERS] + [u[0] for u in SERVICE_USERS])}
    technicians: dict[str, list[int]] = {}
    for k, (username, display, team_name, region) in enumerate(SERVICE_USERS):
        user = users.get(username) or User(username=username)
        user.display_name, user.role, user.team = display, Role.SERVICE, teams[team_name]
        user.last_name, user.first_name = display[0], display[1:]
        user.email = f"{username}@{COMPANY_DOMAIN}"
        user.phone = _mobile(100 + k)
        user.password = password
        user.save()
        users[username] = user
        if region:
            technicians.setdefault(region, []).append(user.pk)
        login = (username, Role(Role.SERVICE).label, team_name, DEMO_PASSWORD)
        if login not in skeleton.logins:
            skeleton.logins.append(login)
    queues = {q.code: q for q in Queue.objects.all()}
    members, managers = {}, {}
    for code, (team_name, manager, staff, default) in QUEUE_STAFF.items():
        queue = queues.get(code)
        if queue is None:
            continue
        team = teams.get(team_name) or Team.objects.filter(name=team_name).first()
        queue.team = team
        queue.manager = users.get(manager)
        queue.default_assignee = users.get(default)
        queue.save()
        staff_users = [users[u] for u in staff if u in users]
        queue.members.set(staff_users)
        members[code] = [u.pk for u in staff_users]
        managers[code] = queue.manager_id
    types = {t.code: (t.pk, t.queue.code) for t in TicketType.objects.select_related("queue")}
    policies = {(p.tier, p.priority): (p.pk, float(p.first_response_hours),
                                       float(p.resolution_hours), p.warn_percent)
                for p in SlaPolicy.objects.filter(active=True)}
    names = dict(User.objects.values_list("pk", "display_name"))
    marketing = users.get("marketing")
    return ServiceSkeleton(
        queues={c: q.pk for c, q in queues.items()}, types=types, members=members,
        managers=managers, technicians=technicians,
        agents=members.get("customer_service") or list(skeleton.service_ids),
        policies=policies, names=names, marketing=marketing.pk if marketing else None)
