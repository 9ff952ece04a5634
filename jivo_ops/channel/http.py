"""The one httpx seam: every client jivo_ops makes is built here.

Timeouts, the retry policy of Jivo's docs, and logging with secrets masked live in one place;
tests swap the transport (`httpx.MockTransport`) or point the URLs at the sandbox.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlencode

import httpx

from ..errors import JivoOpsError, RejectedError, UnavailableError
from ..redaction import install_log_redaction, mask_url, redact

__all__ = ["RetryPolicy", "NO_RETRY", "make_client", "make_async_client", "send", "asend", "JSON_CONTENT_TYPE",
           "check_url", "client_timeout", "chunked_body", "achunked_body", "CHUNK_SIZE",
           "raise_for_status", "connection_error", "AiohttpTransport", "json_text", "json_bytes"]

log = logging.getLogger("jivo_ops.http")
OnAttempt = Callable[[int, "int | None", str], None]
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "jivo-ops/0.1"
# Idle pooled connections are dropped well before a server's keep-alive timeout (uvicorn: 5 s, the
# same as httpx's default expiry): otherwise a request can meet a connection the server is closing
# and fail with a spurious ReadError under load (seen in tests/test_hard_load.py).
KEEPALIVE_EXPIRY_S = 2.0
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S)
# A chunked body goes out in pieces of this size, so a receiver really has to reassemble it.
CHUNK_SIZE = 256


# One encoder for every JSON body: json.dumps builds a new one for every call that passes an option.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def json_text(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, the same text, without a new encoder per call."""
    return _JSON_ENCODER.encode(value)


def json_bytes(value: Any) -> bytes:
    """`json_text(value)` in UTF-8: a JSON body as the Chat API and both simulated services send it."""
    return _JSON_ENCODER.encode(value).encode("utf-8")


def client_timeout(seconds: float, *, connect: float = 5.0) -> httpx.Timeout:
    """`seconds` for reading, writing and the pool; connecting at most `connect` (a dead host fails fast)."""
    return httpx.Timeout(seconds, connect=min(connect, seconds))


@dataclass(frozen=True)
class RetryPolicy:
    """Jivo's rule: resend on 5xx, other non-2xx non-4xx codes and connection errors,
    up to `retries` times, `wait` seconds apart (the docs say 3–60 s); never on 4xx."""

    retries: int = 3
    wait: float = 3.0

    def should_retry(self, status: int | None) -> bool:
        return status is None or not (200 <= status < 300 or 400 <= status < 500)


NO_RETRY = RetryPolicy(retries=0, wait=0.0)


def check_url(url: str, what: str) -> str:
    """`url` stripped, if it is an absolute http(s) URL with a host; else a JivoOpsError naming `what`."""
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = httpx.URL(text)
        ok = parts.scheme in ("http", "https") and bool(parts.host)
    except (httpx.InvalidURL, TypeError):
        ok = False
    if not ok:
        shown = mask_url(text) if "://" in text else (repr(text) if len(text) < 12 else "…")
        raise JivoOpsError(f"{what} {shown} is not an http(s) URL with a host; paste the whole URL, "
                           "e.g. https://host/path")
    return text


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    return timeout if isinstance(timeout, httpx.Timeout) else client_timeout(timeout)


def _log_request(request: httpx.Request) -> None:
    if log.isEnabledFor(logging.DEBUG):  # masking costs more than the request's own bookkeeping
        log.debug("→ %s %s", request.method, mask_url(str(request.url)))


def _log_response(response: httpx.Response) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("← %s %s %s", response.status_code, response.request.method, mask_url(str(response.request.url)))


async def _alog_request(request: httpx.Request) -> None:
    _log_request(request)


async def _alog_response(response: httpx.Response) -> None:
    _log_response(response)


_LOG_HOOKS = {"request": [_alog_request], "response": [_alog_response]}


def make_client(*, timeout: float | httpx.Timeout | None = None, transport: httpx.BaseTransport | None = None,
                headers: dict[str, str] | None = None) -> httpx.Client:
    """A client with jivo_ops' pool, masked logging and User-Agent; a number `timeout` is `client_timeout(it)`."""
    install_log_redaction()
    return httpx.Client(
        timeout=_timeout(timeout),
        transport=transport,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        event_hooks={"request": [_log_request], "response": [_log_response]},
        limits=DEFAULT_LIMITS,
    )


