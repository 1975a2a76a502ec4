"""Importing leads: the engine (`run_import` target "leads"), the CLI `import leads`,
row/field error reporting, idempotency and the web wizard's target list."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from guanxi.core.models import AuditEntry
from guanxi.dataio.engine import ImportError_, ImportOptions, run_import
from guanxi.dataio.fields import suggest_mapping
from guanxi.sales.models import Lead, ProductLine

pytestmark = pytest.mark.django_db

HEADER = "公司名称,联系人,手机,邮箱,城市,产品线,来源,市场活动,预计金额,负责人,线索编号,需求\n"
GOOD = (
    "重庆兴瑞环保有限公司,张伟,138 0013 8000,zhang@xr.cn,重庆,env,网站,春季展,5万,rep,L-1,污水处理\n"
    "杭州绿源科技有限公司,李雷,139-0013-9000,,杭州,,展会,,12000,,L-2,\n"
)
BAD = "上海华东机械厂,王芳,12345,,上海,,,,,,L-3,\n"


@pytest.fixture
def product_line(db):
    return ProductLine.objects.create(code="env", name="环保设备")


def write(tmp_path: Path, text: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, actor, **kw):
    return run_import(path, ImportOptions(target="leads", **kw), actor=actor,
                      rejects_path=path.with_name("rejects.csv"))


def test_mapping_is_suggested():
    mapping = suggest_mapping("leads", HEADER.strip().split(","))
    assert mapping["公司名称"] == "company"
    assert mapping["手机"] == "phone"
    assert mapping["产品线"] == "product_line"
    assert mapping["预计金额"] == "estimated_amount"
    assert mapping["负责人"] == "owner"
    assert mapping["线索编号"] == "external_id"
    assert mapping["需求"] == "description"


def test_import_creates_leads(tmp_path, users, product_line):
    result = run(write(tmp_path, HEADER + GOOD), users["admin"])
    assert (result.created, result.rejected, result.committed) == (2, 0, True)
    first = Lead.objects.get(external_id="L-1")
    assert (first.company, first.phone, first.email, first.source) == (
        "重庆兴瑞环保有限公司", "+8613800138000", "zhang@xr.cn", "website")
    assert (first.owner, first.product_line, first.estimated_amount) == (
        users["rep"], product_line, Decimal("50000.00"))
    assert first.source_system == "import" and first.name_key == "重庆兴瑞环保"
    second = Lead.objects.get(external_id="L-2")
    assert second.owner is None and second.source == "exhibition"
    assert AuditEntry.objects.filter(model="sales.lead", action="create").count() == 2


def test_import_is_idempotent(tmp_path, users, product_line):
    path = write(tmp_path, HEADER + GOOD)
    run(path, users["admin"])
    again = run(path, users["admin"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Lead.objects.count() == 2
    changed = write(tmp_path, HEADER + GOOD.replace("污水处理", "废气处理"), name="b.csv")
    result = run(changed, users["admin"])
    assert (result.updated, result.unchanged) == (1, 1)
    assert Lead.objects.get(external_id="L-1").description == "废气处理"


def test_matches_by_phone_without_external_id(tmp_path, users):
    text = "公司名称,手机\n兴瑞,13800138000\n"
    run(write(tmp_path, text), users["admin"])
    result = run(write(tmp_path, "公司名称,手机\n兴瑞环保,138 0013 8000\n", "b.csv"),
                 users["admin"])
    assert (result.created, result.updated) == (0, 1)
    assert Lead.objects.get().company == "兴瑞环保"


def test_bad_row_is_reported_by_row_and_field(tmp_path, users, product_line):
    path = write(tmp_path, HEADER + GOOD + BAD)
    result = run(path, users["admin"])
    assert result.rejected == 1 and not result.committed
    assert [(e.row, e.column) for e in result.errors] == [(4, "手机")]
    assert not Lead.objects.exists()  # all or nothing
    result = run(path, users["admin"], skip_invalid=True)
    assert (result.created, result.rejected) == (2, 1)
    assert Lead.objects.count() == 2


def test_unknown_product_line_and_missing_name(tmp_path, users):
    text = HEADER + "兴瑞,张伟,13800138000,,,nope,,,,,L-9,\n" + ",,13900139000,,,,,,,,L-10,\n"
    result = run(write(tmp_path, text), users["admin"])
    assert sorted((e.row, e.column) for e in result.errors) == [(2, "产品线"), (3, "公司名称")]
    assert not Lead.objects.exists()


def test_who_may_import_leads(tmp_path, users):
    path = write(tmp_path, HEADER + GOOD)
    with pytest.raises(ImportError_):
        run(path, users["readonly"])
    result = run(write(tmp_path, "公司名称,手机\n兴瑞,13800138000\n", "r.csv"), users["rep"])
    assert result.created == 1 and Lead.objects.get().owner == users["rep"]


def test_cli_import_leads(tmp_path, users, product_line, capsys):
    path = write(tmp_path, HEADER + GOOD)
    call_command("importdata", "leads", str(path), "--json", "--user", "admin")
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 2 and out["rejected"] == 0
    assert Lead.objects.count() == 2


def test_web_wizard_offers_leads(client, users):
    client.force_login(users["marketing"])
    response = client.get(reverse("imports:start"), {"target": "leads"})
    assert response.status_code == 200
    assert "leads" in dict(response.context["form"].fields["target"].choices)
    assert response.context["form"].initial["target"] == "leads"


def test_web_wizard_imports_leads(client, users, product_line,
                                  django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from guanxi.core.models import Job, JobStatus

    client.force_login(users["marketing"])
    upload = SimpleUploadedFile("线索.csv", (HEADER + GOOD).encode("utf-8"),
                                content_type="text/csv")
    response = client.post(reverse("imports:start"), {"target": "leads", "file": upload,
                                                      "encoding": "", "sheet": ""})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["problems"] == []
    headers = HEADER.strip().split(",")
    mapping = suggest_mapping("leads", headers)
    data = {"action": "import", "mode": "upsert", "encoding": "", "sheet": ""}
    data.update({f"col_{i}": mapping[h] for i, h in enumerate(headers)})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page.request["PATH_INFO"], data)
    assert response.status_code == 302
    job = Job.objects.get(kind="import")
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["created"] == 2
    assert Lead.objects.count() == 2
