"""The import wizard, an import's page and the import history (web)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guanxi.core.jobs import write_live
from guanxi.core.models import Job, JobStatus
from guanxi.dataio.engine import ImportOptions, store_upload
from guanxi.dataio.models import SavedMapping
from guanxi.dataio.views_import import SESSION_KEY
from guanxi.parties.models import Customer

CSV = (
    "客户名称,手机,邮箱,城市\n"
    "上海华联机械有限公司,13800138000,sales@hualian.cn,上海\n"
    "杭州明远科技有限公司,13900139000,info@mingyuan.cn,杭州\n"
)
# Row 3 has no name, row 4 a broken e-mail.
CSV_WITH_PROBLEMS = (
    "客户名称,手机,邮箱\n"
    "上海华联机械有限公司,13800138000,sales@hualian.cn\n"
    ",13900139000,info@mingyuan.cn\n"
    "重庆山城物流有限公司,13700137000,not-an-email\n"
    "成都天府贸易有限公司,13600136000,cd@tianfu.cn\n"
)


def _csv(text: str, name: str = "客户.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def _upload(client, text: str = CSV, *, target: str = "customers", **kwargs) -> str:
    """Step 1; returns the map page URL it redirects to."""
    response = client.post(reverse("imports:start"),
                           {"target": target, "file": _csv(text, **kwargs), "encoding": "",
                            "sheet": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert re.fullmatch(r"/imports/upload/[0-9a-f]{32}/map/", response["Location"])
    return response["Location"]


def _map_post(client, url: str, action: str, *, mapping: dict[int, str], **extra) -> object:
    data = {"action": action, "mode": "upsert",
            "match": ["external_id", "phone", "email", "name"], "encoding": "", "sheet": ""}
    data.update({f"col_{i}": key for i, key in mapping.items()})
    data.update(extra)
    return client.post(url, data)


def _run(client, url, action, capture, **kwargs) -> Job:
    """Start a check or an import from the map page and let its job run."""
    with capture(execute=True):
        response = _map_post(client, url, action, **kwargs)
    assert response.status_code == 302, response.content.decode()[:3000]
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    job.refresh_from_db()
    return job


NAME_PHONE_EMAIL = {0: "name", 1: "phone", 2: "email"}


@pytest.fixture
def rep(client, users):
    client.force_login(users["rep"])
    return client


# ---------------------------------------------------------------- access


@pytest.mark.django_db
def test_pages_need_login(client):
    for url in (reverse("imports:history"), reverse("imports:start")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_readonly_may_not_import(client, users):
    client.force_login(users["readonly"])
    assert client.get(reverse("imports:history")).status_code == 403
    assert client.get(reverse("imports:start")).status_code == 403
    before = set(Path(settings.DATA_DIR).glob("imports/*"))
    response = client.post(reverse("imports:start"), {"target": "customers", "file": _csv(CSV)})
    assert response.status_code == 403
    assert set(Path(settings.DATA_DIR).glob("imports/*")) == before  # nothing stored


@pytest.mark.django_db
def test_service_may_import_only_interactions(client, users):
    client.force_login(users["service"])
    response = client.get(reverse("imports:start"))
    assert response.status_code == 200
    choices = [v for v, _label in response.context["form"].fields["target"].choices]
    assert choices == ["interactions"]
    response = client.post(reverse("imports:start"), {"target": "customers", "file": _csv(CSV)})
    assert response.status_code == 200 and response.context["form"].errors["target"]


# ---------------------------------------------------------------- step 1 and 2


@pytest.mark.django_db
def test_utf8_csv_gets_suggested_mapping_and_preview(rep):
    url = _upload(rep)
    response = rep.get(url)
    assert response.status_code == 200
    assert response.context["read"].encoding in ("utf-8", "utf-8-sig")
    suggested = {h: field.value() for h, field, _ex in response.context["columns"]}
    assert suggested["客户名称"] == "name"
    assert suggested["手机"] == "phone"
    assert suggested["邮箱"] == "email"
    html = response.content.decode()
    assert "上海华联机械有限公司" in html  # preview row
    assert 'value="dry_run"' in html and 'value="import"' in html
    assert response.context["problems"] == []


@pytest.mark.django_db
def test_gb18030_csv_is_detected_and_mapped(rep):
    url = _upload(rep, CSV, name="erp.csv", encoding="gb18030")
    response = rep.get(url)
    assert response.status_code == 200
    assert response.context["read"].encoding == "gb18030"
    suggested = {h: field.value() for h, field, _ex in response.context["columns"]}
    assert suggested["客户名称"] == "name" and suggested["手机"] == "phone"
    assert "杭州明远科技有限公司" in response.content.decode()


@pytest.mark.django_db
def test_wrong_encoding_choice_is_explained_and_can_be_changed(rep):
    url = _upload(rep, CSV, name="erp.csv", encoding="gb18030")
    response = rep.get(url, {"encoding": "utf-8"})
    assert response.status_code == 200
    assert response.context["read_error"]  # GB18030 bytes are not UTF-8
    assert 'name="encoding"' in response.content.decode()
    assert rep.get(url, {"encoding": "gb18030"}).context["read"].headers[0] == "客户名称"


@pytest.mark.django_db
def test_xls_and_other_files_are_refused_clearly(rep):
    for name, fragment in (("old.xls", ".xls"), ("notes.pdf", ".csv")):
        response = rep.post(reverse("imports:start"),
                            {"target": "customers",
                             "file": SimpleUploadedFile(name, b"\xd0\xcf\x11\xe0 data")})
        assert response.status_code == 200
        errors = response.context["form"].errors["file"]
        assert any(fragment in e for e in errors), errors


@pytest.mark.django_db
def test_upload_token_belongs_to_the_session(rep, client, users):
    url = _upload(rep)
    from django.test import Client

    other = Client()
    other.force_login(users["rep2"])
    assert other.get(url).status_code == 404
    assert rep.get("/imports/upload/" + "0" * 32 + "/map/").status_code == 404


@pytest.mark.django_db
def test_session_path_outside_the_imports_folder_is_refused(rep):
    url = _upload(rep)
    session = rep.session
    token = url.split("/")[3]
    uploads = session[SESSION_KEY]
    uploads[token]["path"] = str(Path(settings.DATA_DIR) / "secret_key")
    session[SESSION_KEY] = uploads
    session.save()
    assert rep.get(url).status_code == 404


@pytest.mark.django_db
def test_mapping_problems_are_shown_and_nothing_starts(rep):
    url = _upload(rep)
    response = _map_post(rep, url, "import", mapping={0: "", 1: "phone", 2: "phone"})
    assert response.status_code == 200
    problems = response.context["problems"]
    assert len(problems) == 2  # phone twice, no name
    assert not Job.objects.filter(kind="import").exists()


# ---------------------------------------------------------------- check, import, history


@pytest.mark.django_db
def test_dry_run_lists_problems_with_row_numbers_and_writes_nothing(
        rep, users, django_capture_on_commit_callbacks):
    url = _upload(rep, CSV_WITH_PROBLEMS)
    job = _run(rep, url, "dry_run", django_capture_on_commit_callbacks,
               mapping=NAME_PHONE_EMAIL)
    assert job.status == JobStatus.SUCCEEDED and job.created_by == users["rep"]
    assert not Customer.objects.exists()
    response = rep.get(reverse("imports:detail", args=[job.pk]))
    assert response.status_code == 200
    problems = response.context["problems"]
    assert {p["row"] for p in problems} == {3, 4}
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>([^<]*)</td><td>",
                      response.content.decode())
    assert ("3", "客户名称") in rows and ("4", "邮箱") in rows
    assert response.context["info"]["dry_run"]
    assert response.context["can_import_valid"] and not response.context["can_import_now"]
    assert 'hx-trigger="every 1s"' not in response.content.decode()  # finished: no polling

    # "Import the valid rows and give me a rejects file"
    with django_capture_on_commit_callbacks(execute=True):
        response = rep.post(reverse("imports:rerun", args=[job.pk]), {"valid_only": "1"})
    new = Job.objects.exclude(pk=job.pk).get(kind="import")
    assert response["Location"] == reverse("imports:detail", args=[new.pk])
    new.refresh_from_db()
    assert new.params["options"]["skip_invalid"] and not new.params["options"]["dry_run"]
    assert set(Customer.objects.values_list("name", flat=True)) == {
        "上海华联机械有限公司", "成都天府贸易有限公司"}
    assert new.result["rejected"] == 2 and new.result["rejects"]


@pytest.mark.django_db
def test_clean_dry_run_then_import_now(rep, django_capture_on_commit_callbacks):
    url = _upload(rep)
    check = _run(rep, url, "dry_run", django_capture_on_commit_callbacks,
                 mapping={**NAME_PHONE_EMAIL, 3: "city"})
    assert not Customer.objects.exists()
    response = rep.get(reverse("imports:detail", args=[check.pk]))
    assert response.context["can_import_now"]
    assert response.context["info"]["result"]["created"] == 2
    assert reverse("imports:rerun", args=[check.pk]) in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = rep.post(reverse("imports:rerun", args=[check.pk]))
    assert response.status_code == 302
    assert Customer.objects.count() == 2
    assert Customer.objects.get(name="杭州明远科技有限公司").city == "杭州"
    # A second click goes to the same import instead of starting another one.
    again = rep.post(reverse("imports:rerun", args=[check.pk]))
    assert again["Location"] == response["Location"]
    assert Job.objects.filter(kind="import").count() == 2


@pytest.mark.django_db
def test_import_creates_customers_and_history_lists_it(rep, users,
                                                       django_capture_on_commit_callbacks):
    url = _upload(rep)
    job = _run(rep, url, "import", django_capture_on_commit_callbacks, mapping=NAME_PHONE_EMAIL)
    assert job.status == JobStatus.SUCCEEDED and job.result["committed"]
    assert Customer.objects.count() == 2
    assert Customer.objects.get(name="上海华联机械有限公司").phone == "+8613800138000"

    response = rep.get(reverse("imports:history"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row["job"] == job and row["file_name"] == "客户.csv"
    assert row["result"]["created"] == 2 and row["rows"] == 2 and not row["dry_run"]
    html = response.content.decode()
    assert "客户.csv" in html and reverse("imports:detail", args=[job.pk]) in html

    detail = rep.get(reverse("imports:detail", args=[job.pk]))
    assert detail.context["info"]["result"]["created"] == 2
    assert 'id="count-created">2<' in detail.content.decode()


@pytest.mark.django_db
def test_import_with_bad_rows_writes_nothing_and_offers_valid_rows(
        rep, django_capture_on_commit_callbacks):
    url = _upload(rep, CSV_WITH_PROBLEMS)
    job = _run(rep, url, "import", django_capture_on_commit_callbacks, mapping=NAME_PHONE_EMAIL)
    assert not Customer.objects.exists()
    response = rep.get(reverse("imports:detail", args=[job.pk]))
    assert response.context["nothing_written"] and response.context["can_import_valid"]


@pytest.mark.django_db
def test_rejects_file_for_owner_and_admin_only(rep, client, users,
                                               django_capture_on_commit_callbacks):
    url = _upload(rep, CSV_WITH_PROBLEMS)
    job = _run(rep, url, "import", django_capture_on_commit_callbacks,
               mapping=NAME_PHONE_EMAIL, skip_invalid="on")
    assert job.result["rejected"] == 2
    rejects_url = reverse("imports:rejects", args=[job.pk])
    assert rejects_url in rep.get(reverse("imports:history")).content.decode()

    response = rep.get(rejects_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "重庆山城物流有限公司" in body and "not-an-email" in body
    assert "上海华联机械有限公司" not in body

    rep.force_login(users["rep2"])
    assert rep.get(rejects_url).status_code == 404
    assert rep.get(reverse("imports:detail", args=[job.pk])).status_code == 404
    assert job not in [r["job"] for r in rep.get(reverse("imports:history")).context["rows"]]
    rep.force_login(users["admin"])
    assert rep.get(rejects_url).status_code == 200
    assert rep.get(reverse("imports:detail", args=[job.pk])).status_code == 200


@pytest.mark.django_db
def test_rejects_path_outside_the_imports_folder_is_not_served(rep, users):
    job = Job.objects.create(kind="import", created_by=users["rep"], status=JobStatus.SUCCEEDED,
                             params={"original_name": "x.csv", "options": {}},
                             result={"rejects": str(Path(settings.DATA_DIR) / "secret_key")})
    assert rep.get(reverse("imports:rejects", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_saved_mapping_is_saved_and_reused(rep, users, django_capture_on_commit_callbacks):
    odd = "公司全名,移动号码,电邮\n上海华联机械有限公司,13800138000,sales@hualian.cn\n"
    url = _upload(rep, odd)
    _run(rep, url, "dry_run", django_capture_on_commit_callbacks,
         mapping=NAME_PHONE_EMAIL, save_as="ERP 导出")
    saved = SavedMapping.objects.get(target="customers", name="ERP 导出")
    assert saved.mapping == {"公司全名": "name", "移动号码": "phone", "电邮": "email"}
    assert saved.created_by == users["rep"]

    url2 = _upload(rep, odd.replace("上海", "北京"))
    response = rep.get(url2)
    assert saved in list(response.context["saved_mappings"])
    response = rep.get(url2, {"saved": saved.pk})
    chosen = {h: f.value() for h, f, _ex in response.context["columns"]}
    assert chosen == saved.mapping and response.context["saved"] == saved
    # A saved mapping of another target is not offered.
    other = SavedMapping.objects.create(target="contacts", name="c", mapping={"电邮": "email"})
    assert rep.get(url2, {"saved": other.pk}).context["saved"] is None

    # Saving under the same name replaces it.
    _run(rep, url2, "dry_run", django_capture_on_commit_callbacks,
         mapping={0: "name", 1: "phone", 2: ""}, save_as="ERP 导出")
    saved.refresh_from_db()
    assert saved.mapping["电邮"] == "" and SavedMapping.objects.count() == 2


# ---------------------------------------------------------------- progress and resume


@pytest.mark.django_db
def test_running_import_polls_and_shows_rate_and_time_left(rep, users):
    job = Job.objects.create(kind="import", created_by=users["rep"], status=JobStatus.RUNNING,
                             params={"original_name": "big.csv",
                                     "options": ImportOptions().to_dict()})
    write_live(job.pk, done=2500, total=10000, rate=500.0, eta=15.0, phase="writing")
    response = rep.get(reverse("imports:detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.templates[0].name == "dataio/import/partials/job_body.html"
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html and 'aria-valuenow="25"' in html
    live = response.context["live"]
    assert live["done"] == 2500 and live["total"] == 10000 and live["rate"] == 500
    assert live["eta"] and "15" in live["eta"]
    assert "2,500" in html or "2500" in html

    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED,
                                         result={"created": 10000, "rows": 10000,
                                                 "committed": True})
    html = rep.get(reverse("imports:detail", args=[job.pk]),
                   HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html and 'id="count-created">10,000<' in html


@pytest.mark.django_db
def test_failed_skip_invalid_import_can_be_resumed(rep, users,
                                                   django_capture_on_commit_callbacks):
    path = store_upload(_csv(CSV_WITH_PROBLEMS), users["rep"])
    options = ImportOptions(skip_invalid=True,
                            mapping={"客户名称": "name", "手机": "phone", "邮箱": "email"})
    # Killed after the batch that ended at row 2 (its customer was written then).
    job = Job.objects.create(
        kind="import", created_by=users["rep"], status=JobStatus.FAILED,
        message="killed",
        params={"path": str(path), "original_name": "客户.csv", "options": options.to_dict()},
        result={"running": True, "checkpoint": {"row": 2}, "rows": 1, "created": 1,
                "rejected": 0, "errors": []})
    response = rep.get(reverse("imports:detail", args=[job.pk]))
    assert response.context["can_resume"]
    assert reverse("imports:resume", args=[job.pk]) in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = rep.post(reverse("imports:resume", args=[job.pk]))
    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    # Rows 3-5 were read now; row 2 was not imported again.
    assert set(Customer.objects.values_list("name", flat=True)) == {"成都天府贸易有限公司"}
    assert job.result["rows"] == 4 and job.result["rejected"] == 2


@pytest.mark.django_db
def test_a_finished_import_cannot_be_resumed_or_rerun(rep, users):
    job = Job.objects.create(kind="import", created_by=users["rep"], status=JobStatus.SUCCEEDED,
                             params={"original_name": "x.csv",
                                     "options": ImportOptions(skip_invalid=True).to_dict()},
                             result={"committed": True, "rows": 1, "created": 1})
    rep.post(reverse("imports:resume", args=[job.pk]))
    rep.post(reverse("imports:rerun", args=[job.pk]))
    assert Job.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_posts_need_csrf(client, users):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(users["rep"])
    response = csrf_client.post(reverse("imports:start"), {"target": "customers",
                                                          "file": _csv(CSV)})
    assert response.status_code == 403


def _xlsx() -> SimpleUploadedFile:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表由 ERP 导出"])
    ws = wb.create_sheet("客户")
    ws.append(["客户名称", "手机", "客户等级"])
    ws.append(["上海华联机械有限公司", 13800138000, "A"])
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile("客户.xlsx", buf.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument"
                                           ".spreadsheetml.sheet")


@pytest.mark.django_db
def test_xlsx_sheet_can_be_picked_and_is_imported(rep, django_capture_on_commit_callbacks):
    response = rep.post(reverse("imports:start"), {"target": "customers", "file": _xlsx()})
    url = response["Location"]
    first = rep.get(url)
    assert first.context["read"].format == "xlsx"
    assert first.context["read"].sheets == ["说明", "客户"]
    assert 'name="sheet"' in first.content.decode()
    response = rep.get(url, {"sheet": "客户"})
    suggested = {h: f.value() for h, f, _ex in response.context["columns"]}
    assert suggested == {"客户名称": "name", "手机": "phone", "客户等级": "tier"}
    assert rep.get(url, {"sheet": "没有"}).context["read_error"]
    job = _run(rep, url, "import", django_capture_on_commit_callbacks,
               mapping={0: "name", 1: "phone", 2: "tier"}, sheet="客户")
    assert job.params["options"]["sheet"] == "客户"
    customer = Customer.objects.get()
    assert customer.tier == "A" and customer.phone == "+8613800138000"


@pytest.mark.django_db
def test_contacts_need_a_customer_column_and_have_no_match_keys(rep):
    url = _upload(rep, "联系人,手机\n王经理,13800138000\n", target="contacts")
    response = rep.get(url)
    assert "match" not in response.context["form"].fields
    assert any("customer" in p for p in response.context["problems"])


@pytest.mark.django_db
def test_update_without_match_keys_is_refused(rep):
    url = _upload(rep)
    response = _map_post(rep, url, "import", mapping=NAME_PHONE_EMAIL, match=[], mode="update")
    assert response.status_code == 200 and response.context["form"].errors["match"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_job_page_links_to_the_import_page(rep, users):
    job = Job.objects.create(kind="import", created_by=users["rep"], status=JobStatus.SUCCEEDED,
                             params={"original_name": "x.csv", "options": {}})
    html = rep.get(reverse("core:job_detail", args=[job.pk])).content.decode()
    assert reverse("imports:detail", args=[job.pk]) in html


@pytest.mark.django_db
def test_history_refreshes_itself_while_an_import_runs(rep, users):
    Job.objects.create(kind="import", created_by=users["rep"], status=JobStatus.RUNNING,
                       params={"original_name": "x.csv", "options": {}})
    Job.objects.create(kind="reindex", created_by=users["rep"], status=JobStatus.SUCCEEDED)
    response = rep.get(reverse("imports:history"), HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "dataio/import/partials/history_table.html"
    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert len(response.context["rows"]) == 1  # only imports
