"""`jivo-ops record`: run the webhook recorder (optionally as a tap) until Ctrl-C.

The one line that shows the webhook URL with its token is the line the user must paste into Jivo;
every other line (the request log on stderr, the summary) shows paths with the token masked.
"""

from __future__ import annotations

import argparse
import os
import sys

from ._output import add_duration_argument, wait_slices

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "record", help="record Jivo's webhook calls durably (optionally passing them on: tap mode)",
        description="Serve a webhook receiver that stores every request in an SQLite file before answering. "
                    "It prints the URL to paste into Jivo's «URL вашего сервера для Webhooks»: that line is the "
                    "only place the secret token is ever shown (you must paste it); everything else masks it. "
                    "Requests to any other path or token get 404 and are not recorded.")
    p.add_argument("--listen", default="127.0.0.1:8765", metavar="HOST:PORT",
                   help="address to bind (default 127.0.0.1:8765, loopback only; port 0 = a free one)")
    p.add_argument("--store", required=True, metavar="FILE.sqlite",
                   help="the store (created if missing; a restart on the same file keeps everything)")
    p.add_argument("--token", default=os.environ.get("JIVO_OPS_RECORDER_TOKEN"), metavar="T",
                   help="secret path token (default: $JIVO_OPS_RECORDER_TOKEN, else a random one); "
                        "reuse it to keep the same URL across restarts")
    p.add_argument("--forward", metavar="URL",
                   help="tap mode: pass each request on to URL (e.g. JAICP's Internal Webhook Url), record its "
                        "answer too, and answer the caller with the target's status and body")
    p.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                   help="body cap, at least 1 (default 1 MiB) → 413")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="a request's headers must arrive within this (default 10) → 408 and the connection closed")
    p.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="a body must make progress within this (default 10) → 408 and the connection closed")
    p.add_argument("--max-connections", type=int, default=None, metavar="N",
                   help="open connections served at once; more get 503 with Retry-After "
                        "(default: from the file-descriptor limit, 480 for the usual 1,024)")
    p.add_argument("--forward-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="tap mode: the whole forward (connect, answer, body) within this (default 10) → 504")
    p.add_argument("--max-answer", type=int, default=None, metavar="BYTES",
                   help="tap mode: the target's answer is kept up to this (default 1 MiB), the caller gets it all")
    add_duration_argument(p)
    p.add_argument("--quiet", action="store_true", help="do not log each request on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import JivoOpsError
    from ..recorder.exchanges import shown
    from ..recorder.server import DEFAULT_MAX_ANSWER, DEFAULT_MAX_BODY, Recorder
    from ..channel.serving import ServingLimits, parse_listen

    try:
        host, port = parse_listen(args.listen)
        limits = ServingLimits(header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                               max_connections=args.max_connections)
    except ValueError as exc:
        raise JivoOpsError(str(exc)) from None
    recorder = Recorder(args.store, token=args.token, host=host, port=port, forward=args.forward,
                        max_body=DEFAULT_MAX_BODY if args.max_body is None else args.max_body,
                        max_answer=DEFAULT_MAX_ANSWER if args.max_answer is None else args.max_answer,
                        forward_timeout=args.forward_timeout, limits=limits)
    try:
        recorder.start()
    except OSError as exc:
        raise JivoOpsError(f"cannot start the recorder: {exc}") from None
    try:
        exchanges = recorder.exchanges
        start_id = exchanges.last_id()
        # The single place the token is shown: the user has to paste this URL into Jivo.
        print(f"Paste into Jivo «URL вашего сервера для Webhooks»: {recorder.url}")
        if host in ("0.0.0.0", "::"):
            print("(listening on every interface: replace the host with the address Jivo can reach)")
        tap = f", passing each request on to {recorder.forward and _masked(recorder.forward)}" if args.forward else ""
        print(f"recording into {args.store}{tap}; press Ctrl-C to stop", flush=True)
        seen = start_id
        try:
            for left in wait_slices(args.duration, 0.5):
                recorder.store.wait_for_commit(seen, left)
                for exchange in exchanges.query(after_id=seen):
                    seen = exchange.id
                    if not args.quiet:
                        print(shown(exchange.summary()), file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            pass
    finally:
        recorder.stop()  # first: requests still in flight are stored, then counted
    rejected = f", {recorder.rejected} rejected (wrong token or path, not stored)" if recorder.rejected else ""
    print(f"stopped: {recorder.stored} request(s) stored in {args.store} this run{rejected}")
    return 0


def _masked(url: str) -> str:
    from ..redaction import mask_url

    return mask_url(url)
