"""The webhook recorder: a receiver for Jivo's webhook calls that keeps every request on disk
before it says 200, optionally as a tap in front of the real receiver (JAICP's Internal Webhook Url).

    with Recorder("hooks.sqlite") as rec:
        print(rec.masked_url)        # rec.url (with the token) goes into Jivo's «URL вашего сервера для Webhooks»
        ...
        rec.exchanges.wait_for("client-42", timeout=30)

What a request meets, in order:

- the path must be `/hook/<token>` (or below it); any other path or a wrong token gets the same
  `404 Not Found`, token compared in constant time, and **nothing is recorded** (a stranger who
  guesses the port cannot write into the store; `Recorder.rejected` counts them);
- the body is capped (`max_body`, 1 MiB by default): a larger `Content-Length` → 413 at once, a
  chunked body → 413 as soon as the cap is passed (reading stops there); the row is kept with an
  empty body and the reason in `error`;
- a non-empty body that is not JSON → 400, the raw bytes still recorded; a method other than
  POST → 405, recorded;
- otherwise 200 `{"ok":true,"id":N}`.

In **tap mode** (`forward=URL`) each request (above the cap excepted) is sent on unchanged: method,
body bytes, content type, chunked framing when it came chunked, other headers minus hop-by-hop ones.
The target's answer (status, headers, body, or the connection error) is stored beside the request,
and the caller gets the target's status and body, so Jivo sees exactly what JAICP said; when the
target cannot be reached the caller gets 502 (504 on a timeout), so Jivo resends as its docs promise.

Durability: SQLite in WAL mode with `synchronous=FULL`. One writer thread commits requests in
batches (group commit); each request waits for its batch's commit before it is answered, so
"acknowledged" means "on disk", and a recorder restarted on the same store has everything it ever
acknowledged. The store layout is contract C (see `SCHEMA`): other tools read it read-only.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import os
import queue
import re
import secrets
import sqlite3
import struct
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import RecorderError
from ..redaction import mask_url, register_secret

__all__ = [
    "Recorder",
    "RecorderStore",
    "SCHEMA_VERSION",
    "DEFAULT_MAX_BODY",
    "HOOK_PREFIX",
    "HOP_BY_HOP",
    "forwardable_headers",
    "chat_of",
    "answer_body",
    "open_readonly",
    "build_app",
]

SCHEMA_VERSION = 1
DEFAULT_MAX_BODY = 1024 * 1024
HOOK_PREFIX = "/hook/"
MASKED_TOKEN = "{token}"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{8,200}")
# Headers that describe one connection, not the message: never forwarded or replayed.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect",
})

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,          -- ISO 8601 UTC, microseconds, "+00:00"
    method TEXT NOT NULL,
    path TEXT NOT NULL,                 -- the secret token replaced by "{MASKED_TOKEN}"
    query TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL,              -- JSON list of [name, value], as received
    body BLOB NOT NULL,                 -- raw bytes as received (de-chunked)
    chunked INTEGER NOT NULL DEFAULT 0, -- 1 when it came with Transfer-Encoding: chunked
    status INTEGER NOT NULL,            -- what the recorder answered
    error TEXT,                         -- why it was not a clean 200 (bad JSON, over the cap, ...)
    content_type TEXT,
    chat TEXT,                          -- recipient.id of a Jivo agent message, else sender.id
    forward_url TEXT,                   -- tap mode: the target, masked
    forward_status INTEGER,
    forward_headers TEXT,
    forward_body BLOB,
    forward_error TEXT,
    forward_ms REAL
);
CREATE INDEX IF NOT EXISTS requests_received_at ON requests(received_at);
CREATE INDEX IF NOT EXISTS requests_chat ON requests(chat);
CREATE TABLE IF NOT EXISTS replays (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    sent_at TEXT NOT NULL,
    target TEXT NOT NULL,               -- masked
    chunked INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    headers TEXT,
    body BLOB,
    error TEXT,
    elapsed_ms REAL
);
CREATE INDEX IF NOT EXISTS replays_request ON replays(request_id);
"""

