"""How time to first plan, quality and memory grow with problem size (hybrid vs CP-SAT).

Instances: seeded synthetic assignment problems (skills, capacities, costs; the
distribution of ``planner.py``'s ``synth100x2000``, generated vectorised) at
100 x 2,000, 300 x 10,000 and 1,000 x 50,000, and the largest public
instances in ``../shared/benchmarks`` (GAP e801600: 80 x 1,600; FJSP mk10 and
JSP la05 for the scheduling path). The synthetic's skill count grows with the
number of agents (12 per 100 agents) so a task stays eligible for ~20 agents
at every size, as in 100 x 2,000; with 12 skills at 1,000 agents each task
would have ~210 eligible agents (10 M pairs) and the Problem object alone
would pass 4 GiB.

The parent generates each instance once, computes its reference (LP bound:
synthetic and GAP; best known: FJSP, JSP) and pickles it; each (instance,
solver) then runs in a fresh child process over the limits, so peak memory
(``VmHWM``: the loaded problem, compilation, the solves) is its own. The
child warms the numba kernels first (``quantum_planner.warmup``: cache loads
after the first run), so no timing includes compilation. Reported: time to
the first valid plan (from the solve's start), gap at each limit, peak RSS,
generation and LP seconds, and a log-log slope of first-plan time against
the number of tasks. CP-SAT and the hybrid both get 2 workers.

Examples::

    PYTHONPATH=src python benchmarks/scale.py --quick          # 10 s, both solvers
    PYTHONPATH=src python benchmarks/scale.py --limits 10,60   # minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZES = [(100, 2_000), (300, 10_000), (1_000, 50_000)]
PUBLIC = [("gap", "e801600"), ("fjsp", "mk10"), ("jsp", "la05")]


def synthetic(n_agents: int, n_tasks: int, seed: int = 0, slack: float = 1.15) -> Any:
    """``planner.synthetic_problem``'s distribution, vectorised; skills grow with agents.

    Agents have 3-5 of ``max(12, 12 * n_agents / 100)`` skills, a speed in
    [0.7, 1.3] and a cost rate in [1, 3]; each task needs 1-2 skills of one
    agent (so someone can do it), a base duration in [1, 10]; per eligible
    agent its duration is base / speed x U(0.9, 1.1), its cost rate x duration
    x U(0.8, 1.2), its load the duration. Capacities: ``slack`` x an even
    share of the expected load, +-20%.
    """
    from planner import staffed_problem  # benchmarks/, beside this script

    from quantum_planner.model import Task

    rng = np.random.default_rng(seed)
    n_skills = max(12, round(12 * n_agents / 100))
    names = [f"s{k}" for k in range(n_skills)]
    has = np.zeros((n_agents, n_skills), dtype=bool)
    agent_skills = []
    for a in range(n_agents):
        chosen = rng.choice(n_skills, size=int(rng.integers(3, 6)), replace=False)
        has[a, chosen] = True
        agent_skills.append(np.sort(chosen))
    speed = rng.uniform(0.7, 1.3, n_agents)
    rate = rng.uniform(1.0, 3.0, n_agents)
    owners = rng.integers(n_agents, size=n_tasks)
    counts = rng.integers(1, 3, size=n_tasks)
    bases = rng.integers(1, 11, size=n_tasks).astype(float)
    tasks, expected = [], 0.0
    agent_ids = [f"a{a}" for a in range(n_agents)]
    for t in range(n_tasks):
        req = np.sort(rng.choice(agent_skills[owners[t]], size=int(counts[t]), replace=False))
        elig = np.flatnonzero(has[:, req].all(axis=1))
        durs = np.round(bases[t] / speed[elig] * rng.uniform(0.9, 1.1, elig.size), 2)
        costs = np.round(rate[elig] * durs * rng.uniform(0.8, 1.2, elig.size), 2)
        expected += float(durs.mean())
        ids = [agent_ids[a] for a in elig]
        d = dict(zip(ids, durs.tolist(), strict=True))
        tasks.append(
            Task(
                id=f"t{t}",
                required_skills=[names[k] for k in req],
                duration=float(bases[t]),
                durations=d,
                costs=dict(zip(ids, costs.tolist(), strict=True)),
                loads=dict(d),
                load=float(bases[t]),
            )
        )
    share = expected / n_agents
    caps = slack * share * rng.uniform(0.8, 1.2, n_agents)
    return staffed_problem([[names[k] for k in s] for s in agent_skills], caps, rate, tasks)


def _load(name: str) -> tuple[Any, str]:
    """The problem and its reference kind ('lp' or 'best')."""
    if name.startswith("synth"):
        m, n = (int(x) for x in name[5:].split("x"))
        return synthetic(m, n), "lp"
    from quantum_planner.instances import load_instance

    set_name, inst = name.split("/")
    return load_instance(set_name, inst), ("lp" if set_name == "gap" else "best")


def _reference(name: str, problem: Any, kind: str) -> float | None:
    if kind == "lp":
        from quantum_planner.solvers.dense_view import compile_problem
        from quantum_planner.solvers.lp import lp_on_pairs
        from quantum_planner.solvers.sparse_form import sparse_extended

        # on the eligible pairs: no dense (n, m) matrix in this process either
        f = sparse_extended(compile_problem(problem))
        lp = lp_on_pairs(f.row, f.col, f.W, f.L, f.n, f.cap, 600.0)
        return lp[0] if lp else None
    from quantum_planner.instances import best_known

    row = best_known(name.split("/")[0]).get(name.split("/")[1])
    return row.value if row else None


def child(path: str, solver_name: str, limits: list[float], seed: int) -> dict[str, Any]:
    """One pickled instance and one solver, at each limit (runs in its own process)."""
    from quantum_planner.solvers.cpsat import CPSATSolver
    from quantum_planner.solvers.hybrid import HybridSolver
    from quantum_planner.validate import validate
    from quantum_planner.warmup import warmup

    warmup(only=["SimulatedAnnealingSampler", "hybrid", "shop"])
    with open(path, "rb") as fh:
        problem, kind = pickle.load(fh)
    runs = []
    for limit in limits:
        if solver_name == "hybrid":
            solver: Any = HybridSolver(num_workers=2)
        else:
            solver = CPSATSolver(num_workers=2, deterministic=False)
        t = time.perf_counter()
        sol = solver.solve(problem, time_limit=limit, seed=seed)
        wall = time.perf_counter() - t
        t = time.perf_counter()
        ok = bool(sol.assignments) and not validate(problem, sol)
        validate_s = time.perf_counter() - t
        meta = sol.metadata.get("hybrid") or {}
        first = meta.get("first_feasible_s") if solver_name == "hybrid" else None
        first = first if first is not None else sol.metadata.get("first_solution_s")
        value = None
        if ok:
            value = sol.objectives.get("minimize_cost") if kind == "lp" else sol.makespan
        runs.append({"limit": limit, "first_s": first if ok else None, "value": value})
        runs[-1].update(wall_s=wall, status=sol.status if ok else "no valid plan")
        # the path taken, kernel preparation outside the limit (0 after warmup), the
        # independent validator's time on the returned plan
        runs[-1].update(path=meta.get("path"), validate_s=validate_s)
        runs[-1].update(
            prepare_s=meta.get("compile_seconds", 0) + meta.get("cache_load_seconds", 0)
        )
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child
    # would report the parent's peak (the generator's) when that is higher
    peak = _vm_hwm_mib()
    # the hybrid's LP runs in a forked child: its peak (ru_maxrss, >= ours) apart
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"runs": runs, "peak_rss_mib": peak, "peak_child_rss_mib": kids}


def _vm_hwm_mib() -> float:
    """This process's peak resident set (``VmHWM``), MiB; ru_maxrss where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(name: str, folder: Path) -> dict[str, Any]:
    """Generate or load ``name``, its reference value, and pickle it for the children."""
    t = time.perf_counter()
    problem, kind = _load(name)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    ref = _reference(name, problem, kind)
    path = folder / f"{name.replace('/', '_')}.pickle"
    with open(path, "wb") as fh:
        pickle.dump((problem, kind), fh, protocol=pickle.HIGHEST_PROTOCOL)
    info = {"instance": name, "tasks": len(problem.tasks), "agents": len(problem.agents)}
    info.update(path=str(path), ref=ref, generate_s=gen_s, ref_s=time.perf_counter() - t)
    return info


