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

import hmac
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from ..errors import RecorderError
from ..redaction import mask_url, register_secret
from .exchanges import Exchanges
from .store import MASKED_TOKEN, RecorderStore, chat_of, utc_now_iso
from .wire import HOOK_PREFIX, answer_body, forwardable_headers

__all__ = ["Recorder", "DEFAULT_MAX_BODY", "build_app"]

DEFAULT_MAX_BODY = 1024 * 1024
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9._~-]{8,200}")


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

        from ..channel.http import achunked_body

        url = self.forward.rstrip("/") + f"/{rest}" if rest else self.forward
        if query:
            url += ("&" if "?" in url else "?") + query
        content: Any = achunked_body(body) if chunked else body
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
