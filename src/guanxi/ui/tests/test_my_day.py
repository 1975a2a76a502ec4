import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.core import site_settings
from guanxi.parties.models import Customer
from guanxi.testing.factories import CustomerFactory, InteractionFactory
from guanxi.ui import selectors


def _ago(days):
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def book(users, org):
    """Customers of the Shanghai rep and of the Chongqing rep, a pool customer."""
    rep, rep2 = users["rep"], users["rep2"]
    c = {
        "a_stale": CustomerFactory(name="甲方A久未联系", owner=rep, team=org["shanghai"], tier="A",
                                   last_contact_at=_ago(20)),
        "a_fresh": CustomerFactory(name="甲方A刚联系", owner=rep, team=org["shanghai"], tier="A",
                                   last_contact_at=_ago(5)),
        "b_never": CustomerFactory(name="乙方B从未联系", owner=rep, team=org["shanghai"], tier="B",
                                   last_contact_at=None),
        "c_stale": CustomerFactory(name="丙方C很久", owner=rep, team=org["shanghai"], tier="C",
                                   last_contact_at=_ago(100)),
        "c_ok": CustomerFactory(name="丙方C还好", owner=rep, team=org["shanghai"], tier="C",
                                last_contact_at=_ago(60)),
        "other": CustomerFactory(name="重庆别人的A", owner=rep2, team=org["chongqing"], tier="A",
                                 last_contact_at=_ago(60)),
        "pool": CustomerFactory(name="公海客户", owner=None, tier="A", last_contact_at=None),
    }
    return c


def _names(tiers):
    return {t.tier: [c.name for c in t.section.items] for t in tiers}


@pytest.mark.django_db
def test_rep_sees_own_stale_customers_per_tier(users, book):
    stale = _names(selectors.stale_customers(users["rep"]))
    assert stale == {"A": ["甲方A久未联系"], "B": ["乙方B从未联系"], "C": ["丙方C很久"]}


@pytest.mark.django_db
def test_custom_interval_changes_the_list(users, book):
    site_settings.put("contact_interval_days", {"A": 30, "B": 30, "C": 50})
    stale = _names(selectors.stale_customers(users["rep"]))
    assert stale == {"A": [], "B": ["乙方B从未联系"], "C": ["丙方C很久", "丙方C还好"]}


@pytest.mark.django_db
def test_manager_sees_team_subtree_director_everyone_with_owner(users, book):
    mgr = _names(selectors.stale_customers(users["manager"]))
    assert mgr["A"] == ["甲方A久未联系"]  # not Chongqing's, not the pool
    director = _names(selectors.stale_customers(users["director"]))
    assert director["A"] == ["重庆别人的A", "甲方A久未联系"]  # the longest first
    assert _names(selectors.stale_customers(users["rep2"]))["A"] == ["重庆别人的A"]


@pytest.mark.django_db
def test_never_contacted_come_first_and_lists_are_capped(users, org):
    for i in range(5):
        CustomerFactory(owner=users["rep"], tier="C", last_contact_at=_ago(200 + i))
    CustomerFactory(name="从未", owner=users["rep"], tier="C", last_contact_at=None)
    tiers = selectors.stale_customers(users["rep"], limit=3)
    c = tiers[2].section
    assert c.items[0].name == "从未" and len(c.items) == 3 and c.more
    assert c.count_label == "3+"
    assert c.items[1].days_since >= 204


@pytest.mark.django_db
def test_deleted_customers_are_not_listed(users, book):
    Customer.all_objects.filter(pk=book["a_stale"].pk).update(deleted_at=timezone.now())
    assert _names(selectors.stale_customers(users["rep"]))["A"] == []


@pytest.fixture
def follow_ups(users, book):
    rep, rep2, today = users["rep"], users["rep2"], timezone.localdate()

    def fu(customer, by, days, **kw):
        return InteractionFactory(customer=customer, created_by=by,
                                  follow_up_on=today + dt.timedelta(days=days), **kw)

    return {
        "overdue": fu(book["a_stale"], rep, -2, subject="催报价"),
        "today": fu(book["b_never"], rep, 0, subject="今天回电"),
        "by_manager": fu(book["c_ok"], users["manager"], 0, subject="经理记的今天"),
        "upcoming": fu(book["c_stale"], rep, 3, subject="三天后拜访"),
        "far": fu(book["c_stale"], rep, 10, subject="十天后"),
        "done": fu(book["a_fresh"], rep, -1, subject="已完成", follow_up_done=True),
        "others": fu(book["other"], rep2, -1, subject="别人的逾期"),
        "pool_by_rep": fu(book["pool"], rep, 1, subject="公海里我记的"),
    }


