"""TransferConsole in a real browser: «Стоп» mid-batch, picking a shipped script, a sandbox control.

Screenshots: test-artifacts/ui/_console_*-NN-<what>.png (Russian and English).
"""

from __future__ import annotations

import re

import nbformat
import pytest

pytest.importorskip("playwright", reason="playwright is not installed: `make install` (extra [ui])")

from lab_driver import NotebookSession  # noqa: E402  (after the skip)

CONCURRENCY = 10
NEUTRAL = "rgb(68, 68, 68)"  # StatusLine's "info" colour: a stop is the user's, not the bot's failure


def _console_notebook(path, language: str, sandbox: str = "", **console) -> None:
    options = ", ".join(f"{name}={value!r}" for name, value in console.items())
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import jivo_ops\n"
        f"jivo_ops.set_language({language!r})\n"
        "from jivo_ops.sandbox import Sandbox\n"
        "from jivo_ops.widgets import TransferConsole\n"
        f"sandbox = Sandbox({sandbox}).start()\n"
        f"console = TransferConsole(sandbox, {options})\n"
        "console")]
    nbformat.write(nb, path)


def _open(lab, page, artifacts, name: str, language: str, sandbox: str = "", **console) -> NotebookSession:
    _console_notebook(lab.root / name, language, sandbox, **console)
    nb = NotebookSession(page, lab.url, name, artifacts).open()
    nb.run_all(timeout=90)
    return nb


def test_stop_after_two_seconds_reports_what_ran_in_a_neutral_colour(fresh_lab, page, artifacts):
    # operators take their time: the batch takes a while
    nb = _open(fresh_lab, page, artifacts, "_console_stop.ipynb", "ru", "think_time=0.3", clients=300,
               concurrency=CONCURRENCY, step_timeout=20)
    console = nb.widget(".jivo-ops-transfer-console")
    console.get_by_role("button", name="Запустить").click()
    nb.wait_text(console, r"выполняется…", timeout=20)
    page.wait_for_timeout(2000)
    console.get_by_role("button", name="Стоп").click()
    text = nb.wait_text(console, r"остановлено: \d+ из 300 выполнено, \d+ не начаты", timeout=60)
    ran, not_started = map(int, re.search(r"остановлено: (\d+) из 300 выполнено, (\d+) не начаты", text).groups())
    assert 0 < ran < 300 and ran + not_started == 300
    status = console.locator(".widget-html span").filter(has_text="остановлено").first
    assert status.evaluate("el => getComputedStyle(el).color") == NEUTRAL
    assert "✗" not in status.inner_text()
    interrupted = re.search(r"error=(\d+)", status.inner_text())  # only those running at «Стоп»
    assert interrupted is None or int(interrupted.group(1)) <= CONCURRENCY
    # the bar and the table hold what ran, not the transfers that never started
    assert console.locator(".widget-hprogress .widget-label").first.inner_text() == f"{ran}/300"
    rows = console.locator("table.jivo-ops-live tbody tr")
    assert rows.count() == min(ran, 12)
    assert "not started" not in console.locator("table.jivo-ops-live").inner_text()
    timeline = console.locator(".widget-dropdown").filter(has_text="Хронология").locator("select")
    assert timeline.locator("option").count() == ran
    nb.screenshot("stopped", console)


def test_a_shipped_script_and_operators_offline_in_english(fresh_lab, page, artifacts):
    nb = _open(fresh_lab, page, artifacts, "_console_controls.ipynb", "en", clients=1, step_timeout=10)
    console = nb.widget(".jivo-ops-transfer-console")
    script = console.locator(".widget-dropdown").filter(has_text="Script").locator("select")
    script.select_option(label="happy path")
    page.wait_for_function("el => el.value.includes('happy path')", arg=console.locator("textarea").first
                           .element_handle(), timeout=20_000)  # the steps of the script picked
    console.get_by_role("button", name="Run").click()
    nb.wait_text(console, r"1/1 transfers: answered=1", timeout=60)
    nb.screenshot("shipped-script", console)

    console.get_by_text("Sandbox: operators, think time, faults").click()
    console.get_by_role("button", name="offline").click()
    console.get_by_role("button", name="Apply").click()
    nb.wait_text(console, r"✓ applied: operators offline, think time 0 s, no fault", timeout=20)
    console.get_by_role("button", name="Run").click()
    nb.wait_text(console, r"✗ 1/1 transfers: no_operators=1", timeout=60)
    assert "no_operators" in console.locator("table.jivo-ops-live").inner_text()
    nb.screenshot("operators-offline", console)
