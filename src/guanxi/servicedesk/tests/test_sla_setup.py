"""Editing the SLA targets and the working calendar: administrators only, validation
messages that name the cell or the line, audit, and the effect on the maths."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guanxi.core.models import AuditEntry
from guanxi.servicedesk import calendar as bcal
from guanxi.servicedesk import sla_setup
from guanxi.servicedesk.models import BusinessCalendar, CalendarDay, SlaPolicy

from .test_sla import at

pytestmark = pytest.mark.django_db


def grid_post(**overrides) -> dict[str, str]:
    """The policy form as posted with the seeded values, plus overrides."""
    data: dict[str, str] = {}
    for (tier, priority), p in sla_setup.policy_grid().items():
        key = sla_setup.cell_key(tier, priority)
        if p is None:
            continue
        if tier:
            data[f"{key}.enabled"] = "1"
        data[f"{key}.first_response_hours"] = str(p.first_response_hours)
        data[f"{key}.resolution_hours"] = str(p.resolution_hours)
        data[f"{key}.warn_percent"] = str(p.warn_percent)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- policies


def test_policies_page_admin_edits_others_read_or_403(client, users):
    url = reverse("sla:policies")
    client.force_login(users["rep"])
    assert client.get(url).status_code == 403
    client.force_login(users["service"])
    r = client.get(url)
    assert r.status_code == 200 and not r.context["can_edit"]
    before = list(SlaPolicy.objects.values_list("tier", "priority", "first_response_hours"))
    assert client.post(url, grid_post(**{"A.high.first_response_hours": "1"})).status_code \
        == 403
    assert list(SlaPolicy.objects.values_list("tier", "priority", "first_response_hours")) \
        == before

    client.force_login(users["admin"])
    r = client.post(url, grid_post(**{
        "A.high.first_response_hours": "1.5", "A.high.warn_percent": "80",
        "C.urgent.enabled": "1", "C.urgent.first_response_hours": "3",
        "C.urgent.resolution_hours": "20", "C.urgent.warn_percent": "75"}))
    assert r.status_code == 302
    a_high = SlaPolicy.objects.get(tier="A", priority="high")
    assert (a_high.first_response_hours, a_high.warn_percent) == (Decimal("1.5"), 80)
    assert SlaPolicy.objects.get(tier="C", priority="urgent").resolution_hours == 20
    entry = AuditEntry.objects.get(model="servicedesk.slapolicy", object_id=a_high.pk)
    assert entry.actor == users["admin"] and entry.changes["warn_percent"] == [75, 80]


def test_policy_validation_names_the_cell_and_saves_nothing(client, users):
    client.force_login(users["admin"])
    r = client.post(reverse("sla:policies"), grid_post(**{
        "A.high.first_response_hours": "10", "A.high.resolution_hours": "5",
        "B.low.warn_percent": "100", "any.normal.first_response_hours": "abc"}))
    assert r.status_code == 422
    errors = r.context["error_list"]
    assert any(e.startswith("Tier A, high:") and "shorter" in e for e in errors)
    assert any(e.startswith("Tier B, low:") and "1–99" in e for e in errors)
    assert any(e.startswith("Any tier, normal:") for e in errors)
    assert SlaPolicy.objects.get(tier="A", priority="high").first_response_hours == 2
    assert "Tier A, high:" in r.content.decode()


def test_switching_a_tier_cell_off_falls_back_to_any_tier(users):
    from guanxi.servicedesk.sla import policy_for

    cells = [{"tier": t, "priority": p, "first_response_hours": pol.first_response_hours,
              "resolution_hours": pol.resolution_hours, "warn_percent": pol.warn_percent}
             for (t, p), pol in sla_setup.policy_grid().items()
             if pol is not None and (t, p) != ("A", "urgent")]
    assert sla_setup.save_policies(actor=users["admin"], cells=cells) == 1
    assert not SlaPolicy.objects.get(tier="A", priority="urgent").active
    assert policy_for("A", "urgent").tier == ""


def test_the_any_tier_row_is_required(users):
    with pytest.raises(ValidationError) as exc:
        sla_setup.save_policies(actor=users["admin"], cells=[
            {"tier": "A", "priority": "high", "first_response_hours": 1,
             "resolution_hours": 2}])
    assert set(exc.value.message_dict) == {f"any.{p}.first_response_hours"
                                           for p in ("low", "normal", "high", "urgent")}
    with pytest.raises(PermissionDenied):
        sla_setup.save_policies(actor=users["director"], cells=[])


def test_policies_api(client, users):
    client.force_login(users["rep"])
    r = client.get("/api/v1/sla/policies")
    assert r.status_code == 200 and len(r.json()) == 12
    body = {"policies": [{"tier": p["tier"], "priority": p["priority"],
                          "first_response_hours": p["first_response_hours"],
                          "resolution_hours": p["resolution_hours"],
                          "warn_percent": p["warn_percent"]} for p in r.json()]}
    assert client.put("/api/v1/sla/policies", body,
                      content_type="application/json").status_code == 403
    client.force_login(users["admin"])
    body["policies"][0]["warn_percent"] = 0
    r = client.put("/api/v1/sla/policies", body, content_type="application/json")
    assert r.status_code == 422
    key = f"{body['policies'][0]['tier'] or 'any'}.{body['policies'][0]['priority']}" \
          ".warn_percent"
    assert key in r.json()["errors"]
    body["policies"][0]["warn_percent"] = 60
    r = client.put("/api/v1/sla/policies", body, content_type="application/json")
    assert r.status_code == 200
    assert 60 in [p["warn_percent"] for p in r.json()]


# ---------------------------------------------------------------- calendar


def test_parse_days_formats_and_ranges():
    entries = sla_setup.parse_days(
        "# 2027\n2027-01-01 holiday 元旦\n\n2027/2/6\t班\t春节调休\n"
        "2027-10-01..2027-10-03 休 国庆节\n2027-05-01,off,劳动节", 2027)
    assert [(e.date.isoformat(), e.kind, e.name) for e in entries] == [
        ("2027-01-01", "holiday", "元旦"), ("2027-02-06", "workday", "春节调休"),
        ("2027-10-01", "holiday", "国庆节"), ("2027-10-02", "holiday", "国庆节"),
        ("2027-10-03", "holiday", "国庆节"), ("2027-05-01", "holiday", "劳动节")]


def test_parse_days_names_every_bad_line():
    text = ("2027-01-01 holiday 元旦\n"
            "2027-13-01 holiday 不存在\n"
            "2026-12-31 holiday 去年\n"
            "2027-01-01 workday 重复\n"
            "2027-02-03 vacation 春节\n"
            "next friday off\n")
    with pytest.raises(ValidationError) as exc:
        sla_setup.parse_days(text, 2027)
    problems = exc.value.message_dict["days"]
    assert any(p.startswith("Line 2:") and "no such date" in p for p in problems)
    assert any(p.startswith("Line 3:") and "not in 2027" in p for p in problems)
    assert any(p.startswith("Line 4:") and "Line 1" in p for p in problems)
    assert any(p.startswith("Line 5:") and "vacation" in p for p in problems)
    assert any(p.startswith("Line 6:") for p in problems)
    assert not any(p.startswith("Line 1:") for p in problems)


def test_calendar_page_admin_pastes_a_year(client, users):
    url = reverse("sla:calendar")
    client.force_login(users["finance"])
    r = client.get(url, {"year": 2026})
    assert r.status_code == 200 and not r.context["can_edit"]
    assert len(r.context["days"]) == CalendarDay.objects.filter(date__year=2026).count()
    assert client.post(url, {"action": "days", "year": 2027,
                             "days": "2027-01-01 holiday 元旦"}).status_code == 403
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    client.force_login(users["rep"])
    assert client.get(url).status_code == 403

    client.force_login(users["admin"])
    r = client.post(f"{url}?year=2027", {
        "action": "days", "year": 2027,
        "days": "2027-01-01 holiday 元旦\n2027-02-06 workday 春节调休\n"
                "2027-02-10..2027-02-12 holiday 春节"})
    assert r.status_code == 302 and r["Location"].endswith("?year=2027")
    days = dict(CalendarDay.objects.filter(date__year=2027).values_list("date", "kind"))
    assert len(days) == 5 and days[dt.date(2027, 2, 6)] == "workday"
    assert CalendarDay.objects.filter(date__year=2026).count() > 20  # other years untouched
    entry = AuditEntry.objects.filter(model="servicedesk.businesscalendar").latest("at")
    assert "days 2027" in entry.changes
    # The maths follows at once: Saturday 2027-02-06 is worked, Wednesday 02-10 is not.
    assert bcal.add_business_hours(at(2027, 2, 5, 17), 2) == at(2027, 2, 6, 10)
    assert bcal.add_business_hours(at(2027, 2, 9, 17), 2) == at(2027, 2, 15, 10)

    r = client.post(url, {"action": "days", "year": 2027,
                          "days": "2027-01-01 holiday 元旦\n2027-02-30 holiday 错"})
    assert r.status_code == 422
    assert "Line 2: there is no such date." in r.content.decode()
    assert CalendarDay.objects.filter(date__year=2027).count() == 5


def test_calendar_page_working_hours(client, users):
    url = reverse("sla:calendar")
    client.force_login(users["admin"])
    r = client.post(url, {"action": "hours", "year": 2026, "name": "工作日历",
                          "work_start": "08:30", "work_end": "17:30", "lunch_start": "12:00",
                          "lunch_end": "13:30", "weekdays": ["1", "2", "3", "4", "5"]})
    assert r.status_code == 302
    cal = BusinessCalendar.objects.get(is_default=True)
    assert (cal.work_start, cal.lunch_end, cal.name) == (dt.time(8, 30), dt.time(13, 30),
                                                         "工作日历")
    assert bcal.add_business_hours(at(2026, 3, 9, 8, 30), 4) == at(2026, 3, 9, 14)
    r = client.post(url, {"action": "hours", "year": 2026, "name": "工作日历",
                          "work_start": "09:00", "work_end": "18:00", "lunch_start": "19:00",
                          "lunch_end": "20:00", "weekdays": []})
    assert r.status_code == 422
    form = r.context["hours_form"]
    assert "lunch_start" in form.errors and "weekdays" in form.errors
    cal.refresh_from_db()
    assert cal.work_start == dt.time(8, 30)


def test_working_hours_validation(users):
    cal = sla_setup.default_calendar()
    with pytest.raises(ValidationError) as exc:
        sla_setup.save_hours(actor=users["admin"], calendar=cal, work_start=dt.time(18),
                             work_end=dt.time(9))
    assert "work_end" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        sla_setup.save_hours(actor=users["admin"], calendar=cal, lunch_start=dt.time(12),
                             lunch_end=None)
    assert "lunch_end" in exc.value.message_dict
    sla_setup.save_hours(actor=users["admin"], calendar=cal, lunch_start=None, lunch_end=None)
    assert bcal.add_business_hours(at(2026, 3, 9, 11), 2) == at(2026, 3, 9, 13)
    with pytest.raises(PermissionDenied):
        sla_setup.save_hours(actor=users["service"], calendar=cal, weekdays=[1])


def test_calendar_api(client, users):
    client.force_login(users["service"])
    r = client.get("/api/v1/sla/calendar")
    assert r.status_code == 200 and r.json()["weekdays"] == [1, 2, 3, 4, 5]
    r = client.get("/api/v1/sla/calendar/days", {"year": 2026})
    assert r.status_code == 200
    assert {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"} in r.json()["days"]
    body = {"year": 2027, "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    assert client.post("/api/v1/sla/calendar/days", body,
                       content_type="application/json").status_code == 403
    assert client.put("/api/v1/sla/calendar", {"weekdays": [1]},
                      content_type="application/json").status_code == 403
    client.force_login(users["admin"])
    r = client.post("/api/v1/sla/calendar/days", body, content_type="application/json")
    assert r.status_code == 200 and len(r.json()["days"]) == 1
    bad = {"year": 2027, "days": [{"date": "2027-01-01", "kind": "holiday"},
                                  {"date": "2028-01-01", "kind": "holiday"},
                                  {"date": "2027-01-01", "kind": "workday"}]}
    r = client.post("/api/v1/sla/calendar/days", bad, content_type="application/json")
    assert r.status_code == 422
    problems = r.json()["errors"]["days"]
    assert any(p.startswith("Day 2:") for p in problems)
    assert any(p.startswith("Day 3:") for p in problems)
    r = client.put("/api/v1/sla/calendar", {"work_start": "08:00", "lunch_start": None,
                                            "lunch_end": None},
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["lunch_start"] is None
    assert r.json()["work_start"].startswith("08:00")
    r = client.put("/api/v1/sla/calendar", {"weekdays": [0, 8]},
                   content_type="application/json")
    assert r.status_code == 422 and "weekdays" in r.json()["errors"]
