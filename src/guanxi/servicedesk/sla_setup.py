"""Writes of the SLA set-up (administrators): the policy grid (customer tier × priority)
and the business calendar (working hours, and per year the public holidays and make-up
working days). Permission-checked before any write, validated (ValidationError keyed
by field; calendar lines named by their line number), atomic and audited.

New targets apply to tickets started (or re-prioritised) afterwards; the due times of
tickets already open are kept.

    policy_grid() -> dict[(tier, priority), SlaPolicy | None]
    save_policies(*, actor, cells) -> int                  cells: list of dicts
    default_calendar() -> BusinessCalendar
    save_hours(*, actor, calendar, **hours) -> BusinessCalendar
    parse_days(text, year) -> list[DayEntry]               "2027-01-01 holiday 元旦"
    set_year_days(*, actor, calendar, year, days) -> int   replaces that year's list
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.models import AuditAction

from .models import BusinessCalendar, CalendarDay, DayKind, Priority, SlaPolicy
from .permissions import can_manage_service_setup

TIERS = ["A", "B", "C", ""]  # "" = any other tier (the fallback row, always complete)
POLICY_FIELDS = ["first_response_hours", "resolution_hours", "warn_percent", "active"]
MAX_HOURS = Decimal("9999.99")
HOURS_FIELDS = ["work_start", "work_end", "lunch_start", "lunch_end", "weekdays"]


def _require(actor) -> None:
    if not can_manage_service_setup(actor):
        raise PermissionDenied(_("Only administrators change SLA policies and the calendar."))


def tier_label(tier: str) -> str:
    return _("Tier %(tier)s") % {"tier": tier} if tier else _("Any tier")


def cell_key(tier: str, priority: str, field: str = "") -> str:
    """The key of a grid cell's field in forms and error dicts: "A.high.warn_percent"."""
    key = f"{tier or 'any'}.{priority}"
    return f"{key}.{field}" if field else key


# ---------------------------------------------------------------- policies


def policy_grid() -> dict[tuple[str, str], SlaPolicy | None]:
    found = {(p.tier, p.priority): p for p in SlaPolicy.objects.all()}
    return {(t, p): found.get((t, p)) for t in TIERS for p in Priority.values}


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _clean_cell(cell: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any] | None:
    tier, priority = cell.get("tier") or "", cell.get("priority")
    where = f"{tier_label(tier)}, {Priority(priority).label}"
    key = lambda f: cell_key(tier, priority, f)
    response = _decimal(cell.get("first_response_hours"))
    resolution = _decimal(cell.get("resolution_hours"))
    warn = cell.get("warn_percent")
    warn = 75 if warn in (None, "") else warn
    ok = True
    for field, value in (("first_response_hours", response), ("resolution_hours", resolution)):
        if value is None or value <= 0 or value > MAX_HOURS or value != value.quantize(
                Decimal("0.01")):
            errors[key(field)] = [_("%(where)s: give a number of business hours above 0 "
                                    "(at most 2 decimals).") % {"where": where}]
            ok = False
    try:
        warn = int(warn)
    except (TypeError, ValueError):
        warn = -1
    if not 1 <= warn <= 99:
        errors[key("warn_percent")] = [_("%(where)s: warn at 1–99 %% of the target.")
                                       % {"where": where}]
        ok = False
    if ok and resolution < response:
        errors[key("resolution_hours")] = [
            _("%(where)s: the resolution target cannot be shorter than the first "
              "response target.") % {"where": where}]
        ok = False
    if not ok:
        return None
    return {"first_response_hours": response, "resolution_hours": resolution,
            "warn_percent": warn, "active": bool(cell.get("active", True))}


