"""The pipeline's layers: each sub-package of `rag` imports only the layers below it, and stays small.

- core (`rag.errors`, `rag.lazy`, `rag.policy`, `rag.settings`, `rag.types`, `rag.sentences`, `rag.offline`,
  `rag.wire`): imports only core;
- `rag.store`, `rag.models`, `rag.question`: core only;
- `rag.ingest`: core, store and models; `rag.answering`: core, store, models and question;
- `rag.wiring` builds the services from all of those; the façade (`rag`, `rag.api`) may use any
  layer of the library;
- `rag.evaluation` and `ui` consume the library (never the CLI, nor each other); `rag.cli` may use everything;
  these consumers and the façade import each stage through its package (`from rag.ingest import index_paths`).

Imports are read with `ast` (also those inside functions and under TYPE_CHECKING), so a new arrow up, or a
circle between modules, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ui")
SUB_PACKAGES = ("store", "models", "question", "ingest", "answering", "evaluation", "cli")
CORE = {"rag.errors", "rag.lazy", "rag.policy", "rag.settings", "rag.types", "rag.sentences", "rag.offline", "rag.wire"}
LIBRARY = {"core", "rag.store", "rag.models", "rag.question", "rag.ingest", "rag.answering", "rag.wiring"}
# Which layers each layer may import (besides itself).
ALLOWED = {
    "core": {"core"},
    "rag.store": {"core"},
    "rag.models": {"core"},
    "rag.question": {"core"},
    "rag.ingest": {"core", "rag.store", "rag.models"},
    "rag.answering": {"core", "rag.store", "rag.models", "rag.question"},
    "rag.wiring": {"core", "rag.store", "rag.models", "rag.question", "rag.answering"},
    "facade": LIBRARY,
    "rag.evaluation": LIBRARY | {"facade"},
    "ui": LIBRARY | {"facade"},
    "rag.cli": LIBRARY | {"facade", "rag.evaluation", "ui"},
}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_TOP_LEVEL_MODULES = 12


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "ui":
        return "ui"
    if module in CORE:
        return "core"
    if len(parts) > 1 and parts[1] in SUB_PACKAGES:
        return f"rag.{parts[1]}"
    if module == "rag.wiring":
        return "rag.wiring"
    return "facade"


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


def test_each_layer_imports_only_the_layers_below_it():
    wrong = [
        f"{name} ({layer(name)}) imports {target} ({layer(target)})"
        for name, targets in import_graph().items()
        for target in targets
        if layer(target) != layer(name) and layer(target) not in ALLOWED[layer(name)]
    ]
    assert wrong == []


def test_the_chat_the_cli_and_evaluation_use_each_stage_s_public_api():
    """They import `rag.ingest`, `rag.store`, … (each package's __all__), never the modules behind them."""
    consumers = {"ui", "rag.cli", "rag.evaluation", "facade"}
    stages = {"rag.store", "rag.models", "rag.question", "rag.ingest", "rag.answering"}
    private = [
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        if layer(name) in consumers
        for target in targets
        if layer(target) in stages and target != layer(target)
    ]
    assert private == []


def test_rag_holds_the_pipeline_in_sub_packages_and_few_modules_directly():
    packages = [p.name for p in (ROOT / "rag").iterdir() if (p / "__init__.py").is_file()]
    assert set(SUB_PACKAGES) <= set(packages)
    direct = sorted(p.name for p in (ROOT / "rag").glob("*.py"))
    assert len(direct) <= MAX_TOP_LEVEL_MODULES, direct
    assert {layer(name) for name in modules()} == set(ALLOWED)  # every layer has code, and no module is unplaced


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_the_guard_sees_an_arrow_up_and_a_cycle(tmp_path):
    """The checks above must be able to fail: a store module importing answering is caught, and so is a circle."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from rag.answering.service import AnswerService\n", encoding="utf-8")
    found = imported_modules(bad, {"rag", "rag.answering", "rag.answering.service"})
    assert found == {"rag.answering.service"}
    assert layer("rag.answering.service") not in ALLOWED[layer("rag.store.chroma")]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def source_files() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def test_source_files_stay_small():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in source_files()}
    assert {name: n for name, n in sizes.items() if n > MAX_FILE_LINES} == {}


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_functions_stay_short():
    assert [f for p in source_files() for f in long_functions(p)] == []


def test_the_size_guards_can_fail(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES, encoding="utf-8")
    (tmp_path / "ok.py").write_text("def g():\n    return 1\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert long_functions(long) == [f"long.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]
        assert long_functions(tmp_path / "ok.py") == []
    finally:
        ROOT = saved


def test_each_stage_s_public_names_resolve_and_cover_what_its_consumers_import():
    import importlib

    stages = ("store", "models", "question", "ingest", "answering")
    missing = []
    for stage in stages:
        package = importlib.import_module(f"rag.{stage}")
        assert all(getattr(package, name) is not None for name in package.__all__)
        for path in source_files():
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == f"rag.{stage}":
                    missing += [f"{path.name}: {a.name}" for a in node.names if a.name not in package.__all__]
    assert missing == []
