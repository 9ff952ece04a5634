"""The client each simulated service calls the other side with: what `channel.http.asend` needs of an
httpx.AsyncClient (`build_request`, `send`), so the one retry rule, its errors and reasons stay there.

Plain-HTTP targets (the other half of the sandbox on 127.0.0.1, a local stand-in) go over a small
HTTP/1.1 keep-alive pool of asyncio protocols parsed by httptools, the parser uvicorn serves them
with. Under load, httpx's client machinery plus aiohttp cost ~0.7 ms of CPU per internal call, a
third of the sandbox's CPU per transfer, where this pool costs about a tenth of that (issue 17 §3).
HTTPS targets (a stand-in wired to the real JAICP) go through `channel.http.AiohttpTransport`,
certificates verified. Failures raise httpx's own errors (ConnectError, ReadTimeout,
RemoteProtocolError, PoolTimeout), which is what the retry rule and the recorded reasons go by.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httptools
import httpx

from ..channel.http import USER_AGENT, client_timeout

__all__ = ["OutgoingClient"]

# Bytes the request line and headers are written in (HTTP/1.1 header values are latin-1 at most).
_HEAD_ENCODING = "latin-1"


@dataclass
class _Outgoing:
    """One attempt's request as `asend` builds it; an httpx.Request only when it goes out over TLS."""

    method: str
    url: Any  # httpx.URL
    content: Any
    headers: dict
    timeout: dict

    def httpx_request(self):
        return httpx.Request(self.method, self.url, content=self.content, headers=self.headers,
                             extensions={"timeout": self.timeout})


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed by httptools."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future | None = None
        self.reusable = True
        self.idle_since = 0.0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # -- asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"invalid HTTP answer: {exc}"))

    def connection_lost(self, exc) -> None:
        self.reusable = False
        self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._headers, self._body = [], []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.reusable = self.reusable and self.parser.should_keep_alive()
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_result((self.parser.get_status_code(), self._headers, b"".join(self._body)))

    # --
    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        answer, self.answer = self.answer, None
        if answer is not None and not answer.done():
            answer.set_exception(exc)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def exchange(self, head: bytes, body: bytes, read_timeout: float | None):
        """Write one request, wait for its whole answer: (status, raw headers, body)."""
        loop = asyncio.get_running_loop()
        self.answer = answer = loop.create_future()
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        timer = loop.call_later(read_timeout, self._fail, httpx.ReadTimeout("timed out")) \
            if read_timeout is not None else None
        try:
            return await answer
        except BaseException:  # failed or cancelled: a late answer must not meet the next request
            self.reusable = False
            raise
        finally:
            if timer is not None:
                timer.cancel()


class _Pool:
    """Idle connections per (host, port), at most `limit` requests in flight, idle ones dropped after `expiry` s."""

    def __init__(self, limit: int, expiry: float) -> None:
        self.limit, self.expiry = limit, expiry
        self.idle: dict[tuple[str, int], list[_Connection]] = {}
        self.slots: asyncio.Semaphore | None = None

    async def connection(self, host: str, port: int, connect_timeout: float | None) -> _Connection:
        now = time.monotonic()
        idle = self.idle.get((host, port))
        while idle:
            conn = idle.pop()
            if conn.reusable and not conn.transport.is_closing() and now - conn.idle_since < self.expiry:
                return conn
            conn.transport.close()
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Connection, host, port), connect_timeout)
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return conn

    def release(self, host: str, port: int, conn: _Connection) -> None:
        if conn.reusable and not conn.transport.is_closing():
            conn.idle_since = time.monotonic()
            self.idle.setdefault((host, port), []).append(conn)
        else:
            conn.transport.close()

    def close(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                conn.transport.close()
        self.idle.clear()


def _says_utf8(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the Content-Type among `headers` names charset=utf-8 (what both simulated services send)."""
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower().replace(b" ", b"").endswith(b";charset=utf-8")
    return False


class OutgoingClient:
    """`asend`'s view of an httpx.AsyncClient: `build_request`, `send`, `aclose` (see the module's docstring)."""

    def __init__(self, tls_transport, *, limit: int, expiry: float) -> None:
        self.tls_transport = tls_transport   # channel.http.AiohttpTransport, for https targets
        self.pool = _Pool(limit, expiry)
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate",
                        "Connection": "keep-alive"}
        # parsed once each: the other side's few URLs and the settings' few timeouts, asked for on every call
        self._urls: dict[str, httpx.URL] = {}
        self._timeouts: dict[float, dict] = {}

    def build_request(self, method: str, url, *, content=None, headers=None, params=None, timeout=10.0) -> _Outgoing:
        if not isinstance(url, httpx.URL):
            url = self._urls.get(url) or self._remember(self._urls, url, httpx.URL(url))
        if params:
            url = url.copy_merge_params(params)
        if isinstance(timeout, httpx.Timeout):
            limits = timeout.as_dict()
        else:
            limits = self._timeouts.get(timeout) or self._remember(self._timeouts, timeout,
                                                                   client_timeout(timeout).as_dict())
        return _Outgoing(method, url, content, {**self.headers, **headers} if headers else self.headers, limits)

    @staticmethod
    def _remember(cache: dict, key, value):
        if len(cache) >= 64:  # a bound, should a caller ever vary them without end
            cache.clear()
        cache[key] = value
        return value

    async def send(self, request: _Outgoing):
        if request.url.scheme != "http":
            response = await self.tls_transport.handle_async_request(request.httpx_request())
            await response.aread()
            return response
        status, headers, body = await self._exchange(request)
        response = httpx.Response(status, headers=headers, content=body)
        if _says_utf8(headers):  # httpx would parse the Content-Type with the email package for each reason
            response.encoding = "utf-8"
        if status >= 300:  # a refusal's error names the URL: only then is an httpx.Request worth building
            response.request = request.httpx_request()
        return response

    async def _exchange(self, request: _Outgoing):
        url, timeout = request.url, request.timeout
        host, port = url.host, url.port or 80
        body = request.content
        lines = [f"{request.method} {url.raw_path.decode('ascii')} HTTP/1.1",
                 f"Host: {host}" + (f":{url.port}" if url.port else "")]
        lines += [f"{k}: {v}" for k, v in request.headers.items()]
        if body is None or isinstance(body, (bytes, str)):
            payload = body.encode() if isinstance(body, str) else (body or b"")
            if payload or request.method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(payload)}")
        else:  # a stream (asend's chunked body): sent as it comes, Transfer-Encoding: chunked
            pieces = [piece async for piece in body]
            lines.append("Transfer-Encoding: chunked")
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
        head = ("\r\n".join(lines) + "\r\n\r\n").encode(_HEAD_ENCODING)

        pool = self.pool
        if pool.slots is None:
            pool.slots = asyncio.Semaphore(pool.limit)
        if pool.slots.locked():
            try:
                await asyncio.wait_for(pool.slots.acquire(), timeout.get("pool"))
            except asyncio.TimeoutError:
                raise httpx.PoolTimeout("no free connection in time") from None
        else:
            await pool.slots.acquire()
        try:
            conn = await pool.connection(host, port, timeout.get("connect"))
            try:
                answer = await conn.exchange(head, payload, timeout.get("read"))
            finally:
                pool.release(host, port, conn)
        finally:
            pool.slots.release()
        return answer

    async def aclose(self) -> None:
        self.pool.close()
        await self.tls_transport.aclose()
