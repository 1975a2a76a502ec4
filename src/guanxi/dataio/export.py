"""Exporting lists as CSV or XLSX: columns, formula neutralisation, writers, audit.

What is exported is decided by the views (`views_export`): the same filtered,
visibility-scoped querysets as the list pages, so a person exports exactly the rows
the list would show them, in the list's order, and nothing else. Every role may
export what it can see (readonly too: `parties.permissions` has no export rule and
reading is what readonly users do); anonymous users are sent to the login page.

Columns (header row in the active language):
- customers: ID, name, short name, type, city, tier, stage, account manager,
  region / office, industry, last contact, updated (what the list shows), then phone
  (readable national form with extension), e-mail, address, website, source, tags,
  external id.
- contacts: ID, name, customer, customer ID, job title, department, mobile, office
  phone (with extension), e-mail, WeChat, primary contact, notes, updated.
- interactions: ID, when, customer, customer ID, contact, type, direction, channel,
  summary, details, outcome, duration (minutes), next step, follow up on,
  follow-up done, logged by.

Formula neutralisation (OWASP "CSV injection"): every text cell that starts with
= + - @ tab or CR, or their full-width forms, also after leading whitespace, gets a
leading apostrophe, in CSV and XLSX alike. XLSX stores text cells explicitly as
strings (never formulas) while numbers and dates keep their types.

CSV is UTF-8 with a byte order mark (Excel on Chinese Windows needs it), streamed
row by row. XLSX is written by openpyxl's write-only workbook to a temporary file
and capped at `XLSX_MAX_DATA_ROWS` data rows; when more rows match, the last row
says so and points to CSV.

Audit: each export writes one AuditEntry (action "export", object_id 0) when it
starts. Its row count is an exact COUNT(*) taken at that moment (for XLSX capped at
what fits in the sheet), so the entry exists even if the download is interrupted.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from guanxi.core.models import AuditAction, AuditEntry
from guanxi.parties.normalize import format_phone
from guanxi.parties.packs import industry_label

# Characters that make a spreadsheet read a cell as a formula (with full-width forms).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Excel: 1,048,576 rows per sheet, one of them the header.
XLSX_MAX_DATA_ROWS = 1_048_575
XLSX_MAX_CELL_TEXT = 32_767
CHUNK_SIZE = 2000
CSV_BATCH = 500
_END = object()


def neutralise(value: Any) -> Any:
    """`value` with a leading apostrophe if it is text a spreadsheet would run as a
    formula; anything that is not text (numbers, dates, None) is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_TRIGGERS) or value.lstrip().startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    label: Any  # lazy translation, rendered when the header row is written
    get: Callable[[Any], Any]


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _str_or_empty(value: Any) -> str:
    return str(value) if value is not None else ""


def _industry(customer) -> str:
    return industry_label(customer.industry) if customer.industry_id else ""


def _tags(customer) -> str:
    return ", ".join(sorted(t.name for t in customer.tags.all()))


CUSTOMER_COLUMNS = (
    Column(gettext_lazy("ID"), lambda c: c.pk),
    Column(gettext_lazy("Name"), lambda c: c.name),
    Column(gettext_lazy("Short name"), lambda c: c.short_name),
    Column(gettext_lazy("Type"), lambda c: c.get_kind_display()),
    Column(gettext_lazy("City"), lambda c: c.city),
    Column(gettext_lazy("Tier"), lambda c: c.tier),
    Column(gettext_lazy("Stage"), lambda c: c.get_stage_display()),
    Column(gettext_lazy("Account manager"), lambda c: _str_or_empty(c.owner)),
    Column(gettext_lazy("Region / office"), lambda c: _str_or_empty(c.team)),
    Column(gettext_lazy("Industry"), _industry),
    Column(gettext_lazy("Last contact"), lambda c: c.last_contact_at),
    Column(gettext_lazy("Updated"), lambda c: c.updated_at),
    Column(gettext_lazy("Phone"), lambda c: format_phone(c.phone, c.phone_ext)),
    Column(gettext_lazy("E-mail"), lambda c: c.email),
    Column(gettext_lazy("Address"), lambda c: c.address),
    Column(gettext_lazy("Website"), lambda c: c.website),
    Column(gettext_lazy("Source"), lambda c: c.get_source_display()),
    Column(gettext_lazy("Tags"), _tags),
    Column(gettext_lazy("External id"), lambda c: c.external_id),
)

CONTACT_COLUMNS = (
    Column(gettext_lazy("ID"), lambda p: p.pk),
    Column(gettext_lazy("Name"), lambda p: p.name),
    Column(gettext_lazy("Customer"), lambda p: p.customer.name),
    Column(gettext_lazy("Customer ID"), lambda p: p.customer_id),
    Column(gettext_lazy("Job title"), lambda p: p.title),
    Column(gettext_lazy("Department"), lambda p: p.department),
    Column(gettext_lazy("Mobile"), lambda p: format_phone(p.mobile)),
    Column(gettext_lazy("Office phone"), lambda p: format_phone(p.phone, p.phone_ext)),
    Column(gettext_lazy("E-mail"), lambda p: p.email),
    Column(gettext_lazy("WeChat"), lambda p: p.wechat),
    Column(gettext_lazy("Primary contact"), lambda p: _yes_no(p.is_primary)),
    Column(gettext_lazy("Notes"), lambda p: p.notes),
    Column(gettext_lazy("Updated"), lambda p: p.updated_at),
)

