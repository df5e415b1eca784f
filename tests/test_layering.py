"""Layering of quantum_planner: no import cycles, and no module importing a higher layer.

Read from the source with ``ast`` (nothing is imported), so every import counts: at module
level, inside functions (a lazy import that only dodges a cycle is still a cycle), under
``if TYPE_CHECKING:``, and ``importlib.import_module("quantum_planner....")`` with a literal
name. ``from pkg import name`` counts as importing ``pkg.name`` when that is a module.

The layers, lowest first (docs/ARCHITECTURE.md; COMMON.md: model <- formulation, samplers <-
solvers <- backends <- planner <- jobs <- service/web/mcp). A module may import its own
layer and the layers below; every module must belong to a layer, so a new top-level module
fails here until it is placed.

Today's known violations are listed in KNOWN_CYCLES and KNOWN_UPWARD, each with why and who
removes it. The lists must shrink to empty: an entry that no longer happens fails too, so
that whoever fixes one deletes its entry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT_PKG = "quantum_planner"

# Module prefixes (dotted, under quantum_planner; "" is the package's __init__), lowest first.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "config", "_version", "bounds")),
    # data, its checks and its storage: nothing here solves anything
    (
        "model",
        (
            "model",
            "objectives",
            "disruption",
            "scheduling",
            "solution",
            "store",
            "benchmarks",
            "instances",
        ),
    ),
    # constraint semantics (validate, analysis and the catalogue name the same rules the QUBO
    # terms encode, so they sit beside formulation), and the samplers
    ("formulation", ("constraints", "formulation", "samplers", "validate", "analysis")),
    ("solvers", ("solvers",)),
    ("backends", ("backends", "health", "alerts")),
    # replan: changes, pins and the re-planning strategy over the planner's solve
    (
        "planner",
        ("planner", "replan", "warmup", "tradeoffs", ""),
    ),  # "": `import quantum_planner` imports the planner
    ("jobs", ("jobs",)),
    (
        "interfaces",
        ("service", "web", "mcp", "integrations", "cli", "__main__", "viz"),
    ),
]

# --- the allow-list: violations tolerated for now, each with why and who removes it ------------
# Emptied on 2026-12-05 once the ctx, solvers and catalogue branches cut their cycles.
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_UPWARD: set[tuple[str, str]] = set()


# --- reading the import graph -------------------------------------------------------------------


def module_names(src: Path, root: str = ROOT_PKG) -> dict[str, Path]:
    """Every module of package ``root`` under ``src``: dotted name -> file."""
    out = {}
    for path in sorted((src / root).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` is (or lives in): the longest known prefix."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(
    node: ast.AST, module: str, is_pkg: bool, modules: dict[str, Path], root: str
) -> Iterable[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: from the package holding this module
            base = module.split(".") if is_pkg else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            mod = ".".join([*base, *([node.module] if node.module else [])])
        else:
            mod = node.module or ""
        # `from pkg import sub` imports the module pkg.sub when there is one
        names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
    elif (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in {"importlib.import_module", "import_module", "__import__"}
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        names = [node.args[0].value]
    else:
        return []
    found = (_resolve(n, modules) for n in names if n == root or n.startswith(root + "."))
    return [t for t in found if t and t != module]


def import_graph(src: Path, root: str = ROOT_PKG) -> dict[str, set[str]]:
    """module -> the modules of ``root`` it imports anywhere in its source."""
    modules = module_names(src, root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_pkg = path.name == "__init__.py"
        graph[module] = {
            t for node in ast.walk(tree) for t in _targets(node, module, is_pkg, modules, root)
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                scc = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    scc.add(member)
                    if member == node:
                        break
                if len(scc) > 1:
                    out.append(scc)
    return out


def layer_of(module: str, root: str = ROOT_PKG) -> int | None:
    """Index of the layer ``module`` belongs to (longest matching prefix), None if none."""
    rel = module.removeprefix(root).removeprefix(".")
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            matches = rel == p or (p and rel.startswith(p + "."))
            if matches and (best is None or len(p) > best[0]):
                best = (len(p), i)
    return None if best is None else best[1]


def upward_imports(graph: dict[str, set[str]], root: str = ROOT_PKG) -> set[tuple[str, str]]:
    """(importer, imported) pairs where the imported module is in a higher layer."""
    return {
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if (lm := layer_of(m, root)) is not None
        and (lt := layer_of(t, root)) is not None
        and lt > lm
    }


def _short(name: str) -> str:
    return name.removeprefix(ROOT_PKG).removeprefix(".")


# --- the checks -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(SRC)


def test_every_module_is_in_a_layer(graph: dict[str, set[str]]) -> None:
    unplaced = sorted(_short(m) or ROOT_PKG for m in graph if layer_of(m) is None)
    assert not unplaced, f"place these modules in LAYERS (tests/test_layering.py): {unplaced}"


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    found = {frozenset(_short(m) for m in scc) for scc in cycles(graph)}
    new = [sorted(c) for c in found - KNOWN_CYCLES]
    gone = [sorted(c) for c in KNOWN_CYCLES - found]
    assert not new, f"import cycles: {new}"
    assert not gone, f"fixed, so delete from KNOWN_CYCLES: {gone}"


def test_no_upward_imports(graph: dict[str, set[str]]) -> None:
    found = {(_short(a), _short(b)) for a, b in upward_imports(graph)}
    named = {name: i for i, (name, _) in enumerate(LAYERS)}
    new = sorted(found - KNOWN_UPWARD)
    detail = [
        f"{a} ({LAYERS[layer_of(f'{ROOT_PKG}.{a}') or 0][0]}) imports {b} "
        f"({LAYERS[layer_of(f'{ROOT_PKG}.{b}') or 0][0]})"
        for a, b in new
    ]
    assert not new, f"imports against the layer order {list(named)}: {detail}"
    gone = sorted(KNOWN_UPWARD - found)
    assert not gone, f"fixed, so delete from KNOWN_UPWARD: {gone}"


# --- the checker itself finds what it must (so the checks above can fail) -----------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "quantum_planner" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_checker_finds_a_lazy_cycle_and_an_upward_import(tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "__init__.py": "",
            "model.py": "def f():\n    from quantum_planner.solvers import base\n",
            "solvers/__init__.py": "",
            "solvers/base.py": "from ..model import f\n",
            "solvers/greedy.py": "from quantum_planner.solvers import base\n",
            "backends/__init__.py": "",
            "backends/registry.py": (
                "import importlib\n"
                "def load():\n"
                "    return importlib.import_module('quantum_planner.backends.local')\n"
            ),
            "backends/local.py": "from quantum_planner.backends.registry import load\n",
        },
    )
    graph = import_graph(src)
    assert graph["quantum_planner.solvers.base"] == {"quantum_planner.model"}  # relative import
    assert graph["quantum_planner.solvers.greedy"] == {"quantum_planner.solvers.base"}
    found = {frozenset(c) for c in cycles(graph)}
    assert found == {
        frozenset({"quantum_planner.model", "quantum_planner.solvers.base"}),
        frozenset({"quantum_planner.backends.registry", "quantum_planner.backends.local"}),
    }
    assert upward_imports(graph) == {("quantum_planner.model", "quantum_planner.solvers.base")}


def test_checker_allows_imports_downward_and_within_a_layer(tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "__init__.py": "from quantum_planner.planner import Planner\n",
            "planner.py": "from quantum_planner.backends import registry\nclass Planner: ...\n",
            "backends/__init__.py": "",
            "backends/registry.py": "from quantum_planner import health, model\n",
            "health.py": "from quantum_planner.errors import E\n",
            "errors.py": "class E(Exception): ...\n",
            "model.py": "",
        },
    )
    graph = import_graph(src)
    assert not cycles(graph)
    assert not upward_imports(graph)
    assert layer_of("quantum_planner.service.routes.jobs") == len(LAYERS) - 1
    assert layer_of("quantum_planner.samplers._kernels") == layer_of("quantum_planner.formulation")
    assert layer_of("quantum_planner.somewhere_new") is None
