"""Run an ASGI app under uvicorn on 127.0.0.1 in a background thread, on a free port — guarded.

Every server the project starts (recorder, tap, sandbox, stand-in, test servers) goes through here:
the socket is bound before uvicorn starts, so the port is known at once and never raced for, and
each connection meets the same limits (`ServingLimits`):

- headers must be complete within `header_timeout` seconds of the connection (or of the first byte
  of a keep-alive request) and a body must make progress every `body_timeout` seconds, else the
  caller gets `408` and the connection is closed;
- above `max_connections` open connections a request gets `503` with `Retry-After` (Jivo resends
  on 5xx), and a connection accepted over the cap is answered and closed within a second;
- when the process runs out of file descriptors the accept loop waits and says so in one line per
  10 s, not a traceback per attempt.

Why a protocol wrapper: uvicorn has a keep-alive timeout but no header or body timeout. Subclassing
its two HTTP protocol classes (h11 and httptools) adds them in-process with ~60 lines and keeps one
server and one dependency, where hypercorn/granian would replace the server under every test and
a proxy in front would be one more thing a user must run for a tunnel. The hooks used are the
protocol interface (`connection_made`, `data_received`) and the request cycle both parsers keep
(`cycle.more_body`, `cycle.response_complete`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import threading
import time
from dataclasses import dataclass

from ..redaction import redact_handlers

__all__ = ["ServerThread", "ServingLimits", "TIMED_OUT", "parse_listen", "listen_socket", "make_server",
           "serve_guarded", "refusal"]

_log = logging.getLogger("jivo_ops.serving")

# Descriptors kept free beside the connections: the store, its WAL, log files, the loop's own.
_RESERVED_FDS = 64
# A connection accepted over the cap is answered within this (or its headers' arrival, if sooner).
_OVER_CAP_GRACE = 1.0
_ACCEPT_LOG_EVERY = 10.0
# Set in a request's scope["state"] when its body timed out, so the app can tell "too slow" from "gone".
TIMED_OUT = "jivo_ops.body_timed_out"


def parse_listen(value: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` → (host, port); a clear ValueError otherwise."""
    host, _, port = value.rpartition(":") if ":" in value else ("", "", value)
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8765") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"--listen {value!r}: port must be 0–65535")
    return host, number


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one. OSError names the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # every small answer written in two parts waits out the peer's delayed ACK (~40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# ------------------------------------------------------------------------------------------- limits


def _default_max_connections() -> int:
    """Half of what the descriptor limit leaves: a tap's request holds two (the caller's, the target's)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft == resource.RLIM_INFINITY:
            soft = 65536
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        soft = 1024
    return max(8, (soft - _RESERVED_FDS) // 2)


def _named(name: str) -> str:
    """A field as errors name it: the field and the flag that sets it."""
    return f"{name} (--{name.replace('_', '-')})"


def _seconds(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{_named(name)}: expected a number of seconds above 0, not {value!r}")
    return number


@dataclass(frozen=True)
class ServingLimits:
    """What one connection may take. `max_connections=None`: from the descriptor limit
    ((soft limit − 64) / 2: 480 with the usual 1,024). `http`: uvicorn's parser, "httptools" (the
    default, what `uvicorn[standard]` deployments run; h11 when it is not installed), "auto" (the
    same) or "h11"."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int | None = None
    http: str = "httptools"

    def __post_init__(self):
        object.__setattr__(self, "header_timeout", _seconds("header_timeout", self.header_timeout))
        object.__setattr__(self, "body_timeout", _seconds("body_timeout", self.body_timeout))
        cap = self.max_connections
        if cap is None:
            cap = _default_max_connections()
        elif isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"{_named('max_connections')}: expected a whole number of at least 1, not {cap!r}")
        object.__setattr__(self, "max_connections", cap)
        if self.http not in ("auto", "h11", "httptools"):
            raise ValueError(f"http: expected 'auto', 'h11' or 'httptools', not {self.http!r}")


# One text for each refusal the server itself makes, so every caller sees the same bytes.
_REFUSALS = {
    404: b"Not Found",
    408: b"Request Timeout: the request did not arrive in time",
    503: b"Service Unavailable: try again shortly",
}
_RETRY_AFTER = b"5"


