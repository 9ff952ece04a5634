"""Hard tests, bad files and arguments: every command that reads or writes a file, found in the CLI
parser itself (so a new command inherits this table), gets each bad input: missing, a folder,
unreadable, a FIFO, /dev/zero, a name with a newline, deep nesting, a 5,000-digit integer, an XLSX
that expands past a (lowered) bound; outputs in a missing folder, a folder, /dev/full, a read-only
folder. Each run must end within its timeout with an exit code other than 0 and exactly one line on
stderr that names the file or field: no "internal error", no traceback.

Each case runs in a forked child (cheap: the parent has imported everything), as `nobody` when the
case needs a permission to be missing (root reads everything).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from jivo_ops.cli import build_parser, main
from jivo_ops.profile import example_profile, save_profile

TIMEOUT_S = 20.0
NOBODY = 65534
# What a leaf command needs besides the file under test to reach it (a new command needs no entry
# unless it has required arguments of its own).
EXTRA = {
    "replay": ["--to", "http://127.0.0.1:9/hook/x"],
    "export": ["--format", "jsonl"],
    "jivo send": ["--client-id", "c1", "--text", "t"],
    "probe": ["jivo"],
    "sandbox": ["--duration", "0"],
    "record": ["--duration", "0"],
    "transfer": ["--no-progress"],
    "stand-in": ["--webhook", "http://127.0.0.1:9/hook", "--listen", "127.0.0.1:0", "--duration", "0"],
}
OUTPUT_DESTS = {"out", "rejected", "plot", "profile_out", "junit"}
PATHY = ("PATH", "FILE", "STORE", "SOURCE")


def leaf_parsers(parser: argparse.ArgumentParser, name: str = ""):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield name, parser
        return
    for sub_name, sub in subs[0].choices.items():
        yield from leaf_parsers(sub, f"{name} {sub_name}".strip())


def file_arguments() -> list[tuple[str, str | None, str, str]]:
    """(command, option or None for a positional, dest, metavar) of every file argument."""
    found = []
    for command, parser in leaf_parsers(build_parser()):
        for action in parser._actions:
            metavar = str(action.metavar or "")
            if any(word in metavar.upper() for word in PATHY):
                found.append((command, action.option_strings[0] if action.option_strings else None,
                              action.dest, metavar))
    return found


class Files:
    """The good and bad files the cases point at, in a folder `nobody` may enter."""

    def __init__(self, root: Path):
        self.root = root
        os.chmod(root, 0o755)
        self.profile = save_profile(example_profile(), root / "good.toml")
        os.chmod(self.profile, 0o644)
        self.events = root / "events.jsonl"
        self.events.write_text('{"ts": "2026-11-25T10:00:00Z", "author": "CLIENT", "chat": "c", "kind": "text", "text": "hi"}\n')
        from jivo_ops.recorder.store import REQUEST_COLUMNS, append_requests, open_writable

        self.store = root / "good.sqlite"  # one request, so an export has something to write
        open_writable(self.store).close()
        request = dict.fromkeys(REQUEST_COLUMNS[1:]) | {
            "received_at": "2026-11-25T10:00:00.000000+00:00", "method": "POST", "path": "/hook/{token}",
            "query": "", "headers": "[]", "body": b'{"recipient": {"id": "c1"}}', "chunked": 0, "status": 200}
        append_requests(self.store, [tuple(request[c] for c in REQUEST_COLUMNS[1:])])
        os.chmod(self.store, 0o644)
        self.folder = root / "a-folder"
        self.folder.mkdir()
        (self.folder / "x.jsonl").write_text("{}\n")
        self.locked_folder = root / "locked-folder"
        self.locked_folder.mkdir()
        (self.locked_folder / "x.jsonl").write_text(self.events.read_text())
        os.chmod(self.locked_folder, 0o000)
        self.readonly_folder = root / "read-only"
        self.readonly_folder.mkdir(mode=0o555)
        os.chmod(self.readonly_folder, 0o555)
        self.fifo = root / "a-fifo"
        os.mkfifo(self.fifo)

    def write(self, name: str, data: bytes, mode: int = 0o644) -> str:
        path = self.root / name
        path.write_bytes(data)
        os.chmod(path, mode)
        return str(path)


def suffix_of(dest: str, metavar: str) -> str:
    if "sqlite" in metavar.lower() or "STORE" in metavar or dest in ("store", "recorder"):
        return ".sqlite"
    if dest == "profile":
        return ".toml"
    if dest == "script":
        return ".json"
    return ".jsonl"


def nested(suffix: str) -> bytes:
    if suffix == ".toml":
        return b"[jaicp]\nchat_api_url = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    if suffix == ".jsonl":
        return b'{"ts": "2026-11-25T10:00:00Z", "author": "CLIENT", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    return b"[" * 100_000 + b"]" * 100_000


def huge_integer(suffix: str) -> bytes:
    digits = b"1" + b"0" * 5000
    if suffix == ".toml":
        return b"[jivo]\nchunked = " + digits + b"\n"
    if suffix == ".jsonl":
        return b'{"ts": ' + digits + b', "author": "CLIENT", "chat": "c"}\n'
    return b'{"name": "x", "steps": [{"action": "pause", "seconds": ' + digits + b"}]}"


def xlsx_bomb(rows: int) -> bytes:
    """A tiny workbook whose one sheet declares `rows` rows (a few bytes each, deflated)."""
    sheet = ("<?xml version='1.0' encoding='UTF-8'?><worksheet xmlns='http://schemas.openxmlformats.org/"
             "spreadsheetml/2006/main'><sheetData>" + "".join(
                 f"<row r='{i}'><c r='A{i}' t='inlineStr'><is><t>x</t></is></c></row>" for i in range(1, rows + 1))
             + "</sheetData></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types xmlns='http://schemas.openxmlformats.org/"
                   "package/2006/content-types'><Default Extension='xml' ContentType='application/xml'/><Override "
                   "PartName='/xl/workbook.xml' ContentType='application/vnd.openxmlformats-officedocument."
                   "spreadsheetml.sheet.main+xml'/><Override PartName='/xl/worksheets/sheet1.xml' ContentType="
                   "'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml'/></Types>")
        z.writestr("_rels/.rels", "<?xml version='1.0'?><Relationships xmlns='http://schemas.openxmlformats.org/"
                   "package/2006/relationships'><Relationship Id='rId1' Type='http://schemas.openxmlformats.org/"
                   "officeDocument/2006/relationships/officeDocument' Target='xl/workbook.xml'/></Relationships>")
        z.writestr("xl/workbook.xml", "<?xml version='1.0'?><workbook xmlns='http://schemas.openxmlformats.org/"
                   "spreadsheetml/2006/main' xmlns:r='http://schemas.openxmlformats.org/officeDocument/2006/"
                   "relationships'><sheets><sheet name='S' sheetId='1' r:id='rId1'/></sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", "<?xml version='1.0'?><Relationships xmlns='http://schemas."
                   "openxmlformats.org/package/2006/relationships'><Relationship Id='rId1' Type='http://schemas."
                   "openxmlformats.org/officeDocument/2006/relationships/worksheet' Target='worksheets/sheet1.xml'/>"
                   "</Relationships>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def base_argv(command: str, files: Files, skip: str) -> list[str]:
    """The command line around the file under test: its extras and good files for its other needs."""
    argv = command.split()
    top = argv[0]
    if top in ("logs",) and skip != "sources":
        argv.append(str(files.events))
    if top in ("replay", "export") and skip != "store":
        argv.append(str(files.store))
    if top in ("check", "jivo", "probe") and skip != "profile":
        argv += ["--profile", str(files.profile)]
    if top == "transfer" and skip != "profile":
        argv += ["--sandbox"]
    if top == "record" and skip != "store":
        argv += ["--store", str(files.root / "new.sqlite")]
    argv += EXTRA.get(command, EXTRA.get(top, []))
    return argv


UNIQUE = itertools.count()  # a path some command creates (a store, a folder) is never reused


def cases() -> list[tuple[str, object]]:
    """(id, builder(files) -> (argv, as_nobody)) for every file argument × every bad input."""
    out = []
    for command, option, dest, metavar in file_arguments():
        def place(value, command=command, option=option, dest=dest):
            def build(files: Files) -> list[str]:
                argv = base_argv(command, files, dest)
                return argv + ([option, value(files)] if option else [value(files)])
            return build

        suffix = suffix_of(dest, metavar)
        label = f"{command} {option or dest}"
        if dest in OUTPUT_DESTS:
            name = "out" + (".png" if dest == "plot" else ".csv" if dest == "rejected" else suffix)
            bad = {
                "missing folder": (lambda f, n=name: str(f.root / f"no-such-folder-{next(UNIQUE)}" / n), False),
                "a folder": (lambda f: str(f.folder), False),
                "/dev/full": (lambda f: "/dev/full", False),
                "read-only folder": (lambda f, n=name: str(f.readonly_folder / n), True),
                "newline in a missing folder": (lambda f, n=name: str(f.root / f"two\nlines{next(UNIQUE)}" / n),
                                                False),
            }
        else:
            bad = {
                "missing": (lambda f, s=suffix: str(f.root / f"missing-{next(UNIQUE)}{s}"), False),
                "/dev/zero": (lambda f: "/dev/zero", False),
                "/dev/urandom": (lambda f: "/dev/urandom", False),
                "a FIFO": (lambda f: str(f.fifo), False),
                "unreadable": (lambda f, s=suffix: f.write(f"secret{s}", b"{}", 0o000), True),
                "newline in the name": (lambda f, s=suffix: f.write(f"two\nlines{s}", b"\x00garbage"), False),
            }
            if dest == "sources":
                bad["unreadable folder"] = (lambda f: str(f.locked_folder), True)
            else:
                bad["a folder"] = (lambda f: str(f.folder), False)
            if suffix != ".sqlite":
                bad["deep nesting"] = (lambda f, s=suffix: f.write(f"nested{s}", nested(s)), False)
                bad["5,000-digit integer"] = (lambda f, s=suffix: f.write(f"digits{s}", huge_integer(s)), False)
            if dest == "sources":
                bad["XLSX bomb"] = (lambda f: f.write("bomb.xlsx", xlsx_bomb(3000)), False)
        for what, (value, as_nobody) in bad.items():
            out.append((f"{label}: {what}", place(value), as_nobody))
    return out


ARGUMENT_CASES = [  # numbers and texts typed on the command line; same rules
    ("replay --timeout nan", ["replay", "{store}", "--to", "http://127.0.0.1:9/x", "--timeout", "nan"]),
    ("replay --timeout -1", ["replay", "{store}", "--to", "http://127.0.0.1:9/x", "--timeout", "-1"]),
    ("transfer --clients 10**20", ["transfer", "--sandbox", "--clients", "99999999999999999999"]),
    ("logs --since 99999999d", ["logs", "{events}", "--since", "99999999d"]),
    ("logs --delimiter ';;'", ["logs", "{csv}", "--delimiter", ";;"]),
    ("logs --delimiter '\\x'", ["logs", "{csv}", "--delimiter", "\\x"]),
    ("transfer pause 1e308", ["transfer", "--sandbox", "--no-progress", "--script", "{pause}", "--step-timeout", "1"]),
    ("transfer pause Infinity", ["transfer", "--sandbox", "--no-progress", "--script", "{infinity}",
                                 "--step-timeout", "1"]),
]


def argument_case(argv):
    def build(files: Files) -> list[str]:
        named = {"store": str(files.store), "events": str(files.events),
                 "csv": files.write("export.csv", b"timestamp;clientId;question\n2026-11-25 10:00:00.000;c;q\n"),
                 "pause": files.write("pause.json", b'{"steps": [{"action": "pause", "seconds": 1e308}]}'),
                 "infinity": files.write("inf.json", b'{"steps": [{"action": "pause", "seconds": Infinity}]}')}
        return [a.format(**named) if a.startswith("{") else a for a in argv]
    return build


ALL_CASES = cases() + [(label, argument_case(argv), False) for label, argv in ARGUMENT_CASES]
# A pause longer than --step-timeout is the transfer's own failure: exit 1 and the reason on stdout.
QUIET_FAILURES = {"transfer pause 1e308", "transfer pause Infinity"}
# Documented non-errors: these outputs create their missing folders (the command then succeeds).
NOT_ERRORS = {f"{command}: {what}" for command in ("transfer --out", "transfer --junit", "sandbox --profile-out",
                                                    "stand-in --profile-out")
              for what in ("missing folder", "newline in a missing folder")} | {
    "record --store: missing",  # a new store is created
    "stand-in --store: missing",
    "logs --rejected: /dev/full",  # written only when rows are rejected: none here
}


@pytest.fixture(scope="module")
def files():
    root = Path(tempfile.mkdtemp(prefix="jivo-ops-hard-inputs-"))
    import pandas  # noqa: F401  imported once here, so each forked child starts warm
    import openpyxl  # noqa: F401
    from jivo_ops import logs, transfer  # noqa: F401
    # a stand-in's first start imports its server lazily (as `nobody` the interpreter's own files may be
    # out of reach): start one here so a child never has to
    assert main(["stand-in", "--webhook", "http://127.0.0.1:9/hook", "--listen", "127.0.0.1:0", "--duration", "0",
                 "--store", str(root / "warm.sqlite")]) == 0

    yield Files(root)
    for folder in (root / "locked-folder", root / "read-only"):
        os.chmod(folder, 0o755)
    shutil.rmtree(root, ignore_errors=True)


def run_forked(argv: list[str], *, as_nobody: bool, timeout: float = TIMEOUT_S) -> tuple[int | None, str]:
    """Run `jivo-ops argv` in a forked child: (exit code or None when it hung, what it wrote on stderr)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            from jivo_ops.logs.sources import exports

            exports.XLSX_MAX_ROWS = 1000  # a small bomb trips a lowered bound
            os.environ.pop("JIVO_OPS_DEBUG", None)
            if as_nobody and os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001  reported like the CLI would not
            print(f"test harness: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 99)
    os.close(out_w)
    os.close(err_w)
    err = b""
    deadline = time.monotonic() + timeout
    streams = {out_r, err_r}
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(list(streams), [], [], max(0.0, deadline - time.monotonic()))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                streams.discard(fd)
            elif fd == err_r:
                err += chunk
    hung = bool(streams)
    if hung:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(out_r)
    os.close(err_r)
    return (None if hung else os.waitstatus_to_exitcode(status)), err.decode("utf-8", errors="replace")


def test_every_file_argument_is_in_the_table():
    commands = {c for c, *_ in file_arguments()}
    assert {"logs", "transfer", "replay", "export", "check"} <= commands, commands


@pytest.mark.parametrize("label,build,as_nobody", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_bad_input_gives_one_line_and_an_error_code(files, label, build, as_nobody):
    argv = build(files)
    code, err = run_forked(argv, as_nobody=as_nobody)
    assert code is not None, f"{label}: still running after {TIMEOUT_S} s: {argv!r}"
    lines = err.splitlines()
    if label in NOT_ERRORS:
        assert code == 0 and "Traceback" not in err, f"{label}: exit {code}; stderr: {err!r}"
        return
    assert code != 0, f"{label}: exit 0; stderr: {err!r}"
    assert "internal error" not in err and "Traceback" not in err, f"{label}: {err!r}"
    if label in QUIET_FAILURES and not lines:
        return
    assert len(lines) == 1, f"{label}: {len(lines)} stderr lines: {err!r}"
    assert lines[0].startswith("jivo-ops"), f"{label}: {err!r}"
