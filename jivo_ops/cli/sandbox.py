"""`jivo-ops sandbox`: run the simulated JAICP and Jivo on loopback until interrupted.

Prints the profile that points at it (masked: the terminal is no place for tokens) and writes the
real one, 0600, to ``--profile-out`` for the other commands (``--profile PATH``).
"""

from __future__ import annotations

import argparse
import sys

from ..files import check_output, writing
from ._output import add_duration_argument, print_table, serve_until_stopped

__all__ = ["register", "run", "demo_transfer"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sandbox", help="run simulated JAICP + Jivo on 127.0.0.1 (no accounts needed)",
        description="Serve a simulated JAICP (Chat API, Jivo operator channel, Reporter API) and a simulated "
                    "Jivo (Chat API channel with operators) until Ctrl-C, and print the profile that points at them.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=0, help="JAICP side's port (default: a free one); Jivo uses "
                                                        "PORT+1 when free")
    p.add_argument("--operators", type=int, default=2, metavar="N", help="simulated Jivo operators (default 2)")
    p.add_argument("--offline", action="store_true", help="start with every operator offline")
    p.add_argument("--no-chunked", action="store_true", help="Jivo posts to the webhook with Content-Length")
    p.add_argument("--jaicp-only", action="store_true",
                   help="serve only the simulated JAICP, to wire to a `jivo-ops stand-in` as a user wires the real one")
    p.add_argument("--unconfigured", action="store_true",
                   help="start unwired: External API Endpoint, Jivo webhook URL and inbound link empty")
    p.add_argument("--think-time", type=float, default=0.0, metavar="SECONDS", help="operators' delay")
    p.add_argument("--seed", type=int, default=None, help="seed for injected faults")
    p.add_argument("--profile-out", metavar="PATH", help="write the real profile here (file mode 0600)")
    add_duration_argument(p)
    p.add_argument("--demo", action="store_true",
                   help="send one test transfer through it, print its timeline and exit (1 unless answered)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import JivoOpsError
    from ..sandbox import Sandbox

    if args.operators < 0:
        raise JivoOpsError("--operators must be 0 or more")
    if args.port and not 0 < args.port < 65535:
        raise JivoOpsError("--port must be 1–65534 (the Jivo side takes PORT+1)")
    settings = {"operators": args.operators, "online": not args.offline, "configured": not args.unconfigured,
                "think_time": args.think_time, "seed": args.seed}
    if args.no_chunked:
        settings["chunked"] = False
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}: the sandbox's /admin API has no authentication; "
              "anyone who can reach this address can rewire it", file=sys.stderr)
    check_output(args.profile_out, make_folder=True)
    try:
        sb = Sandbox(host=args.host, port=args.port, jivo=not args.jaicp_only, **settings).start()
    except OSError as exc:
        raise JivoOpsError(f"cannot start the sandbox: {exc}") from None
    try:
        profile = sb.profile
        rows = [(f"[{table}]", key, "" if value is None else value)
                for table, values in profile.masked().items() for key, value in values.items()]
        jivo = f"Jivo on {sb.jivo_url}" if sb.serves_jivo else "no Jivo (wire a stand-in to its Internal Webhook Url)"
        print(f"sandbox: JAICP on {sb.jaicp_url}, {jivo}"
              f"{'' if sb.settings.configured else ' (unconfigured: walk the four setup steps)'}")
        print_table(rows, ["table", "key", "value"])
        if args.profile_out:
            from ..profile import save_profile

            with writing(args.profile_out):
                path = save_profile(profile, args.profile_out)
            print(f"profile written to {path} (mode 0600); use it with --profile {path}")
        else:
            print("tokens are masked here; pass --profile-out PATH to get a usable profile file")
        sys.stdout.flush()
        if args.demo:
            result, shown = demo_transfer(sb)
            print()
            print(shown)
            return 0 if result.outcome == "answered" else 1
        serve_until_stopped(args.duration)
        return 0
    finally:
        sb.stop()


def demo_transfer(sb, step_timeout: float = 10.0):
    """One test transfer on a running sandbox, by `run_transfer` (the operation a user runs): its
    result, and the text to show — its timeline, then the sandbox's own log of that chat."""
    from ..transfer import format_timeline, run_transfer

    result = run_transfer(sb, step_timeout=step_timeout)
    return result, f"{format_timeline(result)}\n\nthe sandbox saw:\n{sb.timeline(result.chat)}"
