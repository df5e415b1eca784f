"""The re-planning benchmark's verdict: the issue's targets, read off one run's rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "replan.py"
_spec = importlib.util.spec_from_file_location("bench_replan", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_replan"] = bench
_spec.loader.exec_module(bench)


def _run(ours: tuple, fresh: tuple, anchor: tuple, forced: int = 0) -> dict:
    def row(obj: float, moved: int) -> dict:
        return {"objective": obj, "reassigned": moved, "shift": 0.0, "secs": 1.0}

    out = {"ours": row(*ours), "fresh": row(*fresh), "cpsat+hint": row(*anchor)}
    out["ours"]["forced"] = forced
    return out


def test_verdict_reads_the_three_targets():
    v = bench.verdict(_run((100.5, 3), (100, 9), (101, 3)))
    assert v["third"] and v["tol"] and v["vs_c"] and v["undominated"]
    assert v["moved"] == 3 / 9
    v = bench.verdict(_run((101.5, 4), (100, 9), (101, 3)))
    assert not v["third"] and not v["tol"] and not v["vs_c"] and not v["undominated"]


def test_one_third_over_the_tasks_that_could_stay():
    # 8 forced of fresh's 12: one third of 12 is out of reach, of the 4 unforced it is not
    v = bench.verdict(_run((100, 9), (100, 12), (100, 9), forced=8))
    assert not v["third"] and v["third_free"]
    v = bench.verdict(_run((100, 10), (100, 12), (100, 9), forced=8))
    assert not v["third_free"]
