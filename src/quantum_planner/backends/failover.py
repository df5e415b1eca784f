"""The failover executor: run a problem down a chain of backends until one gives a valid plan.

For each backend in the chain, in order:

1. skip it (recorded as ``skipped``) when it is disabled, unconfigured, too large for
   the problem, or its circuit breaker is open;
2. call it in a worker thread with a time budget: the whole remaining time for the last
   backend, else ``1 - failover_reserve_fraction`` of it, capped by the backend's own
   timeout. At the budget the executor stops waiting (and sets the call's ``stop``);
3. transient errors are retried with exponential back-off inside that budget;
   credentials errors are never retried: they trip the breaker and raise a critical
   alert; any other failure, a timeout, or candidates that do not validate, fail over;
4. every candidate is checked by :func:`~quantum_planner.backends.integrity.candidate_violations`
   (:mod:`quantum_planner.validate`); the best valid one is returned, with ``backends_tried``
   and ``backend_used`` filled in.

Every failover and breaker opening is logged, counted and alerted. When the whole chain
fails, ``QP_FAILOVER_LAST_RESORT`` (``greedy``) gets one try, so a request is not lost
to an outage of the backends the caller preferred.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from quantum_planner.backends.base import (
    Backend,
    FailureKind,
    as_candidates,
    backend_properties,
    classify,
    configuration_problem,
)
from quantum_planner.backends.breaker import BreakerBoard
from quantum_planner.backends.context import BackendContext, default_context
from quantum_planner.backends.counters import Counters
from quantum_planner.backends.credentials import mask
from quantum_planner.backends.integrity import best_valid, candidate_violations
from quantum_planner.backends.threads import spawn
from quantum_planner.config import Settings
from quantum_planner.errors import BackendUnavailableError, CredentialsError
from quantum_planner.model import BackendAttempt, Problem, Solution, Violation

log = logging.getLogger("quantum_planner.failover")

Validator = Callable[[Problem, Solution], list[Violation]]
Alert = Callable[..., Any]

# a solver is asked to finish this share of its budget early, so it returns in time
_SOLVER_SHARE = 0.85
# the last resort always gets at least this long, even past the deadline (it is fast)
_MIN_LAST_RESORT = 0.05
# after a cancel, how long to wait for the backend's best-so-far
_CANCEL_GRACE = 0.2


class _AttemptTimeout(Exception):
    pass


@dataclass
class _Failure:
    kind: FailureKind
    reason: str
    error: BaseException | None = None


@dataclass
class _Run:
    """One solve's bookkeeping along the chain."""

    attempts: list[BackendAttempt] = field(default_factory=list)
    best_invalid: Solution | None = None
    # (name, failure, breaker) of backends whose plans only broke constraints
    deferred: list[tuple[str, _Failure, Any]] = field(default_factory=list)


