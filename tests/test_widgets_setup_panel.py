"""SetupPanel, headless, against a sandbox started unwired: walk the seed's four steps by clicking."""

from __future__ import annotations

import os
import stat

import pytest

from jivo_ops.profile import example_profile
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfer
from jivo_ops.widgets import SetupPanel


@pytest.fixture
def unwired():
    with Sandbox(configured=False) as sb:
        yield sb


def _step_head(panel, step):
    return panel.step_status[step].value


def test_walking_the_four_steps_wires_the_sandbox(unwired):
    panel = SetupPanel(unwired)
    assert panel.model.summary_text().splitlines()[1:] == [
        "✓ 1. Создание канала", "✗ 2. Настройка Jivo: J201 J204",
        "✗ 3. Подключение операторского канала: J301 J305", "✓ 4. Перевод на оператора"]
    assert "Вставьте «Internal Webhook Url» из JAICP" in _step_head(panel, 2) and "✗ Шаг 2" in _step_head(panel, 2)
    assert run_transfer(unwired, step_timeout=2).outcome != "answered"

    panel.apply_buttons[1].click()                      # «Создать»: the Internal Webhook Url appears
    assert panel.inputs["jaicp.internal_webhook_url"].value == unwired.jaicp.internal_webhook_url
    panel.paste_webhook.click()                         # copy it into Jivo's «URL вашего сервера для Webhooks»
    panel.inputs["jivo.chunked"].value = True           # «Chunked кодировка в запросах»
    assert "✓ Шаг 2" in _step_head(panel, 2)
    panel.apply_buttons[2].click()                      # «Добавить канал»
    assert panel.status.kind == "ok" and unwired.jivo.webhook_url == unwired.jaicp.internal_webhook_url
    panel.paste_unique.click()                          # «Уникальный URL» → «External API Endpoint»
    panel.inputs["jaicp.inbound_operator"].value = "Jivo"
    panel.apply_buttons[3].click()                      # «Сохранить»
    assert panel.report.ok and panel.report.summary().endswith("все четыре шага в порядке")
    assert all(panel.step_status[s].value.count("✓ Шаг") == 1 for s in (1, 2, 3, 4))
    assert run_transfer(unwired, step_timeout=5).outcome == "answered"


def test_a_url_pasted_into_the_wrong_field_is_named_with_its_fix(unwired):
    panel = SetupPanel(unwired)
    panel.inputs["jivo.webhook_url"].value = unwired.jivo.unique_url  # Jivo's own URL into its webhook field
    codes = {f.code for f in panel.report.for_step(2)}
    assert "J202" in codes
    assert "J202" in _step_head(panel, 2) and "→" in _step_head(panel, 2)
    panel.apply_buttons[2].click()  # the sandbox takes it, as Jivo's form would …
    assert unwired.jivo.webhook_url == unwired.jivo.unique_url
    assert "J202" in panel.model.summary_text()  # … and the panel still says it is wrong


def test_urls_are_masked_until_revealed_and_never_in_the_repr(unwired):
    panel = SetupPanel(unwired)
    field = panel.inputs["jivo.unique_url"]
    token = unwired.jivo.unique_url.rsplit("/", 2)[-2]
    assert token not in field.copy.value and token not in repr(field) and token not in repr(panel)
    assert field.copy.value and "…" in field.text
    assert field.hidden.layout.display is None and field.shown.layout.display == "none"
    field.reveal.value = True
    assert field.text == unwired.jivo.unique_url and unwired.jivo.unique_url in field.copy.value
    assert field.shown.layout.display is None and field.hidden.layout.display == "none"
    for step in range(1, 5):
        assert token not in panel.step_status[step].value
    assert token not in panel.summary.value


def test_save_and_load_profile(tmp_path, unwired):
    path = tmp_path / "profiles" / "mine.toml"
    path.parent.mkdir()  # issue 15: a folder that does not exist is refused, not created
    panel = SetupPanel(unwired, profile_path=path)
    panel.save_button.click()
    assert panel.file_status.kind == "ok" and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    other = SetupPanel(example_profile(), profile_path=path)
    other.load_button.click()
    assert other.profile.jivo.unique_url == unwired.jivo.unique_url and other.file_status.kind == "ok"
    other.path_input.value = str(tmp_path / "missing.toml")
    other.load_button.click()
    assert other.file_status.kind == "error" and "missing.toml" in other.file_status.text


def test_a_real_profile_is_an_editor_without_apply_buttons():
    panel = SetupPanel(example_profile())
    assert panel.apply_buttons == {} and panel.report.ok
    panel.on_apply(2)
    assert panel.status.kind == "error" and "только в песочнице" in panel.status.text
    panel.inputs["jivo.chunked"].value = False
    assert "J204" in panel.model.summary_text() and "✗ Шаг 2" in _step_head(panel, 2)


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_probes_report_failures_in_the_widget():
    with Sandbox(online=False) as sb:
        panel = SetupPanel(sb)
        panel.probe_button.click()
        assert panel.probe_button.disabled
        panel.wait_probe(30)
        assert panel.probe_status.kind == "error" and "1 failed" in panel.probe_status.text
        assert "Jivo status" in panel.probe_output.value and not panel.probe_button.disabled
        panel.jaicp_leg_button.click()
        panel.wait_probe(30)
        assert "JAICP leg" in panel.probe_status.text


