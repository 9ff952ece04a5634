"""`jivo-ops jivo status|send URL`: talk to a Jivo Chat API channel as JAICP would.

`status` prints `1 online` or `0 offline`. Without URL, the profile's `[jivo] unique_url` is used. `send` posts one client text message with Jivo's retry
rule (5xx / connection errors resent up to 3 times, `--retry-wait` seconds apart; a 4xx is never
resent: its reason goes to stderr and the exit code is non-zero). The URL is a secret: it is
registered for redaction and shown masked only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from ..redaction import mask_url, register_secret
from ._output import OperationDefault, add_profile_argument, number_argument, resolve_profile

__all__ = ["register", "run"]


_seconds = number_argument(float, lambda value: 0 <= value <= 600, expected="expected seconds, e.g. 3",
                           out_of_range="expected 0–600 seconds (Jivo's docs say 3–60)")


def _timeout(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a timeout must be more than 0 seconds")
    return value


_retries = number_argument(int, lambda value: 0 <= value <= 3, expected="expected a whole number",
                           out_of_range="Jivo's docs allow 0–3 resends")


def _add_retry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retry-wait", metavar="SECONDS", type=_seconds, default=OperationDefault("..channel.http", "RetryPolicy", "wait"),
                        help="wait between resends after 5xx or connection errors (default %(default)s)")
    parser.add_argument("--retries", metavar="N", type=_retries, default=OperationDefault("..channel.http", "RetryPolicy", "retries"),
                        help="resends after 5xx or connection errors, never after 4xx (default %(default)s)")
    parser.add_argument("--timeout", metavar="SECONDS", type=_timeout, default=10.0,
                        help="per-request timeout (default %(default)s)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("jivo", help="Jivo Chat API channel: status, send a client message",
                                   description="Talk to Jivo's «Уникальный URL» as JAICP would.")
    sub = parser.add_subparsers(dest="jivo_command", metavar="ACTION")
    sub.required = True

    status = sub.add_parser("status", help="is any operator online? prints `1 online` or `0 offline`")
    status.add_argument("url", metavar="URL", nargs="?",
                        help="the channel's «Уникальный URL» (default: the profile's [jivo] unique_url)")
    add_profile_argument(status)
    _add_retry_arguments(status)
    status.set_defaults(func=run_status)

    send = sub.add_parser("send", help="send one client text message")
    send.add_argument("url", metavar="URL", nargs="?",
                      help="the channel's «Уникальный URL» (default: the profile's [jivo] unique_url)")
    add_profile_argument(send)
    send.add_argument("--client-id", metavar="ID", required=True, help="sender.id: the client's id in your system")
    send.add_argument("--name", metavar="N", help="sender.name shown to the operator")
    send.add_argument("--text", metavar="T", required=True, help="the message text")
    _add_retry_arguments(send)
    send.set_defaults(func=run_send)
    parser.set_defaults(func=run)


def _client(args: argparse.Namespace):
    from ..channel.http import RetryPolicy
    from ..channel.jivo import JivoClient

    url = args.url
    if url is None:
        url = resolve_profile(args).require("jivo.unique_url")
    register_secret(url)
    return JivoClient(url, retry=RetryPolicy(retries=args.retries, wait=args.retry_wait), timeout=args.timeout)


@contextlib.contextmanager
def _saying_retries():
    """Each resend is announced on stderr before its wait (the HTTP seam logs it at INFO): a dead URL
    does not look like a hung command."""
    from ..channel.http import log as logger

    if logger.isEnabledFor(logging.INFO):  # -v: the log already says it
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("jivo-ops: %(message)s (Ctrl-C stops)"))
    handler.setLevel(logging.INFO)
    handler.addFilter(lambda record: record.levelno == logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def run_status(args: argparse.Namespace) -> int:
    with _client(args) as jivo, _saying_retries():
        online = jivo.status()
    print("1 online" if online else "0 offline")
    return 0


def run_send(args: argparse.Namespace) -> int:
    with _client(args) as jivo:
        message_id = jivo.send_text(args.client_id, args.text, name=args.name)
    print(f"sent message {message_id} to {mask_url(jivo.unique_url)}")
    return 0


def run(args: argparse.Namespace) -> int:  # only reached if argparse lets no action through
    return run_status(args) if args.jivo_command == "status" else run_send(args)
