"""Reading the spreadsheets SMEs really have: CSV in any Chinese encoding, or XLSX.

Files are streamed row by row (never read whole): a CSV through a text decoder, an
XLSX through openpyxl's read-only mode. Every cell comes out as a string with
full-width characters and odd spaces normalised (NFKC, trimmed); rows with nothing
in them are skipped but keep their numbers, so row N in a message is line N of the
file as the user sees it in Excel (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

SAMPLE_BYTES = 64 * 1024
# Encodings a user may pick (the detector chooses among the same ones).
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "gb18030": "GB18030 / GBK / GB2312",
    "cp950": "Big5",
    "utf-16": "UTF-16",
}
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "big5": "cp950",
            "big5hkscs": "cp950", "utf8": "utf-8", "utf_8": "utf-8", "utf_8_sig": "utf-8-sig",
            "utf_16": "utf-16"}

csv.field_size_limit(10 * 1024 * 1024)


class ReadError(Exception):
    """The file can't be read at all (not a table, wrong encoding, damaged)."""


def canonical_encoding(name: str) -> str:
    key = (name or "").strip().lower().replace("-", "_")
    key = {"utf_8": "utf-8", "utf_8_sig": "utf-8-sig", "utf_16": "utf-16"}.get(key, key)
    enc = _ALIASES.get(key, key)
    try:
        codecs.lookup(enc)
    except LookupError as exc:
        raise ReadError(_("Unknown encoding “%(name)s”.") % {"name": name}) from exc
    return enc


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16, GB18030 (GBK/GB2312) or Big5 (cp950)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "cp950", "utf_8"]).best()
    if best is not None and best.encoding in ("big5", "cp950", "big5hkscs"):
        return "cp950"
    return "gb18030"


