"""jivo_ops: configure, test and debug the hand-over of chats from a JAICP bot to live Jivo operators.

The public API is listed in `__all__`; names load lazily so `import jivo_ops` stays light
(servers, plotting and spreadsheet readers load only when used).
"""

from __future__ import annotations

from ._lazy import lazy_getattr

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
    "RecorderError": "errors",
    "ScriptError": "errors",
    "RetryPolicy": "channel.http",
    "mask_url": "redaction",
    "redact": "redaction",
    "SwitchReply": "channel.switch",
    "JivoClient": "channel.jivo",
    "AsyncJivoClient": "channel.jivo",
    "ClientMessage": "channel.jivo",
    "AgentMessage": "channel.jivo",
    "ChatApiClient": "channel.jaicp",
    "AsyncChatApiClient": "channel.jaicp",
    "BotResponse": "channel.jaicp",
    "EventBatch": "channel.jaicp",
    "ChatEvent": "channel.jaicp",
    "ReporterClient": "channel.jaicp",
    "AsyncReporterClient": "channel.jaicp",
    "Sandbox": "sandbox",
    "SandboxSettings": "sandbox",
    "load_logs": "logs",
    "LogSet": "logs",
    "run_transfers": "transfer",
    "arun_transfers": "transfer",
    "run_transfer": "transfer",
    "TransferResult": "transfer",
    "TransferBatch": "transfer",
    "Script": "transfer",
    "load_script": "transfer",
    "probe_jivo_leg": "setup.probes",
    "probe_jaicp_leg": "setup.probes",
    "ProbeResult": "setup.probes",
    "check_profile": "setup.checks",
    "run_probes": "setup.checks",
    "CheckReport": "setup.checks",
    "Finding": "setup.checks",
    "ServiceProbe": "setup.checks",
    "Recorder": "recorder.server",
    "RecorderStore": "recorder.store",
    "Exchanges": "recorder.exchanges",
    "Exchange": "recorder.exchanges",
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

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
