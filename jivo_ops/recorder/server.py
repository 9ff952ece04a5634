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
acknowledged. The store and its layout (contract C) live in `jivo_ops.recorder.store`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..channel.serving import TIMED_OUT, ServingLimits, refusal
from ..errors import RecorderError
from ..redaction import mask_url, register_secret
from .exchanges import Exchanges
from .store import MASKED_TOKEN, RecorderStore, chat_of, utc_now_iso
from .wire import HOOK_PREFIX, INCOMPLETE_NOTE, INCOMPLETE_STATUS, answer_body, forwardable_headers

__all__ = ["Recorder", "DEFAULT_MAX_BODY", "DEFAULT_MAX_ANSWER", "build_app"]

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_ANSWER = 1024 * 1024  # a tap keeps this much of the target's answer; the caller gets all of it
_log = logging.getLogger("jivo_ops.recorder")
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{8,200}")
_MASKED_HOOK = HOOK_PREFIX + MASKED_TOKEN


# ------------------------------------------------------------------------------------------- the receiver


# The bytes json.dumps(..., ensure_ascii=False) escapes in a latin-1 string; headers without any are joined by hand.
_JSON_ESCAPED = re.compile(rb'[\x00-\x1f"\\]')
_HEADER_JSON: dict[tuple[bytes, bytes], str] = {}  # (name, value) → its `["name", "value"]`: a sender repeats its headers
_HEADER_JSON_KEPT = 4096


def _header_json(pair: tuple[bytes, bytes]) -> str:
    """One header as its element of the `headers` column, exactly as json.dumps(..., ensure_ascii=False)
    writes it; a plain join when no byte needs escaping (the usual case, a third of the cost)."""
    name, value = pair
    if _JSON_ESCAPED.search(name) or _JSON_ESCAPED.search(value):
        text = json.dumps([name.decode("latin-1"), value.decode("latin-1")], ensure_ascii=False)
    else:
        text = f'["{name.decode("latin-1")}", "{value.decode("latin-1")}"]'
    if len(_HEADER_JSON) >= _HEADER_JSON_KEPT:  # a sender of ever new values (ids, signatures) starts it over
        _HEADER_JSON.clear()
    _HEADER_JSON[pair] = text
    return text


def _headers_json(raw_headers) -> str:
    """The stored `headers` column, exactly json.dumps([[name, value], …], ensure_ascii=False) of the
    latin-1 text; each header made once and then looked up (a quarter of the cost)."""
    known = _HEADER_JSON
    return "[" + ", ".join([known.get(pair) or _header_json(pair) for pair in raw_headers]) + "]"


_scan_json = json.JSONDecoder().scan_once


def _json_of(body: bytes) -> Any:
    """json.loads(body), at half the cost for the usual body (UTF-8, `{…}`, no white space around it);
    anything else goes to json.loads itself, which raises what it raises."""
    if body[:1] == b"{" and body[-1:] == b"}":
        try:
            text = body.decode()
            parsed, end = _scan_json(text, 0)
        except (ValueError, StopIteration, RecursionError):
            pass
        else:
            if end == len(text):
                return parsed
    return json.loads(body)


def _has_dot_segment(raw_path: bytes, path: str) -> bool:
    """A `.` or `..` segment, as sent or percent-encoded (once or more, `/` encoded too): never forwarded."""
    text = raw_path.decode("latin-1")
    for _ in range(4):  # %252e%252e → %2e%2e → ..
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return any(segment in (".", "..") for candidate in (text, path) for segment in candidate.replace("\\", "/").split("/"))


