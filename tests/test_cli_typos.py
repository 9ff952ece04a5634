"""Issue 15, CLI: a mistyped option gets a "did you mean", a prefix of a long option is not taken for
it (`allow_abbrev=False`), and `jivo status` on a dead URL says it is retrying before each wait."""

from __future__ import annotations

import pytest

from jivo_ops.cli import main

from _helpers import clear_jivo_ops_env, closed_port_url


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    clear_jivo_ops_env(monkeypatch)


@pytest.mark.parametrize("argv, suggestion", [
    (["check", "--proflie", "x.toml"], "did you mean --profile (for --proflie)?"),
    (["check", "--prof", "x.toml"], "did you mean --profile (for --prof)?"),
    (["transfer", "--sandbox", "--client", "2"], "did you mean --clients (for --client)?"),
])
def test_a_mistyped_or_shortened_option_is_refused_with_a_suggestion(capsys, argv, suggestion):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert suggestion in err and "unrecognized arguments" in err


def test_jivo_status_on_a_dead_url_says_it_is_retrying(capsys):
    url = closed_port_url() + "/aaaaaaaaaaaaaaaa/bbbbbbbbbb"
    assert main(["jivo", "status", url, "--retry-wait", "0.05", "--retries", "2"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(", ")[-1] for line in lines[:2]] == ["retry 1 of 2 in 0.1 s (Ctrl-C stops)",
                                                              "retry 2 of 2 in 0.1 s (Ctrl-C stops)"]
    assert lines[-1].startswith("jivo-ops: error: Jivo status failed") and len(lines) == 3
