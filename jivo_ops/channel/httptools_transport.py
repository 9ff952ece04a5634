"""The runner's httpx transport: plain-HTTP exchanges over a small keep-alive pool of asyncio
protocols parsed by httptools (the parser uvicorn serves with); everything else over aiohttp.

aiohttp's per-request machinery (ClientRequest/ClientResponse objects, payload registry, stream
readers, a writer per body, two timers) was half of the runner's client CPU per exchange (issue 17
§3: ~0.35 of ~0.7 ms); here an exchange is one write of the request as httpx framed it and one
parse of the answer. What this path does not do goes through `AiohttpTransport` unchanged: HTTPS,
a streamed body (`asend(chunked=True)`), HEAD (whose answer has no body to parse).
Failures raise the httpx errors `httpx.AsyncHTTPTransport` raises (ConnectError, ConnectTimeout,
ReadTimeout, PoolTimeout, RemoteProtocolError, ReadError): the retry rule and the recorded reasons go by them.
`KeepAlivePool` is the pool itself, for a client that frames its requests without httpx.Request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httptools
import httpx

from .http import DEFAULT_LIMITS, KEEPALIVE_EXPIRY_S, AiohttpTransport

__all__ = ["HttptoolsTransport", "KeepAlivePool"]

# Methods whose request may go out again when a reused connection turned out closed before any answer.
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "OPTIONS"})


class _Closed(Exception):
    """A reused connection the server had closed: nothing of an answer came (may be resent if idempotent)."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one exchange at a time; httptools calls back as the answer arrives."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future | None = None
        self.reusable = True
        self.idle_since = 0.0
        self.reused = False  # an exchange went over it before: a close before any answer may be a stale keep-alive
        self._started = False  # a byte of the current answer arrived
        self._until_eof = False  # the answer has neither Content-Length nor chunks: its body ends with the connection
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._started = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(httpx.RemoteProtocolError(f"invalid HTTP answer: {exc}"))

    def eof_received(self) -> bool:
        self.reusable = False
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._until_eof and self.answer is not None:
            self._finish()
        elif not self._started and self.reused:
            self.fail(_Closed())
        elif isinstance(exc, OSError):
            self.fail(httpx.ReadError(str(exc) or type(exc).__name__))
        else:
            self.fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reason, self._headers, self._body, self._until_eof = b"", [], [], False

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        names = {name.lower() for name, _ in self._headers}
        self._until_eof = b"content-length" not in names and b"transfer-encoding" not in names and \
            self.parser.get_status_code() not in (204, 304) and self.parser.get_status_code() >= 200

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:  # an interim answer (100 Continue): the real one follows
            return
        self.reusable = self.reusable and self.parser.should_keep_alive()
        self._finish()

    def _finish(self) -> None:
        self._until_eof = False
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), self._reason, self._headers, b"".join(self._body)))

    def fail(self, exc: BaseException) -> None:
        self.reusable = False
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _read_timed_out(self) -> None:
        self.fail(httpx.ReadTimeout("timed out waiting for the answer"))

    async def exchange(self, message: bytes, read_timeout: float | None) -> tuple:
        """Write one whole request, wait for its whole answer: (status, reason, raw headers, body)."""
        loop = asyncio.get_running_loop()
        self.answer = answer = loop.create_future()
        self._started = False
        self.transport.write(message)
        timer = None if read_timeout is None else loop.call_later(read_timeout, self._read_timed_out)
        try:
            return await answer
        except BaseException:  # failed or cancelled: a late answer must not meet the next request
            self.fail(httpx.ReadError("exchange abandoned"))
            raise
        finally:
            if timer is not None:
                timer.cancel()


def _read(response: httpx.Response, body: bytes) -> None:
    """`response.read()` of a `body` that is here whole: httpx's read runs it through its decoding
    pipeline (three context managers, two generators, two chunkers: ~50 µs an exchange, issue 17 §3),
    which only a Content-Encoding needs. Otherwise the body is the content as it is, and the response
    is left as `read()` leaves it (consumed, closed)."""
    if "content-encoding" in response.headers:
        response.read()
        return
    response._content = body  # what read() sets; tests/test_runner_transport.py pins it
    response.is_stream_consumed = True
    response.is_closed = True


