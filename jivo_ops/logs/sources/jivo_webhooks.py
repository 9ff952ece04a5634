"""Jivo Webhooks API events (``event_name`` = ``chat_accepted``, ``chat_finished``…) → messages.

The Webhooks API is Jivo's own record of a chat, posted to a URL the team sets in Jivo's
"Integration settings for developers" (not the Chat API channel JAICP talks through). A file of
them is JSONL (one event body a line, or ``{"received_at": …, "body": {…}}``), a JSON list, or a
recorder store that received them (`jivo-ops record`). Each event becomes rows of the schema,
``source`` = ``webhooks``:

- every event: a SYSTEM ``event`` row, ``text`` = the event name, ``operator`` = ``agent.name``
  (``chat_accepted``: who took the chat) — ``chat_accepted``/``chat_finished`` give the accept
  and the close of the operator side;
- ``chat_finished``: one row per ``chat.messages[]`` item (``type`` ``visitor`` → CLIENT,
  ``agent`` → OPERATOR with the name of ``agents[]`` whose ``id`` = ``agent_id``), ``ts`` =
  ``timestamp`` (epoch seconds), and, when ``chat.rate`` is set, an ``event`` row
  ``chat_rate:positive`` / ``chat_rate:negative`` (see :data:`RATINGS`);
- ``offline_message``: a CLIENT row with the message.

``chat`` is the client id as JAICP knows it when Jivo sends it (``user_token``), else
``jivo:<chat_id>`` (paired with its JAICP chat at load, see :mod:`jivo_ops.logs.jivo_join`);
``session`` is always ``jivo:<chat_id>``, so the Jivo chat stays known after the pairing.

Time: the events carry none of their own [doc], so an event row takes the envelope's
``received_at`` (the recorder's receipt time), else the latest message time of the event, else NaT.
An event without ``event_name``, a message with an unknown ``type`` or without ``timestamp``, or an
unknown ``chat.rate`` is a rejected row.
"""

from __future__ import annotations

from typing import Any, Iterable

from ...files import loads_json
from .._build import Builder, Part, json_lines

__all__ = ["load_webhook_events", "load_webhook_text", "add_webhook_event", "is_webhook_event", "RATINGS", "RATE_EVENT",
           "ACCEPTED_EVENT", "FINISHED_EVENT", "JIVO_SESSION_PREFIX"]

ACCEPTED_EVENT = "chat_accepted"
FINISHED_EVENT = "chat_finished"
RATE_EVENT = "chat_rate"  # the event row's text is "chat_rate:<rating>"
JIVO_SESSION_PREFIX = "jivo:"
# chat.rate as the docs give it ("positive" | "negative" | null); "good"/"bad" are the widget's
# button names [guess], read the same way
RATINGS = {"positive": "positive", "good": "positive", "negative": "negative", "bad": "negative"}
_AUTHORS = {"visitor": "CLIENT", "agent": "OPERATOR"}


def is_webhook_event(record: Any) -> bool:
    body = record.get("body") if isinstance(record, dict) and isinstance(record.get("body"), dict) else record
    return isinstance(body, dict) and isinstance(body.get("event_name"), str)


def _name(agent: Any) -> str | None:
    if not isinstance(agent, dict):
        return None
    return agent.get("name") or (None if agent.get("id") in (None, "") else str(agent["id"]))


def add_webhook_event(b: Builder, row: int, record: Any, *, ts: Any = None) -> None:
    if isinstance(record, dict) and isinstance(record.get("body"), dict):
        ts = ts if ts is not None else record.get("received_at")
        record = record["body"]
    if not isinstance(record, dict):
        b.reject(row, f"not a JSON object but {type(record).__name__}")
        return
    event = record.get("event_name")
    if not isinstance(event, str) or not event:
        b.reject(row, "missing field 'event_name' (not a Jivo Webhooks API event)")
        return
    chat_id = record.get("chat_id")
    if chat_id in (None, "") and record.get("offline_message_id") not in (None, ""):
        chat_id = f"offline-{record['offline_message_id']}"  # an offline message belongs to no chat
    if chat_id in (None, ""):
        b.reject(row, f"{event}: missing field 'chat_id'")
        return
    session = f"{JIVO_SESSION_PREFIX}{chat_id}"
    chat = record.get("user_token") or session
    chat_data = record.get("chat") if isinstance(record.get("chat"), dict) else {}
    agents = {str(a.get("id")): _name(a) for a in record.get("agents") or [] if isinstance(a, dict)}
    latest = None
    for i, msg in enumerate(chat_data.get("messages") or [], start=1):
        where = f"{event} chat.messages[{i}]"
        if not isinstance(msg, dict) or msg.get("type") not in _AUTHORS:
            kind = msg.get("type") if isinstance(msg, dict) else type(msg).__name__
            b.reject(row, f"{where}: unknown type {kind!r} (expected 'visitor' or 'agent')")
            continue
        if msg.get("timestamp") in (None, ""):
            b.reject(row, f"{where}: missing field 'timestamp'")
            continue
        author = _AUTHORS[msg["type"]]
        operator = None
        if author == "OPERATOR":
            agent_id = msg.get("agent_id")
            operator = agents.get(str(agent_id)) or (None if agent_id in (None, "") else str(agent_id))
        b.add(row, ts=msg["timestamp"], chat=chat, session=session, author=author, kind="text",
              text=msg.get("message"), operator=operator, message_id=f"{session}/{i}", where=where)
        latest = msg["timestamp"]  # messages come in time order: the last is the latest
    at = ts if ts is not None else latest
    operator = _name(record.get("agent")) or next((n for n in agents.values() if n), None)
    b.add(row, ts=at, chat=chat, session=session, author="SYSTEM", kind="event", text=event,
          operator=operator, message_id=f"{session}/{event}", where=event)
    if event == "offline_message" and record.get("message"):
        b.add(row, ts=at, chat=chat, session=session, author="CLIENT", kind="text",
              text=record["message"], message_id=f"{session}/offline", where=event)
    rate = chat_data.get("rate")
    if rate not in (None, ""):
        rating = RATINGS.get(str(rate).lower())
        if rating is None:
            b.reject(row, f"{event} chat.rate: unknown rating {rate!r} (expected one of "
                          f"{', '.join(sorted(RATINGS))})")
        else:
            b.add(row, ts=at, chat=chat, session=session, author="SYSTEM", kind="event",
                  text=f"{RATE_EVENT}:{rating}", operator=operator, message_id=f"{session}/rate",
                  where=event)


def load_webhook_events(items: Iterable[tuple[int, Any]], *, origin: str, tz: str = "UTC",
                        builder: Builder | None = None) -> Part:
    """(row, event or envelope) pairs → a Part."""
    b = builder or Builder(origin, "webhooks", tz=tz, ts_column="timestamp")
    for row, record in items:
        add_webhook_event(b, row, record)
    return b.build()


def load_webhook_text(text: str, *, origin: str, tz: str = "UTC") -> Part:
    """A file's text: a JSON list of events, or one event per line (a bad line is a rejected row)."""
    b = Builder(origin, "webhooks", tz=tz, ts_column="timestamp")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = list(enumerate(loads_json(stripped), start=1))
        except ValueError as exc:
            b.reject(None, f"not valid JSON: {exc}")
            items = []
    else:
        items = json_lines(text, b.reject)
    return load_webhook_events(items, origin=origin, builder=b)
