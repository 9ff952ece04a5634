"""Shared pieces of the CLI commands: printing tables and JSON, profile choice, bounded
number arguments, serving until --duration has passed or Ctrl-C."""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..redaction import redact
from ..text import format_table
from ..times import TIME_FORMS

__all__ = ["print_table", "print_json", "add_profile_argument", "resolve_profile",
           "number_argument", "positive_seconds", "add_request_filters", "add_duration_argument", "wait_slices",
           "serve_until_stopped", "OperationDefault", "resolve_defaults"]


def print_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, file=None,
                wrap: Sequence[str] = ()) -> None:
    print(redact(format_table(rows, columns, wrap=wrap)), file=file or sys.stdout)


def print_json(value: Any, *, file=None) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2), file=file or sys.stdout)


def add_profile_argument(parser, *, sandbox: bool = False) -> None:
    parser.add_argument("--profile", metavar="PATH",
                        help="profile file (default: $JIVO_OPS_PROFILE)")
    if sandbox:
        parser.add_argument("--sandbox", action="store_true",
                            help="run against a sandbox started for this command (no accounts needed)")


def add_request_filters(parser) -> None:
    """--chat and --since: which recorded requests a command takes (`Exchanges.query`'s chat= and since=)."""
    parser.add_argument("--chat", metavar="ID", help="only requests about this client id")
    parser.add_argument("--since", metavar="T", help=f"only requests from T on: {TIME_FORMS}")


def add_duration_argument(parser) -> None:
    """--duration for commands that serve until Ctrl-C (see `wait_slices`)."""
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stop after this long instead of waiting for Ctrl-C")


def wait_slices(duration: float | None, step: float) -> Iterator[float]:
    """How long to wait next, at most `step` seconds a turn, until `duration` seconds have passed
    (for ever when None: the command then stops on Ctrl-C)."""
    deadline = None if duration is None else time.monotonic() + duration
    while deadline is None or time.monotonic() < deadline:
        yield step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))


def serve_until_stopped(duration: float | None) -> None:
    """Say "serving", then wait for `duration` seconds (None: until Ctrl-C, which ends it quietly)."""
    print("serving; press Ctrl-C to stop", flush=True)
    try:
        for left in wait_slices(duration, 0.2):
            time.sleep(left)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)


def resolve_profile(args):
    from ..profile import load_profile

    return load_profile(getattr(args, "profile", None))


def number_argument(convert: Callable[[str], float], within: Callable[[Any], bool], *, expected: str,
                    out_of_range: str) -> Callable[[str], Any]:
    """An argparse `type=` that converts with `convert` (int or float) and accepts only values that
    are `within`; each refusal is one line naming what was typed: ``'x': <expected>``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {expected}") from None
        if not within(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {out_of_range}")
        return value
    return parse


# A time limit in seconds (`check --timeout`, `diagnose --timeout`).
positive_seconds = number_argument(float, lambda value: 0 < value <= 300, expected="expected seconds, e.g. 10",
                                   out_of_range="expected more than 0 and at most 300 seconds")


class OperationDefault:
    """An option's default read from the operation's own signature (`parameter` of `name` in `module`),
    only when a help shows it (`%(default)s`, written with `spec`) or a parse leaves the option out:
    importing the operation while the parser is built would load httpx for `jivo-ops --help`."""

    def __init__(self, module: str, name: str, parameter: str, *, spec: str = ""):
        self.module, self.name, self.parameter, self.spec = module, name, parameter, spec

    @functools.cached_property
    def value(self) -> Any:
        import inspect

        operation = getattr(importlib.import_module(self.module, __package__), self.name)
        return inspect.signature(operation).parameters[self.parameter].default

    def __str__(self) -> str:
        return format(self.value, self.spec)


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """`args` with every `OperationDefault` left by the parse replaced by its value."""
    for name, value in list(vars(args).items()):
        if isinstance(value, OperationDefault):
            setattr(args, name, value.value)
    return args