def clean_cell(value) -> str:
    """A cell as text: numbers without a spurious ".0", dates ISO, NFKC, trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    if isinstance(value, dt.datetime):
        return (value.date().isoformat() if value.time() == dt.time(0)
                else value.isoformat(sep=" ", timespec="minutes"))
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.isascii():
        return text.strip()
    # NFKC: full-width letters/digits/punctuation and the ideographic space → ASCII.
    return unicodedata.normalize("NFKC", text).replace("\u00a0", " ").strip()


@dataclass
class Table:
    """An open table: headers and an iterator of (row number, cells)."""

    path: Path
    format: str  # "csv" or "xlsx"
    encoding: str = ""
    headers: list[str] = field(default_factory=list)
    _rows: Iterator | None = None
    _close: list = field(default_factory=list)
    size: int = 0
    total_rows: int = 0  # XLSX: rows below the header as the sheet declares them (0: unknown)

    def rows(self) -> Iterator[tuple[int, list[str], list[str]]]:
        """(row number, cleaned cells, original cells) for every non-empty data row;
        the header is row 1."""
        assert self._rows is not None
        return self._rows

    def position(self) -> int:
        """Bytes read so far (CSV) — for a progress estimate before the end."""
        for f in self._close:
            if hasattr(f, "buffer"):
                try:
                    return f.buffer.tell()
                except (OSError, ValueError):
                    return 0
        return 0

    def close(self) -> None:
        for f in self._close:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def file_format(path: Path | str, original_name: str = "") -> str:
    name = (original_name or str(path)).lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith(".xls"):
        raise ReadError(_("Old Excel files (.xls) can't be read: save the sheet as .xlsx or "
                          ".csv and try again."))
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        return "xlsx"
    return "csv"


def open_table(path: Path | str, *, encoding: str | None = None, sheet: str | None = None,
               original_name: str = "") -> Table:
    path = Path(path)
    fmt = file_format(path, original_name)
    table = Table(path=path, format=fmt, size=os.path.getsize(path))
    if fmt == "xlsx":
        _open_xlsx(table, sheet)
    else:
        _open_csv(table, encoding)
    return table


def _numbered(rows, start: int, text: bool) -> Iterator[tuple[int, list[str], list[str]]]:
    """(row number, cleaned cells, cells as they were) of every non-empty row."""
    n = start
    for raw in rows:
        n += 1
        cells = [clean_cell(v) for v in raw]
        if any(cells):
            yield n, cells, (raw if text else cells)


def _open_csv(table: Table, encoding: str | None) -> None:
    with open(table.path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    enc = canonical_encoding(encoding) if encoding else detect_encoding(sample)
    if enc == "utf-8" and sample.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    table.encoding = enc
    text = open(table.path, encoding=enc, newline="", errors="strict")  # noqa: SIM115
    table._close.append(text)
    try:
        head = text.read(SAMPLE_BYTES // 2)
    except UnicodeDecodeError as exc:
        table.close()
        raise ReadError(_("The file is not in %(encoding)s: choose its encoding and try again.")
                        % {"encoding": ENCODINGS.get(enc, enc)}) from exc
    try:
        dialect = csv.Sniffer().sniff(head.split("\n", 1)[0] or head, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter)
    header_no, table.headers = _header(reader)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from _numbered(reader, header_no, True)
        except UnicodeDecodeError as exc:
            raise ReadError(
                _("Row %(row)s is not in %(encoding)s: choose the file's encoding and try "
                  "again.") % {"row": reader.line_num + 1, "encoding": ENCODINGS.get(enc, enc)}
            ) from exc
        except csv.Error as exc:
            raise ReadError(_("Row %(row)s can't be read: %(reason)s")
                            % {"row": reader.line_num, "reason": exc}) from exc

    table._rows = rows()


def _open_xlsx(table: Table, sheet: str | None) -> None:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(table.path, read_only=True, data_only=True)
    except Exception as exc:
        raise ReadError(_("This is not an Excel (.xlsx) file we can read: %(reason)s")
                        % {"reason": exc}) from exc
    table._close.append(wb)
    if sheet:
        if sheet not in wb.sheetnames:
            raise ReadError(_("The workbook has no sheet “%(sheet)s”.") % {"sheet": sheet})
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    table.encoding = ""
    try:
        table.total_rows = max(0, int(ws.max_row or 0) - 1)
    except (TypeError, ValueError):
        table.total_rows = 0
    it = ws.iter_rows(values_only=True)
    header_no, table.headers = _header(it)
    table._rows = _numbered(it, header_no, False)


def _header(rows) -> tuple[int, list[str]]:
    """The first non-empty row of `rows` (consumed up to it): (its number, its headers).
    Empty cells at the end are dropped; duplicate or empty names get a suffix."""
    number = 0
    headers: list[str] = []
    for raw in rows:
        number += 1
        headers = [clean_cell(v) for v in raw]
        if any(headers):
            break
    while headers and not headers[-1]:
        headers.pop()
    return number, _dedupe_headers(headers)


def _dedupe_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        h = h or _("Column %(n)s") % {"n": i + 1}
        if h in seen:
            seen[h] += 1
            h = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
        out.append(h)
    return out


@dataclass
class Sniff:
    format: str
    encoding: str
    headers: list[str]
    sample: list[tuple[int, list[str], list[str]]]
    sheets: list[str]


def sniff(path: Path | str, *, encoding: str | None = None, sheet: str | None = None,
          original_name: str = "", rows: int = 10) -> Sniff:
    """What the upload wizard shows: format, encoding, headers and the first rows."""
    with open_table(path, encoding=encoding, sheet=sheet, original_name=original_name) as t:
        sample = []
        for item in t.rows():
            sample.append(item)
            if len(sample) >= rows:
                break
        sheets = []
        if t.format == "xlsx":
            sheets = list(t._close[0].sheetnames)
        return Sniff(t.format, t.encoding, t.headers, sample, sheets)


def write_rejects(path: Path, headers: list[str], rows: list[tuple[list[str], str]],
                  append: bool = False) -> None:
    """The rejected rows, unchanged, with a reason column (UTF-8 with BOM for Excel)."""
    new = not append or not path.exists()
    with open(path, "a" if append else "w", encoding="utf-8-sig" if new else "utf-8",
              newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow([*headers, _("Reason")])
        for cells, reason in rows:
            w.writerow([*cells, reason])


__all__ = [
    "ENCODINGS",
    "ReadError",
    "Sniff",
    "Table",
    "clean_cell",
    "detect_encoding",
    "open_table",
    "sniff",
    "write_rejects",
]
