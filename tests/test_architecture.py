"""The one-way rule: `rag` is the library; `ui`, `cli` and `evaluation` consume it, never the reverse.

Imports are read with `ast` (also those inside functions and under TYPE_CHECKING), so a new arrow up
from `rag/`, or a circle between modules, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ui", "cli", "evaluation")
# Which top-level packages each package may import.
ALLOWED = {
    "rag": {"rag"},
    "evaluation": {"rag", "evaluation"},
    "ui": {"rag", "ui"},
    "cli": {"rag", "ui", "evaluation", "cli"},
}
MAX_LINES = 550


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports, resolved to the longest known module name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imported_modules(path, known) - {name} for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_packages_only_import_what_they_may():
    wrong = [
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        for target in targets
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert wrong == []


def test_rag_imports_no_ui_cli_or_evaluation():
    rag_modules = {n: p for n, p in modules().items() if n.split(".")[0] == "rag"}
    assert len(rag_modules) > 10
    for name, path in rag_modules.items():
        tops = {t.split(".")[0] for t in imported_modules(path, set(modules()))}
        assert tops <= {"rag"}, f"{name} imports {tops - {'rag'}}"


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_the_guard_sees_an_arrow_up_and_a_cycle(tmp_path):
    """The checks above must be able to fail: a rag module importing ui is caught, and so is a circle."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ui.app import launch\n", encoding="utf-8")
    assert imported_modules(bad, {"ui", "ui.app", "rag"}) == {"ui.app"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_small():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
