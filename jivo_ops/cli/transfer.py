"""`jivo-ops transfer`: send test switch transfers and print what happened.

    jivo-ops transfer [--profile PATH | --sandbox] [--clients N] [--concurrency C] [--script FILE]
                      [--out FILE.jsonl]

Prints a summary table (outcomes; time to switch and to the operator's first reply, median and
p95) and exits 0 only when every transfer is `answered` (1 otherwise, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from ..errors import JivoOpsError
from ..files import check_output, writing
from ._output import add_profile_argument, print_table, resolve_profile

__all__ = ["register", "run", "profile_or_sandbox"]

SCRIPT_HELP = """\
a --script file (JSON shown; TOML: name = "…" and [[steps]] tables with the same keys):
  {"name": "polite", "steps": [
     {"action": "say", "text": "Добрый день"},         a client message (to the bot, or in a live chat to the operator)
     {"action": "switch", "text": "Позовите оператора"},  expect a `switch` reply
     {"action": "wait_operator", "timeout": 20},      the operator's next message on /events
     {"action": "pause", "seconds": 2},               think time
     {"action": "event", "name": "myEvent", "data": {}},  a Chat API event
     {"action": "close"}]}                            the close phrase (default: the switch's first
                                                      closeChatPhrases entry, else /closeChat); expect the bot back
  short form: {"say": "Добрый день"}, {"switch": null}, "wait_operator", {"close": null}
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "transfer", help="send scripted test transfers through the bot and report the outcomes",
        description="Drive the bot over its Chat API like N clients asking for an operator; print the outcomes "
                    "(answered, no_operators, no_switch, unanswered, error) and the waiting times. "
                    "Exit 0 only when every transfer was answered.",
        epilog=SCRIPT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_profile_argument(parser, sandbox=True)
    parser.add_argument("--clients", type=int, default=1, metavar="N", help="simulated clients (default 1)")
    parser.add_argument("--concurrency", type=int, default=10, metavar="C",
                        help="transfers in flight at once (default 10)")
    parser.add_argument("--script", metavar="FILE", help="a JSON or TOML script (default: the built-in one)")
    parser.add_argument("--out", metavar="FILE.jsonl", help="write every transfer, one JSON line each")
    parser.add_argument("--step-timeout", type=float, default=10.0, metavar="S",
                        help="seconds each step may take, incl. waiting for the operator (default 10)")
    parser.add_argument("--timeline", action="store_true",
                        help="also print the timeline of each transfer that was not answered (and of the first)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def profile_or_sandbox(args):
    """The profile to use: a sandbox started for this command (`--sandbox`) or `--profile`/$JIVO_OPS_PROFILE."""
    if getattr(args, "sandbox", False) and getattr(args, "profile", None):
        raise JivoOpsError("--profile and --sandbox exclude each other: pick one")
    if getattr(args, "sandbox", False):
        from ..sandbox import Sandbox

        with Sandbox() as sandbox:
            yield sandbox.profile
    else:
        yield resolve_profile(args)


def run(args) -> int:
    from ..transfer import TransferSettings, format_summary, format_timeline, load_script, run_transfers

    # Bad settings and scripts fail before anything (a sandbox) starts.
    settings = TransferSettings(clients=args.clients, concurrency=args.concurrency, step_timeout=args.step_timeout)
    script = load_script(args.script) if args.script else None
    check_output(args.out, make_folder=True)
    progress = not args.no_progress and sys.stderr.isatty()
    with profile_or_sandbox(args) as profile, writing(args.out or "--out"):
        batch = run_transfers(profile, clients=settings.clients, concurrency=settings.concurrency, script=script,
                              step_timeout=settings.step_timeout, out=args.out, progress=progress)
    summary = batch.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        rows, columns = format_summary(summary)
        print_table(rows, columns)
        failed = [r for r in batch if r.outcome != "answered"]
        for r in failed[:10]:
            print(f"{r.outcome:<13} {r.chat}  {r.error or ''}")
        if len(failed) > 10:
            print(f"… and {len(failed) - 10} more not answered (see --out FILE.jsonl)")
        print(f"{len(batch)} transfer(s) in {batch.elapsed_s:.2f} s"
              + (f"; results in {args.out}" if args.out else "") + (" (stopped early)" if batch.interrupted else ""))
    if args.timeline:
        shown = [batch[0]] + [r for r in batch[1:] if r.outcome != "answered"][:5]
        for r in shown:
            print()
            print(format_timeline(r))
    if batch.interrupted:
        return 130
    return 0 if batch.all_answered else 1
