"""The asyncio + httpx driver of conversations, and the sync bridge.

`arun_transfers` plays many `Conversation`s at once over a pool of httpx clients (bounded
concurrency, a per-step timeout, a progress bar, `stop`, an `out=` JSONL sink written as transfers
finish) and returns a `TransferBatch`; `run_transfers` / `run_transfer` do the same synchronously,
in a plain script and inside Jupyter's running loop. `play` is the whole driver loop: it performs
the engine's actions with an `AsyncChatApiClient` and feeds the answers back — no script rule here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

import httpx

from ..channel.http import KEEPALIVE_EXPIRY_S, check_url, client_timeout, make_async_client
from ..channel.httptools_transport import HttptoolsTransport
from ..channel.jaicp import AsyncChatApiClient
from ..errors import JivoOpsError
from ..files import shown_name
from ..profile import resolve_profile
from ..sandbox.operator_view import OperatorView, fetch_operator_view
from .checks import settle_operator_checks
from .conversation import POLL_WINDOW_S, Action, Conversation, Finished, PollEvents, SendEvent, SendQuery, Sleep
from .results import OUTCOMES, TransferBatch, TransferResult, jsonl_line
from .script import Script, as_script
from .settings import TransferSettings

__all__ = ["arun_transfers", "run_transfers", "run_transfer", "play", "perform", "REQUESTS_PER_HTTP_CLIENT"]

# Few requests in flight per httpx client beat one crowded client (see BENCHMARKS.md).
REQUESTS_PER_HTTP_CLIENT = 8
log = logging.getLogger("jivo_ops.transfer")


async def play(conversation: Conversation, api: AsyncChatApiClient) -> TransferResult:
    """Drive one conversation to its end over `api`; a cancellation (a stopped batch) interrupts it."""
    try:
        while not isinstance(action := conversation.next_action(), Finished):
            if isinstance(action, Sleep):
                await asyncio.sleep(action.seconds)
                conversation.receive(None)
                continue
            try:
                async with asyncio.timeout(action.limit):
                    value = await perform(api, action)
            except Exception as exc:  # noqa: BLE001 - the engine decides what a failure means
                conversation.fail(exc)
            else:
                conversation.receive(value)
        return action.result
    except asyncio.CancelledError:
        return conversation.interrupt()


def perform(api, action: Action):
    """The Chat API call an HTTP action means, on `api` (an async client: the awaitable; a sync one, a
    Locust user's: the answer itself)."""
    if isinstance(action, SendQuery):
        return api.send_query(action.client_id, action.text, data=action.data)
    if isinstance(action, SendEvent):
        return api.send_event(action.client_id, action.name, action.data)
    if isinstance(action, PollEvents):
        return api.poll_events(action.client_id, ts=action.ts, timeout=action.timeout)
    raise TypeError(f"not an HTTP action: {action!r}")


def with_operator_view(result: TransferResult, view: OperatorView) -> TransferResult:
    """The result with what the operator got. A transfer left unanswered because JAICP did not take the
    operator's replies — refused them (4xx), or failed them through all of Jivo's resends (5xx, no
    answer) — is an `error` saying so and why: the operator did answer, the hand-over back broke."""
    changes: dict[str, Any] = {}
    if view.operator_side is not None:
        changes["operator_side"] = view.operator_side
    if view.refused and result.outcome == "unanswered":
        changes.update(outcome="error", error=view.refused)
    return dataclasses.replace(result, **changes) if changes else result


async def _viewed(result: TransferResult, client: httpx.AsyncClient, view_url: str) -> TransferResult:
    """After a transfer ends: the Jivo side's view of it (a simulated Jivo or stand-in that shows one)."""
    if not view_url or result.switched_at is None or result.interrupted:
        return result
    replies = [s.text for s in result.steps if s.author == "OPERATOR" and s.text]
    return with_operator_view(result, await fetch_operator_view(client, view_url, result.chat, replies))


async def arun_transfers(profile, *, clients: int = 1, concurrency: int = 10,
                         script: Script | str | os.PathLike | Sequence | Mapping | None = None,
                         step_timeout: float = 10.0, progress: bool = True, out: str | os.PathLike | None = None,
                         append: bool = False, stop: Any = None, chat_prefix: str | None = None,
                         poll_window: float = POLL_WINDOW_S,
                         requests_per_http_client: int = REQUESTS_PER_HTTP_CLIENT,
                         transport: httpx.AsyncBaseTransport | None = None, on_result=None) -> TransferBatch:
    """Run `clients` scripted transfers, at most `concurrency` at once; see the package docstring.

    Bad settings raise a SettingsError naming the setting (`TransferSettings`).
    `stop`: anything with `is_set()` (threading.Event, asyncio.Event): when set, running transfers
    are interrupted, finished results kept; unstarted ones never run (`batch.not_started`).
    Cancelling this coroutine does the same and still returns the batch. `out`: a JSONL path written
    as transfers finish (added to the end of the file with `append`, as a suite of scripts does).
    `transport`: one httpx async transport shared by every pooled client (as in httpx:
    a MockTransport or an ASGI transport; default: a pooled HTTP transport per client).
    `on_result(result)`: called as each transfer finishes (a widget's live table); its errors are
    logged, never allowed to break the batch.
    """
    settings = TransferSettings(clients=clients, concurrency=concurrency, step_timeout=step_timeout)
    clients, step_timeout = settings.clients, settings.step_timeout
    the_profile = resolve_profile(profile)
    url = check_url(the_profile.require("jaicp.chat_api_url", "a test transfer drives the bot through a Chat API "
                                        "inbound channel"), "[jaicp] chat_api_url")
    view_url = the_profile.jivo.operator_view_url.strip()
    the_script = as_script(script)
    run_id = uuid.uuid4().hex[:8]
    prefix = chat_prefix or f"jivo-ops-{run_id}"
    concurrency = min(settings.concurrency, clients)
    sink = _open_sink(out, append) if out else None  # before anything needs closing: a bad path fails first

    per_client = max(1, requests_per_http_client)
    pool_size = max(1, math.ceil(concurrency / per_client))
    # Idle connections are dropped before a server's keep-alive timeout (uvicorn: 5 s) can close
    # them under a request in flight, which would surface as a spurious ReadError.
    limits = httpx.Limits(max_connections=per_client + 2, max_keepalive_connections=per_client + 2,
                          keepalive_expiry=KEEPALIVE_EXPIRY_S)
    http_timeout = client_timeout(step_timeout + poll_window + 5.0, connect=settings.connect_timeout)
    # One TLS context for the whole pool: building one per client costs ~60 ms of CPU each.
    tls = httpx.create_ssl_context() if url.startswith("https:") else False
    # httptools for plain HTTP, aiohttp for the rest: a fraction of httpcore's CPU per exchange (benchmarks/bench_runner.py).
    http_clients = [make_async_client(timeout=http_timeout, plain=True,
                                      transport=transport or HttptoolsTransport(verify=tls, limits=limits))
                    for _ in range(pool_size)]
    apis = [AsyncChatApiClient(url, client=c, timeout=step_timeout) for c in http_clients]

    results: list[TransferResult | None] = [None] * clients
    semaphore = asyncio.Semaphore(concurrency)
    bar = _progress_bar(clients, the_script.name, progress)
    counts = {o: 0 for o in OUTCOMES}
    started = time.perf_counter()
    stopping = asyncio.Event()

    sink_failures: list[OSError] = []

    def finished(index: int, result: TransferResult) -> None:
        result = settle_operator_checks(result)  # once operator_side is known (or stays None)
        results[index] = result
        counts[result.outcome] += 1
        if sink is not None and not sink_failures:
            try:
                sink.write(jsonl_line(result))
                sink.flush()
            except OSError as exc:  # gather() below would swallow it: reported after the batch
                sink_failures.append(exc)
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: v for k, v in counts.items() if v}, refresh=False)
        if on_result is not None:
            try:
                on_result(result)
            except Exception:  # noqa: BLE001 - a viewer's bug must not end the batch
                log.exception("on_result callback failed")

    async def one(index: int) -> None:
        async with semaphore:
            if stopping.is_set():
                return
            conversation = Conversation(the_script, chat=f"{prefix}-{index:05d}", transfer_id=f"{run_id}-{index:05d}",
                                        step_timeout=step_timeout, url=url, poll_window=poll_window)
            result = await play(conversation, apis[index % pool_size])
            finished(index, await _viewed(result, http_clients[index % pool_size], view_url))

    async def watch_stop(tasks: list[asyncio.Task]) -> None:
        while not stopping.is_set():
            if stop is not None and stop.is_set():
                stopping.set()
                break
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()

    tasks = [asyncio.ensure_future(one(i)) for i in range(clients)]
    watcher = asyncio.ensure_future(watch_stop(tasks))
    interrupted = False
    try:
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            # Ctrl-C / kernel interrupt / task.cancel(): stop cleanly, keep what finished.
            interrupted = True
            stopping.set()
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        interrupted = interrupted or stopping.is_set()
        stopping.set()
        await asyncio.gather(watcher, return_exceptions=True)
    finally:
        watcher.cancel()
        if bar is not None:
            bar.close()
        if sink is not None:
            sink.close()
        await asyncio.gather(*(c.aclose() for c in http_clients), return_exceptions=True)
    # Transfers a stop came before are not results: the batch counts them (`not_started`), nothing more.
    if sink_failures:
        raise JivoOpsError(f"{shown_name(out)}: cannot write the results file: "
                           f"{sink_failures[0].strerror or sink_failures[0]}")
    return TransferBatch(results=[r for r in results if r is not None], script=the_script.name,
                         interrupted=interrupted, elapsed_s=time.perf_counter() - started, planned=clients)


