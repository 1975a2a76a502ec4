"""Business-hours maths: weekends, the 2026 National Day holiday, make-up working days
(调休), the lunch break, starts outside working time, long spans."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from guanxi.servicedesk import calendar as bcal
from guanxi.servicedesk.models import BusinessCalendar, CalendarDay

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


# The seeded default calendar (migration 0002): Mon–Fri 9:00–18:00, lunch 12:00–13:00,
# 2026: 中秋 09-25…27, 国庆 10-01…07 off; 09-20 (Sunday) and 10-10 (Saturday) worked.
pytestmark = pytest.mark.django_db


def test_the_seeded_calendar_is_what_the_tests_assume():
    cal = BusinessCalendar.objects.get(is_default=True)
    assert cal.weekdays == [1, 2, 3, 4, 5]
    assert (cal.work_start, cal.lunch_start, cal.lunch_end, cal.work_end) == (
        dt.time(9), dt.time(12), dt.time(13), dt.time(18))
    days = dict(CalendarDay.objects.filter(calendar=cal, date__year=2026)
                .values_list("date", "kind"))
    assert days[dt.date(2026, 10, 1)] == days[dt.date(2026, 10, 7)] == "holiday"
    assert days[dt.date(2026, 10, 10)] == days[dt.date(2026, 9, 20)] == "workday"


@pytest.mark.parametrize(("start", "hours", "due"), [
    # Within one morning; up to the lunch break exactly.
    (at(2026, 3, 9, 9), 2, at(2026, 3, 9, 11)),
    (at(2026, 3, 9, 9), 3, at(2026, 3, 9, 12)),
    # The lunch break does not count.
    (at(2026, 3, 9, 11), 2, at(2026, 3, 9, 14)),
    (at(2026, 3, 9, 11, 30), 1, at(2026, 3, 9, 13, 30)),
    # A weekend: Friday 16:00 + 4 h = Monday 11:00.
    (at(2026, 3, 6, 16), 4, at(2026, 3, 9, 11)),
    # Starts outside working time roll to the next working moment.
    (at(2026, 3, 9, 7), 1, at(2026, 3, 9, 10)),
    (at(2026, 3, 9, 12, 30), 1, at(2026, 3, 9, 14)),
    (at(2026, 3, 9, 20), 1, at(2026, 3, 10, 10)),
    (at(2026, 3, 7, 10), 1, at(2026, 3, 9, 10)),  # a Saturday
    (at(2026, 3, 9, 20), 0, at(2026, 3, 10, 9)),
    # National Day: Wednesday 09-30 17:00 + 2 h skips 10-01…07 → Thursday 10-08 10:00.
    (at(2026, 9, 30, 17), 2, at(2026, 10, 8, 10)),
    (at(2026, 10, 3, 10), 1, at(2026, 10, 8, 10)),  # filed during the holiday
    # Make-up working day: Friday 10-09 17:00 + 2 h → Saturday 10-10 10:00.
    (at(2026, 10, 9, 17), 2, at(2026, 10, 10, 10)),
    # … and Sunday 09-20 is worked: Friday 09-18 17:00 + 2 h → Sunday 09-20 10:00.
    (at(2026, 9, 18, 17), 2, at(2026, 9, 20, 10)),
    # 中秋 Friday 09-25 is off: Thursday 09-24 17:00 + 2 h → Monday 09-28 10:00.
    (at(2026, 9, 24, 17), 2, at(2026, 9, 28, 10)),
    # Three working days (24 h) across the whole National Day week.
    (at(2026, 9, 29, 10), 24, at(2026, 10, 9, 10)),
    # Fractions of an hour.
    (at(2026, 3, 9, 9), "1.5", at(2026, 3, 9, 10, 30)),
])
def test_add_business_hours(start, hours, due):
    assert bcal.add_business_hours(start, hours) == due


def test_add_business_hours_accepts_any_time_zone_and_returns_local():
    utc_start = at(2026, 3, 6, 16).astimezone(dt.UTC)
    due = bcal.add_business_hours(utc_start, 4)
    assert due == at(2026, 3, 9, 11)
    assert due.utcoffset() == dt.timedelta(hours=8)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        bcal.add_business_hours(dt.datetime(2026, 3, 9, 9), 1)


@pytest.mark.parametrize(("a", "b", "hours"), [
    (at(2026, 3, 6, 16), at(2026, 3, 9, 11), 4),
    (at(2026, 3, 9, 11), at(2026, 3, 9, 14), 2),
    (at(2026, 3, 9, 12, 15), at(2026, 3, 9, 12, 45), 0),
    (at(2026, 3, 7, 8), at(2026, 3, 8, 23), 0),  # a whole weekend
    (at(2026, 9, 30, 17), at(2026, 10, 8, 10), 2),
    (at(2026, 10, 9, 17), at(2026, 10, 10, 10), 2),
    (at(2026, 9, 18, 17), at(2026, 9, 20, 10), 2),
    (at(2026, 9, 28, 9), at(2026, 10, 12, 9), 6 * 8),  # 09-28…30 + 10-08…10
    (at(2026, 3, 9, 14), at(2026, 3, 9, 11), -2),  # reversed: negative
])
def test_business_hours_between(a, b, hours):
    assert bcal.business_hours_between(a, b) == pytest.approx(hours)


def test_long_spans_cost_two_queries(django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        due = bcal.add_business_hours(at(2026, 1, 5, 9), 8 * 200)
    # 200 working days from Monday 2026-01-05 with 2026's holidays and make-up days.
    cal = bcal.load(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert cal.working_days(dt.date(2026, 1, 5), timezone_date(due)) == 200
    with django_assert_max_num_queries(2):
        assert bcal.business_hours_between(at(2026, 1, 5, 9), due) == pytest.approx(1600)


def timezone_date(value: dt.datetime) -> dt.date:
    return value.astimezone(SH).date()


def test_a_calendar_snapshot_can_be_reused_without_queries(django_assert_num_queries):
    cal = bcal.load(dt.date(2026, 9, 1), dt.date(2026, 12, 31))
    with django_assert_num_queries(0):
        assert bcal.add_business_hours(at(2026, 9, 30, 17), 2, cal) == at(2026, 10, 8, 10)
        assert bcal.business_hours_between(at(2026, 9, 30, 17), at(2026, 10, 8, 10),
                                           cal) == 2


def test_add_business_days_keeps_the_time_of_day():
    # Friday 2026-09-18 15:00 + 3 business days: Sun 09-20 (make-up), Mon 21, Tue 22.
    assert bcal.add_business_days(at(2026, 9, 18, 15), 3) == at(2026, 9, 22, 15)


def test_a_calendar_edited_to_a_six_day_week_without_lunch():
    cal = BusinessCalendar.objects.get(is_default=True)
    cal.weekdays, cal.lunch_start, cal.lunch_end = [1, 2, 3, 4, 5, 6], None, None
    cal.save()
    assert bcal.add_business_hours(at(2026, 3, 6, 16), 4) == at(2026, 3, 7, 11)
    assert bcal.add_business_hours(at(2026, 3, 9, 11), 2) == at(2026, 3, 9, 13)


# ---------------------------------------------------------------- pure maths vs brute force


def _brute_add(cal: bcal.WorkCalendar, start: dt.datetime, minutes: int) -> dt.datetime:
    """Walk minute by minute (reference implementation)."""
    t = start.replace(second=0, microsecond=0)

    def working(m: dt.datetime) -> bool:
        return cal.is_working_day(m.date()) and any(
            dt.datetime.combine(m.date(), s) <= m < dt.datetime.combine(m.date(), e)
            for s, e in cal.periods())

    while not working(t):
        t += dt.timedelta(minutes=1)
    left = minutes
    while left:
        if working(t):
            left -= 1
        t += dt.timedelta(minutes=1)
        if left == 0:
            return t
    return t


def _brute_between(cal, a: dt.datetime, b: dt.datetime) -> int:
    n, t = 0, a
    while t < b:
        if cal.is_working_day(t.date()) and any(
                dt.datetime.combine(t.date(), s) <= t < dt.datetime.combine(t.date(), e)
                for s, e in cal.periods()):
            n += 1
        t += dt.timedelta(minutes=1)
    return n


def test_random_spans_agree_with_a_minute_by_minute_walk():
    rng = random.Random(20261001)
    exceptions = {dt.date(2026, 10, d): bcal.HOLIDAY for d in range(1, 8)}
    exceptions |= {dt.date(2026, 9, 20): bcal.WORKDAY, dt.date(2026, 10, 10): bcal.WORKDAY,
                   dt.date(2026, 11, 11): bcal.HOLIDAY}
    cal = bcal.WorkCalendar(exceptions=exceptions)
    for _ in range(40):
        start = dt.datetime(2026, 9, 1) + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        minutes = rng.choice([0, 1, 59, 61, 180, 481, 960, 2400, 4800, 9000])
        due = bcal.add_local(cal, start, dt.timedelta(minutes=minutes))
        if minutes:
            assert due == _brute_add(cal, start, minutes), (start, minutes)
        assert bcal.between_local(cal, start, due) == dt.timedelta(minutes=minutes) or (
            minutes == 0)
        end = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 12))
        assert bcal.between_local(cal, start, end) == dt.timedelta(
            minutes=_brute_between(cal, start, end)), (start, end)


def test_week_jumps_stop_at_exceptions():
    # 10 weeks of work from Monday 2026-08-31 must not jump over National Day.
    cal = bcal.WorkCalendar(exceptions={dt.date(2026, 10, d): bcal.HOLIDAY for d in range(1, 8)})
    due = bcal.add_local(cal, dt.datetime(2026, 8, 31, 9), dt.timedelta(hours=8 * 50))
    # National Day costs five working days (10-01, 02, 05, 06, 07): one week later.
    assert cal.working_days(dt.date(2026, 8, 31), due.date()) == 50
    assert due == dt.datetime(2026, 11, 13, 18)
    plain = bcal.WorkCalendar()
    assert bcal.add_local(plain, dt.datetime(2026, 8, 31, 9), dt.timedelta(hours=8 * 50)) == \
        dt.datetime(2026, 11, 6, 18)
