"""`jivo-ops diagnose`: «Что сломалось?» — every check of the hand-over in order, one verdict.

    jivo-ops diagnose [--profile PATH | --sandbox] [--timeout S] [--json]

Prints the verdict (which half, the console and field, the fix, why) and each step's evidence.
Exit 0 when nothing is broken, 1 when something is (the verdict says what), 2 when the diagnosis
could not run (a profile that cannot be read: one line on stderr, from `jivo_ops.cli.main`).
"""

from __future__ import annotations

from ._output import add_profile_argument, positive_seconds, print_json
from .transfer import profile_or_sandbox

__all__ = ["register", "run"]

def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diagnose", help="«Что сломалось?»: checks, probes, both legs and a test transfer — one verdict",
        description="Run the setup checks, the live probes, the Jivo and JAICP leg probes and one test transfer, "
                    "stopping where nothing more can be learnt, and name the broken half, the console field and "
                    "the fix. Exit 0 healthy, 1 broken, 2 could not run.")
    add_profile_argument(parser, sandbox=True)
    parser.add_argument("--timeout", type=positive_seconds, default=10.0, metavar="S",
                        help="time limit of each probe and each transfer step (default: 10)")
    parser.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..setup.diagnose import diagnose

    with profile_or_sandbox(args) as profile:
        diagnosis = diagnose(profile, timeout=args.timeout, step_timeout=args.timeout)
    if args.json:
        print_json(diagnosis.to_json())
    else:
        print(diagnosis.render())
    return diagnosis.exit_code
