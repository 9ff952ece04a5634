"""JAICP Reporter CSV and XLSX exports → messages.

JAICP's exports (Analytics → Dialogs → export, or the async reports API) are ``fileType`` CSV or
XLSX with ``withHeader`` (default on), ``delimiter`` (default ``,``) and ``dateTimeFormat``
(default ``yyyy-MM-dd HH:mm:ss.SSS``, a local time without zone: pass ``tz``). Their column
layout is undocumented, so headers are matched by name, English or Russian, case and spacing
ignored (see ``COLUMN_ALIASES``); a file without a header is read in ``HEADERLESS_COLUMNS``
order unless ``columns=`` says otherwise. Each row is then read like a Reporter message
(see :mod:`jivo_ops.logs.sources.reporter`); an optional ``responseData`` column holding JSON gives the
bot's replies, the ``switch`` among them.

Encoding: UTF-8 (with or without BOM), falling back to cp1251 (Excel on Russian Windows).
A CSV whose header is this package's own schema (``ts, chat, author, kind, …``) is read back as is.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import Sequence

from ...errors import SourceError
from ...files import loads_json
from .._build import Builder, Part, decode_text
from .reporter import add_reporter_message
from ..schema import java_date_format

__all__ = ["load_csv_export", "load_xlsx_export", "COLUMN_ALIASES", "HEADERLESS_COLUMNS", "DEFAULT_DATE_FORMAT"]

DEFAULT_DATE_FORMAT = "yyyy-MM-dd HH:mm:ss.SSS"
HEADERLESS_COLUMNS = ("timestamp", "clientId", "sessionId", "questionId", "question", "textAnswer",
                      "event", "isLivechat", "operator", "responseData")

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "date", "datetime", "time", "messagetime", "дата", "время", "датаивремя",
                  "времясообщения", "датасообщения"),
    "clientId": ("clientid", "client", "клиент", "idклиента", "идентификаторклиента"),
    "sessionId": ("sessionid", "session", "сессия", "idсессии", "идентификаторсессии"),
    "questionId": ("questionid", "messageid", "idвопроса", "idсообщения"),
    "question": ("question", "request", "query", "clientmessage", "запрос", "вопрос", "сообщениеклиента",
                 "запросклиента"),
    "textAnswer": ("textanswer", "answer", "response", "botanswer", "ответ", "ответбота"),
    "event": ("event", "событие"),
    "isLivechat": ("islivechat", "livechat", "живойчат"),
    "operator": ("operator", "operatorname", "agent", "оператор", "имяоператора"),
    "responseData": ("responsedata", "replies", "данныеответа"),
    "exception": ("exception", "error", "ошибка"),
}
_LOOKUP = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
_SCHEMA_HEADER = {"ts", "chat", "author", "kind"}
_TRUE = {"true", "1", "yes", "да", "y"}


def _norm(header: object) -> str:
    return re.sub(r"[^0-9a-zа-яё]", "", str(header or "").strip().lower())


def _header_map(cells: Sequence[object]) -> dict[str, int] | None:
    """field name → column index when the row is a header (≥ 2 known names), else None."""
    found = {}
    for i, cell in enumerate(cells):
        name = _LOOKUP.get(_norm(cell))
        if name and name not in found:
            found[name] = i
    return found if len(found) >= 2 else None


def _rows_to_part(rows, *, origin: str, header: bool | None, columns: Sequence[str] | None,
                  date_format: str, tz: str) -> Part:
    """``rows``: iterable of (row number, list of cells)."""
    b = Builder(origin, "export", tz=tz, date_format=java_date_format(date_format))
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return b.build()
    first_no, first_cells = first
    mapping, has_header = None, False
    if columns is not None:  # the caller names the columns; a header row, if said to exist, is skipped
        mapping = {name: i for i, name in enumerate(columns) if name}
        has_header = bool(header)
    elif header is not False:
        mapping = _header_map(first_cells)
        has_header = mapping is not None
        if mapping is None and header:
            raise SourceError("the header names no known column (e.g. timestamp, clientId, question, answer)",
                              path=origin, row=first_no)
    if mapping is None:
        mapping = {name: i for i, name in enumerate(HEADERLESS_COLUMNS)}
    if not has_header:
        rows = _chain(first, rows)  # the first row is data
    # rejections name the time column as the file does (e.g. «Дата»)
    b.ts_column = str(first_cells[mapping["timestamp"]]).strip() \
        if has_header and columns is None and "timestamp" in mapping else "timestamp"
    for required in ("timestamp", "clientId"):
        if required not in mapping:
            raise SourceError("missing column (needed to place each message in time and chat)",
                              path=origin, row=first_no, column=required)
    if not {"question", "textAnswer", "event", "responseData"} & mapping.keys():
        raise SourceError("missing column: none of question, answer, event, responseData",
                          path=origin, row=first_no, column="question")
    for row_no, cells in rows:
        if not any(str(c).strip() for c in cells if c is not None):
            continue  # blank line
        if len(cells) < len(mapping) and max(mapping.values()) >= len(cells):
            b.reject(row_no, f"{len(cells)} cells, expected {max(mapping.values()) + 1}")
            continue
        rec = {name: cells[i] for name, i in mapping.items() if i < len(cells)}
        rec = {k: (v.strip() if isinstance(v, str) else v) for k, v in rec.items()}
        rec = {k: v for k, v in rec.items() if v not in (None, "")}
        if "responseData" in rec:
            try:
                rec["responseData"] = loads_json(rec["responseData"]) if isinstance(rec["responseData"], str) \
                    else rec["responseData"]
            except ValueError as exc:
                b.reject(row_no, f"column 'responseData': not JSON ({exc})")
                continue
        operator = rec.pop("operator", None)
        livechat = str(rec.pop("isLivechat", "")).lower() in _TRUE
        if operator or (livechat and "textAnswer" in rec and "question" not in rec):
            rec["operatorInfo"] = {"firstName": operator} if operator else {"id": "operator"}
        add_reporter_message(b, row_no, rec, chat=None, session=None)
    return b.build()


def _chain(first, rest):
    yield first
    yield from rest


def load_csv_export(path: str | Path, *, origin: str | None = None, header: bool | None = None,
                    delimiter: str | None = None, encoding: str | None = None,
                    date_format: str = DEFAULT_DATE_FORMAT, tz: str = "UTC",
                    columns: Sequence[str] | None = None) -> Part:
    """A Reporter CSV export. ``header`` None = detect; ``delimiter`` None = sniff among , ; tab |;
    it may be written as an escape, as typed in a shell or a text field (``\\t`` = tab)."""
    if delimiter is not None and len(delimiter) > 1:
        try:
            delimiter = codecs.decode(delimiter, "unicode_escape")
        except UnicodeDecodeError:
            raise SourceError(f"delimiter {delimiter!r}: give one character or an escape like \\t") from None
        if len(delimiter) != 1:
            raise SourceError(f"delimiter {delimiter!r}: give one character or an escape like \\t")
    path = Path(path)
    origin = origin or str(path)
    raw = path.read_bytes()
    try:
        text = decode_text(raw, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding or 'UTF-8 or cp1251'}: {exc}", path=origin) from None
    if not text.strip():
        return Builder(origin, "export").build()
    if delimiter is None:
        sample = "\n".join(text.splitlines()[:20])
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    first = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=delimiter), [])
    if _SCHEMA_HEADER <= {c.strip() for c in first}:
        from .events import load_schema_csv
        return load_schema_csv(text, origin=origin, delimiter=delimiter)

    def numbered():
        for cells in reader:
            yield reader.line_num, cells
    try:
        return _rows_to_part(numbered(), origin=origin, header=header, columns=columns,
                             date_format=date_format, tz=tz)
    except csv.Error as exc:
        raise SourceError(f"malformed CSV: {exc}", path=origin, row=reader.line_num) from None


def load_xlsx_export(path: str | Path, *, origin: str | None = None, header: bool | None = None,
                     sheet: str | int | None = None, date_format: str = DEFAULT_DATE_FORMAT, tz: str = "UTC",
                     columns: Sequence[str] | None = None) -> Part:
    """A Reporter XLSX export (the first sheet unless ``sheet`` names another)."""
    import openpyxl
    from zipfile import BadZipFile

    path = Path(path)
    origin = origin or str(path)
    _check_xlsx_parts(path, origin)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path=origin) from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            ws = wb.worksheets[sheet]
        else:
            if sheet not in wb.sheetnames:
                raise SourceError(f"no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})", path=origin)
            ws = wb[sheet]
        rows = _bounded_rows(ws.iter_rows(values_only=True), origin)
        return _rows_to_part(rows, origin=origin, header=header, columns=columns,
                             date_format=date_format, tz=tz)
    finally:
        wb.close()


# What a workbook may expand to: a few MB of XLSX can declare millions of rows or a gigabyte of
# shared strings (a zip bomb). Reporter exports stay far below these.
XLSX_MAX_ROWS = 2_000_000
XLSX_MAX_CELLS = 40_000_000
XLSX_MAX_SHARED_STRING_BYTES = 512 * 1024 ** 2


def _check_xlsx_parts(path: Path, origin: str) -> None:
    """Refuse a workbook whose shared strings would expand past the bound, before openpyxl loads
    them all into memory (it does so even in read-only mode). Zip entries cannot yield more than
    the size they declare."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            shared = sum(i.file_size for i in z.infolist() if i.filename.lower().endswith("sharedstrings.xml"))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", path=origin) from None
    if shared > XLSX_MAX_SHARED_STRING_BYTES:
        raise SourceError(f"shared strings expand to {shared:,} bytes, over the {XLSX_MAX_SHARED_STRING_BYTES:,} "
                          "this reader takes; export a shorter period or as CSV", path=origin)


def _bounded_rows(rows, origin: str):
    """(row number, cells) of a sheet read in streaming mode, stopping with a SourceError past
    XLSX_MAX_ROWS rows or XLSX_MAX_CELLS cells."""
    cells = 0
    for i, row in enumerate(rows, start=1):
        cells += len(row)
        if i > XLSX_MAX_ROWS or cells > XLSX_MAX_CELLS:
            raise SourceError(f"the sheet expands past {XLSX_MAX_ROWS:,} rows or {XLSX_MAX_CELLS:,} cells; "
                              "export a shorter period or as CSV", path=origin, row=i)
        yield i, ["" if v is None else v for v in row]
