"""The recorder store: one SQLite file, its schema (contract C), and every way of opening and reading it.

    conn = open_writable("hooks.sqlite")        # WAL + synchronous=FULL; the schema made when new
    with StoreReader("hooks.sqlite") as store:  # read-only, checked; any path (spaces, #, %, ?, non-ASCII)
        store.highest_id(); store.rows_after(41, ("id", "body"))
    with RecorderStore("hooks.sqlite") as st:   # the server's writer: durable group commit
        await st.submit(row)

Read-only opens go through a quoted `file:` URI (`Path.as_uri()`), so no character of a folder
name can turn into a URI fragment or query and make SQLite open, or create, another file. Every
error is a `RecorderError` of one line that names the store and says what to do.
"""

from __future__ import annotations

import asyncio
import functools
import os
import queue
import sqlite3
import struct
import sys
import threading
import time
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Self, Sequence

from ..errors import RecorderError
from ..held_setting import HeldSetting

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA",
    "MASKED_TOKEN",
    "REQUEST_COLUMNS",
    "REPLAY_COLUMNS",
    "SQLITE_MAGIC",
    "utc_now_iso",
    "chat_of",
    "readonly_uri",
    "open_readonly",
    "open_writable",
    "StoreReader",
    "insert_rows",
    "append_requests",
    "insert_replays",
    "RecorderStore",
]

SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
MASKED_TOKEN = "{token}"  # stands for the secret token in every stored path

# The one index a running recorder does not keep: each row's chat id lands on a random page of it, so
# every commit wrote (and the checkpointer copied) a page per row, a third of the writer's CPU. The
# recorder drops it while it writes and builds it again at close; a query by chat meanwhile reads the table.
_CHAT_INDEX = "requests_chat"
_CREATE_CHAT_INDEX = f"CREATE INDEX IF NOT EXISTS {_CHAT_INDEX} ON requests(chat)"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,          -- ISO 8601 UTC, microseconds, "+00:00"
    method TEXT NOT NULL,
    path TEXT NOT NULL,                 -- the secret token replaced by "{MASKED_TOKEN}"
    query TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL,              -- JSON list of [name, value], as received
    body BLOB NOT NULL,                 -- raw bytes as received (de-chunked)
    chunked INTEGER NOT NULL DEFAULT 0, -- 1 when it came with Transfer-Encoding: chunked
    status INTEGER NOT NULL,            -- what the recorder answered
    error TEXT,                         -- why it was not a clean 200 (bad JSON, over the cap, ...)
    content_type TEXT,
    chat TEXT,                          -- recipient.id of a Jivo agent message, else sender.id
    forward_url TEXT,                   -- tap mode: the target, masked
    forward_status INTEGER,
    forward_headers TEXT,
    forward_body BLOB,
    forward_error TEXT,
    forward_ms REAL
);
CREATE INDEX IF NOT EXISTS requests_received_at ON requests(received_at);
{_CREATE_CHAT_INDEX};
CREATE TABLE IF NOT EXISTS replays (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    sent_at TEXT NOT NULL,
    target TEXT NOT NULL,               -- masked
    chunked INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    headers TEXT,
    body BLOB,
    error TEXT,
    elapsed_ms REAL
);
CREATE INDEX IF NOT EXISTS replays_request ON replays(request_id);
"""

REQUEST_COLUMNS = ("id", "received_at", "method", "path", "query", "headers", "body", "chunked", "status",
                   "error", "content_type", "chat", "forward_url", "forward_status", "forward_headers",
                   "forward_body", "forward_error", "forward_ms")
REPLAY_COLUMNS = ("request_id", "sent_at", "target", "chunked", "status", "headers", "body", "error", "elapsed_ms")


_this_second: tuple[int, str] = (0, "")  # (a whole second, its "YYYY-MM-DDTHH:MM:SS"): formatted once a second


def utc_now_iso() -> str:
    """A `received_at` / `sent_at` value: now, ISO 8601 UTC with microseconds (as
    `datetime.now(timezone.utc).isoformat(timespec="microseconds")`, at a third of its cost: one per request)."""
    global _this_second
    now = time.time()
    second = int(now)
    cached, text = _this_second
    if second != cached:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _this_second = (second, text)
    return f"{text}.{int((now - second) * 1_000_000):06d}+00:00"


def chat_of(parsed: Any) -> str | None:
    """The `chat` column of a body: `recipient.id` (Jivo → webhook), else `sender.id` (client → Jivo)."""
    if not isinstance(parsed, dict):
        return None
    for key in ("recipient", "sender"):
        part = parsed.get(key)
        if isinstance(part, dict) and part.get("id") not in (None, ""):
            return str(part["id"])
    return None


# ------------------------------------------------------------------------------------------ checking


def _named(path: Path) -> str:
    """The store's path as errors show it: as typed, escaped only when it would break the one line."""
    text = str(path)
    return text if text.isprintable() else ascii(text)


