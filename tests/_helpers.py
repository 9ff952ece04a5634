"""Small builders several test files need: SQLite files a recorder store must refuse, a URL where
nothing listens."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from jivo_ops.recorder import RecorderStore

__all__ = ["foreign_sqlite", "store_with_schema_version", "closed_port_url"]


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


def closed_port_url(path: str = "") -> str:
    """``http://127.0.0.1:<port><path>`` on a port just freed: connecting there is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}{path}"
