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
    assert console.status.text == "✓ 4/4 переводов: answered=4"
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
    assert list(console.script_choice.options)[0] == "default" and list(console.script_choice.options)[-1] == "no-close"
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


def test_shipped_scripts_are_offered_and_a_picked_one_runs_with_its_sandbox_settings(sb):
    console = TransferConsole(sb, step_timeout=5)
    names = list(console.script_choice.options)
    assert names[0] == "default" and {"happy path", "offline path", "slow operator breaks the service level"} <= set(names)
    console.script_choice.value = "offline path"
    assert '"offline path"' in console.script_editor.value
    console.on_run()
    batch = console.wait(30)
    assert batch.script == "offline path" and set(console.result["outcome"]) == {"no_operators"}
    assert sb.settings.online is False and console.online_choice.value is False  # the controls show what it did


def test_a_named_folder_adds_its_scripts_and_a_bad_folder_is_one_line(sb, tmp_path):
    console = TransferConsole(sb)
    console.folder_button.click()
    assert console.folder_status.kind == "error" and "введите путь" in console.folder_status.text
    console.folder_input.value = str(tmp_path / "nowhere")
    console.folder_button.click()
    assert console.folder_status.kind == "error" and "это не папка" in console.folder_status.text
    assert "\n" not in console.folder_status.text and "Traceback" not in console.folder_status.text
    (tmp_path / "mine.transfer.toml").write_text('name = "mine"\n[[steps]]\nswitch = "оператор"\n', encoding="utf-8")
    (tmp_path / "broken.transfer.toml").write_text("name = \n", encoding="utf-8")
    console.folder_input.value = str(tmp_path)
    console.folder_button.click()
    assert console.folder_status.kind == "ok", console.folder_status.text
    assert "сценариев из" in console.folder_status.text and "broken.transfer.toml" in console.folder_status.text
    assert "mine" in console.script_choice.options and "happy path" in console.script_choice.options
    empty = tmp_path / "empty"
    empty.mkdir()
    console.folder_input.value = str(empty)
    console.folder_button.click()
    assert console.folder_status.kind == "error" and "нет файлов" in console.folder_status.text


def test_sandbox_controls_change_the_running_sandbox_as_its_admin_api_does(sb):
    import httpx

    console = TransferConsole(sb, clients=1, step_timeout=5)
    assert [name for _label, name in console.fault_choice.options] == [
        "", "jaicp_error_rate", "jaicp_drop_rate", "webhook_error_rate", "webhook_drop_rate",
        "jivo_error_rate", "jivo_drop_rate"]
    assert console.share_input.disabled  # no fault yet: its share means nothing
    console.online_choice.value = False
    console.think_input.value = 1.5
    console.fault_choice.value = "jivo_error_rate"
    assert not console.share_input.disabled
    console.share_input.value = 0.25
    console.apply_button.click()
    assert console.sandbox_status.kind == "ok", console.sandbox_status.text
    assert "не в сети" in console.sandbox_status.text and "Jivo отвечает 503 25%" in console.sandbox_status.text
    wanted = {"online": False, "think_time": 1.5, "jaicp_error_rate": 0.0, "jaicp_drop_rate": 0.0,
              "webhook_error_rate": 0.0, "webhook_drop_rate": 0.0, "jivo_error_rate": 0.25, "jivo_drop_rate": 0.0}
    with Sandbox() as other:  # the other face: the admin API, same input, same settings
        assert httpx.post(other.jaicp_url + "/admin/settings", json=wanted).status_code == 200
        assert other.settings == sb.settings
    console.fault_choice.value = ""
    console.apply_button.click()
    console.on_run()  # operators offline: the next transfer finds nobody
    console.wait(30)
    assert list(console.result["outcome"]) == ["no_operators"] and sb.settings.jivo_error_rate == 0.0


def test_no_sandbox_controls_for_a_real_profile(sb):
    console = TransferConsole(sb.profile)
    assert console.sandbox_panel is None
    with pytest.raises(Exception, match="не песочница"):
        console.model.set_sandbox(online=False, think_time=0)


def test_live_table_times_have_no_microseconds_and_headers_are_catalog_text(sb):
    console = TransferConsole(sb, clients=2, concurrency=2, step_timeout=5)
    console.on_run()
    console.wait(30)
    html = console.table.value
    started = console.result["started_at"].iloc[0]
    assert started.strftime("%H:%M:%S") in html and "+00:00" not in html and f".{started.microsecond:06d}" not in html
    assert "ожидание, с" in html and "исход" in html and "nan" not in html.lower().replace("nan-", "")
