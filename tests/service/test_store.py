"""Store: migrations on SQLite and PostgreSQL, integrity hashes, the job state machine."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update

from quantum_planner.errors import CorruptedDataError
from quantum_planner.model import Problem, Solution
from quantum_planner.store import Database, accounts
from quantum_planner.store import repositories as repo
from quantum_planner.store.tables import ApiKey, JobRow, ProblemRow, utcnow
from tests.service.conftest import create_pg_database, make_problem

TABLES = {
    "api_keys", "problems", "jobs", "solutions", "backend_state", "audit_log",
    "job_events", "plans", "plan_versions",
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'store.db'}", None
    else:  # its own database: a server's runner on a shared one would claim our jobs
        url, drop = create_pg_database()
    database = Database(url)
    database.migrate()
    database.migrate()  # idempotent: a second start-up changes nothing
    yield database
    database.dispose()
    if drop is not None:
        drop()


def test_migrations_create_every_table(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    with db.engine.connect() as c:
        # one head, and the database is at it
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"


def test_migrations_match_the_table_definitions(db: Database) -> None:
    """What the migrations create has every column the ORM tables declare."""
    from quantum_planner.store.tables import Base

    insp = inspect(db.engine)
    for name, table in Base.metadata.tables.items():
        have = {c["name"] for c in insp.get_columns(name)}
        assert {c.name for c in table.columns} <= have, name


def test_keys_are_stored_as_hashes_and_revocable(db: Database) -> None:
    with db.session() as s:
        row, token = accounts.create_key(s, "client", "k")
    with db.session() as s:
        stored = s.get(ApiKey, row.id)
        assert token not in (stored.key_hash, stored.prefix, stored.name)
        assert accounts.find_key(s, token).id == row.id
        assert accounts.find_key(s, token + "x") is None
        accounts.revoke_key(s, row.id)
    with db.session() as s:
        assert accounts.find_key(s, token) is None


def _job(db: Database) -> tuple[str, str]:
    problem = Problem.from_dict(make_problem(2, 3))
    with db.session() as s:
        p = repo.save_problem(s, problem, None)
        j = repo.create_job(s, owner_id=None, problem_id=p.id, time_limit=1, seed=1, backend=None)
        return p.id, j.id


def test_tampered_problem_and_solution_rows_are_corrupted(db: Database) -> None:
    pid, jid = _job(db)
    sol = Solution(assignments={"t0": "a0"}, schedule={"a0": {"t0": (0.0, 1.0)}}, makespan=1.0)
    with db.session() as s:
        srow = repo.save_solution(s, sol, problem_id=pid, job_id=jid, kind="final")
        assert repo.load_solution(srow) == sol
        assert repo.load_problem(s.get(ProblemRow, pid)).tasks[0].id == "t0"
    with db.session() as s:
        s.execute(text("UPDATE solutions SET content = replace(content, '1.0', '0.5')"))
        s.execute(text("UPDATE problems SET content = replace(content, '\"t0\"', '\"tX\"')"))
    with db.session() as s:
        row = repo.job_solutions(s, jid)["final"]
        with pytest.raises(CorruptedDataError, match="integrity") as e:
            repo.load_solution(row)
        assert e.value.code == "corrupted"
        with pytest.raises(CorruptedDataError):
            repo.load_problem(s.get(ProblemRow, pid))
        s.execute(text("UPDATE problems SET content = '{not json'"))
        with pytest.raises(CorruptedDataError):
            repo.load_problem(s.get(ProblemRow, pid, populate_existing=True))


def test_claim_is_exclusive_across_workers(db: Database) -> None:
    ids = {_job(db)[1] for _ in range(6)}
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with db.session() as s:
            got = [j.id for j in repo.claim_jobs(s, name, 6)]
        with lock:
            claimed.extend(got)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # each job once


def test_stale_running_jobs_are_requeued_then_failed(db: Database) -> None:
    _, jid = _job(db)
    for attempt in (1, 2):
        with db.session() as s:
            assert [j.id for j in repo.claim_jobs(s, "dead", 1)] == [jid]
            s.execute(
                update(JobRow)
                .where(JobRow.id == jid)
                .values(heartbeat_at=utcnow() - timedelta(seconds=60))
            )
        with db.session() as s:
            moved = repo.recover_stale(s, timeout=30, max_attempts=2)
        assert moved == [(jid, "queued" if attempt == 1 else "failed")]
    with db.session() as s:
        job = s.get(JobRow, jid)
        assert job.state == "failed" and job.error_code == "interrupted"
        assert job.attempts == 2
        # a finished job cannot be finished again by a late worker
        assert not repo.finish_job(s, jid, "dead", "succeeded")
        assert s.scalar(select(JobRow.state).where(JobRow.id == jid)) == "failed"