def _problem(path: Path, what: str, todo: str) -> RecorderError:
    return RecorderError(f"{_named(path)}: {what}; {todo}")


_POINT_AT_A_STORE = "point at a store written by `jivo-ops record`"


def _sqlite_header_problem(path: Path) -> str | None:
    """Why `path` cannot be a whole SQLite file, judged from its 100-byte header and its size."""
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return "not an SQLite file"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    # The page count is trusted only when written by a library that keeps it (same change counter), and
    # only with no live WAL beside the file: a checkpoint may write the new header before the last pages.
    wal = path.with_name(path.name + "-wal")
    live = wal.exists() and wal.stat().st_size > 0
    if not live and header[24:28] == header[92:96] and pages and size < pages * page_size:
        return f"truncated: {size} bytes on disk, its header says {pages * page_size}"
    if page_size and size % page_size:
        return f"truncated: {size} bytes is not a whole number of {page_size}-byte pages"
    return None


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables or "requests" not in tables:
        raise _problem(path, "not a jivo_ops recorder store (no meta/requests tables)", _POINT_AT_A_STORE)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = row[0] if row else None
    if str(version) != str(SCHEMA_VERSION):
        older = version is not None and str(version).isdigit() and int(version) < SCHEMA_VERSION
        raise _problem(
            path, f"recorder store schema version {version!r} "
                  f"{'is older than' if older else 'is not'} the one this jivo_ops reads ({SCHEMA_VERSION})",
            "export it with the jivo_ops that wrote it (`jivo-ops export --format jsonl`) and load that file "
            "here with jivo_ops.recorder.exchanges.import_jsonl")
    missing = [c for c in REQUEST_COLUMNS if c not in _request_columns(conn)]
    if missing:
        raise _problem(path, f"recorder store lacks column(s) {', '.join(missing)}; it is damaged or foreign",
                       _POINT_AT_A_STORE)


def _request_columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(requests)")}


def _highest_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM requests").fetchone()[0]


def _unreadable(path: Path, exc: sqlite3.Error) -> RecorderError:
    return _problem(path, f"cannot read the recorder store ({exc})",
                    f"the file may be truncated, damaged or not a recorder store: {_POINT_AT_A_STORE}")


def _usable_file(path: Path, todo: str = "restore it from a copy, or record into a new file") -> None:
    """RecorderError unless `path` is a file that may hold an SQLite database (`todo`: what to do if not)."""
    if path.is_dir():
        raise _problem(path, "a folder, not a recorder store", "name the .sqlite file inside it")
    if not path.is_file():
        raise _problem(path, "no such recorder store",
                       f"check the path, or start `jivo-ops record --store {_named(path)}` first")
    if not os.access(path, os.R_OK):
        raise _problem(path, "permission denied", "give this user read access, or copy the store")
    problem = _sqlite_header_problem(path)
    if problem:
        raise _problem(path, f"{problem}; not a usable recorder store", todo)


# ------------------------------------------------------------------------------------------- opening


