"""The catalogue is the one vocabulary: the validator, the analysis, the QUBO kinds and
the docs use its names, every rule has a case, and it stays independent of solvers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import quantum_planner.constraints as catalogue
import quantum_planner.formulation as formulation
from quantum_planner.analysis import analyse
from quantum_planner.constraints import CATALOGUE, NAMES, RULES, rule
from quantum_planner.formulation.bqm import CONSTRAINT_KINDS, LEGACY_KINDS, QUBO_RULES
from quantum_planner.validate import CONSTRAINTS

from .cases import CASES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_validator_and_analysis_use_the_catalogue_names_in_order() -> None:
    assert CONSTRAINTS == NAMES == tuple(r.name for r in RULES)
    case = CASES[0]
    assert [c["constraint"] for c in analyse(case.problem, case.good)["constraints"]] == list(NAMES)


def test_qubo_kinds_are_catalogue_rules_with_a_term() -> None:
    assert set(QUBO_RULES) == {r.name for r in RULES if r.in_qubo}
    assert set(CONSTRAINT_KINDS) - set(NAMES) == {"makespan_bound"}  # part of an objective
    assert set(LEGACY_KINDS.values()) <= set(QUBO_RULES)
    assert not set(LEGACY_KINDS) & set(NAMES)


def test_every_rule_has_a_case_and_says_how_the_qubo_handles_it() -> None:
    assert sorted(c.rule for c in CASES) == sorted(NAMES)
    for r in RULES:
        assert r.summary and r.qubo, r.name
        assert r.validate.__module__ == r.analyse.__module__ == f"{catalogue.__name__}.{r.name}"


def test_unknown_rule_names_the_known_ones() -> None:
    assert rule("overlap") is CATALOGUE["overlap"]
    with pytest.raises(KeyError, match="time_window"):
        rule("time_windows")


@pytest.mark.parametrize("doc", ["MODEL.md", "API.md", "FORMULATION.md"])
def test_docs_speak_the_catalogue_names(doc: str) -> None:
    text = (DOCS / doc).read_text()
    names = NAMES if doc != "FORMULATION.md" else QUBO_RULES
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"docs/{doc} does not name {missing}"
    # the names used before the catalogue are gone (FORMULATION.md mentions them as old)
    for old in (
        "`no_overlap`",
        "`time_windows`, `availability`",
        "| `horizon` |",
        "| `assignment` |",
    ):
        assert old not in text, f"docs/{doc} still says {old}"


def _imports(package_dir: Path) -> dict[str, set[str]]:
    out = {}
    for path in package_dir.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        out[path.name] = names
    return out


def test_catalogue_shares_no_code_with_solvers_or_formulation() -> None:
    banned = (
        "quantum_planner.scheduling",
        "quantum_planner.objectives",
        "quantum_planner.solvers",
        "quantum_planner.formulation",
    )
    for module, names in _imports(Path(catalogue.__file__).parent).items():
        assert not [m for m in names if m.startswith(banned)], module


def test_formulation_never_imports_solvers() -> None:
    for module, names in _imports(Path(formulation.__file__).parent).items():
        assert not [m for m in names if re.match(r"quantum_planner\.(solvers|backends)", m)], module
