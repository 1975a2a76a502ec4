"""Duplicate scoring, the scan, add_candidates and who sees which pairs."""

from __future__ import annotations

import pytest

from guanxi.core.models import Job, JobStatus
from guanxi.parties import duplicates, services
from guanxi.parties.duplicates import add_candidates, candidates_for, scan, scan_report, score_pair
from guanxi.parties.models import DuplicateCandidate, DuplicateStatus
from guanxi.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db


def make(users, name, actor="admin", **data):
    data.setdefault("city", "上海")
    return services.customer_create(actor=users[actor], name=name, **data)


def pair(a, b):
    first, second = sorted([a.pk, b.pk])
    return DuplicateCandidate.objects.filter(first_id=first, second_id=second).first()


# ---------------------------------------------------------------- scoring


def test_same_phone_scores_strong(users):
    a = make(users, "上海清源水务", phone="138 0013 8000")
    b = make(users, "清源环境工程", phone="+8613800138000", city="苏州")
    score, reasons = score_pair(a, b)
    assert reasons == ["phone"]
    assert score == 60


def test_reasons_combine_as_independent_evidence(users):
    a = make(users, "重慶興瑞環保(集团)有限公司", phone="13800138000", email="info@xr.cn")
    b = make(users, "重庆兴瑞环保有限公司", phone="13800138000", email="INFO@xr.cn")
    score, reasons = score_pair(a, b)
    assert reasons == ["phone", "email", "name"]
    # 1 − 0.4 × 0.45 × 0.4 = 0.928
    assert score == pytest.approx(92.8)


def test_different_extensions_of_one_switchboard_are_not_the_same_phone(users):
    a = make(users, "甲公司", phone="021 6888 8888 转 12")
    b = make(users, "乙公司", phone="021 6888 8888 转 13")
    assert score_pair(a, b) == (0.0, [])


def test_similar_names_count_only_in_the_same_city(users):
    a = make(users, "上海美佳电子科技有限公司")
    b = make(users, "上海美佳电子科技发展有限公司")
    c = make(users, "上海美佳电子科技发展有限公司", city="北京")
    score, reasons = score_pair(a, b)
    assert reasons == ["similar_name"] and 30 <= score <= 50
    # Same name key in another city: still "name" (a strong reason) …
    assert score_pair(b, c)[1] == ["name"]
    # … but merely similar names in different cities are nothing.
    assert score_pair(a, c) == (0.0, [])


def test_people_with_the_same_name_in_one_city(users):
    a = make(users, "張偉", kind="person")
    b = make(users, "张伟", kind="person")
    assert score_pair(a, b) == (35.0, ["similar_name"])
    assert a.name_key == "" and b.name_key == ""


def test_shared_contact_mobile(users):
    a = make(users, "甲公司")
    b = make(users, "乙公司", city="杭州")
    ContactFactory(customer=a, mobile="+8613900139000")
    ContactFactory(customer=b, mobile="+8613900139000")
    assert score_pair(a, b) == (40.0, ["contact_phone"])


# ---------------------------------------------------------------- the scan


@pytest.fixture
def dataset(users):
    c = {
        "phone_a": make(users, "上海清源水务", phone="13800138001"),
        "phone_b": make(users, "清源环境", phone="+86 138-0013-8001", city="苏州"),
        "mail_a": make(users, "杭州天成", email="sales@tiancheng.cn", city="杭州"),
        "mail_b": make(users, "天成贸易", email="Sales@TianCheng.cn", city="宁波"),
        "trad": make(users, "重慶興瑞環保(集團)有限公司", city="重庆"),
        "simp": make(users, "重庆兴瑞环保", city="成都"),
        "wide": make(users, "ＡＢＣ贸易有限公司", city="广州"),
        "narrow": make(users, "ABC贸易", city="深圳"),
        "fuzzy_a": make(users, "上海美佳电子科技有限公司"),
        "fuzzy_b": make(users, "上海美佳电子科技发展有限公司"),
        "alone": make(users, "完全不同的公司", city="上海"),
        "person_a": make(users, "王小明", kind="person", city="南京"),
        "person_b": make(users, "王小明", kind="person", city="南京"),
        "contact_a": make(users, "联系甲", city="西安"),
        "contact_b": make(users, "联系乙", city="兰州"),
    }
    ContactFactory(customer=c["contact_a"], mobile="+8613700137000")
    ContactFactory(customer=c["contact_b"], mobile="+8613700137000")
    return c


def test_scan_finds_every_kind_of_duplicate(dataset):
    d = dataset
    created = scan()
    expect = {
        ("phone_a", "phone_b"): "phone",
        ("mail_a", "mail_b"): "email",
        ("trad", "simp"): "name",  # Traditional vs Simplified, (集團)有限公司 vs none
        ("wide", "narrow"): "name",  # full-width vs half-width
        ("fuzzy_a", "fuzzy_b"): "similar_name",
        ("person_a", "person_b"): "similar_name",
        ("contact_a", "contact_b"): "contact_phone",
    }
    for (x, y), reason in expect.items():
        row = pair(d[x], d[y])
        assert row is not None, (x, y)
        assert reason in row.reasons and row.status == "open" and row.source == "scan"
        assert row.first_id < row.second_id
    assert created == len(expect) == DuplicateCandidate.objects.count()
    assert not DuplicateCandidate.objects.filter(first=d["alone"]).exists()
    assert not DuplicateCandidate.objects.filter(second=d["alone"]).exists()
    # A second scan finds the same pairs and adds nothing.
    assert scan() == 0