def readonly_uri(path: str | os.PathLike) -> str:
    """The `file:` URI that opens `path` read-only: every character of the path quoted (`#`, `?`, `%`, …)."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def _connected(path: Path, target: str, prepare: Callable[[sqlite3.Connection], None], **options) -> sqlite3.Connection:
    """A connection to `target` made ready by `prepare`; closed again if that fails, the failure naming `path`."""
    try:
        conn = sqlite3.connect(target, check_same_thread=False, **options)
    except sqlite3.Error as exc:
        raise _unreadable(path, exc) from None
    try:
        prepare(conn)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise _unreadable(path, exc) from None
        raise
    return conn


def open_readonly(path: str | os.PathLike, *, require_schema: bool = True) -> sqlite3.Connection:
    """A read-only connection to a recorder store; RecorderError when missing, truncated or not SQLite,
    and (with `require_schema`) when of another schema. Never creates a file."""
    path = Path(path)
    _usable_file(path)

    def prepare(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 5000")
        if require_schema:
            _check_schema(conn, path)

    return _connected(path, readonly_uri(path), prepare, uri=True)


def open_writable(path: str | os.PathLike, *, create: bool = True) -> sqlite3.Connection:
    """A write connection (autocommit; callers BEGIN themselves) with WAL + synchronous=FULL; creates
    the schema in a new or empty file, checks it in an existing one."""
    path = Path(path)
    if path.exists() or not create:
        _usable_file(path, "choose another --store")
    elif not path.parent.is_dir():
        raise _problem(path, f"folder {_named(path.parent)} does not exist", "create it or choose another --store")

    def prepare(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 10000")
        new = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0  # a new or empty file
        if not new:  # before anything changes in it: a file the project did not make is left as it was
            _check_schema(conn, path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        if new:
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("created_at", utc_now_iso()), ("created_by", "jivo_ops"),
            ])
            conn.execute("COMMIT")
        _check_schema(conn, path)

    return _connected(path, str(path), prepare, isolation_level=None)


# ------------------------------------------------------------------------------------------- reading


class _ClosedOnExit:
    """`with X(...) as x:` calls `x.close()` at the end."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StoreReader(_ClosedOnExit):
    """A read-only connection to one store and the queries its readers share (rows as `sqlite3.Row`).

    `require_schema=False` reads older or partial stores too (the logs loader): a column
    `rows_after` asks for that the store lacks then reads as NULL."""

    def __init__(self, path: str | os.PathLike, *, require_schema: bool = True):
        self.path = Path(path)
        self._conn = open_readonly(self.path, require_schema=require_schema)
        self._conn.row_factory = sqlite3.Row
        try:
            self.columns = frozenset(_request_columns(self._conn))
        except sqlite3.Error as exc:
            self._conn.close()
            raise _unreadable(self.path, exc) from None

    def select(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _unreadable(self.path, exc) from None

    def highest_id(self) -> int:
        """The id of the newest request, 0 for none (one index lookup, no body read)."""
        try:
            return _highest_id(self._conn)
        except sqlite3.Error as exc:
            raise _unreadable(self.path, exc) from None

    def count(self) -> int:
        return self.select("SELECT count(*) FROM requests")[0][0]

    def iter_rows_after(self, after_id: int, columns: Sequence[str] = REQUEST_COLUMNS) -> Iterator[sqlite3.Row]:
        """Requests with id > `after_id`, oldest first, one at a time (no whole store in memory)."""
        try:
            yield from self._conn.execute(self._rows_after_sql(columns), (int(after_id),))
        except sqlite3.Error as exc:
            raise _unreadable(self.path, exc) from None

    def rows_after(self, after_id: int, columns: Sequence[str] = REQUEST_COLUMNS) -> list[sqlite3.Row]:
        return list(self.iter_rows_after(after_id, columns))

    def _rows_after_sql(self, columns: Sequence[str]) -> str:
        unknown = [c for c in columns if c not in REQUEST_COLUMNS]
        if unknown:
            raise ValueError(f"not columns of a recorder store: {', '.join(unknown)}")
        picked = ", ".join(c if c in self.columns else f"NULL AS {c}" for c in columns)
        return f"SELECT {picked} FROM requests WHERE id > ? ORDER BY id"

    def close(self) -> None:
        self._conn.close()

    def __repr__(self) -> str:
        return f"<StoreReader {self.path}>"


# ------------------------------------------------------------------------------------------- writing


_ROWS_PER_STATEMENT = 500  # 17 values a row: well under SQLite's 32766 bound parameters


_FORWARD_AT = REQUEST_COLUMNS.index("forward_url") - 1  # where a row's tap columns start (rows have no id)
_NO_FORWARD = (None,) * (len(REQUEST_COLUMNS) - 1 - _FORWARD_AT)


@functools.lru_cache(maxsize=128)
def _insert_statement(count: int, width: int = len(REQUEST_COLUMNS) - 1) -> str:
    """INSERT of `count` rows of the first `width` columns (the others stay NULL)."""
    row = f"({', '.join('?' * width)})"
    return f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS[1:1 + width])}) VALUES {', '.join([row] * count)}"


