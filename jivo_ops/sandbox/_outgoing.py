"""The client each simulated service calls the other side with: what `channel.http.asend` needs of an
httpx.AsyncClient (`build_request`, `send`), so the one retry rule, its errors and reasons stay there.

Plain-HTTP targets (the other half of the sandbox on 127.0.0.1, a local stand-in) go over the runner's
`channel.httptools_transport.KeepAlivePool` (HTTP/1.1 keep-alive, answers parsed by httptools); this
client frames the request bytes itself, without an httpx.Request, and hands a plain UTF-8 answer back
as an `_Answer`, without an httpx.Response. Under load, httpx's client machinery plus aiohttp cost
~0.7 ms of CPU per internal call, a third of the sandbox's CPU per transfer, where this pool costs
about a tenth of that (issue 17 §3).
HTTPS targets (a stand-in wired to the real JAICP) go through `channel.http.AiohttpTransport`,
certificates verified. Failures raise httpx's own errors (ConnectError, ReadTimeout,
RemoteProtocolError, PoolTimeout), which is what the retry rule and the recorded reasons go by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..channel.http import USER_AGENT, client_timeout
from ..channel.httptools_transport import KeepAlivePool

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


def _plain_utf8(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an answer with `headers` reads as it is: its Content-Type names charset=utf-8 (what both
    simulated services send) and no Content-Encoding asks for decoding."""
    utf8 = False
    for name, value in headers:
        name = name.lower()
        if name == b"content-type":
            utf8 = value.lower().replace(b" ", b"").endswith(b";charset=utf-8")
        elif name == b"content-encoding":
            return False
    return utf8


class _Answer:
    """A plain UTF-8 answer as `asend` and the services read an httpx.Response: `status_code`, `content`,
    `text`, `json()`, `reason_phrase`, `headers`, and `request` (built only when asked: a refusal's error
    names the URL). httpx.Response's construction and read were a tenth of an internal call (issue 17 §3)."""

    __slots__ = ("status_code", "content", "_raw_headers", "_outgoing")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes, outgoing: _Outgoing):
        self.status_code, self.content, self._raw_headers, self._outgoing = status, content, headers, outgoing

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")   # what httpx decodes a charset=utf-8 body as

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def reason_phrase(self) -> str:
        return httpx.codes.get_reason_phrase(self.status_code)

    @property
    def headers(self) -> httpx.Headers:
        return httpx.Headers(self._raw_headers)

    @property
    def request(self) -> httpx.Request:
        return self._outgoing.httpx_request()


class OutgoingClient:
    """`asend`'s view of an httpx.AsyncClient: `build_request`, `send`, `aclose` (see the module's docstring)."""

    def __init__(self, tls_transport, *, limit: int, expiry: float) -> None:
        self.tls_transport = tls_transport   # channel.http.AiohttpTransport, for https targets
        self.pool = KeepAlivePool(limit, expiry)
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
        if _plain_utf8(headers):
            return _Answer(status, headers, body, request)
        response = httpx.Response(status, headers=headers, content=body)   # decoded as httpx decodes it
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

        status, _, headers, body = await self.pool.exchange(host, port, head + payload, method=request.method,
                                                            timeout=timeout)
        return status, headers, body

    async def aclose(self) -> None:
        self.pool.close()
        await self.tls_transport.aclose()