class KeepAlivePool:
    """Plain-HTTP/1.1 keep-alive connections per (host, port), their answers parsed by httptools: at most
    `limit` exchanges at once, idle connections dropped after `expiry` seconds (before a server's own
    keep-alive timeout). `exchange` sends one whole request as bytes and returns its whole answer;
    failures are httpx's errors (see the module's docstring)."""

    def __init__(self, limit: int, expiry: float) -> None:
        self.limit, self.expiry = limit, expiry
        self._slots: asyncio.Semaphore | None = None  # made on the loop that runs the exchanges
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    async def exchange(self, host: str, port: int, message: bytes, *, method: str,
                       timeout: dict) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes]:
        """`message` (request line, headers, body) sent, its answer read: (status, reason, raw headers,
        body). `timeout`: httpx's timeout extension ("pool", "connect", "read" seconds or None)."""
        if self._closed:
            raise RuntimeError("the pool has been closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        if self._slots.locked():  # only then a wait worth a timer
            try:
                async with asyncio.timeout(timeout.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no free connection in time") from None
        else:
            await self._slots.acquire()
        try:
            for _ in range(2):
                conn = await self._connection(host, port, timeout.get("connect"))
                try:
                    return await conn.exchange(message, timeout.get("read"))
                except _Closed:
                    if method not in _IDEMPOTENT:
                        raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None
                finally:
                    self._release(host, port, conn)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        finally:
            self._slots.release()

    async def _connection(self, host: str, port: int, connect_timeout: float | None) -> _Connection:
        idle = self._idle.get((host, port))
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.reusable and not conn.transport.is_closing() and now - conn.idle_since < self.expiry:
                    conn.reused = True
                    return conn
                conn.transport.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout):
                _, conn = await loop.create_connection(_Connection, host, port)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return conn

    def _release(self, host: str, port: int, conn: _Connection) -> None:
        if conn.reusable and not self._closed and not conn.transport.is_closing():
            conn.idle_since = time.monotonic()
            self._idle.setdefault((host, port), []).append(conn)
        else:
            conn.transport.close()

    def close(self) -> None:
        """Closes the idle connections now, the busy ones as their exchanges end."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.transport.close()
        self._idle.clear()


class HttptoolsTransport(AiohttpTransport):
    """`AiohttpTransport` with plain-HTTP requests of a known body sent over a `KeepAlivePool` (see the
    module's docstring): at most `limits.max_connections` at once, idle connections dropped after
    `limits.keepalive_expiry` seconds."""

    def __init__(self, *, verify: Any = True, limits: httpx.Limits = DEFAULT_LIMITS) -> None:
        super().__init__(verify=verify, limits=limits)
        self._pool = KeepAlivePool(limits.max_connections or 1_000_000, limits.keepalive_expiry or KEEPALIVE_EXPIRY_S)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        # A ByteStream's bytes, read or not (httpx builds a redirect's request on its stream, unread).
        body = b"".join(request.stream) if isinstance(request.stream, httpx.ByteStream) else None
        if url.scheme != "http" or body is None or request.method == "HEAD":
            return await super().handle_async_request(request)
        lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
        lines += [b"%s: %s\r\n" % pair for pair in request.headers.raw]
        lines.append(b"\r\n")
        head = b"".join(lines)
        if head.count(b"\n") != len(lines) or head.count(b"\r") != len(lines):  # as h11 refuses it: no smuggling
            raise httpx.LocalProtocolError("a request header holds a line break", request=request)
        try:
            status, reason, headers, content = await self._pool.exchange(
                url.host, url.port or 80, head + body, method=request.method,
                timeout=request.extensions.get("timeout", {}))
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response = httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request,
                                  extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})
        _read(response, content)
        return response

    async def aclose(self) -> None:
        self._pool.close()
        await super().aclose()
