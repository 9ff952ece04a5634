"""What the recorder says and passes on over HTTP: its hook path, its own answers, the headers
that travel on (to a tap's target, a replay, a curl line) and those that never do."""

from __future__ import annotations

import json
from typing import Iterable, Sequence

__all__ = ["HOOK_PREFIX", "HOP_BY_HOP", "INCOMPLETE_STATUS", "INCOMPLETE_NOTE", "answer_body", "forwardable_headers"]

HOOK_PREFIX = "/hook/"
# A request whose body never arrived whole: nobody got an answer (nginx's "client closed request"),
# so Jivo resends it; stored with this status and an `error` starting with INCOMPLETE_NOTE.
INCOMPLETE_STATUS = 499
INCOMPLETE_NOTE = "incomplete: "
# Headers that describe one connection, not the message: never forwarded or replayed.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect",
})


def answer_body(request_id: int | None, status: int, error: str | None) -> bytes:
    """The small JSON the recorder answers (kept out of the store: it follows from id, status, error)."""
    if status < 300:
        return b'{"ok":true,"id":%d}' % request_id
    return json.dumps({"ok": False, "id": request_id, "error": error}, ensure_ascii=False).encode()


def forwardable_headers(headers: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """`headers` minus hop-by-hop ones (and those the Connection header names), Host and Content-Length."""
    pairs = [(str(name), str(value)) for name, value in headers]
    named = {token.strip().lower() for name, value in pairs if name.lower() == "connection"
             for token in value.split(",")}
    return [(name, value) for name, value in pairs if name.lower() not in HOP_BY_HOP and name.lower() not in named]
