"""Smoke test in a real browser: sign in and land on the home page."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from guanxi.accounts.models import Role
from guanxi.testing.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_and_see_the_home_page(page, login, screenshot):
    team = TeamFactory(name="上海办事处")
    user = UserFactory(username="wang.fang", display_name="王芳", role=Role.REP, team=team)

    page.goto("/")
    assert "/login/" in page.url  # not signed in yet
    written = screenshot(page, "login")
    assert all(path.stat().st_size > 10_000 for path in written)

    login(page, user)
    with translation.override("zh-hans"):
        expected = f"{gettext('My day')} · {gettext('Guanxi CRM')}"
    assert page.title() == expected
    assert page.locator("header.topbar").get_by_text("王芳").is_visible()

    page.goto("/jobs/")
    with translation.override("zh-hans"):
        assert page.title().startswith(gettext("Jobs"))
