"""The list scheduler: precedence, windows, availability, gap insertion."""

from quantum_planner import Agent, Problem, Task
from quantum_planner.objectives import evaluate, objective_key
from quantum_planner.scheduling import build_schedule, precedence_order


def _problem(**kw):
    agents = [Agent("a", skills=["x"]), Agent("b", skills=["x"], available_from=3)]
    tasks = [
        Task("t1", duration=2),
        Task("t2", duration=1, dependencies=["t1"]),
        Task("t3", duration=1, earliest_start=5),
    ]
    return Problem(agents=agents, tasks=tasks, **kw)


def test_precedence_order_puts_prerequisites_first_even_when_ranked_later():
    p = _problem()
    assert precedence_order(p, ["t2", "t1", "t3"]) == ["t1", "t2", "t3"]


def test_schedule_respects_precedence_release_and_availability():
    p = _problem()
    s = build_schedule(p, {"t1": "a", "t2": "b", "t3": "a"})
    assert s["a"]["t1"] == (0.0, 2.0)
    assert s["b"]["t2"] == (3.0, 4.0)  # agent b is available from 3
    assert s["a"]["t3"] == (5.0, 6.0)  # release time 5


def test_insert_mode_fills_an_idle_gap():
    agents = [Agent("a"), Agent("b")]
    tasks = [
        Task("long", duration=4),
        Task("late", duration=1, dependencies=["long"]),
        Task("short", duration=1),
    ]
    p = Problem(agents=agents, tasks=tasks)
    order = ["long", "late", "short"]
    plain = build_schedule(p, {"long": "b", "late": "a", "short": "a"}, order)
    gapped = build_schedule(p, {"long": "b", "late": "a", "short": "a"}, order, insert=True)
    assert plain["a"]["short"] == (5.0, 6.0)
    assert gapped["a"]["short"] == (0.0, 1.0)


def test_objectives_and_lexicographic_key():
    p = _problem(objective=["maximize_priority", "minimize_makespan"])
    assignments = {"t1": "a", "t2": "a", "t3": "a"}
    values = evaluate(p, assignments, build_schedule(p, assignments))
    assert values["minimize_makespan"] == 6.0
    assert values["maximize_priority"] == 3.0
    # busy time 4 on a, 0 on b: variance ((4-2)^2 + (0-2)^2) / 2
    assert values["balance_load"] == 4.0
    assert objective_key(p, values) == (-3.0, 6.0)
