"""Pieces both simulated services share: tokens, clock, bounded body reading, fault injection,
outgoing deliveries with Jivo-style retries, and the thread-safe history of everything that happened."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from ..channel.http import json_bytes
from ..errors import JivoOpsError
from ..redaction import mask_url, redact

__all__ = ["History", "HistoryEntry", "BodyTooLarge", "read_body", "FaultMiddleware", "QuietDisconnects", "FastRoutes", "Delivery", "deliver",
           "SimulatedService", "Answer", "HotRequest", "alnum", "hex_token", "uuid_text", "uuid_hex", "masked", "now", "iso", "reporter_time", "plain", "json_response",
           "error_dto"]

_ALNUM = string.ascii_letters + string.digits
WIRE_ENCODING = "utf-8"


def alnum(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def hex_token(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


_ids = random.Random()  # ids, not secrets: no system call per id


def uuid_text() -> str:
    """A random (version 4) UUID as `str(uuid.uuid4())` spells it, for a fifth of its CPU (several per transfer)."""
    h = "%032x" % (_ids.getrandbits(128) & ~(0xF << 76) & ~(0xC << 60) | (0x4 << 76) | (0x8 << 60))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid_hex() -> str:
    """`uuid_text()` as `uuid.uuid4().hex` spells it."""
    return uuid_text().replace("-", "")


@functools.lru_cache(maxsize=256)
def masked(url: str) -> str:
    """`mask_url(url)` worked out once per address: every delivery attempt's history entry names one of
    the same few URLs (issue 17 §3)."""
    return mask_url(url)


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    return ts.isoformat()


def reporter_time(ts: datetime) -> str:
    """JAICP Reporter style: ``2026-11-25T18:56:31.123Z``."""
    return ts.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"  # isoformat: a tenth of strftime's CPU


# -- responses ------------------------------------------------------------------------------------

class Answer:
    """A whole answer: the two ASGI messages Starlette's `Response` sends, with the same headers in the
    same order (Content-Length, then Content-Type), without its object layers. Every answer the simulated
    services give is one of these, on the hot paths and on Starlette's routes alike (issue 17 §3)."""

    __slots__ = ("status_code", "body", "raw_headers")

    def __init__(self, body: bytes, status_code: int, content_type: bytes) -> None:
        self.status_code, self.body = status_code, body
        # no Content-Length where HTTP forbids one, as Starlette leaves it out
        self.raw_headers = ([(b"content-type", content_type)] if status_code < 200 or status_code in (204, 304)
                            else [(b"content-length", b"%d" % len(body)), (b"content-type", content_type)])

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


PLAIN_TYPE, JSON_TYPE = b"text/plain; charset=utf-8", b"application/json; charset=utf-8"


def plain(text: str, status: int) -> Answer:
    """Jivo's way to refuse: a text/plain; charset=utf-8 reason."""
    return Answer(text.encode(WIRE_ENCODING), status, PLAIN_TYPE)


def json_response(data: Any, status: int = 200) -> Answer:
    return Answer(json_bytes(data), status, JSON_TYPE)


def error_dto(status: int, error: str, message: str, **args: Any):
    """JAICP's error body: ``{"error", "message", "args"}``."""
    return json_response({"error": error, "message": message, "args": args}, status)


# -- bodies ---------------------------------------------------------------------------------------

class BodyTooLarge(Exception):
    pass


async def read_body(request, limit: int) -> bytes:
    """The whole body, refusing more than `limit` bytes whether it came with Content-Length or chunked.

    An oversize body is drained (up to a bound) before the 413 goes out, so the sender reads the
    answer instead of a broken pipe.
    """
    declared = request.headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            too_large = True
        if too_large:
            if size > 16 * limit:
                break
            continue
        chunks.append(chunk)
    if too_large:
        raise BodyTooLarge(size)
    return b"".join(chunks)


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """(value, None) or (None, a one-line reason)."""
    if not raw.strip():
        return None, "empty body: expected a JSON object"
    try:
        text = raw.decode(WIRE_ENCODING)
    except UnicodeDecodeError as exc:
        return None, f"body is not UTF-8 (byte {exc.start}): send UTF-8 JSON"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"


