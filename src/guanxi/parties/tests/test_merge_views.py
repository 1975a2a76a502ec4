"""The duplicates pages through the test client: list, dismiss, merge screen, undo, history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.activities import services as activity_services
from guanxi.core.models import AuditEntry, Job
from guanxi.parties import services
from guanxi.parties.models import Contact, Customer, DuplicateCandidate, MergeRecord

pytestmark = pytest.mark.django_db
PASSWORD = "pw-Guanxi-123"


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def dupes(users):
    rep = users["rep"]
    keep = services.customer_create(actor=rep, name="上海清源水务有限公司", phone="13800138000",
                                    city="上海", tags=["重点"])
    dup = services.customer_create(actor=rep, name="上海清源水務", email="info@qingyuan.cn",
                                   city="上海", notes="展会名片", tags=["展会"])
    contact = services.contact_create(actor=rep, customer=dup, name="李娜")
    call = activity_services.interaction_create(actor=rep, customer=dup, kind="call",
                                                subject="询价")
    pair = DuplicateCandidate.objects.create(first=keep, second=dup, score=84,
                                             reasons=["name", "similar_name"])
    return {"keep": keep, "dup": dup, "contact": contact, "call": call, "pair": pair}


def merge_url(*customers) -> str:
    return reverse("merge:merge") + "?ids=" + ",".join(str(c.pk) for c in customers)


def test_list_shows_pairs_the_user_may_see(users, dupes):
    page = client_for(users["rep"]).get(reverse("merge:candidates"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "上海清源水務" in html and "same company name" in html and "84" in html
    assert merge_url(dupes["keep"], dupes["dup"]).split("?")[1] in html
    assert "Find duplicates" not in html  # reps do not start the scan
    other = client_for(users["rep2"]).get(reverse("merge:candidates")).content.decode()
    assert "上海清源水務" not in other
    assert "Find duplicates" in client_for(users["manager"]).get(
        reverse("merge:candidates")).content.decode()


def test_dismiss(users, dupes):
    url = reverse("merge:dismiss", args=[dupes["pair"].pk])
    assert client_for(users["rep2"]).post(url).status_code == 404
    assert client_for(users["rep"]).get(url).status_code == 405
    assert client_for(users["readonly"]).post(url).status_code == 403
    dupes["pair"].refresh_from_db()
    assert dupes["pair"].status == "open"
    response = client_for(users["rep"]).post(url)
    assert response.status_code == 302
    dupes["pair"].refresh_from_db()
    assert dupes["pair"].status == "dismissed" and dupes["pair"].decided_by == users["rep"]
    # Already decided: no longer on the list, so a second dismiss is a 404.
    assert client_for(users["rep"]).post(url).status_code == 404
    htmx = client_for(users["director"])
    DuplicateCandidate.objects.filter(pk=dupes["pair"].pk).update(status="open")
    response = htmx.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.content == b""


def test_merge_screen_shows_fields_and_what_moves(users, dupes):
    page = client_for(users["rep"]).get(merge_url(dupes["keep"], dupes["dup"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "上海清源水务有限公司" in html and "info@qingyuan.cn" in html
    assert "1 contact<" in html and "1 interaction<" in html
    assert f'name="version_{dupes["dup"].pk}" value="{dupes["dup"].version}"' in html
    # E-mail: the survivor has none, so the first non-empty value is preselected.
    assert f'name="f_email" value="{dupes["dup"].pk}" checked' in html
    assert f'name="f_name" value="{dupes["keep"].pk}" checked' in html


def test_merge_screen_permissions(users, dupes):
    theirs = services.customer_create(actor=users["rep2"], name="重庆清源")
    pool = services.customer_create(actor=users["director"], name="清源水务")
    rep = client_for(users["rep"])
    assert rep.get(merge_url(dupes["keep"], theirs)).status_code == 404  # invisible
    assert rep.get(merge_url(dupes["keep"], pool)).status_code == 403  # visible, not own
    assert rep.get(merge_url(dupes["keep"])).status_code == 404  # one customer only
    assert rep.get(reverse("merge:merge") + "?ids=1,x").status_code == 404
    assert client_for(users["readonly"]).get(
        merge_url(dupes["keep"], dupes["dup"])).status_code == 403
    response = client_for(users["rep2"]).post(reverse("merge:merge"), {
        "ids": f"{dupes['keep'].pk},{theirs.pk}", "survivor": theirs.pk})
    assert response.status_code == 404
    assert Customer.objects.count() == 4 and not MergeRecord.objects.exists()


def merge_post(client, keep, dup, **extra):
    data = {"ids": f"{keep.pk},{dup.pk}", "survivor": keep.pk,
            f"version_{keep.pk}": keep.version, f"version_{dup.pk}": dup.version,
            "f_email": dup.pk, "f_notes": "combine", **extra}
    return client.post(reverse("merge:merge"), data)


def test_merge_post_then_undo(users, dupes):
    keep, dup = dupes["keep"], dupes["dup"]
    Customer.all_objects.filter(pk=keep.pk).update(notes="老客户")
    keep.refresh_from_db()
    client = client_for(users["rep"])
    response = merge_post(client, keep, dup)
    assert response.status_code == 302 and response["Location"] == keep.get_absolute_url()
    record = MergeRecord.objects.get()
    keep.refresh_from_db()
    assert keep.email == "info@qingyuan.cn" and keep.notes == "老客户\n\n展会名片"
    assert Contact.objects.get(pk=dupes["contact"].pk).customer_id == keep.pk
    assert DuplicateCandidate.objects.get().status == "merged"
    page = client.get(response["Location"])
    html = page.content.decode()
    undo_url = reverse("merge:undo", args=[record.pk])
    assert f'action="{undo_url}"' in html and "csrfmiddlewaretoken" in html
    assert "One customer was merged into" in html
    # The merge shows on the survivor's history tab.
    history = client.get(reverse("parties:customer_history", args=[keep.pk])).content.decode()
    assert "上海清源水務" in history

    history_page = client.get(reverse("merge:merges")).content.decode()
    assert undo_url in history_page
    assert client_for(users["rep2"]).post(undo_url).status_code == 404
    response = client.post(undo_url)
    assert response.status_code == 302 and response["Location"] == keep.get_absolute_url()
    keep.refresh_from_db()
    assert keep.email == "" and keep.notes == "老客户"
    assert Customer.objects.filter(pk=dup.pk).exists()
    assert Contact.objects.get(pk=dupes["contact"].pk).customer_id == dup.pk
    record.refresh_from_db()
    assert record.undone_at is not None
    # A second undo explains itself instead of failing.
    response = client.post(undo_url, follow=True)
    assert "already been undone" in response.content.decode()


def test_merge_with_a_stale_version_shows_the_conflict(users, dupes):
    keep, dup = dupes["keep"], dupes["dup"]
    services.customer_update(actor=users["director"], customer=dup, version=dup.version,
                             city="苏州")
    count = AuditEntry.objects.count()
    response = merge_post(client_for(users["rep"]), keep, dup)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="conflict"' in html and "苏州" in html
    dup.refresh_from_db()
    assert f'name="version_{dup.pk}" value="{dup.version}"' in html
    assert dup.deleted_at is None and AuditEntry.objects.count() == count


def test_invalid_choice_is_reported(users, dupes):
    keep, dup = dupes["keep"], dupes["dup"]
    Customer.all_objects.filter(pk=dup.pk).update(website="not a url")
    response = merge_post(client_for(users["rep"]), keep, dup, f_website=dup.pk)
    assert response.status_code == 200
    assert "could not be merged" in response.content.decode()
    assert not MergeRecord.objects.exists()


def test_post_without_csrf_token_is_refused(users, dupes):
    client = client_for(users["rep"], enforce_csrf_checks=True)
    assert merge_post(client, dupes["keep"], dupes["dup"]).status_code == 403
    url = reverse("merge:dismiss", args=[dupes["pair"].pk])
    assert client.post(url).status_code == 403
    assert not MergeRecord.objects.exists()


def test_scan_button(users, dupes, django_capture_on_commit_callbacks):
    assert client_for(users["rep"]).post(reverse("merge:scan")).status_code == 403
    assert client_for(users["manager"]).get(reverse("merge:scan")).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(users["manager"]).post(reverse("merge:scan"))
    job = Job.objects.get(kind="find_duplicates")
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.created_by == users["manager"]
    page = client_for(users["manager"]).get(reverse("merge:candidates")).content.decode()
    assert reverse("core:job_detail", args=[job.pk]) in page
    # While a scan is queued or running, the button does not start a second one.
    Job.objects.filter(pk=job.pk).update(status="running")
    response = client_for(users["director"]).post(reverse("merge:scan"))
    assert response["Location"] == reverse("merge:candidates")
    response = client_for(users["manager"]).post(reverse("merge:scan"))
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    assert Job.objects.filter(kind="find_duplicates").count() == 1


def test_anonymous_is_sent_to_login(dupes):
    for url in (reverse("merge:candidates"), reverse("merge:merges"),
                merge_url(dupes["keep"], dupes["dup"])):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