class _SetCookieCookies(httpx.Cookies):
    """httpx's cookie jar, which skips its urllib bookkeeping (~0.1 ms an exchange) when no cookie came."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _AsyncClient(httpx.AsyncClient):
    """httpx.AsyncClient with the cheaper cookie jar; everything else is httpx's own."""

    def __init__(self, *, cookies: Any = None, **options: Any) -> None:
        super().__init__(**options)
        self.cookies = cookies

    @property
    def cookies(self) -> httpx.Cookies:
        return self._set_cookie_jar

    @cookies.setter
    def cookies(self, cookies) -> None:
        self._set_cookie_jar = _SetCookieCookies(cookies)


@dataclass(frozen=True, eq=False)
class _MergedHeaders:
    """A client's headers with a request's, and whether they already say the Host and the body's length."""

    headers: httpx.Headers
    raw: list[tuple[bytes, bytes]]
    has_host: bool
    has_length: bool
    # A request's whole headers by (host, body length, method): a batch's bodies come in a few lengths.
    framed: dict[tuple, httpx.Headers] = field(default_factory=dict)

    def for_request(self, method: str, url: httpx.URL, length: int) -> httpx.Headers:
        """The headers `httpx.Request(method, url, content=<length bytes>, headers=self.headers)` sends,
        in httpx's order (Host first, an empty body's Content-Length after it, a body's last)."""
        key = (url.netloc, length, method)
        headers = self.framed.get(key)
        if headers is None:
            front = [] if self.has_host else [(b"Host", url.netloc)]
            back = []
            if not self.has_length:
                if length:
                    back.append((b"Content-Length", b"%d" % length))
                elif method in ("POST", "PUT", "PATCH"):
                    front.append((b"Content-Length", b"0"))
            if len(self.framed) >= 64:  # ever-new lengths: no unbounded growth
                self.framed.clear()
            headers = self.framed[key] = httpx.Headers([*front, *self.raw, *back])
        return headers


def _request_of_bytes(method: str, url: httpx.URL, body: bytes, merged: _MergedHeaders,
                      extensions: dict) -> httpx.Request:
    """The request `httpx.Request(method, url, content=body, headers=merged.headers)` builds, the body
    read, from headers already normalised and framed: httpx would encode the body and re-check every
    header again on each request (two thirds of its cost, issue 17 §3). httpx.Request copies the headers."""
    request = httpx.Request(method, url, headers=merged.for_request(method, url, len(body)),
                            stream=httpx.ByteStream(body), extensions=extensions)
    request.read()
    return request


