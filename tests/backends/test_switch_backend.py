"""The playbook's module-level ``switch_backend``: where it writes, and that it says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from backend_fakes import make_problem

from quantum_planner import QuantumTaskPlanner
from quantum_planner.backends import (
    BackendContext,
    InMemoryStateStore,
    reset_default_context,
    switch_backend,
)
from quantum_planner.backends.state import HttpStateStore, state_store_from_settings
from quantum_planner.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SHARED = ("QP_DATABASE_URL", "QP_SERVICE_URL", "QP_API_KEY")


@pytest.fixture
def unshared(monkeypatch):
    """A default context built from an environment naming no shared state."""
    for name in SHARED:
        monkeypatch.delenv(name, raising=False)
    old = reset_default_context(None)
    yield
    reset_default_context(old)


def test_without_shared_state_it_says_only_this_process_changed(unshared, capsys):
    assert switch_backend("greedy", enabled=False) is True  # the previous state
    first = capsys.readouterr().out.strip()
    assert first.startswith("backend greedy disabled (was enabled) this process only")
    assert "QP_DATABASE_URL" in first and "did not change" in first
    assert switch_backend("greedy", enabled=False) is False
    assert "(was disabled)" in capsys.readouterr().out


def test_store_follows_the_settings():
    assert isinstance(state_store_from_settings(Settings()), InMemoryStateStore)
    http = state_store_from_settings(
        Settings(service_url="http://127.0.0.1:9/", api_key="k", database_url="sqlite://")
    )
    assert isinstance(http, HttpStateStore) and http.describe() == "service http://127.0.0.1:9"
    db = state_store_from_settings(Settings(database_url="sqlite:///x.db"))
    assert db.shared and db.describe() == "database sqlite:///x.db"


def test_database_url_in_the_environment_writes_the_shared_table(tmp_path):
    """Two operator shells and a planner reading the same database see one switch."""
    pytest.importorskip("sqlalchemy", reason="the service extra is not installed")
    from quantum_planner.store import Database
    from quantum_planner.store.backend_state import DatabaseBackendStateStore

    url = f"sqlite:///{tmp_path / 'qp.db'}"
    db = Database(url)
    db.migrate()
    env = {k: v for k, v in os.environ.items() if k not in SHARED}
    env.update(PYTHONPATH=str(ROOT / "src"), QP_DATABASE_URL=url)
    code = "from quantum_planner.backends import switch_backend; switch_backend('greedy', False)"

    def shell() -> str:
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip()

    assert shell() == f"backend greedy disabled (was enabled) in database {url}"
    assert shell() == f"backend greedy disabled (was disabled) in database {url}"
    store = DatabaseBackendStateStore(db)
    assert store.get("greedy") is False
    ctx = BackendContext(settings=Settings(), states=store)
    sol = QuantumTaskPlanner("greedy", fallback="local_search", context=ctx).solve(make_problem())
    assert sol.backend_used == "local_search"
    assert (sol.backends_tried[0].backend, sol.backends_tried[0].reason) == ("greedy", "disabled")
    db.dispose()


def test_unmigrated_database_is_a_typed_error(tmp_path):
    pytest.importorskip("sqlalchemy", reason="the service extra is not installed")
    from quantum_planner.errors import ConfigurationError
    from quantum_planner.store import Database
    from quantum_planner.store.backend_state import DatabaseBackendStateStore

    ctx = BackendContext(states=DatabaseBackendStateStore(Database(f"sqlite:///{tmp_path}/x.db")))
    with pytest.raises(ConfigurationError, match="migrated"):
        ctx.switch_backend("greedy", enabled=False)
