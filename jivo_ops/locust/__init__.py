"""Transfer scripts as a Locust load test (the ``[load]`` extra: ``pip install 'jivo-ops[load]'``).

`TransferUser` is a Locust `FastHttpUser` that plays transfer scripts with the transfer engine
(`jivo_ops.transfer.conversation`), so a load test means what `run_transfers` means, spread over as
many Locust workers and machines as needed. Every Chat API call is a Locust request (type: the step's
action, name ``script:step``); the hand-over's timings are Locust entries of type ``handover``
("<script>: time to switch", "<script>: operator wait"); an outcome other than answered fails the
"<script>: transfer" entry with its reason.

    jivo-ops load --profile PATH [locust options…]     # or --sandbox; --print-locustfile to adapt one
    python -m jivo_ops.locust [locust options…]        # the same, the profile from $JIVO_OPS_PROFILE

=========  =================================================================================
``user``    `TransferUser`, `LocustChatApi`, `play` (the gevent driver), `report`: Locust only
``launch``  `locustfile_text`, `run_load`: start Locust in its own process (no gevent here)
=========  =================================================================================

Importing this package imports neither locust nor gevent (gevent patches the process it is
imported in); only `TransferUser` and its module do, inside the Locust process.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "TransferUser": "user",
    "LocustChatApi": "user",
    "play": "user",
    "report": "user",
    "HANDOVER": "user",
    "locustfile_text": "launch",
    "run_load": "launch",
    "locust_command": "launch",
}

lazy_exports(globals(), _EXPORTS)
