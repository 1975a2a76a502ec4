"""File import of the ERP mirror (dataio/commerce.py through the import engine): the CLI
`guanxi import orders FILE`, flat order-line files, bad rows reported with row and
column, idempotency, invoices and payments, and the web wizard offering the targets."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from guanxi.commerce.models import Invoice, Order, OrderLine, Payment
from guanxi.core.models import AuditAction, AuditEntry, Job, JobStatus
from guanxi.dataio.engine import ImportOptions, run_import
from guanxi.dataio.fields import suggest_mapping
from guanxi.sales.models import Product, ProductLine
from guanxi.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ORDERS = (
    "订单编号,客户编号,下单日期,订单状态,产品编码,品名,数量,单价\n"
    "SO-001,K001,2026/3/2,已确认,RO-500,反渗透,2,\"12,000\"\n"
    "SO-001,K001,2026/3/2,已确认,,安装服务,1,3000\n"
    "SO-002,K002,2026年3月5日,已发货,RO-500,反渗透,1,1.2万\n"
)


@pytest.fixture
def world(users, org):
    line = ProductLine.objects.create(code="water", name="水处理")
    Product.objects.create(code="RO-500", name="反渗透 500", product_line=line)
    return {"A": CustomerFactory(external_id="K001", source_system="erp", owner=users["rep"]),
            "B": CustomerFactory(external_id="K002", source_system="erp", owner=users["rep2"])}


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path, actor, target="orders", **kw):
    return run_import(path, ImportOptions(target=target, **kw), actor=actor,
                      rejects_path=Path(path).with_name("rejects.csv"))


def test_headers_are_suggested():
    mapping = suggest_mapping("orders", ORDERS.splitlines()[0].split(","))
    assert mapping == {"订单编号": "external_id", "客户编号": "customer", "下单日期": "ordered_on",
                       "订单状态": "status", "产品编码": "product_code", "品名": "description",
                       "数量": "quantity", "单价": "unit_price"}


def test_cli_imports_orders_and_reports_a_bad_row(tmp_path, world, users, capsys):
    path = write(tmp_path, ORDERS + "SO-003,K404,2026-03-06,已确认,,,,\n"
                                    "SO-004,K001,someday,,,,,\n")
    with pytest.raises(SystemExit) as exc:
        call_command("importdata", "orders", str(path), "--json", "--skip-invalid",
                     "--user", "finance")
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["created"], out["merged"], out["rejected"]) == (2, 1, 2)
    errors = {(e["row"], e["column"]) for e in out["errors"]}
    assert errors == {(5, "客户编号"), (6, "下单日期")}
    assert "K404" in next(e["message"] for e in out["errors"] if e["row"] == 5)
    job = Job.objects.get(pk=out["job"])
    assert job.status == JobStatus.SUCCEEDED and job.title == "Import orders"
    so1 = Order.objects.get(external_id="SO-001")
    assert (so1.customer, so1.status, so1.amount) == (world["A"], "confirmed", Decimal(27000))
    assert list(so1.lines.values_list("line_no", "product__code", "description", "amount")) == [
        (1, "RO-500", "反渗透", Decimal("24000.00")), (2, None, "安装服务", Decimal("3000.00"))]
    so2 = Order.objects.get(external_id="SO-002")
    assert (so2.status, so2.amount, str(so2.ordered_on)) == ("shipped", Decimal(12000),
                                                             "2026-03-05")
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT, model="commerce.order").exists()


def test_without_skip_invalid_a_bad_row_writes_nothing(tmp_path, world, users):
    path = write(tmp_path, ORDERS + "SO-003,K001,2026-03-06,已确认,XX-9,,1,1\n")
    result = run(path, users["finance"])
    assert result.rejected == 1 and not result.committed
    assert result.errors[0].column == "产品编码" and "XX-9" in result.errors[0].message
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0


def test_same_file_twice_changes_nothing(tmp_path, world, users):
    path = write(tmp_path, ORDERS)
    first = run(path, users["admin"])
    assert (first.created, first.merged, first.rejected) == (2, 1, 0)
    again = run(path, users["admin"])
    assert (again.created, again.updated, again.unchanged, again.merged) == (0, 0, 2, 1)
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 3


def test_order_lines_continue_across_batches(tmp_path, world, users):
    rows = "".join(f"SO-9,K001,2026-03-02,,,件{i},1,10\n" for i in range(7))
    path = write(tmp_path, ORDERS.splitlines(keepends=True)[0] + rows)
    result = run(path, users["admin"], batch_size=3)
    assert (result.created, result.merged) == (1, 6)
    order = Order.objects.get(external_id="SO-9")
    assert list(order.lines.values_list("line_no", flat=True)) == [1, 2, 3, 4, 5, 6, 7]
    assert order.amount == Decimal("70.00")
    again = run(path, users["admin"], batch_size=3)
    assert again.rejected == 0 and order.lines.count() == 7
    order.refresh_from_db()
    assert order.amount == Decimal("70.00")


def test_invoices_and_payments(tmp_path, world, users):
    inv = write(tmp_path, "发票号码,客户编号,开票日期,到期日,价税合计\n"
                          "FP-1,K001,2026-01-05,2026-02-04,\"1,000.00\"\n", "inv.csv")
    assert run(inv, users["finance"], target="invoices").created == 1
    pay = write(tmp_path, "收款单号,发票号码,收款日期,收款金额,收款方式\n"
                          "SK-1,FP-1,2026-02-01,400,银行转账\n"
                          "SK-2,FP-404,2026-02-01,100,现金\n", "pay.csv")
    result = run(pay, users["finance"], target="payments", skip_invalid=True)
    assert (result.created, result.rejected) == (1, 1)
    assert result.errors[0].column == "发票号码"
    p = Payment.objects.get()
    assert (p.customer, p.method) == (world["A"], "bank_transfer")
    invoice = Invoice.objects.get()
    assert (invoice.paid_amount, invoice.status) == (Decimal(400), "partially_paid")


def test_only_admin_and_finance_may_import_erp_records(tmp_path, world, users):
    from guanxi.dataio.engine import ImportError_

    path = write(tmp_path, ORDERS)
    for role in ("rep", "manager", "service", "director"):
        with pytest.raises(ImportError_):
            run(path, users[role])
    assert Order.objects.count() == 0


def test_wizard_offers_erp_targets_and_imports_orders(client, world, users,
                                                      django_capture_on_commit_callbacks):
    client.force_login(users["finance"])
    page = client.get(reverse("imports:start")).content.decode()
    assert 'value="orders"' in page and 'value="payments"' in page
    assert 'value="customers"' not in page  # finance may not import customers
    response = client.post(reverse("imports:start"), {
        "target": "orders", "encoding": "", "sheet": "",
        "file": SimpleUploadedFile("订单.csv", ORDERS.encode(), content_type="text/csv")})
    assert response.status_code == 302
    map_url = response["Location"]
    assert re.fullmatch(r"/imports/upload/[0-9a-f]{32}/map/", map_url)
    page = client.get(map_url)
    assert page.status_code == 200
    data = {"action": "import", "mode": "upsert", "encoding": "", "sheet": ""}
    data.update({f"col_{i}": key for i, key in enumerate(
        ["external_id", "customer", "ordered_on", "status", "product_code", "description",
         "quantity", "unit_price"])})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(map_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["created"] == 2
    assert Order.objects.count() == 2
    assert client.get(response["Location"]).status_code == 200
    client.force_login(users["rep"])
    response = client.post(reverse("imports:start"), {
        "target": "orders", "encoding": "", "sheet": "",
        "file": SimpleUploadedFile("订单.csv", ORDERS.encode(), content_type="text/csv")})
    assert response.status_code in (200, 403)  # not a choice for a rep
    assert Job.objects.count() == 1
