"""`jivo-ops check`: the setup checks of the four steps on a profile, optionally with live probes.

Prints the findings as a table that fits the terminal (or JSON with `--format json`), then one
summary line. Exit 0 when there is no error finding and no failed probe, 1 otherwise; a profile
that cannot be read is one line on stderr and exit 2 (from `jivo_ops.cli.main`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..i18n import N_, TranslatedMapping, _
from ._output import OperationDefault, add_profile_argument, positive_seconds, print_json, print_table, resolve_profile

if TYPE_CHECKING:
    from ..setup.checks import CheckReport

__all__ = ["register", "run", "print_report"]

# The tables' headers, N_-marked (`_()`-ed when printed); `wrap` names them the same way.
FINDING_COLUMNS = [N_("severity"), N_("code"), N_("step"), N_("field"), N_("problem"), N_("fix")]
PROBE_COLUMNS = [N_("probe"), N_("result"), N_("latency"), N_("detail"), N_("next step")]
# A probe's outcome (a wire value in JSON) as the table says it.
PROBE_OUTCOMES = TranslatedMapping({"ok": N_("ok"), "failed": N_("failed"), "skipped": N_("skipped")})


def _shown(names: list[str]) -> list[str]:
    return [_(name) for name in names]


# The probes' own time limit (check_profile's default), so the help cannot tell another number.
DEFAULT_TIMEOUT_S = OperationDefault("..setup.checks", "check_profile", "timeout", spec="g")



def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="check a profile against the four setup steps (optionally probe the live services)",
        description="Check both sides' settings against the four setup steps (JAICP operator channel, "
                    "Jivo channel, linking, switch). Exit 1 when any error is found or a probe fails.")
    add_profile_argument(parser)
    parser.add_argument("--probe", action="store_true",
                        help="also probe the live services: Jivo /status, a HEAD to each URL (nothing is posted "
                             "to a webhook), a Chat API '/start' round trip")
    parser.add_argument("--timeout", metavar="SECONDS", type=positive_seconds, default=DEFAULT_TIMEOUT_S,
                        help="time limit of each probe (default: %(default)s)")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    parser.set_defaults(func=run)


def print_report(report: CheckReport, *, file=None) -> None:
    """The findings table, the probes table (if any probe ran) and the one-line summary."""
    from ..setup.checks import SEVERITY_LABELS

    out = file or sys.stdout
    if report.findings:
        print_table([[SEVERITY_LABELS[f.severity], f.code, f.step, f.field, f.message, f.fix]
                     for f in report.findings],
                    _shown(FINDING_COLUMNS), wrap=_shown(FINDING_COLUMNS[3:]), file=out)
        print(file=out)
    if report.probes:
        print_table([[p.name, PROBE_OUTCOMES[p.outcome], "" if p.latency_s is None else _("{seconds:.3f} s").format(
                         seconds=p.latency_s), p.detail, p.next_step] for p in report.probes],
                    _shown(PROBE_COLUMNS), wrap=_shown([PROBE_COLUMNS[0], *PROBE_COLUMNS[3:]]), file=out)
        print(file=out)
    print(report.summary(), file=out)


def run(args: argparse.Namespace) -> int:
    from ..setup.checks import check_profile

    profile = resolve_profile(args)
    report = check_profile(profile, probe=args.probe, timeout=args.timeout)
    if args.format == "json":
        print_json(report.to_json())
    else:
        print_report(report)
    return 0 if report.ok else 1