def test_step_four_applies_the_switch_fields(unwired):
    panel = SetupPanel(unwired)
    panel.switch_input.value = '{"closeChatPhrases": ["/stop"], "ignoreOffline": true}'
    panel.apply_buttons[4].click()
    assert panel.status.kind == "ok"
    assert dict(unwired.settings.switch_fields) == {"closeChatPhrases": ["/stop"], "ignoreOffline": True}
    panel.switch_input.value = '{"closeChatPhrases": "/stop"'
    panel.apply_buttons[4].click()
    assert panel.status.kind == "error" and "switch JSON" in panel.status.text


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_what_broke_button_gives_the_diagnosis_verdict(unwired):
    """«Что сломалось?»: the same Diagnosis as `jivo-ops diagnose`, its verdict in the status line."""
    unwired.wire()
    panel = SetupPanel(unwired)
    panel.inputs["jivo.webhook_url"].value = unwired.jaicp.internal_webhook_url[:-4]
    assert panel.diagnose_button.description == "What broke?"
    panel.diagnose_button.click()
    assert panel.diagnose_button.disabled
    panel.wait_probe(90)
    assert panel.probe_result.step == 2 and panel.probe_result.half == "jivo_to_jaicp"
    assert panel.probe_status.kind == "error" and "Jivo → JAICP is broken" in panel.probe_status.text
    assert "<details>" in panel.probe_output.value and not panel.diagnose_button.disabled


# -- issue 15: the profile file, and status lines that follow the form ------------------------------

def test_the_profile_file_is_the_loaded_one_and_saving_over_a_file_asks(tmp_path, monkeypatch):
    from jivo_ops.profile import load_profile, save_profile

    loaded = save_profile(example_profile(), tmp_path / "mine.toml")
    monkeypatch.setenv("JIVO_OPS_PROFILE", str(loaded))
    panel = SetupPanel(load_profile())
    assert panel.path_input.value == str(loaded), "«Файл профиля» shows the loaded profile's path"
    panel.inputs["jivo.channel"].value = "Изменённый канал"
    assert panel.on_save() == loaded and "перезаписано" in panel.file_status.text
    assert load_profile(loaded).jivo.channel == "Изменённый канал"

    other = tmp_path / "other.toml"
    other.write_text("# someone else's\n", encoding="utf-8")
    panel.path_input.value = str(other)
    assert panel.on_save() is None and panel.file_status.kind == "warning" and "ещё раз" in panel.file_status.text
    assert other.read_text(encoding="utf-8") == "# someone else's\n", "not overwritten on the first click"
    panel.save_button.click()
    assert "перезаписано" in panel.file_status.text and load_profile(other).jivo.channel == "Изменённый канал"


@pytest.mark.parametrize("path, words", [("", "«Файл профиля» пуст"), ("   ", "«Файл профиля» пуст"),
                                         ("no/such/folder/p.toml", "папки no/such/folder нет")])
def test_an_empty_path_or_a_missing_folder_is_one_line(tmp_path, monkeypatch, path, words):
    monkeypatch.chdir(tmp_path)
    panel = SetupPanel(example_profile())
    panel.path_input.value = path
    panel.save_button.click()
    assert panel.file_status.kind == "error" and words in panel.file_status.text
    assert "PosixPath" not in panel.file_status.text and not (tmp_path / "no").exists()
    panel.load_button.click()
    assert panel.file_status.kind == "error"


def test_step_statuses_follow_the_current_form(unwired):
    panel = SetupPanel(unwired)
    panel.switch_input.value = '{"firstMessage": '
    assert "✗ Шаг 4" in _step_head(panel, 4) and "switch (JSON)" in _step_head(panel, 4)
    assert "✗ 4. Перевод на оператора: switch" in panel.model.summary_text()
    panel.apply_buttons[4].click()
    assert panel.status.kind == "error"
    panel.switch_input.value = '{"firstMessage": "Клиент ждёт"}'
    assert "✓ Шаг 4" in _step_head(panel, 4) and panel.status.text == "", "the red line goes with its cause"

    panel.apply_buttons[1].click()
    panel.inputs["jaicp.inbound_operator"].value = "Jivo"
    panel.apply_buttons[3].click()            # step 3 done while step 2 is still red
    assert "ещё красные: шаг 2" in panel.status.text
    panel.inputs["jivo.chunked"].value = True
    assert panel.status.text == "", "an edit makes the last action's line stale"