REQUEST_COLUMNS = ("id", "received_at", "method", "path", "query", "headers", "body", "chunked", "status",
                   "error", "content_type", "chat", "forward_url", "forward_status", "forward_headers",
                   "forward_body", "forward_error", "forward_ms")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def chat_of(parsed: Any) -> str | None:
    """The client id a body is about: `recipient.id` (Jivo → webhook), else `sender.id` (client → Jivo)."""
    if not isinstance(parsed, dict):
        return None
    for key in ("recipient", "sender"):
        part = parsed.get(key)
        if isinstance(part, dict) and part.get("id") not in (None, ""):
            return str(part["id"])
    return None


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


# ---------------------------------------------------------------------------------------------- the store


def _sqlite_header_problem(path: Path) -> str | None:
    """Why `path` cannot be a whole SQLite file, judged from its 100-byte header and its size."""
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return "not an SQLite file"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    # The page count is trusted only when written by a library that keeps it (same change counter), and
    # only with no live WAL beside the file: a checkpoint may write the new header before the last pages.
    wal = path.with_name(path.name + "-wal")
    live = wal.exists() and wal.stat().st_size > 0
    if not live and header[24:28] == header[92:96] and pages and size < pages * page_size:
        return f"truncated: {size} bytes on disk, its header says {pages * page_size}"
    if page_size and size % page_size:
        return f"truncated: {size} bytes is not a whole number of {page_size}-byte pages"
    return None


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables or "requests" not in tables:
        raise RecorderError(f"{path}: not a jivo_ops recorder store (no meta/requests tables); "
                            "point at a file written by `jivo-ops record`")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = row[0] if row else None
    if str(version) != str(SCHEMA_VERSION):
        older = version is not None and str(version).isdigit() and int(version) < SCHEMA_VERSION
        raise RecorderError(
            f"{path}: recorder store schema version {version!r} "
            f"{'is older than' if older else 'is not'} the one this jivo_ops reads ({SCHEMA_VERSION}); "
            "export it with the jivo_ops that wrote it (`jivo-ops export --format jsonl`) and load that file "
            "here with jivo_ops.recorder.exchanges.import_jsonl")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(requests)")}
    missing = [c for c in REQUEST_COLUMNS if c not in columns]
    if missing:
        raise RecorderError(f"{path}: recorder store lacks column(s) {', '.join(missing)}; it is damaged or foreign")


def _wrap(path: Path, exc: sqlite3.Error) -> RecorderError:
    return RecorderError(f"{path}: cannot read the recorder store ({exc}); the file may be truncated, "
                         "damaged or not a recorder store")


def open_readonly(path: str | os.PathLike) -> sqlite3.Connection:
    """A read-only connection to a recorder store, checked; RecorderError when missing, foreign or damaged."""
    path = Path(path)
    if not path.is_file():
        raise RecorderError(f"{path}: no such recorder store")
    problem = _sqlite_header_problem(path)
    if problem:
        raise RecorderError(f"{path}: {problem}; not a usable recorder store")
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        _check_schema(conn, path)
    except sqlite3.Error as exc:
        raise _wrap(path, exc) from None
    return conn


def open_writable(path: str | os.PathLike, *, create: bool = True) -> sqlite3.Connection:
    """A write connection (autocommit; callers BEGIN themselves) with WAL + synchronous=FULL; creates
    the schema in a new or empty file, checks it in an existing one."""
    path = Path(path)
    if path.exists():
        problem = _sqlite_header_problem(path)
        if problem:
            raise RecorderError(f"{path}: {problem}; not a usable recorder store (choose another --store)")
    elif not create:
        raise RecorderError(f"{path}: no such recorder store")
    elif not path.parent.is_dir():
        raise RecorderError(f"{path}: folder {path.parent} does not exist")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        fresh = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if fresh:
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("created_at", utc_now_iso()), ("created_by", "jivo_ops"),
            ])
            conn.execute("COMMIT")
        _check_schema(conn, path)
    except sqlite3.Error as exc:
        raise _wrap(path, exc) from None
    return conn