# -- history --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened. `side`: which simulated service saw it ("jaicp" or "jivo").

    Kinds: client_message, bot_reply, switch, no_operators, livechat_opened, livechat_finished,
    forward (JAICP → Jivo attempt), jivo_received, operator_message, operator_close, agent_joined,
    webhook_attempt (Jivo → webhook), webhook_received, operator_relayed, dropped, fault, rejected,
    admin.
    """

    seq: int
    ts: datetime
    side: str
    kind: str
    client_id: str | None = None
    author: str | None = None
    text: str | None = None
    detail: dict = field(default_factory=dict)

    def line(self) -> str:
        who = self.author or "-"
        text = (self.text or "").replace("\n", " ⏎ ")
        if len(text) > 80:
            text = text[:79] + "…"
        extra = ""
        if "status" in self.detail:
            extra = f" [{self.detail['status']}]"
        if "reason" in self.detail:
            extra += f" ({self.detail['reason']})"
        return redact(f"{self.ts:%H:%M:%S.%f}"[:-3] + f"  {self.side:5}  {self.kind:18} {who:8} {text}{extra}")


class History:
    """Everything both services saw, in order. Safe to read from any thread while the sandbox runs."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._entries: list[HistoryEntry] = []
        self._messages: list[dict] = []   # Reporter API rows
        self._waiting = 0   # threads in wait_for: only then is there anyone to wake

    def add(self, side: str, kind: str, *, client_id: str | None = None, author: str | None = None,
            text: str | None = None, **detail: Any) -> HistoryEntry:
        # The frozen dataclass's __init__ sets each field through object.__setattr__: filling the instance's
        # dict at once is a third of its cost, a dozen times per transfer (issue 17 §3).
        entry = object.__new__(HistoryEntry)
        with self._lock:
            entry.__dict__.update(seq=len(self._entries) + 1, ts=now(), side=side, kind=kind, client_id=client_id,
                                  author=author, text=text, detail=detail)
            self._entries.append(entry)
            if self._waiting:
                self._lock.notify_all()
        return entry

    def add_message(self, row: dict) -> None:
        with self._lock:
            self._messages.append(row)
            if self._waiting:
                self._lock.notify_all()

    # -- reading ----------------------------------------------------------------------------------
    def entries(self, kind: str | Iterable[str] | None = None, *, client_id: str | None = None,
                side: str | None = None) -> list[HistoryEntry]:
        kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
        with self._lock:
            items = list(self._entries)
        return [e for e in items if (kinds is None or e.kind in kinds)
                and (client_id is None or e.client_id == client_id) and (side is None or e.side == side)]

    @property
    def messages(self) -> list[dict]:
        """Reporter-style message rows (copies)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def dropped(self) -> list[HistoryEntry]:
        return self.entries("dropped")

    def wait_for(self, predicate: Callable[[HistoryEntry], bool] | str, timeout: float = 10.0) -> HistoryEntry:
        """The first entry matching `predicate` (or of that kind), waiting up to `timeout` seconds."""
        test = (lambda e: e.kind == predicate) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        seen = 0
        with self._lock:
            while True:
                for entry in self._entries[seen:]:
                    if test(entry):
                        return entry
                seen = len(self._entries)
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = ", ".join(e.kind for e in self._entries[-10:]) or "nothing"
                    raise TimeoutError(f"no matching sandbox history entry within {timeout} s "
                                       f"(last ones: {kinds})")
                self._waiting += 1
                try:
                    self._lock.wait(left)
                finally:
                    self._waiting -= 1

    def timeline(self, client_id: str | None = None) -> str:
        return "\n".join(e.line() for e in self.entries(client_id=client_id))

    def to_dataframe(self):
        import pandas as pd

        rows = [{"seq": e.seq, "ts": e.ts, "side": e.side, "kind": e.kind, "client_id": e.client_id,
                 "author": e.author, "text": e.text, "detail": redact(json.dumps(e.detail, ensure_ascii=False,
                                                                                 default=str))}
                for e in self.entries()]
        return pd.DataFrame(rows, columns=["seq", "ts", "side", "kind", "client_id", "author", "text", "detail"])

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<sandbox History: {len(self)} entries, {len(self.dropped)} dropped>"


# -- faults ---------------------------------------------------------------------------------------

async def drop_connection(send) -> None:
    """Close the client's connection without any answer (a real reset, not a 5xx)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # not uvicorn's protocol: start an answer and break it off
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        raise ConnectionAbortedError("injected drop")
    transport.abort()
    for _ in range(3):  # let uvicorn see connection_lost before the app returns
        await asyncio.sleep(0)


