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
