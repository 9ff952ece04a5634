"""The read-only client of a simulated Jivo's operator-side view (the sandbox's Jivo, a stand-in).

A real Jivo with human operators has none: a profile without ``[jivo] operator_view_url`` gets None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..channel.http import JSON_CONTENT_TYPE, asend
from ..errors import JivoOpsError

__all__ = ["OperatorView", "fetch_operator_view", "REFUSED"]

REFUSED = "JAICP refused the operator's reply"   # a 4xx from the Internal Webhook Url: never resent


@dataclass(frozen=True)
class OperatorView:
    """What the operator of one chat got (None: unknown), and why JAICP did not take an operator's
    reply in it (None: it took them all)."""

    operator_side: Mapping[str, Any] | None = None
    refused: str | None = None


async def fetch_operator_view(client, view_url: str, client_id: str, replies: Sequence[str] = (),
                              *, timeout: float = 5.0) -> OperatorView:
    """Ask the Jivo side what the operator of `client_id`'s chat got; `replies`: the operator texts the
    client received (they pair the chat when JAICP used its own ids toward Jivo). A stand-in that is
    gone (stopped mid-batch) or answers nonsense gives an empty view: the result stays as it was."""
    body = json.dumps({"clientId": client_id, "replies": list(replies)}, ensure_ascii=False).encode("utf-8")
    try:
        response = await asend(client, "POST", view_url, content=body, headers={"Content-Type": JSON_CONTENT_TYPE},
                               what="the operator-side view", timeout=timeout)
        data = response.json()
    except (JivoOpsError, ValueError):
        return OperatorView()
    if not isinstance(data, dict):
        return OperatorView()
    side, refused = data.get("operator_side"), data.get("refused")
    return OperatorView(side if isinstance(side, dict) else None, refused if isinstance(refused, str) else None)
