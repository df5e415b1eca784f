"""Our hybrid planner against OR-Tools CP-SAT, side by side, in one run.

For every instance and time limit both solvers run one after the other on the
same machine with the same number of cores (``--workers``, default 2: the
hybrid uses one core for its search and one for the LP / CP-SAT race; CP-SAT
gets the same number of workers). Reported per set:

* gap to the best-known value (``../shared/benchmarks/<set>/best_known.csv``),
  or to the LP bound for the synthetic problem,
* time to the first feasible plan,
* the ratio of our gap to CP-SAT's (< 1: we are closer),
* for small instances, whether optimality was proven (status ``optimal``).

Every plan is checked by :func:`quantum_planner.validate.validate`; an invalid
plan counts as no plan.

Examples::

    PYTHONPATH=src python benchmarks/planner.py --quick
    PYTHONPATH=src python benchmarks/planner.py --sets gap --limits 10,60
    PYTHONPATH=src python benchmarks/planner.py --sets fjsp --instances mk01,mk06 --limits 10

Sets: ``gap`` (Yagiura types C and E, 400-1600 tasks), ``fjsp`` (Brandimarte
mk01-mk10), ``jsp`` (ft06, la01-la05), ``small`` (gap1-gap12 first instance,
max direction), ``synthetic`` (100 agents x 2000 tasks, generated here from a
seed; reference: LP bound).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from quantum_planner.instances import (
    ENV_VAR,
    benchmarks_dir,
    best_known,
    gap_value,
    load_instance,
)
from quantum_planner.model import Agent, Objective, Problem, Task
from quantum_planner.solvers.cpsat import CPSATSolver
from quantum_planner.solvers.dense_view import compile_problem
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.solvers.lp import extended, lp_relaxation
from quantum_planner.validate import validate

DEFAULT_INSTANCES = {
    "gap": [
        "c10400", "c20400", "c40400", "e10400", "e20400", "e40400",
        "c15900", "c30900", "c60900", "e15900", "e30900", "e60900",
        "c201600", "c401600", "c801600", "e201600", "e401600", "e801600",
    ],
    "fjsp": [f"mk{i:02d}" for i in range(1, 11)],
    "jsp": ["ft06", "la01", "la02", "la03", "la04", "la05"],
    "small": [f"gap{k}-1" for k in range(1, 13)],
    "synthetic": ["synth100x2000"],
}  # fmt: skip
QUICK_INSTANCES = {
    "gap": ["c10400", "e10400", "e801600"],
    "fjsp": ["mk01", "mk06", "mk10"],
    "jsp": ["ft06", "la01"],
    "small": ["gap1-1", "gap12-1"],
    "synthetic": ["synth100x2000"],
}


# ----------------------------------------------------------------- synthetic
def synthetic_problem(
    n_agents: int = 100, n_tasks: int = 2000, seed: int = 0, slack: float = 1.15
) -> Problem:
    """Reproducible skills/costs/capacities problem (minimise cost).

    12 skills; each agent has 3-5 of them, a speed factor in [0.7, 1.3] and a
    cost rate in [1, 3]. Each task needs 1-2 skills drawn from one agent's set
    (so someone can do it), has a base duration in [1, 10]; its duration on an
    eligible agent is base / speed x noise(0.9-1.1), its cost is rate x
    duration x noise(0.8-1.2), and its load is its duration. Capacities are
    ``slack`` times an even share of the total expected load, with +-20%.
    """
    rng = np.random.default_rng(seed)
    n_skills = 12
    skills = [f"s{k}" for k in range(n_skills)]
    agent_skills = [
        sorted(rng.choice(n_skills, size=int(rng.integers(3, 6)), replace=False).tolist())
        for _ in range(n_agents)
    ]
    speed = rng.uniform(0.7, 1.3, n_agents)
    rate = rng.uniform(1.0, 3.0, n_agents)
    tasks = []
    expected = 0.0
    sets = [set(s) for s in agent_skills]
    for t in range(n_tasks):
        owner = int(rng.integers(n_agents))
        req = sorted(
            rng.choice(agent_skills[owner], size=int(rng.integers(1, 3)), replace=False).tolist()
        )
        base = float(rng.integers(1, 11))
        elig = [a for a in range(n_agents) if set(req) <= sets[a]]
        durs, costs = {}, {}
        for a in elig:
            d = round(base / speed[a] * rng.uniform(0.9, 1.1), 2)
            durs[f"a{a}"] = d
            costs[f"a{a}"] = round(rate[a] * d * rng.uniform(0.8, 1.2), 2)
        expected += float(np.mean(list(durs.values())))
        tasks.append(
            Task(
                id=f"t{t}",
                required_skills=[skills[k] for k in req],
                duration=base,
                durations=durs,
                costs=costs,
                loads=dict(durs),
                load=base,
            )
        )
    share = expected / n_agents
    caps = [slack * share * float(rng.uniform(0.8, 1.2)) for _ in range(n_agents)]
    return staffed_problem([[skills[k] for k in s] for s in agent_skills], caps, rate, tasks)


def staffed_problem(
    agent_skills: list[list[str]], caps: Any, rate: Any, tasks: list[Task]
) -> Problem:
    """The synthetic problem's agents ``a0..`` (skills, capacity, cost rate) and its tasks."""
    agents = [
        Agent(
            id=f"a{a}",
            skills=agent_skills[a],
            capacity=round(float(caps[a]), 2),
            cost_rate=float(rate[a]),
        )
        for a in range(len(agent_skills))
    ]
    return Problem(
        name=f"synth{len(agents)}x{len(tasks)}",
        agents=agents,
        tasks=tasks,
        objective=Objective.MINIMIZE_COST,
    )


