"""Several ASGI apps, each its own uvicorn server on its own port, sharing one event loop in one thread.

The simulated JAICP and Jivo talk to each other over HTTP all the time; in two threads every socket
write would hand the GIL back and forth (each hand-over waits out the switch interval), which made
the pair several times slower under load. One loop keeps them separate servers without that cost.
That loop is asyncio's own, not uvloop's even when it is installed: at 3,000 concurrent transfers uvloop
accepted new connections no faster than they came, so the Jivo half's accept queue stood at ~3,000 for
most of a run (a new connection waited ~15 s to be read: the internal calls' 10 s read timeouts, the
clients' 30 s ones), where asyncio's accept loop takes up to the backlog at each wake-up and the queue
stayed under 600. The CPU per transfer was the same within noise (issue 17 §3).

One process, not workers: a transfer's state (the Chat API client, its live chat, Jivo's chat and its
operator, the history both sides write and `Sandbox.history` reads) is shared by requests that arrive
on different connections, so several processes would each see a part of it. The CPU per transfer was
cut instead (issue 17 §3): the hot paths past Starlette's router (`_common.FastRoutes`), the internal
calls on a small httptools pool (`_outgoing`), and each answer in one send (`_CorkedTransport`).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time

from ..held_setting import HeldSetting

__all__ = ["LoopServers"]

# The youngest generation's collection threshold while a sandbox serves. Each collection walks every young
# object still alive — under load, the thousands of requests in flight — and the default (700 allocations)
# ran one every few requests: 7 % of the sandbox's CPU in a profile (issue 17 §3). Raised while any sandbox
# serves, the user's own threshold back when the last one stops.
_GC_YOUNG_THRESHOLD = 20_000


_young_collections = HeldSetting(gc.get_threshold, lambda threshold: gc.set_threshold(*threshold),
                                 lambda threshold: (max(threshold[0], _GC_YOUNG_THRESHOLD), *threshold[1:]))


class _CorkedTransport:
    """A transport whose writes within one loop step go out as one: uvicorn writes a response's head
    and body separately, two sends and two wake-ups of the other side for every answer (issue 17 §3).
    Closing sends what is pending first; everything else is the transport's own."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport, loop) -> None:
        self._transport, self._loop, self._pending = transport, loop, []

    def write(self, data) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked several times per request: not through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name):
        return getattr(self._transport, name)


def _corked(protocol_class: type) -> type:
    """`protocol_class` (the guarded uvicorn protocol) writing through a `_CorkedTransport`."""
    def connection_made(self, transport) -> None:
        protocol_class.connection_made(self, _CorkedTransport(transport, asyncio.get_running_loop()))

    return type(f"Corked{protocol_class.__name__}", (protocol_class,), {"connection_made": connection_made})


class LoopServers:
    """`LoopServers([(app, sock), ...]).start()`; `urls` in the same order; `stop()`."""

    def __init__(self, apps: list[tuple[object, socket.socket]], *, log_level: str = "warning"):
        from ..channel.serving import make_server  # the same guards as every server the project starts

        self._sockets = [sock for _, sock in apps]
        for sock in self._sockets:
            # the longest accept queue the system allows: 3,000 clients connecting at once overflowed 2,048,
            # and a dropped SYN is resent after 1, 3, 7, 15 s — past a 30 s request timeout (issue 17 §3)
            sock.listen(socket.SOMAXCONN)
        self._servers = [make_server(app, log_level=log_level) for app, _ in apps]
        for server in self._servers:
            server.config.http = _corked(server.config.http)
            # uvicorn listens on the socket again with its own backlog (2,048): without this the queue above
            # was cut back, and a full queue drops connections silently (TcpExtListenOverflows)
            server.config.backlog = socket.SOMAXCONN
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def urls(self) -> list[str]:
        out = []
        for sock in self._sockets:
            host, port = sock.getsockname()[:2]
            out.append(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
        return out

    def _run(self) -> None:
        from ..channel.serving import serve_guarded

        try:
            asyncio.run(serve_guarded(list(zip(self._servers, self._sockets))))  # not uvloop: the docstring
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> "LoopServers":
        _young_collections.hold()
        self._thread = threading.Thread(target=self._run, name="jivo-ops-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not all(server.started for server in self._servers):
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"sandbox servers failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"sandbox servers did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
            _young_collections.release()
        for sock in self._sockets:
            sock.close()