def _insert(conn: sqlite3.Connection, rows: Sequence[Sequence]) -> int:
    """One multi-row INSERT; the last id. Rows without tap columns (a recorder's usual) leave them out
    of the statement: binding a None costs sqlite3 an adapter lookup, and they are six of the seventeen."""
    if all(row[_FORWARD_AT:] == _NO_FORWARD for row in rows):
        values = [value for row in rows for value in row[:_FORWARD_AT]]
        return conn.execute(_insert_statement(len(rows), _FORWARD_AT), values).lastrowid
    return conn.execute(_insert_statement(len(rows)), list(chain.from_iterable(rows))).lastrowid


def insert_rows(conn: sqlite3.Connection, rows: Sequence[Sequence]) -> list[int]:
    """Insert `rows` (REQUEST_COLUMNS without id) in one transaction on a write connection; their ids.

    One multi-row INSERT per 500 rows: one trip into SQLite (and one GIL hand-off) per batch rather
    than one per row. Inside BEGIN IMMEDIATE no other writer interleaves, and SQLite gives each row
    of the statement the next id after the largest, so the ids run up to the last one."""
    if 0 < len(rows) <= _ROWS_PER_STATEMENT and not conn.in_transaction:
        # One statement is a transaction of its own, commit and fsync included: one trip into SQLite,
        # so a writer thread gives up and waits for the GIL once per batch rather than three times.
        last = _insert(conn, rows)
        return list(range(last - len(rows) + 1, last + 1))
    ids: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        part = rows[start:start + _ROWS_PER_STATEMENT]
        last = _insert(conn, part)
        ids.extend(range(last - len(part) + 1, last + 1))
    conn.execute("COMMIT")
    return ids


def append_requests(path: str | os.PathLike, rows: Sequence[Sequence]) -> list[int]:
    """Append `rows` (REQUEST_COLUMNS without id) to the store at `path` (created if missing); their ids."""
    path = Path(path)
    conn = open_writable(path)
    try:
        return insert_rows(conn, rows) if rows else []
    except sqlite3.Error as exc:
        raise _problem(path, f"cannot import ({exc})", "check the disk has room and the file is writable") from None
    finally:
        conn.close()


def insert_replays(path: str | os.PathLike, rows: Iterable[Sequence]) -> None:
    """Keep replay answers (REPLAY_COLUMNS) beside the requests of the store at `path`, in one transaction."""
    path = Path(path)
    conn = open_writable(path, create=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO replays ({', '.join(REPLAY_COLUMNS)}) "
                         f"VALUES ({', '.join('?' * len(REPLAY_COLUMNS))})", rows)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise _problem(path, f"replay answers could not be stored ({exc})",
                       "check the disk has room and the file is writable, then replay again") from None
    finally:
        conn.close()


class _Checkpointer:
    """Copies the WAL into the database file on its own thread and connection, so that no commit
    waits for a checkpoint (with synchronous=FULL one ends in an fsync of the database file: tens of
    milliseconds on a busy disk, which every request of the next batch waited out).

    A checkpoint that runs beside the writer seldom lets the WAL start over (SQLite restarts it only
    when every frame was copied before the next write begins), so once the WAL is past `catch_up_frames`
    the writer finishes the copy itself between two commits, where little is left to copy."""

    def __init__(self, path: Path, every: float, catch_up_frames: int):
        self.every, self.catch_up_frames = every, catch_up_frames
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous = FULL")  # per connection: the checkpoint syncs what it copied
        self.catch_up = False
        self._due, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"recorder-checkpoint:{path.name}", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._stopping.is_set():
                return
            self._due.clear()
            try:
                _busy, frames, _copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            except sqlite3.Error:  # the writer's own checkpoint at close, or a full disk: the next one tries again
                continue
            self.catch_up = frames > self.catch_up_frames  # still this long: it has not started over
            if self._stopping.wait(self.every):
                return

    def close(self) -> None:
        self._stopping.set()
        self._due.set()
        self._thread.join(10)
        self._conn.close()


# The interpreter's switch interval while any writer thread runs (the user's back after the last one stops).
# The writer needs the GIL three times a commit (woken, after SQLite's fsync, after waking the loop).
# Every GIL release by the busy loop (each socket call) wakes a waiting thread and starts its wait
# over, and the loop takes the GIL back first, so at the default 5 ms the writer got it only once the
# loop ran out of work: its commits never overlapped the loop's work (the convoy effect). A waiting
# thread asks for the GIL once the interval passes without a hand-over; at 10 µs the writer waits
# ~that long: events/s under wrk ×0.86 to ×1.35 the 5 ms one in ten paired rounds, median ×1.12, on a
# loaded 2-core machine (issue 17 §3).
WRITER_SWITCH_INTERVAL_S = 10e-6
_short_switch_interval = HeldSetting(sys.getswitchinterval, sys.setswitchinterval,
                                     lambda interval: min(interval, WRITER_SWITCH_INTERVAL_S))


