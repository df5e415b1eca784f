"""A command or import that needs a missing optional extra says which `pip install` to run.

Each CLI test runs ``quantum-planner`` in a fresh interpreter whose import system refuses the
named modules (a meta-path finder inserted first, as if the extra were not installed), and
checks for exactly one ``error[missing_extra]: ...`` line and exit code 2, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from quantum_planner.errors import (
    ConfigurationError,
    MissingExtraError,
    PlannerError,
    extra_for_module,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# argv[1]: comma list of hidden top-level modules; argv[2]: "cli" or "import:MODULE"; rest: CLI args
_HIDE = """
import sys

hidden = sys.argv[1].split(",")


class HideModules:
    def find_spec(self, name, path=None, target=None):
        if any(name == h or name.startswith(h + ".") for h in hidden):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, HideModules())
mode, args = sys.argv[2], sys.argv[3:]
if mode == "cli":
    sys.argv = ["quantum-planner", *args]
    from quantum_planner.cli import main

    main()
else:
    import importlib

    try:
        importlib.import_module(mode.split(":", 1)[1])
    except ImportError as e:
        print(type(e).__name__, getattr(e, "code", "-"), e)
"""


def _run(hidden: str, mode: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _HIDE, hidden, mode, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("hidden", "extra", "args"),
    [
        ("sqlalchemy", "service", ["keys", "create", "--role", "admin"]),
        ("alembic", "service", ["keys", "list"]),
        ("uvicorn", "service", ["serve", "--port", "1"]),
        ("fastapi", "service", ["serve", "--port", "1"]),
        ("celery", "workers", ["worker"]),
        (
            "matplotlib",
            "viz",
            ["solve", str(EXAMPLES / "team.json"), "--time-limit", "10", "--gantt", "g.png"],
        ),
    ],
)
def test_cli_names_the_missing_extra(
    hidden: str, extra: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QP_DATABASE_URL", f"sqlite:///{tmp_path / 'qp.db'}")
    res = _run(hidden, "cli", *args, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error[missing_extra]: ")
    assert f"needs {hidden} (the '{extra}' extra)" in lines[0]
    assert lines[0].endswith(f"pip install 'quantum-planner[{extra}]'")
    assert not (tmp_path / "g.png").exists()


def test_import_of_the_store_raises_a_typed_import_error(tmp_path: Path) -> None:
    res = _run("sqlalchemy", "import:quantum_planner.store", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # still an ImportError (callers that treat "not installed" as "not available" keep working)
    assert res.stdout.startswith("MissingExtraError missing_extra ")
    assert "pip install 'quantum-planner[service]'" in res.stdout


def test_a_broken_module_of_ours_is_not_reported_as_a_missing_extra(tmp_path: Path) -> None:
    """Hiding our own quantum_planner.store.db is a bug to show, not an extra to install."""
    res = _run("quantum_planner.store.db", "cli", "keys", "list", cwd=tmp_path)
    assert res.returncode == 1
    assert "missing_extra" not in res.stderr
    assert "ModuleNotFoundError: No module named 'quantum_planner.store.db'" in res.stderr


def test_extra_for_module() -> None:
    assert extra_for_module("sqlalchemy.orm") == "service"
    assert extra_for_module("dwave.system.samplers") == "dwave"
    assert extra_for_module("dwave.samplers") is None  # dwave-samplers is a core dependency
    assert extra_for_module("qiskit_aer") == "ibm"
    assert extra_for_module("azure.quantum") == "azure"
    assert extra_for_module("sqlalchemyx") is None
    assert extra_for_module(None) is None


def test_missing_extra_error_is_typed() -> None:
    e = MissingExtraError("viz", "the Gantt chart", "matplotlib")
    assert isinstance(e, PlannerError) and isinstance(e, ConfigurationError)
    assert isinstance(e, ModuleNotFoundError) and e.name == "matplotlib"
    assert e.code == "missing_extra" and e.extra == "viz"
    assert e.to_dict()["details"] == {"extra": "viz", "module": "matplotlib"}


def test_an_import_error_without_a_module_name_is_blamed_on_the_given_extra() -> None:
    from quantum_planner.errors import requires_extra

    with pytest.raises(MissingExtraError) as info, requires_extra("the Gantt chart", extra="viz"):
        raise ImportError("matplotlib's C extension failed to load")
    assert info.value.extra == "viz" and info.value.name is None
    # without a default extra, or naming a module of ours, it stays what it was
    with pytest.raises(ImportError) as plain, requires_extra("the Gantt chart"):
        raise ImportError("something failed")
    assert not isinstance(plain.value, MissingExtraError)
    with pytest.raises(ModuleNotFoundError) as ours, requires_extra("x", extra="viz"):
        raise ModuleNotFoundError("gone", name="quantum_planner.nothing")
    assert not isinstance(ours.value, MissingExtraError)
