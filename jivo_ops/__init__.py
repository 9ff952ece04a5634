"""jivo_ops: configure, test and debug the hand-over of chats from a JAICP bot to live Jivo operators.

The public API is listed in `__all__`: what a notebook user types. Async twins and the values that
operations return (BotResponse, TransferResult, LogSet, CheckReport, …) live in their submodules.
Names load lazily so `import jivo_ops` stays light (servers, plotting and spreadsheet readers load
only when used).

    channel/    the vendors' wire protocols (jivo, jaicp, switch) and the one httpx seam
    setup/      checks of the four setup steps, live probes, leg probes, diagnose (one verdict)
    transfer/   test transfers: script, conversation engine, runner, results
    recorder/   the webhook recorder: store, server, exchanges
    logs/       message logs as pandas tables
    sandbox/    simulated JAICP and Jivo
    widgets/ cli/   the faces
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Profile": "profile",
    "load_profile": "profile",
    "save_profile": "profile",
    "example_profile": "profile",
    "JivoOpsError": "errors",
    "ProfileError": "errors",
    "ProtocolError": "errors",
    "ServiceError": "errors",
    "RejectedError": "errors",
    "UnavailableError": "errors",
    "SourceError": "errors",
    "TimeFormatError": "errors",
    "RecorderError": "errors",
    "ScriptError": "errors",
    "SettingsError": "errors",
    "RetryPolicy": "channel.http",
    "mask_url": "redaction",
    "set_language": "i18n",
    "redact": "redaction",
    "SwitchReply": "channel.switch",
    "JivoClient": "channel.jivo",
    "ClientMessage": "channel.jivo",
    "AgentMessage": "channel.jivo",
    "ChatApiClient": "channel.jaicp",
    "ReporterClient": "channel.jaicp",
    "Sandbox": "sandbox",
    "SandboxSettings": "sandbox",
    "StandIn": "sandbox",
    "load_logs": "logs",
    "run_transfers": "transfer",
    "run_transfer": "transfer",
    "Script": "transfer",
    "load_script": "transfer",
    "probe_jivo_leg": "setup.probes",
    "probe_jaicp_leg": "setup.probes",
    "check_profile": "setup.checks",
    "run_probes": "setup.checks",
    "diagnose": "setup.diagnose",
    "Diagnosis": "setup.diagnose",
    "Recorder": "recorder.server",
    "Exchanges": "recorder.exchanges",
    "WaitTimeoutError": "errors",
    "replay_exchanges": "recorder.exchanges",
    "export_exchanges": "recorder.exchanges",
    "import_jsonl": "recorder.exchanges",
    "RecorderPanel": "widgets.recorder_panel",
    "SetupPanel": "widgets.setup_panel",
    "SwitchBuilder": "widgets.switch_builder",
    "TransferConsole": "widgets.transfer_console",
    "LogExplorer": "widgets.log_explorer",
    "compare_payload": "recorder.exchanges",
    "assert_payload": "recorder.exchanges",
}

lazy_exports(globals(), _EXPORTS, extra=["__version__"])
