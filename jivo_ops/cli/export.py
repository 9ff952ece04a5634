"""`jivo-ops export`: recorded requests as curl command lines, a HAR 1.2 file or JSONL."""

from __future__ import annotations

import argparse
import sys

from ..files import check_output
from ._output import add_request_filters

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export recorded webhook requests as curl lines, HAR 1.2 or JSONL",
        description="Write the requests of a recorder store as curl command lines, a HAR 1.2 log (opens in a "
                    "browser's network panel) or JSONL (every byte kept). URLs show the token masked unless "
                    "--reveal.")
    p.add_argument("store", metavar="STORE", help="recorder store (.sqlite)")
    p.add_argument("--format", required=True, choices=["curl", "har", "jsonl"])
    p.add_argument("--out", metavar="FILE", help="write here (mode 0600) instead of stdout")
    p.add_argument("--url", metavar="URL", help="curl/HAR: the URL to aim at (default: the recorder's own)")
    p.add_argument("--token", metavar="T", help="the recorder's token, to put back into its URL with --reveal")
    p.add_argument("--reveal", action="store_true", help="show tokens in URLs (the lines then run as they are)")
    add_request_filters(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recorder.exchanges import Exchanges, export_exchanges
    from ..redaction import register_secret

    if args.url:
        from ..channel.http import check_url

        args.url = check_url(args.url, "--url")
    register_secret(args.url)
    check_output(args.out)
    with Exchanges(args.store) as exchanges:
        chosen = exchanges.query(chat=args.chat, since=args.since)
    text = export_exchanges(chosen, args.format, out=args.out, url=args.url, token=args.token, reveal=args.reveal)
    if args.out:
        print(f"{len(chosen)} request(s) written to {args.out} ({args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