@transaction.atomic
def save_policies(*, actor, cells: list[dict[str, Any]]) -> int:
    """Set the grid. `cells`: {tier, priority, first_response_hours, resolution_hours,
    warn_percent, active}. Every "any tier" cell is required; a tier-specific cell that
    is left out is switched off (tickets of that tier then use the "any tier" target).
    Returns how many policies changed."""
    _require(actor)
    errors: dict[str, list[str]] = {}
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in cells:
        tier, priority = cell.get("tier") or "", cell.get("priority")
        if tier not in TIERS or priority not in Priority.values:
            errors[cell_key(tier, str(priority))] = [
                _("Unknown tier or priority: %(tier)s / %(priority)s.")
                % {"tier": tier or "*", "priority": priority}]
            continue
        if (tier, priority) in wanted:
            errors[cell_key(tier, priority)] = [_("This cell is given twice.")]
            continue
        clean = _clean_cell(cell, errors)
        if clean is not None:
            wanted[(tier, priority)] = clean
    for priority in Priority.values:
        if ("", priority) not in wanted and cell_key("", priority, "first_response_hours") \
                not in errors and cell_key("", priority, "resolution_hours") not in errors:
            errors[cell_key("", priority, "first_response_hours")] = [
                _("%(where)s: the “any tier” targets are required.")
                % {"where": f"{tier_label('')}, {Priority(priority).label}"}]
    if errors:
        raise ValidationError(errors)
    changed = 0
    for (tier, priority), policy in policy_grid().items():
        data = wanted.get((tier, priority))
        if policy is None and data is None:
            continue
        if policy is None:
            policy = SlaPolicy.objects.create(tier=tier, priority=priority, **data)
            audit.record_create(actor=actor, obj=policy, fields=POLICY_FIELDS)
            changed += 1
            continue
        data = data or {"active": False}
        before = audit.snapshot(policy, POLICY_FIELDS)
        for k, v in data.items():
            setattr(policy, k, v)
        changes = audit.diff(before, audit.snapshot(policy, POLICY_FIELDS))
        if changes:
            policy.save()
            audit.record(actor=actor, action=AuditAction.UPDATE, obj=policy, changes=changes)
            changed += 1
    return changed


# ---------------------------------------------------------------- calendar: hours


def default_calendar() -> BusinessCalendar:
    calendar = (BusinessCalendar.objects.filter(is_default=True).order_by("pk").first()
                or BusinessCalendar.objects.order_by("pk").first())
    if calendar is None:
        calendar = BusinessCalendar.objects.create(name=_("Working calendar"), is_default=True,
                                                   weekdays=[1, 2, 3, 4, 5])
    return calendar


def _hours_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    ws, we, ls, le = (data.get(k) for k in ("work_start", "work_end", "lunch_start",
                                            "lunch_end"))
    if ws is None:
        errors["work_start"] = [_("Say when work starts.")]
    if we is None:
        errors["work_end"] = [_("Say when work ends.")]
    elif ws is not None and we <= ws:
        errors["work_end"] = [_("Work must end after it starts.")]
    if (ls is None) != (le is None):
        errors["lunch_end" if le is None else "lunch_start"] = [
            _("Give both the start and the end of the lunch break, or neither.")]
    elif ls is not None and le is not None:
        if le <= ls:
            errors["lunch_end"] = [_("The lunch break must end after it starts.")]
        elif ws is not None and we is not None and not (ws < ls and le < we):
            errors["lunch_start"] = [_("The lunch break must lie within working hours.")]
    days = data.get("weekdays")
    if not isinstance(days, list | tuple) or not days or any(
            not isinstance(d, int) or not 1 <= d <= 7 for d in days):
        errors["weekdays"] = [_("Choose at least one working weekday (1 = Monday … "
                                "7 = Sunday).")]
    return errors


@transaction.atomic
def save_hours(*, actor, calendar: BusinessCalendar, **data: Any) -> BusinessCalendar:
    """Change working hours, the lunch break (both None: no break) and the weekdays."""
    _require(actor)
    unknown = set(data) - set(HOURS_FIELDS) - {"name"}
    if unknown:
        raise ValidationError({k: [_("Unknown field.")] for k in sorted(unknown)})
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    merged = {k: getattr(calendar, k) for k in HOURS_FIELDS} | data
    if "weekdays" in data and isinstance(data["weekdays"], list | tuple):
        try:
            merged["weekdays"] = sorted({int(d) for d in data["weekdays"]})
        except (TypeError, ValueError):
            merged["weekdays"] = None
    errors = _hours_errors(merged)
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = [_("Give the calendar a name.")]
    if errors:
        raise ValidationError(errors)
    fields = HOURS_FIELDS + ["name"]
    before = audit.snapshot(calendar, fields)
    for k, v in merged.items():
        setattr(calendar, k, v)
    if "name" in data:
        calendar.name = data["name"].strip()
    changes = audit.diff(before, audit.snapshot(calendar, fields))
    if changes:
        calendar.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=calendar, changes=changes)
    return calendar


# ---------------------------------------------------------------- calendar: dated days


class DayEntry(NamedTuple):
    date: dt.date
    kind: str
    name: str


KIND_WORDS = {
    "holiday": DayKind.HOLIDAY, "off": DayKind.HOLIDAY, "休": DayKind.HOLIDAY,
    "假": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY, "节假日": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY, "work": DayKind.WORKDAY, "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY, "调休": DayKind.WORKDAY, "补班": DayKind.WORKDAY,
}
_DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
LINE = re.compile(rf"^(?P<first>{_DATE})(?:\s*(?:\.\.|~|～|—|至)\s*(?P<last>{_DATE}))?"
                  rf"[\s,，;；]+(?P<kind>\S+?)(?:[\s,，;；]+(?P<name>.*))?$")


