"""`jivo-ops load`: a Locust load test of the hand-over, transfer scripts played by Locust users.

    jivo-ops load [--profile PATH | --sandbox] [--script FILE] [--step-timeout S] [locust options…]
    jivo-ops load --print-locustfile

Every option this command does not know goes to Locust unchanged (``--headless -u 100 -r 10``,
``--master``, ``--worker``, ``--expect-workers N``, ``--csv PREFIX``, ``--transfers-per-user N``…);
without ``--headless`` Locust's web UI starts. The exit code is Locust's.
"""

from __future__ import annotations

from ..errors import JivoOpsError
from ._output import add_profile_argument

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "load", help="load-test the hand-over with Locust (the [load] extra): many clients, many machines",
        description="Start Locust with a generated locustfile whose users play transfer scripts (the same engine "
                    "as `jivo-ops transfer`). Options this command does not know are Locust's and pass through "
                    "unchanged, e.g. --headless -u 100 -r 10 --transfers-per-user 5 --csv results/load, "
                    "--master / --worker / --expect-workers N. Locust's own --profile is shadowed by ours.",
        allow_abbrev=False)
    add_profile_argument(p, sandbox=True)
    p.add_argument("--script", metavar="FILE", help="a JSON or TOML script (default: the built-in one)")
    p.add_argument("--step-timeout", type=float, default=10.0, metavar="S",
                   help="seconds each step may take, incl. waiting for the operator (default 10)")
    p.add_argument("--print-locustfile", action="store_true", help="print the locustfile to adapt, and exit")
    p.set_defaults(func=run, pass_through=[])


def run(args) -> int:
    from ..locust.launch import locustfile_text, run_load

    if args.print_locustfile:
        print(locustfile_text(profile=args.profile, script=args.script, step_timeout=args.step_timeout), end="")
        return 0
    if args.sandbox and args.profile:
        raise JivoOpsError("--profile and --sandbox exclude each other: pick one")
    if not args.step_timeout > 0:
        raise JivoOpsError("--step-timeout must be more than 0 seconds")
    return run_load(args.profile, args.pass_through, script=args.script, step_timeout=args.step_timeout,
                    sandbox=args.sandbox)
