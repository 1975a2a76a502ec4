"""The import engine: encodings, messy values, validation, dedup, modes, idempotency."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from guanxi.activities.models import Interaction
from guanxi.core.models import AuditAction, AuditEntry, Job, JobStatus
from guanxi.dataio import prepare
from guanxi.dataio.cleaning import phone
from guanxi.dataio.engine import ImportError_, ImportOptions, run_import
from guanxi.dataio.fields import suggest_mapping
from guanxi.dataio.readers import detect_encoding, open_table
from guanxi.parties.models import Contact, Customer, DuplicateCandidate
from guanxi.parties.normalize import company_key, normalize_phone
from guanxi.testing.factories import CustomerFactory

HEADER = "客户名称,手机,邮箱,城市,客户等级,标签,联系人\n"
ROWS = (
    "重庆兴瑞环保有限公司,+86 138 0013 8000,info@xr.cn,重庆,A类,环保、重点,张伟\n"
    "上海华东机械制造厂,138-0013-8001,,上海,B,,\n"
    "杭州绿源科技有限公司,(023)6532-1234转808,lv@ly.cn,杭州,C,,\n"
)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path, actor, **kw):
    return run_import(path, ImportOptions(**kw), actor=actor,
                      rejects_path=Path(path).with_name("rejects.csv"))


def total(r) -> int:
    return r.created + r.updated + r.unchanged + r.merged + r.rejected


# --- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"),
    ("big5", "cp950"),
])
def test_encodings_are_detected(tmp_path, encoding, expected):
    text = HEADER + ROWS
    if encoding == "big5":
        from guanxi.parties.search import to_traditional

        text = to_traditional(text)
    path = write(tmp_path, text, encoding)
    assert detect_encoding(path.read_bytes()) == expected
    with open_table(path) as t:
        rows = list(t.rows())
    assert t.headers[0] in ("客户名称", "客戶名稱")
    assert len(rows) == 3 and rows[0][0] == 2
    assert rows[0][1][0] in ("重庆兴瑞环保有限公司", "重慶興瑞環保有限公司")


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "big5"])
def test_every_encoding_imports_the_same_customers(tmp_path, users, encoding):
    text = HEADER + ROWS
    if encoding == "big5":
        from guanxi.parties.search import to_traditional

        text = to_traditional(text)
    r = run(write(tmp_path, text, encoding), users["admin"])
    assert (r.created, r.rejected) == (3, 0), r.errors
    c = Customer.objects.get(phone="+8613800138000")
    assert company_key(c.name) == "重庆兴瑞环保"
    from guanxi.parties.search import to_simplified

    assert c.tier == "A"
    assert sorted(to_simplified(t) for t in c.tags.values_list("name", flat=True)) == ["环保", "重点"]
    assert c.contacts.get().name in ("张伟", "張偉")


def test_encoding_override_and_unknown_encoding(tmp_path):
    path = write(tmp_path, HEADER + ROWS, "gb18030")
    with open_table(path, encoding="GBK") as t:
        assert t.encoding == "gb18030"
        assert list(t.rows())[1][1][0] == "上海华东机械制造厂"
    from guanxi.dataio.readers import ReadError

    with pytest.raises(ReadError):
        open_table(path, encoding="klingon")
    with pytest.raises(ReadError):  # GB18030 bytes read as UTF-8: a clear message
        with open_table(path, encoding="utf-8") as t:
            list(t.rows())


def test_xlsx_numbers_dates_and_empty_rows(tmp_path):
    import datetime as dt

    wb = Workbook()
    ws = wb.active
    ws.append(["Company", "Phone", "Since"])
    ws.append(["ＡＢＣ　Trading", 13800138000, dt.datetime(2024, 3, 1)])
    ws.append([None, None, None])
    ws.append(["Acme", 13800138001.0, None])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    with open_table(path) as t:
        rows = list(t.rows())
    assert t.format == "xlsx" and t.headers == ["Company", "Phone", "Since"]
    assert [r[0] for r in rows] == [2, 4]  # the empty row keeps its number
    assert rows[0][1] == ["ABC Trading", "13800138000", "2024-03-01"]
    assert rows[1][1][1] == "13800138001"


@pytest.mark.django_db
def test_header_suggestions_in_both_scripts_and_english():
    m = suggest_mapping("customers", ["客户名称", "手机", "電子郵件", "Company Address", "备注",
                                      "Owner", "客戶等級", "whatever"])
    assert m == {"客户名称": "name", "手机": "phone", "電子郵件": "email",
                 "Company Address": "street", "备注": "notes", "Owner": "owner",
                 "客戶等級": "tier", "whatever": ""}
    assert suggest_mapping("customers", ["公司名称", "电话"])["公司名称"] == "name"
    assert suggest_mapping("customers", ["Company", "Phone"]) == {"Company": "name",
                                                                "Phone": "phone"}


def test_phone_fast_path_agrees_with_phonenumbers():
    for raw in ("+86 138 0013 8000", "138-0013-8000", "13800138000", "0086 13800138000",
                "(023)6532-1234", "021 6888 8888", "010-12345678", "８６１３８００１３８０００",
                "(023)6532-1234转808", "+1 650 253 0000"):
        assert phone(raw) == normalize_phone(raw), raw
    assert phone("(023)6532-1234转808") == ("+862365321234", "808")


# --- validation, counts and atomicity -------------------------------------------------


@pytest.mark.django_db
def test_dry_run_lists_every_problem_and_writes_nothing(tmp_path, users):
    text = ("客户名称,手机,邮箱,客户等级,负责人\n"
            "好公司,13800138000,ok@ok.cn,A,\n"
            ",13800138001,,B,\n"
            "坏邮箱公司,not-a-phone,bad@,D,nobody\n")
    r = run(write(tmp_path, text), users["admin"], dry_run=True)
    assert not r.committed and Customer.objects.count() == 0
    assert (r.rows, r.created, r.rejected) == (3, 1, 2) and total(r) == r.rows
    problems = {(e.row, e.column) for e in r.errors}
    assert problems == {(3, "客户名称"), (4, "手机"), (4, "邮箱"), (4, "客户等级"), (4, "负责人")}
    assert not (tmp_path / "rejects.csv").exists()


@pytest.mark.django_db
def test_errors_mean_nothing_is_written_unless_skip_invalid(tmp_path, users):
    text = HEADER + ROWS + ",,,,,,\n" + "无手机号公司,12345,,重庆,A,,\n"
    path = write(tmp_path, text)
    r = run(path, users["admin"])
    assert not r.committed and r.rejected == 1 and Customer.objects.count() == 0
    assert "Nothing was imported" in r.message
    r = run(path, users["admin"], skip_invalid=True)
    assert r.committed and (r.created, r.rejected, r.rows) == (3, 1, 4)
    assert Customer.objects.count() == 3
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig", newline="") as f:
        rejects = list(csv.reader(f))
    assert rejects[0][:2] == ["客户名称", "手机"] and len(rejects[0]) == 8
    assert rejects[1][:2] == ["无手机号公司", "12345"] and "手机" in rejects[1][-1]


@pytest.mark.django_db
def test_header_only_and_empty_files(tmp_path, users):
    r = run(write(tmp_path, HEADER), users["admin"])
    assert (r.rows, r.created, r.rejected) == (0, 0, 0) and r.committed
    with pytest.raises(ImportError_):
        run(write(tmp_path, "", name="empty.csv"), users["admin"])


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing(tmp_path, users):
    path = write(tmp_path, HEADER + ROWS + "重慶興瑞環保(集團)有限公司,13800138000,,重庆,,,\n")
    first = run(path, users["admin"])
    assert (first.created, first.merged) == (3, 1)
    snapshot = list(Customer.objects.order_by("pk").values())
    audits = AuditEntry.objects.count()
    second = run(path, users["admin"])
    assert (second.created, second.updated, second.unchanged, second.merged) == (0, 0, 3, 1)
    assert list(Customer.objects.order_by("pk").values()) == snapshot
    assert AuditEntry.objects.count() == audits


@pytest.mark.django_db
def test_dedup_within_the_file_and_against_the_database(tmp_path, users):
    CustomerFactory(name="成都天府水务有限公司", city="成都", phone="+862887654321",
                    email="tf@tf.cn", owner=users["admin"])
    text = ("公司名称,电话,邮箱,城市,备注\n"
            "成都天府水务,,TF@tf.cn,成都,老客户\n"             # e-mail (any case) → existing
            "\"ＸＹＺ\u3000Co., Ltd.\",13900000001,,深圳,\n"              # full-width, legal form
            "XYZ,,x@xyz.com,深圳,补充邮箱\n"                      # company key → row 3
            "新客户甲,028-8765 4321,,成都,\n")                    # phone → existing
    r = run(write(tmp_path, text), users["admin"])
    assert (r.created, r.updated, r.merged, r.rejected) == (1, 1, 2, 0), r.errors
    tf = Customer.objects.get(email="tf@tf.cn")
    assert tf.notes == "老客户" and tf.name == "成都天府水务有限公司"
    xyz = Customer.objects.get(name="XYZ Co., Ltd.")
    assert xyz.email == "x@xyz.com" and xyz.notes == "补充邮箱"  # blanks filled by the later row
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_near_matches_are_flagged_not_merged(tmp_path, users):
    old = CustomerFactory(name="重庆兴瑞环保有限公司", city="重庆", owner=users["admin"])
    r = run(write(tmp_path, "客户名称,城市\n重庆兴睿环保有限公司,重庆市\n"), users["admin"])
    assert r.created == 1 and r.near_total == 1
    new = Customer.objects.exclude(pk=old.pk).get()
    pair = DuplicateCandidate.objects.get()
    assert {pair.first_id, pair.second_id} == {old.pk, new.pk} and pair.source == "import"
    assert r.near_matches[0]["customer"] == old.pk


@pytest.mark.django_db
def test_modes_and_match_keys(tmp_path, users):
    existing = CustomerFactory(name="甲公司", phone="+8613800138000", tier="C",
                               owner=users["admin"], external_id="E1")
    path = write(tmp_path, "客户编号,客户名称,手机,客户等级\nE1,甲公司,13800138000,A\n"
                           "E2,乙公司,13800138002,B\n")
    r = run(path, users["admin"], mode="update")
    assert (r.updated, r.rejected) == (1, 1) and not r.committed  # all or nothing
    r = run(path, users["admin"], mode="create", skip_invalid=True)
    assert (r.created, r.rejected) == (1, 1)  # create never changes an existing customer
    existing.refresh_from_db()
    assert existing.tier == "C"
    r = run(path, users["admin"], mode="upsert")
    assert (r.updated, r.unchanged) == (1, 1)
    existing.refresh_from_db()
    assert existing.tier == "A" and existing.version == 2
    entry = AuditEntry.objects.filter(object_id=existing.pk, action=AuditAction.IMPORT).last()
    assert entry.changes["tier"] == ["C", "A"]
    # Matching only by name: a phone that differs doesn't matter.
    path2 = write(tmp_path, "客户名称,手机\n甲公司,13800138009\n", name="b.csv")
    r = run(path2, users["admin"], match=("name",))
    assert r.updated == 1
    existing.refresh_from_db()
    assert existing.phone == "+8613800138009"


@pytest.mark.django_db
def test_a_row_matching_two_customers_is_rejected(tmp_path, users):
    a = CustomerFactory(name="甲", phone="+8613800138000", owner=users["admin"])
    b = CustomerFactory(name="乙", email="b@b.cn", owner=users["admin"])
    r = run(write(tmp_path, "客户名称,手机,邮箱\n丙,13800138000,b@b.cn\n"), users["admin"],
            skip_invalid=True)
    assert r.rejected == 1 and f"#{a.pk}" in r.errors[0].message and f"#{b.pk}" in r.errors[0].message


@pytest.mark.django_db
def test_a_rep_cannot_change_another_reps_customer_by_import(tmp_path, users):
    theirs = CustomerFactory(name="别人的客户", phone="+8613800138000", owner=users["rep2"],
                             tier="C")
    r = run(write(tmp_path, "客户名称,手机,客户等级\n别人的客户,13800138000,A\n我的新客户,,B\n"),
            users["rep"], skip_invalid=True)
    assert (r.created, r.rejected) == (1, 1)
    theirs.refresh_from_db()
    assert theirs.tier == "C"
    mine = Customer.objects.get(name="我的新客户")
    assert mine.owner == users["rep"] and mine.team == users["rep"].team
    with pytest.raises(ImportError_):
        run(write(tmp_path, HEADER + ROWS, name="c.csv"), users["readonly"])


@pytest.mark.django_db
def test_imported_customers_are_searchable_and_audited(tmp_path, users):
    from guanxi.parties.selectors import search_customers

    run(write(tmp_path, HEADER + ROWS), users["admin"])
    c = Customer.objects.get(phone="+8613800138000")
    assert c.name_key == "重庆兴瑞环保" and c.name_block == "重庆|兴"
    hits = search_customers(users["admin"], "cqxr")
    assert c.pk in [h.pk for h in hits]
    entry = AuditEntry.objects.get(object_id=c.pk, model="parties.customer")
    assert entry.action == AuditAction.IMPORT and entry.changes["name"][1] == c.name


@pytest.mark.django_db
def test_worker_processes_give_the_same_result(tmp_path, users, monkeypatch):
    lines = [HEADER.strip()]
    for i in range(300):
        lines.append(f"测试公司{i}号,1380013{i:04d},c{i}@t.cn,上海,B,,联系人{i}")
    lines.append("测试公司1号,,,上海,,,")  # a duplicate
    path = write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(prepare, "POOL_MIN_BYTES", 0)
    monkeypatch.setenv("GUANXI_IMPORT_WORKERS", "2")
    r = run_import(path, ImportOptions(batch_size=50), actor=users["admin"])
    assert (r.created, r.merged, r.rejected) == (300, 1, 0)
    c = Customer.objects.get(name="测试公司7号")
    assert c.phone == "+8613800130007" and c.contacts.get().name == "联系人7"
    assert "csgs" in c.search_text


# --- CLI --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cli_json_output_and_exit_code(tmp_path, users, capsys):
    path = write(tmp_path, HEADER + ROWS + "坏,12,,,,,\n")
    with pytest.raises(SystemExit) as exc:
        call_command("importdata", "customers", str(path), "--json", "--skip-invalid",
                     "--user", "admin")
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"created", "updated", "unchanged", "merged", "rejected", "errors", "job"}
    assert (out["created"], out["rejected"]) == (3, 1)
    assert out["errors"][0]["row"] == 5 and out["errors"][0]["column"] == "手机"
    job = Job.objects.get(pk=out["job"])
    assert job.status == JobStatus.SUCCEEDED and job.created_by == users["admin"]
    assert job.result["rejects"].endswith(".rejects.csv")
    call_command("importdata", "customers", str(write(tmp_path, HEADER + ROWS, name="ok.csv")),
                 "--json")
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["unchanged"], out["rejected"]) == (3, 0)


@pytest.mark.django_db
def test_cli_mapping_file_and_saved_mapping(tmp_path, users, capsys):
    from guanxi.dataio.models import SavedMapping

    path = write(tmp_path, "A,B\n甲公司,13800138000\n")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"A": "name", "B": "phone"}))
    call_command("importdata", "customers", str(path), "--mapping", str(mapping), "--json")
    assert Customer.objects.get().phone == "+8613800138000"
    SavedMapping.objects.create(name="销售表", target="customers",
                                mapping={"A": "name", "B": "notes"})
    call_command("importdata", "customers", str(path), "--mapping", "销售表", "--json",
                 "--match", "name")
    assert Customer.objects.get().notes == "13800138000"


# --- contacts and interactions -------------------------------------------------------------


@pytest.mark.django_db
def test_contacts_and_interactions_import(tmp_path, users):
    CustomerFactory(name="重庆兴瑞环保有限公司", external_id="C1", owner=users["admin"])
    contacts = write(tmp_path, "客户名称,联系人,手机,职务\n重庆兴瑞环保,李娜,13900000001,采购经理\n"
                               "重庆兴瑞环保,李娜,13900000001,采购总监\n不存在的公司,王五,,\n",
                     name="contacts.csv")
    r = run(contacts, users["admin"], target="contacts", skip_invalid=True)
    assert (r.created, r.merged, r.rejected) == (1, 1, 1), r.errors
    assert Contact.objects.get().title == "采购总监"
    acts = write(tmp_path, "客户编号,时间,方式,主题,内容\nC1,2026-03-01 10:00,电话,报价,谈了价格\n"
                           "C1,2026/03/02,拜访,,现场勘查\nC1,不是日期,电话,,\n", name="acts.csv")
    r = run(acts, users["admin"], target="interactions", skip_invalid=True)
    assert (r.created, r.rejected) == (2, 1) and r.errors[0].column == "时间"
    assert Interaction.objects.filter(kind="visit").count() == 1
    r = run(acts, users["admin"], target="interactions", skip_invalid=True)
    assert (r.created, r.unchanged) == (0, 2)


def test_rejects_keep_the_row_as_it_was(tmp_path):
    from guanxi.dataio.readers import write_rejects

    out = tmp_path / "r.csv"
    write_rejects(out, ["名称", "电话"], [(["ＡＢＣ", "=1+1"], "电话: bad")])
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["名称", "电话", "Reason"], ["ＡＢＣ", "=1+1", "电话: bad"]]


@pytest.mark.django_db
def test_custom_field_values_are_checked_against_their_choices(tmp_path, users):
    from guanxi.parties.models import CustomFieldDef

    CustomFieldDef.objects.create(key="scale", label="规模", field_type="choice",
                                  choices=["大", "中", "小"])
    path = write(tmp_path, "客户名称,规模\n甲公司,大\n乙公司,特大\n")
    r = run(path, users["admin"], dry_run=True)
    assert r.rejected == 1 and (r.errors[0].row, r.errors[0].column) == (3, "规模")
    assert "特大" in r.errors[0].message
    r = run(path, users["admin"], skip_invalid=True)
    assert Customer.objects.get().custom == {"scale": "大"}


@pytest.mark.django_db
def test_audit_entries_name_the_owner_like_the_services_do(tmp_path, users):
    rep = users["rep"]
    r = run(write(tmp_path, f"客户名称,负责人\n甲公司,{rep.username}\n"), users["admin"])
    assert r.created == 1
    c = Customer.objects.get()
    assert c.owner == rep and c.team == rep.team
    entry = AuditEntry.objects.get(object_id=c.pk, model="parties.customer")
    assert entry.changes["owner"] == [None, str(rep)]
    assert entry.changes["team"] == [None, str(rep.team)]
    r = run(write(tmp_path, f"客户名称,负责人\n甲公司,{users['rep2'].username}\n", name="b.csv"),
            users["admin"])
    entry = AuditEntry.objects.filter(object_id=c.pk).order_by("pk").last()
    assert r.updated == 1 and entry.changes["owner"] == [str(rep), str(users["rep2"])]