# ------------------------------------------------------------------- running
@dataclass
class Run:
    set: str
    instance: str
    solver: str
    limit: float
    value: float | None
    reference: float | None
    gap_pct: float | None
    first_feasible_s: float | None
    wall_s: float
    status: str
    proven_optimal: bool
    lower_bound: float | None


def _reference(set_name: str, name: str, problem: Problem) -> tuple[float | None, str]:
    if set_name == "synthetic":
        comp = compile_problem(problem)
        W, L, _, cap, _ = extended(comp)
        lp = lp_relaxation(W, L, cap)
        return (lp.bound if lp else None), "min"
    if set_name in ("gap", "small"):
        direction = "max" if set_name == "small" else "min"
        row = best_known("gap", direction).get(name)
        return (row.value if row else None), direction
    row = best_known(set_name).get(name)
    return (row.value if row else None), "min"


def _belongs(set_name: str, name: str) -> bool:
    """Whether an instance name given with ``--instances`` is one of ``set_name``'s."""
    if set_name == "synthetic":
        return name.startswith("synth")
    if set_name == "small":
        return name.startswith("gap")
    if set_name == "gap":
        return name in best_known("gap") and not name.startswith("gap")
    return name in best_known(set_name)


def _load(set_name: str, name: str) -> Problem:
    if set_name == "synthetic":
        return synthetic_problem()
    if set_name == "small":
        return load_instance("gap", name, direction="max")
    return load_instance(set_name, name)


def _value(set_name: str, problem: Problem, sol: Any, direction: str) -> float:
    if set_name in ("gap", "small", "synthetic"):
        return gap_value(problem, sol.objectives["minimize_cost"], direction)  # type: ignore[arg-type]
    return float(sol.makespan)


def _gap_pct(value: float | None, ref: float | None, direction: str) -> float | None:
    if value is None or ref is None or ref == 0:
        return None
    diff = (ref - value) if direction == "max" else (value - ref)
    return 100.0 * diff / abs(ref)


def run_one(
    set_name: str,
    name: str,
    problem: Problem,
    solver_name: str,
    limit: float,
    workers: int,
    seed: int,
    ref: float | None,
    direction: str,
) -> Run:
    if solver_name == "hybrid":
        solver: Any = HybridSolver(num_workers=workers)
    else:
        solver = CPSATSolver(num_workers=workers, deterministic=False)
    t0 = time.perf_counter()
    sol = solver.solve(problem, time_limit=limit, seed=seed)
    wall = time.perf_counter() - t0
    violations = validate(problem, sol) if sol.assignments else ["no plan"]
    ok = not violations
    if solver_name == "hybrid":
        first = (sol.metadata.get("hybrid") or {}).get("first_feasible_s")
    else:
        first = sol.metadata.get("first_solution_s")
    value = _value(set_name, problem, sol, direction) if ok else None
    return Run(
        set=set_name,
        instance=name,
        solver=solver_name,
        limit=limit,
        value=value,
        reference=ref,
        gap_pct=_gap_pct(value, ref, direction),
        first_feasible_s=first if ok else None,
        wall_s=wall,
        status=sol.status
        if ok
        else ("no plan" if not sol.assignments else f"invalid ({len(violations)} violations)"),
        proven_optimal=ok and sol.status == "optimal",
        lower_bound=sol.lower_bound,
    )


