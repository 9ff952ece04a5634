"""Run an ASGI app under uvicorn on 127.0.0.1 in a background thread, on a free port.

Shared by the sandbox, the recorder and the tests: the socket is bound before uvicorn starts,
so the port is known at once and never raced for.
"""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["ServerThread", "parse_listen", "listen_socket"]


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


class ServerThread:
    """`with ServerThread(app) as srv: srv.url` — uvicorn serving `app` until the block ends."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning",
                 limit_concurrency: int | None = None, keep_alive: float = 30.0):
        self.app, self.host, self.requested_port = app, host, port
        self.log_level, self.limit_concurrency = log_level, limit_concurrency
        # Above httpx's 5 s pool expiry: with equal timeouts a client may reuse a connection the
        # server is closing at that instant ("Server disconnected without sending a response").
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
        import uvicorn  # heavy: only when a server is really started

        sock = listen_socket(self.host, self.requested_port)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self.log_level, lifespan="on", access_log=False,
                                limit_concurrency=self.limit_concurrency, timeout_graceful_shutdown=2,
                                timeout_keep_alive=int(self.keep_alive))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
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
