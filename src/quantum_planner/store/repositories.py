"""Repositories: every read and write the service and the job runner make.

Problems and solutions are stored as canonical JSON with a SHA-256 of it;
:func:`load_problem` and :func:`load_solution` recompute the hash and raise
:class:`~quantum_planner.errors.CorruptedDataError` on a mismatch, so a
tampered or damaged row is never served as valid.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from quantum_planner.errors import CorruptedDataError, PlannerError
from quantum_planner.model import Problem, Solution
from quantum_planner.store.db import canonical_json, content_hash
from quantum_planner.store.events import add_event
from quantum_planner.store.tables import (
    FINAL_STATES,
    JOB_STATES,
    JobRow,
    ProblemRow,
    SolutionRow,
    utcnow,
)


def new_id() -> str:
    return uuid.uuid4().hex


def aware(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=UTC)


# --- problems and solutions ---------------------------------------------------


def save_problem(session: Session, problem: Problem, owner_id: str | None) -> ProblemRow:
    text = canonical_json(problem.model_dump(mode="json"))
    row = ProblemRow(
        id=new_id(),
        owner_id=owner_id,
        content=text,
        content_hash=content_hash(text),
        n_agents=len(problem.agents),
        n_tasks=len(problem.tasks),
    )
    session.add(row)
    session.flush()
    return row


def _verified(kind: str, row_id: str, text: str, digest: str) -> Any:
    try:
        data = json.loads(text)
        ok = content_hash(canonical_json(data)) == digest
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise CorruptedDataError(
            f"stored {kind} {row_id} failed its integrity check (content does not match its "
            "hash), so it is not served; re-run the job or restore the row from a backup",
            field=None,
            kind=kind,
            id=row_id,
        )
    return data


def load_problem(row: ProblemRow) -> Problem:
    """The problem of ``row``, after checking its hash."""
    data = _verified("problem", row.id, row.content, row.content_hash)
    try:
        return Problem.from_dict(data)
    except PlannerError:
        raise CorruptedDataError(
            f"stored problem {row.id} no longer validates", kind="problem", id=row.id
        ) from None


def save_solution(
    session: Session,
    solution: Solution,
    *,
    problem_id: str,
    job_id: str | None,
    kind: str,
) -> SolutionRow:
    text = canonical_json(solution.model_dump(mode="json"))
    row = SolutionRow(
        id=new_id(),
        job_id=job_id,
        problem_id=problem_id,
        kind=kind,
        content=text,
        content_hash=content_hash(text),
        feasible=solution.feasible,
        backend=solution.backend_used or "",
    )
    session.add(row)
    session.flush()
    return row


def record_progress(session: Session, job: JobRow, msg: dict[str, Any]) -> None:
    """Store a solver's progress message (and its best plan so far) on a running job.

    A better objective value (or the solve's start) also becomes a ``progress`` event.
    """
    improved = msg["best"] is not None and msg["best"] != job.progress_best
    job.progress_elapsed = msg["elapsed"]
    job.progress_fraction = msg["fraction"]
    job.progress_best = msg["best"]
    job.progress_message = msg["message"] or None
    job.heartbeat_at = utcnow()
    if msg["solution"]:
        upsert_best(session, job, Solution.model_validate_json(msg["solution"]))
    if improved or msg.get("started"):
        add_event(
            session,
            job.id,
            "progress",
            {k: msg.get(k) for k in ("elapsed", "fraction", "best", "message")}
            | {"has_plan": bool(msg["solution"])},
        )


def upsert_best(session: Session, job: JobRow, solution: Solution) -> None:
    """Replace the job's best-so-far plan."""
    row = session.scalar(
        select(SolutionRow).where(SolutionRow.job_id == job.id, SolutionRow.kind == "best")
    )
    if row is None:
        save_solution(session, solution, problem_id=job.problem_id, job_id=job.id, kind="best")
        return
    text = canonical_json(solution.model_dump(mode="json"))
    row.content, row.content_hash = text, content_hash(text)
    row.feasible, row.backend = solution.feasible, solution.backend_used or ""
    row.created_at = utcnow()


def load_solution(row: SolutionRow) -> Solution:
    """The solution of ``row``, after checking its hash."""
    data = _verified("solution", row.id, row.content, row.content_hash)
    try:
        return Solution.model_validate(data)
    except ValueError:
        raise CorruptedDataError(
            f"stored solution {row.id} no longer validates", kind="solution", id=row.id
        ) from None


def job_solutions(session: Session, job_id: str) -> dict[str, SolutionRow]:
    """``{"best": row, "final": row}`` for the job (either may be missing)."""
    rows = session.scalars(select(SolutionRow).where(SolutionRow.job_id == job_id))
    return {r.kind: r for r in rows}


# --- jobs ---------------------------------------------------------------------


def create_job(
    session: Session,
    *,
    owner_id: str | None,
    problem_id: str,
    time_limit: float,
    seed: int | None,
    backend: str | None,
    spec: dict[str, Any] | None = None,
) -> JobRow:
    row = JobRow(
        id=new_id(),
        owner_id=owner_id,
        problem_id=problem_id,
        state="queued",
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        attempts=0,
        cancel_requested=False,
        spec=json.dumps(spec) if spec else None,
    )
    session.add(row)
    session.flush()
    add_event(session, row.id, "status", {"state": "queued"})
    return row


def create_replan_job(
    session: Session,
    *,
    owner_id: str | None,
    problem: Problem,
    base_problem_id: str,
    previous_solution_id: str,
    changes: list[dict[str, Any]],
    freeze_until: float | None,
    disruption: dict[str, float] | None,
    time_limit: float,
    seed: int | None,
    backend: str | None,
) -> JobRow:
    """Store the changed ``problem`` and queue the job that re-plans onto it.

    The job's spec names what :func:`job_options` hands the solver process: the
    parent's problem and plan, the changes, the freeze time and the weights.
    """
    prow = save_problem(session, problem, owner_id)
    spec = {
        "replan": {
            "base_problem_id": base_problem_id,
            "previous_solution_id": previous_solution_id,
            "changes": changes,
            "freeze_until": freeze_until,
            "disruption": disruption,
        }
    }
    return create_job(
        session,
        owner_id=owner_id,
        problem_id=prow.id,
        time_limit=time_limit,
        seed=seed,
        backend=backend,
        spec=spec,
    )


def job_options(session: Session, job: JobRow) -> dict[str, Any]:
    """What a solver process needs besides the problem: limits, a re-plan's or a trade-off's
    inputs."""
    options: dict[str, Any] = {
        "time_limit": job.time_limit,
        "seed": job.seed,
        "backend": job.backend,
    }
    if job.spec:
        spec = json.loads(job.spec)
        for kind in ("pareto", "alternatives"):  # a trade-off's arguments (store/tradeoffs.py)
            if kind in spec:
                options[kind] = spec[kind]
        replan = spec.get("replan")
        if replan:
            base = session.get(ProblemRow, replan["base_problem_id"])
            prev = session.get(SolutionRow, replan["previous_solution_id"])
            if base is None or prev is None:
                raise CorruptedDataError(f"job {job.id}: its re-plan inputs are gone")
            options["replan"] = {
                **replan,
                "base_problem": load_problem(base).model_dump_json(),
                "previous": load_solution(prev).model_dump_json(),
            }
    return options


def get_job(session: Session, job_id: str, owner_id: str | None = None) -> JobRow | None:
    """The job, or None if absent or (when ``owner_id`` is given) someone else's."""
    row = session.get(JobRow, job_id)
    if row is None or (owner_id is not None and row.owner_id != owner_id):
        return None
    return row


def list_jobs(
    session: Session, owner_id: str | None, *, state: str | None = None, limit: int = 100
) -> list[JobRow]:
    q = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
    if owner_id is not None:
        q = q.where(JobRow.owner_id == owner_id)
    if state is not None:
        q = q.where(JobRow.state == state)
    return list(session.scalars(q))


def claim_job(session: Session, worker_id: str, job_id: str) -> JobRow | None:
    """Move job ``job_id`` from queued to running for ``worker_id``; None if not queued.

    The conditional UPDATE is the lock: of two workers (or replicas) handed the same job,
    only one sees rowcount 1.
    """
    now = utcnow()
    res = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == "queued")
        .values(
            state="running",
            worker_id=worker_id,
            started_at=now,
            heartbeat_at=now,
            attempts=JobRow.attempts + 1,
        )
    )
    session.flush()
    if res.rowcount != 1:
        return None
    add_event(session, job_id, "status", {"state": "running", "worker": worker_id})
    return session.get(JobRow, job_id, populate_existing=True)


