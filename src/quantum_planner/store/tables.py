"""Table definitions (SQLAlchemy 2 declarative). Migrations in ``migrations/`` create them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key; only its SHA-256 hash is stored, never the key itself."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProblemRow(Base):
    """A submitted problem, as canonical JSON with its hash."""

    __tablename__ = "problems"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("api_keys.id"), nullable=True, index=True
    )
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    n_agents: Mapped[int] = mapped_column(Integer)
    n_tasks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(Base):
    """An asynchronous solve and its state machine (queued -> running -> final state)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("api_keys.id"), nullable=True, index=True
    )
    problem_id: Mapped[str] = mapped_column(String(32), ForeignKey("problems.id"))
    state: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    time_limit: Mapped[float] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    backend: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    progress_fraction: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_elapsed: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_best: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON of what else the solve needs: a re-plan's base problem, previous plan, changes;
    # a trade-off's objectives or k (store/tradeoffs.py)
    spec: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON of what a trade-off job found besides its final plan: the front's points (values,
    # plan and solution ids), reference, hypervolume, knee; or the alternatives' ranks
    result: Mapped[str | None] = mapped_column(Text, nullable=True)


class SolutionRow(Base):
    """A plan: a job's best-so-far (``kind='best'``), its final one, or a sync solve's."""

    __tablename__ = "solutions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("jobs.id"), nullable=True, index=True
    )
    problem_id: Mapped[str] = mapped_column(String(32), ForeignKey("problems.id"))
    kind: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    feasible: Mapped[bool] = mapped_column(Boolean)
    backend: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobEventRow(Base):
    """One event of a job, in order: its state changes, improving plans, the end.

    The progress stream (``GET /api/jobs/{id}/events``) replays these from any
    ``Last-Event-ID``; every replica and worker writes and reads them through the
    database, so any API replica can stream any job.
    """

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # status | progress | final
    data: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanRow(Base):
    """A living plan: a sequence of versions, each a job's result."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("api_keys.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanVersionRow(Base):
    """Version ``version`` of a plan: the problem it plans, the job solving it, its parent.

    ``solution_id`` is set when the version's plan is one of several its job found (a
    point of a Pareto front, an alternative): that plan, not the job's final one.
    """

    __tablename__ = "plan_versions"

    plan_id: Mapped[str] = mapped_column(String(32), ForeignKey("plans.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[str] = mapped_column(String(32), ForeignKey("problems.id"))
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id"))
    parent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changes: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    solution_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("solutions.id"), nullable=True
    )


class BackendStateRow(Base):
    """Enable/disable switch of a backend, shared by every replica."""

    __tablename__ = "backend_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AuditRow(Base):
    """One admin action: who did what to which target."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
