"""The demo company's skeleton, created through the ORM: teams, users, industries,
tags and (when available) the equipment industry pack. A few dozen rows."""

from __future__ import annotations

import logging

from django.contrib.auth.hashers import make_password

from guanxi.accounts.models import Role, Team, TeamKind, User
from guanxi.parties.models import CustomFieldDef, Industry, Tag

from . import geo, vocab
from .plan import Skeleton

log = logging.getLogger(__name__)

DEMO_PASSWORD = "guanxi-demo"

# (username, display name, role, team: company / region / office key / department).
USERS: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "周建国", Role.ADMIN, "总公司"),
    ("director", "陈志强", Role.DIRECTOR, "总公司"),
    ("mgr_east", "王海峰", Role.MANAGER, "华东区"),
    ("mgr_north", "刘洋", Role.MANAGER, "华北区"),
    ("mgr_south", "黄伟明", Role.MANAGER, "华南区"),
    ("mgr_sw", "李娟", Role.MANAGER, "西南区"),
    ("mgr_central", "张磊", Role.MANAGER, "华中区"),
    ("rep_sh1", "赵敏", Role.REP, "sh"),
    ("rep_sh2", "孙浩", Role.REP, "sh"),
    ("rep_bj1", "马丽", Role.REP, "bj"),
    ("rep_bj2", "杨帆", Role.REP, "bj"),
    ("rep_gz1", "吴俊杰", Role.REP, "gz"),
    ("rep_gz2", "郑晓燕", Role.REP, "gz"),
    ("rep_cd1", "何静", Role.REP, "cd"),
    ("rep_cq1", "邓超", Role.REP, "cq"),
    ("rep_cq2", "罗雪", Role.REP, "cq"),
    ("rep_wh1", "胡斌", Role.REP, "wh"),
    ("service1", "徐婷", Role.SERVICE, "客户服务部"),
    ("service2", "林涛", Role.SERVICE, "客户服务部"),
    ("marketing", "宋佳", Role.MARKETING, "市场部"),
    ("finance", "韩雪梅", Role.FINANCE, "财务部"),
    ("readonly", "曹文", Role.READONLY, "总公司"),
)


def existing_demo_usernames() -> list[str]:
    return list(User.objects.filter(username__in=[u[0] for u in USERS])
                .values_list("username", flat=True))


def _team(name: str, kind: str, parent: Team | None, city: str = "") -> Team:
    team = Team.objects.filter(name=name, parent=parent).first()
    if team is None:
        team = Team(name=name, kind=kind, parent=parent, city=city)
        team.save()
    return team


def _apply_pack() -> bool:
    try:
        from guanxi.parties.packs import apply_pack
    except ImportError:
        log.info("demo: no industry pack loader (guanxi.parties.packs.apply_pack); skipped")
        return False
    apply_pack("equipment", actor=None)
    return True


def _mobile(i: int) -> str:
    return f"+86139{(17000000 + i * 7919) % 100000000:08d}"


def build_skeleton() -> Skeleton:
    """Create (or reuse) the teams, users, industries and tags of the demo company."""
    company = _team("总公司", TeamKind.COMPANY, None, "上海")
    regions = {name: _team(name, TeamKind.REGION, company) for name in geo.REGIONS}
    offices = {o.key: _team(o.name, TeamKind.OFFICE, regions[o.region], o.city)
               for o in geo.OFFICES}
    departments = {name: _team(name, TeamKind.DEPARTMENT, company) for name in geo.DEPARTMENTS}
    teams = {"总公司": company, **regions, **offices, **departments}

    password = make_password(DEMO_PASSWORD)  # hashed once: same password for every demo user
    users: dict[str, User] = {}
    logins = []
    for i, (username, display, role, team_key) in enumerate(USERS):
        team = teams[team_key]
        user = User.objects.filter(username=username).first() or User(username=username)
        user.display_name, user.role, user.team = display, role, team
        user.last_name, user.first_name = display[0], display[1:]
        user.email = f"{username}@{geo.COMPANY_DOMAIN}"
        user.phone = _mobile(i)
        user.password = password
        user.is_staff = role == Role.ADMIN
        user.save()
        users[username] = user
        logins.append((username, Role(role).label, team.name, DEMO_PASSWORD))

    pack_applied = _apply_pack()
    industry_ids = {}
    for code, name, _share, _templates in vocab.INDUSTRIES:
        industry, _ = Industry.objects.get_or_create(code=code, defaults={"name": name})
        industry_ids[code] = industry.pk
    tag_ids = [Tag.objects.get_or_create(name=name)[0].pk for name in vocab.TAGS]
    custom_fields = [
        {"key": d.key, "type": d.field_type, "industry_id": d.industry_id,
         "choices": [c["value"] if isinstance(c, dict) else c for c in d.choices]}
        for d in CustomFieldDef.objects.filter(pack="equipment")
    ] if pack_applied else []

    reps: dict[str, list[int]] = {o.key: [] for o in geo.OFFICES}
    managers: dict[str, int] = {}
    for username, _display, role, team_key in USERS:
        if role == Role.REP:
            reps[team_key].append(users[username].pk)
        elif role == Role.MANAGER:
            managers[team_key] = users[username].pk
    return Skeleton(
        company_id=company.pk,
        region_ids={k: t.pk for k, t in regions.items()},
        office_team_ids={k: t.pk for k, t in offices.items()},
        reps=reps,
        managers=managers,
        service_ids=[users[u].pk for u, _d, r, _t in USERS if r == Role.SERVICE],
        industry_ids=industry_ids,
        tag_ids=tag_ids,
        custom_fields=custom_fields,
        pack_applied=pack_applied,
        logins=logins,
    )
