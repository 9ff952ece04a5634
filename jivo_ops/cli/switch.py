"""`jivo-ops switch`: build the scenario's `switch` reply from flags, as JSON or as the JS snippet.

Only the flags given end up in the reply (with `"type": "switch"`); Cyrillic is printed as is;
warnings (fields Jivo ignores, settings without effect) go to stderr, the reply alone to stdout,
so `jivo-ops switch ... > reply.json` stays clean. The flags' text is read by
`SwitchReply.from_form`, the same reading as the SwitchBuilder widget's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._output import print_json

__all__ = ["register", "run", "form_from_args"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "switch", help="build a `switch` reply (JSON or the scenario's JS snippet)",
        description="Build the `switch` reply that hands a chat from the bot to a live Jivo operator. "
                    "Only the fields you set are emitted; warnings go to stderr.")
    parser.add_argument("--first-message", metavar="T", help="firstMessage: what the operator sees first "
                        "(default: the client's last phrase)")
    parser.add_argument("--last-message", metavar="T", help="lastMessage: sent when the chat is closed "
                        "with a close phrase")
    parser.add_argument("--close-phrase", metavar="P", action="append", default=[],
                        help="closeChatPhrases: a client command that ends the live chat (repeatable)")
    parser.add_argument("--append-close-button", action="store_true",
                        help="appendCloseChatButton: show a button titled with the first close phrase")
    parser.add_argument("--ignore-offline", action="store_true", help="ignoreOffline: transfer even if "
                        "no operator is online")
    parser.add_argument("--one-time", action="store_true", help="oneTimeMessage: send firstMessage to "
                        "the operator without transferring")
    parser.add_argument("--destination", metavar="D", help="destination: agent group (ignored by Jivo)")
    parser.add_argument("--theme", metavar="T", help="theme: request subject (ignored by Jivo)")
    parser.add_argument("--history", metavar="N", help="send the last N client messages "
                        "(sendMessagesToOperator: true, sendMessageHistoryAmount: N)")
    parser.add_argument("--attr", metavar="K=V", action="append", default=[],
                        help="attributes: client info shown to the agent (repeatable)")
    parser.add_argument("--hidden-attr", metavar="K=V", action="append", default=[],
                        help="hiddenAttributes: like --attr, hidden from the agent (repeatable)")
    parser.add_argument("--custom-data", metavar="JSON", help="customData: any JSON value")
    parser.add_argument("--format", choices=("json", "js"), default="json",
                        help="json: the reply object; js: the $response.replies.push(...) snippet")
    parser.set_defaults(func=run)


def form_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as typed, by `SwitchReply` field name (what `SwitchReply.from_form` reads).
    --history N stands for two fields: sendMessagesToOperator true and the amount N."""
    return {
        "first_message": args.first_message,
        "last_message": args.last_message,
        "close_chat_phrases": args.close_phrase,
        "append_close_chat_button": args.append_close_button,
        "ignore_offline": args.ignore_offline,
        "one_time_message": args.one_time,
        "destination": args.destination,
        "theme": args.theme,
        "send_messages_to_operator": args.history is not None,
        "send_message_history_amount": args.history,
        "attributes": args.attr,
        "hidden_attributes": args.hidden_attr,
        "custom_data": args.custom_data,
    }


def run(args: argparse.Namespace) -> int:
    from ..channel.switch import SwitchReply

    reply, warnings = SwitchReply.from_form(**form_from_args(args))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "js":
        print(reply.to_js())
    else:
        print_json(reply.to_json())
    return 0
