"""`StandIn` in-process: the sandbox's Jivo alone against an external webhook (a `Sandbox(jivo=False)`),
wired as a user wires a test operator channel; real HTTP everywhere."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from jivo_ops import StandIn
from jivo_ops.errors import JivoOpsError, ProfileError
from jivo_ops.logs import load_logs
from jivo_ops.profile import load_profile, save_profile
from jivo_ops.recorder.store import StoreReader
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfers

from _helpers import other_ending


def wired(sb: Sandbox, si: StandIn):
    """Step 3 as the user does it, then the profile `transfer` runs with (JAICP's side + the stand-in's)."""
    sb.configure_step(3, external_api_endpoint=si.unique_url)
    return si.profile_for(sb.profile)


@pytest.fixture
def jaicp():
    with Sandbox(jivo=False) as sb:
        yield sb


@pytest.mark.parametrize("sender_id", ["client_id", "own"])
def test_transfers_are_answered_with_the_operator_side_view(jaicp, tmp_path, sender_id):
    jaicp.set(jivo_sender_id=sender_id)
    with StandIn(jaicp.jaicp.internal_webhook_url, store=tmp_path / "s.sqlite") as si:
        assert si.reached_at is None
        batch = run_transfers(wired(jaicp, si), clients=6, concurrency=6, progress=False)
        assert si.reached_at is not None
    assert [r.outcome for r in batch] == ["answered"] * 6
    senders = set()
    for r in batch:
        side = r.operator_side
        assert side is not None and "Позовите оператора" in side["first_message"]
        assert side["messages"] == [] and side["sender"]["id"]
        senders.add(side["sender"]["id"])
        # own ids: the sender JAICP filled in is its own, not the Chat API clientId, and pairing still holds
        assert (side["sender"]["id"] == r.chat) is (sender_id == "client_id")
        assert r.to_json()["operator_side"]["first_message"] == side["first_message"]
    assert len(senders) == 6


def test_later_client_messages_reach_the_operator_view_with_their_time(jaicp):
    script = [{"say": "Здравствуйте"}, {"switch": "Позовите оператора"}, "wait_operator", {"say": "мой телефон 123"},
              "wait_operator", "close"]
    with StandIn(jaicp.jaicp.internal_webhook_url) as si:
        result = run_transfers(wired(jaicp, si), script=script, progress=False)[0]
    assert result.outcome == "answered"
    (later,) = result.operator_side["messages"]
    assert later["text"] == "мой телефон 123" and later["type"] == "text" and later["ts"].endswith("+00:00")


def test_offline_operators_mean_no_operators(jaicp):
    with StandIn(jaicp.jaicp.internal_webhook_url, online=False) as si:
        assert httpx.get(si.unique_url + "/status").text == "0"
        batch = run_transfers(wired(jaicp, si), clients=2, progress=False)
    assert [r.outcome for r in batch] == ["no_operators"] * 2


def test_a_wrong_webhook_is_said_once_and_each_transfer_is_an_error(jaicp):
    said: list[str] = []
    with StandIn(jaicp.jaicp.internal_webhook_url + "x", on_warning=said.append) as si:
        batch = run_transfers(wired(jaicp, si), clients=3, concurrency=3, step_timeout=1.5, progress=False)
    assert [(r.outcome, r.error) for r in batch] == [("error", "JAICP refused the operator's reply: HTTP 404")] * 3
    assert len(said) == 1 and "HTTP 404" in said[0] and jaicp.jaicp.webhook_token not in said[0]


def test_own_ids_and_a_wrong_webhook_still_give_the_refusal(jaicp):
    jaicp.set(jivo_sender_id="own")
    with StandIn(jaicp.jaicp.internal_webhook_url + "x", on_warning=lambda line: None) as si:
        result = run_transfers(wired(jaicp, si), step_timeout=1.5, progress=False)[0]
    assert (result.outcome, result.error) == ("error", "JAICP refused the operator's reply: HTTP 404")


def test_an_unreachable_webhook_is_resent_then_reported(jaicp):
    said: list[str] = []
    with StandIn("http://127.0.0.1:9/hook", webhook_retries=1, webhook_retry_wait=0.05,
                 on_warning=said.append) as si:
        result = run_transfers(wired(jaicp, si), step_timeout=2, progress=False)[0]
        attempts = si.history.entries("webhook_attempt")
    assert result.outcome == "error" and "did not take the operator's reply after 2 attempt(s)" in result.error
    assert len(attempts) >= 2 and said


def test_the_exposed_address_serves_the_channel_only(jaicp):
    with StandIn(jaicp.jaicp.internal_webhook_url) as si:
        base = si.local_url.rsplit("/", 2)[0]
        for method, path in (("GET", "/admin/state"), ("POST", "/admin/settings"), ("GET", "/"),
                             ("POST", "/AAAAAAAAAAAAAAAA/BBBBBBBBBB"), ("GET", si.unique_path + "/x")):
            answer = httpx.request(method, base + path)
            assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/plain"), path
        assert httpx.post(si.local_url, content=b"{" + b" " * (1024 * 1024 + 10) + b"}").status_code == 413
        bad = httpx.post(si.local_url, content=b"not json")
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/plain")
        assert httpx.get(si.unique_url + "/status").text == "1"
        # the control surface: loopback, its own port
        assert si.control_url.startswith("http://127.0.0.1:") and si.control_url != base
        assert httpx.get(si.control_url + "/admin/state").status_code == 200
        assert httpx.post(si.control_url + si.unique_path, content=b"{}").status_code == 404


def test_the_unique_path_is_fresh_per_start_unless_given(jaicp):
    with StandIn(jaicp.jaicp.internal_webhook_url) as one, StandIn(jaicp.jaicp.internal_webhook_url) as two:
        assert one.unique_path != two.unique_path
        kept = one.unique_path
    with StandIn(unique_path=kept, on_warning=lambda line: None) as again:
        assert again.unique_path == kept
    with pytest.raises(JivoOpsError, match="unique_path"):
        StandIn(unique_path="/short/path")


def test_binding_elsewhere_warns(jaicp):
    said: list[str] = []
    with StandIn(jaicp.jaicp.internal_webhook_url, listen="0.0.0.0:0", on_warning=said.append) as si:
        assert si.control_url.startswith("http://127.0.0.1:")
    assert any("0.0.0.0" in line for line in said)


def test_the_store_holds_both_directions_and_two_stand_ins_may_share_it(jaicp, tmp_path):
    store = tmp_path / "shared.sqlite"
    with StandIn(jaicp.jaicp.internal_webhook_url, store=store) as one, \
            StandIn(jaicp.jaicp.internal_webhook_url, store=store) as two:
        for si in (one, two):
            assert [r.outcome for r in run_transfers(wired(jaicp, si), clients=3, progress=False)] == ["answered"] * 3
    logs = load_logs(store)
    by_author = logs.messages.groupby("author")["chat"].nunique().to_dict()
    assert by_author == {"CLIENT": 6, "OPERATOR": 6}
    with StoreReader(store) as reader:
        rows = reader.rows_after(0)
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(jaicp.jaicp.webhook_token not in row["path"] for row in rows)
    assert all(one.unique_path not in row["path"] for row in rows)


def test_profile_round_trip_keeps_the_url_and_masks_the_secrets(jaicp, tmp_path):
    with StandIn(jaicp.jaicp.internal_webhook_url, operators=3, think_time=0.1) as si:
        profile = si.profile_for(jaicp.profile)
        url = si.unique_url
    path = save_profile(profile, tmp_path / "test.toml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_profile(path, env=False)
    assert again.stand_in.unique_url == again.jivo.unique_url == url
    assert again.stand_in.operators == 3 and again.stand_in.think_time == 0.1
    shown = repr(again) + again._repr_html_() + str(again.masked())
    for secret in (url, again.stand_in.unique_path, again.stand_in.unique_path.split("/")[1]):
        assert secret not in shown
    with StandIn.from_profile(again, profile_path=str(path)) as restarted:
        assert restarted.unique_path == again.stand_in.unique_path
        assert restarted.settings.operators == 3
        assert restarted.store_path == tmp_path / "test.stand-in.sqlite"


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_profile_rejects_a_wrong_type_in_stand_in(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[stand_in]\noperators = "two"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"stand_in\.operators.*whole number"):
        load_profile(path, env=False)


def test_human_operators_show_no_operator_side():
    with Sandbox(operator_side_view=False) as sb:
        result = run_transfers(sb, progress=False)[0]
    assert result.outcome == "answered" and result.operator_side is None
    with Sandbox() as sb:
        assert run_transfers(sb, progress=False)[0].operator_side is not None


def test_a_stand_in_stopped_mid_batch_keeps_the_results(jaicp):
    si = StandIn(jaicp.jaicp.internal_webhook_url, think_time=0.5).start()
    profile = wired(jaicp, si)
    si.stop()
    batch = run_transfers(profile, clients=2, step_timeout=1.5, progress=False)
    assert len(batch) == 2 and all(r.outcome in ("unanswered", "error", "no_operators") for r in batch)


def test_check_understands_the_stand_in_wiring(jaicp):
    from jivo_ops.setup.checks import check_profile

    with StandIn(jaicp.jaicp.internal_webhook_url) as si:
        good = wired(jaicp, si)
        assert check_profile(good).errors == [] or not [f for f in check_profile(good).errors if f.code[1] == "5"]
        assert "J304" not in check_profile(good).codes
        stale = good.replace(stand_in={"webhook_url": good.stand_in.webhook_url[:-1]})
        unpasted = good.replace(jaicp={"external_api_endpoint": ""})
        other = good.replace(jivo={"unique_url": other_ending(good.stand_in.unique_url)})
        public = good.replace(jaicp={"internal_webhook_url": "https://app.jaicp.com/chatadapter/chatapi/webhook/"
                                                             "jivosite/" + "A" * 32})
    assert "J501" in check_profile(stale).codes
    assert "J301" in check_profile(unpasted).codes
    assert "J502" in check_profile(other).codes
    found = [f for f in check_profile(public) if f.code == "J503"]
    assert found and "--public-url" in found[0].fix
    assert si.unique_path not in str(check_profile(stale).to_json())


def test_setup_panel_shows_the_stand_in_url_and_whether_jaicp_reached_it(jaicp):
    from jivo_ops.widgets import SetupPanel

    with StandIn(jaicp.jaicp.internal_webhook_url) as si:
        panel = SetupPanel(si)
        before = panel.refresh_stand_in()
        assert "ещё не обращался" in before and si.unique_path not in panel.stand_in_status.value
        run_transfers(wired(jaicp, si), progress=False)
        assert "обратился к нему" in panel.refresh_stand_in()
    assert SetupPanel(jaicp).refresh_stand_in() == ""