class _Gathering:
    """The rows one event loop has submitted for the next commit, and when to hand them to the writer.

    Touched only on its loop (or, once the loop stopped, by `RecorderStore.close`), so a request
    costs a list append and a future, not a wake-up of the writer thread: the writer is woken once
    per batch and calls back once per batch."""

    __slots__ = ("store", "loop", "rows", "futures", "in_flight", "wanted", "until", "timer")

    def __init__(self, store: "RecorderStore", loop: asyncio.AbstractEventLoop):
        self.store, self.loop = store, loop
        self.rows: list = []
        self.futures: list[asyncio.Future] = []  # one per row: a batch's shared one would die with any cancelled caller
        self.in_flight = False  # a batch of this loop is with the writer
        self.wanted, self.until = 0, 0.0
        self.timer: asyncio.TimerHandle | None = None

    def add(self, row: tuple) -> asyncio.Future:
        future = self.loop.create_future()
        self.rows.append(row)
        self.futures.append(future)
        if not self.in_flight and (len(self.rows) >= self.wanted or self.loop.time() >= self.until):
            self.hand_over()
        return future

    def hand_over(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.in_flight or not self.rows:
            return
        self.in_flight = True
        batch, self.rows, self.futures = (self.rows, self.futures, self), [], []
        self.store._hand_over(batch)

    def committed(self, futures: list, first_id: int, error: str | None, seconds: float) -> None:
        """The writer's callback (on this loop): answer the batch's requests, then gather the next batch:
        clients that wait for each answer send again at once, so it waits for as many rows as were
        just answered, beyond those already here, for at most as long as that commit took."""
        for row_id, future in enumerate(futures, start=first_id):
            if not future.done():  # its caller may have gone (cancelled)
                if error is None:
                    future.set_result(row_id)
                else:
                    future.set_exception(RecorderError(error))
        self.in_flight = False
        self.wanted = len(futures) + len(self.rows)
        self.until = self.loop.time() + min(seconds, self.store.MAX_GATHER_WAIT)
        if self.store.closed or len(self.rows) >= self.wanted:
            self.hand_over()
        else:
            self.timer = self.loop.call_at(self.until, self.hand_over)


class RecorderStore(_ClosedOnExit):
    """A recorder store opened for writing, with its group-commit writer thread.

    `submit(row)` (from the server's event loop) returns an asyncio future that resolves to the
    row's id once the batch holding it is committed; `wait_for_commit` lets in-process readers
    (`Exchanges.wait_for`) wake on each commit instead of polling the file.
    """

    MAX_BATCH = 2000  # rows per commit, unless one loop's batch alone is larger
    # Group commit for clients that wait for each answer (Jivo, a load test): they send again at once, so
    # after a commit the next one waits for as many requests as it answered, beyond those already queued,
    # for at most as long as that commit took (and MAX_GATHER_WAIT). Not waiting would split the clients
    # into two halves that alternate, each waiting out two fsyncs; waiting less than an fsync never costs more.
    MAX_GATHER_WAIT = 0.005
    _FLUSH_WAIT = 1.0  # close(): how long a running loop gets to hand over what it gathered
    # The WAL is checkpointed off the commit path (_Checkpointer): at most this often, in seconds, and
    # finished by the writer between two commits once it is this many pages long (16 MiB of 4 KiB pages).
    CHECKPOINT_EVERY = 0.05
    WAL_CATCH_UP_PAGES = 4096

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._conn = open_writable(self.path)
        try:
            self._conn.execute(f"DROP INDEX IF EXISTS {_CHAT_INDEX}")
        except sqlite3.Error:  # e.g. another writer holds the file: the index is kept, commits cost more
            pass
        self._checkpointer = self._start_checkpointer()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # batches for the writer, then None to stop
        self._committed = threading.Condition()
        self._gatherings: dict[asyncio.AbstractEventLoop, _Gathering] = {}
        self._writer_gone = False  # guarded by _committed: batches handed over later are refused
        self.last_id = _highest_id(self._conn)
        self.committed_batches = 0
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name=f"recorder-writer:{self.path.name}",
                                        daemon=True)
        _short_switch_interval.hold()
        self._writer.start()

    def _start_checkpointer(self) -> _Checkpointer | None:
        """The WAL copied off the commit path; None (SQLite's own checkpoints after commits) if that cannot start."""
        try:
            checkpointer = _Checkpointer(self.path, self.CHECKPOINT_EVERY, self.WAL_CATCH_UP_PAGES)
        except (sqlite3.Error, RuntimeError):
            return None
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        return checkpointer

    # -- writing (event loop side)
    def submit(self, row: tuple) -> asyncio.Future:
        """Queue `row` (REQUEST_COLUMNS without id) for the next batch; await the result for its id."""
        if self._closed:
            raise self._closed_problem()
        loop = asyncio.get_running_loop()
        gathering = self._gatherings.get(loop)
        if gathering is None:
            for gone in [old for old in self._gatherings if old.is_closed()]:
                del self._gatherings[gone]
            gathering = self._gatherings[loop] = _Gathering(self, loop)
        return gathering.add(row)

    def _closed_problem(self) -> RecorderError:
        return _problem(self.path, "the recorder store is closed", "start the recorder again")

    def _hand_over(self, batch: tuple) -> None:
        with self._committed:
            if not self._writer_gone:
                self._queue.put(batch)
                return
        _, futures, gathering = batch
        gathering.committed(futures, 0, str(self._closed_problem()), 0.0)

    # -- the writer thread
    def _write_loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batches, size = [first], len(first[0])
            while size < self.MAX_BATCH:  # other loops' batches already queued share the commit
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batches.append(item)
                size += len(item[0])
            self._commit(batches)

    def _commit(self, batches: list) -> None:
        started = time.monotonic()
        rows = batches[0][0] if len(batches) == 1 else [row for batch in batches for row in batch[0]]
        first_id, error = 0, None
        try:
            first_id = insert_rows(self._conn, rows)[0]
        except sqlite3.Error as exc:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            error = str(_problem(self.path, f"cannot store the request ({exc})",
                                 "check the disk has room and the file is writable"))
        if error is None:
            with self._committed:
                self.last_id = first_id + len(rows) - 1
                self.committed_batches += 1
                self._committed.notify_all()
        seconds = time.monotonic() - started
        for _, futures, gathering in batches:  # one hop back to each loop per batch
            try:
                gathering.loop.call_soon_threadsafe(gathering.committed, futures, first_id, error, seconds)
            except RuntimeError:  # that loop is gone: nobody waits for the answer any more
                pass
            first_id += len(futures)
        checkpointer = self._checkpointer
        if error is None and checkpointer is not None:
            checkpointer.committed()
            if checkpointer.catch_up:
                checkpointer.catch_up = False
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the other one is at it: it will ask again
                    pass

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_for_commit(self, after_id: int, timeout: float) -> bool:
        """Block until a request with id > `after_id` is committed (True) or `timeout` passes (False)."""
        with self._committed:
            return self._committed.wait_for(lambda: self.last_id > after_id or self._closed, timeout)

    def _flush_gatherings(self) -> None:
        """Hand every loop's gathered rows to the writer: on the loop itself while it runs, from here once it stopped."""
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for loop, gathering in list(self._gatherings.items()):
            if loop is not here and loop.is_running():
                flushed = threading.Event()

                def flush(gathering=gathering, flushed=flushed) -> None:
                    gathering.hand_over()
                    flushed.set()

                try:
                    loop.call_soon_threadsafe(flush)
                except RuntimeError:  # closed meanwhile: handed over from here below
                    pass
                else:
                    flushed.wait(self._FLUSH_WAIT)
                    continue
            gathering.in_flight = False  # the callback of its batch with the writer cannot run before we are done
            gathering.hand_over()

    def close(self) -> None:
        """Commit what was submitted, stop the writer, checkpoint the WAL, close the file."""
        if self._closed:
            return
        self._closed = True
        self._flush_gatherings()
        self._queue.put(None)
        self._writer.join(30)
        _short_switch_interval.release()
        with self._committed:
            self._writer_gone = True
            self._committed.notify_all()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        left: list = []  # handed over after the writer's last look
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left.append(item)
        if left:
            self._commit(left)
        try:
            self._conn.execute(_CREATE_CHAT_INDEX)
        except sqlite3.Error:  # a full disk: readers still find a chat, by reading the table
            pass
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self._conn.close()

    def __repr__(self) -> str:
        return f"<RecorderStore {self.path} last_id={self.last_id}{' closed' if self._closed else ''}>"
