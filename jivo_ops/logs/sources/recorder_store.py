"""The webhook recorder's SQLite store → messages.

Read through `jivo_ops.recorder.store` (a quoted read-only URI: no file is ever created), so a
recorder may keep writing while it is read. Each stored ``requests`` row whose body is a Jivo
agent message becomes an OPERATOR row (``recipient.id`` → ``chat``, ``ts`` = ``received_at``; see
:mod:`jivo_ops.logs.sources.jivo_dumps`); ``message_id`` is Jivo's ``message.id``, or
``recorder:<request id>`` when Jivo sent none. Requests that are not messages (a GET, a malformed
body the recorder answered 400) go to the rejected table with the request id as the row. A body
that is a Jivo Webhooks API event (``event_name``: a store that received them) is read by
:mod:`jivo_ops.logs.sources.jivo_webhooks` (its rows' ``source`` is ``webhooks``). Extra
columns of newer stores are ignored; a store of contract C without ``status`` still loads.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import RecorderError, SourceError
from ...files import loads_json
from ...recorder.store import SQLITE_MAGIC, StoreReader
from ...recorder.wire import INCOMPLETE_STATUS
from .._build import Builder, Part, merge_parts
from .jivo_dumps import add_jivo_body
from .jivo_webhooks import add_webhook_event, is_webhook_event

__all__ = ["load_recorder_store", "SQLITE_MAGIC"]

_REQUIRED = ("id", "received_at", "method", "body")
_READ = (*_REQUIRED, "status", "error")
_TODO = "point at a store written by `jivo-ops record`"


def load_recorder_store(path: str | Path, *, origin: str | None = None) -> Part:
    path = Path(path)
    origin = origin or str(path)
    try:
        store = StoreReader(path, require_schema=False)
    except RecorderError as exc:  # it names the store and what to do already
        raise SourceError(str(exc)) from None
    with store:
        if not store.columns:
            raise SourceError(f"not a jivo_ops recorder store: no table 'requests'; {_TODO}", path=origin)
        for column in _REQUIRED:
            if column not in store.columns:
                raise SourceError(f"missing column in table 'requests'; {_TODO}", path=origin, column=column)
        b = Builder(origin, "recorder")
        hooks = Builder(origin, "webhooks", ts_column="timestamp")
        try:
            for req_id, received_at, method, body, code, error in store.iter_rows_after(0, _READ):
                if str(method).upper() != "POST":
                    b.reject(req_id, f"{method} request, not a message")
                    continue
                if code == INCOMPLETE_STATUS:  # Jivo got no answer, so it resends: the message comes again
                    b.reject(req_id, f"{error or 'incomplete body'}: not a message (Jivo resends it)")
                    continue
                raw = bytes(body) if isinstance(body, (bytes, memoryview)) else str(body or "").encode()
                try:
                    parsed = loads_json(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    answered = f" (the recorder answered {code})" if code is not None else ""
                    b.reject(req_id, f"body is not UTF-8 JSON: {exc}{answered}")
                    continue
                if is_webhook_event(parsed):
                    add_webhook_event(hooks, req_id, parsed, ts=received_at)
                else:
                    add_jivo_body(b, req_id, parsed, ts=received_at, message_id=f"recorder:{req_id}")
        except RecorderError as exc:
            raise SourceError(str(exc)) from None
        return merge_parts(b.build(), hooks.build()) if hooks.row_of or hooks.rejected else b.build()