class FaultMiddleware:
    """Injected latency, 503s and dropped connections on every path but the admin API."""

    def __init__(self, app, *, side: str, history: History, rates: Callable[[str], tuple[float, float, float]],
                 seed: Callable[[], int | None]):
        self.app, self.side, self.history, self.rates = app, side, history, rates
        self._seed = seed
        self._rng: random.Random | None = None
        self._rng_seed: object = object()

    def rng(self) -> random.Random:
        seed = self._seed()
        if self._rng is None or seed != self._rng_seed:
            self._rng_seed = seed
            self._rng = random.Random(f"{seed}:{self.side}") if seed is not None else random.Random()
        return self._rng

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/admin"):
            return await self.app(scope, receive, send)  # QuietDisconnects (below it) still applies
        latency, error_rate, drop_rate = self.rates(scope["path"])
        if latency > 0:
            await asyncio.sleep(latency)
        if error_rate or drop_rate:
            roll = self.rng().random()
            path = masked("http://x" + scope["path"]).removeprefix("http://x")
            if roll < drop_rate:
                self.history.add(self.side, "fault", text="connection dropped", fault="drop", path=path)
                return await drop_connection(send)
            if roll < drop_rate + error_rate:
                self.history.add(self.side, "fault", text="503 injected", fault="5xx", path=path, status=503)
                body = b"injected fault: service unavailable (sandbox fault injection)"
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        return await self.app(scope, receive, send)


class QuietDisconnects:
    """A client that leaves mid-request (a stopped batch) has nobody to answer: noted, no traceback."""

    def __init__(self, app, *, side: str, history: History):
        from starlette.requests import ClientDisconnect

        self.app, self.side, self.history = app, side, history
        self.disconnect = ClientDisconnect   # imported once here, not on every request

    async def __call__(self, scope, receive, send):
        try:
            return await self.app(scope, receive, send)
        except self.disconnect:
            self.history.add(self.side, "client_gone", text="the client disconnected mid-request")


