"""The one message schema every log source is loaded into.

A *messages* frame has one row per message or event, in this column order:

============  ===========================  =====================================================
column        dtype                        meaning
============  ===========================  =====================================================
``ts``        ``datetime64[us, UTC]``      when it happened (every source normalised to UTC);
                                           ``NaT`` only for raw Jivo bodies that carry no time
``chat``      ``string``                   the client id as JAICP and Jivo see it
                                           (Chat API ``clientId`` = Jivo ``sender.id`` /
                                           ``recipient.id``)
``session``   ``string``                   JAICP session id, or the test transfer's id; may be NA
``author``    ``category``                 ``CLIENT``, ``BOT``, ``OPERATOR``, ``SYSTEM``
``kind``      ``category``                 ``text``, ``photo``, ``video``, ``document``,
                                           ``audio``, ``location``, ``buttons``, ``switch``,
                                           ``event``, ``error``, ``other``
``text``      ``string``                   the text; the event name for ``event`` rows; the
                                           ``firstMessage`` for ``switch`` rows; the media URL
                                           for photo/video/document rows without a caption
``operator``  ``string``                   the operator's name (or id) on OPERATOR rows, else NA
``source``    ``category``                 the source family: ``reporter``, ``export``,
                                           ``recorder``, ``transfers``, ``jivo``, ``events``,
                                           ``webhooks`` (Jivo Webhooks API events)
``origin``    ``category``                 the file (or label) the row came from
``message_id``  ``string``                 the source's own id for the row (Reporter
                                           ``questionId`` + reply index, Jivo ``message.id``,
                                           recorder request id, transfer id + step index)
============  ===========================  =====================================================

A *rejected* frame lists what could not be loaded, never silently dropped: ``file`` (the file,
or a label for in-memory values), ``row`` (1-based line/row, position in a JSON list, or the
recorder's request id; NA for a whole file), ``reason``; and ``origin`` (= ``file``, the name the
messages frame uses).

The flat ``events`` JSONL source is this schema written one JSON object per line
(``ts`` as ISO 8601 with offset); :func:`jivo_ops.logs.export` writes it for ``.jsonl`` files.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Iterable, Mapping

import pandas as pd

__all__ = [
    "COLUMNS",
    "AUTHORS",
    "KINDS",
    "SOURCES",
    "AUTHOR_DTYPE",
    "KIND_DTYPE",
    "STRING_DTYPE",
    "TS_DTYPE",
    "REJECTED_COLUMNS",
    "empty_messages",
    "empty_rejected",
    "from_records",
    "conform",
    "to_utc",
    "java_date_format",
]

AUTHORS = ("CLIENT", "BOT", "OPERATOR", "SYSTEM")
KINDS = ("text", "photo", "video", "document", "audio", "location", "buttons",
         "switch", "event", "error", "other")
SOURCES = ("reporter", "export", "recorder", "transfers", "jivo", "events", "webhooks")

STRING_DTYPE = pd.StringDtype("pyarrow")
TS_DTYPE = pd.DatetimeTZDtype("us", "UTC")
AUTHOR_DTYPE = pd.CategoricalDtype(list(AUTHORS))
KIND_DTYPE = pd.CategoricalDtype(list(KINDS))

COLUMNS = ("ts", "chat", "session", "author", "kind", "text", "operator", "source", "origin", "message_id")
STRING_COLUMNS = ("chat", "session", "text", "operator", "message_id")
REJECTED_COLUMNS = ("file", "row", "reason", "origin")


def empty_messages() -> pd.DataFrame:
    return conform(pd.DataFrame({c: [] for c in COLUMNS}))


def empty_rejected() -> pd.DataFrame:
    return rejected_frame([])


def rejected_frame(rows: Iterable[tuple[str, int | None, str]]) -> pd.DataFrame:
    """(origin, row, reason) triples as the rejected table; ``file`` and ``origin`` hold the same
    name (``origin`` matches the messages' column of that name, ``file`` says what it is)."""
    rows = list(rows)
    origin, row, reason = zip(*rows) if rows else ((), (), ())
    names = pd.array(origin, dtype=STRING_DTYPE)
    return pd.DataFrame({"file": names, "row": pd.array(row, dtype="Int64"),
                         "reason": pd.array(reason, dtype=STRING_DTYPE), "origin": names.copy()})


# How a timestamp text says its zone; one without it is read in the `tz` given.
ZONE_SUFFIX = r"(?:Z|[+-]\d\d:?\d\d)$"


def to_utc(values, *, tz: str = "UTC", fmt: str | None = None, errors: str = "coerce") -> pd.Series:
    """Timestamps of any shape as ``datetime64[us, UTC]``.

    ISO strings with offsets keep them (mixed zones are fine); naive values are taken to be in
    ``tz``; numbers are epoch milliseconds (JAICP) or seconds (Jivo) told apart by magnitude.
    Unparsable values become NaT (``errors='coerce'``) so the caller can reject those rows.
    """
    s = pd.Series(values, copy=False)
    if s.dtype == TS_DTYPE:
        return s
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype(TS_DTYPE)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.dt.tz_localize(tz).dt.tz_convert("UTC").astype(TS_DTYPE)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return _from_epoch(s)
    # object/strings: epoch numbers (also as digit strings) or date strings
    obj = s.astype(object).map(lambda v: v.isoformat() if isinstance(v, datetime) else v)
    is_number = obj.map(lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool))
                        or (isinstance(v, str) and v.strip().isdigit()))
    out = pd.Series(pd.NaT, index=s.index, dtype=TS_DTYPE)
    if is_number.any():
        out[is_number] = _from_epoch(obj[is_number].astype(float))
    text = obj[~is_number & obj.map(lambda v: isinstance(v, str))].astype(str).str.strip()
    if len(text):
        aware = text.str.contains(ZONE_SUFFIX, regex=True)
        for part, is_aware in ((text[aware], True), (text[~aware], False)):
            if not len(part):
                continue
            parsed = _parse_dates(part, fmt, errors)
            if fmt and parsed.isna().any():  # tolerate ISO 8601 beside the declared format
                retry = _parse_dates(part[parsed.isna()], None, errors)
                parsed = parsed.where(parsed.notna(), retry)
            if is_aware:
                parsed = parsed.dt.tz_convert("UTC") if isinstance(parsed.dtype, pd.DatetimeTZDtype) \
                    else parsed.dt.tz_localize("UTC")
            else:
                if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                    parsed = parsed.dt.tz_localize(None)
                parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
            out[part.index] = parsed.astype(TS_DTYPE)
    return out


