"""Demo service desk: field visits booked for a ticket, with their reports."""

from __future__ import annotations

import datetime as dt

from .service_objects import GenState, _Ticket, _Visit
from .service_vocab import PARTS, VISIT_FOLLOW_UP, VISIT_INSTRUCTIONS, VISIT_WORK


class FieldVisits(GenState):
    """ServiceGen's part that books the technicians' visits."""

    def _visits(self, t: _Ticket, responded: dt.datetime, contact, rng,
                visit_day: dt.date | None, tech: int | None) -> dt.datetime | None:
        """Book the visits; return when the last one resolved the ticket (None: open)."""
        rnd, cal, now = rng.random, self.cal, self.now
        tech = tech or (t.assignee if t.assignee in self.all_techs else None)
        if tech is None:
            techs = self.sk.technicians.get(t.customer.region) or sorted(self.all_techs)
            tech = techs[int(rnd() * len(techs))] if techs else None
            if tech is None:
                return cal.add(t.created, 16)
        if t.queue == "engineering":
            t.assignee = tech
        base = responded.astimezone(self.zone)
        if visit_day:
            day = visit_day
        elif t.priority == "urgent" and base.hour < 14 and cal.is_workday(base.date()):
            day = base.date()  # the same afternoon
        elif t.priority in ("urgent", "high"):
            day = cal.workday(base.date(), 1 + (rnd() < 0.25))
        else:
            day = cal.workday(base.date(), 1 + int(rnd() * 3))
        who = contact[1] if contact else "现场负责人"
        booked_by = self.sk.managers.get("engineering") if rnd() < 0.5 else tech
        for n in range(3):
            slot = (9 * 60, 10 * 60, 13 * 60 + 30, 14 * 60 + 30, 15 * 60 + 30)[int(rnd() * 5)]
            if day == base.date():
                slot = max(slot, base.hour * 60 + base.minute + 90)
                slot = min(slot, 16 * 60)
            start = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(minutes=slot)
            end = start + dt.timedelta(minutes=120 + 30 * int(rnd() * 5))
            v = _Visit(tech, start, end, t.customer.address[:300], "scheduled",
                       VISIT_INSTRUCTIONS[int(rnd() * len(VISIT_INSTRUCTIONS))].format(
                           part=PARTS[int(rnd() * len(PARTS))], contact=who),
                       created_by=booked_by, created=min(responded, now - dt.timedelta(
                           minutes=1)) if n == 0 else None)
            t.visits.append(v)
            if end >= now:
                return None
            if rnd() < 0.03:  # the customer postponed: booked again for the next day
                v.status = "cancelled"
                v.created = v.created or start - dt.timedelta(days=1)
                day = cal.workday(day, 1)
                continue
            v.status = "done"
            v.completed = min(end + dt.timedelta(minutes=int(rnd() * 40) - 15),
                              now - dt.timedelta(minutes=1))
            v.created = v.created or start - dt.timedelta(days=2)
            v.minutes = 60 + 15 * int(rnd() * 13)
            v.travel = 30 + 15 * int(rnd() * 9)
            v.signed_off_by = who
            works = VISIT_WORK.get(t.type) or VISIT_WORK["equipment_fault"]
            v.work_done = works[int(rnd() * len(works))].format(n=10 + int(rnd() * 30))
            if t.type != "complaint":
                v.parts = [{"part": p, "quantity": 1 + int(rnd() * 3)}
                           for p in rng.sample(PARTS, 1 + int(rnd() * 2))]
            if n == 0 and rnd() < 0.15:
                v.outcome = "follow_up"
                v.work_done += VISIT_FOLLOW_UP[int(rnd() * len(VISIT_FOLLOW_UP))]
                day = cal.workday(day, 2 + int(rnd() * 4))
                continue
            v.outcome = "resolved"
            return v.completed + dt.timedelta(minutes=15 + int(rnd() * 75))
        return None
