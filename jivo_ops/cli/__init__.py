"""`jivo-ops`: the terminal face. Each command lives in its own module with `register(subparsers)`
and calls the same operations the widgets call; errors become one line on stderr."""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
import sys

from ..errors import JivoOpsError
from ..redaction import install_log_redaction, redact, redact_handlers
from ._output import resolve_defaults

__all__ = ["main", "build_parser"]

INTERRUPTED = "jivo-ops: interrupted"

# One module per command group, in the order `--help` lists them.
COMMANDS = [
    "check",
    "switch",
    "jivo",
    "sandbox",
    "stand_in",
    "logs",
    "transfer",
    "probe",
    "diagnose",
    "demo",
    "record",
    "replay",
    "export",
    "load",
]


class _Parser(argparse.ArgumentParser):
    """No prefix of a long option is taken for the option (`allow_abbrev=False`), a mistyped one gets
    a "did you mean", and a usage error is one line (and exit 2), like every other error: the usage is
    in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def options(self) -> set[str]:
        """Every option string of this parser and of its commands."""
        found: set[str] = set()
        for action in self._actions:
            found.update(o for o in action.option_strings if o.startswith("--"))
            commands = action.choices if isinstance(action.choices, dict) else {}  # a subparsers action's
            found.update(o for child in commands.values() if isinstance(child, _Parser) for o in child.options())
        return found

    def parse_known_args(self, args=None, namespace=None):
        parsed, extra = super().parse_known_args(args, namespace)
        return resolve_defaults(parsed), extra

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            known = sorted(self.options())
            hints = [f"did you mean {match[0]} (for {word})?" for word in message.split(":", 1)[1].split()
                     if word.startswith("--") and (match := difflib.get_close_matches(word.split("=")[0], known, 1))]
            if hints:
                message = f"{message}; {' '.join(hints)}"
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: object) -> str:
    """`text` on one line: a newline (in a file name, say) is shown as \\n."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jivo-ops",
        description="Configure, test and debug the hand-over of chats from a JAICP bot to live Jivo operators.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log HTTP traffic (tokens masked)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:  # Ctrl-C while the commands load: as interrupted as any other moment
        print(INTERRUPTED, file=sys.stderr)
        return 130
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "pass_through", None) is None:  # only `load` hands unknown options on (to Locust)
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pass_through = extra
    install_log_redaction()
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG if args.verbose > 1 else logging.INFO,
                            format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
        redact_handlers()
    try:
        code = args.func(args)
    except JivoOpsError as exc:
        print(f"jivo-ops: error: {one_line(redact(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug of ours: still one line, never a token
        if os.environ.get("JIVO_OPS_DEBUG"):
            raise
        print(f"jivo-ops: internal error: {type(exc).__name__}: {one_line(redact(exc))} "
              "(set JIVO_OPS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 3
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
