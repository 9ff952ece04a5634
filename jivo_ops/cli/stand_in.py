"""`jivo-ops stand-in`: jivo_ops's own Jivo operators for a test operator channel of a live bot.

    jivo-ops stand-in --webhook <Internal Webhook Url> [--listen HOST:PORT] [--public-url URL]
        [--operators N] [--think-time S] [--reply-mode echo|script|silent] [--offline] [--no-chunked]
        [--store FILE.sqlite] [--profile PATH] [--profile-out PATH] [--duration S]

Prints the «Уникальный URL» to paste into the test channel's «External API Endpoint» (masked), and
writes the stand-in's state into ``--profile`` (kept otherwise as it was) or a fresh ``--profile-out``.
"""

from __future__ import annotations

import argparse

from ._output import add_duration_argument, number_argument, serve_until_stopped

__all__ = ["register", "run"]

REPLY_MODES = ("echo", "script", "silent")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "stand-in", help="answer a test operator channel of a live bot with simulated Jivo operators",
        description="Serve a Jivo Chat API channel (a secret «Уникальный URL» and its /status) whose operators "
                    "answer through the test operator channel's Internal Webhook Url, so transfers of a live "
                    "bot run with nobody at the Jivo console. Both directions go into a recorder store.")
    p.add_argument("--webhook", metavar="URL",
                   help="the test operator channel's «Internal Webhook Url» (default: the profile's "
                        "[stand_in] webhook_url, else [jaicp] internal_webhook_url)")
    p.add_argument("--listen", metavar="HOST:PORT", help="address to serve (default 127.0.0.1:8765)")
    p.add_argument("--public-url", metavar="URL",
                   help="the address JAICP's cloud reaches (your tunnel); the «Уникальный URL» starts with it")
    p.add_argument("--operators", type=number_argument(int, lambda n: 0 <= n <= 1000, expected="a whole number",
                                                       out_of_range="must be 0–1000"),
                   metavar="N", help="simulated operators (default 2)")
    p.add_argument("--think-time", type=number_argument(float, lambda s: 0 <= s <= 600, expected="seconds",
                                                        out_of_range="must be 0–600 seconds"),
                   metavar="S", help="each operator's delay before answering (default 0)")
    p.add_argument("--reply-mode", choices=REPLY_MODES, help="echo (default), script or silent")
    p.add_argument("--offline", action="store_true", help="every operator offline: /status answers 0")
    p.add_argument("--no-chunked", action="store_true", help="post to the webhook with Content-Length")
    p.add_argument("--store", metavar="FILE.sqlite", help="recorder store (default: beside the profile)")
    p.add_argument("--profile", metavar="PATH",
                   help="read the [stand_in] settings from this profile and write the stand-in's state back (0600)")
    p.add_argument("--profile-out", metavar="PATH", help="write a fresh profile for this stand-in (0600)")
    add_duration_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import JivoOpsError
    from ..files import check_output, writing
    from ..profile import load_profile, save_profile
    from ..redaction import mask_url
    from ..sandbox.standin import LOOPBACK_HOSTS, StandIn

    if args.profile and args.profile_out:
        raise JivoOpsError("--profile and --profile-out exclude each other: --profile writes back into its file")
    base = load_profile(args.profile) if args.profile else None
    check_output(args.profile_out, make_folder=True)  # before anything starts, as `sandbox --profile-out`
    stand_in = StandIn.from_profile(
        base, profile_path=args.profile or args.profile_out, webhook_url=args.webhook, listen=args.listen,
        public_url=args.public_url, store=args.store, operators=args.operators, think_time=args.think_time,
        reply_mode=args.reply_mode, online=not args.offline, chunked=not args.no_chunked)
    store = stand_in.store_path
    with stand_in:
        print(f"stand-in: «Уникальный URL» {mask_url(stand_in.unique_url)} "
              f"({len(stand_in.operators)} operator(s), {'offline' if args.offline else 'online'})")
        if not stand_in.public_url and stand_in.host in LOOPBACK_HOSTS:
            print("  this is a local address: JAICP's cloud cannot reach it; expose the port through a tunnel "
                  "and pass --public-url")
        print(f"  webhook: {mask_url(stand_in.webhook_url) or '(none)'}; control (this machine only): "
              f"{stand_in.control_url}")
        if store:
            print(f"  recording both directions into {store}")
        target = args.profile or args.profile_out
        if target:
            with writing(target):
                path = save_profile(stand_in.profile_for(base), target)
            print(f"  profile written to {path} (mode 0600): paste its [stand_in] unique_url into "
                  "«External API Endpoint»")
        else:
            print("  the URL is masked here; pass --profile-out PATH to get it in a file")
        serve_until_stopped(args.duration)
    return 0
