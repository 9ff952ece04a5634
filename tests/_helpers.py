"""Small builders several test files need: SQLite files a recorder store must refuse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jivo_ops.recorder import RecorderStore

__all__ = ["foreign_sqlite", "store_with_schema_version"]


def foreign_sqlite(path: Path) -> Path:
    """A valid SQLite file that is not a recorder store (a table of its own, no meta)."""
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi');")
    conn.close()
    return path


def store_with_schema_version(path: Path, version: str) -> Path:
    """A fresh recorder store whose meta claims schema `version` (older or newer than this code's)."""
    RecorderStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    conn.close()
    return path
