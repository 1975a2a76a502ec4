"""Business-hours maths over a working calendar, in local time (settings.TIME_ZONE).

A `WorkCalendar` is a plain snapshot of a BusinessCalendar: working hours with an
optional lunch break, the working ISO weekdays, and the dated exceptions of a range
(holiday = day off even on a weekday; workday = make-up working day (调休) even on a
weekend). The functions on it are pure; `load()` reads the database once (two
queries) for the date range a computation needs.

    add_business_hours(start, hours) -> aware datetime
    business_hours_between(a, b) -> float hours (negative when b < a)
    add_business_days(start, days) -> aware datetime (days × the working day's length)

A start outside working time rolls to the next working moment. Aware datetimes in and
out; long spans skip whole weeks without exceptions, so weeks or months cost little.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)
ZERO = dt.timedelta(0)
HOLIDAY, WORKDAY = "holiday", "workday"
# Longest run of days off a calendar is assumed never to exceed when guessing how far
# ahead to load exceptions (the guess grows if it was too short).
MARGIN_DAYS = 21


def local_zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class WorkCalendar:
    work_start: dt.time = dt.time(9, 0)
    work_end: dt.time = dt.time(18, 0)
    lunch_start: dt.time | None = dt.time(12, 0)
    lunch_end: dt.time | None = dt.time(13, 0)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    # date -> HOLIDAY / WORKDAY, for the loaded range only.
    exceptions: dict[dt.date, str] = field(default_factory=dict)
    first: dt.date = dt.date.min  # the loaded range (inclusive)
    last: dt.date = dt.date.max

    # ---------------------------------------------------------------- one day

    def periods(self) -> list[tuple[dt.time, dt.time]]:
        """The working periods of a working day (two with a lunch break)."""
        ls, le = self.lunch_start, self.lunch_end
        if ls and le and self.work_start < ls < le < self.work_end:
            return [(self.work_start, ls), (le, self.work_end)]
        return [(self.work_start, self.work_end)]

    @property
    def day_length(self) -> dt.timedelta:
        return sum((_span(s, e) for s, e in self.periods()), ZERO)

    def is_working_day(self, day: dt.date) -> bool:
        kind = self.exceptions.get(day)
        if kind == HOLIDAY:
            return False
        if kind == WORKDAY:
            return True
        return day.isoweekday() in self.weekdays

    def covers(self, first: dt.date, last: dt.date) -> bool:
        return self.first <= first and last <= self.last

    # ---------------------------------------------------------------- helpers

    def _sorted_exceptions(self) -> list[dt.date]:
        cached = self.__dict__.get("_sorted")
        if cached is None:
            cached = sorted(self.exceptions)
            object.__setattr__(self, "_sorted", cached)
        return cached

    def _next_exception(self, day: dt.date) -> dt.date | None:
        """The first exception on or after `day`."""
        dates = self._sorted_exceptions()
        i = bisect.bisect_left(dates, day)
        return dates[i] if i < len(dates) else None

    def _exceptions_in(self, first: dt.date, last: dt.date) -> list[dt.date]:
        dates = self._sorted_exceptions()
        return dates[bisect.bisect_left(dates, first):bisect.bisect_right(dates, last)]

    def working_days(self, first: dt.date, last: dt.date) -> int:
        """How many working days lie in [first, last] (0 when last < first)."""
        if last < first:
            return 0
        n_days = (last - first).days + 1
        weeks, rest = divmod(n_days, 7)
        count = weeks * len(self.weekdays)
        for i in range(rest):
            if (first + dt.timedelta(days=weeks * 7 + i)).isoweekday() in self.weekdays:
                count += 1
        for day in self._exceptions_in(first, last):
            regular = day.isoweekday() in self.weekdays
            count += self.is_working_day(day) - regular
        return count

    def worked_before(self, moment: dt.datetime) -> dt.timedelta:
        """Working time on moment's day before `moment` (naive local)."""
        if not self.is_working_day(moment.date()):
            return ZERO
        t = moment.time()
        total = ZERO
        for s, e in self.periods():
            if t <= s:
                break
            total += _span(s, min(t, e))
        return total


def _span(start: dt.time, end: dt.time) -> dt.timedelta:
    day = dt.date(2000, 1, 1)
    return dt.datetime.combine(day, end) - dt.datetime.combine(day, start)


def _local(value: dt.datetime) -> dt.datetime:
    """An aware datetime as naive local wall time."""
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return value.astimezone(local_zone()).replace(tzinfo=None)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=local_zone())


def _hours(value: float | Decimal) -> dt.timedelta:
    return dt.timedelta(seconds=float(Decimal(str(value)) * 3600))


# ---------------------------------------------------------------- pure maths (naive local)