def claim_jobs(session: Session, worker_id: str, n: int) -> list[JobRow]:
    """Move up to ``n`` queued jobs to running for ``worker_id`` (safe across replicas)."""
    if n <= 0:
        return []
    ids = session.scalars(
        select(JobRow.id).where(JobRow.state == "queued").order_by(JobRow.created_at).limit(n)
    ).all()
    return [job for job_id in ids if (job := claim_job(session, worker_id, job_id)) is not None]


def heartbeat(session: Session, worker_id: str, job_ids: Iterable[str]) -> None:
    ids = list(job_ids)
    if ids:
        session.execute(
            update(JobRow)
            .where(JobRow.id.in_(ids), JobRow.worker_id == worker_id, JobRow.state == "running")
            .values(heartbeat_at=utcnow())
        )


def cancel_requested(session: Session, job_ids: Sequence[str]) -> set[str]:
    """Those of ``job_ids`` that someone cancelled (on any replica)."""
    if not job_ids:
        return set()
    rows = session.scalars(
        select(JobRow.id).where(
            JobRow.id.in_(list(job_ids)),
            (JobRow.cancel_requested.is_(True)) | (JobRow.state != "running"),
        )
    )
    return set(rows)


def finish_job(
    session: Session,
    job_id: str,
    worker_id: str,
    state: str,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Move a running job owned by ``worker_id`` to a final state; False if it moved already."""
    assert state in FINAL_STATES
    res = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker_id == worker_id)
        .values(
            state=state,
            finished_at=utcnow(),
            error_code=error_code,
            error_message=error_message,
        )
    )
    if res.rowcount == 1:
        final = {"state": state, "error_code": error_code, "error_message": error_message}
        add_event(session, job_id, "final", final)
    return res.rowcount == 1


def cancel_job(session: Session, job: JobRow) -> bool:
    """Cancel a queued or running job; False if it had already finished."""
    if job.state in FINAL_STATES:
        return False
    job.state = "cancelled"
    job.cancel_requested = True
    job.finished_at = utcnow()
    job.error_code, job.error_message = "cancelled", "cancelled at the caller's request"
    add_event(session, job.id, "final", {"state": "cancelled", "error_code": "cancelled"})
    return True


def recover_stale(session: Session, *, timeout: float, max_attempts: int) -> list[tuple[str, str]]:
    """Running jobs whose server died (no heartbeat for ``timeout`` s): re-queue or fail.

    Returns ``[(job_id, "queued" | "failed"), ...]``.
    """
    cutoff = utcnow() - timedelta(seconds=timeout)
    rows = session.scalars(
        select(JobRow).where(JobRow.state == "running", JobRow.heartbeat_at < cutoff)
    ).all()
    return requeue_or_fail(rows, max_attempts)


def running_on_host(session: Session, host_prefix: str) -> list[JobRow]:
    """Running jobs claimed by a worker whose id starts with ``host_prefix``."""
    return list(
        session.scalars(
            select(JobRow).where(
                JobRow.state == "running", JobRow.worker_id.startswith(host_prefix)
            )
        )
    )


def requeue_or_fail(rows: Sequence[JobRow], max_attempts: int) -> list[tuple[str, str]]:
    """Jobs whose server is gone: back to the queue, or failed after ``max_attempts`` starts."""
    out = []
    for row in rows:
        if row.attempts >= max_attempts:
            row.state = "failed"
            row.finished_at = utcnow()
            row.error_code = "interrupted"
            row.error_message = (
                f"the server running this job stopped {row.attempts} time(s) before it "
                "finished; resubmit it, perhaps with a shorter time limit"
            )
        else:
            row.state = "queued"
            row.worker_id = None
            row.progress_message = "re-queued after its server stopped"
        session = Session.object_session(row)
        if session is not None:
            kind = "final" if row.state == "failed" else "status"
            add_event(session, row.id, kind, {"state": row.state, "error_code": row.error_code})
        out.append((row.id, row.state))
    return out


def job_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(JOB_STATES, 0)
    for state, n in session.execute(select(JobRow.state, func.count()).group_by(JobRow.state)):
        counts[state] = n
    return counts