class RecorderStore:
    """A recorder store opened for writing, with its group-commit writer thread.

    `submit(row)` (from the server's event loop) returns an asyncio future that resolves to the
    row's id once the batch holding it is committed; `wait_for_commit` lets in-process readers
    (`Exchanges.wait_for`) wake on each commit instead of polling the file.
    """

    MAX_BATCH = 2000

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._conn = open_writable(self.path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._committed = threading.Condition()
        self.last_id = self._conn.execute("SELECT coalesce(max(id), 0) FROM requests").fetchone()[0]
        self.committed_batches = 0
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name=f"recorder-writer:{self.path.name}",
                                        daemon=True)
        self._writer.start()

    # -- writing (event loop side)
    def submit(self, row: tuple) -> asyncio.Future:
        """Queue `row` (REQUEST_COLUMNS without id) for the next batch; await the result for its id."""
        if self._closed:
            raise RecorderError(f"{self.path}: the recorder store is closed")
        future = asyncio.get_running_loop().create_future()
        self._queue.put((row, future))
        return future

    # -- the writer thread
    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list) -> None:
        ids: list[int] | None = None
        error: Exception | None = None
        try:
            ids = insert_rows(self._conn, [row for row, _ in batch])
        except sqlite3.Error as exc:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            error = RecorderError(f"{self.path}: cannot store the request ({exc})")
        if ids:
            with self._committed:
                self.last_id = ids[-1]
                self.committed_batches += 1
                self._committed.notify_all()
        # One hop back to each event loop per batch, not per request.
        by_loop: dict[Any, list] = {}
        for index, (_, future) in enumerate(batch):
            by_loop.setdefault(future.get_loop(), []).append((future, ids[index] if ids else None))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled, error)
            except RuntimeError:  # that loop is gone: nobody waits for the answer any more
                pass

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_for_commit(self, after_id: int, timeout: float) -> bool:
        """Block until a request with id > `after_id` is committed (True) or `timeout` passes (False)."""
        with self._committed:
            return self._committed.wait_for(lambda: self.last_id > after_id or self._closed, timeout)

    def close(self) -> None:
        """Commit what is queued, stop the writer, checkpoint the WAL, close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(30)
        with self._committed:
            self._committed.notify_all()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self._conn.close()

    def __enter__(self) -> "RecorderStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RecorderStore {self.path} last_id={self.last_id}{' closed' if self._closed else ''}>"


def _settle(settled: list, error: Exception | None) -> None:
    for future, row_id in settled:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(row_id)


_ROWS_PER_STATEMENT = 500  # 17 values a row: well under SQLite's 32766 bound parameters


@functools.lru_cache(maxsize=64)
def _insert_statement(count: int) -> str:
    row = f"({', '.join('?' * (len(REQUEST_COLUMNS) - 1))})"
    return f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS[1:])}) VALUES {', '.join([row] * count)}"


def insert_rows(conn: sqlite3.Connection, rows: Sequence[Sequence]) -> list[int]:
    """Insert `rows` (REQUEST_COLUMNS without id) in one transaction on a write connection; their ids.

    One multi-row INSERT per 500 rows: one trip into SQLite (and one GIL hand-off) per batch rather
    than one per row. Inside BEGIN IMMEDIATE no other writer interleaves, and SQLite gives each row
    of the statement the next id after the largest, so the ids run up to the last one."""
    ids: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        part = rows[start:start + _ROWS_PER_STATEMENT]
        last = conn.execute(_insert_statement(len(part)), [value for row in part for value in row]).lastrowid
        ids.extend(range(last - len(part) + 1, last + 1))
    conn.execute("COMMIT")
    return ids


# ------------------------------------------------------------------------------------------- the receiver


def _header(headers: list, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


class _HookEndpoint:
    """The ASGI endpoint behind `/hook/{token}`: check, read, (forward,) store, then answer."""

    def __init__(self, store: RecorderStore, token: str, *, max_body: int, forward: str | None,
                 forward_timeout: float, counters: dict):
        self.store, self._token = store, token.encode()
        self.max_body, self.forward, self.forward_timeout = max_body, forward, forward_timeout
        self.counters = counters
        self.client = None  # the tap's httpx.AsyncClient, made at startup

    async def __call__(self, scope, receive, send) -> None:
        received_at = utc_now_iso()
        params = scope.get("path_params") or {}
        if not hmac.compare_digest(str(params.get("token", "")).encode(), self._token):
            self.counters["rejected"] += 1
            await _reply(send, 404, b"Not Found", b"text/plain; charset=utf-8")
            return
        method = scope["method"]
        rest = params.get("rest")
        path = HOOK_PREFIX + MASKED_TOKEN + (f"/{rest}" if rest else "")
        query = scope.get("query_string", b"").decode("latin-1")
        raw_headers = scope["headers"]
        chunked = b"chunked" in (_header(raw_headers, b"transfer-encoding") or b"").lower()
        content_type_raw = _header(raw_headers, b"content-type")
        content_type = content_type_raw.decode("latin-1") if content_type_raw is not None else None
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in raw_headers]

        body, error, status = await self._read_body(receive, raw_headers, chunked)
        parsed = None
        if status is None and body:
            try:
                parsed = json.loads(body)
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                error = f"body is not valid JSON: {exc}"
            except RecursionError:  # e.g. 100,000 nested brackets: json.loads gives up, the request is still bad
                error = "body is not valid JSON: nested too deeply"
        if status is None and not self.forward:
            if method != "POST":
                status, error = 405, f"method {method} is not accepted here; Jivo posts with POST"
            elif error is not None:
                status = 400
            elif not body:
                status, error = 400, "empty body; Jivo posts a JSON object"
            else:
                status = 200

        forward_cols: tuple = (None, None, None, None, None, None)
        answer: tuple[bytes, bytes] | None = None
        if status is None:  # tap mode: the target decides
            status, forward_cols, answer = await self._forward(method, rest, query, headers, body, chunked)

        row = (received_at, method, path, query, json.dumps(headers, ensure_ascii=False), body, int(chunked),
               status, error, content_type, chat_of(parsed), *forward_cols)
        try:
            request_id = await self.store.submit(row)
        except RecorderError as exc:
            await _reply(send, 503, json.dumps({"ok": False, "error": str(exc)}).encode(), b"application/json")
            return
        if answer is not None:
            await _reply(send, status, answer[0], answer[1])
        else:
            extra = [(b"allow", b"POST")] if status == 405 else None
            await _reply(send, status, answer_body(request_id, status, error), b"application/json", extra)

    async def _read_body(self, receive, raw_headers, chunked: bool) -> tuple[bytes, str | None, int | None]:
        """(body, error, status): status 413 when over the cap, None when read in full."""
        declared = _header(raw_headers, b"content-length")
        if declared is not None and not chunked:
            try:
                size = int(declared)
            except ValueError:
                return b"", f"bad Content-Length {declared[:40].decode('latin-1')!r}", 400
            if size > self.max_body:
                return b"", f"body of {size} bytes is over the {self.max_body}-byte cap", 413
        parts: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            if chunk:
                total += len(chunk)
                if total > self.max_body:
                    # Stop reading here: whatever else comes is never buffered.
                    return b"", f"body over the {self.max_body}-byte cap (stopped reading at {total} bytes)", 413
                parts.append(chunk)
            if not message.get("more_body", False):
                break
        return (parts[0] if len(parts) == 1 else b"".join(parts)), None, None

    async def _forward(self, method: str, rest: str | None, query: str, headers: list, body: bytes,
                       chunked: bool) -> tuple[int, tuple, tuple[bytes, bytes]]:
        import httpx

        url = self.forward.rstrip("/") + f"/{rest}" if rest else self.forward
        if query:
            url += ("&" if "?" in url else "?") + query
        content: Any = body
        if chunked:
            async def stream(data: bytes = body):
                if data:
                    yield data
            content = stream()
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, content=content,
                                                 headers=forwardable_headers(headers),
                                                 timeout=self.forward_timeout)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            timeout = isinstance(exc, httpx.TimeoutException)
            reason = f"forward to {mask_url(self.forward)} failed: {type(exc).__name__}"
            status = 504 if timeout else 502
            cols = (mask_url(self.forward), None, None, None, reason, elapsed)
            return status, cols, (json.dumps({"ok": False, "error": reason}).encode(), b"application/json")
        elapsed = (time.perf_counter() - started) * 1000
        answer_headers = [[k, v] for k, v in response.headers.multi_items()]
        cols = (mask_url(self.forward), response.status_code, json.dumps(answer_headers, ensure_ascii=False),
                response.content, None, elapsed)
        content_type = response.headers.get("content-type", "application/octet-stream").encode("latin-1")
        return response.status_code, cols, (response.content, content_type)


async def _reply(send, status: int, body: bytes, content_type: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build_app(store: RecorderStore, token: str, *, max_body: int = DEFAULT_MAX_BODY, forward: str | None = None,
              forward_timeout: float = 10.0, counters: dict | None = None):
    """The Starlette app of a recorder writing to `store` (served by `Recorder`, or by any ASGI server)."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.routing import Route

    endpoint = _HookEndpoint(store, token, max_body=max_body, forward=forward, forward_timeout=forward_timeout,
                             counters=counters if counters is not None else {"rejected": 0})

    @asynccontextmanager
    async def lifespan(app):
        if forward:
            from ..channel.http import make_async_client

            endpoint.client = make_async_client(timeout=forward_timeout)
        try:
            yield
        finally:
            if endpoint.client is not None:
                await endpoint.client.aclose()

    # Any other path gets Starlette's plain 404, the same answer as a wrong token.
    routes = [Route("/hook/{token}", endpoint), Route("/hook/{token}/{rest:path}", endpoint)]
    return Starlette(routes=routes, lifespan=lifespan)