class _HotHeaders:
    """A request's headers as the handlers read Starlette's `Headers`: `get` the first value of a name,
    `items`/`keys` every pair in order, `dict(...)` the first value per name."""

    __slots__ = ("raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw   # uvicorn gives the names lower-cased

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.raw:
            if k == key:
                return v.decode("latin-1")
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def keys(self) -> list[str]:
        return [k.decode("latin-1") for k, _ in self.raw]

    def items(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw]


class HotRequest:
    """What the handlers read of a Starlette `Request` (method, path_params, headers, query_params,
    stream(), receive), read straight off the ASGI scope, built only as far as a handler asks."""

    __slots__ = ("scope", "receive", "path_params", "_headers", "_query", "_consumed")

    def __init__(self, scope, receive, path_params: dict) -> None:
        self.scope, self.receive, self.path_params = scope, receive, path_params
        self._headers = self._query = None
        self._consumed = False

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def headers(self) -> _HotHeaders:
        if self._headers is None:
            self._headers = _HotHeaders(self.scope["headers"])
        return self._headers

    @property
    def query_params(self) -> dict[str, str]:
        if self._query is None:   # as Starlette's QueryParams: blank values kept, the last of a name wins
            from urllib.parse import parse_qsl

            self._query = dict(parse_qsl(self.scope["query_string"].decode("latin-1"), keep_blank_values=True))
        return self._query

    async def stream(self):
        """The body's chunks as Starlette's `Request.stream` yields them (ClientDisconnect if the caller left)."""
        if self._consumed:
            raise RuntimeError("Stream consumed")
        while not self._consumed:
            message = await self.receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if not message.get("more_body", False):
                    self._consumed = True
                if body:
                    yield body
            elif message["type"] == "http.disconnect":  # what QuietDisconnects expects, as from Starlette's
                from starlette.requests import ClientDisconnect

                raise ClientDisconnect()
        yield b""


class FastRoutes:
    """The hot paths (a transfer's every request) straight to their handlers; everything else to Starlette.

    `table()` maps (method, exact path) to (handler, path_params): the same handlers Starlette's routes
    call, given a `HotRequest` instead of a Starlette Request, minus the route scan and the middleware
    and send wrappers that were a tenth of the sandbox's CPU per request (issue 17 §3). A path not in
    the table (a wrong token, the admin API, the Reporter) goes the Starlette way and gets its answers
    from there. The table is built again only when `paths()` (the tokens it is made of) changes, not
    for every request.
    """

    def __init__(self, app, table: Callable[[], dict], paths: Callable[[], object] = lambda: None):
        self.app, self.table, self.paths = app, table, paths
        self._built: tuple[object, dict] | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        paths = self.paths()
        if self._built is None or self._built[0] != paths:
            self._built = (paths, self.table())
        hit = self._built[1].get((scope.get("method"), scope["path"]))
        if hit is None:
            return await self.app(scope, receive, send)
        handler, params = hit
        scope["path_params"] = dict(params)
        response = await handler(HotRequest(scope, receive, scope["path_params"]))
        await response(scope, receive, send)


# -- outgoing deliveries --------------------------------------------------------------------------

@dataclass
class Delivery:
    """The outcome of one POST with resends: `status` of the last answer (None: no answer)."""

    ok: bool
    status: int | None
    attempts: int
    reason: str = ""


async def deliver(client, url: str, body: bytes, *, chunked: bool, retries: int, wait: float, timeout: float,
                  on_attempt: Callable[[int, int | None, str], None]) -> Delivery:
    """POST `body` as JSON, chunked or with Content-Length, resending the way Jivo's docs say
    (the one rule of `channel.http`): on 5xx, other non-2xx non-4xx codes and connection errors,
    never on 4xx. Never raises: the outcome is a Delivery."""
    from ..channel.http import JSON_CONTENT_TYPE, RetryPolicy, asend

    last: dict[str, Any] = {"attempt": 0, "status": None, "reason": ""}

    def heard(attempt: int, status: int | None, reason: str) -> None:
        last.update(attempt=attempt, status=status, reason=reason)
        on_attempt(attempt, status, reason)

    try:
        await asend(client, "POST", url, content=body, chunked=chunked, headers={"Content-Type": JSON_CONTENT_TYPE},
                    retry=RetryPolicy(retries=retries, wait=wait), timeout=timeout, what="delivery",
                    on_attempt=heard)
    except JivoOpsError:
        return Delivery(False, last["status"], last["attempt"], last["reason"] or f"HTTP {last['status']}")
    return Delivery(True, last["status"], last["attempt"], last["reason"])


# -- the part of a simulated service that does not depend on which one it is ----------------------

# The client toward the other side: `channel.http.asend` (the one retry rule, its errors and reasons)
# on `_outgoing.OutgoingClient` (why: its docstring). httpcore scanned its whole pool (connections ×
# queued requests) for every request: with one pool of 200 that scan was 83 % of the sandbox's CPU
# under load; neither pool here scans (issue 17).


def outgoing_connections() -> int:
    """How many internal calls may be in flight at once: a quarter of what the servers accept (each
    internal call holds two descriptors, ours and the other half's), at most 2,000. At 3,000 concurrent
    transfers every answer takes seconds, and 200 slots made the internal calls the queue that timed out."""
    from ..channel.serving import ServingLimits

    return min(2000, max(50, ServingLimits().max_connections // 4))


def _new_clients() -> list:
    import httpx

    from ..channel.http import KEEPALIVE_EXPIRY_S, AiohttpTransport
    from ._outgoing import OutgoingClient

    # keep connections to the other side alive under load (many chats at once)
    cap = outgoing_connections()
    limits = httpx.Limits(max_connections=cap, keepalive_expiry=KEEPALIVE_EXPIRY_S)
    tls = httpx.create_ssl_context()  # built off the loop: it costs ~0.1 s
    return [OutgoingClient(AiohttpTransport(verify=tls, limits=limits), limit=cap, expiry=KEEPALIVE_EXPIRY_S)]


class SimulatedService:
    """What the simulated JAICP and Jivo run the same way: tasks on the server's loop, the client
    toward the other side, the admin API's body and settings form, and the ASGI app with its
    lifespan and fault injection.

    A subclass sets `side`, `settings`, `history`, `apply_settings` and says how its admin API
    refuses (`_admin_error`).
    """

    side: str
    settings: Callable[[], Any]
    history: History
    apply_settings: Callable[[dict], Any] | None

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients_out: list | None = None
        self._next_client = 0
        self._client_task: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- running on the server's loop -----------------------------------------------------------
    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def run_coroutine(self, coro, timeout: float = 30.0):
        """Run `coro` on this server's loop from another thread and wait for its result."""
        if self.loop is None:
            coro.close()
            raise RuntimeError("the sandbox is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()
        import aiohttp  # noqa: F401 - aiohttp's import (~0.3 s, once) before serving, not in the first transfer
        self._client_task = asyncio.ensure_future(asyncio.to_thread(_new_clients))  # SSL setup off the start path

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        task, self._client_task = self._client_task, None
        if task is not None:
            try:
                await asyncio.gather(*(client.aclose() for client in await task))
            except Exception:  # noqa: BLE001 - the clients never came up: nothing to close
                pass
        self.clients_out = None
        self.loop = None

    async def http(self):
        """A client toward the other side (built in the background at startup): the pools take turns."""
        if self.clients_out is None:
            self.clients_out = await self._client_task
        self._next_client = (self._next_client + 1) % len(self.clients_out)
        return self.clients_out[self._next_client]

    # -- admin (the console's forms) ------------------------------------------------------------
    def _admin_error(self, status: int, code: str, message: str):
        """The service's own way to refuse an admin request (`code`: JAICP-style error id)."""
        raise NotImplementedError

    async def _admin_body(self, request) -> tuple[dict | None, Any]:
        try:
            raw = await read_body(request, 64 * 1024)
        except BodyTooLarge:
            return None, self._admin_error(413, "admin.request.too_large", "admin body too large")
        if not raw.strip():
            return {}, None
        data, problem = parse_json(raw)
        if problem or not isinstance(data, dict):
            return None, self._admin_error(400, "admin.request.invalid", problem or "expected a JSON object")
        return data, None

    async def _admin_settings(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        if self.apply_settings is None:
            return self._admin_error(405, "admin.settings.read_only", "settings are read-only here")
        try:
            self.apply_settings(data)
        except (JivoOpsError, TypeError, ValueError) as exc:
            return self._admin_error(400, "admin.settings.invalid", str(exc))
        return json_response({"ok": True})

    # -- the ASGI face --------------------------------------------------------------------------
    def _asgi(self, routes: list, rates: Callable[[str], tuple[float, float, float]], fast: Callable[[], dict] = dict,
              fast_paths: Callable[[], object] = lambda: None):
        """Starlette over `routes` (`fast()`: the hot ones, made of `fast_paths()`, see `FastRoutes`),
        starting and stopping this service, behind fault injection."""
        from contextlib import asynccontextmanager

        from starlette.applications import Starlette

        @asynccontextmanager
        async def lifespan(app):
            await self.startup()
            try:
                yield
            finally:
                await self.shutdown()

        app = QuietDisconnects(FastRoutes(Starlette(routes=routes, lifespan=lifespan), fast, fast_paths),
                               side=self.side, history=self.history)
        return FaultMiddleware(app, side=self.side, history=self.history, rates=rates,
                               seed=lambda: self.settings().seed)
