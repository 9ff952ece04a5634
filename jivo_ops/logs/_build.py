"""Row-at-a-time building for the small, irregular sources (Reporter pages, exports, recorder,
transfers, Jivo bodies): rows and rejections are gathered, then turned into schema frames once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

import pandas as pd

from ..files import loads_json
from ..i18n import _
from .schema import AUTHORS, KINDS, ZONE_SUFFIX, conform, rejected_frame, to_utc

__all__ = ["Part", "Builder", "jivo_kind", "reply_kind", "json_lines", "merge_parts"]

_FIELDS = ("ts", "chat", "session", "author", "kind", "text", "operator", "message_id")

# Jivo message.type and JAICP reply types → schema kind
_JIVO_KINDS = {"text": "text", "photo": "photo", "image": "photo", "video": "video",
               "document": "document", "file": "document", "audio": "audio", "voice": "audio",
               "location": "location"}
_REPLY_KINDS = {**_JIVO_KINDS, "switch": "switch", "buttons": "buttons", "inlineButtons": "buttons",
                "carousel": "other", "raw": "other", "timeout": "other", "hangup": "other"}


def jivo_kind(value) -> str | None:
    return _JIVO_KINDS.get(str(value).lower()) if value is not None else None


def reply_kind(value) -> str:
    return _REPLY_KINDS.get(str(value), "other")


@dataclass
class Part:
    """What one source gave: its messages, its rejected rows, and where it came from."""

    origin: str
    source: str
    messages: pd.DataFrame
    rejected: pd.DataFrame
    warnings: list[str] = field(default_factory=list)  # said once per source: e.g. times without a zone
    naive_tz: str | None = None  # the zone its zone-less times were read in (None: every time had one)


def merge_parts(first: Part, *others: Part) -> Part:
    """One file that holds rows of several source families (a recorder store that received Chat
    API bodies and Webhooks API events) as one Part named like the first."""
    parts = (first, *others)
    messages = pd.concat([p.messages for p in parts], ignore_index=True)
    messages["source"] = messages["source"].astype(object)
    rejected = pd.concat([p.rejected for p in parts], ignore_index=True).sort_values(
        "row", kind="stable", na_position="last").reset_index(drop=True)
    warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
    naive_tz = next((p.naive_tz for p in parts if p.naive_tz), None)
    return Part(first.origin, first.source, conform(messages), rejected, warnings, naive_tz)


def zoneless_count(raw: pd.Series, parsed: pd.Series) -> int:
    """How many of the times that were read carry no zone (texts, naive datetimes; not epoch numbers)."""
    is_text = raw.map(lambda v: isinstance(v, str)).astype(bool).to_numpy()
    text = raw[parsed.notna().to_numpy() & is_text].astype(str).str.strip()
    text = text[~text.str.isdigit()]
    return int((~text.str.contains(ZONE_SUFFIX, regex=True)).sum())


def zoneless_warning(origin: str, count: int, tz: str) -> str:
    """The one line a source with zone-less times gets: the assumption made and how to change it."""
    return _("{origin}: {count} times carry no zone; read as {tz} (JAICP's exports are UTC, its consoles "
             "show local time); for another zone pass --tz ZONE (tz= in Python)").format(
        origin=origin, count=count, tz=tz)


def decode_text(raw: bytes, encoding: str | None = None) -> str:
    """A file's text: in `encoding`, else UTF-8, else cp1251 (what Windows tools write in Russia)."""
    if encoding:
        return raw.decode(encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def json_lines(text: str, reject: Callable[[int, str], None]) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of JSONL `text` that parses; `reject(line, reason)`
    for each one that does not, so a bad line is reported instead of dropped."""
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = loads_json(line)
        except ValueError as exc:
            reject(i, f"not valid JSON: {exc}")
            continue
        yield i, value


def _not_unicode(**fields) -> str | None:
    """Which field holds text that is not valid Unicode (None when all are)."""
    for name, value in fields.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"field {name!r}: not valid Unicode ({value[exc.start]!r} at character {exc.start})"
    return None


@dataclass
class Builder:
    origin: str
    source: str
    tz: str = "UTC"
    date_format: str | None = None
    ts_column: str = "ts"  # how the file names its time column, for error messages
    cols: dict = field(default_factory=lambda: {f: [] for f in _FIELDS})
    row_of: list = field(default_factory=list)
    where_of: list = field(default_factory=list)
    rejected: list = field(default_factory=list)

    def add(self, row: int | None, *, ts, chat, author, kind, text=None, session=None, operator=None,
            message_id=None, where: str | None = None) -> None:
        broken = _not_unicode(chat=chat, session=session, text=text, operator=operator, message_id=message_id)
        if broken:  # a lone surrogate (JSON's "\\udfff") can be neither printed nor written
            self.reject(row, f"{where}: {broken}" if where else broken)
            return
        c = self.cols
        if isinstance(ts, datetime):  # spreadsheet cells, parsed values
            ts = ts.isoformat()
        c["ts"].append(ts)
        c["chat"].append(None if chat is None else str(chat))
        c["session"].append(None if session is None else str(session))
        c["author"].append(author)
        c["kind"].append(kind)
        c["text"].append(None if text is None else str(text))
        c["operator"].append(None if operator is None else str(operator))
        c["message_id"].append(None if message_id is None else str(message_id))
        self.row_of.append(row)
        self.where_of.append(where)

    def reject(self, row: int | None, reason: str) -> None:
        self.rejected.append((self.origin, row, reason))

    def build(self) -> Part:
        frame = pd.DataFrame(self.cols)
        raw_ts = frame["ts"]
        frame["ts"] = to_utc(raw_ts, tz=self.tz, fmt=self.date_format)
        # a timestamp that was given but does not parse is a broken row, not a missing time
        bad_ts = frame["ts"].isna() & raw_ts.notna()
        bad = bad_ts | frame["chat"].isna() | ~frame["author"].isin(AUTHORS) | ~frame["kind"].isin(KINDS)
        if bad.any():
            for i in bad[bad].index:
                if bad_ts[i]:
                    why = f"column {self.ts_column!r}: cannot read timestamp {raw_ts[i]!r}" + (
                        f" as {self.date_format}" if self.date_format else "")
                elif frame.at[i, "chat"] is None:
                    why = "no chat (client id)"
                elif frame.at[i, "author"] not in AUTHORS:
                    why = f"unknown author {frame.at[i, 'author']!r}"
                else:
                    why = f"unknown kind {frame.at[i, 'kind']!r}"
                where = self.where_of[i]
                self.reject(self.row_of[i], f"{where}: {why}" if where else why)
            frame = frame[~bad]
        zoneless = zoneless_count(raw_ts[~bad], frame["ts"])
        frame["source"] = self.source
        frame["origin"] = self.origin
        self.rejected.sort(key=lambda r: (r[1] is None, r[1] or 0))
        return Part(self.origin, self.source, conform(frame.reset_index(drop=True)),
                    rejected_frame(self.rejected), [zoneless_warning(self.origin, zoneless, self.tz)] if zoneless else [],
                    self.tz if zoneless else None)
