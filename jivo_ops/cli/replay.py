"""`jivo-ops replay`: re-send recorded requests byte for byte to a URL and show what changed."""

from __future__ import annotations

import argparse

from ._output import add_request_filters, number_argument

__all__ = ["register", "run"]


_timeout = number_argument(float, lambda value: 0 < value <= 600, expected="expected seconds, e.g. 10",
                           out_of_range="expected more than 0 and at most 600 seconds")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "replay", help="re-send recorded webhook requests to a URL, byte for byte",
        description="Re-send requests from a recorder store (same method, body bytes, content type, chunked "
                    "framing; hop-by-hop headers dropped), keep each answer beside the original in the store, "
                    "and print what changed. A target that is not on this machine gets a dry run unless --yes.")
    p.add_argument("store", metavar="STORE", help="recorder store (.sqlite)")
    p.add_argument("--to", required=True, metavar="URL", help="where to send them (the sandbox, or a real "
                                                              "Internal Webhook Url)")
    add_request_filters(p)
    p.add_argument("--id", dest="ids", type=int, action="append", metavar="N", help="only request #N (repeatable)")
    p.add_argument("--status", type=int, metavar="CODE", help="only requests the recorder answered with CODE")
    p.add_argument("--yes", action="store_true", help="really send to a non-loopback target")
    p.add_argument("--timeout", type=_timeout, default=10.0, metavar="SECONDS", help="per request (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import JivoOpsError
    from ..recorder.exchanges import Exchanges

    with Exchanges(args.store) as exchanges:
        chosen = exchanges.query(chat=args.chat, since=args.since, ids=args.ids, status=args.status)
        if not chosen:
            raise JivoOpsError(f"{args.store}: no recorded request matches the filters; nothing to replay "
                               "(loosen --chat, --since, --id or --status)")
        report = exchanges.replay(args.to, chosen, yes=args.yes, timeout=args.timeout)
    print(report)
    return 0 if report.ok else 1