def refusal(status: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(headers, body) of a refusal: the same bytes whoever refuses (a timeout, the cap, an app's 404/503)."""
    body = _REFUSALS[status]
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", _RETRY_AFTER))
    if status != 404:
        headers.append((b"connection", b"close"))
    return headers, body


def _raw_refusal(status: int) -> bytes:
    from http import HTTPStatus

    headers, body = refusal(status)
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
    return head + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body


async def _busy(scope, receive, send) -> None:
    headers, body = refusal(503)
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Guarded:
    """Mixed into uvicorn's H11Protocol / HttpToolsProtocol: the header and body deadlines and the cap."""

    limits: ServingLimits

    @property
    def app(self):
        # read by both parsers when a request's headers are complete: the moment to apply the cap
        if self._over_cap or len(self.connections) > self.limits.max_connections:
            return _busy
        return self._app

    @app.setter
    def app(self, value) -> None:
        self._app = value

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._timer = None
        self._phase = "headers"
        self._over_cap = len(self.connections) > self.limits.max_connections
        if self._over_cap:
            self._arm(min(_OVER_CAP_GRACE, self.limits.header_timeout))
        else:
            self._arm(self.limits.header_timeout)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
            return
        cycle = self.cycle
        phase = ("headers" if cycle is None or cycle.response_complete
                 else "body" if cycle.more_body else "app")
        if phase == "body":  # progress: the body deadline starts again
            self._arm(self.limits.body_timeout)
        elif phase == "headers" and (self._phase != "headers" or self._timer is None):
            self._arm(self.limits.header_timeout)  # a new request began; a slow one is not re-armed
        elif phase == "app":
            self._disarm()
        self._phase = phase

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._phase == "body" and self.flow.read_paused:  # the app is not reading: not the caller's fault
            self._arm(self.limits.body_timeout)
            return
        cycle = self.cycle
        if self._phase == "body" and isinstance(cycle.scope.get("state"), dict):
            cycle.scope["state"][TIMED_OUT] = True
        if cycle is None or not cycle.response_started:
            self.transport.write(_raw_refusal(503 if self._over_cap else 408))
        self.transport.close()


def _protocol_class(limits: ServingLimits) -> type:
    choice = limits.http
    if choice in ("auto", "httptools"):
        try:
            import httptools  # noqa: F401
            choice = "httptools"
        except ImportError:  # a dependency, but an install without it still serves, on h11
            if choice == "httptools":
                _log.warning("httptools is not installed: serving with h11 (pip install httptools)")
            choice = "h11"
    if choice == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return type(f"Guarded{base.__name__}", (_Guarded, base), {"limits": limits})


def make_server(app, *, limits: ServingLimits | None = None, log_level: str = "warning", keep_alive: float = 30.0):
    """A uvicorn.Server for `app` with the guarded protocol; serve it with `serve_guarded`."""
    import uvicorn  # heavy: only when a server is really started

    limits = limits or ServingLimits()
    # No Server/Date headers: they tell a stranger what runs here, and would make refusals differ.
    # No proxy-header rewriting: nothing here reads the client address or scheme from the scope, and
    # uvicorn's middleware for it costs every request a layer.
    # keep-alive above httpx's 5 s pool expiry: with equal timeouts a client may reuse a connection the
    # server is closing at that instant ("Server disconnected without sending a response").
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", access_log=False, http=_protocol_class(limits),
                            ws="none", limit_concurrency=None, timeout_graceful_shutdown=2,
                            timeout_keep_alive=int(keep_alive), server_header=False, date_header=False,
                            proxy_headers=False)
    redact_handlers()  # uvicorn.Config just added its own log handlers: they mask tokens like every other
    return uvicorn.Server(config)


class _QuietAccept:
    """The loop's exception handler: out of descriptors, one line per 10 s instead of a traceback per accept."""

    def __init__(self):
        self.last = -math.inf
        self.missed = 0

    def __call__(self, loop, context) -> None:
        if context.get("message") != "socket.accept() out of system resource":
            loop.default_exception_handler(context)
            return
        self.missed += 1
        now = time.monotonic()
        if now - self.last >= _ACCEPT_LOG_EVERY:
            exc = context.get("exception")
            _log.warning("cannot accept connections (%s): new ones wait in the backlog; %d such pause(s) since "
                         "the last note", getattr(exc, "strerror", None) or exc, self.missed)
            self.last, self.missed = now, 0


async def serve_guarded(pairs: list) -> None:
    """Serve each (uvicorn.Server, socket) on this loop, its accept errors quiet."""
    asyncio.get_running_loop().set_exception_handler(_QuietAccept())
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in pairs))


class ServerThread:
    """`with ServerThread(app) as srv: srv.url` — uvicorn serving `app` until the block ends."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning",
                 limits: ServingLimits | None = None, keep_alive: float = 30.0):
        self.app, self.host, self.requested_port = app, host, port
        self.log_level, self.limits = log_level, limits or ServingLimits()
        self.keep_alive = keep_alive
        self._server = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "ServerThread":
        sock = listen_socket(self.host, self.requested_port)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = make_server(self.app, limits=self.limits, log_level=self.log_level, keep_alive=self.keep_alive)
        self._thread = threading.Thread(target=asyncio.run, args=(serve_guarded([(self._server, sock)]),),
                                        name=f"uvicorn:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {self.url} did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<ServerThread {self.url} {state}>"
