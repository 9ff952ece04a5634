"""`jivo-ops probe jivo|jaicp`: test one leg of the integration and say what to check next.

    jivo-ops probe jivo  [--profile PATH | --sandbox] [--recorder STORE] [--timeout S]
    jivo-ops probe jaicp [--profile PATH | --sandbox] [--client-id ID] [--switch-first] [--no-chunked]

With `--sandbox`, the Jivo leg puts a webhook recorder (tap mode, forwarding to JAICP) into the
sandbox Jivo channel's «URL вашего сервера для Webhooks», so the operator's reply is seen coming back.
Exit 0 when the leg works, 1 when it does not (the last line says what to check).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..errors import JivoOpsError
from ._output import add_profile_argument, resolve_profile

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe", help="test one leg: jivo (JAICP → Jivo → webhook) or jaicp (Jivo → JAICP → client)",
        description="jivo: act as JAICP — Jivo /status, a client message to «Уникальный URL», and with --recorder "
                    "wait for the operator's reply there. jaicp: act as Jivo — post an agent message to «Internal "
                    "Webhook Url» and watch it reach the client on the Chat API /events.")
    parser.add_argument("leg", choices=("jivo", "jaicp"), help="which leg to probe")
    add_profile_argument(parser, sandbox=True)
    parser.add_argument("--client-id", metavar="ID", help="the client id to use (default: a fresh probe id)")
    parser.add_argument("--text", metavar="T", help="the message text to send")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the reply (default: jivo 30, jaicp 15)")
    parser.add_argument("--recorder", metavar="STORE",
                        help="jivo: a webhook recorder store (SQLite) to watch for the operator's reply")
    parser.add_argument("--switch-first", action="store_true",
                        help="jaicp: open a live chat for the client first (ask the bot for an operator)")
    parser.add_argument("--no-chunked", action="store_true",
                        help="jaicp: post with Content-Length instead of chunked")
    parser.add_argument("--json", action="store_true", help="print the probe result as JSON")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _target(args):
    """(profile, recorder store or None) for this run; a sandbox (and its recorder tap) when asked."""
    if args.sandbox and args.profile:
        raise JivoOpsError("--profile and --sandbox exclude each other: pick one")
    if not args.sandbox:
        yield resolve_profile(args), args.recorder
        return
    from ..sandbox import Sandbox

    with Sandbox() as sandbox, contextlib.ExitStack() as stack:
        store = args.recorder
        if args.leg == "jivo" and store is None:
            import tempfile

            from ..recorder.server import Recorder

            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="jivo-ops-probe-"))
            store = str(Path(folder) / "webhook.sqlite")
            recorder = stack.enter_context(Recorder(store, forward=sandbox.jaicp.internal_webhook_url))
            sandbox.configure_step(2, webhook_url=recorder.url)
        yield sandbox.profile, store


def run(args) -> int:
    from ..setup.probes import format_probe, probe_jaicp_leg, probe_jivo_leg

    if args.timeout is not None and args.timeout <= 0:
        raise JivoOpsError(f"--timeout {args.timeout}: must be > 0 seconds")
    with _target(args) as (profile, store):
        options = {"client_id": args.client_id, "text": args.text}
        if args.timeout is not None:
            options["timeout"] = args.timeout
        if args.leg == "jivo":
            result = probe_jivo_leg(profile, recorder=store, **options)
        else:
            result = probe_jaicp_leg(profile, switch_first=args.switch_first,
                                     chunked=False if args.no_chunked else None, **options)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_probe(result))
    return 0 if result.ok else 1
