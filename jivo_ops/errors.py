"""Every error jivo_ops raises on purpose, one tree::

    JivoOpsError                  anything a user can fix: the CLI prints it as one line
     ├── ProfileError             a profile file or value is wrong (names file, key, line)
     ├── ProtocolError            a body does not match the wire contract (names the field)
     ├── ServiceError             a service answered, but not with success
     │    ├── RejectedError       4xx: the request itself is wrong; never retried
     │    └── UnavailableError    5xx / connection failure, after the retries the docs allow
     ├── SourceError              a log source cannot be read (names file, row, column)
 │    └── TimeFormatError     a since/until text is not a time (also a ValueError)
     ├── SettingsError            an operation's setting is out of range (names it; also a ValueError)
     └── RecorderError            a recorder store is missing, foreign or damaged

Messages are built from masked values only: an exception's text is shown to users as it is.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = [
    "JivoOpsError",
    "ProfileError",
    "ProtocolError",
    "ServiceError",
    "RejectedError",
    "UnavailableError",
    "SourceError",
    "TimeFormatError",
    "RecorderError",
    "ScriptError",
    "SettingsError",
    "WaitTimeoutError",
]


class JivoOpsError(Exception):
    """Base of every error a user can act on."""


class ProfileError(JivoOpsError):
    def __init__(self, message: str, *, path: str | None = None, key: str | None = None, line: int | None = None):
        where = ""
        if path:
            where = f"{path}"
            if line:
                where += f":{line}"
            where += ": "
        if key:
            where += f"[{key}] "
        super().__init__(f"{where}{message}")
        self.path, self.key, self.line = path, key, line


class ProtocolError(JivoOpsError):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ServiceError(JivoOpsError):
    def __init__(self, message: str, *, url: str = "", status: int | None = None, reason: str = ""):
        super().__init__(message)
        self.url, self.status, self.reason = url, status, reason


class RejectedError(ServiceError):
    """The service answered 4xx: fix the request; resending would not help."""


class UnavailableError(ServiceError):
    """5xx, odd codes or connection failures, after every allowed attempt."""


class SourceError(JivoOpsError):
    def __init__(self, message: str, *, path: str | None = None, row: int | None = None, column: str | None = None):
        parts = [p for p in (path, f"row {row}" if row is not None else None, f"column {column!r}" if column else None) if p]
        super().__init__(f"{', '.join(parts)}: {message}" if parts else message)
        self.path, self.row, self.column = path, row, column


class TimeFormatError(SourceError, ValueError):
    """A text that is not a time in the one grammar (`jivo_ops.times`): a SourceError, so filters over
    logs keep raising what they always raised, and a ValueError for argparse-style callers."""

    def __init__(self, message: str, *, name: str, text: str):
        super().__init__(message)
        self.name, self.text = name, text


class RecorderError(JivoOpsError):
    pass


class ScriptError(JivoOpsError):
    """A transfer script is malformed (names the file, step number and key)."""


class SettingsError(JivoOpsError, ValueError):
    """An operation's setting is out of range (e.g. a transfer batch's clients); the message names it."""


class WaitTimeoutError(JivoOpsError, TimeoutError):
    """`wait_for` saw no matching exchange in time; the message lists what did arrive (`arrived`)."""

    def __init__(self, message: str, arrived: Sequence[Any] = ()):
        super().__init__(message)
        self.arrived = list(arrived)
