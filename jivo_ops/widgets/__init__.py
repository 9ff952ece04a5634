"""Notebook faces of jivo_ops: thin ipywidgets views over the operations.

Each widget is a model (traitlets ``HasTraits``, no widgets) plus a ``VBox`` view; the model calls
the operations (checks, sandbox admin, switch, transfers, logs, recorder) and the view only
gathers input and shows results. Long operations run off the kernel's thread with progress and a
stop button; errors appear inside the widget; secrets stay masked unless revealed.

    SetupPanel       the seed's four setup steps, live findings, probes, save/load profile
    SwitchBuilder    every `switch` field as a control; warnings; JSON and JS side by side
    TransferConsole  test transfers with progress, a live timeline, stop, summary, DataFrame
    LogExplorer      load log sources, filter, per-transfer table, plots, export
    RecorderPanel    follow a webhook recorder live; raw/parsed views; replay and export

Names load lazily: importing this package does not import them all.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SetupPanel": "setup_panel",
    "SetupModel": "setup_panel",
    "SwitchBuilder": "switch_builder",
    "SwitchModel": "switch_builder",
    "TransferConsole": "transfer_console",
    "TransferModel": "transfer_console",
    "LogExplorer": "log_explorer",
    "LogModel": "log_explorer",
    "RecorderPanel": "recorder_panel",
    "BackgroundJob": "_common",
}

lazy_exports(globals(), _EXPORTS)
