"""A scripted HTTP server for tests: a tiny Starlette app under uvicorn on 127.0.0.1 that records
every request (method, path, query, headers, raw body bytes, whether it came chunked) and answers
from a script of responses, then from a default responder.

    with ScriptedServer() as srv:
        srv.script((503, "busy"), (200, "ok"))
        httpx.post(srv.url + "/x", content=b"...")
        srv.requests[0].chunked, srv.requests[0].body

A responder is `(status, text)`, `(status, text, content_type)`, a starlette Response, or a
callable (sync or async) taking the recorded request (and the starlette Request) and returning one
of those. Kept generic on purpose: any test file may use it.

For pytest: import the fixtures `scripted_server` (one server per test module) and `srv` (that
server, its script and records cleared around each test) into a test module to use them there.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from jivo_ops.channel.serving import ServerThread

__all__ = ["ScriptedServer", "Recorded", "delayed", "sleep_then", "scripted_server", "srv"]


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool
    extra: dict = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class ScriptedServer:
    def __init__(self, default: Any = (200, "ok")):
        self.default = default
        self.requests: list[Recorded] = []
        self._script: list[Any] = []
        self._lock = threading.Lock()
        self._thread: ServerThread | None = None

    # --- test-facing ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._thread is not None, "server not started"
        return self._thread.url

    def script(self, *responders: Any) -> "ScriptedServer":
        with self._lock:
            self._script.extend(responders)
        return self

    def reset(self, default: Any = (200, "ok")) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self.default = default

    # --- app -------------------------------------------------------------------------------------
    def _app(self):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def endpoint(request: Request) -> Response:
            body = await request.body()
            recorded = Recorded(
                method=request.method, path=request.url.path, query=request.url.query,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
                body=body,
                chunked="chunked" in request.headers.get("transfer-encoding", "").lower(),
            )
            with self._lock:
                self.requests.append(recorded)
                responder = self._script.pop(0) if self._script else self.default
            if callable(responder) and not isinstance(responder, Response):
                params = len(inspect.signature(responder).parameters)
                responder = responder(recorded, request) if params >= 2 else responder(recorded)
                if inspect.isawaitable(responder):
                    responder = await responder
            if isinstance(responder, Response):
                return responder
            status, text, *rest = responder
            content_type = rest[0] if rest else "text/plain; charset=utf-8"
            return Response(text.encode("utf-8") if isinstance(text, str) else text, status_code=status,
                            media_type=content_type)

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

    def start(self) -> "ScriptedServer":
        self._thread = ServerThread(self._app()).start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> "ScriptedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def sleep_then(seconds: float, responder: Any) -> Any:
    """For scripts: answer `responder` after `seconds` (a long poll that holds)."""
    await asyncio.sleep(seconds)
    return responder


def delayed(seconds: float, responder: Any) -> Callable:
    async def respond(recorded: Recorded) -> Any:
        return await sleep_then(seconds, responder)
    return respond


@pytest.fixture(scope="module")
def scripted_server():
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def srv(scripted_server):
    scripted_server.reset()
    yield scripted_server
    scripted_server.reset()