# ------------------------------------------------------------------------------------------ the recorder


class Recorder:
    """`with Recorder("hooks.sqlite") as rec:` — a webhook receiver on 127.0.0.1 (a free port by default)
    storing into `store_path`; `rec.url` is the URL to paste into Jivo (it holds the token, so it is
    never printed by jivo_ops except by `jivo-ops record`), `rec.masked_url` the one to show.

    `token`: the secret path segment (8+ characters of A–Z a–z 0–9 . _ ~ -); a random one by default.
    Pass the same token again to keep the same URL across restarts.
    `forward`: tap mode, the URL to pass each request on to (e.g. JAICP's Internal Webhook Url).
    """

    def __init__(self, store_path: str | os.PathLike, token: str | None = None, host: str = "127.0.0.1",
                 port: int = 0, forward: str | None = None, *, max_body: int = DEFAULT_MAX_BODY,
                 forward_timeout: float = 10.0):
        if token is not None and not _TOKEN_SHAPE.fullmatch(token):
            raise RecorderError("recorder token must be 8–200 characters of A–Z a–z 0–9 . _ ~ - "
                                "(it goes into a URL path)")
        if forward is not None:
            from ..channel.http import check_url

            forward = check_url(forward, "--forward URL")
            register_secret(forward)
        if max_body < 1:
            raise RecorderError(f"max_body must be at least 1 byte, not {max_body}")
        self.token = token or secrets.token_urlsafe(24)
        register_secret(self.token)
        self.store_path = Path(store_path)
        self.host, self.requested_port = host, port
        self.forward, self.max_body, self.forward_timeout = forward, max_body, forward_timeout
        self.store: RecorderStore | None = None
        self._server = None
        self._counters = {"rejected": 0}
        self._exchanges = None

    @property
    def rejected(self) -> int:
        """How many requests got 404 for a wrong or missing token (not recorded)."""
        return self._counters["rejected"]

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RecorderError("the recorder is not running; use `with Recorder(...) as rec:` or rec.start()")
        return self._server.url

    @property
    def url(self) -> str:
        """The full webhook URL, token included: paste it into «URL вашего сервера для Webhooks»."""
        return f"{self.base_url}{HOOK_PREFIX}{self.token}"

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self.requested_port

    @property
    def exchanges(self):
        """Query, wait for, replay and export what this recorder stored (`jivo_ops.recorder.exchanges.Exchanges`)."""
        if self._exchanges is None:
            from .exchanges import Exchanges

            self._exchanges = Exchanges(self)
        return self._exchanges

    def start(self) -> "Recorder":
        from ..channel.serving import ServerThread

        if self._server is not None:
            return self
        self.store = RecorderStore(self.store_path)
        app = build_app(self.store, self.token, max_body=self.max_body, forward=self.forward,
                        forward_timeout=self.forward_timeout, counters=self._counters)
        try:
            self._server = ServerThread(app, self.host, self.requested_port).start()
        except Exception:
            self.store.close()
            self.store = None
            raise
        register_secret(self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._exchanges is not None:  # readers first, so the writer's close can remove the WAL files
            self._exchanges.close()
            self._exchanges = None
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.masked_url if self._server is not None else "stopped"
        tap = f" → {mask_url(self.forward)}" if self.forward else ""
        return f"<Recorder {where}{tap} store={self.store_path}>"