def _date(text: str) -> dt.date:
    y, m, d = re.split(r"[-/.]", text)
    return dt.date(int(y), int(m), int(d))


def day_lines(days: list[DayEntry] | list[CalendarDay]) -> str:
    """The editable text of a year's days, one "date kind name" a line."""
    return "\n".join(f"{d.date.isoformat()} {d.kind} {d.name}".rstrip() for d in days)


def parse_days(text: str, year: int) -> list[DayEntry]:
    """Parse pasted lines: `2027-01-01 holiday 元旦`, `2027-02-07 workday 春节调休`, or a
    range `2027-01-01..2027-01-03 holiday 元旦` (also `~`, `至`). Kinds: holiday/off/休/假,
    workday/work/班/上班/补班. Blank lines and `#` comments are skipped. Every problem
    is reported with its line number (ValidationError on "days")."""
    problems: list[str] = []
    entries: list[tuple[int, DayEntry]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().replace("\u3000", " ")
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if m is None:
            problems.append(_("Line %(n)d: write “date kind name”, e.g. “%(year)d-01-01 "
                              "holiday 元旦”.") % {"n": number, "year": year})
            continue
        kind = KIND_WORDS.get(m["kind"].lower())
        if kind is None:
            problems.append(_("Line %(n)d: “%(kind)s” is not a kind; use holiday or "
                              "workday.") % {"n": number, "kind": m["kind"]})
            continue
        try:
            first = _date(m["first"])
            last = _date(m["last"]) if m["last"] else first
        except ValueError:
            problems.append(_("Line %(n)d: there is no such date.") % {"n": number})
            continue
        if last < first or (last - first).days > 31:
            problems.append(_("Line %(n)d: the range must run forward and span at most a "
                              "month.") % {"n": number})
            continue
        name = (m["name"] or "").strip()
        day = first
        while day <= last:
            entries.append((number, DayEntry(day, kind, name)))
            day += dt.timedelta(days=1)
    problems += _entry_problems(entries, year, _("Line %(n)d"))
    if problems:
        raise ValidationError({"days": problems})
    return [e for _n, e in entries]


def _entry_problems(entries: list[tuple[int, DayEntry]], year: int, label: str) -> list[str]:
    problems: list[str] = []
    seen: dict[dt.date, int] = {}
    for number, e in entries:
        where = label % {"n": number}
        if e.date.year != year:
            problems.append(_("%(where)s: %(date)s is not in %(year)d.")
                            % {"where": where, "date": e.date.isoformat(), "year": year})
        if e.kind not in DayKind.values:
            problems.append(_("%(where)s: “%(kind)s” is not a kind; use holiday or workday.")
                            % {"where": where, "kind": e.kind})
        if len(e.name) > 100:
            problems.append(_("%(where)s: the name is longer than 100 characters.")
                            % {"where": where})
        if e.date in seen:
            problems.append(_("%(where)s: %(date)s is already given on %(other)s.")
                            % {"where": where, "date": e.date.isoformat(),
                               "other": label % {"n": seen[e.date]}})
        else:
            seen[e.date] = number
    return problems


@transaction.atomic
def set_year_days(*, actor, calendar: BusinessCalendar, year: int,
                  days: list[DayEntry]) -> int:
    """Replace the holidays and make-up working days of `year` with `days` (entries
    from `parse_days`, or built by the API). Returns how many days the year has."""
    _require(actor)
    if not 1900 <= int(year) <= 2200:
        raise ValidationError({"year": [_("Choose a year between 1900 and 2200.")]})
    entries = [DayEntry(e.date, e.kind, (e.name or "").strip()) for e in days]
    problems = _entry_problems(list(enumerate(entries, start=1)), year, _("Day %(n)d"))
    if problems:
        raise ValidationError({"days": problems})
    existing = list(CalendarDay.objects.select_for_update().filter(
        calendar=calendar, date__year=year).order_by("date"))
    before = day_lines(existing)
    entries.sort(key=lambda e: e.date)
    after = day_lines(entries)
    if before != after:
        CalendarDay.objects.filter(calendar=calendar, date__year=year).delete()
        CalendarDay.objects.bulk_create([CalendarDay(calendar=calendar, date=e.date,
                                                     kind=e.kind, name=e.name)
                                         for e in entries])
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=calendar,
                     changes={f"days {year}": [before.splitlines(), after.splitlines()]})
    return len(entries)
