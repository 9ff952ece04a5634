"""Raw Jivo Chat API bodies → messages (a JSON list or JSONL dump; also used for recorder rows).

An agent message Jivo posts to the webhook (``{sender?, recipient: {id}, message}``) becomes an
OPERATOR row with ``chat`` = ``recipient.id`` and ``operator`` = ``sender.name`` (or
``sender.id``; NA when Jivo sends no sender). A client message posted to Jivo's unique URL
(``{sender: {id}, message}``, no recipient) becomes a CLIENT row with ``chat`` = ``sender.id``.
``message.type`` gives the kind (``text``, ``photo``, ``video``, ``document``…), ``text`` the
text, or the file URL for media without a caption; ``message.id`` the message_id.

Jivo bodies carry no time of their own. A dump line may wrap the body with one —
``{"received_at": "…", "body": {…}}`` — or carry ``ts``/``timestamp``/``received_at`` beside
``sender``; ``message.timestamp`` (epoch seconds) is used too. Without any, ``ts`` is NaT.
"""

from __future__ import annotations

from typing import Any

from ...files import loads_json
from .._build import Builder, Part, jivo_kind, json_lines

__all__ = ["add_jivo_body", "load_jivo_bodies", "body_time"]

_TIME_KEYS = ("received_at", "ts", "timestamp", "time")


def body_time(record: dict) -> Any:
    for key in _TIME_KEYS:
        if record.get(key) not in (None, ""):
            return record[key]
    message = record.get("message") if isinstance(record.get("message"), dict) else {}
    return message.get("timestamp")


def add_jivo_body(b: Builder, row: int, body: Any, *, ts: Any = None, message_id: str | None = None) -> None:
    if isinstance(body, dict) and isinstance(body.get("body"), dict) and "message" not in body:
        ts = ts if ts is not None else body_time(body)
        body = body["body"]
    if not isinstance(body, dict):
        b.reject(row, f"not a JSON object but {type(body).__name__}")
        return
    if ts is None:
        ts = body_time(body)
    message = body.get("message")
    if not isinstance(message, dict):
        b.reject(row, "missing field 'message' (not a Jivo Chat API message)")
        return
    kind = jivo_kind(message.get("type"))
    if kind is None:
        b.reject(row, f"field 'message.type': unknown type {message.get('type')!r}")
        return
    text = message.get("text") or message.get("file")
    sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
    recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else None
    mid = message.get("id") if message.get("id") not in (None, "") else message_id
    if recipient is not None:
        if recipient.get("id") in (None, ""):
            b.reject(row, "missing field 'recipient.id'")
            return
        operator = sender.get("name") or sender.get("id")
        b.add(row, ts=ts, chat=recipient["id"], author="OPERATOR", kind=kind, text=text,
              operator=operator, message_id=mid)
    elif sender.get("id") not in (None, ""):
        b.add(row, ts=ts, chat=sender["id"], author="CLIENT", kind=kind, text=text, message_id=mid)
    else:
        b.reject(row, "missing field 'recipient.id' (agent message) or 'sender.id' (client message)")


def load_jivo_bodies(text: str, *, origin: str, tz: str = "UTC") -> Part:
    """A dump: one JSON list of bodies, or one body per line (JSONL)."""
    b = Builder(origin, "jivo", tz=tz)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            bodies = loads_json(stripped)
        except ValueError as exc:
            b.reject(None, f"not valid JSON: {exc}")
            return b.build()
        for i, body in enumerate(bodies, start=1):
            add_jivo_body(b, i, body)
    else:
        for i, body in json_lines(text, b.reject):
            add_jivo_body(b, i, body)
    return b.build()
