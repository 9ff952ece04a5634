"""The conversation engine does no I/O: a hand-written synchronous driver over plain httpx plays
the same transfer as `run_transfer`, against the real sandbox."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jivo_ops.channel.jaicp import BotResponse, EventBatch
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import (
    DEFAULT_SCRIPT, Conversation, Finished, PollEvents, SendEvent, SendQuery, Sleep, TransferResult,
    arun_transfers, format_timeline, run_transfer,
)

STEP = 5.0
ROOT = Path(__file__).resolve().parents[1]


def perform(http: httpx.Client, url: str, action) -> object:
    """One action with a blocking client: all a synchronous driver (a Locust user) has to know."""
    if isinstance(action, Sleep):
        time.sleep(action.seconds)
        return None
    if isinstance(action, PollEvents):
        params = {"clientId": action.client_id, "timeout": f"{action.timeout:g}"}
        if action.ts is not None:
            params["ts"] = action.ts
        response = http.get(url + "/events", params=params, timeout=action.limit)
        response.raise_for_status()
        return EventBatch.from_json(response.json(), ts=action.ts)
    if isinstance(action, SendQuery):
        body = {"clientId": action.client_id, "query": action.text}
    elif isinstance(action, SendEvent):
        body = {"clientId": action.client_id, "event": action.name, "data": dict(action.data)}
    else:
        raise TypeError(action)
    response = http.post(url, json=body, timeout=action.limit)
    response.raise_for_status()
    return BotResponse.from_json(response.json())


def drive(conversation: Conversation, url: str) -> TransferResult:
    with httpx.Client() as http:
        while not isinstance(action := conversation.next_action(), Finished):
            try:
                value = perform(http, url, action)
            except httpx.TimeoutException:
                conversation.fail(TimeoutError())
            except Exception as exc:  # noqa: BLE001 - the engine decides what it means
                conversation.fail(exc)
            else:
                conversation.receive(value)
    return action.result


def shape(result: TransferResult) -> list[tuple[str, str, str]]:
    return [(s.step, s.author, s.kind) for s in result.steps]


@pytest.mark.parametrize("online, outcome", [(True, "answered"), (False, "no_operators")])
def test_a_synchronous_driver_gets_what_run_transfer_gets(online, outcome):
    with Sandbox(online=online) as sb:
        url = sb.profile.jaicp.chat_api_url
        by_hand = drive(Conversation(DEFAULT_SCRIPT, chat="sync-driver-1", transfer_id="sync-1", step_timeout=STEP,
                                     url=url), url)
        by_runner = run_transfer(sb, step_timeout=STEP)
    assert by_hand.outcome == by_runner.outcome == outcome, format_timeline(by_hand)
    assert shape(by_hand) == shape(by_runner)
    assert (by_hand.closed_by, bool(by_hand.operator), by_hand.switched_at is not None) == \
        (by_runner.closed_by, bool(by_runner.operator), by_runner.switched_at is not None)
    # the same JSONL contract, tokens masked in both
    assert set(by_hand.to_json()) == set(by_runner.to_json())
    assert sb.jaicp.chat_token not in str(by_hand.to_json())


def test_the_engine_answers_only_the_action_it_handed_out():
    conversation = Conversation(DEFAULT_SCRIPT, chat="c", transfer_id="t", step_timeout=1.0,
                                url="http://127.0.0.1:9/chatapi/secret-token-123456")
    with pytest.raises(RuntimeError, match="ask for one first"):
        conversation.receive(None)
    first = conversation.next_action()
    assert first == SendQuery("c", "Здравствуйте", limit=1.0) and conversation.next_action() is first
    assert "secret-token-123456" not in repr(conversation)
    result = conversation.interrupt()
    assert result.interrupted and result.outcome == "error" and conversation.next_action() == Finished(result)
    with pytest.raises(RuntimeError, match="has finished"):
        conversation.fail(TimeoutError())


def test_one_transport_is_shared_by_every_pooled_client():
    class Counting(httpx.AsyncHTTPTransport):
        requests = 0

        async def handle_async_request(self, request):
            Counting.requests += 1
            return await super().handle_async_request(request)

    transport = Counting()
    with Sandbox() as sb:
        batch = asyncio.run(arun_transfers(sb, clients=12, concurrency=12, requests_per_http_client=3,
                                           step_timeout=STEP, progress=False, transport=transport))
    assert batch.all_answered and len(batch) == 12
    assert Counting.requests >= 12 * 4  # say, switch, at least one poll, close: all through the one transport


def test_importing_the_package_script_and_results_stays_light():
    code = ("import sys, jivo_ops, jivo_ops.transfer.script, jivo_ops.transfer.results, jivo_ops.transfer as t; "
            "t.OUTCOMES, t.Script, t.TransferResult, t.format_timeline; "
            "print(sorted(m for m in ('httpx', 'tqdm') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_one_outcome_list_for_transfer_and_logs():
    import jivo_ops.logs
    import jivo_ops.transfer
    from jivo_ops.logs import per_period

    assert jivo_ops.logs.OUTCOMES is jivo_ops.transfer.OUTCOMES
    assert "no_switch" in per_period(jivo_ops.transfer.TransferBatch([]).to_frame()).columns


def test_no_private_name_is_imported_across_transfer_modules():
    files = [*(ROOT / "jivo_ops" / "transfer").glob("*.py"), ROOT / "jivo_ops" / "cli" / "transfer.py",
             ROOT / "jivo_ops" / "cli" / "sandbox.py", ROOT / "jivo_ops" / "widgets" / "transfer_console.py",
             *(ROOT / "tests").glob("test_transfer*.py")]
    private = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                private += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_") and a.name != "_"]  # `_`: gettext
    assert private == []
