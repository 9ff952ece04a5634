"""`jivo-ops`: the terminal face. Each command lives in its own module with `register(subparsers)`
and calls the same operations the widgets call; errors become one line on stderr."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from ..errors import JivoOpsError
from ..redaction import install_log_redaction, redact, redact_handlers

__all__ = ["main", "build_parser"]

# One module per command group, in the order `--help` lists them.
COMMANDS = [
    "check",
    "switch",
    "jivo",
    "sandbox",
    "logs",
    "transfer",
    "probe",
    "demo",
    "record",
    "replay",
    "export",
]


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (and exit 2), like every other error: the usage is in --help."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: object) -> str:
    """`text` on one line: a newline (in a file name, say) is shown as \\n."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
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
    parser = build_parser()
    args = parser.parse_args(argv)
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
        print("jivo-ops: interrupted", file=sys.stderr)
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
