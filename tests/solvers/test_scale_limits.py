"""Size limits of the big-problem paths: refused or skipped, never built where it cannot fit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_planner.errors import BackendUnavailableError
from quantum_planner.formulation.bqm import QUBOBuilder
from quantum_planner.model import Agent, Objective, Problem, Task
from quantum_planner.solvers import shop
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.validate import validate


def _shop() -> Problem:
    machines = [Agent(id=f"m{k}") for k in range(3)]
    tasks = [
        Task(
            id=f"j{j}o{o}",
            durations={f"m{(j + o) % 3}": 2.0 + o, f"m{(j + o + 1) % 3}": 3.0},
            dependencies=[f"j{j}o{o - 1}"] if o else [],
        )
        for j in range(4)
        for o in range(3)
    ]
    return Problem(agents=machines, tasks=tasks, objective=Objective.MINIMIZE_MAKESPAN)


def test_shop_tabu_is_skipped_when_its_matrix_would_not_fit(monkeypatch) -> None:
    # the tabu matrix is n x (n + m + 1) int64: 12 x 16 x 8 bytes here; a budget
    # below that stands in for a 50,000-task shop (20 GB)
    monkeypatch.setattr(shop, "MAX_TABU_BYTES", 8 * 12 * 16 - 1)
    problem = _shop()
    sol = HybridSolver().solve(problem, time_limit=1.0, seed=1)
    assert "tabu_skipped" in sol.metadata["hybrid"]
    assert sol.assignments and not validate(problem, sol)  # list schedule / CP-SAT still plan


def test_shop_tabu_runs_within_its_budget() -> None:
    sol = HybridSolver().solve(_shop(), time_limit=1.0, seed=1)
    assert "tabu_skipped" not in sol.metadata["hybrid"]


def test_assignment_qubo_past_its_limits_is_refused_before_it_is_built() -> None:
    agents = [Agent(id=f"a{k}") for k in range(10)]
    tasks = [Task(id=f"t{i}", costs={f"a{k}": 1.0 + k for k in range(10)}) for i in range(30)]
    problem = Problem(agents=agents, tasks=tasks, objective=Objective.MINIMIZE_COST)
    with pytest.raises(BackendUnavailableError) as err:
        QUBOBuilder(problem, mode="assignment", max_variables=299)
    assert "300 decision variables" in err.value.message
    assert "greedy, cpsat, hybrid" in err.value.message


def test_dense_tabu_sampler_is_refused_past_its_size(monkeypatch) -> None:
    from quantum_planner.solvers import qubo_sampling as qubo

    monkeypatch.setattr(qubo, "MAX_DENSE_VARIABLES", 10)
    agents = [Agent(id=f"a{k}") for k in range(3)]
    tasks = [Task(id=f"t{i}", costs={f"a{k}": 1.0 + k for k in range(3)}) for i in range(5)]
    problem = Problem(agents=agents, tasks=tasks, objective=Objective.MINIMIZE_COST)
    with pytest.raises(BackendUnavailableError) as err:
        qubo.TabuQUBOSolver().solve(problem, time_limit=5.0, seed=1)
    assert "dense 15 x 15 matrix" in err.value.message
    assert "'simulated_annealing' solver (sparse)" in err.value.message


COLD_SOLVE = r"""
import json
from quantum_planner.model import Agent, Problem, Task
from quantum_planner.solvers.hybrid import HybridSolver
agents = [Agent(id=f"a{k}", capacity=40.0) for k in range(6)]
tasks = [Task(id=f"t{i}", load=1.0 + i % 3, costs={f"a{k}": 1.0 + (i * k) % 7 for k in range(6)})
         for i in range(90)]
problem = Problem(agents=agents, tasks=tasks, objective="minimize_cost")
sol = HybridSolver(sparse=True).solve(problem, time_limit=1.0, seed=0)
meta = sol.metadata["hybrid"]
print(json.dumps({"compile": meta["compile_seconds"], "load": meta["cache_load_seconds"],
                  "wall": sol.wall_time, "first": meta["first_feasible_s"]}))
"""


def _run(args: list[str], cache: Path) -> str:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=280, check=True
    )
    return done.stdout


@pytest.mark.slow
def test_sparse_path_compiles_before_its_clock_and_warmup_covers_it(tmp_path: Path) -> None:
    # a fresh container: the first solve compiles the kernels, outside its 1 s
    cold = json.loads(_run(["-c", COLD_SOLVE], tmp_path / "cold").splitlines()[-1])
    assert cold["compile"] > 0.0
    assert cold["first"] is not None and cold["wall"] <= 1.0 + 0.5
    # warmup fills an empty cache: a later process only loads
    out = _run(["-m", "quantum_planner", "warmup", "--only", "hybrid sparse"], tmp_path / "w")
    assert "sparse_gap.descent_sp: compiled 1" in out
    warm = json.loads(_run(["-c", COLD_SOLVE], tmp_path / "w").splitlines()[-1])
    assert warm["compile"] == 0.0 and warm["load"] > 0.0
