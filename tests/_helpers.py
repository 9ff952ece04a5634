"""Small builders and checks several test files need: random tokens and the no-leak check, a wired
profile, SQLite files a recorder store must refuse, a URL where nothing listens."""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import string
import sys
from pathlib import Path

from jivo_ops.profile import JaicpSettings, JivoSettings, Profile
from jivo_ops.recorder.store import RecorderStore

__all__ = ["random_token", "assert_no_secret", "clear_jivo_ops_env", "wired_profile", "foreign_sqlite", "store_with_schema_version",
           "closed_port_url"]

_ALNUM = string.ascii_letters + string.digits


def random_token(n: int) -> str:
    """`n` random letters and digits: a token distinctive enough that any leak of it is unmistakable."""
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def assert_no_secret(text: str, tokens: list[str]) -> None:
    """No token, and no 5-character piece of one, shows: masks keep 4 characters at most."""
    for token in tokens:
        for start in range(len(token) - 4):
            piece = token[start:start + 5]
            assert piece not in text, f"a piece of a token leaked: {piece!r} in {text!r}"


def clear_jivo_ops_env(monkeypatch) -> None:
    """No JIVO_OPS_* variable of the developer's shell may steer a test (profile path, overrides)."""
    for var in list(os.environ):
        if var.startswith("JIVO_OPS_"):
            monkeypatch.delenv(var)


def wired_profile(*, jaicp_host: str = "https://app.jaicp.com", jivo_host: str = "https://wh.jivosite.com",
                  reporter_token: str | None = None, name: str = "wired") -> tuple[Profile, list[str]]:
    """A correctly wired profile with distinctive random tokens (returned too, to look for leaks)."""
    webhook, key, ident = random_token(32), random_token(16), random_token(10)
    chat_token = f"{random_token(8)}:{secrets.token_hex(20)}"
    reporter = reporter_token if reporter_token is not None else random_token(40)
    internal = f"{jaicp_host}/chatadapter/chatapi/webhook/jivosite/{webhook}"
    unique = f"{jivo_host}/{key}/{ident}"
    profile = Profile(
        jaicp=JaicpSettings(chat_api_url=f"{jaicp_host}/chatapi/{chat_token}", internal_webhook_url=internal,
                            external_api_endpoint=unique, inbound_operator="Jivo",
                            reporter_url=f"{jaicp_host}/api/v1/reporter", reporter_token=reporter,
                            bot_id="wired_bot-263-XQt"),
        jivo=JivoSettings(webhook_url=internal, unique_url=unique),
        name=name,
    )
    return profile, [t for t in (webhook, key, ident, chat_token, reporter) if t]


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


def jivo_ops_command() -> list[str]:
    """The `jivo-ops` console script of this interpreter's environment (or the same through -c)."""
    script = Path(sys.executable).with_name("jivo-ops")
    return [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main())"]


def other_ending(text: str, char: str = "Q") -> str:
    """`text` with its last character replaced by `char` (or another one when it already ends so): a near
    miss of a random token that is never, by chance, the token itself."""
    return text[:-1] + (char if not text.endswith(char) else ("R" if char != "R" else "S"))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without JIVO_OPS_* settings (a child must not read the user's profile).

    JIVO_OPS_LANG stays: the suite pins the language its assertions are written in (conftest.py).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIVO_OPS_") or k == "JIVO_OPS_LANG"}
    env.update(extra)
    return env

