"""The webhook recorder's SQLite store → messages.

Opened read-only (``file:…?mode=ro``), so a recorder may keep writing while it is read. Each
stored ``requests`` row whose body is a Jivo agent message becomes an OPERATOR row
(``recipient.id`` → ``chat``, ``ts`` = ``received_at``; see :mod:`jivo_ops.logs.sources.jivo_dumps`);
``message_id`` is Jivo's ``message.id``, or ``recorder:<request id>`` when Jivo sent none.
Requests that are not messages (a GET, a malformed body the recorder answered 400) go to the
rejected table with the request id as the row. Extra columns of newer stores are ignored.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

from ...errors import SourceError
from ._build import Builder, Part
from .jivo_dumps import add_jivo_body

__all__ = ["load_recorder_store", "SQLITE_MAGIC"]

SQLITE_MAGIC = b"SQLite format 3\x00"
_REQUIRED = ("id", "received_at", "method", "body")


def load_recorder_store(path: str | Path, *, origin: str | None = None) -> Part:
    path = Path(path)
    origin = origin or str(path)
    if not path.is_file():
        raise SourceError("no such recorder store", path=origin)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open the recorder store read-only: {exc}", path=origin) from None
    try:
        try:
            info = con.execute("PRAGMA table_info(requests)").fetchall()
        except sqlite3.DatabaseError as exc:
            raise SourceError(f"not a readable SQLite store: {exc}", path=origin) from None
        if not info:
            raise SourceError("not a jivo_ops recorder store: no table 'requests'", path=origin)
        present = {row[1] for row in info}
        for column in _REQUIRED:
            if column not in present:
                raise SourceError("missing column in table 'requests'", path=origin, column=column)
        status = "status" if "status" in present else "NULL"
        b = Builder(origin, "recorder")
        try:
            cursor = con.execute(f"SELECT id, received_at, method, body, {status} FROM requests ORDER BY id")
            for req_id, received_at, method, body, code in cursor:
                if str(method).upper() != "POST":
                    b.reject(req_id, f"{method} request, not a message")
                    continue
                raw = bytes(body) if isinstance(body, (bytes, memoryview)) else str(body or "").encode()
                try:
                    parsed = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    answered = f" (the recorder answered {code})" if code is not None else ""
                    b.reject(req_id, f"body is not UTF-8 JSON: {exc}{answered}")
                    continue
                add_jivo_body(b, req_id, parsed, ts=received_at, message_id=f"recorder:{req_id}")
        except sqlite3.DatabaseError as exc:
            raise SourceError(f"store damaged while reading: {exc}", path=origin) from None
        return b.build()
    finally:
        con.close()