INTERACTION_COLUMNS = (
    Column(gettext_lazy("ID"), lambda i: i.pk),
    Column(gettext_lazy("When"), lambda i: i.occurred_at),
    Column(gettext_lazy("Customer"), lambda i: i.customer.name),
    Column(gettext_lazy("Customer ID"), lambda i: i.customer_id),
    Column(gettext_lazy("Contact"), lambda i: i.contact.name if i.contact_id else ""),
    Column(gettext_lazy("Type"), lambda i: i.get_kind_display()),
    Column(gettext_lazy("Direction"), lambda i: i.get_direction_display()),
    Column(gettext_lazy("Channel"), lambda i: i.get_channel_display()),
    Column(gettext_lazy("Summary"), lambda i: i.subject),
    Column(gettext_lazy("Details"), lambda i: i.body),
    Column(gettext_lazy("Outcome"), lambda i: i.get_outcome_display()),
    Column(gettext_lazy("Duration (minutes)"), lambda i: i.duration_minutes),
    Column(gettext_lazy("Next step"), lambda i: i.next_step),
    Column(gettext_lazy("Follow up on"), lambda i: i.follow_up_on),
    Column(gettext_lazy("Follow-up done"), lambda i: _yes_no(i.follow_up_done)),
    Column(gettext_lazy("Logged by"), lambda i: _str_or_empty(i.created_by)),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "customers": CUSTOMER_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "interactions": INTERACTION_COLUMNS,
}


def iter_rows(qs: models.QuerySet) -> Iterator[Any]:
    """The rows of `qs` in chunks (prefetches, if any, run once per chunk)."""
    return qs.iterator(chunk_size=CHUNK_SIZE)


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


# ---------------------------------------------------------------- CSV


def csv_text(value: Any) -> str:
    """One CSV field: dates in ISO form (local time, minutes), text neutralised."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


class _Echo:
    """A file-like object whose write() hands back what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Iterable[Column], objects: Iterable[Any]) -> Iterator[str]:
    """The CSV text in pieces: a BOM and the header, then batches of rows."""
    columns = tuple(columns)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralise(str(c.label)) for c in columns])
    batch: list[str] = []
    for obj in objects:
        batch.append(writer.writerow([csv_text(c.get(obj)) for c in columns]))
        if len(batch) >= CSV_BATCH:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _in_language(language: str, pieces: Iterator[str]) -> Iterator[str]:
    """Streamed content is produced after the view returns: keep the request's language."""
    with translation.override(language):
        yield from pieces


def csv_response(columns: Iterable[Column], qs: models.QuerySet,
                 filename: str) -> StreamingHttpResponse:
    language = translation.get_language() or "en"
    response = StreamingHttpResponse(
        _in_language(language, csv_lines(columns, iter_rows(qs))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# ---------------------------------------------------------------- XLSX


def xlsx_cell(ws, value: Any) -> WriteOnlyCell:
    """A cell holding `value`: text as a string cell (never a formula), neutralised and
    cleaned of characters XML cannot hold; numbers and dates typed."""
    if value is None:
        return WriteOnlyCell(ws, value=None)
    if isinstance(value, bool):
        value = _yes_no(value)
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(ws, value=_local(value).replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, int | float | decimal.Decimal):
        return WriteOnlyCell(ws, value=value)
    text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))[:XLSX_MAX_CELL_TEXT]
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    return cell


def write_xlsx(file, columns: Iterable[Column], objects: Iterable[Any], *, title: str,
               total: int | None = None, max_rows: int | None = None) -> int:
    """Write a one-sheet workbook to `file`; returns the number of data rows written.

    When more than `max_rows` objects come, the sheet holds `max_rows - 1` of them and
    a last row saying the export was cut short (`total`, if given, is how many matched).
    """
    columns = tuple(columns)
    max_rows = XLSX_MAX_DATA_ROWS if max_rows is None else max_rows
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = xlsx_cell(ws, str(c.label))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    written = 0
    truncated = False
    rows = iter(objects)
    for obj in rows:
        if written == max_rows - 1 and next(rows, _END) is not _END:
            # One more row would fill the sheet, and yet more follow: say so instead.
            truncated = True
            break
        ws.append([xlsx_cell(ws, c.get(obj)) for c in columns])
        written += 1
    if truncated:
        if total is not None:
            message = _("Export cut short: only the first %(rows)s of %(total)s rows fit in "
                        "an Excel sheet. Export CSV to get every row.") % {
                "rows": written, "total": total}
        else:
            message = _("Export cut short: only the first %(rows)s rows fit in an Excel "
                        "sheet. Export CSV to get every row.") % {"rows": written}
        notice = xlsx_cell(ws, message)
        notice.font = bold
        ws.append([notice])
    wb.save(file)
    return written


def xlsx_response(columns: Iterable[Column], qs: models.QuerySet, filename: str, *,
                  title: str, total: int | None = None) -> FileResponse:
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    try:
        write_xlsx(tmp, columns, iter_rows(qs), title=title, total=total)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return FileResponse(
        tmp, as_attachment=True, filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------- naming and audit


def export_filename(what: str, fmt: str, today: dt.date | None = None) -> str:
    """customers-2026-11-22.csv (the local date)."""
    today = today or timezone.localdate()
    return f"{what}-{today.isoformat()}.{fmt}"


def query_filters(params) -> dict[str, Any]:
    """The query parameters worth recording (no paging, no empty values)."""
    filters: dict[str, Any] = {}
    for key in params:
        if key == "page":
            continue
        values = [v for v in params.getlist(key) if v != ""]
        if values:
            filters[key] = values if len(values) > 1 else values[0]
    return filters


def record_export(*, actor, model: type[models.Model], what: str, fmt: str, rows: int,
                  filters: dict[str, Any]) -> AuditEntry:
    """The audit entry of one export (no single record: object_id 0)."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=AuditAction.EXPORT,
        model=model._meta.label_lower,
        object_id=0,
        object_repr=f"{what}.{fmt}"[:255],
        changes={"format": [None, fmt], "rows": [None, rows], "filters": [None, filters]},
    )
