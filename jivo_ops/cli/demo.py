"""`jivo-ops demo`: the headless main job (what `make demo` runs).

Starts a sandbox (simulated JAICP + Jivo on 127.0.0.1), runs one switch conversation through it,
prints its timeline, then a small batch and its summary. No accounts needed.
"""

from __future__ import annotations

from ._output import print_table

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run a switch conversation on a sandbox and print its timeline (no accounts needed)",
        description="Start a sandbox, send one test transfer, print its timeline and a small batch summary.")
    parser.add_argument("--clients", type=int, default=5, metavar="N",
                        help="size of the small batch after the first conversation (0: none; default 5)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..errors import JivoOpsError
    from ..sandbox import Sandbox
    from ..transfer import format_summary, format_timeline, run_transfer, run_transfers

    if args.clients < 0:
        raise JivoOpsError(f"--clients {args.clients}: must be 0 or more")
    with Sandbox() as sandbox:
        print("Sandbox up: simulated JAICP and Jivo on 127.0.0.1 (tokens masked):")
        for table, values in sandbox.profile.masked().items():
            for key in ("chat_api_url", "internal_webhook_url", "external_api_endpoint", "webhook_url", "unique_url"):
                if key in values:
                    print(f"  [{table}] {key} = {values[key]}")
        print()
        print("One switch conversation:")
        first = run_transfer(sandbox, step_timeout=10.0)
        print(format_timeline(first))
        ok = first.outcome == "answered"
        if args.clients:
            print()
            print(f"A batch of {args.clients} transfers:")
            batch = run_transfers(sandbox, clients=args.clients, concurrency=min(args.clients, 10), progress=False)
            rows, columns = format_summary(batch.summary())
            print_table(rows, columns)
            ok = ok and batch.all_answered
    return 0 if ok else 1
