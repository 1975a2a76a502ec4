"""The foundation's main path in real headless Chromium: log in, create a customer, log a
call, find the customer by pinyin initials, see the audit entry. Saves screenshots of the
main screens (desktop and phone width) into docs/screenshots/ for the README."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from guanxi.accounts.models import Role
from guanxi.activities import services as activity_services
from guanxi.activities.models import Interaction
from guanxi.core.models import AuditEntry
from guanxi.parties import services as party_services
from guanxi.parties.models import Customer
from guanxi.testing.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["上海清源水务集团", "杭州绿源净水设备有限公司", "苏州工业园区污水处理厂", "宁波化工有限公司",
         "无锡市第二人民医院", "南京天元食品有限公司", "合肥华润物业管理有限公司", "上海金桥电子有限公司"]


def _company(rep, director):
    """A few customers, calls and follow-ups so the screens show something real."""
    now = timezone.now()
    for i, name in enumerate(NAMES):
        c = party_services.customer_create(
            actor=director, name=name, owner=rep, team=rep.team, tier="ABCC"[i % 4],
            stage=["customer", "opportunity", "lead", "loyal"][i % 4], city="上海",
            province="上海市", phone=f"021-6{i}88-88{i}{i}")
        activity_services.interaction_create(
            actor=rep, customer=c, kind="visit" if i % 3 else "call", subject=f"回访：设备运行情况 {i}",
            outcome="reached", occurred_at=now - dt.timedelta(days=5 * i + 1),
            follow_up_on=(now + dt.timedelta(days=i - 3)).date())


def test_create_log_find_and_audit(page, login, screenshot):
    office = TeamFactory(name="上海办事处")
    rep = UserFactory(username="li.na", display_name="李娜", role=Role.REP, team=office)
    director = UserFactory(username="boss", display_name="陈总", role=Role.DIRECTOR, team=office)
    _company(rep, director)

    login(page, rep)
    page.wait_for_load_state("networkidle")
    screenshot(page, "home")

    # Create a customer through the form.
    page.goto("/customers/new/")
    form = page.locator("#customer-form")
    form.locator("input[name=name]").fill("重庆兴瑞环保科技有限公司")
    form.locator("input[name=phone]").fill("(023)6532-1234转808")
    screenshot(page, "customer-form", width=1280)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    customer = Customer.objects.get(name="重庆兴瑞环保科技有限公司")
    assert customer.phone == "+862365321234" and customer.phone_ext == "808"
    assert customer.owner == rep

    # Log a call with the three-field quick log.
    quick = page.locator("#quick-log")
    quick.locator("[name=subject]").fill("介绍新款反渗透设备，客户有兴趣")
    quick.locator("[name=outcome]").select_option("interested")
    quick.locator("button[type=submit]").click()
    page.get_by_text("介绍新款反渗透设备，客户有兴趣").first.wait_for()
    call = Interaction.objects.get(customer=customer)
    assert call.kind == "call" and call.outcome == "interested" and call.created_by == rep
    screenshot(page, "customer-detail")

    # The customer list.
    page.goto("/customers/")
    page.get_by_text("重庆兴瑞环保科技有限公司").first.wait_for()
    screenshot(page, "customer-list")

    # Find it by pinyin initials from the global search box on any page.
    page.goto("/")
    page.locator("#global-q").fill("cqxr")
    result = page.locator("#global-results a", has_text="重庆兴瑞环保科技有限公司")
    result.wait_for()
    screenshot(page, "search", width=1280)
    result.click()
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/$"))

    # The history tab shows the audit entries: the creation and the logged call.
    page.locator(f"a[href$='/customers/{customer.pk}/history/']").first.click()
    page.wait_for_url(re.compile(r"/history/"))
    history = page.locator("main")
    history.get_by_text("介绍新款反渗透设备，客户有兴趣").first.wait_for()
    assert history.get_by_text("重庆兴瑞环保科技有限公司").count() >= 1
    assert AuditEntry.objects.filter(customer_id=customer.pk, action="create").count() == 2
    screenshot(page, "customer-history", width=1280)
