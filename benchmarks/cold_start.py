"""Cold start: the first time-limited call of a fresh process, empty numba cache vs warm.

Each run is a new Python process doing one
``SimulatedAnnealingSampler().sample(bqm, time_limit=LIMIT)`` on a G-set graph
(max-cut as an Ising model). ``cold``: its own empty ``NUMBA_CACHE_DIR``, as in
a new container or CI run. ``warm``: a cache filled beforehand (by the first
cold run). ``--src`` points at another source tree (e.g. a checkout before the
cold-start rule) to compare with. Prints one line per run and a summary.

Example::

    PYTHONPATH=src python benchmarks/cold_start.py --graph G1 --reps 3 --limit 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GRAPHS = Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks" / "maxcut_gset"

CHILD = r"""
import json, sys, time
import dimod
from quantum_planner.samplers import SimulatedAnnealingSampler
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:] if l.strip()]
edges = {(int(a) - 1, int(b) - 1): float(w) for a, b, w in rows}
bqm = dimod.BinaryQuadraticModel.from_ising({}, edges)
t = time.perf_counter()
ss = SimulatedAnnealingSampler().sample(bqm, time_limit=float(sys.argv[2]), seed=int(sys.argv[3]))
wall = time.perf_counter() - t
cut = (sum(edges.values()) - float(ss.first.energy)) / 2
print(json.dumps({"cut": cut, "wall": wall, "compile": ss.info.get("compile_seconds"),
                  "sweeps": int(ss.record.num_sweeps.max()), "timed_out": ss.info["timed_out"]}))
"""


def one(graph: Path, limit: float, seed: int, cache: str, src: str | None) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(graph), str(limit), str(seed)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", default="G1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--limit", type=float, default=3.0)
    ap.add_argument("--src", default=None, help="PYTHONPATH of the tree to measure")
    args = ap.parse_args()
    graph = GRAPHS / "graphs" / f"{args.graph}.txt"
    best = None
    table = GRAPHS / "best_known.csv"
    if table.is_file():
        for line in table.read_text().splitlines():
            parts = line.split(",")
            if parts[0] == args.graph:
                best = float(parts[3])
    results: dict[str, list[dict]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as warm_cache:
        for rep in range(args.reps):
            with tempfile.TemporaryDirectory() as cold_cache:
                results["cold"].append(one(graph, args.limit, rep, cold_cache, args.src))
            if rep == 0:
                one(graph, args.limit, rep, warm_cache, args.src)  # fills the warm cache
            results["warm"].append(one(graph, args.limit, rep, warm_cache, args.src))
            for kind in ("cold", "warm"):
                print(kind, rep, json.dumps(results[kind][-1]), flush=True)
    for kind, runs in results.items():
        cuts = [r["cut"] for r in runs]
        gap = "" if best is None else f", gap to best known {best:g}: "
        gap += "" if best is None else f"{100 * (best - statistics.mean(cuts)) / best:.2f}%"
        print(
            f"{kind}: cut mean {statistics.mean(cuts):.1f} (min {min(cuts):g}, max {max(cuts):g})"
            f"{gap}, wall mean {statistics.mean(r['wall'] for r in runs):.1f} s, "
            f"compile {[r['compile'] for r in runs]}"
        )
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