def warm_up() -> None:
    """Compile the numba kernels once so that no timing below includes compilation."""
    tiny = Problem(
        agents=[Agent("a0", capacity=3), Agent("a1", capacity=3)],
        tasks=[Task(f"t{i}", costs={"a0": i + 1, "a1": 3 - i}) for i in range(3)],
        objective="minimize_cost",
    )
    HybridSolver(max_iterations=50, use_qubo=False).solve(tiny, time_limit=600)
    shop = Problem(
        agents=[Agent("m0"), Agent("m1")],
        tasks=[
            Task("a", durations={"m0": 2, "m1": 3}),
            Task("b", durations={"m0": 2, "m1": 1}, dependencies=["a"]),
            Task("c", durations={"m0": 1, "m1": 2}),
        ],
    )
    from quantum_planner.solvers.shop import eft_schedule
    from quantum_planner.solvers.shop_tabu import shop_tabu

    comp = compile_problem(shop)
    a, s = eft_schedule(comp)
    shop_tabu(comp, a, s, time.perf_counter() + 600, 0, None, max_iterations=20)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def report(runs: list[Run], solvers: list[str], out: Callable[[str], None] = print) -> None:
    for set_name in dict.fromkeys(r.set for r in runs):
        rows = [r for r in runs if r.set == set_name]
        ref_name = "LP bound" if set_name == "synthetic" else "best known"
        out(f"\n== {set_name}: gap to {ref_name} (%), time to first plan (s)")
        head = f"{'instance':<14}{'limit':>6}"
        for s in solvers:
            head += f"{s + ' gap':>12}{s + ' 1st':>12}"
        head += f"{'ratio':>8}  proven"
        out(head)
        by_key: dict[tuple[str, float], dict[str, Run]] = {}
        for r in rows:
            by_key.setdefault((r.instance, r.limit), {})[r.solver] = r
        for (inst, limit), d in by_key.items():
            line = f"{inst:<14}{limit:>6g}"
            for s in solvers:
                r = d.get(s)
                line += f"{_fmt(r.gap_pct if r else None, '.3f'):>12}"
                line += f"{_fmt(r.first_feasible_s if r else None, '.2f'):>12}"
            line += f"{_fmt(_ratio(d), '.2f'):>8}  "
            line += ",".join(s for s in solvers if d.get(s) and d[s].proven_optimal) or "-"
            out(line)
        for limit in sorted({r.limit for r in rows}):
            line = f"{'mean':<14}{limit:>6g}"
            for s in solvers:
                gaps = [r.gap_pct for r in rows if r.solver == s and r.limit == limit]
                firsts = [r.first_feasible_s for r in rows if r.solver == s and r.limit == limit]
                g = statistics.fmean(gaps) if gaps and None not in gaps else None
                f = max(firsts) if firsts and None not in firsts else None
                line += f"{_fmt(g, '.3f'):>12}{_fmt(f, '.2f') + ' max':>12}"
            out(line)


def _ratio(d: dict[str, Run]) -> float | None:
    h, c = d.get("hybrid"), d.get("cpsat")
    if not h or not c or h.gap_pct is None or c.gap_pct is None:
        return None
    if c.gap_pct <= 1e-9:
        return 1.0 if h.gap_pct <= 1e-9 else math.inf
    return h.gap_pct / c.gap_pct


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", default="gap,fjsp,jsp,small,synthetic")
    ap.add_argument("--instances", default=None, help="comma list (default: per set)")
    ap.add_argument("--limits", default="10,60", help="seconds, comma list")
    ap.add_argument("--solvers", default="hybrid,cpsat")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="few instances, 10 s only (minutes)")
    ap.add_argument("--json", default=None, help="also write every run to this file")
    ap.add_argument(
        "--benchmarks-dir",
        default=None,
        help=f"instance folder (default: ${ENV_VAR}, else ../shared/benchmarks of the checkout)",
    )
    args = ap.parse_args(argv)
    if args.benchmarks_dir:
        os.environ[ENV_VAR] = args.benchmarks_dir  # every loader reads it from here on
    if not benchmarks_dir().is_dir():
        print(f"benchmarks not found at {benchmarks_dir()}; set QP_BENCHMARKS_DIR", file=sys.stderr)
        return 2
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    limits = [float(x) for x in ("10" if args.quick else args.limits).split(",")]
    solvers = [s.strip() for s in args.solvers.split(",")]
    chosen = args.instances.split(",") if args.instances else None
    warm_up()
    runs: list[Run] = []
    for set_name in sets:
        pool = (QUICK_INSTANCES if args.quick else DEFAULT_INSTANCES)[set_name]
        names = [n for n in chosen if _belongs(set_name, n)] if chosen else pool
        for name in names:
            problem = _load(set_name, name)
            ref, direction = _reference(set_name, name, problem)
            for limit in limits:
                for s in solvers:
                    r = run_one(
                        set_name, name, problem, s, limit, args.workers, args.seed, ref, direction
                    )
                    runs.append(r)
                    print(
                        f"  {set_name}/{name} {s} {limit:g}s: value={_fmt(r.value, '.1f')} "
                        f"gap={_fmt(r.gap_pct, '.3f')}% first={_fmt(r.first_feasible_s)}s "
                        f"wall={r.wall_s:.1f}s {r.status}",
                        flush=True,
                    )
    report(runs, solvers)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([asdict(r) for r in runs], fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
