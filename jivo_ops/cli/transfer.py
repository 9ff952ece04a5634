"""`jivo-ops transfer`: send test switch transfers and print what happened.

    jivo-ops transfer [--profile PATH | --sandbox] [--clients N] [--concurrency C] [--script FILE]
                      [--out FILE.jsonl] [--junit FILE.xml] [--switch-state STATE]

Prints a summary table (outcomes, checks; time to switch and to the operator's first reply, median
and p95) and the failed checks under it; exits 0 when every transfer's checks passed (skips
allowed), 1 when any failed, 2 on usage/setup errors, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from ..errors import JivoOpsError
from ..files import check_output, writing
from ..i18n import _
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
  checks: any step may carry "expect", e.g. {"say": "/start", "expect": {"state": "/Start", "text_contains": "бот"}};
  the script may name "outcome" (default "answered" with a switch step) and "clients".
  A JAICP XML test file (<test-case>, <q>, <a>, <event>) runs one script per test-case.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "transfer", help="send scripted test transfers through the bot and report the outcomes",
        description="Drive the bot over its Chat API like N clients asking for an operator; print the outcomes "
                    "(answered, no_operators, no_switch, unanswered, error) and the waiting times. "
                    "Exit 0 when every transfer's checks passed, 1 when any failed, 2 on usage/setup errors.",
        epilog=SCRIPT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_profile_argument(parser, sandbox=True)
    parser.add_argument("--clients", type=int, default=None, metavar="N",
                        help="simulated clients (default: the script's `clients`, else 1)")
    parser.add_argument("--concurrency", type=int, default=10, metavar="C",
                        help="transfers in flight at once (default 10)")
    parser.add_argument("--script", metavar="FILE", help="a JSON or TOML script (default: the built-in one)")
    parser.add_argument("--out", metavar="FILE.jsonl", help="write every transfer, one JSON line each")
    parser.add_argument("--junit", metavar="FILE.xml",
                        help="write JUnit XML: one testsuite per script, one testcase per client")
    parser.add_argument("--switch-state", metavar="STATE",
                        help="JAICP XML tests: the state whose step becomes the switch (e.g. /Operator)")
    parser.add_argument("--step-timeout", type=float, default=10.0, metavar="S",
                        help="seconds each step may take, incl. waiting for the operator (default 10)")
    parser.add_argument("--timeline", action="store_true",
                        help="also print the timeline of each transfer that was not answered (and of the first)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def profile_or_sandbox(args, *, whole_sandbox: bool = False):
    """The profile to use: a sandbox started for this command (`--sandbox`; the Sandbox itself with
    `whole_sandbox`) or `--profile`/$JIVO_OPS_PROFILE."""
    if getattr(args, "sandbox", False) and getattr(args, "profile", None):
        raise JivoOpsError("--profile and --sandbox exclude each other: pick one")
    if getattr(args, "sandbox", False):
        from ..sandbox import Sandbox

        with Sandbox() as sandbox:
            yield sandbox if whole_sandbox else sandbox.profile
    else:
        yield resolve_profile(args)


def run(args) -> int:
    from ..transfer import TransferBatch, TransferSettings, format_stopped, format_summary, format_timeline, load_scripts
    from ..transfer.regression import clients_for, run_suite, write_junit
    from ..transfer.render import format_check
    from ..transfer.script import DEFAULT_SCRIPT

    # Bad settings and scripts fail before anything (a sandbox) starts.
    scripts = load_scripts(args.script, switch_state=args.switch_state) if args.script else [DEFAULT_SCRIPT]
    settings = TransferSettings(clients=1 if args.clients is None else args.clients, concurrency=args.concurrency,
                                step_timeout=args.step_timeout)
    check_output(args.out, make_folder=True)
    check_output(args.junit, make_folder=True)
    progress = not args.no_progress and sys.stderr.isatty()
    # a script's `sandbox` settings need the Sandbox
    with profile_or_sandbox(args, whole_sandbox=True) as target, writing(args.out or "--out"):
        batches = run_suite(scripts, target, clients=args.clients, concurrency=settings.concurrency,
                            step_timeout=settings.step_timeout, out=args.out, progress=progress)
    never_started = sum(clients_for(s, args.clients) for s in scripts[len(batches):])
    batch = TransferBatch([r for b in batches for r in b], script=", ".join(s.name for s in scripts),
                          interrupted=any(b.interrupted for b in batches), elapsed_s=sum(b.elapsed_s for b in batches),
                          planned=sum(max(b.planned, len(b)) for b in batches) + never_started)
    if args.junit:
        with writing(args.junit):
            write_junit(batches, args.junit)
    summary = batch.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        rows, columns = format_summary(summary)
        print_table(rows, columns)
        failed = [r for r in batch if not r.passed]
        for r in failed[:10]:
            print(f"{r.outcome:<13} {r.chat}  {r.script}  {r.error or ''}")
            for check in r.failed_checks:
                print(format_check(check, indent="    "))
        if len(failed) > 10:
            print(_("… and {n} more failed (see --out FILE.jsonl)").format(n=len(failed) - 10))
        print(_("{n} transfer(s) in {seconds:.2f} s").format(n=len(batch), seconds=batch.elapsed_s)
              + (_("; results in {path}").format(path=args.out) if args.out else "")
              + (_("; JUnit XML in {path}").format(path=args.junit) if args.junit else "")
              + (_(" (stopped early)") if batch.interrupted else ""))
        if batch.interrupted:
            print(format_stopped(summary))
    if args.timeline and len(batch):
        shown = [batch[0]] + [r for r in batch[1:] if not r.passed][:5]
        for r in shown:
            print()
            print(format_timeline(r))
    if batch.interrupted:
        return 130
    return 0 if batch.passed else 1