class _PlainAsyncClient(_AsyncClient):
    """An `_AsyncClient` for API calls that need no redirects or auth: a request goes straight to the
    transport with the client's headers merged in, skipping httpx's per-request pipeline (URL merging,
    auth and redirect flows, hooks, stream wrapping: ~0.3 ms of CPU an exchange, issue 17 §3). Cookies a
    server sets are kept as httpx keeps them; a request that needs more (auth, redirects, cookies to
    send, json/data/files, streaming) takes httpx's own path."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **options: Any) -> None:
        super().__init__(transport=transport, **options)
        self._to_transport = transport
        self._merged_headers: dict[tuple, _MergedHeaders] = {}  # a request's own headers → with the client's
        self._timeout_extension = self.timeout.as_dict()

    def _with_client_headers(self, headers: dict[str, str] | None) -> "_MergedHeaders":
        """The client's headers updated with a request's, built once per set of them: httpx.Request
        copies a Headers as it is, without normalising every name and value again."""
        key = (tuple(self.headers.raw), tuple(headers.items()) if headers else ())  # the client's may change
        merged = self._merged_headers.get(key)
        if merged is None:
            if len(self._merged_headers) >= 64:  # callers with ever-new headers: no unbounded growth
                self._merged_headers.clear()
            both = httpx.Headers(self.headers)
            both.update(headers or {})
            merged = self._merged_headers[key] = _MergedHeaders(both, both.raw, "Host" in both,
                                                                "Content-Length" in both or "Transfer-Encoding" in both)
        return merged

    def build_request(self, method: str, url: Any, *, content: Any = None, data: Any = None, files: Any = None,
                      json: Any = None, params: Any = None, headers: Any = None, cookies: Any = None,
                      timeout: Any = httpx.USE_CLIENT_DEFAULT, extensions: Any = None) -> httpx.Request:
        if (data is not None or files is not None or json is not None or cookies is not None
                or extensions is not None or self.cookies or not isinstance(headers, (dict, type(None)))):
            return super().build_request(method, url, content=content, data=data, files=files, json=json,
                                         params=params, headers=headers, cookies=cookies, timeout=timeout,
                                         extensions=extensions)
        extension = (self._timeout_extension if timeout is httpx.USE_CLIENT_DEFAULT
                     else httpx.Timeout(timeout).as_dict())
        url = url if isinstance(url, httpx.URL) else _parsed_url(url)
        if params and not url.query and isinstance(params, dict) and all(
                type(value) in (str, int) for value in params.values()):
            # One parse of the whole URL: httpx's parse-then-merge of the query costs twice as much.
            url, params = httpx.URL(f"{url}?{urlencode(params)}"), None
        merged = self._with_client_headers(headers)
        if params is None and (content is None or type(content) is bytes):
            return _request_of_bytes(method.upper(), url, content or b"", merged, {"timeout": extension})
        return httpx.Request(method, url, content=content, params=params, headers=merged.headers,
                             extensions={"timeout": extension})

    async def send(self, request: httpx.Request, *, stream: bool = False, auth: Any = httpx.USE_CLIENT_DEFAULT,
                   follow_redirects: Any = httpx.USE_CLIENT_DEFAULT) -> httpx.Response:
        redirects = self.follow_redirects if follow_redirects is httpx.USE_CLIENT_DEFAULT else follow_redirects
        if (stream or redirects or auth is not httpx.USE_CLIENT_DEFAULT or self.auth is not None
                or self.event_hooks != _LOG_HOOKS):
            return await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        _log_request(request)
        response = await self._to_transport.handle_async_request(request)
        response.request = request
        await response.aread()
        self.cookies.extract_cookies(response)
        _log_response(response)
        return response


def make_async_client(*, timeout: float | httpx.Timeout | None = None,
                      transport: httpx.AsyncBaseTransport | None = None,
                      headers: dict[str, str] | None = None,
                      limits: httpx.Limits | None = None, plain: bool = False) -> httpx.AsyncClient:
    """The async twin of `make_client`. `plain` (with a `transport`): a client for API calls that need no
    redirects or auth, which sends each request straight to the transport (`_PlainAsyncClient`)."""
    install_log_redaction()
    if plain and transport is None:
        raise ValueError("a plain client sends straight to its transport: pass transport=")
    return (_PlainAsyncClient if plain else _AsyncClient)(
        timeout=_timeout(timeout),
        transport=transport,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        event_hooks={kind: list(hooks) for kind, hooks in _LOG_HOOKS.items()},
        limits=limits or DEFAULT_LIMITS,
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on aiohttp's client: the same requests, answers and httpx errors as
    `httpx.AsyncHTTPTransport` for less than half the runner's CPU per exchange (benchmarks/bench_runner.py),
    and no pool scan that grows with connections × queued requests (issue 17 §3).

    Each answer's body is read whole before it is returned (API calls, not downloads). HTTP/1.1
    only; proxies from the environment are not used. Needs a running asyncio loop (not trio).
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits = DEFAULT_LIMITS) -> None:
        # Imported here, not with this module (`import jivo_ops` stays light), nor at the first request,
        # whose step timeout would pay for it.
        import aiohttp  # noqa: F401

        self._ssl = verify
        self._limits = limits
        self._session: Any = None

    def _open(self) -> Any:
        import aiohttp

        _quiet_finished_body_writers(asyncio.get_running_loop())

        connector = aiohttp.TCPConnector(limit=self._limits.max_connections or 0, limit_per_host=0,
                                         keepalive_timeout=self._limits.keepalive_expiry or KEEPALIVE_EXPIRY_S,
                                         ssl=self._ssl)
        # httpx does cookies, decoding and redirects itself; aiohttp must not do them a second time.
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                              auto_decompress=False, trust_env=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                   if k.lower() != b"transfer-encoding"]  # aiohttp frames a streamed body itself
        try:
            data: Any = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
        try:
            async with session.request(
                    request.method, _yarl_url(str(request.url)), headers=headers, data=data,
                    allow_redirects=False, compress=False,
                    timeout=_aiohttp_timeout(timeout.get("pool"), timeout.get("connect"),
                                             timeout.get("read"))) as answer:
                body = await answer.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _httpx_error(exc, request) from exc
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode("latin-1")}
        response = httpx.Response(answer.status, headers=answer.raw_headers, stream=httpx.ByteStream(body),
                                  request=request, extensions=extensions)
        response.read()  # the body is here already: decoded now, without the async stream's round trips
        return response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _quiet_finished_body_writers(loop: asyncio.AbstractEventLoop) -> None:
    """Keep `loop` from printing a traceback for aiohttp's body-writer task when a server closes the
    connection just after a streamed body went out (its final chunk meets a closing socket, e.g. a
    sandbox stopped by Ctrl-C): the exchange itself already failed or finished, and nobody reads that
    task's error. Every other unhandled exception goes to the loop's handler as before."""
    import aiohttp

    previous = loop.get_exception_handler()
    if getattr(previous, "quiets_body_writers", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        task = context.get("future")
        coro = task.get_coro() if isinstance(task, asyncio.Task) else None
        if (isinstance(context.get("exception"), aiohttp.ClientConnectionResetError)
                and getattr(coro, "__qualname__", "") == "ClientRequest.write_bytes"):
            log.debug("a streamed body's connection closed after the body: %s", context.get("exception"))
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.quiets_body_writers = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


@functools.lru_cache(maxsize=256)
def _yarl_url(url: str) -> Any:
    """aiohttp's URL of `url`, already encoded by httpx (a poll's query differs each time: cached for the POSTs)."""
    from yarl import URL

    return URL(url, encoded=True)


@functools.lru_cache(maxsize=64)
def _aiohttp_timeout(pool: float | None, connect: float | None, read: float | None) -> Any:
    """httpx's timeouts as aiohttp's: `pool` waits for a pooled connection, `connect` opens one."""
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


def _httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error `httpx.AsyncHTTPTransport` raises where aiohttp raised `exc` (the retry policy
    and the messages go by httpx's names: ConnectError, ReadTimeout, …)."""
    import aiohttp

    kinds: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
        (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
        (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
        (asyncio.TimeoutError, httpx.PoolTimeout),  # ClientTimeout.connect: waiting for a pooled connection
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
        (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.ReadError),
        (aiohttp.ClientConnectionError, httpx.ReadError),
    )
    kind = next((ours for theirs, ours in kinds if isinstance(exc, theirs)), httpx.TransportError)
    return kind(str(exc) or type(exc).__name__, request=request)


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> httpx.URL:
    """`url` parsed once: httpx re-validates a long token URL character by character on every request."""
    return httpx.URL(url)


def _reason(response: httpx.Response) -> str:
    """The service's own words: text/plain as is (Jivo), JAICP's `{"error", "message"}` as `error: message`."""
    text = response.text.strip() if response.content else ""
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and ("error" in body or "message" in body):
            text = ": ".join(str(body[k]) for k in ("error", "message") if body.get(k) not in (None, ""))
    return redact(text[:500]) or response.reason_phrase


def raise_for_status(response: httpx.Response, what: str) -> None:
    """The typed error a non-2xx answer means: 4xx a RejectedError, anything else an UnavailableError."""
    url = mask_url(str(response.request.url))
    reason = _reason(response)
    if 400 <= response.status_code < 500:
        raise RejectedError(f"{what} rejected by {url}: HTTP {response.status_code}: {reason}",
                            url=url, status=response.status_code, reason=reason)
    raise UnavailableError(f"{what} failed at {url}: HTTP {response.status_code}: {reason}",
                           url=url, status=response.status_code, reason=reason)


def connection_error(exc: Exception, url: str, what: str, attempts: int) -> UnavailableError:
    """The UnavailableError of a request that got no answer (refused, reset, timed out)."""
    kind = type(exc).__name__
    return UnavailableError(f"{what} failed at {mask_url(url)} after {attempts} attempt(s): {kind}: {redact(exc)}",
                            url=mask_url(url), reason=kind)


def _judge(retry: RetryPolicy, attempt: int, url: str, what: str,
           response: httpx.Response | None, exc: httpx.HTTPError | None) -> httpx.Response | None:
    """The response to return, None to try again, or a raised typed error."""
    if exc is not None:
        # A wrong scheme is the caller's mistake, not a flaky line: resending cannot help.
        if (attempt > retry.retries or not isinstance(exc, httpx.TransportError)
                or isinstance(exc, httpx.UnsupportedProtocol)):
            raise connection_error(exc, url, what, attempt) from None
    else:
        assert response is not None
        if not retry.should_retry(response.status_code):
            if response.status_code >= 400:
                raise_for_status(response, what)
            return response
        if attempt > retry.retries:
            raise_for_status(response, what)
    log.info("%s to %s: %s, retry %d of %d in %.1f s", what, mask_url(url),
             response.status_code if response is not None else "connection error",
             attempt, retry.retries, retry.wait)
    return None


def chunked_body(body: bytes) -> Iterator[bytes]:
    """`body` as a stream (httpx sends it ``Transfer-Encoding: chunked``); make a fresh one per attempt."""
    for start in range(0, len(body), CHUNK_SIZE):
        yield body[start:start + CHUNK_SIZE]


async def achunked_body(body: bytes) -> AsyncIterator[bytes]:
    """The async twin of `chunked_body`, for async clients."""
    for piece in chunked_body(body):
        yield piece


class _Attempts:
    """The attempts of one send: counts them, tells `on_attempt`, and judges each by the retry policy."""

    def __init__(self, retry: RetryPolicy, url: str, what: str, on_attempt: OnAttempt | None) -> None:
        self.retry, self.url, self.what, self.on_attempt = retry, url, what, on_attempt
        self.count = 0

    def judge(self, response: httpx.Response | None, exc: httpx.HTTPError | None) -> httpx.Response | None:
        """The response to return, None to try again, or a raised typed error."""
        self.count += 1
        if self.on_attempt is not None:
            if response is not None:
                self.on_attempt(self.count, response.status_code, _reason(response))
            else:
                self.on_attempt(self.count, None, f"{type(exc).__name__}: {redact(exc)}"[:200])
        return _judge(self.retry, self.count, self.url, self.what, response, exc)


def _build(client: httpx.Client | httpx.AsyncClient, stream: Callable[[bytes], Any], method: str, url: str,
           content: bytes | None, chunked: bool, headers: dict[str, str] | None, params: dict | None,
           timeout: float | httpx.Timeout | None) -> httpx.Request:
    """One attempt's request: a chunked body is a fresh stream over the bytes every time."""
    body = stream(content) if chunked and content else content
    return client.build_request(method, _parsed_url(url), content=body, headers=headers, params=params,
                                **({} if timeout is None else {"timeout": timeout}))


def send(client: httpx.Client, method: str, url: str, *, content: bytes | None = None,
         headers: dict[str, str] | None = None, params: dict | None = None,
         retry: RetryPolicy = NO_RETRY, what: str = "request",
         sleep: Callable[[float], None] = time.sleep,
         timeout: float | httpx.Timeout | None = None, chunked: bool = False,
         on_attempt: OnAttempt | None = None) -> httpx.Response:
    """Send one request with `retry`; return a 2xx/3xx response or raise a typed error.

    Bodies are bytes, never generators: with `chunked` every attempt streams a fresh generator over
    them (``Transfer-Encoding: chunked``), since a consumed one would silently go out empty on a retry.
    `timeout` overrides the client's for this request (a long poll needs more than the default).
    `on_attempt(attempt, status or None, reason)` hears of every attempt, the failed ones included.
    """
    attempts = _Attempts(retry, url, what, on_attempt)
    while True:
        request = _build(client, chunked_body, method, url, content, chunked, headers, params, timeout)
        try:
            done = attempts.judge(client.send(request), None)
        except httpx.HTTPError as exc:
            done = attempts.judge(None, exc)
        if done is not None:
            return done
        sleep(retry.wait)


async def asend(client: httpx.AsyncClient, method: str, url: str, *, content: bytes | None = None,
                headers: dict[str, str] | None = None, params: dict | None = None,
                retry: RetryPolicy = NO_RETRY, what: str = "request",
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                timeout: float | httpx.Timeout | None = None, chunked: bool = False,
                on_attempt: OnAttempt | None = None) -> httpx.Response:
    """The async twin of `send`, same policy, framing and errors."""
    attempts = _Attempts(retry, url, what, on_attempt)
    while True:
        request = _build(client, achunked_body, method, url, content, chunked, headers, params, timeout)
        try:
            done = attempts.judge(await client.send(request), None)
        except httpx.HTTPError as exc:
            done = attempts.judge(None, exc)
        if done is not None:
            return done
        await sleep(retry.wait)
