"""PostgreSQL side of global search: pg_trgm sees Chinese, and every pattern uses the index."""

from __future__ import annotations

import pytest
from django.db import connection

from guanxi.parties import search_index, services
from guanxi.parties.search import parse_query

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL pg_trgm index"),
]


def _scalar(sql: str, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def test_pg_trgm_and_the_index_exist():
    assert _scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 1
    assert _scalar("SELECT count(*) FROM pg_indexes WHERE indexname = %s",
                   [search_index.PG_INDEX]) == 1


def test_chinese_characters_make_trigrams():
    """With a UTF-8 locale pg_trgm treats CJK as word characters; in plain "C" it would not."""
    assert _scalar("SELECT array_length(show_trgm('重庆兴瑞'), 1)") == 5
    assert _scalar("SELECT array_length(show_trgm(' ~兴瑞 '), 1)") == 3


@pytest.mark.parametrize("q", ["重庆兴瑞", "兴瑞", "瑞", "cq", "cqxr", "0013 8000", "info@xr"])
def test_every_kind_of_term_uses_the_trigram_index(users, q):
    services.customer_create(actor=users["admin"], name="重庆兴瑞环保设备有限公司")
    pattern = parse_query(q).terms[0].patterns[0]
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN SELECT id FROM parties_customer WHERE search_text LIKE %s",
                    ["%" + pattern + "%"])
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert search_index.PG_INDEX in plan, plan


def test_rebuild_is_harmless(users):
    c = services.customer_create(actor=users["admin"], name="重庆兴瑞环保设备有限公司")
    search_index.rebuild_search_index()
    from guanxi.parties.selectors import search_customers

    assert [x.pk for x in search_customers(users["admin"], "兴瑞")] == [c.pk]


def test_both_plans_give_the_same_answers_and_settings_do_not_leak(users):
    """A common pattern walks the primary key, a rare one uses the trigram index."""
    from guanxi.parties.selectors import search_customers

    admin, rep = users["admin"], users["rep"]
    for i in range(12):  # common: found in the probe
        services.customer_create(actor=rep if i % 2 else users["rep2"], name=f"兴瑞{i}号")
    services.customer_create(actor=rep, name="宁波海天塑机")  # rare
    assert len(search_customers(admin, "兴瑞")) == 12
    assert len(search_customers(rep, "兴瑞")) == 6
    assert [c.name for c in search_customers(rep, "海天")] == ["宁波海天塑机"]
    for name in ("enable_seqscan", "enable_indexscan", "enable_bitmapscan"):
        assert _scalar(f"SHOW {name}") == "on"
