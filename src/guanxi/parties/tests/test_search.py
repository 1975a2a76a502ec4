"""Global search: scripts, pinyin, phones, e-mail, contacts, permissions, odd input, views."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from guanxi.parties import search_index, services
from guanxi.parties.models import Customer
from guanxi.parties.search import parse_query
from guanxi.parties.selectors import search_customers

pytestmark = pytest.mark.django_db
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 index")


def names(user, q, **kw):
    return [c.name for c in search_customers(user, q, **kw)]


@pytest.fixture
def xr(users):
    """重庆兴瑞环保 in the pool, with a contact, a landline and an e-mail."""
    c = services.customer_create(actor=users["admin"], name="重庆兴瑞环保设备有限公司",
                                 short_name="兴瑞环保", city="重庆", phone="(023)6532-1234转808",
                                 email="Info@XR-env.cn")
    services.contact_create(actor=users["admin"], customer=c, name="张伟",
                            mobile="138 0013 8000", email="zhang.wei@xr-env.cn")
    return c


@pytest.fixture
def others(users):
    admin = users["admin"]
    return [
        services.customer_create(actor=admin, name="上海清源水务有限公司", phone="13912345678"),
        services.customer_create(actor=admin, name="北京长城科技有限公司", email="bd@gw.com"),
        services.customer_create(actor=admin, name="重慶山城貿易有限公司"),
    ]


@pytest.mark.parametrize("q", ["cqxr", "CQXR", "ｃｑｘｒ", "chongqing", "chongqingxingrui",
                               "xingruihuanbao", "重庆兴瑞", "兴瑞环保", "兴瑞", "瑞", "重庆 环保"])
def test_name_forms_find_the_customer(users, xr, others, q):
    assert "重庆兴瑞环保设备有限公司" in names(users["admin"], q)


def test_two_character_chinese_is_exact_about_the_pair(users, xr, others):
    assert names(users["admin"], "兴瑞") == ["重庆兴瑞环保设备有限公司"]
    assert names(users["admin"], "瑞兴") == []
    assert names(users["admin"], "清源") == ["上海清源水务有限公司"]


def test_traditional_and_simplified_find_each_other(users, xr, others):
    # Stored Simplified, searched in Traditional.
    assert "重庆兴瑞环保设备有限公司" in names(users["admin"], "重慶興瑞")
    assert "重庆兴瑞环保设备有限公司" in names(users["admin"], "興瑞")
    # Stored Traditional, searched in Simplified (3+ and 2 characters).
    assert "重慶山城貿易有限公司" in names(users["admin"], "山城贸易")
    assert "重慶山城貿易有限公司" in names(users["admin"], "贸易")
    both = names(users["admin"], "重庆")
    assert {"重庆兴瑞环保设备有限公司", "重慶山城貿易有限公司"} <= set(both)
    assert set(names(users["admin"], "重慶")) == set(both)


@pytest.mark.parametrize("q", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "0013 8000",
                               "8613800138000", "138-0013"])
def test_contact_mobile_fragments(users, xr, others, q):
    found = search_customers(users["admin"], q)
    assert [c.name for c in found] == ["重庆兴瑞环保设备有限公司"]
    assert str(found[0].matched_phone) == "138 0013 8000"


@pytest.mark.parametrize("q", ["023-6532", "(023) 6532 1234", "6532-1234", "02365321234",
                               "+86 23 6532 1234"])
def test_landline_fragments(users, xr, others, q):
    found = search_customers(users["admin"], q)
    assert [c.name for c in found] == ["重庆兴瑞环保设备有限公司"]
    assert "6532" in str(found[0].matched_phone)


def test_email_fragments(users, xr, others):
    for q in ("info@xr", "xr-env.cn", "INFO@XR-ENV.CN", "zhang.wei@"):
        assert names(users["admin"], q) == ["重庆兴瑞环保设备有限公司"], q
    assert names(users["admin"], "bd@gw") == ["北京长城科技有限公司"]


def test_contact_name_and_pinyin_find_the_customer(users, xr, others):
    for q in ("张伟", "張偉", "zhangwei"):
        assert names(users["admin"], q) == ["重庆兴瑞环保设备有限公司"], q


def test_contact_changes_follow(users, xr):
    contact = xr.contacts.get()
    services.contact_update(actor=users["admin"], contact=contact, version=contact.version,
                            name="李娜")
    assert names(users["admin"], "李娜") == [xr.name]
    assert names(users["admin"], "张伟") == []
    services.contact_delete(actor=users["admin"], contact=xr.contacts.get())
    assert names(users["admin"], "李娜") == []


def test_exact_and_prefix_name_matches_come_first(users):
    admin = users["admin"]
    services.customer_create(actor=admin, name="四川兴瑞重庆分公司")
    services.customer_create(actor=admin, name="兴瑞")
    services.customer_create(actor=admin, name="兴瑞科技")
    c = services.customer_create(actor=admin, name="远大贸易")
    services.contact_create(actor=admin, customer=c, name="兴瑞")
    assert names(admin, "兴瑞") == ["兴瑞", "兴瑞科技", "四川兴瑞重庆分公司", "远大贸易"]
    assert names(admin, "xingrui")[:2] == ["兴瑞", "兴瑞科技"]
    assert names(admin, "兴瑞", limit=2) == ["兴瑞", "兴瑞科技"]


def test_exact_name_wins_even_among_many_newer_matches(users):
    """More matches than are ranked: names starting with the query are looked up apart."""
    admin = users["admin"]
    services.customer_create(actor=admin, name="兴瑞")
    services.customer_create(actor=admin, name="興瑞環保")
    for i in range(70):
        services.customer_create(actor=admin, name=f"四川{i}兴瑞")
    found = names(admin, "兴瑞", limit=5)
    assert found[:2] == ["兴瑞", "興瑞環保"] and len(found) == 5
    assert names(users["rep"], "兴瑞", limit=5)[:2] == ["兴瑞", "興瑞環保"]  # the pool


def test_results_honour_permissions(users, org):
    rep, rep2, manager = users["rep"], users["rep2"], users["manager"]
    mine = services.customer_create(actor=rep, name="上海兴瑞电子")
    theirs = services.customer_create(actor=rep2, name="重庆兴瑞机械")
    pool = services.customer_create(actor=users["admin"], name="兴瑞公海客户")
    assert mine.owner == rep and theirs.owner == rep2 and pool.owner is None
    assert set(names(rep, "兴瑞")) == {"上海兴瑞电子", "兴瑞公海客户"}
    assert set(names(rep2, "兴瑞")) == {"重庆兴瑞机械", "兴瑞公海客户"}
    # The East manager sees the Shanghai rep's customers, not Chongqing's.
    assert set(names(manager, "兴瑞")) == {"上海兴瑞电子", "兴瑞公海客户"}
    assert len(names(users["readonly"], "兴瑞")) == 3
    # Exact-name lookups are scoped too.
    assert names(rep, "重庆兴瑞机械") == []
    services.customer_update(actor=rep2, customer=theirs, version=theirs.version,
                             shared_with=[rep])
    assert "重庆兴瑞机械" in names(rep, "重庆兴瑞机械")


def test_limit_is_filled_with_visible_rows(users):
    """Invisible matches never use up the limit: scoping happens inside the query.
    Invisible rows are created both before and after the visible ones, so whichever
    way the index is scanned they come first."""
    rep = users["rep"]
    for i in range(70):
        services.customer_create(actor=users["rep2"], name=f"重庆兴瑞配件{i}")
    for i in range(5):  # the match is not at the start: no name-prefix lookup helps
        services.customer_create(actor=rep, name=f"上海兴瑞{i}号")
    for i in range(70):
        services.customer_create(actor=users["rep2"], name=f"重庆兴瑞零件{i}")
    found = names(rep, "兴瑞", limit=4)
    assert len(found) == 4 and all(n.endswith("号") for n in found)
    assert len(names(rep, "兴瑞")) == 5
    assert len(names(rep, "xingrui", limit=20)) == 5
    assert len(names(users["admin"], "兴瑞", limit=200)) == 145


@pytest.mark.parametrize("q", ['"', '""', "*", "兴瑞*", "OR", "兴 OR 瑞", "-", "-兴瑞", "'",
                               "x' OR '1'='1", "😀", "😀😀😀", "a", "瑞", "NEAR(a b)", "^", "()",
                               "%", "_", "\\", "~", "|", " || ", "\x00", "a\x00b", "\ud800", "a" * 500, "兴瑞" * 200,
                               "col:兴瑞", "{兴瑞}"])
def test_odd_input_never_errors(users, xr, q):
    result = search_customers(users["admin"], q)
    assert isinstance(result, list)


@pytest.mark.parametrize("q", ["", "   ", "\u3000", "\t\n"])
def test_empty_query_finds_nothing(users, xr, q):
    assert search_customers(users["admin"], q) == []


def test_quotes_and_operators_are_literal(users):
    admin = users["admin"]
    services.customer_create(actor=admin, name='"OR" 兴瑞-贸易')
    services.customer_create(actor=admin, name="兴瑞贸易")
    assert names(admin, '"OR"') == ['"OR" 兴瑞-贸易']
    assert names(admin, "瑞-贸") == ['"OR" 兴瑞-贸易']


def test_deleted_customers_do_not_appear(users, xr):
    services.customer_delete(actor=users["admin"], customer=xr)
    assert names(users["admin"], "兴瑞") == []
    assert names(users["admin"], "重庆兴瑞环保设备有限公司") == []
    services.customer_restore(actor=users["admin"], customer=Customer.all_objects.get(pk=xr.pk))
    assert names(users["admin"], "兴瑞") == [xr.name]


def test_index_follows_renames(users, xr):
    services.customer_update(actor=users["admin"], customer=xr, version=xr.version,
                             name="成都蓝天净化有限公司", short_name="")
    assert names(users["admin"], "蓝天") == ["成都蓝天净化有限公司"]
    assert names(users["admin"], "cdlt") == ["成都蓝天净化有限公司"]
    assert names(users["admin"], "兴瑞") == []
    assert names(users["admin"], "cqxr") == []
    # Contact and phone still find it.
    assert names(users["admin"], "张伟") == ["成都蓝天净化有限公司"]


def test_inactive_or_anonymous_users_find_nothing(users, xr):
    from django.contrib.auth.models import AnonymousUser

    assert search_customers(AnonymousUser(), "兴瑞") == []
    users["admin"].is_active = False
    assert search_customers(users["admin"], "兴瑞") == []


def test_search_text_layout(xr):
    xr.refresh_from_db()
    text = xr.search_text
    names, others, items = text.split(" || ")
    assert names.startswith(" 重庆兴瑞环保设备有限公司 | 重慶興瑞環保設備有限公司 | ")
    assert "chongqingxingruihuanbaoshebei |" in names  # pinyin without the legal form
    assert "youxiangongsi" not in text and "cqxrhbsbyxgs" in names
    assert "02365321234" in others and "13800138000" in others and "zhangwei" in others
    assert "~兴瑞" in items and " ~司 " in items and text.endswith(" ")


def test_query_parsing():
    assert parse_query("  ").terms == ()
    assert parse_query("０２３－６５３２").phone == "0236532"
    assert [t.patterns for t in parse_query("興瑞 cq 瑞").terms] == [("~兴瑞",), (" cq",),
                                                                    (" ~瑞",)]
    assert all(len(p) >= 3 for t in parse_query("a 兴 ab abc 兴瑞").terms for p in t.patterns)
    assert parse_query("重慶興瑞").terms[0].patterns == ("重慶興瑞", "重庆兴瑞")


# --- SQLite index maintenance -------------------------------------------------------


def _fts_ids(match: str) -> set[int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT rowid FROM {search_index.FTS_TABLE} WHERE "
                    f"{search_index.FTS_TABLE} MATCH %s", [match])
        return {r[0] for r in cur.fetchall()}


def _integrity_check() -> None:
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {search_index.FTS_TABLE}({search_index.FTS_TABLE}) "
                    "VALUES ('integrity-check')")


@sqlite_only
def test_sqlite_index_survives_all_migrations():
    """SQLite remakes a table to alter it, dropping its triggers: a later migration that
    alters parties_customer must end with RunPython(search_index.install)."""
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'parties_customer'")
        triggers = {r[0] for r in cur.fetchall()}
    assert set(search_index._TRIGGERS) <= triggers
    assert search_index.FTS_TABLE in connection.introspection.table_names()


@sqlite_only
def test_sqlite_triggers_keep_the_index_in_sync(users, xr):
    assert _fts_ids('"cqxr"') == {xr.pk}
    # A save that does not touch search_text leaves the index alone; one that does, updates.
    Customer.all_objects.filter(pk=xr.pk).update(tier="A")
    Customer.all_objects.filter(pk=xr.pk).update(search_text=" abcdef ")
    assert _fts_ids('"cqxr"') == set() and _fts_ids('"bcd"') == {xr.pk}
    Customer.all_objects.filter(pk=xr.pk).delete()
    assert _fts_ids('"bcd"') == set()
    _integrity_check()


@sqlite_only
def test_sqlite_bulk_load_without_triggers_then_rebuild(users):
    from guanxi.parties.search import build_search_text

    search_index.drop_sqlite_triggers()
    rows = [Customer(name=f"宁波海天{i}号") for i in range(50)]
    for c in rows:
        c.search_text = build_search_text(c, contacts=[])
    Customer.objects.bulk_create(rows)
    assert names(users["admin"], "海天") == []  # not indexed yet
    search_index.rebuild_search_index()
    assert len(names(users["admin"], "海天", limit=100)) == 50
    _integrity_check()
    # The triggers are back.
    c = services.customer_create(actor=users["admin"], name="宁波海天新厂")
    assert names(users["admin"], "新厂") == [c.name]


# --- Views ---------------------------------------------------------------------------


def login(client, user):
    client.force_login(user)
    return client


def test_search_requires_login(client):
    response = client.get(reverse("search:results"), {"q": "兴瑞"})
    assert response.status_code == 302 and "login" in response["Location"]


def test_dropdown_lists_links_and_see_all(client, users, xr):
    response = login(client, users["admin"]).get("/search/", {"q": "cqxr", "dropdown": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert reverse("parties:customer_detail", args=[xr.pk]) in html
    assert "重庆兴瑞环保设备有限公司" in html and "tier-C" in html
    assert "/search/?q=cqxr" in html


def test_dropdown_shows_the_matched_phone(client, users, xr):
    response = login(client, users["admin"]).get("/search/", {"q": "0013 8000"},
                                                 HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "138 0013 8000" in html


def test_dropdown_is_capped_at_eight(client, users):
    for i in range(12):
        services.customer_create(actor=users["admin"], name=f"兴瑞分公司{i}")
    html = login(client, users["admin"]).get("/search/", {"q": "兴瑞", "dropdown": "1"}) \
        .content.decode()
    assert html.count('href="/customers/') == 8


def test_dropdown_empty_query_is_empty(client, users):
    response = login(client, users["admin"]).get("/search/", {"q": " ", "dropdown": "1"})
    assert response.content == b""  # so the drop-down's CSS :empty hides it


def test_results_page(client, users, xr, others):
    response = login(client, users["admin"]).get("/search/", {"q": "有限公司"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "<table" in html
    assert html.count(reverse("parties:customer_detail", args=[xr.pk])) == 1
    for c in others:
        assert c.name in html


def test_results_page_without_matches_and_odd_input(client, users, xr):
    c = login(client, users["admin"])
    assert c.get("/search/", {"q": "不存在的客户"}).status_code == 200
    assert c.get("/search/", {"q": '"*OR-\''}).status_code == 200
    assert c.get("/search/").status_code == 200


def test_views_honour_permissions(client, users):
    theirs = services.customer_create(actor=users["rep2"], name="重庆兴瑞机械")
    html = login(client, users["rep"]).get("/search/", {"q": "兴瑞"}).content.decode()
    assert theirs.name not in html
    assert reverse("parties:customer_detail", args=[theirs.pk]) not in html


# --- SQLite: looking up rare patterns made of common trigrams -------------------------


def test_plan_asks_shorter_phrases_first():
    from guanxi.parties.search_plan import lookup, plan_pattern

    def matches(pattern, docs, total=1_000_000):
        return [(p.match, p.recheck, p.probe) for p in plan_pattern(pattern, docs, total)]

    domain = {"hen": 347_336, "eng": 431_052, "ngh": 253_004, "gha": 102_268, "hao": 154_943,
              "aoc": 12_017, "och": 21_875, "che": 299_559, "hem": 117_613, "em.": 115_328,
              "m.c": 411_172, ".co": 738_058, "com": 738_058}
    assert matches("henghaochem.com", domain) == [
        ('"ghaoch"', True, True),  # a window around the rarest trigram, after a probe
        ('"ghaochem."', True, False),  # the phrase without its common ends
        ('"henghaochem.com"', False, False)]
    # A window that finds few rows has found them all; one that finds too many is skipped.
    query = parse_query("henghaochem.com")
    total = 1_000_000
    found = lookup(query, domain, total, fetch=lambda m, n: [7, 3] if m == '"ghaoch"' else [])
    assert found.ids == [3, 7] and found.recheck == list(query.terms)
    found = lookup(query, domain, total, fetch=lambda m, n: list(range(n)))
    assert found.ids is None and found.match == '("ghaochem.")' and found.recheck
    assert lookup(query, domain, total).match == '("ghaochem.")'  # nothing fetched
    # Nothing cheaper: the phrase. Short patterns and no statistics: the phrase.
    pinyin = {"xin": 314_000, "ing": 574_000, "ngr": 51_000, "gru": 23_000, "rui": 35_000}
    assert matches("xingrui", pinyin) == [('"xingrui"', False, False)]
    assert matches("mingli", {"ing": 549_618}) == [('"mingli"', False, False)]
    assert matches("henghaochem.com", {}, 0) == [('"henghaochem.com"', False, False)]
    assert matches('a"b"cd', {"a\"b": 900_000}, 1_000) == [('"a""b""cd"', False, False)]


@sqlite_only
def test_rows_found_by_parts_are_checked_for_the_whole_pattern(users, monkeypatch):
    admin = users["admin"]
    right = services.customer_create(actor=admin, name="甲公司")
    services.contact_create(actor=admin, customer=right, name="张伟")  # zhangwei
    wrong = services.customer_create(actor=admin, name="乙公司")
    services.contact_create(actor=admin, customer=wrong, name="王伟")  # wangwei
    with connection.cursor() as cur:  # statistics that make "angwei" the plan
        cur.executemany(f"INSERT INTO {search_index.STATS_TABLE}(term, doc) VALUES (%s, %s)",
                        [("", 1000), ("zha", 1000), ("han", 1000), ("ang", 1000)])
    query = parse_query("zhangwei")
    assert search_index.trigram_stats(query)[1] == 1000
    assert _fts_ids('"angwei"') == {right.pk, wrong.pk}
    assert names(admin, "zhangwei") == ["甲公司"]  # the window's rows, checked
    assert names(admin, "zhangwei 甲公司") == ["甲公司"]
    from guanxi.parties import search_plan

    monkeypatch.setattr(search_plan, "MAX_CANDIDATES", 1)  # the window finds "too many"
    monkeypatch.setattr(search_plan, "CORE_TRIGRAMS", 3)  # …so MATCH "ngwei", checked
    assert search_plan.lookup(query, *search_index.trigram_stats(query)).match == '("ngwei")'
    assert _fts_ids('"ngwei"') == {right.pk, wrong.pk}
    assert names(admin, "zhangwei") == ["甲公司"]


@sqlite_only
def test_refresh_search_stats(users, xr, monkeypatch):
    monkeypatch.setattr(search_index, "STATS_MIN_DOCS", 1)
    search_index.refresh_search_stats()
    docs, total = search_index.trigram_stats(parse_query("chongqingxing"))
    assert total == 1 and docs["cho"] == 1
    search_index.optimize_search_index()
    _integrity_check()
