"""The pytest plugin collecting transfer scripts, and the README's "Regression runs" section typed as written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from jivo_ops.profile import save_profile
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer.regression import EXAMPLE_SANDBOX_SETTINGS

from _helpers import clean_env

ROOT = Path(__file__).resolve().parents[1]
JUNIT_XSD = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parent / "fixtures" / "junit.xsd")))
BIN = Path(sys.executable).parent


def pytest_run(cwd: Path, *args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """pytest in a subprocess with only our plugin: the other installed plugins (nbval, hypothesis,
    playwright) cost seconds of imports per run and play no part here (the README test keeps them)."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "jivo_ops.transfer.pytest_plugin",
                           "-p", "no:cacheprovider", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**(env or clean_env()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


@pytest.fixture
def project(tmp_path) -> Path:
    """A team's checkout: the examples and the notebook copied, as the README says."""
    shutil.copytree(ROOT / "handover-examples", tmp_path / "handover-examples")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "05_regression_run.ipynb", tmp_path / "notebooks")
    return tmp_path


def test_the_readme_regression_commands_work_as_typed(project):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Regression runs"):readme.index("## The sandbox")]
    block = section[section.index("```bash") + len("```bash"):]
    commands = block[:block.index("```")].strip().splitlines()
    assert len(commands) == 6
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS) as sb:
        save_profile(sb.profile, project / "my.toml")
        for command in commands:
            words = command.split()
            program = [sys.executable, "-m", "pytest", "-p", "no:randomly"] if words[0] == "pytest" else \
                [str(BIN / words[0])]
            done = subprocess.run(program + words[1:], cwd=project, capture_output=True, text=True, timeout=300,
                                  env=clean_env())
            assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
            assert "Traceback" not in done.stdout + done.stderr, command
            if "--jivo-ops-profile" in command:  # the offline path needs a sandbox: skipped on a profile
                assert "4 passed, 1 skipped" in done.stdout
                assert JUNIT_XSD.validate(etree.parse(str(project / "pytest-report.xml"))), JUNIT_XSD.error_log
            elif command == "pytest handover-examples/":
                assert "5 passed" in done.stdout
            elif "jaicp/" in command and words[0] == "pytest":
                assert "2 passed" in done.stdout
    assert JUNIT_XSD.validate(etree.parse(str(project / "report.xml"))), JUNIT_XSD.error_log


def test_a_broken_bot_fails_with_a_readable_report(project):
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS, greeting="Добрый день! Чем помочь?") as sb:
        save_profile(sb.profile, project / "broken.toml")
        done = pytest_run(project, "handover-examples/", env=clean_env(JIVO_OPS_PROFILE=str(project / "broken.toml")))
    assert done.returncode == 1
    assert "1 failed, 3 passed, 1 skipped" in done.stdout
    assert "happy path: 1 failed check(s), outcome answered" in done.stdout
    assert "  step 1 (say) text_contains: expected a text reply containing 'бот'" in done.stdout
    assert "      expected: 'бот'\n      got:      ['Добрый день! Чем помочь?']" in done.stdout
    assert "BOT      text    say           Добрый день! Чем помочь?" in done.stdout  # the timeline
    assert "Traceback" not in done.stdout and "def runtest" not in done.stdout


def test_k_selects_and_a_malformed_script_is_a_collection_error_naming_file_step_and_key(project):
    (project / "handover-examples" / "broken.transfer.toml").write_text(
        'name = "broken"\n[[steps]]\nsay = "hi"\nexpect = { txt = "x" }\n', encoding="utf-8")
    done = pytest_run(project, "handover-examples/", "-k", "happy")
    assert "ERROR collecting handover-examples/broken.transfer.toml" in done.stdout
    assert "broken.transfer.toml: step 1 (say): expect.txt is not a check of a say step" in done.stdout
    assert "Interrupted: 1 error during collection" in done.stdout and "Traceback" not in done.stdout
    assert done.returncode == 2  # as for any collection error: pytest stops before running
    going_on = pytest_run(project, "handover-examples/", "-k", "happy", "--continue-on-collection-errors")
    assert "1 passed, 4 deselected, 1 error" in going_on.stdout and going_on.returncode == 1


def test_clients_option_and_xml_only_when_its_folder_is_named(project):
    done = pytest_run(project, "handover-examples/", "--jivo-ops-clients", "3", "-k", "happy", "-v")
    assert done.returncode == 0 and "happy-path.transfer.toml::happy path PASSED" in done.stdout
    jaicp = pytest_run(project, "handover-examples/jaicp/", "--collect-only", "-q")
    assert "bot-tests.xml::bot-tests: greeting" in jaicp.stdout
    assert "bot-tests.xml::bot-tests: hand-over" in jaicp.stdout
    everything = pytest_run(project, "handover-examples/", "--collect-only", "-q")
    assert "bot-tests.xml" not in everything.stdout and "5 tests collected" in everything.stdout