def test_scan_does_not_reopen_dismissed_pairs_and_refreshes_open_ones(dataset):
    d = dataset
    a, b = sorted([d["phone_a"].pk, d["phone_b"].pk])
    DuplicateCandidate.objects.create(first_id=a, second_id=b, status=DuplicateStatus.DISMISSED,
                                      score=1, reasons=[])
    x, y = sorted([d["mail_a"].pk, d["mail_b"].pk])
    DuplicateCandidate.objects.create(first_id=x, second_id=y, score=1, reasons=["old"])
    result = scan_report()
    dismissed = DuplicateCandidate.objects.get(first_id=a, second_id=b)
    assert dismissed.status == "dismissed" and dismissed.score == 1
    refreshed = DuplicateCandidate.objects.get(first_id=x, second_id=y)
    assert refreshed.reasons == ["email"] and refreshed.score == 55
    assert result["updated"] == 1


def test_scan_skips_deleted_customers(users, dataset):
    services.customer_delete(actor=users["admin"], customer=dataset["phone_b"])
    scan()
    assert pair(dataset["phone_a"], dataset["phone_b"]) is None


def test_a_switchboard_shared_by_many_is_skipped_and_reported(users, monkeypatch):
    monkeypatch.setattr(duplicates, "MAX_GROUP", 3)
    for i in range(4):
        make(users, f"大厦租户{i}号", phone="021 6888 8888", city=f"城{i}")
    result = scan_report()
    assert DuplicateCandidate.objects.count() == 0
    assert result["skipped_shared_keys"] == 1
    assert "+862168888888" in result["skipped_examples"]


def test_near_matches_across_block_batches_and_city_spellings(users, monkeypatch):
    monkeypatch.setattr(duplicates, "BLOCK_BATCH", 1)
    made = {
        "a": make(users, "上海阿尔法机械"),
        "b": make(users, "上海阿尔法机械设备", city="上海市"),
        "c": make(users, "上海美佳电子科技"),
        "d": make(users, "美佳电子科技(上海)有限公司"),
        "e": make(users, "上海泽众物流"),
        "f": make(users, "泽众物流有限公司"),
        "g": make(users, "泽众物流", city="杭州"),
    }
    scan()
    assert pair(made["a"], made["b"]) is not None  # 上海 / 上海市
    assert pair(made["c"], made["d"]) is not None  # the city in front or behind
    assert pair(made["e"], made["f"]) is not None
    found = DuplicateCandidate.objects.count()
    # "g" is in another city: only its name key matches "f" (a strong reason of its own).
    assert pair(made["f"], made["g"]).reasons == ["name"]
    assert pair(made["e"], made["g"]) is None
    assert found == 4


def test_scan_job_records_progress_and_result(users, dataset, django_capture_on_commit_callbacks):
    from guanxi.parties.tasks import start_find_duplicates

    with django_capture_on_commit_callbacks(execute=True):
        job = start_find_duplicates(actor=users["director"])
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["new"] == 7
    assert job.total and job.progress == job.total
    assert DuplicateCandidate.objects.filter(job=job).count() == 7


# ---------------------------------------------------------------- add_candidates


def test_add_candidates_normalises_and_ignores_existing(users):
    a, b, c = (make(users, n) for n in ("甲", "乙", "丙"))
    DuplicateCandidate.objects.create(first=a, second=b, status=DuplicateStatus.DISMISSED)
    job = Job.objects.create(kind="import")
    added = add_candidates(
        [(b.pk, a.pk, 70, ["name"]), (c.pk, b.pk, 88.8, ["similar_name"]),
         (b.pk, c.pk, 10, []), (c.pk, c.pk, 100, ["phone"]), (a.pk, c.pk, 250, ["phone"])],
        "import", job)
    assert added == 2
    assert DuplicateCandidate.objects.get(first=a, second=b).status == "dismissed"
    bc = DuplicateCandidate.objects.get(first=b, second=c)
    assert (bc.score, bc.reasons, bc.source, bc.job_id) == (88.8, ["similar_name"], "import",
                                                           job.pk)
    assert DuplicateCandidate.objects.get(first=a, second=c).score == 100
    assert add_candidates([(a.pk, c.pk, 50, [])], "import", job.pk) == 0


# ---------------------------------------------------------------- who sees which pairs


def test_candidates_are_listed_only_when_both_customers_are_visible(users):
    own = make(users, "甲", actor="rep")
    own2 = make(users, "乙", actor="rep")
    theirs = make(users, "丙", actor="rep2")
    add_candidates([(own.pk, own2.pk, 60, ["phone"]), (own.pk, theirs.pk, 90, ["phone"])],
                   "scan", None)
    assert [c.second_id for c in candidates_for(users["rep"])] == [own2.pk]
    assert list(candidates_for(users["rep2"])) == []
    assert [c.score for c in candidates_for(users["director"])] == [90, 60]
    services.customer_delete(actor=users["rep"], customer=own2)
    assert list(candidates_for(users["rep"])) == []
