"""The layout's rules, read from the package's own imports so they stay true.

Layers, lowest first; a module imports only from its own unit or from a lower layer:

    base        errors, redaction, profile, text, times, files, i18n, held_setting, _lazy (and the package itself)
    channel     the vendors' wire protocols and the one httpx seam
    recorder    the webhook recorder's store, server and exchanges
    sandbox     the simulated JAICP and Jivo
    transfer    test transfers (script, engine, runner, results)
    logs        message logs (reads recorder stores and transfer results)
    setup       checks and probes (use the recorder, the channel clients)
    locust      transfer scripts as a Locust load test (drives the transfer engine)
    faces       widgets, cli: gather input, call an operation, show the result
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jivo_ops"

LAYERS: list[set[str]] = [
    {"", "errors", "redaction", "profile", "text", "times", "files", "i18n", "held_setting", "_lazy"},
    {"channel"},
    {"recorder"},
    {"sandbox"},
    {"transfer"},
    {"logs"},
    {"setup"},
    {"locust"},
    {"widgets", "cli"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
FACES = {"widgets", "cli"}
# What a face must leave to the operations.
FACE_FORBIDDEN = {"httpx", "sqlite3"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:` (imported for annotations, never at run time)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return found


def _imports(module: str, path: Path, *, run_time_only: bool = False) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) for every import in `module`, lazy ones included, made absolute;
    `run_time_only` leaves out the ones under ``if TYPE_CHECKING:``."""
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_only(tree) if run_time_only else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            out += [(node.lineno, f"{target}.{n}", []) for n in submodules]
            rest = [n for n in names if n not in submodules]
            if rest or not submodules:
                out.append((node.lineno, target, rest))
    return out


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _own_imports(*, run_time_only: bool = False):
    for module, path in sorted(MODULES.items()):
        for line, target, names in _imports(module, path, run_time_only=run_time_only):
            yield module, f"{path.relative_to(PACKAGE.parent)}:{line}", target, names


def test_every_module_belongs_to_a_layer():
    assert {_unit(m) for m in MODULES} <= set(RANK), "a new top-level module or folder needs a place in LAYERS"


def test_layers_only_import_downward():
    wrong = []
    for module, where, target, _names in _own_imports():
        if not target.startswith("jivo_ops"):
            continue
        mine, theirs = _unit(module), _unit(target)
        if mine == theirs:
            continue
        if RANK[theirs] > RANK[mine] or (RANK[theirs] == RANK[mine] and mine not in LAYERS[0]):
            wrong.append(f"{where}: {module} ({mine}) imports {target} ({theirs})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_private_name_crosses_modules():
    wrong = []
    for module, where, target, names in _own_imports():
        if not target.startswith("jivo_ops"):
            continue
        wrong += [f"{where}: {module} imports {n} from {target}" for n in names
                  if n.startswith("_") and not n.startswith("__") and n != "_"]  # `_`: gettext's public name
        # A private module (a part starting with "_") is used only inside the package that holds it.
        parts = target.split(".")
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__"):
                owner = ".".join(parts[:i])
                if not (module == owner or module.startswith(owner + ".")):
                    wrong.append(f"{where}: {module} imports the private module {target}")
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_faces_do_no_http_or_sqlite_of_their_own():
    wrong = [f"{where}: {module} imports {target}" for module, where, target, _ in _own_imports()
             if _unit(module) in FACES and target.split(".")[0] in FACE_FORBIDDEN]
    assert not wrong, "faces reaching below the operations:\n" + "\n".join(wrong)


def test_no_import_cycle():
    graph = {m: set() for m in MODULES}
    for module, _where, target, _names in _own_imports(run_time_only=True):
        while target and target not in MODULES:  # `from pkg.mod import name` → pkg.mod
            target = target.rpartition(".")[0]
        # A package importing its own submodules (re-exports) and a submodule importing a sibling
        # are not cycles; a submodule importing its own package's __init__ could be.
        if target and target != module:
            graph[module].add(target)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected
