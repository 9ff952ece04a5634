"""`jivo-ops --help` stays quick: building the parser loads no HTTP client, data frame or server
library; each command imports its operation when it runs (the time is benchmarks/bench_cli.py's)."""

import json
import subprocess
import sys

HEAVY = ("httpx", "pandas", "starlette", "uvicorn")


def test_building_the_parser_imports_no_heavy_library():
    code = ("import json, sys\nimport jivo_ops.cli\njivo_ops.cli.build_parser()\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []


def test_defaults_read_from_the_operations_are_plain_values_after_a_parse():
    from jivo_ops.channel.http import RetryPolicy
    from jivo_ops.cli import build_parser
    from jivo_ops.setup.checks import check_profile
    import inspect

    parser = build_parser()
    status = parser.parse_args(["jivo", "status", "http://127.0.0.1:1/x"])
    assert (status.retries, status.retry_wait) == (RetryPolicy().retries, RetryPolicy().wait)
    assert type(status.retry_wait) is float and type(status.retries) is int
    check = parser.parse_args(["check"])
    assert check.timeout == inspect.signature(check_profile).parameters["timeout"].default
    assert type(check.timeout) is float


def test_the_help_shows_the_operations_defaults(capsys):
    from jivo_ops.cli import main

    for argv, shown in ((["check", "--help"], "(default: 10)"), (["jivo", "send", "--help"], "(default 3.0)")):
        try:
            main(argv)
        except SystemExit:
            pass
        assert shown in " ".join(capsys.readouterr().out.split())
