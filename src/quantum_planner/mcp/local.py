"""A job store and a local runner for one process: the stdio MCP server and the LangChain tools.

Jobs go to ``QP_DATABASE_URL`` when it is set (then the HTTP service, other
agent hosts and the REST API see the same jobs), else to a SQLite file in the
user's data folder (``$XDG_DATA_HOME/quantum-planner/agents.db``), never to the
working directory: an agent host may start the server anywhere, read-only
folders included. Solves run in the library's
:class:`~quantum_planner.jobs.runner.LocalJobRunner` process pool, two processes
unless ``QP_WORKERS`` says otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from quantum_planner.config import Settings
from quantum_planner.errors import ConfigurationError, PlannerError
from quantum_planner.jobs.base import JobRunner
from quantum_planner.mcp.ops import Owner, PlannerOps
from quantum_planner.store import Database

log = logging.getLogger("quantum_planner.mcp")

_DEFAULT_WORKERS = 2


def _cpus() -> int:
    return os.cpu_count() or 1


def default_database_url() -> str:
    """``QP_DATABASE_URL`` if set, else a SQLite file in the user's data folder."""
    if os.environ.get("QP_DATABASE_URL"):
        return Settings().database_url
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(base) / "quantum-planner"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'agents.db'}"


class LocalPlanner:
    """One process's planner: its database and job runner, started once and stopped once.

    The local user owns every job here (no API keys): ``ops()`` sees all jobs in the store.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        runner: JobRunner | None = None,
    ) -> None:
        settings = settings or Settings()
        if settings.workers is None:
            # an agent host keeps this running in the background: two solver processes
            # unless QP_WORKERS (or --workers) asks for more
            settings = settings.model_copy(update={"workers": min(_DEFAULT_WORKERS, _cpus())})
        self.settings = settings
        self.database_url = database_url or default_database_url()
        self._runner = runner
        self.db: Database | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open and migrate the database and start the runner (idempotent)."""
        with self._lock:
            if self.db is not None:
                return
            try:
                db = Database(self.database_url)
                db.migrate()
            except PlannerError:
                raise
            except Exception as e:  # unreachable server, unwritable file: say what to fix
                raise ConfigurationError(
                    f"cannot open the job store ({type(e).__name__}: {e}); check "
                    "QP_DATABASE_URL or --database-url",
                    field="database_url",
                ) from None
            if self._runner is None:
                from quantum_planner.jobs.runner import LocalJobRunner

                self._runner = LocalJobRunner(db, self.settings, logger=log)
            self._runner.start()
            self.db = db
            log.info("planner ready: database %s, %s solver processes", db.dialect, self.capacity)

    @property
    def capacity(self) -> int:
        return getattr(self._runner, "capacity", 0)

    def stop(self) -> None:
        """Stop the runner (running jobs are re-queued on the next start) and the database."""
        with self._lock:
            if self.db is None:
                return
            if self._runner is not None:
                self._runner.stop()
            self.db.dispose()
            self.db = None

    def ops(self) -> PlannerOps:
        """The tools' operations on this planner (starts it on first use)."""
        self.start()
        assert self.db is not None
        return PlannerOps(self.db, self.settings, self._runner, Owner())
