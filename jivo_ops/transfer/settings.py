"""How a batch of test transfers runs — clients, concurrency, step timeout — checked once, here.

The CLI, the TransferConsole and `arun_transfers` all build a `TransferSettings`, so a bad value
gets the same `SettingsError` (a JivoOpsError and a ValueError) naming the setting everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SettingsError

__all__ = ["TransferSettings", "SettingsError"]


@dataclass(frozen=True)
class TransferSettings:
    """`clients` simulated clients, at most `concurrency` at once, `step_timeout` seconds per step."""

    clients: int = 1
    concurrency: int = 10
    step_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise SettingsError(f"clients must be at least 1, not {self.clients:g}")
        if self.concurrency < 1:
            raise SettingsError(f"concurrency must be at least 1, not {self.concurrency:g}")
        if self.step_timeout <= 0:
            raise SettingsError(f"step timeout must be more than 0 seconds, not {self.step_timeout:g}")
