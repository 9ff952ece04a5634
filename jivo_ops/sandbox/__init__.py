"""The sandbox: simulated JAICP and Jivo on loopback, the embedded default of every notebook and command.

``with Sandbox() as sb:`` starts both services on free ports of 127.0.0.1, wired as the seed's four
steps wire them; ``sb.profile`` points the rest of jivo_ops at it. Every [guess] of PROTOCOL.md is a
field of `SandboxSettings`. Also a pytest fixture (``sandbox``) and ``jivo-ops sandbox``.
"""

from __future__ import annotations

from ._common import History, HistoryEntry
from .runner import Sandbox
from .settings import SandboxSettings

__all__ = ["Sandbox", "SandboxSettings", "History", "HistoryEntry"]
