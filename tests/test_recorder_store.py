"""The recorder store module: every reader opens any path read-only, creating no file; highest id
is one query; errors are one line naming the store; exchanges does not need the server.

The stores here are written by a real Recorder (real HTTP) or by the sandbox's Jivo through a tap."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jivo_ops.cli import main
from jivo_ops.errors import RecorderError, SourceError
from jivo_ops.logs import load_logs
from jivo_ops.profile import save_profile
from jivo_ops.recorder.exchanges import Exchanges
from jivo_ops.recorder.server import Recorder
from jivo_ops.recorder.store import RecorderStore, StoreReader, open_readonly
from jivo_ops.sandbox import Sandbox

from _helpers import foreign_sqlite

AWKWARD = "a#b c%20d"  # a URI fragment, a space and a percent escape: an unquoted file: URI breaks on each


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def assert_only_the_store(root: Path, store: Path) -> None:
    """Under `root` lies the store and at most its own WAL companions: no stray `a`, no new empty db."""
    name = store.relative_to(root).as_posix()
    found = files_under(root)
    assert found - {f"{name}-wal", f"{name}-shm"} == {name}, found


def agent_message(chat: str, text: str) -> dict:
    return {"sender": {"id": "agent-1", "name": "Анна"}, "recipient": {"id": chat},
            "message": {"type": "text", "id": f"m-{chat}", "text": text}}


def record(store: Path, *bodies: dict) -> None:
    """A store written by a real Recorder: each body posted over real HTTP, acknowledged, then stopped."""
    with Recorder(store) as rec:
        for body in bodies:
            assert httpx.post(rec.url, json=body, timeout=10).status_code == 200


def test_probe_logs_export_and_replay_read_a_store_under_an_awkward_folder(tmp_path, tmp_path_factory, capsys):
    folder = tmp_path / AWKWARD
    folder.mkdir()
    store = folder / "hooks.sqlite"
    elsewhere = tmp_path_factory.mktemp("profile")
    with Sandbox() as sb:
        profile = save_profile(sb.profile, elsewhere / "sandbox.toml")
        # the sandbox's Jivo posts the operator's reply through the recorder (a tap) on to JAICP
        with Recorder(store, forward=sb.jaicp.internal_webhook_url) as rec:
            sb.configure_step(2, webhook_url=rec.url)
            code = main(["probe", "jivo", "--profile", str(profile), "--recorder", str(store), "--timeout", "10",
                         "--json"])
            out, err = capsys.readouterr()
            assert code == 0, out + err
            probe = json.loads(out)
            assert probe["ok"] and probe["exchanges"][-1]["what"] == "operator reply (recorder)"
            client = probe["client_id"]
            assert probe["exchanges"][-1]["received"]["recipient"]["id"] == client

        assert main(["logs", str(store), "--format", "json"]) == 0
        messages = json.loads(capsys.readouterr().out)
        assert [(m["chat"], m["author"], m["source"]) for m in messages] == [(client, "OPERATOR", "recorder")]

        assert main(["export", str(store), "--format", "jsonl"]) == 0
        exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(e["chat"], e["status"], e["forward"]["status"]) for e in exported] == [(client, 200, 200)]

        assert main(["replay", str(store), "--to", sb.jaicp.internal_webhook_url, "--chat", client]) == 0
        replayed = capsys.readouterr().out
        assert replayed.startswith("replayed 1 request(s) to ") and "same" in replayed

    with Exchanges(store) as exchanges:  # the replay's answer was kept beside the original
        assert [(r["request_id"], r["status"]) for r in exchanges.replays()] == [(exported[0]["id"], 200)]
    assert_only_the_store(tmp_path, store)


@pytest.mark.parametrize("folder", [AWKWARD, "вопрос?", "x?mode=rwc", "日本 ü", "%3F#frag", "100%"])
def test_every_reader_opens_any_path_read_only_and_creates_nothing(tmp_path, folder):
    store = tmp_path / folder / "hooks.sqlite"
    store.parent.mkdir()
    record(store, agent_message("c-1", "Здравствуйте"), agent_message("c-2", "Добрый день"))
    before = store.read_bytes()

    conn = open_readonly(store)
    try:
        assert [row[0] for row in conn.execute("SELECT chat FROM requests ORDER BY id")] == ["c-1", "c-2"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM requests")
    finally:
        conn.close()
    with StoreReader(store) as reader:
        assert reader.highest_id() == 2 and [row["id"] for row in reader.rows_after(1, ("id",))] == [2]
    with Exchanges(store) as exchanges:
        assert [ex.chat for ex in exchanges.all()] == ["c-1", "c-2"]
    assert sorted(load_logs(store).messages["chat"]) == ["c-1", "c-2"]

    assert store.read_bytes() == before
    assert_only_the_store(tmp_path, store)


def test_highest_id_is_one_query_that_reads_no_body(tmp_path):
    store = tmp_path / "hooks.sqlite"
    record(store, *(agent_message(f"c-{i}", "x" * 10_000) for i in range(3)))
    with StoreReader(store) as reader:
        statements: list[str] = []
        reader._conn.set_trace_callback(statements.append)
        assert reader.highest_id() == 3
    assert statements == ["SELECT coalesce(max(id), 0) FROM requests"]


def test_rows_after_reads_columns_an_older_store_lacks_as_null(tmp_path):
    store = tmp_path / AWKWARD / "contract-c.sqlite"
    store.parent.mkdir()
    con = sqlite3.connect(store)
    con.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, received_at TEXT, method TEXT, body BLOB)")
    con.execute("INSERT INTO requests (received_at, method, body) VALUES ('2026-11-25T10:00:00+00:00', 'POST', ?)",
                (json.dumps(agent_message("c-1", "Привет")).encode(),))
    con.commit()
    con.close()
    with pytest.raises(RecorderError, match="not a jivo_ops recorder store"):
        StoreReader(store)
    with StoreReader(store, require_schema=False) as reader:
        assert [tuple(row) for row in reader.rows_after(0, ("id", "method", "status"))] == [(1, "POST", None)]
    assert list(load_logs(store).messages["chat"]) == ["c-1"]
    assert_only_the_store(tmp_path, store)


def test_unusable_stores_are_one_line_errors_naming_the_path_and_what_to_do(tmp_path):
    folder = tmp_path / AWKWARD
    folder.mkdir()
    garbage = folder / "garbage.sqlite"
    garbage.write_bytes(b"not a database " * 20)
    record(whole := folder / "whole.sqlite", *(agent_message(f"c-{i}", "x" * 3000) for i in range(30)))
    truncated = folder / "truncated.sqlite"
    truncated.write_bytes(whole.read_bytes()[:5000])
    cases = {folder / "missing.sqlite": "no such recorder store; check the path, or start `jivo-ops record",
             garbage: "not an SQLite file; not a usable recorder store; restore it",
             truncated: "truncated",
             foreign_sqlite(folder / "foreign.sqlite"): "not a jivo_ops recorder store (no meta/requests tables); "
                                                        "point at a store written by `jivo-ops record`"}
    for path, reason in cases.items():
        for read in (open_readonly, StoreReader, Exchanges):
            with pytest.raises(RecorderError) as err:
                read(path)
            message = str(err.value)
            assert message.startswith(f"{path}: ") and reason in message and "\n" not in message, message
        if path.name != "foreign.sqlite":  # the logs loader reads foreign tables its own way
            with pytest.raises(SourceError) as err:
                load_logs(path)
            assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert not (folder / "missing.sqlite").exists() and not (tmp_path / "a").exists()


def test_a_path_with_a_newline_stays_on_one_line(tmp_path):
    path = tmp_path / "two\nlines.sqlite"
    with pytest.raises(RecorderError) as err:
        open_readonly(path)
    assert "\n" not in str(err.value) and "two\\nlines.sqlite" in str(err.value)


def test_exchanges_and_store_load_without_the_server():
    code = ("import sys, jivo_ops.recorder.exchanges, jivo_ops.logs.sources.recorder_store, jivo_ops.setup.probes; "
            "assert 'jivo_ops.recorder.server' not in sys.modules, 'the server was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_folder_given_as_the_store_is_named_as_such(tmp_path):
    folder = tmp_path / AWKWARD
    folder.mkdir()
    for open_it in (open_readonly, RecorderStore):
        with pytest.raises(RecorderError, match="a folder, not a recorder store; name the .sqlite file inside it"):
            open_it(folder)
    assert files_under(tmp_path) == set()


def test_every_command_refuses_a_foreign_store_with_the_same_one_line(tmp_path, tmp_path_factory, capsys):
    folder = tmp_path / AWKWARD
    folder.mkdir()
    foreign = foreign_sqlite(folder / "notes.sqlite")
    with Sandbox() as sb:
        profile = save_profile(sb.profile, tmp_path_factory.mktemp("profile") / "sandbox.toml")
        errors = {}
        for argv in (["probe", "jivo", "--profile", str(profile), "--recorder", str(foreign), "--timeout", "1"],
                     ["export", str(foreign), "--format", "jsonl"],
                     ["replay", str(foreign), "--to", sb.jaicp.internal_webhook_url]):
            assert main(argv) == 2, argv
            errors[argv[0]] = capsys.readouterr().err
    assert len(set(errors.values())) == 1, errors
    (line,) = set(errors.values())
    assert line == (f"jivo-ops: error: {foreign}: not a jivo_ops recorder store (no meta/requests tables); "
                    "point at a store written by `jivo-ops record`\n")
    assert files_under(tmp_path) == {f"{AWKWARD}/notes.sqlite"}


# ------------------------------------------------------------------- the writer (group commit, checkpoints)


def request_row(n: int, forward: tuple = (None,) * 6) -> tuple:
    from jivo_ops.recorder.store import utc_now_iso

    body = json.dumps(agent_message(f"c{n}", "текст")).encode()
    return (utc_now_iso(), "POST", "/hook/{token}", "", "[]", body, 0, 200, None, "application/json", f"c{n}",
            *forward)


def test_a_cancelled_caller_does_not_cancel_the_others_of_its_batch(tmp_path):
    store = RecorderStore(tmp_path / "hooks.sqlite")

    async def main():
        futures = [store.submit(request_row(n)) for n in range(5)]
        futures[1].cancel()  # its caller went away: the others still get their ids
        return [await f for i, f in enumerate(futures) if i != 1]

    assert asyncio.run(main()) == [1, 3, 4, 5]
    store.close()


def test_close_commits_rows_gathered_on_a_loop_that_is_gone(tmp_path):
    store = RecorderStore(tmp_path / "hooks.sqlite")

    async def main():  # the first row goes to the writer at once, the others wait on the loop for its commit
        for n in range(5):
            store.submit(request_row(n))

    asyncio.run(main())  # the loop ends before any commit comes back to it
    store.close()
    with StoreReader(tmp_path / "hooks.sqlite") as reader:
        assert [r["chat"] for r in reader.rows_after(0, ("chat",))] == [f"c{n}" for n in range(5)]


def test_tap_rows_and_plain_rows_share_a_batch_column_for_column(tmp_path):
    store = RecorderStore(tmp_path / "hooks.sqlite")
    plain, tapped = request_row(1), request_row(2, ("http://127.0.0.1:1/{token}", 200, "[]", b"{}", None, 1.5))

    async def main():
        return await asyncio.gather(store.submit(plain), store.submit(tapped))

    assert asyncio.run(main()) == [1, 2]
    store.close()
    with StoreReader(tmp_path / "hooks.sqlite") as reader:
        assert [tuple(r)[1:] for r in reader.rows_after(0)] == [plain, tapped]


def test_the_wal_starts_over_while_commits_go_on(tmp_path, monkeypatch):
    monkeypatch.setattr(RecorderStore, "WAL_CATCH_UP_PAGES", 40)
    monkeypatch.setattr(RecorderStore, "CHECKPOINT_EVERY", 0.001)
    path = tmp_path / "hooks.sqlite"
    store = RecorderStore(path)
    largest = 0

    async def client(first: int) -> None:  # sends again as soon as answered: the writer never rests
        nonlocal largest
        for n in range(first, 1000, 20):
            await store.submit(request_row(n))
            largest = max(largest, Path(f"{path}-wal").stat().st_size)

    async def main() -> None:
        await asyncio.gather(*(client(first) for first in range(20)))

    asyncio.run(main())
    store.close()
    assert largest < 200 * 4096  # the WAL of 1,000 rows is ~600 pages when it never starts over
    with StoreReader(path) as reader:
        assert reader.count() == 1000


def test_the_switch_interval_is_short_while_a_store_writes_and_the_users_again_after(tmp_path):
    before = sys.getswitchinterval()
    first, second = RecorderStore(tmp_path / "a.sqlite"), RecorderStore(tmp_path / "b.sqlite")
    assert sys.getswitchinterval() < 1e-4  # the writer gets the GIL from a busy loop within ~10 µs
    first.close()
    assert sys.getswitchinterval() < 1e-4  # the other one still writes
    second.close()
    assert sys.getswitchinterval() == before


def indexes_of(path: Path) -> set[str]:
    conn = open_readonly(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()


def test_the_chat_index_is_built_at_close_and_a_query_by_chat_works_before(tmp_path):
    path = tmp_path / "hooks.sqlite"
    store = RecorderStore(path)

    async def main():
        return await asyncio.gather(*(store.submit(request_row(n)) for n in range(3)))

    asyncio.run(main())
    assert "requests_chat" not in indexes_of(path)  # not kept row by row while recording
    with Exchanges(path) as exchanges:
        assert [ex.id for ex in exchanges.all(chat="c1")] == [2]
    store.close()
    assert {"requests_chat", "requests_received_at"} <= indexes_of(path)
    store = RecorderStore(path)  # a second run on the same store drops it again, and builds it again
    asyncio.run(main())
    store.close()
    conn = open_readonly(path)
    try:
        plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM requests WHERE chat = ?",
                                                         ("c1",)))
        assert [row[0] for row in conn.execute("SELECT id FROM requests WHERE chat = 'c1' ORDER BY id")] == [2, 5]
    finally:
        conn.close()
    assert "requests_chat" in plan
