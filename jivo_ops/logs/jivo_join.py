"""The join: a JAICP session and the Jivo chat it was handed to become one conversation.

Jivo's Webhooks API rows (``source`` = ``webhooks``, ``session`` = ``jivo:<chat_id>``) are put
under the JAICP chat they belong to, so `transfers()` sees JAICP's switch and Jivo's accept, the
operator's messages and the rating in one segment. Two rules, in this order:

``id``   — the event's ``user_token`` is the JAICP client id (``chat``): the loader already used
           it as ``chat``. Exact when Jivo sends it; whether Jivo fills ``user_token`` with the
           Chat API channel's ``sender.id`` is a [guess] (the docs say only "the visitor's id if
           it was set with ``jivo_api.setUserToken``").
``text`` — no ``user_token``: the Jivo chat's first visitor message equals (trimmed, case-folded)
           a JAICP switch's ``firstMessage`` and came within ``[-5 s, +60 s]`` of the switch, and
           that is the only such pair on both sides. A heuristic: two clients who write the same
           words within the same minute stay unpaired rather than risk a wrong pair.

A Jivo chat no rule pairs keeps ``chat`` = ``jivo:<chat_id>``: it is listed, never dropped.
:func:`pair_jivo_chats` returns the pairs it found: ``jivo_chat``, ``chat``, ``rule``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import STRING_DTYPE
from .sources.jivo_webhooks import JIVO_SESSION_PREFIX

__all__ = ["pair_jivo_chats", "empty_pairs", "PAIR_RULES", "TEXT_WINDOW"]

PAIR_RULES = ("id", "text")
TEXT_WINDOW = (pd.Timedelta(seconds=-5), pd.Timedelta(seconds=60))  # Jivo's first message − switch


def empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=STRING_DTYPE) for c in ("jivo_chat", "chat", "rule")})


def _norm(s: pd.Series) -> pd.Series:
    return s.astype(STRING_DTYPE).str.strip().str.casefold()


def pair_jivo_chats(m: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(messages with paired Jivo rows moved under their JAICP chat, the pairs)."""
    hooks = (m["source"] == "webhooks").to_numpy(dtype=bool, na_value=False)
    if not hooks.any():
        return m, empty_pairs()
    jaicp = m[~hooks]
    switches = jaicp[jaicp["kind"] == "switch"]
    switch_chats = set(switches["chat"].dropna())
    j = m[hooks]
    by_id = j[j["chat"].isin(switch_chats)].drop_duplicates("session")
    pairs = [pd.DataFrame({"jivo_chat": by_id["session"], "chat": by_id["chat"], "rule": "id"})]
    loose = j[j["chat"].str.startswith(JIVO_SESSION_PREFIX, na=False) & (j["author"] == "CLIENT")]
    if len(loose) and len(switches):
        first = loose.sort_values("ts", kind="stable").drop_duplicates("session")
        first = pd.DataFrame({"jivo_chat": first["session"], "key": _norm(first["text"]), "jivo_ts": first["ts"]})
        taken = set(by_id["chat"])
        sw = switches[~switches["chat"].isin(taken)]
        sw = pd.DataFrame({"chat": sw["chat"], "key": _norm(sw["text"]), "switched_at": sw["ts"]})
        cand = first.dropna(subset=["key"]).merge(sw.dropna(subset=["key"]), on="key")
        lag = cand["jivo_ts"] - cand["switched_at"]
        cand = cand[(lag >= TEXT_WINDOW[0]) & (lag <= TEXT_WINDOW[1])]
        unique = ~cand["jivo_chat"].duplicated(keep=False) & ~cand["chat"].duplicated(keep=False)
        cand = cand[unique]
        if len(cand):
            pairs.append(pd.DataFrame({"jivo_chat": cand["jivo_chat"], "chat": cand["chat"], "rule": "text"}))
            new_chat = dict(zip(cand["jivo_chat"], cand["chat"]))
            moved = np.flatnonzero(hooks)[j["session"].isin(list(new_chat)).to_numpy(dtype=bool, na_value=False)]
            m = m.copy()
            chat = m["chat"].to_numpy(dtype=object, na_value=None)
            chat[moved] = m["session"].iloc[moved].map(new_chat).to_numpy(dtype=object)
            m["chat"] = pd.array(chat, dtype=STRING_DTYPE)
    out = pd.concat(pairs, ignore_index=True).astype(STRING_DTYPE)
    return m, out.sort_values("jivo_chat").reset_index(drop=True)
