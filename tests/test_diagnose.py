"""`jivo_ops.diagnose` and `jivo-ops diagnose`: every finding code and every sandbox fault leads to the
verdict naming the right half and field; the README's first command of "When a hand-over breaks"."""

from __future__ import annotations

from pathlib import Path

import pytest

import jivo_ops as jo
from jivo_ops.cli import main
from jivo_ops.profile import FIELD_LABELS, save_profile
from jivo_ops.setup.checks import CODES, check_profile
from jivo_ops.setup.diagnose import HALVES, locate

from jivo_ops.sandbox import Sandbox
from _helpers import assert_no_secret, clear_jivo_ops_env
from test_checks import CASE_PROFILE, CASES, _cases

# The assertions are the English sentences of the code (issue 15 §3).
pytestmark = pytest.mark.usefixtures("english")


ROOT = Path(__file__).resolve().parents[1]
FAST = {"timeout": 2.0, "step_timeout": 2.0}

# Written out here, not derived from the module: which half carries each profile setting.
EXPECTED_HALF = {
    "jaicp.external_api_endpoint": "jaicp_to_jivo", "jivo.unique_url": "jaicp_to_jivo",
    "jivo.webhook_url": "jivo_to_jaicp", "jaicp.internal_webhook_url": "jivo_to_jaicp", "jivo.chunked": "jivo_to_jaicp",
    "jaicp.inbound_operator": "wiring", "jaicp.inbound_channel": "wiring", "jaicp.operator_channel": "wiring",
    "jivo.channel": "wiring",
    "jaicp.chat_api_url": "scenario", "jaicp.reporter_url": "scenario", "jaicp.reporter_token": "scenario",
    "jaicp.bot_id": "scenario",
    "stand_in.webhook_url": "jivo_to_jaicp", "stand_in.unique_url": "jaicp_to_jivo",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    clear_jivo_ops_env(monkeypatch)


def expected_half(code: str, key: str) -> str:
    # swapped URLs, or a Jivo channel that is not the stand-in, break both halves at once
    return "wiring" if code in ("J303", "J502") else EXPECTED_HALF[key]


@pytest.mark.parametrize("changes, code, key", [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_every_finding_code_points_at_its_half_and_field(changes, code, key):
    report = check_profile(CASE_PROFILE.replace(**changes))
    found = next(f for f in report if f.code == code)
    half, located = locate(found)
    assert (half, located) == (expected_half(code, key), key)
    assert FIELD_LABELS[located], f"{key} has a console label"
    assert {c[2] for c in CASES} == set(CODES)


def _sandbox_error_cases():
    with jo.Sandbox() as sb:
        cases = _cases(sb.profile)
    return [(case_id, changes, code, key) for case_id, changes, code, key, _words in cases if CODES[code][0] == "error"]


@pytest.mark.parametrize("case_id, changes, code, key", _sandbox_error_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_error_finding_is_the_verdict_on_a_sandbox(sandbox, case_id, changes, code, key):
    broken = _cases(sandbox.profile)
    changes = next(c[1] for c in broken if c[0] == case_id)  # the sandbox's own URLs, broken the same way
    profile = sandbox.profile.replace(**changes)
    report = check_profile(profile)
    if code not in [f.code for f in report.errors]:
        pytest.skip(f"{code} does not arise on loopback URLs")
    diagnosis = jo.diagnose(profile, **FAST)
    first = report.errors[0]
    assert not diagnosis.ok and diagnosis.exit_code == 1
    assert (diagnosis.code, diagnosis.key) == (first.code, first.key)
    assert diagnosis.half == expected_half(first.code, first.key)
    assert diagnosis.field == FIELD_LABELS[first.key] and diagnosis.console in ("JAICP", "Jivo")
    assert diagnosis.evidence[-1].outcome == "skipped", "no transfer once a check is red"
    assert diagnosis.fix == first.fix


def test_a_healthy_sandbox_is_nothing_broken(sandbox):
    diagnosis = jo.diagnose(sandbox, **FAST)
    assert diagnosis.ok and diagnosis.half == "nothing" and diagnosis.exit_code == 0
    assert [e.outcome for e in diagnosis.evidence] == ["ok"] * 5
    assert [e.step for e in diagnosis.evidence] == ["setup checks", "live probes", "Jivo leg probe (JAICP → Jivo)",
                                                    "JAICP leg probe (Jivo → JAICP)", "test transfer"]
    assert "<details>" in diagnosis._repr_html_()


FAULTS = [
    ("offline", {"online": False}, "jaicp_to_jivo", ""),
    ("jivo-errors", {"jivo_error_rate": 1.0}, "jaicp_to_jivo", "jivo.unique_url"),
    ("jivo-drops", {"jivo_drop_rate": 1.0}, "jaicp_to_jivo", "jivo.unique_url"),
    ("jaicp-errors", {"jaicp_error_rate": 1.0}, "scenario", "jaicp.chat_api_url"),
    ("jaicp-drops", {"jaicp_drop_rate": 1.0}, "scenario", "jaicp.chat_api_url"),
    ("webhook-errors", {"webhook_error_rate": 1.0}, "jivo_to_jaicp", "jaicp.internal_webhook_url"),
    ("webhook-drops", {"webhook_drop_rate": 1.0}, "jivo_to_jaicp", "jaicp.internal_webhook_url"),
]


@pytest.mark.sandbox(webhook_retries=0, forward_retries=0)
@pytest.mark.parametrize("settings, half, key", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_every_injected_fault_names_its_half(sandbox, settings, half, key):
    sandbox.set(**settings)
    diagnosis = jo.diagnose(sandbox, **FAST)
    assert (diagnosis.half, diagnosis.key) == (half, key), diagnosis.render()
    assert diagnosis.field == FIELD_LABELS.get(key, "")
    assert diagnosis.verdict.startswith(HALVES[half][:1].upper() + HALVES[half][1:])
    assert diagnosis.evidence[0].ok, "the checks are green: the service is what failed"
    assert diagnosis.why


@pytest.mark.parametrize("step, values, code, half, key", [
    (2, {"webhook_url": "http://127.0.0.1:9/chatadapter/chatapi/webhook/jivosite/nowhere"}, "J203",
     "jivo_to_jaicp", "jivo.webhook_url"),
    (2, {"chunked": False}, "J204", "jivo_to_jaicp", "jivo.chunked"),
    (3, {"external_api_endpoint": "http://127.0.0.1:9/aaaaaaaaaaaaaaaa/bbbbbbbbbb"}, "J304", "jaicp_to_jivo",
     "jaicp.external_api_endpoint"),
    (3, {"inbound_operator": ""}, "J305", "wiring", "jaicp.inbound_operator"),
], ids=["webhook-url", "chunked-off", "external-endpoint", "inbound-unlinked"])
def test_a_wrong_step_in_a_console_names_that_step(sandbox, step, values, code, half, key):
    sandbox.configure_step(step, **values)
    diagnosis = jo.diagnose(sandbox, **FAST)
    assert (diagnosis.code, diagnosis.half, diagnosis.key, diagnosis.step) == (code, half, key, step)


def test_a_wrong_webhook_url_beside_two_green_legs_names_step_2(sandbox):
    """Both leg probes post to the profile's own URLs, so they pass; the check is the one to believe."""
    sandbox.configure_step(2, webhook_url=sandbox.jaicp.internal_webhook_url[:-4])
    diagnosis = jo.diagnose(sandbox, **FAST)
    outcomes = {e.step: e.outcome for e in diagnosis.evidence}
    assert outcomes["Jivo leg probe (JAICP → Jivo)"] == outcomes["JAICP leg probe (Jivo → JAICP)"] == "ok"
    assert outcomes["setup checks"] == "failed"
    assert diagnosis.step == 2 and diagnosis.field == FIELD_LABELS["jivo.webhook_url"]
    assert "step 2" in diagnosis.verdict and "probes cannot see" in diagnosis.why


def test_a_stale_profile_falls_to_the_transfer_which_names_both_fields():
    """The profile says right, the console holds another URL: only the transfer fails. With human
    operators nobody sees Jivo's side, so the verdict names both pasted fields."""
    with Sandbox(operator_side_view=False) as sb:
        profile = sb.profile
        sb.configure_step(2, webhook_url="http://127.0.0.1:9/nowhere")
        diagnosis = jo.diagnose(profile, **FAST)
    assert diagnosis.evidence[-1].outcome == "failed" and diagnosis.half == "wiring"
    assert "«External API Endpoint»" in diagnosis.fix and "«URL вашего сервера для Webhooks»" in diagnosis.fix
    assert "believe the transfer" in diagnosis.why


def test_with_the_operator_side_in_view_the_stale_profile_names_the_half(sandbox):
    """The sandbox's Jivo (like the stand-in) shows what the operator got: the operator saw the client,
    the reply never reached JAICP, so it is Jivo → JAICP."""
    profile = sandbox.profile
    sandbox.configure_step(2, webhook_url="http://127.0.0.1:9/nowhere")
    diagnosis = jo.diagnose(profile, **FAST)
    assert diagnosis.evidence[-1].outcome == "failed" and diagnosis.half == "jivo_to_jaicp", diagnosis.render()


def test_cli_exit_codes_and_no_secret(capsys, tmp_path, sandbox):
    assert main(["diagnose", "--sandbox", "--timeout", "3"]) == 0
    assert capsys.readouterr().out.startswith("OK  Nothing is broken")
    profile = sandbox.profile.replace(jivo={"webhook_url": sandbox.jaicp.internal_webhook_url[:-4]})
    path = save_profile(profile, tmp_path / "broken.toml")
    assert main(["diagnose", "--profile", str(path), "--timeout", "2"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("BROKEN  Jivo → JAICP is broken") and "field: «URL вашего сервера для Webhooks»" in out
    assert_no_secret(out, [sandbox.jaicp.webhook_token, sandbox.jaicp.chat_token])
    assert main(["diagnose", "--profile", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err


def test_readme_when_a_hand_over_breaks_starts_with_diagnose(capsys, tmp_path, sandbox, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## When a hand-over breaks"):]
    command = next(line for line in section.splitlines() if line.startswith("jivo-ops "))
    assert command == "jivo-ops diagnose --profile my.toml"
    save_profile(sandbox.profile, tmp_path / "my.toml")
    monkeypatch.chdir(tmp_path)
    assert main(command.split()[1:]) == 0
    assert "Nothing is broken" in capsys.readouterr().out