@pytest.mark.django_db
def test_follow_ups_split_overdue_today_upcoming(users, follow_ups):
    f = selectors.my_follow_ups(users["rep"])
    assert [i.subject for i in f.overdue.items] == ["催报价"]
    assert [i.subject for i in f.today.items] == ["今天回电", "经理记的今天"]
    assert [i.subject for i in f.upcoming.items] == ["公海里我记的", "三天后拜访"]
    f2 = selectors.my_follow_ups(users["rep2"])
    assert [i.subject for i in f2.overdue.items] == ["别人的逾期"] and not f2.today.items
    # The manager's own follow-ups only: the one they logged.
    fm = selectors.my_follow_ups(users["manager"])
    assert [i.subject for i in fm.today.items] == ["经理记的今天"] and not fm.overdue.items


@pytest.mark.django_db
def test_follow_ups_lose_visibility_with_the_customer(users, follow_ups, book):
    # rep logged a follow-up on a pool customer; once rep2 owns it, rep no longer sees it.
    Customer.objects.filter(pk=book["pool"].pk).update(owner=users["rep2"])
    f = selectors.my_follow_ups(users["rep"])
    assert "公海里我记的" not in [i.subject for i in f.upcoming.items]


@pytest.mark.django_db
def test_home_page_for_a_rep(client, users, follow_ups):
    client.force_login(users["rep"])
    resp = client.get(reverse("ui:home"))
    assert resp.status_code == 200
    page = resp.content.decode()
    for text in ("催报价", "今天回电", "三天后拜访", "甲方A久未联系", "乙方B从未联系", "丙方C很久"):
        assert text in page
    for text in ("别人的逾期", "重庆别人的A", "已完成", "十天后", "甲方A刚联系"):
        assert text not in page
    assert 'id="followups"' in page


@pytest.mark.django_db
def test_home_fragment_for_htmx(client, users, follow_ups):
    client.force_login(users["rep"])
    resp = client.get(reverse("ui:home"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="followups")
    page = resp.content.decode()
    assert "催报价" in page and "<html" not in page


@pytest.mark.django_db
def test_empty_states_say_what_to_do(client, users, org):
    CustomerFactory(owner=users["rep2"])  # the database is not empty
    client.force_login(users["rep"])
    page = client.get(reverse("ui:home")).content.decode()
    assert 'class="empty"' in page
    assert resp_has(page, "No follow-ups due", "没有")


def resp_has(page, en, zh):
    return en in page or zh in page


@pytest.mark.django_db
def test_changing_intervals_in_settings_takes_effect_on_home(client, users, book):
    client.force_login(users["rep"])
    assert "甲方A久未联系" in client.get(reverse("ui:home")).content.decode()
    client.force_login(users["admin"])
    resp = client.post(reverse("ui:contact_intervals"), {"A": 25, "B": 30, "C": 90})
    assert resp.status_code == 302
    assert site_settings.contact_interval_days() == {"A": 25, "B": 30, "C": 90}
    client.force_login(users["rep"])
    assert "甲方A久未联系" not in client.get(reverse("ui:home")).content.decode()


@pytest.mark.django_db
def test_stale_queries_use_the_owner_index(users, book):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("plan check written for SQLite")
    base = selectors.stale_base(users["rep"], "A")
    for qs in (base.filter(last_contact_at__isnull=True).order_by("id"),
               base.filter(last_contact_at__lt=timezone.now()).order_by("last_contact_at", "id")):
        plan = qs.explain()
        assert "USING INDEX parties_cus_owner_i_7b5870_idx" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


@pytest.mark.django_db
def test_follow_up_queries_are_bounded(users, follow_ups, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # 2 candidate reads, 3 visibility checks, 1 fetch
        selectors.my_follow_ups(users["rep"])


@pytest.mark.django_db
def test_long_stale_lists_are_previewed_and_expand_per_tier(client, users, org):
    for i in range(12):
        CustomerFactory(name=f"久未联系{i:02d}", owner=users["rep"], tier="C",
                        last_contact_at=_ago(300 - i))
    client.force_login(users["rep"])
    page = client.get(reverse("ui:home")).content.decode()
    assert "久未联系09" in page and "久未联系10" not in page and "?stale=C" in page
    page = client.get(reverse("ui:home"), {"stale": "C"}).content.decode()
    assert "久未联系11" in page