class _HookEndpoint:
    """The ASGI endpoint behind `/hook/{token}`: check, read, (forward,) store, then answer."""

    def __init__(self, store: RecorderStore, token: str, *, max_body: int, forward: str | None,
                 forward_timeout: float, max_answer: int, counters: dict):
        self.store, self._token = store, token.encode()
        self.max_body, self.forward, self.forward_timeout = max_body, forward, forward_timeout
        self.max_answer = max_answer
        self.counters = counters
        self.client = None  # the tap's httpx.AsyncClient, made at startup

    async def __call__(self, scope, receive, send, token: str, rest: str | None) -> None:
        received_at = utc_now_iso()
        if not hmac.compare_digest(token.encode(), self._token):
            self.counters["rejected"] += 1
            await _refuse(send, 404)
            return
        method = scope["method"]
        path = f"{_MASKED_HOOK}/{rest}" if rest else _MASKED_HOOK
        query = scope.get("query_string", b"").decode("latin-1")
        raw_headers = scope["headers"]
        declared = content_type_raw = coding = None
        for key, value in raw_headers:  # one pass; the first of each counts
            key = key.lower()
            if key == b"content-length":
                declared = value if declared is None else declared
            elif key == b"content-type":
                content_type_raw = value if content_type_raw is None else content_type_raw
            elif key == b"transfer-encoding":
                coding = value if coding is None else coding
        chunked = coding is not None and b"chunked" in coding.lower()
        content_type = content_type_raw.decode("latin-1") if content_type_raw is not None else None
        headers = _headers_json(raw_headers)

        body, error, status = await self._read_body(scope, receive, declared, chunked)
        parsed = None
        if status in (None, INCOMPLETE_STATUS) and body:
            try:
                parsed = _json_of(body)
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                error = error or f"body is not valid JSON: {exc}"
            except RecursionError:  # e.g. 100,000 nested brackets: json.loads gives up, the request is still bad
                error = error or "body is not valid JSON: nested too deeply"
        if status is None and self.forward and _has_dot_segment(scope.get("raw_path") or b"", scope["path"]):
            status, error = 400, "path has a dot segment (. or .., maybe percent-encoded): not forwarded"
        if status is None and not self.forward:
            if method != "POST":
                status, error = 405, f"method {method} is not accepted here; Jivo posts with POST"
            elif error is not None:
                status = 400
            elif not body:
                status, error = 400, "empty body; Jivo posts a JSON object"
            else:
                status = 200

        if status is not None:
            row = _request_row(received_at, method, path, query, headers, body, chunked, status, error, content_type,
                               parsed)
            request_id = await self._store(row, send)
            if request_id is not None:
                extra = [(b"allow", b"POST")] if status == 405 else []
                if status == 413:  # stop reading what is left of it: the connection goes
                    extra.append((b"connection", b"close"))
                await _reply(send, status, answer_body(request_id, status, error), b"application/json", extra)
            return
        # tap mode: the target decides
        await self._forward(send, method, rest, query, raw_headers, body, chunked,
                            lambda status, cols: _request_row(received_at, method, path, query, headers, body,
                                                              chunked, status, error, content_type, parsed, cols))

    async def _store(self, row: tuple, send) -> int | None:
        """The row's id once on disk; None when the store failed (the caller got 503, the log the reason)."""
        try:
            request_id = await self.store.submit(row)
        except RecorderError as exc:
            _log.error("%s", exc)  # the reason names a local path: for the log, never for the caller
            await _refuse(send, 503)
            return None
        self.counters["stored"] = self.counters.get("stored", 0) + 1
        return request_id

    async def _read_body(self, scope, receive, declared: bytes | None,
                         chunked: bool) -> tuple[bytes, str | None, int | None]:
        """(body, error, status): status 413 when over the cap, INCOMPLETE_STATUS when the connection went
        before the body ended, None when read in full. `declared`: the Content-Length header."""
        size = None
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
                of = f" of {size}" if size is not None else " of a chunked body" if chunked else ""
                who = "too slow: closed" if (scope.get("state") or {}).get(TIMED_OUT) else "client disconnected"
                return b"".join(parts), f"{INCOMPLETE_NOTE}{who} after {total}{of} bytes", INCOMPLETE_STATUS
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

    def _target_url(self, rest: str | None, query: str) -> str:
        """The URL to forward to: beneath the configured one, or a ValueError."""
        import httpx

        url = self.forward.rstrip("/") + f"/{rest}" if rest else self.forward
        if query:
            url += ("&" if "?" in url else "?") + query
        base = httpx.URL(self.forward).path.rstrip("/")
        target = httpx.URL(url)
        if target.path != (base or "/") and not target.path.startswith(base + "/"):
            raise ValueError("the forward URL would leave the configured path")
        return url

    async def _forward(self, send, method: str, rest: str | None, query: str, raw_headers: list, body: bytes,
                       chunked: bool, row_of) -> None:
        """Send the request on within one deadline (`forward_timeout` for all of it: connect, answer,
        body), store it with the answer (its first `max_answer` bytes, marked when cut), then answer the
        caller: the target's answer, streamed; 502 when unreachable, 504 past the deadline."""
        import httpx

        from ..channel.http import achunked_body

        content: Any = achunked_body(body) if chunked else body
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + self.forward_timeout
        response = None
        try:
            url = self._target_url(rest, query)
            async with asyncio.timeout_at(deadline):
                request = self.client.build_request(method, url, content=content,
                                                    headers=forwardable_headers(
                                                        (k.decode("latin-1"), v.decode("latin-1"))
                                                        for k, v in raw_headers))
                response = await self.client.send(request, stream=True)
                chunks = response.aiter_raw()  # one iterator for both parts: httpx streams a body only once
                read, cut = await _read_capped(chunks, self.max_answer)
        except (httpx.HTTPError, TimeoutError, ValueError) as exc:
            if response is not None:
                await response.aclose()
            elapsed = (time.perf_counter() - started) * 1000
            timeout = isinstance(exc, (httpx.TimeoutException, TimeoutError))
            name = "the forward deadline passed" if isinstance(exc, TimeoutError) else type(exc).__name__
            reason = f"forward to {mask_url(self.forward)} failed: {name}"
            status = 504 if timeout else 502
            cols = (mask_url(self.forward), None, None, None, reason, elapsed)
            if await self._store(row_of(status, cols), send) is not None:
                await _reply(send, status, json.dumps({"ok": False, "error": reason}).encode(), b"application/json")
            return
        try:
            elapsed = (time.perf_counter() - started) * 1000
            answer_headers = [[k, v] for k, v in response.headers.multi_items()]
            kept = read[:self.max_answer]
            note = (f"answer over the {self.max_answer}-byte cap: stored the first {len(kept)} bytes"
                    if cut else None)
            cols = (mask_url(self.forward), response.status_code, json.dumps(answer_headers, ensure_ascii=False),
                    kept, note, elapsed)
            if await self._store(row_of(response.status_code, cols), send) is None:
                return
            content_type = response.headers.get("content-type", "application/octet-stream").encode("latin-1")
            if not cut:
                await _reply(send, response.status_code, kept, content_type)
                return
            # Too big to hold: what was read goes first, the rest straight through (chunked, no length).
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(b"content-type", content_type)]})
            await send({"type": "http.response.body", "body": read, "more_body": True})
            try:
                async with asyncio.timeout_at(deadline):
                    async for chunk in chunks:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (httpx.HTTPError, TimeoutError) as exc:  # the caller sees a cut chunked body, the log why
                _log.warning("tap: the answer from %s broke off after the cap (%s)", mask_url(self.forward),
                             type(exc).__name__)
                return
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


