"""The sandbox: simulated JAICP and Jivo on loopback, the embedded default of every notebook and command.

Nobody can open a JAICP or Jivo account from a fresh machine; the sandbox lets you rehearse a setup
or reproduce a bug offline. ``with Sandbox() as sb:`` starts both services, each on its own uvicorn
server on a free port of 127.0.0.1, wired as the seed's four steps wire them; ``sb.profile`` points
the rest of jivo_ops at it. Also a pytest fixture (``sandbox``, with ``@pytest.mark.sandbox(**settings)``)
and the command ``jivo-ops sandbox``.

What it serves (URL shapes as the real services'):

JAICP (``sb.jaicp_url``)
    ``POST|GET /chatapi/<8 alnum>:<40 hex>`` — Chat API (``{clientId, query}`` / ``{clientId, event, data}``);
    ``…/events?clientId=&ts=[&timeout=]`` long poll; ``…/async``;
    ``POST /chatadapter/chatapi/webhook/jivosite/<token>`` — the operator channel's Internal Webhook Url;
    ``/api/v1/reporter/messages/by-client|by-session`` (GET), ``/messages/filter``, ``/sessions/filter``
    (POST), ``/stats/switched-sessions`` with ``Authorization: Bearer <reporter_token>``, or the same under
    ``/api/reporter/p/<reporter_token>`` without the header; ``by-client`` requires ``botId``.
Jivo (``sb.jivo_url``)
    ``POST /<16 alnum>/<10 alnum>`` — the «Уникальный URL» (client messages), ``GET …/status`` → ``1``/``0``.

The default scenario: ``/start`` → a greeting; any text with «оператор»/"operator" → a text reply and
a ``switch`` (``closeChatPhrases: ["/closeChat"]``, ``firstMessage`` = the chat history). With nobody
online the bot answers ``noLivechatOperatorsOnline``; otherwise JAICP checks Jivo's ``/status``, opens
a live chat and forwards ``firstMessage`` and each client message to the External API Endpoint; the
operators (echo, scripted or silent; optional photos and agent-side close) answer through the Jivo
channel's webhook URL, chunked or with Content-Length; JAICP relays their messages to ``/events``.
A close phrase or an agent-side close ends the live chat (``livechatFinished``).

Admin API (what the two consoles' forms do; also Python methods on `Sandbox`):

=================================  =====================================================================
JAICP ``GET /admin/state``          wiring, Reporter token, switch fields, clients
JAICP ``POST /admin/operator-channel``  ``{"name"}`` (step 1) and/or ``{"externalApiEndpoint"}`` (step 3)
JAICP ``POST /admin/inbound-channel``   ``{"operator": "Jivo"}`` — the inbound channel's «Оператор»
JAICP ``POST /admin/scenario``      ``{"switch": {...}}`` — step 4, the switch reply's fields
Jivo ``POST /admin/channel``        ``{"name", "webhookUrl", "chunked"}`` (step 2) → ``uniqueUrl``
Jivo ``POST /admin/operators``      ``{"online": bool, "name"?}``
Jivo ``POST /admin/say``            ``{"clientId", "text" | "type"+"file", "operator"?}`` — an operator writes
Jivo ``POST /admin/close``          ``{"clientId"}`` — agent-side close
both ``POST /admin/settings``       any `SandboxSettings` fields
=================================  =====================================================================

The admin API has no authentication: the sandbox binds 127.0.0.1 unless told otherwise.
`sb.history` records everything both sides saw — every message, HTTP attempt, fault, and every
message that went nowhere (kind ``dropped``, with the reason) — safe to read from any thread.
"""

from __future__ import annotations

from ._common import History, HistoryEntry
from .runner import Sandbox
from .settings import SandboxSettings
from .standin import StandIn

__all__ = ["Sandbox", "SandboxSettings", "StandIn", "History", "HistoryEntry"]