class FailoverExecutor:
    """Runs solves down a backend chain. One per planner, or shared: it holds no per-solve
    state. Collaborators come from ``context`` (default: :func:`default_context`, looked up
    at each use); any of them can also be passed alone (tests).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        context: BackendContext | None = None,
        breakers: BreakerBoard | None = None,
        counters: Counters | None = None,
        alert: Alert | None = None,
        validator: Validator | None = None,
        resolve: Callable[[str], Backend] | None = None,
        enabled: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._context = context
        self._settings = settings
        self._breakers = breakers
        self._counters = counters
        self.alert = alert or self._alert_async
        self.validator = validator or candidate_violations
        self.resolve = resolve or (lambda name: self.context.get_backend(name))
        self.enabled = enabled or (lambda name: self.context.is_enabled(name))
        self.clock = clock
        self.sleep = sleep

    def _alert_async(self, message: str, severity: str, **labels: Any) -> None:
        self.context.alerts.send_async(message, severity, settings=self._settings, **labels)

    @property
    def context(self) -> BackendContext:
        return self._context or default_context()

    @property
    def settings(self) -> Settings:
        return self._settings or self.context.settings

    @property
    def breakers(self) -> BreakerBoard:
        return self._breakers or self.context.breakers

    @property
    def counters(self) -> Counters:
        return self._counters or self.context.counters

    # -- public ------------------------------------------------------------
    def solve(
        self,
        problem: Problem,
        chain: Sequence[str | Backend] | str,
        *,
        time_limit: float,
        seed: int | None = None,
        warm_start: Solution | None = None,
        stop: threading.Event | None = None,
        progress: Callable[[Any], None] | None = None,
        last_resort: str | None = "",
        disruption: Any = None,
        reserve: bool = True,
    ) -> Solution:
        """The best valid plan of the first backend in ``chain`` that serves.

        Raises :class:`BackendUnavailableError` (``details['attempts']``; attribute
        ``best_invalid``: the invalid plan with fewest violations, if any) when none does,
        and :class:`CredentialsError` when one fails on credentials and
        ``QP_FAIL_OVER_ON_CREDENTIALS_ERROR`` is off. ``progress`` goes to backends whose
        ``solve`` accepts it (the local solvers), and so does ``disruption`` (re-planning's
        :class:`~quantum_planner.disruption.DisruptionTerms`). ``last_resort``: backend
        tried when the chain failed; ``""`` (default) takes ``QP_FAILOVER_LAST_RESORT``,
        None turns it off. ``reserve=False``: a backend gets all the time left, none kept
        for the ones after it (a caller with a plan of its own to fall back on).
        """
        start = self.clock()
        deadline = start + max(0.0, time_limit)
        entries = self._entries(chain, last_resort)
        run = _Run()
        for i, (name, backend, is_last_resort) in enumerate(entries):
            if stop is not None and stop.is_set():
                break
            breaker = self.breakers.get(name)
            if not self._gate(run, name, backend, problem, breaker, is_last_resort, deadline):
                continue
            budget = self._budget(
                name,
                deadline - self.clock(),
                later=self._viable_after(entries[i + 1 :], problem) if reserve else 0,
            )
            if is_last_resort:
                budget = max(budget, _MIN_LAST_RESORT)
            t0 = self.clock()
            extras = {"progress": progress, "disruption": disruption}
            result = self._attempt(name, backend, problem, budget, seed, warm_start, stop, extras)
            seconds = self.clock() - t0
            if isinstance(result, Solution):
                breaker.record_success()
                run.attempts.append(
                    BackendAttempt(backend=name, outcome="success", seconds=seconds)
                )
                self.counters.inc("backend_solves_total", backend=name, outcome="success")
                # the problem is feasible after all: plans that broke constraints were faults
                for pending_name, failure, pending_breaker in run.deferred:
                    self._blame(pending_name, failure, pending_breaker)
                return self._finish(problem, result, name, run.attempts, start, seed)
            self._failed(run, name, result, seconds, breaker)
        raise self._exhausted(run)

    def _gate(
        self,
        run: _Run,
        name: str,
        backend: Backend,
        problem: Problem,
        breaker: Any,
        is_last_resort: bool,
        deadline: float,
    ) -> bool:
        """Whether ``name`` is called now; if not, its attempt (skipped, timeout) is recorded."""
        skip = self._skip_reason(name, backend, problem)
        # the last resort is the safety net: its breaker is not consulted
        if skip is None and not breaker.allow() and not is_last_resort:
            skip = f"circuit breaker {breaker.state.value}"
        if skip is not None:
            run.attempts.append(BackendAttempt(backend=name, outcome="skipped", reason=skip))
            self.counters.inc("backend_solves_total", backend=name, outcome="skipped")
            return False
        if deadline - self.clock() <= 0 and not is_last_resort:
            breaker.release_trial()
            run.attempts.append(
                BackendAttempt(backend=name, outcome="timeout", reason="no time left")
            )
            return False
        return True

    def _failed(
        self, run: _Run, name: str, failure: _Failure, seconds: float, breaker: Any
    ) -> None:
        """Record a failed attempt; blame the backend now, or later if it may be the problem."""
        invalid = getattr(failure.error, "best_invalid", None)
        if invalid is not None and (
            run.best_invalid is None or len(invalid.violations) < len(run.best_invalid.violations)
        ):
            run.best_invalid = invalid
        run.attempts.append(self._attempt_record(name, failure, seconds))
        if failure.kind is FailureKind.INVALID and not getattr(failure.error, "corrupted", True):
            # only constraint violations: maybe the problem is infeasible, not the
            # backend broken; held against it only if a later backend finds a plan
            breaker.release_trial()
            run.deferred.append((name, failure, breaker))
        else:
            self._blame(name, failure, breaker)

    def _exhausted(self, run: _Run) -> BackendUnavailableError:
        """The error when no backend served: every attempt, and the least invalid plan."""
        if run.deferred:
            log.info(
                "no backend found a valid plan; invalid plans from %s not held against them "
                "(the problem may be infeasible)",
                ", ".join(n for n, _, _ in run.deferred),
            )
        err = BackendUnavailableError(
            "no backend produced a valid plan: "
            + "; ".join(f"{a.backend} {a.outcome} ({a.reason})" for a in run.attempts),
            attempts=[a.model_dump() for a in run.attempts],
        )
        err.best_invalid = run.best_invalid  # type: ignore[attr-defined]
        return err

    # -- chain ---------------------------------------------------------------
    def _entries(
        self, chain: Sequence[str | Backend] | str, last_resort: str | None
    ) -> list[tuple[str, Backend, bool]]:
        items = [chain] if isinstance(chain, str) else list(chain)
        out: list[tuple[str, Backend, bool]] = []
        seen: set[str] = set()
        for item in items:
            backend = self.resolve(item) if isinstance(item, str) else item
            name = item if isinstance(item, str) else backend.name
            if name not in seen:
                seen.add(name)
                out.append((name, backend, False))
        last = self.settings.failover_last_resort if last_resort == "" else last_resort
        if last and last not in seen and last in self.context.list_backends():
            out.append((last, self.resolve(last), True))
        return out

    def _skip_reason(self, name: str, backend: Backend, problem: Problem) -> str | None:
        if not self.enabled(name):
            return "disabled"
        why = configuration_problem(backend)
        if why:
            return f"unconfigured: {mask(why)}"
        props = backend_properties(backend)
        if props.max_tasks is not None and len(problem.tasks) > props.max_tasks:
            return f"too large: {len(problem.tasks)} tasks > {props.max_tasks}"
        return None

    def _viable_after(self, rest: Sequence[tuple[str, Backend, bool]], problem: Problem) -> int:
        # the last resort does not count: it runs even past the deadline, and is fast
        return sum(
            1
            for name, backend, last_resort in rest
            if not last_resort
            and self._skip_reason(name, backend, problem) is None
            and self.breakers.get(name).would_allow()
        )

    def _budget(self, name: str, remaining: float, *, later: int) -> float:
        s = self.settings
        budget = remaining * (1.0 - s.failover_reserve_fraction) if later else remaining
        cap = s.backend_timeouts.get(name, s.backend_timeout_seconds)
        return min(budget, cap) if cap else budget

    # -- one backend -----------------------------------------------------------
    def _attempt(
        self,
        name: str,
        backend: Backend,
        problem: Problem,
        budget: float,
        seed: int | None,
        warm_start: Solution | None,
        stop: threading.Event | None,
        extras: dict[str, Any],
    ) -> Solution | _Failure:
        s = self.settings
        attempt_deadline = self.clock() + budget
        tries = 0
        while True:
            left = attempt_deadline - self.clock()
            try:
                raw = self._call(backend, problem, left, seed, warm_start, stop, extras)
                return best_valid(name, problem, as_candidates(raw, name), self.validator)
            except _AttemptTimeout:
                return _Failure(FailureKind.TIMEOUT, f"no answer within {budget:.3g}s")
            except Exception as e:
                kind = classify(e)
                failure = _Failure(kind, f"{type(e).__name__}: {mask(e)}", e)
            if kind is not FailureKind.RETRY or tries >= s.max_retries:
                return failure
            delay = min(s.retry_backoff_seconds * 2**tries, s.retry_backoff_max_seconds)
            if self.clock() + delay >= attempt_deadline:
                return failure
            tries += 1
            self.counters.inc("backend_retries_total", backend=name)
            log.info("backend %s: %s; retry %d in %.3gs", name, failure.reason, tries, delay)
            self.sleep(delay)

    def _call(
        self,
        backend: Backend,
        problem: Problem,
        budget: float,
        seed: int | None,
        warm_start: Solution | None,
        outer_stop: threading.Event | None,
        extras: dict[str, Any] | None = None,
    ) -> Any:
        """``backend.solve`` in a daemon thread; give up waiting after ``budget`` seconds.

        ``extras`` (progress, disruption) go to backends whose ``solve`` takes them."""
        if budget <= 0:
            raise _AttemptTimeout
        box: dict[str, Any] = {}
        done = threading.Event()
        stop = threading.Event()
        extra = {
            k: v for k, v in (extras or {}).items() if v is not None and _accepts(backend.solve, k)
        }

        def run() -> None:
            try:
                box["result"] = backend.solve(
                    problem,
                    time_limit=budget * _SOLVER_SHARE,
                    seed=seed,
                    warm_start=warm_start,
                    stop=stop,
                    **extra,
                )
            except BaseException as e:
                box["error"] = e
            finally:
                done.set()

        # a daemon thread: a hung backend cannot block the caller
        spawn(run, f"qp-backend-{backend.name}", stop)
        end = self.clock() + budget
        while not done.is_set():
            left = end - self.clock()
            if left <= 0:
                break
            if outer_stop is not None and outer_stop.is_set():
                stop.set()
                done.wait(_CANCEL_GRACE)
                break
            done.wait(min(left, 0.05))
        if not done.is_set():
            stop.set()
            raise _AttemptTimeout
        if "error" in box:
            raise box["error"]
        return box.get("result")

    # -- bookkeeping -------------------------------------------------------------
    def _attempt_record(self, name: str, failure: _Failure, seconds: float) -> BackendAttempt:
        outcome = {FailureKind.TIMEOUT: "timeout", FailureKind.INVALID: "invalid"}.get(
            failure.kind, "failed"
        )
        self.counters.inc("backend_solves_total", backend=name, outcome=outcome)
        reason = f"{failure.kind.value}: {failure.reason}"
        return BackendAttempt(backend=name, outcome=outcome, reason=reason, seconds=seconds)

    def _blame(self, name: str, failure: _Failure, breaker: Any) -> None:
        """Count a failure against ``name``: breaker, log, counters and alerts."""
        kind = failure.kind
        reason = f"{kind.value}: {failure.reason}"
        if kind is FailureKind.CREDENTIALS:
            self.counters.inc("credentials_errors_total", backend=name)
            log.error("backend %s: credentials rejected: %s", name, failure.reason)
            self.alert(
                f"backend {name}: credentials rejected ({failure.reason}); check them with "
                "test_credentials() and renew",
                "critical",
                alertname="BackendCredentials",
                backend=name,
            )
        opened = breaker.record_failure(reason, trip=kind is FailureKind.CREDENTIALS)
        if opened:
            self.counters.inc("breaker_opened_total", backend=name)
            log.warning(
                "circuit breaker for backend %s opened (%s); retry after %gs",
                name,
                reason,
                breaker.reset_seconds,
            )
            self.alert(
                f"circuit breaker for backend {name} opened: {reason}",
                "critical",
                alertname="BackendCircuitOpen",
                backend=name,
            )
        if kind is FailureKind.CREDENTIALS and not self.settings.fail_over_on_credentials_error:
            raise CredentialsError(f"backend {name}: {failure.reason}", backend=name)
        self.counters.inc("backend_failovers_total", backend=name, reason=kind.value)
        log.warning("failover: backend %s left (%s)", name, reason)
        self.alert(
            f"failover: backend {name} left ({reason})",
            "warning",
            alertname="BackendFailover",
            backend=name,
        )

    def _finish(
        self,
        problem: Problem,
        sol: Solution,
        name: str,
        attempts: list[BackendAttempt],
        start: float,
        seed: int | None,
    ) -> Solution:
        values = sol.objectives
        update: dict[str, Any] = {
            "status": "optimal" if sol.status == "optimal" else "feasible",
            "backend_used": name,
            "backends_tried": attempts,
            "wall_time": self.clock() - start,
            "makespan": values.get("minimize_makespan", sol.makespan),
            "feasible": True,
            "violations": [],
            "unassigned": [t.id for t in problem.tasks if t.id not in sol.assignments],
        }
        if seed is not None:
            update["seed"] = seed
        return sol.model_copy(update=update)


def _accepts(fn: Callable[..., Any], param: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return param in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