async def _read_capped(chunks, cap: int) -> tuple[bytes, bool]:
    """A body read until it ends or passes `cap` bytes (by less than a chunk); whether it passed
    (the rest then left in `chunks`, unread)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(parts), True
    return b"".join(parts), False


def _request_row(received_at, method, path, query, headers_json, body, chunked, status, error, content_type, parsed,
                 forward_cols: tuple = (None,) * 6) -> tuple:
    return (received_at, method, path, query, headers_json, body, int(chunked),
            status, error, content_type, chat_of(parsed), *forward_cols)


async def _reply(send, status: int, body: bytes, content_type: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send, status: int) -> None:
    headers, body = refusal(status)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The paths Starlette's `/hook/{token}` and `/hook/{token}/{rest:path}` routes matched, as one pattern.
_HOOK_ROUTE = re.compile(r"^/hook/(?P<token>[^/]+)(?:/(?P<rest>.*))?$")


class _RecorderApp:
    """The recorder's ASGI app: a hook path goes to the endpoint, any other path gets the same 404 as a
    wrong token. Raw ASGI rather than a Starlette app: on the hot path (one small POST, one small
    answer) Starlette's middleware, router and wrapped `send` cost more CPU than everything the
    recorder does itself (benchmarks/RESULTS.md)."""

    def __init__(self, endpoint: _HookEndpoint, forward_timeout: float):
        self.endpoint, self.forward_timeout = endpoint, forward_timeout

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            matched = _HOOK_ROUTE.match(scope["path"])
            if matched is None:
                await _refuse(send, 404)
                return
            await self.endpoint(scope, receive, send, matched["token"], matched["rest"])
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        endpoint = self.endpoint
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if endpoint.forward:
                    from ..channel.http import make_async_client

                    endpoint.client = make_async_client(timeout=self.forward_timeout)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if endpoint.client is not None:
                    await endpoint.client.aclose()
                    endpoint.client = None
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(store: RecorderStore, token: str, *, max_body: int = DEFAULT_MAX_BODY, forward: str | None = None,
              forward_timeout: float = 10.0, max_answer: int = DEFAULT_MAX_ANSWER, counters: dict | None = None):
    """The ASGI app of a recorder writing to `store` (served by `Recorder`, or by any ASGI server)."""
    endpoint = _HookEndpoint(store, token, max_body=max_body, forward=forward, forward_timeout=forward_timeout,
                             max_answer=max_answer,
                             counters=counters if counters is not None else {"rejected": 0, "stored": 0})
    return _RecorderApp(endpoint, forward_timeout)


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
                 forward_timeout: float = 10.0, max_answer: int = DEFAULT_MAX_ANSWER,
                 limits: ServingLimits | None = None):
        if token is not None and not _TOKEN_SHAPE.fullmatch(token):
            raise RecorderError("recorder token must be 8–200 characters of A–Z a–z 0–9 . _ ~ - "
                                "(it goes into a URL path)")
        if forward is not None:
            from ..channel.http import check_url

            forward = check_url(forward, "--forward URL")
            register_secret(forward)
        for name, value in (("max_body", max_body), ("max_answer", max_answer)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecorderError(f"{name} (--{name.replace('_', '-')}) must be a whole number of bytes, "
                                    f"at least 1, not {value!r}")
        if not (isinstance(forward_timeout, (int, float)) and 0 < forward_timeout < float("inf")):
            raise RecorderError(f"forward_timeout (--forward-timeout) must be a number of seconds above 0, not {forward_timeout!r}")
        self.token = token or secrets.token_urlsafe(24)
        register_secret(self.token)
        self.store_path = Path(store_path)
        self.host, self.requested_port = host, port
        self.forward, self.max_body, self.forward_timeout = forward, max_body, forward_timeout
        self.max_answer, self.limits = max_answer, limits or ServingLimits()
        self.store: RecorderStore | None = None
        self._server = None
        self._counters = {"rejected": 0, "stored": 0}
        self._exchanges = None

    @property
    def rejected(self) -> int:
        """How many requests got 404 for a wrong or missing token (not recorded)."""
        return self._counters["rejected"]

    @property
    def stored(self) -> int:
        """How many requests this recorder stored since it was made (others writing the same store not counted)."""
        return self._counters["stored"]

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
            self._exchanges = Exchanges(self)
        return self._exchanges

    def start(self) -> "Recorder":
        from ..channel.serving import ServerThread

        if self._server is not None:
            return self
        self.store = RecorderStore(self.store_path)
        app = build_app(self.store, self.token, max_body=self.max_body, forward=self.forward,
                        forward_timeout=self.forward_timeout, max_answer=self.max_answer, counters=self._counters)
        try:
            self._server = ServerThread(app, self.host, self.requested_port, limits=self.limits).start()
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
