"""A rep's sales path in real headless Chromium: claim a customer from the pool, open an
opportunity on it, drag it on the board onto a gated stage and read what is missing,
fill the amount and log a visit, drag again and see it land in the new column."""

from __future__ import annotations

import importlib
import re

import pytest

from guanxi.accounts.models import Role, TeamKind
from guanxi.sales.models import Opportunity, Pipeline, Pool, StageChange
from guanxi.testing.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GATED = "方案报价"


def _default_pipeline() -> None:
    """A transactional test before this one flushed the tables, and with them the
    pipeline that migration sales/0002 creates: create it again the same way."""
    if not Pipeline.objects.exists():
        from django.apps import apps

        migration = importlib.import_module("guanxi.sales.migrations.0002_default_pipeline")
        migration.create(apps, None)


def test_claim_open_drag_gated_stage_fix_and_drag_again(page, login, screenshot):
    _default_pipeline()
    company = TeamFactory(name="总公司", kind=TeamKind.COMPANY)
    office = TeamFactory(name="上海办事处", parent=company)
    Pool.objects.create(name="上海公海", team=office, daily_claim_limit=5)
    rep = UserFactory(username="li.na", display_name="李娜", role=Role.REP, team=office)
    customer = CustomerFactory(name="苏州工业园区污水处理厂", owner=None, team=office)

    login(page, rep)

    # Claim the customer from the pool, then open it.
    page.goto("/sales/pools/")
    page.locator(f"[data-testid=claim-{customer.pk}]").click()
    page.wait_for_load_state("load")
    customer.refresh_from_db()
    assert customer.owner == rep
    page.goto(customer.get_absolute_url())

    # Open an opportunity from the customer page's panel (no amount yet).
    page.locator("#new-opportunity").click()
    form = page.locator("#opportunity-form")
    form.locator("input[name=name]").fill("反渗透纯水设备")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/sales/\d+/$"))
    deal = Opportunity.objects.get(name="反渗透纯水设备")
    assert deal.customer == customer and deal.owner == rep

    # Drag it onto the gated stage: the board says exactly what is missing.
    page.goto("/sales/board/")
    card = page.locator(f"#deal-{deal.pk}")
    gated = page.locator(f".board-col[data-stage-name='{GATED}']")
    card.drag_to(gated)
    message = card.locator(".board-msg")
    message.wait_for(state="visible")
    assert GATED in message.inner_text()
    assert message.locator("li").count() == 2  # the amount and a visit
    assert page.locator(f".board-col[data-stage-name='初步接洽'] #deal-{deal.pk}").count() == 1
    screenshot(page, "pipeline-board-gate", width=1280)
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"

    # Fill in the amount, and log a visit with the customer page's quick log.
    page.goto(f"/sales/{deal.pk}/edit/")
    page.locator("#opportunity-form input[name=amount]").fill("380000")
    page.locator("#opportunity-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/sales/{deal.pk}/$"))
    page.goto(customer.get_absolute_url())
    quick = page.locator("#quick-log")
    quick.locator("[name=kind]").select_option("visit")
    quick.locator("[name=subject]").fill("现场拜访，确认水质要求")
    quick.locator("button[type=submit]").click()
    page.get_by_text("现场拜访，确认水质要求").first.wait_for()

    # Drag again: the card moves and the column totals follow.
    page.goto("/sales/board/")
    page.locator(f"#deal-{deal.pk}").drag_to(
        page.locator(f".board-col[data-stage-name='{GATED}']"))
    moved = page.locator(f".board-col[data-stage-name='{GATED}'] #deal-{deal.pk}")
    moved.wait_for()
    gated = page.locator(f".board-col[data-stage-name='{GATED}']")
    assert gated.locator("[data-col-count]").inner_text() == "1"
    amount = gated.locator("[data-col-amount]").inner_text()
    assert "380000.00" in amount.replace(",", "").replace("\u00a0", "")
    deal.refresh_from_db()
    assert deal.stage.name == GATED
    assert StageChange.objects.filter(opportunity=deal, to_stage__name=GATED, by=rep).exists()
    screenshot(page, "pipeline-board", width=1280)
