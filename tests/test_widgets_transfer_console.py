"""TransferConsole, headless, against a real sandbox: click «Запустить», watch it fill, «Стоп» stops it."""

from __future__ import annotations

import time

import pytest

from jivo_ops.sandbox import Sandbox
from jivo_ops.widgets import TransferConsole


@pytest.fixture
def sb():
    with Sandbox() as sandbox:
        yield sandbox


def test_run_fills_progress_table_summary_and_dataframe(sb):
    console = TransferConsole(sb, clients=4, concurrency=2, step_timeout=5)
    started = time.monotonic()
    console.run_button.click()
    assert time.monotonic() - started < 0.5, "the click must not block the kernel"
    assert console.run_button.disabled and not console.stop_button.disabled
    batch = console.wait(60)
    assert batch is not None and batch.all_answered
    assert console.progress.value == 4 and console.progress.description == "4/4"
    assert console.status.text == "✓ 4/4 transfers: answered=4"
    assert console.table.value.count("<tr>") == 5 and "answered" in console.table.value
    assert "Итог" in console.summary.value and "время до перевода: медиана" in console.summary.value
    frame = console.result
    assert len(frame) == 4 and set(frame["outcome"]) == {"answered"} and frame["wait_s"].notna().all()
    assert not console.run_button.disabled and console.stop_button.disabled
    # the timeline of the chosen chat is shown
    console.chat_choice.value = console.chat_choice.options[-1]
    assert console.chat_choice.value in console.timeline.value and "OPERATOR" in console.timeline.value


def test_offline_operators_end_as_no_operators_shown_as_failure(sb):
    sb.set(online=False)
    console = TransferConsole(sb, clients=2, concurrency=2, step_timeout=5)
    console.on_run()
    console.wait(60)
    assert set(console.result["outcome"]) == {"no_operators"}
    assert console.status.kind == "error" and "no_operators=2" in console.status.text


def test_stop_ends_the_batch_and_keeps_finished_results(sb):
    sb.set(think_time=30.0)  # operators take their time: the batch would wait on /events
    console = TransferConsole(sb, clients=3, concurrency=3, step_timeout=20)
    console.on_run()
    sb.history.wait_for("livechat_opened", timeout=10)  # a transfer now waits for its operator
    time.sleep(0.3)
    stopped_at = time.monotonic()
    console.stop_button.click()
    batch = console.wait(15)
    assert time.monotonic() - stopped_at < 10
    assert batch.interrupted and len(batch) == 3
    assert console.status.text.startswith("остановлено: 3 из 3 выполнено, 0 не начаты")
    assert all(r.outcome != "answered" for r in batch)


def test_bad_script_json_is_reported_in_the_widget(sb):
    console = TransferConsole(sb)
    console.script_editor.value = '{"name": "x", "steps": [{"action": "dance"}]}'
    console.run_button.click()
    assert console.model.job is None
    assert console.status.kind == "error" and "unknown action 'dance'" in console.status.text
    console.script_editor.value = "{broken"
    console.run_button.click()
    assert "script JSON" in console.status.text


def test_a_custom_script_can_be_picked(sb):
    from jivo_ops.transfer import Script

    quick = Script.from_json({"name": "no-close", "steps": [{"switch": "оператор"}, {"wait_operator": 5}]})
    console = TransferConsole(sb, [quick])
    assert list(console.script_choice.options) == ["default", "no-close"]
    console.script_choice.value = "no-close"
    assert '"no-close"' in console.script_editor.value
    console.on_run()
    batch = console.wait(30)
    assert batch.script == "no-close" and batch.all_answered


def test_unconfigured_sandbox_does_not_pass():
    with Sandbox(configured=False) as sandbox:
        console = TransferConsole(sandbox, step_timeout=3)
        console.on_run()
        console.wait(60)
        assert console.status.kind == "error"
        assert list(console.result["outcome"]) != ["answered"]