def _parse_dates(values: pd.Series, fmt: str | None, errors: str) -> pd.Series:
    if fmt is None:
        return pd.to_datetime(values, utc=True, format="ISO8601", errors=errors) \
            if values.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).all() \
            else pd.to_datetime(values, format="ISO8601", errors=errors)
    return pd.to_datetime(values, format=fmt, errors=errors, utc="%z" in fmt)


def _from_epoch(s: pd.Series) -> pd.Series:
    s = pd.to_numeric(s, errors="coerce").astype("float64")
    # JAICP sends epoch milliseconds, Jivo epoch seconds: above 1e11 cannot be seconds (year 5138)
    ms = s.where(s.abs() >= 1e11, s * 1000.0)
    return pd.to_datetime(ms, unit="ms", utc=True, errors="coerce").astype(TS_DTYPE)


_JAVA_TOKENS = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"),
                ("mm", "%M"), ("ss", "%S"), ("SSSSSS", "%f"), ("SSS", "%f"), ("XXX", "%z"),
                ("Z", "%z"), ("'T'", "T")]


def java_date_format(pattern: str) -> str:
    """JAICP export's ``dateTimeFormat`` (Java DateTimeFormatter, e.g. ``yyyy-MM-dd HH:mm:ss.SSS``)
    as a ``strftime`` format; a pattern already using ``%`` passes through."""
    if "%" in pattern:
        return pattern
    regex = re.compile("|".join(re.escape(t) for t, _ in _JAVA_TOKENS))
    table = dict(_JAVA_TOKENS)
    return regex.sub(lambda m: table[m.group(0)], pattern)


def from_records(records: Mapping[str, list] | pd.DataFrame, *, source: str, origin: str) -> pd.DataFrame:
    """A column dict (``ts`` may be any timestamp shape already converted) → the schema."""
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(dict(records))
    frame = frame.copy()
    frame["source"] = source
    frame["origin"] = origin
    return conform(frame)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in schema order with schema dtypes; extra columns are kept after them."""
    out = {}
    n = len(frame)
    for col in COLUMNS:
        s = frame[col] if col in frame else pd.Series([None] * n, index=frame.index, dtype=object)
        if col == "ts":
            s = s if s.dtype == TS_DTYPE else to_utc(s)
        elif col == "author":
            s = s if s.dtype == AUTHOR_DTYPE else s.astype(AUTHOR_DTYPE)
        elif col == "kind":
            s = s if s.dtype == KIND_DTYPE else s.astype(KIND_DTYPE)
        elif col in ("source", "origin"):
            s = s if isinstance(s.dtype, pd.CategoricalDtype) else pd.Series(
                pd.Categorical(s.astype(object).where(s.notna(), None)), index=frame.index)
        else:
            s = s if s.dtype == STRING_DTYPE else s.astype(STRING_DTYPE)
        out[col] = s
    result = pd.DataFrame(out, index=frame.index)
    for extra in frame.columns:
        if extra not in out:
            result[extra] = frame[extra]
    return result
