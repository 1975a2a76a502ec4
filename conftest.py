"""Shared fixtures: a small company (team tree) and one user per role."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import Role, TeamKind
from guanxi.testing.factories import TeamFactory, UserFactory


def pytest_sessionstart(session):
    """Compile the translation catalogs so a plain `pytest` run sees current translations."""
    from django.core.management import call_command

    call_command("compiletranslations", verbosity=0)


@pytest.fixture
def org(db):
    """总公司 → 华东区 → 上海办事处 / 杭州办事处, and 西南区 → 重庆办事处."""
    company = TeamFactory(name="总公司", kind=TeamKind.COMPANY)
    east = TeamFactory(name="华东区", kind=TeamKind.REGION, parent=company)
    shanghai = TeamFactory(name="上海办事处", parent=east)
    hangzhou = TeamFactory(name="杭州办事处", parent=east)
    west = TeamFactory(name="西南区", kind=TeamKind.REGION, parent=company)
    chongqing = TeamFactory(name="重庆办事处", parent=west)
    return {"company": company, "east": east, "shanghai": shanghai, "hangzhou": hangzhou,
            "west": west, "chongqing": chongqing}


@pytest.fixture
def users(org):
    """One user per role; two reps (Shanghai and Chongqing) and an East-region manager."""
    return {
        "admin": UserFactory(username="admin", role=Role.ADMIN, team=org["company"]),
        "director": UserFactory(username="director", role=Role.DIRECTOR, team=org["company"]),
        "manager": UserFactory(username="manager", role=Role.MANAGER, team=org["east"]),
        "rep": UserFactory(username="rep", role=Role.REP, team=org["shanghai"]),
        "rep2": UserFactory(username="rep2", role=Role.REP, team=org["chongqing"]),
        "service": UserFactory(username="service", role=Role.SERVICE, team=org["company"]),
        "marketing": UserFactory(username="marketing", role=Role.MARKETING, team=org["company"]),
        "finance": UserFactory(username="finance", role=Role.FINANCE, team=org["company"]),
        "readonly": UserFactory(username="readonly", role=Role.READONLY, team=org["company"]),
    }