def add_local(cal: WorkCalendar, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """`amount` of working time after naive local `start` (rolled to working time)."""
    remaining = max(amount, ZERO)
    day = start.date()
    cursor = start
    week_length = cal.day_length * len(cal.weekdays)
    periods = cal.periods()
    while True:
        at_day_start = cursor <= dt.datetime.combine(day, periods[0][0])
        # Jump whole weeks free of exceptions while more than a week's work remains.
        if at_day_start and week_length > ZERO and remaining > week_length:
            nxt = cal._next_exception(day)
            free_weeks = ((nxt - day).days // 7) if nxt else 10**6
            known_weeks = ((cal.last - day).days + 1) // 7  # exceptions known up to last
            weeks = min(free_weeks, known_weeks, int(remaining / week_length) - 1)
            if weeks > 0:
                day += WEEK * weeks
                remaining -= week_length * weeks
                cursor = dt.datetime.combine(day, dt.time.min)
                continue
        if cal.is_working_day(day):
            for s, e in periods:
                begin = max(cursor, dt.datetime.combine(day, s))
                end = dt.datetime.combine(day, e)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += DAY
        cursor = dt.datetime.combine(day, dt.time.min)
        if day > cal.last or (day - start.date()).days > 366 * 50:
            raise OverflowError("business time beyond the loaded calendar")


def between_local(cal: WorkCalendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Working time in [a, b) between two naive local datetimes (a <= b)."""
    if b <= a:
        return ZERO
    days = cal.working_days(a.date(), b.date() - DAY)
    return days * cal.day_length + cal.worked_before(b) - cal.worked_before(a)


# ---------------------------------------------------------------- loading


def load(first: dt.date, last: dt.date, calendar=None) -> WorkCalendar:
    """A snapshot of `calendar` (default: the default BusinessCalendar; built-in hours
    Mon–Fri 9–18 with lunch 12–13 if there is none) with the exceptions of [first, last]."""
    from .models import BusinessCalendar, CalendarDay

    if calendar is None:
        calendar = (BusinessCalendar.objects.filter(is_default=True).order_by("pk").first()
                    or BusinessCalendar.objects.order_by("pk").first())
    if calendar is None:
        return WorkCalendar(first=first, last=last)
    days = dict(CalendarDay.objects.filter(calendar=calendar, date__range=(first, last))
                .values_list("date", "kind"))
    return WorkCalendar(
        work_start=calendar.work_start, work_end=calendar.work_end,
        lunch_start=calendar.lunch_start, lunch_end=calendar.lunch_end,
        weekdays=frozenset(int(d) for d in (calendar.weekdays or [])),
        exceptions=days, first=first, last=last,
    )


def _guess_last(first: dt.date, amount: dt.timedelta, cal: WorkCalendar | None) -> dt.date:
    per_day = cal.day_length if cal else dt.timedelta(hours=8)
    per_week_days = len(cal.weekdays) if cal else 5
    work_days = math.ceil(amount / per_day) + 1 if per_day > ZERO else 0
    calendar_days = math.ceil(work_days * 7 / max(per_week_days, 1))
    return first + dt.timedelta(days=calendar_days + MARGIN_DAYS)


# ---------------------------------------------------------------- public API (aware)


def add_business_hours(start: dt.datetime, hours: float | Decimal,
                       calendar: WorkCalendar | None = None) -> dt.datetime:
    """The moment `hours` business hours after aware `start`. A start outside working
    time counts from the next working moment. `calendar`: a loaded snapshot to reuse
    (it must cover the range; otherwise the default calendar is loaded)."""
    local = _local(start)
    amount = _hours(hours)
    if calendar is not None and calendar.covers(local.date(), local.date()):
        try:
            return _aware(add_local(calendar, local, amount))
        except OverflowError:
            pass
    last = _guess_last(local.date(), amount, calendar)
    for _attempt in range(6):
        cal = load(local.date(), last)
        if not cal.weekdays and not any(k == WORKDAY for k in cal.exceptions.values()):
            raise ValueError("the business calendar has no working days")
        try:
            return _aware(add_local(cal, local, amount))
        except OverflowError:
            last = local.date() + (last - local.date()) * 4
    raise OverflowError("business time too far ahead")


def business_hours_between(a: dt.datetime, b: dt.datetime,
                           calendar: WorkCalendar | None = None) -> float:
    """Business hours from aware `a` to aware `b` (negative when b is before a)."""
    if b < a:
        return -business_hours_between(b, a, calendar)
    la, lb = _local(a), _local(b)
    cal = calendar if calendar is not None and calendar.covers(la.date(), lb.date()) \
        else load(la.date(), lb.date())
    return between_local(cal, la, lb).total_seconds() / 3600


def add_business_days(start: dt.datetime, days: int,
                      calendar: WorkCalendar | None = None) -> dt.datetime:
    """`days` working days after `start` (the same working time of day)."""
    cal = calendar or load(_local(start).date(), _local(start).date())
    return add_business_hours(start, cal.day_length.total_seconds() / 3600 * days, calendar)
