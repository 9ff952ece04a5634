"""What a webhook recorder stored, as values you can query, wait for, replay, export and compare.

    ex = Exchanges("hooks.sqlite")            # or Exchanges(recorder) while it runs
    ex.latest(); ex.all(chat="client-42", since="15m"); ex.raw(7)
    hit = ex.wait_for("client-42", timeout=30)      # returns as soon as it is stored
    assert_payload(hit, {"message": {"type": "text", "text": "Hello"}}, ignore=["message.id", "sender.*"])
    ex.replay(to=sandbox_webhook_url)                # byte for byte; answers kept in `replays`
    ex.export("har", out="hooks.har")                # or "curl", "jsonl"

Everything reads the store read-only (a live recorder keeps writing beside it), except `replay`
(which adds rows to `replays`) and `import_jsonl`. Stores of another schema, truncated or damaged
files raise `RecorderError` with the reason.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import shlex
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

from ..errors import JivoOpsError, RecorderError, WaitTimeoutError
from ..redaction import mask_url, redact, register_secret
from ..times import parse_time  # the one grammar of since=/until= (re-exported: it is in __all__)
from .store import (
    MASKED_TOKEN, REQUEST_COLUMNS, RecorderStore, StoreReader, append_requests, chat_of, insert_replays, utc_now_iso,
)
from .wire import INCOMPLETE_STATUS, answer_body, forwardable_headers

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "Exchange",
    "ForwardAnswer",
    "Exchanges",
    "WaitTimeoutError",
    "ReplayResult",
    "ReplayReport",
    "replay_exchanges",
    "export_exchanges",
    "to_curl",
    "to_har",
    "to_jsonl",
    "read_jsonl",
    "import_jsonl",
    "PayloadDiff",
    "Difference",
    "compare_payload",
    "assert_payload",
    "parse_time",
    "is_loopback",
    "EXPORT_FORMATS",
    "shown",
]

EXPORT_FORMATS = ("curl", "har", "jsonl")


def shown(text: object) -> str:
    """`redact(text)`, keeping the "{token}" placeholder of stored paths as it is (it hides nothing)."""
    return redact(str(text).replace(MASKED_TOKEN, "<token>")).replace("<token>", MASKED_TOKEN)


# ------------------------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class ForwardAnswer:
    """Tap mode: what the target said to the forwarded request (or why it could not be reached)."""

    url: str  # masked
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str | None
    elapsed_ms: float | None


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the recorder's answer. `body` is the raw bytes as received."""

    id: int
    received_at: datetime
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    chunked: bool
    status: int
    error: str | None = None
    content_type: str | None = None
    chat: str | None = None
    forward: ForwardAnswer | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, RecursionError):  # RecursionError: nested too deeply for json
            return None

    @property
    def is_json(self) -> bool:
        return self.json is not None or self.body.strip() == b"null"

    @property
    def is_text(self) -> bool:
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in self.body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def answer(self) -> tuple[int | None, bytes]:
        """(status, body) the caller got: the target's in tap mode, else the recorder's own."""
        if self.forward is not None and self.forward.status is not None:
            return self.forward.status, self.forward.body
        return self.status, answer_body(self.id, self.status, self.error)

    @property
    def replayable(self) -> bool:
        return self.status not in (413, INCOMPLETE_STATUS)  # nothing whole to send again

    def url(self, base: str | None = None, *, token: str | None = None) -> str:
        """Where it was sent: `base` (a target URL) + the query, or the recorder's own URL from the Host
        header with "{token}" in the path, or the real token when `token` is given."""
        if base:
            url = base
        else:
            path = self.path.replace(MASKED_TOKEN, token) if token else self.path
            url = f"http://{self.header('host') or 'localhost'}{path}"
        if self.query:
            url += ("&" if "?" in url else "?") + self.query
        return url

    def raw(self) -> bytes:
        """The request as HTTP/1.1 text, body de-chunked (token masked in the path)."""
        target = self.path + (f"?{self.query}" if self.query else "")
        head = f"{self.method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("latin-1", "replace") + b"\r\n" + self.body

    def summary(self) -> str:
        size = f"{len(self.body)} B"
        who = f" chat={self.chat}" if self.chat else ""
        fwd = f" → {self.forward.status or self.forward.error}" if self.forward else ""
        cut = f" ({self.error})" if self.status == INCOMPLETE_STATUS else ""
        return (f"#{self.id} {self.received_at.strftime('%H:%M:%S.%f')[:-3]} {self.method} {self.path} "
                f"{self.status}{fwd}{who} {size}{' chunked' if self.chunked else ''}{cut}")

    def to_json(self) -> dict:
        """A JSON-able dict; the body as UTF-8 text when it is text, else base64 (`body_encoding`)."""
        data = {
            "id": self.id, "received_at": self.received_at.isoformat(timespec="microseconds"),
            "method": self.method, "path": self.path, "query": self.query,
            "headers": [list(h) for h in self.headers], **_body_fields(self.body, "body"),
            "chunked": self.chunked, "status": self.status, "error": self.error,
            "content_type": self.content_type, "chat": self.chat, "forward": None,
        }
        if self.forward is not None:
            f = self.forward
            data["forward"] = {"url": f.url, "status": f.status, "headers": [list(h) for h in f.headers],
                               **_body_fields(f.body, "body"), "error": f.error, "elapsed_ms": f.elapsed_ms}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Exchange":
        try:
            forward = data.get("forward")
            return cls(
                id=int(data["id"]), received_at=_parse_iso(data["received_at"]), method=str(data["method"]),
                path=str(data["path"]), query=str(data.get("query") or ""),
                headers=tuple((str(k), str(v)) for k, v in data["headers"]),
                body=_body_from(data, "body"), chunked=bool(data.get("chunked")), status=int(data["status"]),
                error=data.get("error"), content_type=data.get("content_type"), chat=data.get("chat"),
                forward=None if not forward else ForwardAnswer(
                    url=str(forward.get("url") or ""), status=forward.get("status"),
                    headers=tuple((str(k), str(v)) for k, v in forward.get("headers") or ()),
                    body=_body_from(forward, "body"), error=forward.get("error"),
                    elapsed_ms=forward.get("elapsed_ms")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RecorderError(f"not a recorded exchange: {type(exc).__name__}: {exc}") from None


def _body_fields(body: bytes, key: str) -> dict:
    try:
        return {key: body.decode("utf-8"), f"{key}_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {key: base64.b64encode(body).decode("ascii"), f"{key}_encoding": "base64"}


def _body_from(data: dict, key: str) -> bytes:
    value = data.get(key) or ""
    if data.get(f"{key}_encoding") == "base64":
        return base64.b64decode(value, validate=True)
    return value.encode("utf-8")


def _parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _row_to_exchange(row: sqlite3.Row) -> Exchange:
    forward = None
    if row["forward_url"] is not None:
        forward = ForwardAnswer(
            url=row["forward_url"], status=row["forward_status"],
            headers=tuple(tuple(h) for h in json.loads(row["forward_headers"] or "[]")),
            body=bytes(row["forward_body"] or b""), error=row["forward_error"], elapsed_ms=row["forward_ms"])
    return Exchange(
        id=row["id"], received_at=_parse_iso(row["received_at"]), method=row["method"], path=row["path"],
        query=row["query"] or "", headers=tuple(tuple(h) for h in json.loads(row["headers"] or "[]")),
        body=bytes(row["body"] or b""), chunked=bool(row["chunked"]), status=row["status"], error=row["error"],
        content_type=row["content_type"], chat=row["chat"], forward=forward)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------- the queries


class Exchanges:
    """Queries over one recorder store: a path, a `RecorderStore` or a running `Recorder`."""

    def __init__(self, source: str | os.PathLike | RecorderStore | Any):
        self._live: RecorderStore | None = None
        if isinstance(source, RecorderStore):
            self._live, self.path = source, source.path
        elif isinstance(source, (str, os.PathLike)):
            self.path = Path(source)
        else:  # a Recorder, running or not
            self._live, self.path = source.store, Path(source.store_path)
        self._store = StoreReader(self.path)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Exchanges":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Exchanges {self.path}>"

    # -- filters
    def query(self, *, since: str | datetime | None = None, until: str | datetime | None = None,
              path: str | None = None, status: int | Iterable[int] | None = None, chat: str | None = None,
              method: str | None = None, after_id: int | None = None, ids: Iterable[int] | None = None,
              limit: int | None = None, newest_first: bool = False) -> list[Exchange]:
        """Requests matching every filter given. `path` may use `*` wildcards (e.g. "/hook/{token}*")."""
        where, args = [], []
        if since is not None:
            where.append("received_at >= ?")
            args.append(parse_time(since, name="since").isoformat(timespec="microseconds"))
        if until is not None:
            where.append("received_at <= ?")
            args.append(parse_time(until, name="until").isoformat(timespec="microseconds"))
        if path is not None:
            where.append("path GLOB ?")
            args.append(path.replace("[", "[[]"))
        if status is not None:
            codes = [status] if isinstance(status, int) else list(status)
            where.append(f"status IN ({', '.join('?' * len(codes))})")
            args.extend(int(c) for c in codes)
        if chat is not None:
            where.append("chat = ?")
            args.append(str(chat))
        if method is not None:
            where.append("method = ?")
            args.append(method.upper())
        if after_id is not None:
            where.append("id > ?")
            args.append(int(after_id))
        if ids is not None:
            wanted = [int(i) for i in ids]
            where.append(f"id IN ({', '.join('?' * len(wanted))})")
            args.extend(wanted)
        sql = (f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
               + (" LIMIT ?" if limit is not None else ""))
        if limit is not None:
            args.append(int(limit))
        return [_row_to_exchange(row) for row in self._store.select(sql, args)]

    def all(self, **filters) -> list[Exchange]:
        """Every request (oldest first), narrowed by the `query` filters."""
        return self.query(**filters)

    def latest(self, **filters) -> Exchange | None:
        found = self.query(limit=1, newest_first=True, **filters)
        return found[0] if found else None

    def get(self, request_id: int) -> Exchange:
        found = self.query(ids=[request_id])
        if not found:
            raise RecorderError(f"{self.path}: no request #{request_id} (the store has {self.count()}); "
                                "pick an id the store lists (`Exchanges.all()`, `jivo-ops export`)")
        return found[0]

    def raw(self, request_id: int) -> bytes:
        """Request #id as HTTP/1.1 text: request line, headers as received, blank line, body bytes."""
        return self.get(request_id).raw()

    def count(self) -> int:
        return self._store.count()

    def last_id(self) -> int:
        return self._store.highest_id()

    # -- waiting
    def wait_for(self, match: str | Callable[[Exchange], bool], timeout: float = 10.0, *,
                 after_id: int = 0, poll: float = 0.05) -> Exchange:
        """The first stored request (id > `after_id`) matching `match` — a chat id, or a predicate over
        `Exchange` — returned as soon as it is committed; `WaitTimeoutError` listing what arrived otherwise."""
        if isinstance(match, str):
            chat_id = match
            predicate: Callable[[Exchange], bool] = lambda ex: ex.chat == chat_id
            wanted = f"chat {chat_id!r}"
        elif callable(match):
            predicate, wanted = match, getattr(match, "__name__", "the predicate")
        else:
            raise TypeError("wait_for(match): a chat id (str) or a function Exchange -> bool")
        deadline = time.monotonic() + timeout
        seen = after_id
        considered: list[Exchange] = []
        while True:
            for exchange in self.query(after_id=seen):
                seen = exchange.id
                if predicate(exchange):
                    return exchange
                considered.append(exchange)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._live is not None and not self._live.closed:  # in-process: wake on the commit itself
                self._live.wait_for_commit(seen, min(left, 1.0))
            else:
                time.sleep(min(poll, left))
        listed = "; ".join(ex.summary() for ex in considered[-10:])
        more = f" (last 10 of {len(considered)})" if len(considered) > 10 else ""
        arrived = f"{len(considered)} other request(s) arrived{more}: {listed}" if considered else "nothing arrived"
        raise WaitTimeoutError(shown(f"no request for {wanted} in {self.path.name} within {timeout:g} s; "
                                      f"{arrived}"), considered)

    # -- replays stored beside the originals
    def replays(self, request_id: int | None = None) -> list[dict]:
        sql = "SELECT * FROM replays" + (" WHERE request_id = ?" if request_id is not None else "") + " ORDER BY id"
        rows = self._store.select(sql, [request_id] if request_id is not None else [])
        return [{**dict(row), "body": bytes(row["body"] or b""),
                 "headers": json.loads(row["headers"] or "[]")} for row in rows]

    # -- faces of the module functions
    def replay(self, to: str, exchanges: Iterable[Exchange] | None = None, *, yes: bool = False,
               dry_run: bool | None = None, timeout: float = 10.0, **filters) -> "ReplayReport":
        chosen = list(exchanges) if exchanges is not None else self.query(**filters)
        return replay_exchanges(chosen, to, store=self.path, yes=yes, dry_run=dry_run, timeout=timeout)

    def export(self, fmt: str, *, out: str | os.PathLike | None = None, url: str | None = None,
               token: str | None = None, reveal: bool = False, **filters) -> str:
        return export_exchanges(self.query(**filters), fmt, out=out, url=url, token=token, reveal=reveal)


# ----------------------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayResult:
    request_id: int
    target: str  # masked
    sent: bool
    chunked: bool
    status: int | None = None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    elapsed_ms: float | None = None
    original_status: int | None = None
    original_body: bytes = b""

    @property
    def changes(self) -> list[str]:
        """What differs from the original answer: status, body."""
        if not self.sent:
            return []
        if self.error:
            return [f"error: {self.error}"]
        out = []
        if self.status != self.original_status:
            out.append(f"status {self.original_status} → {self.status}")
        if self.body != self.original_body:
            out.append(f"body {_short(self.original_body)} → {_short(self.body)}")
        return out

    @property
    def ok(self) -> bool:
        return self.sent and self.error is None and self.status is not None and 200 <= self.status < 300


def _short(body: bytes, limit: int = 60) -> str:
    text = body.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "…")


@dataclass
class ReplayReport:
    target: str  # masked
    dry_run: bool
    results: list[ReplayResult] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped and (self.dry_run or all(r.ok for r in self.results))

    def rows(self) -> list[tuple]:
        rows = [(r.request_id, "chunked" if r.chunked else "length", "dry run" if not r.sent else
                 (r.status if r.error is None else "error"), r.original_status,
                 f"{r.elapsed_ms:.0f}" if r.elapsed_ms is not None else "",
                 "; ".join(r.changes) or ("would send" if not r.sent else "same")) for r in self.results]
        rows += [(rid, "", "skipped", "", "", reason) for rid, reason in self.skipped]
        return rows

    COLUMNS = ("id", "framing", "status", "was", "ms", "changes")

    def __str__(self) -> str:
        from ..text import format_table

        head = (f"dry run: nothing sent to {self.target} (not a loopback address; confirm with yes=True / --yes)"
                if self.dry_run else f"replayed {len(self.results)} request(s) to {self.target}")
        return shown(head + "\n" + format_table(self.rows(), self.COLUMNS))


def replay_exchanges(exchanges: Iterable[Exchange], to: str, *, store: str | os.PathLike | None = None,
                     yes: bool = False, dry_run: bool | None = None, timeout: float = 10.0) -> ReplayReport:
    """Re-send `exchanges` to `to` byte for byte (method, body, content type, chunked framing when it came
    chunked; hop-by-hop headers dropped) and, with `store`, keep each answer in its `replays` table.

    Dry run (nothing sent) by default when `to` is not a loopback address, unless `yes`."""
    import httpx

    from ..channel.http import check_url, chunked_body, make_client

    to = check_url(to, "replay target")
    register_secret(to)
    target = mask_url(to)
    if dry_run is None:
        dry_run = not yes and not is_loopback(to)
    report = ReplayReport(target=target, dry_run=dry_run)
    chosen = []
    for exchange in exchanges:
        if not exchange.replayable:
            report.skipped.append((exchange.id, "its body was over the cap and was not kept"))
        else:
            chosen.append(exchange)
    if dry_run:
        for ex in chosen:
            status, body = ex.answer
            report.results.append(ReplayResult(ex.id, target, False, ex.chunked, original_status=status,
                                               original_body=body))
        return report
    rows = []
    with make_client(timeout=timeout) as client:
        for ex in chosen:
            content: Any = chunked_body(ex.body) if ex.chunked else ex.body
            started = time.perf_counter()
            status, body, headers, error = None, b"", (), None
            try:
                response = client.request(ex.method, ex.url(to), content=content, headers=forwardable_headers(ex.headers))
                status, body = response.status_code, response.content
                headers = tuple(response.headers.multi_items())
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {redact(exc)}"
            elapsed = (time.perf_counter() - started) * 1000
            original_status, original_body = ex.answer
            result = ReplayResult(ex.id, target, True, ex.chunked, status, body, headers, error, elapsed,
                                  original_status, original_body)
            report.results.append(result)
            rows.append((ex.id, utc_now_iso(), target, int(ex.chunked), status,
                         json.dumps([list(h) for h in headers], ensure_ascii=False), body, error, elapsed))
    if store is not None and rows:
        insert_replays(store, rows)
    return report


# ----------------------------------------------------------------------------------------------- export


def _target_url(ex: Exchange, url: str | None, token: str | None, reveal: bool) -> str:
    """The URL an export shows: `url` or the recorder's own; tokens masked unless `reveal`."""
    if url:
        full = ex.url(url)
        return full if reveal else mask_url(full)
    return ex.url(token=token if reveal else None)


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _shown_header(name: str, value: str, reveal: bool) -> str:
    """A recorded header value as curl/HAR exports show it: credentials masked unless `reveal`."""
    if reveal:
        return value
    if name.lower() in _CREDENTIAL_HEADERS:
        scheme, _, rest = value.partition(" ")
        return f"{scheme} …" if rest else "…"
    return redact(value)


def to_curl(exchanges: Iterable[Exchange], *, url: str | None = None, token: str | None = None,
            reveal: bool = False) -> str:
    """One shell command per request that re-sends it with curl, byte for byte.

    The URL is `url` (a target) or the recorder's own; its token is masked unless `reveal` (then the
    line runs as is). Text bodies go inline (`--data-raw`), others through base64."""
    lines = []
    for ex in exchanges:
        parts = ["curl", "-sS", "-X", ex.method, shlex.quote(_target_url(ex, url, token, reveal))]
        for name, value in forwardable_headers(ex.headers):
            parts += ["-H", shlex.quote(f"{name}: {_shown_header(name, value, reveal)}")]
        if ex.chunked:
            parts += ["-H", shlex.quote("Transfer-Encoding: chunked")]
        parts += ["-H", shlex.quote("Expect:")]
        prefix = ""
        if ex.body or ex.chunked:
            if ex.is_text:
                parts += ["--data-raw", shlex.quote(ex.text)]
            else:
                prefix = f"printf %s {shlex.quote(base64.b64encode(ex.body).decode())} | base64 -d | "
                parts += ["--data-binary", "@-"]
        note = "" if ex.replayable else " (its body was over the cap and was not kept: this line sends none)"
        lines.append(f"# #{ex.id} {ex.received_at.isoformat(timespec='microseconds')}{note}\n"
                     f"{prefix}{' '.join(parts)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _har_content(body: bytes, mime: str) -> dict:
    fields = _body_fields(body, "text")
    content = {"size": len(body), "mimeType": mime, "text": fields["text"]}
    if fields["text_encoding"] == "base64":
        content["encoding"] = "base64"
    return content


def to_har(exchanges: Iterable[Exchange], *, url: str | None = None, token: str | None = None,
           reveal: bool = False) -> dict:
    """A HAR 1.2 log (loads in a browser's network panel): one entry per request with the answer the
    caller got; binary bodies base64 with `"encoding": "base64"`."""
    from .. import __version__

    entries = []
    for ex in exchanges:
        full = _target_url(ex, url, token, reveal)
        mime = ex.content_type or "application/octet-stream"
        post = {"mimeType": mime, "params": [], **_har_content(ex.body, mime)}
        post.pop("size")  # postData has no size in HAR 1.2
        status, answer = ex.answer
        if ex.forward is not None and ex.forward.status is not None:
            answer_headers = [{"name": k, "value": v} for k, v in ex.forward.headers]
            answer_mime = next((v for k, v in ex.forward.headers if k.lower() == "content-type"),
                               "application/octet-stream")
        else:
            answer_mime = "application/json" if status != 404 else "text/plain; charset=utf-8"
            answer_headers = [{"name": "content-type", "value": answer_mime},
                              {"name": "content-length", "value": str(len(answer))}]
        wait = ex.forward.elapsed_ms if ex.forward and ex.forward.elapsed_ms is not None else 0.0
        entries.append({
            "startedDateTime": ex.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "time": wait,
            "request": {
                "method": ex.method, "url": full, "httpVersion": "HTTP/1.1", "cookies": [],
                "headers": [{"name": k, "value": _shown_header(k, v, reveal)} for k, v in ex.headers],
                "queryString": [{"name": k, "value": v} for k, v in parse_qsl(ex.query, keep_blank_values=True)],
                "headersSize": -1, "bodySize": len(ex.body),
                **({"postData": post} if ex.body or ex.method not in ("GET", "HEAD") else {}),
            },
            "response": {
                "status": status or 0, "statusText": _status_text(status), "httpVersion": "HTTP/1.1",
                "cookies": [], "headers": answer_headers, "content": _har_content(answer, answer_mime),
                "redirectURL": "", "headersSize": -1, "bodySize": len(answer),
            },
            "cache": {},
            "timings": {"send": 0, "wait": wait, "receive": 0},
            "comment": f"jivo-ops request #{ex.id}" + (" (chunked)" if ex.chunked else ""),
        })
    return {"log": {"version": "1.2", "creator": {"name": "jivo-ops", "version": __version__},
                    "pages": [], "entries": entries}}


def _status_text(status: int | None) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except (ValueError, TypeError):
        return ""


def to_jsonl(exchanges: Iterable[Exchange]) -> str:
    """One JSON object per line (`Exchange.to_json`): every byte kept, readable back with `read_jsonl`."""
    return "".join(json.dumps(ex.to_json(), ensure_ascii=False) + "\n" for ex in exchanges)


def read_jsonl(path: str | os.PathLike) -> list[Exchange]:
    path = Path(path)
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecorderError(f"{path}: cannot read ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Exchange.from_json(json.loads(line)))
        except (ValueError, RecorderError) as exc:
            raise RecorderError(f"{path}, line {number}: {exc}") from None
    return out


def import_jsonl(path: str | os.PathLike, store: str | os.PathLike) -> list[int]:
    """Append the exchanges of a JSONL export to `store` (created if missing); the new ids, in order."""
    exchanges = read_jsonl(path)
    rows = [(ex.received_at.astimezone(timezone.utc).isoformat(timespec="microseconds"), ex.method, ex.path,
             ex.query, json.dumps([list(h) for h in ex.headers], ensure_ascii=False), ex.body, int(ex.chunked),
             ex.status, ex.error, ex.content_type, ex.chat if ex.chat is not None else chat_of(ex.json),
             *((ex.forward.url, ex.forward.status,
                json.dumps([list(h) for h in ex.forward.headers], ensure_ascii=False), ex.forward.body,
                ex.forward.error, ex.forward.elapsed_ms) if ex.forward else (None,) * 6))
            for ex in exchanges]
    return append_requests(store, rows)


def export_exchanges(exchanges: Iterable[Exchange], fmt: str, *, out: str | os.PathLike | None = None,
                     url: str | None = None, token: str | None = None, reveal: bool = False) -> str:
    """`curl`, `har` or `jsonl` text of `exchanges`; written to `out` (mode 0600) when given. A
    target's answers (tap mode) are masked unless `reveal`: a target may echo its own URL."""
    if not reveal:
        exchanges = [_answer_masked(ex) for ex in exchanges]
    if fmt == "curl":
        text = to_curl(exchanges, url=url, token=token, reveal=reveal)
    elif fmt == "har":
        text = json.dumps(to_har(exchanges, url=url, token=token, reveal=reveal), ensure_ascii=False, indent=1)
    elif fmt == "jsonl":
        text = to_jsonl(exchanges)
    else:
        raise JivoOpsError(f"export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if out is not None:
        target = Path(out)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise JivoOpsError(f"{target}: cannot write the export ({exc.strerror})") from None
    return text


def _answer_masked(ex: Exchange) -> Exchange:
    """`ex` with its target's answer (headers and body) passed through `redact`; every other byte kept."""
    if ex.forward is None:
        return ex
    body = redact(ex.forward.body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    headers = tuple((name, redact(value)) for name, value in ex.forward.headers)
    return replace(ex, forward=replace(ex.forward, body=body, headers=headers))


# ---------------------------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Difference:
    path: str  # e.g. message.text, replies[0].type; "" for the whole payload
    kind: str  # "changed", "missing" (in actual), "unexpected" (only in actual), "type"
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        where = self.path or "(payload)"
        if self.kind == "missing":
            return f"- {where}: missing (expected {_show(self.expected)})"
        if self.kind == "unexpected":
            return f"+ {where}: unexpected {_show(self.actual)}"
        return f"~ {where}: expected {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


@dataclass(frozen=True)
class PayloadDiff:
    """The JSON-aware differences of a payload against a golden one (empty when they match)."""

    differences: tuple[Difference, ...]
    ignored: tuple[str, ...] = ()

    @property
    def equal(self) -> bool:
        return not self.differences

    def __bool__(self) -> bool:  # truthy when there ARE differences, like a diff
        return bool(self.differences)

    def __str__(self) -> str:
        if not self.differences:
            return "payloads match" + (f" (ignoring {', '.join(self.ignored)})" if self.ignored else "")
        head = f"{len(self.differences)} difference(s) from the golden payload"
        head += f" (ignoring {', '.join(self.ignored)})" if self.ignored else ""
        return shown(head + ":\n" + "\n".join(f"  {d}" for d in self.differences))

    def assert_equal(self) -> None:
        if self.differences:
            raise AssertionError(str(self))


def _pattern(path: str) -> re.Pattern:
    text = re.escape(path.strip())
    text = text.replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[\]]*")
    if text.endswith(r"\.[^.\[\]]*"):  # "sender.*" also covers "sender" itself
        text = text[: -len(r"\.[^.\[\]]*")] + r"(?:\.[^.\[\]]*)?"
    # A pattern covers its path and everything below it.
    return re.compile(text + r"(?:[.\[].*)?")


def _load_payload(value: Any, what: str) -> Any:
    if isinstance(value, Exchange):
        if not value.is_json:
            raise JivoOpsError(f"{what}: request #{value.id} has no JSON body ({len(value.body)} bytes)")
        return value.json
    if isinstance(value, Path):
        try:
            value = value.read_bytes()
        except OSError as exc:
            raise JivoOpsError(f"{what}: cannot read {value} ({exc.strerror})") from None
    if isinstance(value, (bytes, bytearray, str)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise JivoOpsError(f"{what} is not JSON: {exc}") from None
    return value


def compare_payload(actual: Any, golden: Any, *, ignore: Iterable[str] = ()) -> PayloadDiff:
    """Differences of `actual` (an Exchange, JSON bytes/text, or parsed value) against `golden` (the same,
    or a Path to a .json file), skipping `ignore` paths: "message.id", "sender.*" (sender and all below),
    "replies[*].id". Numbers compare by value (1 == 1.0), never a bool with a number."""
    ignore = tuple(ignore)
    patterns = [_pattern(p) for p in ignore]
    skipped = lambda path: any(p.fullmatch(path) for p in patterns)  # noqa: E731
    found: list[Difference] = []

    def walk(exp: Any, act: Any, path: str) -> None:
        if skipped(path) and path:
            return
        if isinstance(exp, dict) and isinstance(act, dict):
            for key in exp:
                child = f"{path}.{key}" if path else str(key)
                if key not in act:
                    if not skipped(child):
                        found.append(Difference(child, "missing", expected=exp[key]))
                else:
                    walk(exp[key], act[key], child)
            for key in act:
                child = f"{path}.{key}" if path else str(key)
                if key not in exp and not skipped(child):
                    found.append(Difference(child, "unexpected", actual=act[key]))
        elif isinstance(exp, list) and isinstance(act, list):
            for index in range(max(len(exp), len(act))):
                child = f"{path}[{index}]"
                if index >= len(act):
                    if not skipped(child):
                        found.append(Difference(child, "missing", expected=exp[index]))
                elif index >= len(exp):
                    if not skipped(child):
                        found.append(Difference(child, "unexpected", actual=act[index]))
                else:
                    walk(exp[index], act[index], child)
        elif _kind(exp) != _kind(act):
            found.append(Difference(path, "type", expected=exp, actual=act))
        elif exp != act:
            found.append(Difference(path, "changed", expected=exp, actual=act))

    walk(_load_payload(golden, "golden payload"), _load_payload(actual, "recorded payload"), "")
    return PayloadDiff(tuple(found), ignore)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_payload(actual: Any, golden: Any, *, ignore: Iterable[str] = ()) -> None:
    """`compare_payload(...)`, raising AssertionError with the readable diff when they differ."""
    compare_payload(actual, golden, ignore=ignore).assert_equal()
