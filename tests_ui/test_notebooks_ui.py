"""Each notebook, in a real browser: Run All Cells, the widgets render, and they react to clicks.

Screenshots: test-artifacts/ui/<notebook>-NN-<what>.png.
"""

from __future__ import annotations

import nbformat
import pytest

pytest.importorskip("playwright", reason="playwright is not installed: `make install` (extra [ui])")

from lab_driver import NotebookSession  # noqa: E402  (after the skip)


def _smoke_notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import ipywidgets as w\n"
                                  "button = w.Button(description='Ping')\n"
                                  "label = w.Label('waiting')\n"
                                  "button.on_click(lambda _: setattr(label, 'value', 'pong from the kernel'))\n"
                                  "w.VBox([button, label])"),
    ]
    nbformat.write(nb, path)


def test_widget_stack_smoke(fresh_lab, page, artifacts):
    """The canary: the lab, the kernel and the widget manager work at all (tells a broken stack from a broken notebook)."""
    _smoke_notebook(fresh_lab.root / "_ui_smoke.ipynb")
    nb = NotebookSession(page, fresh_lab.url, "_ui_smoke.ipynb", artifacts).open()
    nb.run_all(timeout=60)
    button = nb.widget("button.jupyter-button:has-text('Ping')")
    button.click()
    nb.wait_text(nb.widget(".widget-label"), "pong from the kernel", timeout=20)
    nb.screenshot("clicked")


def _run(lab, page, artifacts, name: str, timeout: float = 300) -> NotebookSession:
    nb = NotebookSession(page, lab.url, name, artifacts).open()
    nb.run_all(timeout=timeout)
    return nb


def test_00_quickstart(fresh_lab, page, artifacts):
    nb = _run(fresh_lab, page, artifacts, "00_quickstart.ipynb")
    outputs = page.locator(".jp-OutputArea-output")
    nb.wait_text(outputs.filter(has_text="outcome:").first, r"outcome: answered", timeout=10)
    bar = nb.widget(".widget-hbox:has(.widget-hprogress)")  # tqdm's progress bar, a real widget
    nb.wait_text(bar, r"10/10", timeout=30)
    nb.screenshot("batch", page.locator(".jp-Cell:has(.widget-hprogress)").first)


def test_01_configure_integration(fresh_lab, page, artifacts):
    nb = _run(fresh_lab, page, artifacts, "01_configure_integration.ipynb")
    panel = nb.widget(".jivo-ops-setup-panel")
    heads = panel.locator(".jivo-ops-step-head")
    assert heads.count() == 4
    for i in range(4):  # the walk in the notebook left every step green (the notebooks speak English)
        nb.wait_text(heads.nth(i), r"^✓ Step", timeout=30)
    nb.screenshot("setup-panel", panel)
    # reveal the «Уникальный URL» (the second secret of step 2): the full URL appears, ready to copy
    unique = panel.locator(".jivo-ops-step-2 .jivo-ops-secret").nth(1)
    assert "…" in unique.inner_text()
    unique.get_by_role("button", name="Show").click()
    nb.wait_text(unique, r"http://127\.0\.0\.1:\d+/[A-Za-z0-9]{16}/[A-Za-z0-9]{10}", timeout=20)
    # live probes from the button, in the background
    panel.get_by_role("button", name="Check the connection").click()
    status = panel.locator(".widget-html").filter(has_text="service probes").first
    nb.wait_text(status, r"✓ service probes: 6 ok, 0 failed", timeout=60)
    nb.screenshot("probed", panel)


def test_02_send_test_transfers(fresh_lab, page, artifacts):
    nb = _run(fresh_lab, page, artifacts, "02_send_test_transfers.ipynb")
    builder = nb.widget(".jivo-ops-switch-builder")
    json_pane = builder.locator("pre").first
    assert "ignoreOffline" not in json_pane.inner_text()
    builder.locator(".widget-checkbox").filter(has_text="ignoreOffline").locator("input").click()
    nb.wait_text(json_pane, r'"ignoreOffline": true', timeout=20)
    nb.screenshot("switch-builder", builder)

    console = nb.widget(".jivo-ops-transfer-console")
    nb.wait_text(console, r"20/20 transfers: answered=20", timeout=30)
    clients = console.locator(".widget-inline-hbox").filter(has_text="Clients").locator("input")
    clients.fill("3")
    clients.press("Enter")
    console.get_by_role("button", name="Run").click()
    nb.wait_text(console, r"✓ 3/3 transfers: answered=3", timeout=90)
    assert console.locator("table.jivo-ops-live tr").count() == 4  # header + 3 finished transfers
    nb.screenshot("transfer-console", console)


def test_03_message_logs(fresh_lab, page, artifacts):
    nb = _run(fresh_lab, page, artifacts, "03_message_logs.ipynb")
    requests = nb.widget(".widget-select select")  # RecorderPanel's list of recorded requests
    deadline = 30_000
    page.wait_for_function("el => el.options.length >= 8", arg=requests.element_handle(), timeout=deadline)
    nb.screenshot("recorder-panel", page.locator(".jp-OutputArea-output:has(.widget-select)").first)

    explorer = nb.widget(".jivo-ops-log-explorer")
    nb.wait_text(explorer, r"transfers: 12", timeout=60)
    explorer.locator(".widget-dropdown").filter(has_text="Outcome").locator("select").select_option("no_operators")
    nb.wait_text(explorer, r"transfers: 2\b", timeout=30)
    # the timeline is redrawn (in the background) for the first chat left by the filter
    nb.wait_text(explorer.locator(".jivo-ops-plot-caption"), r"chat timeline jivo-ops-", timeout=90)
    image = explorer.locator(".widget-image").first
    page.wait_for_function("img => img.naturalWidth > 100", arg=image.element_handle(), timeout=60_000)
    nb.screenshot("log-explorer", explorer)
