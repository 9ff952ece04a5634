"""JAICP Reporter API pages → messages.

Accepts what ``messages/by-client``, ``messages/by-session`` and ``messages/filter`` return
(``{paging, client|session, messages: [...]}``), a list of such pages, or a bare list of
messages — from a saved JSON/JSONL file, from parsed values, or fetched live with
:class:`jivo_ops.channel.jaicp.ReporterClient` (:func:`from_reporter`).

One Reporter message becomes up to several rows, in this order:

- ``question`` → a CLIENT ``text`` row;
- ``event`` → a SYSTEM ``event`` row (text = the event name, e.g. ``livechatFinished``);
- ``exception`` → a SYSTEM ``error`` row;
- with ``operatorInfo`` (``isLivechat``): the answer texts → OPERATOR rows, ``operator`` = the
  operator's first and last name (or id);
- otherwise each of ``responseData.replies`` → a BOT row (``switch`` replies included, text =
  ``firstMessage``), or ``textAnswer`` → one BOT ``text`` row when there are no replies.
"""

from __future__ import annotations

from typing import Any, Iterable

from ...errors import SourceError
from .._build import Builder, Part, reply_kind

__all__ = ["load_reporter_pages", "from_reporter", "add_reporter_message", "operator_name", "reply_text"]


def operator_name(info: Any) -> str | None:
    if not isinstance(info, dict):
        return None
    name = " ".join(str(info[k]).strip() for k in ("firstName", "lastName") if info.get(k)).strip()
    return name or (str(info["id"]) if info.get("id") is not None else None)


def reply_text(reply: dict) -> str | None:
    kind = reply.get("type")
    if kind == "switch":
        return reply.get("firstMessage")
    if kind in ("buttons", "inlineButtons"):
        buttons = reply.get("buttons") or []
        return " | ".join(str(b.get("text", "")) for b in buttons if isinstance(b, dict)) or None
    for key in ("text", "imageUrl", "fileUrl", "audioUrl", "videoUrl", "url"):
        if reply.get(key):
            return str(reply[key])
    return None


def add_reporter_message(b: Builder, row: int, msg: Any, *, chat=None, session=None) -> None:
    """Rows of one Reporter message (a dict as the API returns it, or an export row shaped alike)."""
    if not isinstance(msg, dict):
        b.reject(row, f"not a JSON object but {type(msg).__name__}")
        return
    ts = msg.get("timestamp")
    if ts in (None, ""):
        b.reject(row, "missing field 'timestamp'")
        return
    client = msg.get("client") if isinstance(msg.get("client"), dict) else {}
    chat = client.get("id") or msg.get("clientId") or chat
    if chat in (None, ""):
        b.reject(row, "no client id (neither message client.id/clientId nor the page's client)")
        return
    session = msg.get("sessionId") or session
    qid = msg.get("questionId")
    mid = f"{qid}" if qid is not None else None
    emitted = 0

    def add(author, kind, text, suffix, operator=None):
        nonlocal emitted
        b.add(row, ts=ts, chat=chat, session=session, author=author, kind=kind, text=text,
              operator=operator, message_id=f"{mid}:{suffix}" if mid else None)
        emitted += 1

    if msg.get("question"):
        add("CLIENT", "text", msg["question"], "q")
    if msg.get("event"):
        add("SYSTEM", "event", msg["event"], "e")
    if msg.get("exception"):
        add("SYSTEM", "error", msg["exception"], "x")
    response = msg.get("responseData") if isinstance(msg.get("responseData"), dict) else {}
    replies = response.get("replies") if isinstance(response.get("replies"), list) else []
    replies = [r for r in replies if isinstance(r, dict)]
    info = msg.get("operatorInfo")
    if info:
        name = operator_name(info)
        texts = [(reply_kind(r.get("type")), reply_text(r)) for r in replies] or (
            [("text", msg["textAnswer"])] if msg.get("textAnswer") else [])
        for i, (kind, text) in enumerate(texts):
            add("OPERATOR", kind, text, f"o{i}", operator=name)
    elif replies:
        for i, r in enumerate(replies):
            add("BOT", reply_kind(r.get("type")), reply_text(r), f"r{i}")
    elif msg.get("textAnswer"):
        add("BOT", "text", msg["textAnswer"], "a")
    if not emitted:
        b.reject(row, "message has no question, event, answer or replies")


def _pages(data: Any, origin: str) -> Iterable[tuple[dict, list]]:
    """(page-level context, messages) pairs from a page, a list of pages or a list of messages."""
    if isinstance(data, dict):
        if isinstance(data.get("messages"), list):
            yield data, data["messages"]
        else:  # one message on its own: its row is kept, or rejected with its reason
            yield {}, [data]
    elif isinstance(data, list):
        if data and all(isinstance(p, dict) and isinstance(p.get("messages"), list) for p in data):
            for page in data:
                yield page, page["messages"]
        else:
            yield {}, data
    else:
        raise SourceError(f"expected a Reporter page (JSON object) or a list, got {type(data).__name__}", path=origin)


def load_reporter_pages(data: Any, *, origin: str, tz: str = "UTC") -> Part:
    """Reporter page(s) or message list (parsed JSON) → a :class:`Part`; rows count from 1 across pages."""
    b = Builder(origin, "reporter", tz=tz)
    row = 0
    for page, messages in _pages(data, origin):
        client = page.get("client") if isinstance(page.get("client"), dict) else {}
        sess = page.get("session") if isinstance(page.get("session"), dict) else {}
        sess_client = sess.get("client") if isinstance(sess.get("client"), dict) else {}
        chat = client.get("id") or sess_client.get("id")
        for msg in messages:
            row += 1
            add_reporter_message(b, row, msg, chat=chat, session=sess.get("sessionId"))
    return b.build()


def from_reporter(client, *, client_id: str | None = None, session_id: str | None = None,
                  filters: list | None = None, bot_id: str | None = None, start_time=None, end_time=None,
                  size: int = 100) -> list[dict]:
    """Fetch Reporter pages live with a :class:`jivo_ops.channel.jaicp.ReporterClient` (by client id,
    session id, or a list of filters), following every page; returns the pages, which
    :func:`jivo_ops.logs.load` accepts (``load(from_reporter(client, client_id="c-1"))``)."""
    if client_id is not None:
        extra = {k: v for k, v in (("bot_id", bot_id), ("start_time", start_time), ("end_time", end_time))
                 if v is not None}
        pages = client.iter_messages_by_client(client_id, size=size, **extra)
    elif session_id is not None:
        pages = client.iter_messages_by_session(session_id, size=size)
    elif filters is not None:
        pages = client.iter_messages_filter(filters, size=size)
    else:
        raise ValueError("from_reporter needs client_id, session_id or filters")
    return list(pages)
