"""CSAT surveys: sent after resolution, signed single-use expiring links, low scores."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from guanxi.activities.models import Task
from guanxi.core import site_settings
from guanxi.core.models import AuditEntry
from guanxi.servicedesk import hooks, surveys
from guanxi.servicedesk.models import Survey, Ticket, TicketStatus, TicketType
from guanxi.testing.factories import ContactFactory, CustomerFactory

T0 = dt.datetime(2025, 6, 3, 10, 0, tzinfo=dt.UTC)


def make_ticket(customer, *, contact=None, assignee=None, type_code="equipment_fault",
                **kw) -> Ticket:
    ttype = TicketType.objects.get(code=type_code)
    return Ticket.objects.create(customer=customer, contact=contact, type=ttype,
                                 queue=ttype.queue, assignee=assignee,
                                 subject=kw.pop("subject", "压缩机异响"),
                                 status=kw.pop("status", TicketStatus.RESOLVED), **kw)


@pytest.fixture
def resolved(users):
    customer = CustomerFactory(name="上海清源水务有限公司", owner=users["rep"],
                               email="info@qingyuan.cn")
    contact = ContactFactory(customer=customer, name="王经理", email="wang@qingyuan.cn")
    return make_ticket(customer, contact=contact, assignee=users["service"])


def _survey(ticket, **kw) -> Survey:
    return surveys.on_resolved(ticket=ticket, actor=None, **kw)


@pytest.mark.django_db
def test_resolution_sends_five_one_click_links(resolved, users,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hooks.ticket_resolved(ticket=resolved, actor=users["service"])
    survey = Survey.objects.get(ticket=resolved)
    assert (survey.kind, survey.customer, survey.contact, survey.email) == (
        "csat", resolved.customer, resolved.contact, "wang@qingyuan.cn")
    assert (survey.agent, survey.queue) == (users["service"], resolved.queue)
    assert survey.expires_at - survey.sent_at == dt.timedelta(days=7)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["wang@qingyuan.cn"] and resolved.reference in message.subject
    links = re.findall(r"https?://\S+/s/(\S+)/\?score=(\d)", message.body)
    assert [int(s) for _t, s in links] == [5, 4, 3, 2, 1]
    assert {t for t, _s in links} == {surveys.make_token(survey)}
    assert 'href="http' in message.alternatives[0][0]
    assert AuditEntry.objects.filter(model="servicedesk.survey", object_id=survey.pk,
                                     customer_id=resolved.customer_id).exists()
    # Reopened and resolved again: not asked twice.
    with django_capture_on_commit_callbacks(execute=True):
        hooks.ticket_resolved(ticket=resolved, actor=users["service"])
    assert Survey.objects.filter(ticket=resolved).count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_without_an_address_the_survey_is_created_but_not_sent(
        users, django_capture_on_commit_callbacks):
    customer = CustomerFactory(owner=users["rep"])
    ticket = make_ticket(customer, contact=ContactFactory(customer=customer))
    with django_capture_on_commit_callbacks(execute=True):
        survey = _survey(ticket)
    assert survey.email == "" and mail.outbox == []
    assert surveys.survey_url(survey).endswith(f"/s/{surveys.make_token(survey)}/")
    # The customer's own address is the fallback.
    customer2 = CustomerFactory(email="office@example.cn")
    with django_capture_on_commit_callbacks(execute=True):
        survey2 = _survey(make_ticket(customer2))
    assert survey2.email == "office@example.cn" and mail.outbox[0].to == ["office@example.cn"]


@pytest.mark.django_db
def test_expiry_follows_the_site_setting(resolved):
    site_settings.put(surveys.EXPIRES_SETTING, 3)
    survey = _survey(resolved, now=T0)
    assert survey.expires_at == T0 + dt.timedelta(days=3)


@pytest.mark.django_db
def test_get_shows_the_score_but_writes_nothing(client, resolved):
    survey = _survey(resolved)
    r = client.get(surveys.survey_path(survey, 4))
    html = r.content.decode()
    assert r.status_code == 200
    assert 'value="4" required checked' in html and 'id="survey-submit" autofocus' in html
    assert r["Referrer-Policy"] == "same-origin" and "noindex" in r["X-Robots-Tag"]
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.score is None


@pytest.mark.django_db
def test_token_is_single_use(resolved):
    client = Client(enforce_csrf_checks=True)
    survey = _survey(resolved)
    path = surveys.survey_path(survey)
    client.get(path)  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    r = client.post(path, {"score": "5", "comment": "很及时", "csrfmiddlewaretoken": token})
    assert r.status_code == 200 and 'id="survey-thanks"' in r.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (5, "很及时") and survey.answered_at
    first_answer = survey.answered_at
    r = client.post(path, {"score": "1", "comment": "改主意", "csrfmiddlewaretoken": token})
    assert r.status_code == 200 and 'id="survey-already"' in r.content.decode()
    r = client.get(path + "?score=1")
    assert 'id="survey-already"' in r.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment, survey.answered_at) == (5, "很及时", first_answer)
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused(resolved):
    client = Client(enforce_csrf_checks=True)
    survey = _survey(resolved)
    r = client.post(surveys.survey_path(survey), {"score": "5"})
    assert r.status_code == 403
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_expired_link_saves_nothing(client, resolved):
    survey = _survey(resolved, now=T0)
    with pytest.raises(surveys.SurveyClosed) as exc:
        surveys.answer(survey=survey, score=5, now=T0 + dt.timedelta(days=7, seconds=1))
    assert exc.value.state == surveys.EXPIRED
    # Just before the end it still works (controllable clock).
    survey2 = _survey(make_ticket(resolved.customer), now=T0)
    surveys.answer(survey=survey2, score=4, now=T0 + dt.timedelta(days=6, hours=23))
    survey2.refresh_from_db()
    assert survey2.score == 4
    # Through the page: an expired survey says so and records nothing.
    r = client.get(surveys.survey_path(survey, 5))
    assert r.status_code == 410 and 'id="survey-expired"' in r.content.decode()
    r = client.post(surveys.survey_path(survey), {"score": "5"})
    assert r.status_code == 410
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.score is None


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: "x" + t,
    lambda t: signing.Signer().sign_object(1),  # no salt
    lambda t: signing.Signer(salt="other").sign_object(1),
    lambda t: signing.dumps(1, salt=surveys.SALT),  # another signer
    lambda t: "not-a-token",
])
def test_tampered_token_is_404(client, resolved, mangle):
    survey = _survey(resolved)
    token = mangle(surveys.make_token(survey))
    assert client.get(f"/s/{token}/?score=5").status_code == 404
    assert client.post(f"/s/{token}/", {"score": "1"}).status_code == 404
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_token_for_a_deleted_survey_is_404(client, resolved):
    survey = _survey(resolved)
    path = surveys.survey_path(survey)
    survey.delete()
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_bad_score_is_refused(client, resolved):
    survey = _survey(resolved)
    for score in ("0", "6", "abc", ""):
        r = client.post(surveys.survey_path(survey), {"score": score})
        assert r.status_code == 400
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_low_score_opens_a_follow_up_task_for_the_owner(client, resolved, users):
    survey = _survey(resolved)
    r = client.post(surveys.survey_path(survey), {"score": "2", "comment": "等了三天"})
    assert r.status_code == 200
    survey.refresh_from_db()
    task = survey.follow_up_task
    assert task is not None and survey.is_low
    assert (task.assignee, task.customer, task.contact, task.kind, task.status) == (
        users["rep"], resolved.customer, resolved.contact, "call", "open")
    assert resolved.reference in task.title and "等了三天" in task.notes
    assert task.due_at > survey.answered_at


@pytest.mark.django_db
def test_low_score_without_owner_goes_to_the_ticket_assignee(users):
    customer = CustomerFactory()  # in the pool: no owner
    ticket = make_ticket(customer, assignee=users["service"])
    survey = _survey(ticket)
    surveys.answer(survey=survey, score=1)
    survey.refresh_from_db()
    assert survey.follow_up_task.assignee == users["service"]


@pytest.mark.django_db
def test_good_score_opens_no_task(resolved):
    survey = _survey(resolved)
    surveys.answer(survey=survey, score=3)
    survey.refresh_from_db()
    assert survey.follow_up_task is None and not Task.objects.exists()


@pytest.mark.django_db
def test_ticket_page_tag_offers_the_link_to_copy(resolved):
    from django.template import Context, Template

    survey = _survey(resolved)
    Survey.objects.filter(pk=survey.pk).update(email="")
    html = Template("{% load service_tags %}{% ticket_survey ticket %}").render(
        Context({"ticket": resolved}))
    assert surveys.survey_url(survey) in html and "not sent" in html
    surveys.answer(survey=survey, score=5)
    html = Template("{% load service_tags %}{% ticket_survey ticket %}").render(
        Context({"ticket": resolved}))
    assert "5/5" in html and surveys.make_token(survey) not in html


@pytest.mark.django_db
def test_answer_is_audited_on_the_customer(resolved):
    survey = _survey(resolved)
    surveys.answer(survey=survey, score=4, comment="ok", now=timezone.now())
    entry = AuditEntry.objects.filter(model="servicedesk.survey", action="update").get()
    assert entry.customer_id == resolved.customer_id and entry.changes["score"] == [None, 4]
