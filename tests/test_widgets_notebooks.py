"""The committed notebooks themselves: executed with outputs, checked by nbval, no secret, no widget state.

(nbval runs them in `make test`; these checks make sure that run means something: a notebook
committed without outputs would pass nbval vacuously.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
EXPECTED = ["00_quickstart", "01_configure_integration", "02_send_test_transfers", "03_message_logs",
            "04_live_bot_unattended", "05_regression_run"]
# token shapes of every URL this integration uses (PROTOCOL.md), outside base64 image data
SECRET_SHAPES = [re.compile(p) for p in (
    r"[A-Za-z0-9]{8}:[0-9a-f]{40}",                       # Chat API token
    r"/webhook/jivosite/[A-Za-z0-9_-]{8,}",               # Internal Webhook Url token
    r"https?://[^\s\"'/]+/[A-Za-z0-9]{16}/[A-Za-z0-9]{10}\b",  # Jivo «Уникальный URL»
    r"/hook/[A-Za-z0-9_~.-]{8,}",                        # a recorder's path token
    r"(?i)bearer [A-Za-z0-9._~+/=-]{6,}",
)]


def test_the_four_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_executed_with_checked_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "run it: jupyter nbconvert --to notebook --execute --inplace"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "executed top to bottom, once"
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked and all(c.outputs for c in checked)
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    assert "widgets" not in nb.metadata, "widget state holds widget values: execute with store_widget_state=False"
    assert any(c.cell_type == "markdown" and "«" in c.source for c in nb.cells), "quote the UI labels"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_secret_in_any_output(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = dict(output.get("data", {}))
            data.pop("image/png", None)  # base64 can look like anything
            text = json.dumps([output.get("text", ""), data], ensure_ascii=False)
            for shape in SECRET_SHAPES:
                assert not shape.search(text), f"{path.name}: {shape.pattern} in an output of:\n{cell.source[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_picks_english_with_a_hint_how_to_switch(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    call = next(line for line in first.source.splitlines() if "set_language(" in line)
    assert call.startswith('jivo_ops.set_language("en")') and "#" in call and '"ru"' in call


WIDGET_REPR = re.compile(r"^(SetupPanel|SwitchBuilder|TransferConsole|RecorderPanel|LogExplorer)\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_read_well_before_the_kernel_runs(path):
    """No frozen 0 % bar, no widget repr where a widget will be, no view of a widget model that is not saved."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = data.get("text/plain", "")
            assert "application/vnd.jupyter.widget-view+json" not in data, f"{path.name}: {text[:80]!r}"
            assert not re.search(r"\b0%\|", text), f"{path.name}: a frozen progress bar: {text[:80]!r}"
            assert not WIDGET_REPR.match(text), f"{path.name}: a widget repr: {text[:80]!r}"
