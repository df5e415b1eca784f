"""Pareto fronts: ours (``planner.pareto``) against pymoo's NSGA-II, side by side, in one run.

For every instance and time limit three runs follow one another on the same
machine, each given the same wall-clock limit T:

* **ours**: ``QuantumTaskPlanner(backend="auto").pareto(problem, objectives, time_limit=T)``;
* **nsga2**: pymoo's NSGA-II (population 200 shop / 50 GAP, SBX + polynomial mutation, a repair
  operator so every individual is a valid plan, an archive of every non-dominated
  plan it evaluated; ``pareto_nsga.py`` says how), stopped after T seconds;
* **hybrid** (flexible job shop only): ``HybridSolver`` on makespan alone for T
  seconds, the single-objective result our front's makespan end is held against.

Instances and objectives (both minimised):

* Brandimarte mk01-mk10 (``fjsp``): makespan vs total workload (the sum of the
  chosen machines' processing times). Workload enters the model as cost: each
  operation's cost on a machine is its time there, so ``minimize_cost`` is the
  total workload. Published values quoted beside them: the best-known makespan
  (``best_known.csv``: FJSPLib) and the least total workload (every operation on
  its fastest machine; exact), the two ends' best values, i.e. the ideal point.
* Yagiura GAP types C and E (``gap``): cost vs load balance. Load balance is the
  project's ``balance_load`` (population variance of the agents' busy time), with
  each task's duration on an agent set to its load there, so busy time is the
  agent's load. Reference quoted: the best-known cost (``best_known.csv``).

Every plan of both fronts is re-scored by ``quantum_planner.objectives.evaluate``
and checked by ``quantum_planner.validate.validate``; an invalid plan is dropped
and counted. Hypervolume (``quantum_planner.tradeoffs.hypervolume``, the same
code for both; cross-checked against pymoo's ``HV``) uses one reference point per
instance and limit: on each objective, 1.1 x the worst value among the valid
plans of both fronts (all values are positive), so each front's extreme points
count and neither method picks the box.

Examples::

    PYTHONPATH=src python benchmarks/pareto.py --quick
    PYTHONPATH=src python benchmarks/pareto.py --time-limits 10
    PYTHONPATH=src python benchmarks/pareto.py --sets fjsp --instances mk01,mk06 --time-limits 60
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pareto_nsga beside this file

from pareto_nsga import run_nsga2, warm

from quantum_planner import QuantumTaskPlanner
from quantum_planner.instances import best_known, load_instance
from quantum_planner.model import Objective, Problem, Solution
from quantum_planner.objectives import evaluate
from quantum_planner.solvers.hybrid import HybridSolver
from quantum_planner.tradeoffs import hypervolume
from quantum_planner.validate import validate

INSTANCES = {
    "fjsp": [f"mk{i:02d}" for i in range(1, 11)],
    "gap": ["c10400", "c20400", "c40400", "e10400", "e20400", "e40400"],
}
QUICK = {"fjsp": ["mk01", "mk04"], "gap": ["c10400"]}
OBJECTIVES = {
    "fjsp": [Objective.MINIMIZE_MAKESPAN, Objective.MINIMIZE_COST],
    "gap": [Objective.MINIMIZE_COST, Objective.BALANCE_LOAD],
}


def bi_objective(set_name: str, name: str) -> Problem:
    """The instance with the two objectives of its set (see the module docstring)."""
    base = load_instance(set_name, name)
    if set_name == "fjsp":  # workload as cost: an operation costs its time on the machine
        tasks = [t.model_copy(update={"costs": dict(t.durations)}) for t in base.tasks]
    else:  # busy time = load, so balance_load balances the loads
        tasks = [t.model_copy(update={"durations": dict(t.loads)}) for t in base.tasks]
    objs = [o.value for o in OBJECTIVES[set_name]]
    return Problem(name=name, agents=base.agents, tasks=tasks, objective=objs)


def published(set_name: str, name: str, problem: Problem) -> dict[str, float | None]:
    """Best-known values at the front's ends (see the module docstring)."""
    row = best_known(set_name).get(name)
    if set_name == "fjsp":
        least_work = sum(min(t.durations.values()) for t in problem.tasks)
        return {"makespan_bk": row.value if row else None, "workload_min": least_work}
    return {"cost_bk": row.value if row else None}


