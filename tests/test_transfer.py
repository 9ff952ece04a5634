"""The test transfer runner against the real sandbox: every outcome, the evidence, stopping, JSONL."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import datetime

import pytest

from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import (
    DEFAULT_SCRIPT, OUTCOMES, Script, ScriptError, TransferResult, arun_transfers, format_timeline, load_script,
    read_jsonl, run_transfer, run_transfers,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
STEP = 5.0  # seconds per step in the tests: the sandbox answers in milliseconds


def authors(result: TransferResult) -> list[str]:
    return [s.author for s in result.steps]


# -- scripts as data -------------------------------------------------------------------------


def test_default_script_is_say_switch_wait_close():
    assert [s.action for s in DEFAULT_SCRIPT.steps] == ["say", "switch", "wait_operator", "close"]


def test_script_from_json_and_toml_files_with_short_and_long_steps(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"name": "polite", "steps": [
        {"say": "Добрый день"}, {"action": "switch", "text": "Нужен оператор"}, {"wait_operator": 3},
        {"action": "say", "text": "Спасибо"}, "wait_operator", {"pause": 0.1}, {"close": None}]}),
        encoding="utf-8")
    script = load_script(tmp_path / "s.json")
    assert script.name == "polite"
    assert [s.action for s in script.steps] == ["say", "switch", "wait_operator", "say", "wait_operator", "pause",
                                                "close"]
    assert script.steps[2].timeout == 3.0 and script.steps[5].seconds == 0.1

    (tmp_path / "s.toml").write_text('name = "t"\n[[steps]]\naction = "switch"\n[[steps]]\naction = "wait_operator"\n'
                                     'timeout = 2\n[[steps]]\naction = "close"\ntext = "/stop"\n', encoding="utf-8")
    toml = load_script(tmp_path / "s.toml")
    assert [(s.action, s.text, s.timeout) for s in toml.steps] == [("switch", None, None), ("wait_operator", None, 2.0),
                                                                   ("close", "/stop", None)]
    assert Script.from_json(toml.to_json()) == toml


@pytest.mark.parametrize("body, expected", [
    ('{"steps": []}', "non-empty list"),
    ('{"steps": [{"action": "dance"}]}', "step 1: unknown action 'dance'"),
    ('{"steps": [{"say": "hi"}, {"action": "say"}]}', "step 2 (say): 'text' is required"),
    ('{"steps": [{"action": "wait_operator", "timeout": -1}]}', "'timeout' must be a positive number"),
    ('{"steps": [{"action": "say", "text": "x", "colour": 1}]}', "unknown key(s) ['colour']"),
    ('{"name": "x", "stepz": []}', "unknown key(s) ['stepz']"),
    ('{"steps": [', "broken JSON at line 1"),
])
def test_bad_scripts_name_file_step_and_key(tmp_path, body, expected):
    path = tmp_path / "bad.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        load_script(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_missing_script_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScriptError, match="script file not found"):
        load_script(tmp_path / "nope.toml")


# -- outcomes on the sandbox ------------------------------------------------------------------


def test_online_operator_answers_and_everything_is_recorded():
    with Sandbox() as sb:
        result = run_transfer(sb, step_timeout=STEP)
        names = {op["name"] for op in sb.operators}
        token = sb.jaicp.chat_token
    assert result.outcome == "answered", format_timeline(result)
    assert result.error is None and not result.interrupted
    assert result.started_at <= result.switched_at <= result.first_operator_at <= result.closed_at
    assert result.closed_by == "client"
    assert result.operator in names
    assert result.wait_s is not None and result.wait_s >= 0
    # who said what, in order: client, bot, client, bot (text + switch), operator, client (close), bot
    assert authors(result) == ["CLIENT", "BOT", "CLIENT", "BOT", "BOT", "OPERATOR", "CLIENT", "BOT"]
    kinds = [(s.step, s.kind) for s in result.steps]
    assert ("switch", "switch") in kinds
    client_steps = [s for s in result.steps if s.author == "CLIENT"]
    assert [s.text for s in client_steps] == ["Здравствуйте", "Позовите оператора", "/closeChat"]
    assert all(s.latency_s is not None and s.latency_s > 0 and s.http["status"] == 200 for s in client_steps)
    operator_step = next(s for s in result.steps if s.author == "OPERATOR")
    assert operator_step.http["method"] == "GET" and operator_step.http["url"].endswith("/events")
    assert operator_step.http["url"].split("/")[-2].startswith("…")  # the token masked, host and endpoint kept

    line = json.dumps(result.to_json(), ensure_ascii=False)
    assert token not in line and token.split(":")[1] not in line
    assert "Позовите оператора" in line  # Cyrillic kept as is


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_timeline_frame_and_text():
    with Sandbox() as sb:
        result = run_transfer(sb, step_timeout=STEP)
    frame = result.timeline()
    assert list(frame.columns[:8]) == ["ts", "elapsed_s", "step", "author", "kind", "text", "latency_s", "status"]
    assert str(frame["ts"].dt.tz) == "UTC"
    assert frame["author"].tolist() == authors(result)
    assert (frame["elapsed_s"].diff().dropna() >= 0).all()
    text = format_timeline(result)
    assert "outcome answered" in text and "OPERATOR" in text and "closed by client" in text


def test_offline_operators_give_no_operators():
    with Sandbox(online=False) as sb:
        result = run_transfer(sb, step_timeout=STEP)
    assert result.outcome == "no_operators", format_timeline(result)
    assert result.switched_at is not None and result.first_operator_at is None
    assert any(s.author == "SYSTEM" and s.text == "noLivechatOperatorsOnline" for s in result.steps)


def test_offline_operators_told_on_events_give_no_operators_too():
    with Sandbox(online=False, no_operators_delivery="events") as sb:
        result = run_transfer(sb, step_timeout=STEP)
    assert result.outcome == "no_operators", format_timeline(result)


def test_a_bot_that_never_switches_gives_no_switch():
    script = {"name": "no-keyword", "steps": [{"say": "Здравствуйте"}, {"switch": "просто вопрос"}, "wait_operator"]}
    with Sandbox() as sb:
        result = run_transfer(sb, script=script, step_timeout=STEP)
    assert result.outcome == "no_switch", format_timeline(result)
    assert result.switched_at is None and result.script == "no-keyword"


def test_unconfigured_operator_channel_is_an_error_that_says_so():
    with Sandbox(configured=False) as sb:
        result = run_transfer(sb, step_timeout=STEP)
    assert result.outcome == "error", format_timeline(result)
    assert "no live chat opened" in result.error and "«Оператор»" in result.error


def test_unconfigured_channel_answering_400_keeps_the_failing_exchange():
    with Sandbox(configured=False, no_operator_channel_status=400) as sb:
        result = run_transfer(sb, step_timeout=STEP)
    assert result.outcome == "error"
    failing = result.steps[-1]
    assert failing.kind == "error" and failing.step == "switch"
    assert failing.http["status"] == 400 and failing.http["method"] == "POST"
    assert failing.http["request"] == {"clientId": result.chat, "query": "Позовите оператора"}
    assert "no_operator_channel" in failing.http["response"]


def test_injected_5xx_ends_each_transfer_as_error_with_evidence_and_the_batch_goes_on():
    with Sandbox(jaicp_error_rate=1.0) as sb:
        batch = run_transfers(sb, clients=4, concurrency=2, step_timeout=STEP, progress=False)
    assert len(batch) == 4 and [r.outcome for r in batch] == ["error"] * 4
    for r in batch:
        evidence = r.steps[-1].http
        assert evidence["status"] == 503 and evidence["url"].startswith("http://127.0.0.1:")
        assert "503" in r.error


def test_a_hanging_service_ends_in_error_at_the_step_timeout():
    with Sandbox(jaicp_latency=3.0) as sb:
        result = run_transfer(sb, step_timeout=0.5)
    assert result.outcome == "error"
    assert "no answer" in result.error and "0.5 s" in result.error
    assert (result.ended_at - result.started_at).total_seconds() < 2.5


def test_agent_side_close_is_closed_by_operator():
    # The operator closes right after the first answer; the client takes its time before the close phrase.
    script = {"steps": [{"switch": "оператор"}, "wait_operator", {"pause": 0.5}, "close"]}
    with Sandbox(close_after=1) as sb:
        result = run_transfer(sb, script=script, step_timeout=STEP)
    assert result.outcome == "answered", format_timeline(result)
    assert result.closed_by == "operator" and result.closed_at >= result.first_operator_at
    assert any(s.author == "SYSTEM" and s.text == "livechatFinished" for s in result.steps)


def test_operator_slower_than_the_step_timeout_gives_unanswered():
    with Sandbox(think_time=3.0) as sb:
        result = run_transfer(sb, step_timeout=1.0)
    assert result.outcome == "unanswered", format_timeline(result)
    assert result.switched_at is not None and result.first_operator_at is None
    waited = (result.ended_at - result.switched_at).total_seconds()
    assert 0.9 <= waited < 2.5


def test_longer_conversation_with_a_second_operator_message():
    script = {"steps": [{"switch": "оператор, помогите"}, "wait_operator", {"say": "Ещё вопрос"}, "wait_operator",
                        "close"]}
    with Sandbox(reply_mode="echo") as sb:
        result = run_transfer(sb, script=script, step_timeout=STEP)
    operator_texts = [s.text for s in result.steps if s.author == "OPERATOR"]
    assert result.outcome == "answered" and len(operator_texts) == 2
    assert operator_texts[1].endswith("Ещё вопрос")


# -- batches: concurrency, stopping, JSONL ---------------------------------------------------


def test_batch_summary_counts_and_percentiles():
    with Sandbox() as sb:
        batch = run_transfers(sb, clients=6, concurrency=3, step_timeout=STEP, progress=False)
    summary = batch.summary()
    assert summary["outcomes"] == {"answered": 6, "no_operators": 0, "no_switch": 0, "unanswered": 0, "error": 0}
    for key in ("time_to_switch_s", "time_to_first_operator_reply_s"):
        figures = summary[key]
        assert figures["n"] == 6 and 0 <= figures["median"] <= figures["p95"]
    assert len({r.chat for r in batch}) == 6
    frame = batch.to_frame()
    assert frame["outcome"].tolist() == ["answered"] * 6 and str(frame["switched_at"].dt.tz) == "UTC"


def test_stop_mid_batch_keeps_finished_results_and_marks_the_rest(tmp_path):
    out = tmp_path / "t.jsonl"
    stop = threading.Event()
    with Sandbox(think_time=0.3) as sb:
        timer = threading.Timer(1.2, stop.set)
        timer.start()
        batch = run_transfers(sb, clients=30, concurrency=2, step_timeout=STEP, progress=False, stop=stop, out=out)
        timer.cancel()
    # Transfers the stop came before never ran: counted, not results (issue 15: not errors).
    assert batch.interrupted and batch.planned == 30 and len(batch) + batch.not_started == 30
    assert 0 < len(batch) < 30
    answered = [r for r in batch if r.outcome == "answered"]
    marked = [r for r in batch if r.interrupted]
    assert answered and len(answered) + len(marked) == len(batch)
    assert all(r.outcome == "error" and "interrupted" in r.error for r in marked)
    assert batch.elapsed_s < 5
    assert len(read_jsonl(out)) == len(batch)  # what ran, nothing lost on disk either


def test_cancelling_the_coroutine_returns_the_partial_batch():
    async def main(sb):
        task = asyncio.ensure_future(arun_transfers(sb, clients=20, concurrency=2, step_timeout=STEP, progress=False))
        await asyncio.sleep(1.0)
        task.cancel()
        return await task

    with Sandbox(think_time=0.3) as sb:
        batch = asyncio.run(main(sb))
    assert batch.interrupted and batch.planned == 20 and len(batch) + batch.not_started == 20
    assert any(r.outcome == "answered" for r in batch) and any(r.interrupted for r in batch)


def test_sync_wrapper_works_inside_a_running_event_loop():
    async def notebook_cell(sb):  # what a Jupyter cell is: code run while a loop is running
        return run_transfers(sb, clients=2, concurrency=2, step_timeout=STEP, progress=False)

    with Sandbox() as sb:
        batch = asyncio.run(notebook_cell(sb))
    assert [r.outcome for r in batch] == ["answered", "answered"]


def test_jsonl_matches_the_transfer_results_contract(tmp_path):
    out = tmp_path / "results.jsonl"
    with Sandbox() as sb:
        batch = run_transfers(sb, clients=3, concurrency=3, step_timeout=STEP, progress=False, out=out)
        secrets = [sb.jaicp.chat_token, sb.jaicp.webhook_token, sb.jivo.unique_url]
    text = out.read_text(encoding="utf-8")
    assert not any(secret in text for secret in secrets)
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3
    for row in lines:
        assert set(row) >= {"transfer_id", "chat", "script", "outcome", "started_at", "switched_at",
                            "first_operator_at", "closed_at", "closed_by", "operator", "error", "steps"}
        assert row["outcome"] in OUTCOMES and row["script"] == "default"
        for key in ("started_at", "switched_at", "first_operator_at", "closed_at"):
            assert ISO_UTC.match(row[key]), (key, row[key])
        assert row["closed_by"] in ("client", "operator", None)
        for step in row["steps"]:
            assert set(step) == {"ts", "step", "author", "kind", "text", "latency_s", "http"}
            assert ISO_UTC.match(step["ts"]) and step["author"] in ("CLIENT", "BOT", "OPERATOR", "SYSTEM")
            assert step["latency_s"] is None or isinstance(step["latency_s"], float)
            if step["http"] is not None:
                assert set(step["http"]) == {"method", "url", "status", "request", "response"}
                assert "…" in step["http"]["url"]
                if step["http"]["response"] and isinstance(step["http"]["response"], dict) \
                        and "token" in step["http"]["response"]:
                    assert step["http"]["response"]["token"].startswith("…")
    back = read_jsonl(out)
    # written as each transfer finishes: completion order, every transfer once
    assert sorted(r.transfer_id for r in back) == sorted(r.transfer_id for r in batch)
    assert isinstance(back[0].started_at, datetime) and back[0].started_at.tzinfo is not None
    assert {r.outcome for r in back} == {"answered"}


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_bad_arguments_are_clear():
    with Sandbox() as sb:
        with pytest.raises(ValueError, match="clients"):
            run_transfers(sb, clients=0)
        with pytest.raises(ScriptError, match="unknown action"):
            run_transfers(sb, script=[{"action": "fly"}])
    from jivo_ops.profile import Profile
    from jivo_ops.errors import ProfileError

    with pytest.raises(ProfileError, match=r"\[jaicp\.chat_api_url\] is empty: a test transfer"):
        run_transfers(Profile())


def test_logs_reads_the_jsonl_into_the_same_transfers(tmp_path):
    from jivo_ops.logs import load

    out = tmp_path / "results.jsonl"
    with Sandbox() as sb:
        batch = run_transfers(sb, clients=3, concurrency=3, step_timeout=STEP, progress=False, out=out)
    logs = load(out)
    assert len(logs.rejected) == 0
    assert len(logs.messages) == sum(len(r.steps) for r in batch)
    table = logs.transfers().set_index("chat")
    for r in batch:
        row = table.loc[r.chat]
        assert row["outcome"] == "answered" and row["operator"] == r.operator and row["closed_by"] == "client"
        assert row["wait_s"] == pytest.approx(r.wait_s, abs=1e-3)


def test_unwritable_results_file_is_a_clear_error(tmp_path):
    from jivo_ops.errors import JivoOpsError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with Sandbox() as sb:
        with pytest.raises(JivoOpsError, match="cannot write the results file"):
            run_transfers(sb, out=blocker / "sub" / "t.jsonl", progress=False)
