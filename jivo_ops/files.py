"""The one place where a file a user named is opened, and where what it holds is parsed.

Inputs must be regular files (a FIFO would hang the reader, /dev/zero would fill the memory) and
are read up to a bound; JSON and TOML parsing turns deep nesting and huge integers into the same
error as any other broken text; outputs are checked before any work starts (their folder exists
and is writable, the name is no folder) and a failed write is one line. Every refusal names the
file, quoted when its name holds a character that would break the line.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import JivoOpsError

__all__ = ["shown_name", "input_problem", "read_input", "check_output", "writing", "loads_json", "loads_toml",
           "MAX_INPUT_BYTES", "MAX_SMALL_INPUT_BYTES"]

MAX_INPUT_BYTES = 4 * 1024 ** 3  # a log file: large exports are normal
MAX_SMALL_INPUT_BYTES = 16 * 1024 ** 2  # a profile or a script

ErrorType = Callable[[str], Exception]


def shown_name(path: str | os.PathLike) -> str:
    """The name as an error line shows it: as typed, or quoted when it holds a newline or another
    control character."""
    text = os.fspath(path)
    return text if text.isprintable() else repr(text)


def _strerror(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def input_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as an input file (None: it can)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return _strerror(exc)
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, device or socket); give a file"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def read_input(path: str | os.PathLike, *, limit: int = MAX_INPUT_BYTES, error: ErrorType = JivoOpsError) -> bytes:
    """The bytes of a regular file, at most `limit` of them; otherwise `error("NAME: why")`."""
    problem = input_problem(path)
    if problem:
        raise error(f"{shown_name(path)}: cannot read: {problem}")
    try:
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise error(f"{shown_name(path)}: not a regular file (a FIFO, device or socket); give a file")
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{shown_name(path)}: cannot read: {_strerror(exc)}") from None
    if len(data) > limit:
        raise error(f"{shown_name(path)}: larger than {limit:,} bytes; not read")
    return data


def check_output(path: str | os.PathLike | None, *, make_folder: bool = False,
                 error: ErrorType = JivoOpsError) -> None:
    """Refuse an output name before any work starts: a folder, a missing (unless `make_folder`:
    then it is created) or read-only folder."""
    if path is None:
        return
    target = Path(path).expanduser()
    if target.is_dir():
        raise error(f"{shown_name(target)}: is a folder; give a file name")
    folder = target.parent
    if make_folder and not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise error(f"{shown_name(target)}: cannot create folder {shown_name(folder)}: {_strerror(exc)}") from None
    if not folder.is_dir():
        raise error(f"{shown_name(target)}: folder {shown_name(folder)} does not exist")
    if target.exists() and not os.access(target, os.W_OK):
        raise error(f"{shown_name(target)}: cannot write: permission denied")
    if not target.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"{shown_name(target)}: cannot write in folder {shown_name(folder)}: permission denied")


@contextlib.contextmanager
def writing(path: str | os.PathLike, *, error: ErrorType = JivoOpsError) -> Iterator[None]:
    """Around the code that writes `path`: a failed write (disk full, /dev/full) becomes one line."""
    try:
        yield
    except OSError as exc:
        raise error(f"{shown_name(path)}: cannot write: {_strerror(exc)}") from None


def loads_json(text: str | bytes) -> Any:
    """`json.loads`, but nesting too deep to parse is a ValueError like any broken JSON (a
    5,000-digit integer already is one)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None


def loads_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads`, but deep nesting and integers too long to convert are TOMLDecodeErrors too."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("nested too deeply to read") from None
    except ValueError as exc:
        if isinstance(exc, tomllib.TOMLDecodeError):
            raise
        raise tomllib.TOMLDecodeError(str(exc)) from None
