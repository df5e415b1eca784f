"""Small real backends for tests: plans built with scheduling.build_schedule + make_solution,
and wrappers that inject faults (hang, transient errors, credential errors, corrupted plans)."""

from __future__ import annotations

import http.server
import json
import random
import threading
import time
from collections.abc import Callable

from quantum_planner.backends.base import BackendKind, BackendProperties, BaseBackend
from quantum_planner.errors import (
    BackendUnavailableError,
    CredentialsError,
    TransientBackendError,
)
from quantum_planner.model import Agent, Problem, Solution, Task
from quantum_planner.scheduling import build_schedule
from quantum_planner.solvers.base import make_solution


def make_problem(n_tasks: int = 8, n_agents: int = 3, seed: int = 0) -> Problem:
    """A random feasible problem: skills, durations, a few dependencies, no capacities."""
    rng = random.Random(seed)
    skills = ["a", "b", "c"]
    agents = [Agent(f"ag{i}", skills=[skills[i % 3], skills[(i + 1) % 3]]) for i in range(n_agents)]
    tasks = []
    for i in range(n_tasks):
        deps = [f"t{j}" for j in range(i) if rng.random() < 0.15][:2]
        tasks.append(
            Task(
                f"t{i}",
                required_skills=[rng.choice(skills)],
                duration=rng.randint(1, 5),
                priority=rng.randint(1, 9),
                dependencies=deps,
            )
        )
    return Problem(agents=agents, tasks=tasks)


def least_loaded_plan(problem: Problem, backend: str) -> Solution:
    """Each task (in precedence order) to its least-loaded eligible agent."""
    load = {a.id: 0.0 for a in problem.agents}
    assignments: dict[str, str] = {}
    for tid in problem.topological_order():
        task = problem.task(tid)
        eligible = problem.eligible_agents(task)
        if not eligible:
            continue
        agent = min(eligible, key=lambda a: load[a.id])
        assignments[tid] = agent.id
        load[agent.id] += task.duration_on(agent.id)
    return make_solution(
        problem, assignments, build_schedule(problem, assignments), backend=backend
    )


class PlanBackend(BaseBackend):
    """A reliable classical backend."""

    def __init__(self, name: str = "fake_plan", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.calls = 0
        self.properties = BackendProperties(kind=BackendKind.CLASSICAL, description="test plans")

    def solve(self, problem, *, time_limit, seed=None, warm_start=None, stop=None):
        self.calls += 1
        if self.delay:
            time.sleep(min(self.delay, time_limit))
        return least_loaded_plan(problem, self.name)


def corrupt(sol: Solution, how: str) -> Solution:
    """A plan damaged the ways remote answers get damaged."""
    if how == "unknown_agent":
        tid = next(iter(sol.assignments))
        return sol.model_copy(update={"assignments": {**sol.assignments, tid: "ghost"}})
    if how == "dropped":
        first = next(iter(sol.assignments))
        assignments = {t: a for t, a in sol.assignments.items() if t != first}
        schedule = {
            a: {t: iv for t, iv in ts.items() if t != first} for a, ts in sol.schedule.items()
        }
        return sol.model_copy(update={"assignments": assignments, "schedule": schedule})
    if how == "nan":
        agent, tasks = next((a, ts) for a, ts in sol.schedule.items() if ts)
        tid = next(iter(tasks))
        sched = {**sol.schedule, agent: {**tasks, tid: (float("nan"), float("nan"))}}
        return sol.model_copy(update={"schedule": sched})
    raise ValueError(how)


class FaultyBackend(BaseBackend):
    """Wraps a plan backend; on calls where ``fails(i)`` is true it injects ``fault``.

    Faults: hang (sleeps ``hang`` s, ignoring stop), transient, credentials, unavailable,
    crash (a plain RuntimeError), corrupt (returns damaged plans), wrong_type.
    """

    def __init__(
        self,
        name: str,
        fault: str | Callable[[int], str],
        fails: Callable[[int], bool] = lambda i: True,
        hang: float = 5.0,
    ) -> None:
        self.name = name
        self.fault = fault
        self.fails = fails
        self.hang = hang
        self.calls = 0
        self.lock = threading.Lock()
        self.properties = BackendProperties(kind=BackendKind.QUANTUM, remote=True)

    def solve(self, problem, *, time_limit, seed=None, warm_start=None, stop=None):
        with self.lock:
            i = self.calls
            self.calls += 1
        if self.fails(i):
            fault = self.fault(i) if callable(self.fault) else self.fault
            if fault == "hang":
                time.sleep(self.hang)
            elif fault == "transient":
                raise TransientBackendError("service busy (HTTP 503)", backend=self.name)
            elif fault == "credentials":
                raise CredentialsError("token=sk-SECRET123 rejected (HTTP 401)", backend=self.name)
            elif fault == "unavailable":
                raise BackendUnavailableError("solver offline", backend=self.name)
            elif fault == "crash":
                raise RuntimeError("adapter bug")
            elif fault == "wrong_type":
                return {"not": "a solution"}
            elif fault == "corrupt":
                good = least_loaded_plan(problem, self.name)
                return [corrupt(good, h) for h in ("unknown_agent", "dropped", "nan")]
            else:
                raise ValueError(fault)
        return least_loaded_plan(problem, self.name)


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records every JSON POST."""

    def __init__(self) -> None:
        self.received: list[tuple[str, object]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        out = []
        for _, body in self.received:
            if isinstance(body, dict):
                out.append(body.get("text", ""))
            else:
                out.extend(a["annotations"]["summary"] for a in body)
        return out
