"""pytest plugin (entry point ``jivo_ops_transfer``): transfer scripts as test items.

``pytest handover/`` runs every ``*.transfer.toml`` / ``*.transfer.json`` there, one item per script
(JAICP ``*.xml`` tests too, one item per test-case, when their own folder or the file is passed
explicitly),
with the script's ``clients`` or ``--jivo-ops-clients N``, against ``--jivo-ops-profile PATH`` /
``$JIVO_OPS_PROFILE``, or against a sandbox started for the session when neither is given.
A failing item shows each failed check with expected/got and the transfer's timeline; a malformed
script is a collection error naming the file, step and key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..errors import JivoOpsError
from .regression import EXAMPLE_SANDBOX_SETTINGS, SCRIPT_PATTERNS, failure_report, run_script
from .script import Script, load_scripts

__all__ = ["TransferScriptFile", "TransferScriptItem", "TransferChecksFailed"]

_TARGET = pytest.StashKey["_Target"]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("jivo-ops", "jivo_ops transfer scripts")
    group.addoption("--jivo-ops-profile", metavar="PATH", default=None,
                    help="run transfer scripts against this profile (default: $JIVO_OPS_PROFILE, else a sandbox)")
    group.addoption("--jivo-ops-clients", metavar="N", type=int, default=None,
                    help="clients per transfer script (default: the script's `clients`, else 1)")
    group.addoption("--jivo-ops-step-timeout", metavar="S", type=float, default=10.0,
                    help="seconds each step of a transfer script may take (default 10)")
    group.addoption("--jivo-ops-switch-state", metavar="STATE", default=None,
                    help="JAICP XML tests: the state whose step is the switch (e.g. /Operator)")


def pytest_configure(config) -> None:
    config.stash[_TARGET] = _Target(config)


def pytest_unconfigure(config) -> None:
    target = config.stash.get(_TARGET, None)
    if target is not None:
        target.close()


def _passed_explicitly(path: Path, config) -> bool:
    """Whether `path`, or the folder holding it, was given on the command line (not a configured
    testpath): XML files elsewhere in a tree are other tools' business."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    here = path.resolve()
    given = {Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args}
    return here in given or here.parent in given


def pytest_collect_file(file_path: Path, parent):
    if any(file_path.match(pattern) for pattern in SCRIPT_PATTERNS) or (
            file_path.suffix.lower() == ".xml" and _passed_explicitly(file_path, parent.config)):
        return TransferScriptFile.from_parent(parent, path=file_path)
    return None


class _Target:
    """What the session's items run against: a profile, or a sandbox started on first use."""

    def __init__(self, config):
        self.config, self.value, self.sandbox = config, None, None

    def get(self):
        if self.value is None:
            path = self.config.getoption("jivo_ops_profile") or os.environ.get("JIVO_OPS_PROFILE")
            if path:
                from ..profile import load_profile

                self.value = load_profile(path)
            else:
                from ..sandbox import Sandbox

                self.sandbox = self.value = Sandbox(**EXAMPLE_SANDBOX_SETTINGS).start()
        return self.value

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


class TransferChecksFailed(Exception):
    """A transfer script's run had failed checks (the report is `failure_report` of each transfer)."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


class TransferScriptFile(pytest.File):
    """A script file: one item per script in it (a JAICP XML file: one per test-case)."""

    def collect(self):
        try:
            scripts = load_scripts(self.path, switch_state=self.config.getoption("jivo_ops_switch_state"))
        except JivoOpsError as exc:
            raise self.CollectError(str(exc)) from None
        for script in scripts:
            yield TransferScriptItem.from_parent(self, name=script.name, script=script)


class TransferScriptItem(pytest.Item):
    def __init__(self, *, script: Script, **kwargs):
        super().__init__(**kwargs)
        self.script = script

    def runtest(self) -> None:
        target = self.config.stash[_TARGET].get()
        if self.script.sandbox and not hasattr(target, "set"):
            pytest.skip(f"needs sandbox settings {dict(self.script.sandbox)}: runs on a sandbox only")
        batch = run_script(self.script, target, clients=self.config.getoption("jivo_ops_clients"),
                           step_timeout=self.config.getoption("jivo_ops_step_timeout"))
        failed = [r for r in batch if not r.passed]
        if failed:
            raise TransferChecksFailed("\n\n".join(failure_report(r) for r in failed))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, TransferChecksFailed):
            return excinfo.value.report
        if isinstance(excinfo.value, JivoOpsError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"transfer script: {self.script.name}"
