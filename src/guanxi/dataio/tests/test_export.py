"""List exports: CSV and XLSX round trips, formula neutralisation, visibility, filters,
translated headers, the row cap and the audit entry."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.dataio import export
from guanxi.testing.factories import ContactFactory, CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
NASTY = ["=1+1", "+86 138 0013 8000 张三", "-2", "@SUM(A1)", "\tX", "\rY", "＝1+1",
         "  =HYPERLINK(\"http://x\")", "　＋1"]


# ---------------------------------------------------------------- neutralise


@pytest.mark.parametrize("value", NASTY + ["－5", "＠me", "\n=1"])
def test_neutralise_prefixes_formula_text(value):
    assert export.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["上海兴瑞", "Acme 1+1", "a=b", "", "'already", "1-2"])
def test_neutralise_leaves_plain_text(value):
    assert export.neutralise(value) == value


@pytest.mark.parametrize("value", [-2, 3.5, None, dt.date(2026, 1, 2)])
def test_neutralise_leaves_non_text(value):
    assert export.neutralise(value) == value


def test_xlsx_cells_keep_numbers_and_dates_typed_and_text_as_strings():
    ws = Workbook(write_only=True).create_sheet()
    number = export.xlsx_cell(ws, -2)
    assert (number.value, number.data_type) == (-2, "n")
    text = export.xlsx_cell(ws, "-2")
    assert (text.value, text.data_type) == ("'-2", "s")
    formula = export.xlsx_cell(ws, "=1+1")
    assert (formula.value, formula.data_type) == ("'=1+1", "s")
    when = export.xlsx_cell(ws, timezone.make_aware(dt.datetime(2026, 11, 22, 9, 30)))
    assert when.value == dt.datetime(2026, 11, 22, 9, 30) and when.data_type == "d"
    assert export.xlsx_cell(ws, "a\x00b\x07c").value == "abc"  # XML cannot hold these


def test_filename_and_filters():
    assert export.export_filename("customers", "csv", dt.date(2026, 11, 22)) == \
        "customers-2026-11-22.csv"


# ---------------------------------------------------------------- helpers


def login(client, user):
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_sheet(response):
    wb = load_workbook(io.BytesIO(body(response)))
    return wb.worksheets[0]


def assert_no_formula_text(values):
    for value in values:
        if isinstance(value, str):
            assert not value.startswith(TRIGGERS), repr(value)


@pytest.fixture
def data(users, org):
    rep, rep2 = users["rep"], users["rep2"]
    mine = [CustomerFactory(name=name, owner=rep, team=org["shanghai"], tier="A", city=name)
            for name in NASTY]
    plain = CustomerFactory(name="上海兴瑞环保有限公司", owner=rep, team=org["shanghai"],
                            tier="B")
    theirs = CustomerFactory(name="重庆别人的客户", owner=rep2, team=org["chongqing"], tier="A")
    contacts = [ContactFactory(customer=plain, name=name, title=name, notes=name)
                for name in NASTY]
    hidden_contact = ContactFactory(customer=theirs, name="别人的联系人")
    interactions = [InteractionFactory(customer=plain, subject=name, body=name, kind="visit",
                                       created_by=rep) for name in NASTY]
    InteractionFactory(customer=plain, subject="电话", kind="call", created_by=rep)
    InteractionFactory(customer=theirs, subject="别人的拜访", kind="visit", created_by=rep2)
    return {"mine": mine, "plain": plain, "theirs": theirs, "contacts": contacts,
            "hidden_contact": hidden_contact, "interactions": interactions}


# ---------------------------------------------------------------- customers


def test_customers_csv_round_trip(client, users, data):
    response = login(client, users["rep"]).get("/export/customers.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate().isoformat()
    assert f'filename="customers-{today}.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    header, rows = rows[0], rows[1:]
    assert header[:3] == ["ID", "Name", "Short name"]
    names = {r[1] for r in rows}
    assert "重庆别人的客户" not in names
    assert "上海兴瑞环保有限公司" in names
    assert len(rows) == len(NASTY) + 1
    for row in rows:
        assert_no_formula_text(row)
    assert "'=1+1" in names and "'-2" in names and "'\tX" in names and "'＝1+1" in names
    assert "'\rY" in names  # the CR survives CSV quoting, behind the apostrophe
    ids = {int(r[0]) for r in rows}
    assert ids == {c.pk for c in data["mine"]} | {data["plain"].pk}


def test_customers_csv_headers_follow_the_language(client, users, data):
    response = login(client, users["rep"]).get("/export/customers.csv",
                                               HTTP_ACCEPT_LANGUAGE="zh-hans")
    header, first = csv_rows(response)[:2]
    assert header[1] == "名称"
    assert {"等级", "阶段", "客户经理", "大区 / 办事处", "行业", "标签"} <= set(header)
    assert first[header.index("类型")] == "企业"  # choice labels translated too


def test_customers_export_applies_the_list_filters(client, users, data):
    response = login(client, users["rep"]).get("/export/customers.csv?tier=B&page=3")
    rows = csv_rows(response)[1:]
    assert [r[1] for r in rows] == ["上海兴瑞环保有限公司"]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.model == "parties.customer"
    assert entry.object_id == 0
    assert entry.object_repr == "customers.csv"
    assert entry.actor == users["rep"]
    assert entry.changes == {"format": [None, "csv"], "rows": [None, 1],
                             "filters": [None, {"tier": "B"}]}


def test_customers_export_follows_the_list_sort(client, users, data):
    response = login(client, users["rep"]).get("/export/customers.csv?tier=A&sort=name")
    names = [r[1] for r in csv_rows(response)[1:]]
    assert names == sorted(names)


def test_customers_xlsx_round_trip(client, users, data):
    response = login(client, users["rep"]).get("/export/customers.xlsx")
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    ws = xlsx_sheet(response)
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    assert header[:3] == ["ID", "Name", "Short name"]
    values = [[c.value for c in r] for r in rows[1:]]
    assert len(values) == len(NASTY) + 1
    for r in rows:
        for cell in r:
            assert cell.data_type != "f"
    for r in values:
        assert_no_formula_text(r)
        assert isinstance(r[0], int)  # ids stay numbers
    names = {r[1] for r in values}
    assert "重庆别人的客户" not in names
    assert {"'=1+1", "'-2", "'@SUM(A1)", "'\tX", "'＝1+1"} <= names
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.changes["format"] == [None, "xlsx"]
    assert entry.changes["rows"] == [None, len(NASTY) + 1]


def test_xlsx_is_capped_with_a_notice(client, users, data, monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_DATA_ROWS", 4)
    response = login(client, users["rep"]).get("/export/customers.xlsx")
    values = [[c.value for c in r] for r in xlsx_sheet(response).iter_rows()]
    assert len(values) == 1 + 3 + 1  # header, 3 rows, the notice
    assert "Export CSV" in values[-1][0]
    assert str(len(NASTY) + 1) in values[-1][0]
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).changes["rows"] == [None, 4]


def test_xlsx_exactly_full_has_no_notice():
    buffer = io.BytesIO()
    columns = (export.Column("n", lambda x: x),)
    written = export.write_xlsx(buffer, columns, [1, -2, 3], title="t", max_rows=3)
    assert written == 3
    ws = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    assert [r[0] for r in ws.iter_rows(values_only=True)] == ["n", 1, -2, 3]


def test_export_needs_login_and_a_known_list(client, users):
    response = client.get("/export/customers.csv")
    assert response.status_code == 302 and "/login/" in response["Location"]
    login(client, users["rep"])
    assert client.get("/export/users.csv").status_code == 404
    assert client.get("/export/customers.pdf").status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_readonly_exports_what_it_sees(client, users, data):
    rows = csv_rows(login(client, users["readonly"]).get("/export/customers.csv"))[1:]
    assert len(rows) == len(NASTY) + 2  # readonly reads every customer


# ---------------------------------------------------------------- contacts, interactions


def test_contacts_csv_and_xlsx(client, users, data):
    login(client, users["rep"])
    rows = csv_rows(client.get("/export/contacts.csv", HTTP_ACCEPT_LANGUAGE="en"))
    header, rows = rows[0], rows[1:]
    assert header[:3] == ["ID", "Name", "Customer"]
    names = {r[1] for r in rows}
    assert "别人的联系人" not in names
    assert len(rows) == len(NASTY)
    for row in rows:
        assert_no_formula_text(row)
    ws = xlsx_sheet(client.get("/export/contacts.xlsx?q=SUM"))
    values = [[c.value for c in r] for r in ws.iter_rows()][1:]
    assert [r[1] for r in values] == ["'@SUM(A1)"]
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT,
                                     model="parties.contact").count() == 2


def test_contacts_export_of_a_hidden_customer_is_empty(client, users, data):
    response = login(client, users["rep"]).get(
        f"/export/contacts.csv?customer={data['theirs'].pk}")
    assert csv_rows(response)[1:] == []


def test_interactions_csv_and_xlsx(client, users, data):
    login(client, users["rep"])
    rows = csv_rows(client.get("/export/interactions.csv?kind=visit",
                               HTTP_ACCEPT_LANGUAGE="en"))
    header, rows = rows[0], rows[1:]
    assert header[:3] == ["ID", "When", "Customer"]
    subjects = {r[header.index("Summary")] for r in rows}
    assert "别人的拜访" not in subjects and "电话" not in subjects
    assert len(rows) == len(NASTY)
    for row in rows:
        assert_no_formula_text(row)
    ws = xlsx_sheet(client.get("/export/interactions.xlsx?created_by=me"))
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert len(values) == 1 + len(NASTY) + 1
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    for r in values:
        assert_no_formula_text(r)
    assert isinstance(values[1][1], dt.datetime)  # "when" stays a date-time
    entry = AuditEntry.objects.filter(model="activities.interaction").latest("id")
    assert entry.changes["filters"] == [None, {"created_by": "me"}]


def test_list_pages_link_to_exports_with_their_filters(client, users, data):
    login(client, users["rep"])
    content = client.get("/customers/", {"tier": "A", "page": "1"}).content.decode()
    assert 'href="/export/customers.csv?tier=A"' in content
    assert 'href="/export/customers.xlsx?tier=A"' in content
    # The HTMX refresh of the results carries the new filters too.
    fragment = client.get("/customers/", {"tier": "B"}, HTTP_HX_REQUEST="true")
    assert 'href="/export/customers.csv?tier=B"' in fragment.content.decode()
    detail = client.get(f"/customers/{data['plain'].pk}/").content.decode()
    assert f'href="/export/contacts.vcf?customer={data["plain"].pk}"' in detail
    assert f'href="/export/vcard/import/?customer={data["plain"].pk}"' in detail
