"""Issue 15 §3, one language per screen: the operations and the CLI speak the language of JIVO_OPS_LANG.

Real commands against a real sandbox, once in English and once in Russian: the English screen has no
Cyrillic except the consoles' own words (field names in «…», menu items and buttons as the consoles
label them) and the data the services sent; the Russian screen has the Russian sentences.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jivo_ops.profile import save_profile
from jivo_ops.sandbox import Sandbox

from _helpers import clean_env, jivo_ops_command

ROOT = Path(__file__).resolve().parents[1]
# The consoles' own words, shown verbatim in every language (menu paths and buttons, not sentences of ours).
CONSOLE_WORDS = ("Каналы связи", "Каналы", "Операторы", "Входящие", "Редактировать", "Управление", "Сохранить")
# Lines that quote what a service or a client sent (message texts of the sandbox's bot and clients).
DATA_LINE = re.compile(r"^\s*(sent|received|отправлено|получено):|^\+\s*\d")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def run(language: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # A wide terminal, so that no table cell wraps a sentence the test looks for.
    return subprocess.run(jivo_ops_command() + list(args), capture_output=True, text=True, timeout=timeout,
                          env=clean_env(JIVO_OPS_LANG=language, COLUMNS="1000"))


def foreign_words(screen: str) -> list[str]:
    """The lines of an English screen that still hold Cyrillic of ours."""
    wrong = []
    for line in screen.splitlines():
        if DATA_LINE.search(line):
            continue
        rest = re.sub(r"«[^»]*»", "", line)
        for word in CONSOLE_WORDS:
            rest = rest.replace(word, "")
        if CYRILLIC.search(rest):
            wrong.append(line)
    return wrong


@pytest.fixture
def unwired_profile(tmp_path):
    """A profile of a sandbox whose steps 2 and 3 were never done: findings in every step it checks."""
    with Sandbox(configured=False) as sb:
        yield save_profile(sb.profile, tmp_path / "unwired.toml")


@pytest.fixture
def offline_profile(tmp_path):
    """A wired sandbox where no Jivo operator is online: the diagnosis names JAICP → Jivo."""
    with Sandbox(online=False) as sb:
        yield save_profile(sb.profile, tmp_path / "offline.toml")


def test_check_with_probes_in_english_and_in_russian(unwired_profile):
    english = run("en", "check", "--profile", str(unwired_profile), "--probe", "--timeout", "5")
    assert english.returncode == 1, english.stderr
    assert "is empty: operator answers never reach JAICP" in english.stdout
    assert "severity" in english.stdout and "Jivo status" in english.stdout
    assert "errors" in english.stdout.splitlines()[-1] and "fix step 2, 3 first" in english.stdout
    assert not foreign_words(english.stdout + english.stderr), foreign_words(english.stdout)

    russian = run("ru", "check", "--profile", str(unwired_profile), "--probe", "--timeout", "5")
    assert russian.returncode == 1, russian.stderr
    assert "не заполнен: ответы операторов не доходят до JAICP" in russian.stdout
    assert "важность" in russian.stdout and "статус Jivo" in russian.stdout
    assert "сначала исправьте шаг 2, 3" in russian.stdout.splitlines()[-1]
    assert "is empty" not in russian.stdout and "fix step" not in russian.stdout


def test_diagnose_with_an_injected_fault_in_english_and_in_russian(offline_profile):
    english = run("en", "diagnose", "--profile", str(offline_profile), "--timeout", "3")
    assert english.returncode == 1, english.stderr
    assert english.stdout.startswith("BROKEN  JAICP → Jivo is broken: no operator is online in Jivo.")
    assert "fix: Log in to the Jivo app as an operator and go online." in english.stdout
    assert "evidence:" in english.stdout and "live probes" in english.stdout
    assert not foreign_words(english.stdout + english.stderr), foreign_words(english.stdout)

    russian = run("ru", "diagnose", "--profile", str(offline_profile), "--timeout", "3")
    assert russian.returncode == 1, russian.stderr
    assert russian.stdout.startswith("СЛОМАНО  Не работает JAICP → Jivo: в Jivo ни одного оператора в сети.")
    assert "как исправить: Войдите в приложение Jivo как оператор и выйдите в сеть." in russian.stdout
    assert "данные:" in russian.stdout and "живые пробы" in russian.stdout
    assert "is broken" not in russian.stdout and "evidence" not in russian.stdout


def test_a_bad_profile_is_one_line_in_either_language(tmp_path):
    missing = tmp_path / "missing.toml"
    english = run("en", "check", "--profile", str(missing))
    assert english.returncode == 2 and english.stdout == ""
    assert english.stderr.strip().splitlines() == [
        f"jivo-ops: error: {missing}: file not found; create one with `jivo-ops sandbox --profile-out PATH` "
        "or copy the bundled example"]
    russian = run("ru", "check", "--profile", str(missing))
    assert russian.returncode == 2 and russian.stdout == ""
    assert russian.stderr.strip().splitlines() == [
        f"jivo-ops: error: {missing}: файл не найден; создайте его командой `jivo-ops sandbox --profile-out PATH` "
        "или скопируйте пример из комплекта"]


def test_a_transfer_summary_in_english_and_in_russian():
    english = run("en", "transfer", "--sandbox", "--clients", "2")
    assert english.returncode == 0, english.stderr
    assert re.search(r"^outcome: answered +2 +100%$", english.stdout, re.M)
    assert "time to switch: median" in english.stdout and "2 transfer(s) in" in english.stdout
    assert not foreign_words(english.stdout + english.stderr), foreign_words(english.stdout)

    russian = run("ru", "transfer", "--sandbox", "--clients", "2")
    assert russian.returncode == 0, russian.stderr
    assert re.search(r"^исход: answered +2 +100%$", russian.stdout, re.M), "the outcome value stays a wire name"
    assert "время до перевода: медиана" in russian.stdout and "переводов: 2 за" in russian.stdout
    assert "time to switch" not in russian.stdout


def readme_language_section() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8").split("## Language", 1)[1].split("\n## ", 1)[0]


def test_the_readme_language_section_runs_word_for_word():
    section = readme_language_section()
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1)
    assert command == "JIVO_OPS_LANG=en jivo-ops diagnose --sandbox"
    variable, rest = command.split(" ", 1)
    name, value = variable.split("=")
    done = run(value, *rest.split()[1:])
    assert name == "JIVO_OPS_LANG" and done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK  Nothing is broken")

    code = re.search(r"```python\n(.+?)\n```", section, re.S).group(1)
    promised = [line.split("# ", 1)[1] for line in code.splitlines() if "print(" in line]
    python = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=clean_env(JIVO_OPS_LANG="ru"))
    assert python.returncode == 0, python.stderr
    assert python.stdout.splitlines() == promised
    assert "`make catalogs`" in section and (ROOT / "Makefile").read_text().count("catalogs:") == 1