def run_child(info: dict, solver: str, limits: list[float], seed: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", info["path"], "--solvers", solver]
    cmd += ["--seed", str(seed), "--limits", ",".join(f"{x:g}" for x in limits)]
    out = {k: v for k, v in info.items() if k != "path"} | {"solver": solver}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return out | {"error": f"no result in {timeout:g} s"}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return out | {"error": tail[0]}
    out.update(json.loads(done.stdout.strip().splitlines()[-1]))
    for r in out["runs"]:
        ref, value = info["ref"], r["value"]
        r["gap_pct"] = None if value is None or not ref else 100.0 * (value - ref) / abs(ref)
    return out


def _f(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report(results: list[dict], limits: list[float]) -> None:
    head = "| instance | tasks | solver | first plan (s) |"
    head += "".join(f" gap @{x:g}s (%) |" for x in limits) + " peak RSS (MiB) | child |"
    print("\n" + head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in results:
        if "error" in r:
            print(f"| {r['instance']} | - | {r['solver']} | error: {r['error']} |")
            continue
        first = min((x["first_s"] for x in r["runs"] if x["first_s"] is not None), default=None)
        gaps = {x["limit"]: x["gap_pct"] for x in r["runs"]}
        line = f"| {r['instance']} | {r['tasks']:,} | {r['solver']} | {_f(first, '.2f')} |"
        line += "".join(f" {_f(gaps.get(x), '.3f')} |" for x in limits)
        print(line + f" {r['peak_rss_mib']:,.0f} | {r['peak_child_rss_mib']:,.0f} |")
    # log-log growth of the first plan time over the synthetic sizes
    for solver in dict.fromkeys(r["solver"] for r in results):
        pts = [
            (r["tasks"], min(x["first_s"] for x in r["runs"] if x["first_s"] is not None))
            for r in results
            if r["solver"] == solver
            and r["instance"].startswith("synth")
            and "error" not in r
            and any(x["first_s"] for x in r["runs"])
        ]
        if len(pts) >= 2:
            xs, ys = np.log([p[0] for p in pts]), np.log([max(p[1], 1e-3) for p in pts])
            slope = float(np.polyfit(xs, ys, 1)[0])
            print(f"\n{solver}: first-plan time ~ tasks^{slope:.2f} over {len(pts)} sizes")
            for n, s in pts:
                print(f"  log10(tasks)={math.log10(n):.2f}  log10(first s)={math.log10(s):.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instances", default=None, help="comma list: synthMxN or set/name")
    ap.add_argument("--solvers", default="hybrid,cpsat")
    ap.add_argument("--limits", default="10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="10 s only (the default limits)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="per child process, seconds")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)  # a pickled problem
    args = ap.parse_args()
    limits = [float(x) for x in ("10" if args.quick else args.limits).split(",")]
    if args.child:
        print(json.dumps(child(args.child, args.solvers, limits, args.seed)))
        return 0
    names = (
        args.instances.split(",")
        if args.instances
        else [f"synth{m}x{n}" for m, n in SIZES] + [f"{s}/{i}" for s, i in PUBLIC]
    )
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            info = prepare(name, Path(folder))
            for solver in args.solvers.split(","):
                r = run_child(info, solver, limits, args.seed, args.timeout)
                results.append(r)
                print(json.dumps(r), flush=True)
    report(results, limits)
    print(f"\nload average after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
