"""Demo service desk: the default working calendar, loaded once for the demo's span."""

from __future__ import annotations

import bisect
import datetime as dt

YEAR = 365


class WorkCalendar:
    """The default service calendar (servicedesk.calendar: working hours, public holidays,
    make-up working days) loaded once for the demo's span; aware local datetimes.

    `add` answers like servicedesk.calendar.add_business_hours (the tests compare every
    ticket's targets with it) from a table of business seconds before each day, since
    the demo asks it some 50,000 times for 20,000 customers."""

    def __init__(self, today: dt.date):
        from guanxi.servicedesk import calendar

        self._maths = calendar
        self.first = today - dt.timedelta(days=YEAR + 60)
        self.last = today + dt.timedelta(days=YEAR)
        self.snapshot = calendar.load(self.first, self.last)
        self.zone = calendar.local_zone()
        self.periods = [(a.hour * 3600 + a.minute * 60 + a.second,
                         b.hour * 3600 + b.minute * 60 + b.second)
                        for a, b in self.snapshot.periods()]
        day_length = sum(b - a for a, b in self.periods)
        self.before: list[int] = []  # business seconds from `first` to each day's start
        total, day = 0, self.first
        while day <= self.last:
            self.before.append(total)
            total += day_length if self.snapshot.is_working_day(day) else 0
            day += dt.timedelta(days=1)
        self.before.append(total)

    def _position(self, moment: dt.datetime) -> float | None:
        local = moment.astimezone(self.zone)
        k = (local.date() - self.first).days
        if not 0 <= k < len(self.before) - 1:
            return None
        pos = self.before[k]
        if self.before[k + 1] > pos:  # a working day: add the time worked before `moment`
            secs = local.hour * 3600 + local.minute * 60 + local.second + \
                local.microsecond / 1e6
            pos += sum(max(0, min(secs, b) - a) for a, b in self.periods)
        return pos

    def hours_between(self, a: dt.datetime, b: dt.datetime) -> float:
        pa, pb = self._position(a), self._position(b)
        if pa is None or pb is None:
            return self._maths.business_hours_between(a, b, self.snapshot)
        return (pb - pa) / 3600

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` (> 0) business hours after `start`."""
        pos = self._position(start)
        target = None if pos is None else pos + hours * 3600
        if target is None or target > self.before[-1]:
            return self._maths.add_business_hours(start, hours, self.snapshot)
        k = bisect.bisect_left(self.before, target) - 1  # the day the target falls in
        left = target - self.before[k]
        for a, b in self.periods:
            if left <= b - a:
                day = self.first + dt.timedelta(days=k)
                return dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(
                    seconds=a + left)
            left -= b - a
        return self._maths.add_business_hours(start, hours, self.snapshot)

    def is_workday(self, day: dt.date) -> bool:
        return self.snapshot.is_working_day(day)

    def between(self, a: dt.datetime, b: dt.datetime) -> float:
        return self._maths.business_hours_between(a, b, self.snapshot)

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        return self._maths.add_business_days(start, days, self.snapshot)

    def workday(self, day: dt.date, ahead: int = 0) -> dt.date:
        """`day` if it is a working day (else the next one), then `ahead` more."""
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        for _ in range(ahead):
            day += dt.timedelta(days=1)
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
        return day

    def workday_before(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day -= dt.timedelta(days=1)
        return day