def _open_sink(out: str | os.PathLike, append: bool = False):
    path = Path(out).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a" if append else "w", encoding="utf-8")
    except OSError as exc:
        raise JivoOpsError(f"{path}: cannot write the results file: {exc.strerror or exc}") from None


def _progress_bar(total: int, name: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"transfers ({name})", unit="chat", leave=True, mininterval=0.2)


class _EitherStop:
    """Set when the caller's stop flag or our own (set on Ctrl-C) is set."""

    def __init__(self, *flags: Any):
        self.flags = [f for f in flags if f is not None]

    def is_set(self) -> bool:
        return any(f.is_set() for f in self.flags)


def run_transfers(profile, *, clients: int = 1, concurrency: int = 10, stop: Any = None, **options) -> TransferBatch:
    """Synchronous `arun_transfers`: fine in a plain script and inside Jupyter's running loop.

    The batch runs on its own event loop in a worker thread; Ctrl-C / a kernel interrupt while it
    runs stops it cleanly and the finished results are returned (`batch.interrupted` is True).
    """
    own_stop = threading.Event()
    combined = _EitherStop(stop, own_stop)
    box: dict[str, Any] = {}

    finished = threading.Event()

    def work() -> None:
        try:
            box["value"] = asyncio.run(arun_transfers(profile, clients=clients, concurrency=concurrency,
                                                      stop=combined, **options))
        except BaseException as exc:  # handed to the caller's thread as is
            box["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="jivo-ops-transfers", daemon=True)
    worker.start()
    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking dead.
    while not finished.is_set():
        try:
            finished.wait(0.1)
        except KeyboardInterrupt:
            own_stop.set()
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_transfer(profile, *, script=None, step_timeout: float = 10.0, **options) -> TransferResult:
    """One transfer, synchronously (no progress bar): the value to look at in a notebook."""
    options.setdefault("progress", False)
    return run_transfers(profile, clients=1, concurrency=1, script=script, step_timeout=step_timeout, **options)[0]
