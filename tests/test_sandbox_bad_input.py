"""Seeded random bodies at every sandbox endpoint: always an answer below 500, and the servers keep serving."""

from __future__ import annotations

import json
import random

import httpx

from jivo_ops.sandbox import Sandbox

KEYS = ["sender", "message", "id", "type", "text", "recipient", "clientId", "query", "event", "data", "filters",
        "key", "from", "to", "option", "values", "name", "webhookUrl", "chunked", "online", "operator",
        "externalApiEndpoint", "switch", "greeting", "operators", "file"]


def random_json(rng: random.Random, depth: int = 0):
    makers = [lambda: None, lambda: True, lambda: rng.randint(-5, 10 ** 20), lambda: "строка", lambda: 1.5,
              lambda: [random_json(rng, depth + 1) for _ in range(2)],
              lambda: {k: random_json(rng, depth + 1) for k in rng.sample(KEYS, 3)},
              lambda: {"filters": [{"key": rng.choice(["MESSAGE_TIME", "CLIENT_ID", "IS_LIVECHAT"]),
                                    "from": random_json(rng, depth + 1), "values": random_json(rng, depth + 1),
                                    "option": random_json(rng, depth + 1)}]}]
    return makers[rng.randrange(len(makers) if depth < 3 else 5)]()


def test_random_bodies_never_get_a_5xx():
    rng = random.Random(20261125)
    failures, tried = [], 0
    with Sandbox() as sb, httpx.Client(timeout=10) as http:
        p = sb.profile
        auth = {"Authorization": "Bearer " + p.jaicp.reporter_token}
        targets = [(p.jaicp.chat_api_url, {}), (p.jaicp.chat_api_url + "/async", {}),
                   (p.jaicp.internal_webhook_url, {}), (p.jivo.unique_url, {}),
                   (p.jaicp.reporter_url + "/messages/filter", auth), (p.jaicp.reporter_url + "/sessions/filter", auth),
                   *[(sb.jaicp_url + "/admin/" + a, {}) for a in ("operator-channel", "inbound-channel", "scenario")],
                   *[(sb.jivo_url + "/admin/" + a, {}) for a in ("channel", "operators", "say", "close")]]
        for _ in range(300):
            url, headers = rng.choice(targets)
            if rng.random() < 0.2:
                body = bytes(rng.randrange(256) for _ in range(rng.randrange(30)))
            else:
                body = json.dumps(random_json(rng), ensure_ascii=rng.random() < 0.5).encode()
            r = http.post(url, content=body, headers={**headers, "Content-Type": "application/json"})
            tried += 1
            if r.status_code >= 500:
                failures.append((url.rsplit("/", 1)[-1][:12], body[:120], r.status_code, r.text[:120]))
        for params in ({"clientId": "a", "ts": "1e5"}, {"clientId": "a", "timeout": "nan"},
                       {"clientId": "a", "timeout": "-1"}):
            r = http.get(p.jaicp.chat_api_url + "/events", params=params)
            tried += 1
            assert r.status_code < 500
        for params in ({"clientId": "a", "page": "-1"}, {"clientId": "a", "size": "x"}, {"clientId": "a", "sort": "up"},
                       {"clientId": "a", "endTime": "2020-13-01"}, {}, {"clientId": "a", "botId": ""}):
            params = {"botId": p.jaicp.bot_id, **params}
            r = http.get(p.jaicp.reporter_url + "/messages/by-client", params=params, headers=auth)
            tried += 1
            assert 400 <= r.status_code < 500
        # still serving
        assert http.post(p.jaicp.chat_api_url, json={"clientId": "after", "query": "/start"}).status_code == 200
        assert http.get(p.jivo.unique_url + "/status").status_code == 200
    print(f"{tried} bad-input cases tried")
    assert not failures, failures[:5]


def test_admin_settings_reject_wrong_types_and_bounds():
    with Sandbox() as sb, httpx.Client(timeout=10) as http:
        for bad in ({"operators": 10 ** 20}, {"greeting": 5}, {"think_time": "slow"}, {"nope": 1},
                    {"jivo_error_rate": 2}, {"reply_mode": "shout"}, {"switch_fields": 5}):
            for base in (sb.jaicp_url, sb.jivo_url):
                r = http.post(base + "/admin/settings", json=bad)
                assert r.status_code == 400, (bad, r.text)
        assert http.post(sb.jaicp_url + "/admin/settings", json={"think_time": 0.01}).status_code == 200
        assert sb.settings.think_time == 0.01
