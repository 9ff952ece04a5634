"""Test switch transfers end to end: scripted clients over the JAICP Chat API.

Each simulated client plays a *script* — a list of steps, plain data — against the bot's Chat API
channel: say something, ask for an operator, expect the ``switch`` reply, wait for the operator's
first message on ``/events``, maybe talk more, send the close phrase and expect the bot back.
Every step is recorded with a wall-clock UTC timestamp, the payloads (tokens masked) and its
latency, and the transfer ends with exactly one outcome (`OUTCOMES`).

One concept per module:

=================  ===========================================================================
``script``          the step vocabulary, `Script`, `load_script`, `DEFAULT_SCRIPT`
``results``         `Step`, `TransferResult` (its `to_json()` is the JSONL contract read by
                    `logs`), `OUTCOMES`, `summarize`, `TransferBatch`, JSONL read/write
``render``          `format_timeline`, `format_summary`, `format_stopped`, `format_check`
``checks``          `Check`: a step's ``expect`` and the script's ``outcome``, evaluated (the one place)
``jaicp_xml``       JAICP's XML scenario tests read as scripts (`load_scripts`)
``regression``      folders of scripts, `run_script`, failure reports, JUnit XML (pytest plugin, CLI)
``settings``        `TransferSettings`: clients, concurrency, step timeout, checked once
``conversation``    the engine: `Conversation`, no I/O of its own (a driver performs its actions)
``runner``          the asyncio + httpx driver: `arun_transfers`, and `run_transfers` /
                    `run_transfer` (sync; fine in a plain script and inside Jupyter's loop)
=================  ===========================================================================

Names load on first use, so importing this package (or ``script`` / ``results``) pulls in no
httpx and no tqdm.
"""

from __future__ import annotations

from .._lazy import lazy_exports

# public name -> module (in this package) that defines it
_EXPORTS: dict[str, str] = {
    "ACTIONS": "script",
    "ScriptError": "script",
    "ScriptStep": "script",
    "Script": "script",
    "DEFAULT_SCRIPT": "script",
    "load_script": "script",
    "load_scripts": "script",
    "as_script": "script",
    "Check": "checks",
    "OUTCOMES": "results",
    "AUTHORS": "results",
    "Step": "results",
    "TransferResult": "results",
    "TransferBatch": "results",
    "summarize": "results",
    "jsonl_line": "results",
    "write_jsonl": "results",
    "read_jsonl": "results",
    "format_summary": "render",
    "format_timeline": "render",
    "format_stopped": "render",
    "TransferSettings": "settings",
    "SettingsError": "settings",
    "Conversation": "conversation",
    "SendQuery": "conversation",
    "SendEvent": "conversation",
    "PollEvents": "conversation",
    "Sleep": "conversation",
    "Finished": "conversation",
    "Clock": "conversation",
    "POLL_WINDOW_S": "conversation",
    "arun_transfers": "runner",
    "run_transfers": "runner",
    "run_transfer": "runner",
    "play": "runner",
    "REQUESTS_PER_HTTP_CLIENT": "runner",
}

lazy_exports(globals(), _EXPORTS)
