"""A process-wide interpreter setting tuned while a server or a writer runs, the user's value back after.

The sandbox raises the young GC threshold while it serves and a recorder store shortens the thread
switch interval while its writer runs (issue 17 §3): both change one value for the whole process, for
as long as any of them runs, so both count their holders the same way here.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["HeldSetting"]


class HeldSetting:
    """`hold()` by the first holder saves the value (`read()`) and sets `tuned(saved)`; `release()` by
    the last one writes the saved value back, unless somebody changed it meanwhile (then theirs stays)."""

    def __init__(self, read: Callable[[], Any], write: Callable[[Any], None], tuned: Callable[[Any], Any]):
        self.read, self.write, self.tuned = read, write, tuned
        self.lock, self.holders = threading.Lock(), 0
        self.saved = self.ours = None

    def hold(self) -> None:
        with self.lock:
            if not self.holders:
                self.saved = self.read()
                self.write(self.tuned(self.saved))
                self.ours = self.read()  # as the interpreter stores it (a switch interval is rounded)
            self.holders += 1

    def release(self) -> None:
        with self.lock:
            self.holders -= 1
            if not self.holders and self.read() == self.ours:
                self.write(self.saved)
