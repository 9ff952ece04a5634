"""How a batch of test transfers runs — clients, concurrency, step timeout — checked once, here.

The CLI, the TransferConsole and `arun_transfers` all build a `TransferSettings`, so a bad value
gets the same `SettingsError` (a JivoOpsError and a ValueError) naming the setting everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import SettingsError

__all__ = ["TransferSettings", "SettingsError"]


MAX_CLIENTS = 1_000_000  # more would not fit in memory, let alone finish


@dataclass(frozen=True)
class TransferSettings:
    """`clients` simulated clients, at most `concurrency` at once, `step_timeout` seconds per step."""

    clients: int = 1
    concurrency: int = 10
    step_timeout: float = 10.0

    def __post_init__(self) -> None:
        for name, value in (("clients", self.clients), ("concurrency", self.concurrency)):
            if value < 1:
                raise SettingsError(f"{name} must be at least 1, not {value:g}")
            if value > MAX_CLIENTS:
                raise SettingsError(f"{name} must be at most {MAX_CLIENTS:,}, not {value:g}")
        if not (self.step_timeout > 0 and math.isfinite(self.step_timeout)):
            raise SettingsError(f"step timeout must be more than 0 seconds, not {self.step_timeout:g}")

    @property
    def connect_timeout(self) -> float:
        """Seconds a transfer's connection may take to open: the whole step's. A fixed 5 s failed a
        healthy server at 3,000 concurrent transfers, where the client's own loop runs seconds behind
        (issue 17 §3); the step timeout bounds every step anyway."""
        return self.step_timeout