def scored(problem: Problem, plans: list[Solution]) -> tuple[list[tuple[float, ...]], int]:
    """Objective vectors of the valid plans (re-evaluated), and how many were invalid."""
    names = [o.value for o in problem.objectives]
    out, bad = [], 0
    for sol in plans:
        if not sol.assignments or validate(problem, sol):
            bad += 1
            continue
        values = evaluate(problem, sol.assignments, sol.schedule)
        out.append(tuple(values[n] for n in names))
    return out, bad


def non_dominated(points: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The distinct minimised vectors no other vector dominates, sorted."""
    pts = sorted(set(points))
    return [
        p
        for p in pts
        if not any(all(a <= b for a, b in zip(q, p, strict=True)) and q != p for q in pts)
    ]


def _pymoo_hv(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=np.array(ref))(np.array(points))) if points else 0.0


def run_ours(problem: Problem, limit: float, seed: int) -> dict[str, Any]:
    planner = QuantumTaskPlanner(backend="auto", seed=seed)
    objs = [o.value for o in problem.objectives]
    t0 = time.perf_counter()
    front = planner.pareto(problem, objectives=objs, time_limit=limit, seed=seed)
    elapsed = time.perf_counter() - t0
    plans = [p.solution for p in front.points]
    return {"solutions": plans, "elapsed": elapsed, "complete": front.complete, "knee": front.knee}


def run_hybrid(problem: Problem, limit: float, seed: int) -> float | None:
    single = problem.model_copy(update={"objective": Objective.MINIMIZE_MAKESPAN})
    sol = HybridSolver(num_workers=2).solve(single, time_limit=limit, seed=seed)
    return sol.makespan if sol.assignments and not validate(single, sol) else None


def run_instance(set_name: str, name: str, limit: float, seed: int) -> dict[str, Any]:
    """Ours, NSGA-II and (shop) the hybrid at one limit; both fronts scored alike."""
    problem = bi_objective(set_name, name)
    row: dict[str, Any] = {"set": set_name, "instance": name, "limit": limit}
    row["load_before"] = os.getloadavg()[0]
    runs = {
        "ours": run_ours(problem, limit, seed),
        "nsga2": run_nsga2(problem, set_name, limit, seed),
    }
    fronts = {}
    for method, r in runs.items():
        pts, bad = scored(problem, r["solutions"])
        fronts[method] = non_dominated(pts)
        row[method] = {"front": len(fronts[method]), "invalid": bad, "elapsed": r["elapsed"]}
        row[method].update({k: v for k, v in r.items() if k not in ("solutions", "elapsed")})
    every = fronts["ours"] + fronts["nsga2"]
    ref = tuple(1.1 * max(p[i] for p in every) for i in range(2)) if every else (0.0, 0.0)
    row["reference"] = ref
    for method, pts in fronts.items():
        hv = hypervolume(pts, ref, (1, 1)) if pts else 0.0
        check = _pymoo_hv(pts, ref)
        if abs(hv - check) > 1e-6 * max(1.0, abs(check)):
            print(f"    WARNING {method}: hypervolume {hv!r} but pymoo's HV says {check!r}")
        row[method].update(hv=hv, points=pts)
    if set_name == "fjsp":
        row["hybrid_makespan"] = run_hybrid(problem, limit, seed)
        row["ours"]["makespan_end"] = min((p[0] for p in fronts["ours"]), default=None)
        row["nsga2"]["makespan_end"] = min((p[0] for p in fronts["nsga2"]), default=None)
    row.update(published(set_name, name, problem))
    row["load_after"] = os.getloadavg()[0]
    return row


def _f(x: Any, spec: str = "g") -> str:
    return "-" if x is None else format(x, spec)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(rows: list[dict[str, Any]]) -> None:
    """Markdown tables: hypervolume and front size per instance; the shop's makespan end."""
    head = "| instance | T (s) | HV ours | HV NSGA-II | HV ours/NSGA-II | front ours | "
    head += "front NSGA-II | ours s (complete) | invalid ours/NSGA-II | NSGA-II gens | "
    head += "reference point | load |"
    print("\n" + head)
    print("|" + "---|" * 12)
    for r in rows:
        o, n = r["ours"], r["nsga2"]
        ref = ", ".join(f"{x:.6g}" for x in r["reference"])
        print(
            f"| {r['instance']} | {r['limit']:g} | {o['hv']:.6g} | {n['hv']:.6g} | "
            f"{_f(_ratio(o['hv'], n['hv']), '.3f')} | {o['front']} | {n['front']} | "
            f"{o['elapsed']:.1f} ({'yes' if o['complete'] else 'no'}) | "
            f"{o['invalid']}/{n['invalid']} | {n['generations']} | ({ref}) | "
            f"{r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    shop = [r for r in rows if r["set"] == "fjsp"]
    if shop:
        print("\n| instance | T (s) | makespan end ours | hybrid makespan | ours/hybrid | "
              "makespan end NSGA-II | best-known makespan | workload end ours | "
              "workload end NSGA-II | least workload |")  # fmt: skip
        print("|" + "---|" * 10)
        for r in shop:
            o, n = r["ours"], r["nsga2"]
            wo = min((p[1] for p in o["points"]), default=None)
            wn = min((p[1] for p in n["points"]), default=None)
            print(
                f"| {r['instance']} | {r['limit']:g} | {_f(o['makespan_end'])} | "
                f"{_f(r['hybrid_makespan'])} | "
                f"{_f(_ratio(o['makespan_end'], r['hybrid_makespan']), '.3f')} | "
                f"{_f(n['makespan_end'])} | {_f(r['makespan_bk'])} | {_f(wo)} | {_f(wn)} | "
                f"{_f(r['workload_min'])} |"
            )
    wins = sum(r["ours"]["hv"] > r["nsga2"]["hv"] for r in rows)
    print(f"\nours has the higher hypervolume in {wins} of {len(rows)} runs")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="fjsp,gap")
    ap.add_argument("--instances", default=None, help="comma-separated names (default: all)")
    ap.add_argument("--time-limits", default="10", help="comma-separated seconds per method")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="mk01, mk04, c10400 at 5 s")
    ap.add_argument("--json", default=None, help="write every row (with the fronts) here")
    args = ap.parse_args(argv)
    limits = [5.0] if args.quick else [float(x) for x in args.time_limits.split(",")]
    from quantum_planner.warmup import warmup

    warmup(only=["SimulatedAnnealingSampler", "hybrid", "shop"])
    warm(bi_objective("fjsp", "mk01"), bi_objective("gap", "c10400"))
    rows = []
    for set_name in args.sets.split(","):
        names = (QUICK if args.quick else INSTANCES)[set_name]
        if args.instances:
            names = [n for n in args.instances.split(",") if n in INSTANCES[set_name]]
        for name in names:
            for limit in limits:
                print(f"{set_name}/{name} T={limit:g}s  [{_uptime()}]", flush=True)
                r = run_instance(set_name, name, limit, args.seed)
                rows.append(r)
                for m in ("ours", "nsga2"):
                    x = r[m]
                    ends = f"{x['points'][0]} .. {x['points'][-1]}" if x["points"] else "-"
                    line = f"    {m:6s} HV {x['hv']:.6g} front {x['front']} invalid "
                    print(line + f"{x['invalid']} {x['elapsed']:.1f}s  ends {ends}", flush=True)
                if set_name == "fjsp":
                    print(f"    hybrid makespan {_f(r['hybrid_makespan'])}", flush=True)
    report(rows)
    print(f"\n[{_uptime()}]")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
