"""warmup's plumbing: seeding a tmpfs cache from an image's build-time cache, the worker switch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_planner import warmup
from quantum_planner.errors import ConfigurationError


def test_seed_cache_copies_only_what_the_target_lacks(tmp_path: Path) -> None:
    seed, target = tmp_path / "seed", tmp_path / "tmpfs"
    (seed / "a" / "b").mkdir(parents=True)
    (seed / "a" / "b" / "k.nbi").write_text("index")
    (seed / "a" / "b" / "k.nbc").write_text("code")
    (target / "a" / "b").mkdir(parents=True)
    (target / "a" / "b" / "k.nbi").write_text("newer index")
    assert warmup.seed_cache(seed, str(target)) == 1
    assert (target / "a" / "b" / "k.nbc").read_text() == "code"
    assert (target / "a" / "b" / "k.nbi").read_text() == "newer index"  # kept
    assert warmup.seed_cache(seed, str(target)) == 0


def test_seed_cache_without_a_seed_does_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(warmup.SEED_ENV, raising=False)
    assert warmup.seed_cache(None, str(tmp_path)) == 0
    assert warmup.seed_cache(tmp_path / "missing", str(tmp_path)) == 0


def test_worker_warmup_can_be_turned_off(monkeypatch) -> None:
    monkeypatch.setenv("QP_WARMUP", "0")
    assert warmup.start_in_background() is None


def test_steps_cover_every_sampler_and_both_searches() -> None:
    names = [name for name, _ in warmup.steps()]
    for sampler in ("SimulatedAnnealing", "ParallelTempering", "PopulationAnnealing", "Tabu"):
        assert any(n.startswith(sampler) for n in names)
    assert "hybrid assignment search" in names and "shop tabu search" in names


def test_unknown_step_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no step matches"):
        warmup.warmup(only=["NoSuchStep"])


def test_the_cli_seeds_the_numba_cache_before_any_command(tmp_path: Path) -> None:
    # images with a read-only root: every CLI start copies the build-time cache first
    seed, target = tmp_path / "seed", tmp_path / "cache"
    (seed / "sub").mkdir(parents=True)
    (seed / "sub" / "kernel.nbi").write_bytes(b"index")
    env = {**os.environ, "QP_NUMBA_CACHE_SEED": str(seed), "NUMBA_CACHE_DIR": str(target)}
    out = subprocess.run(
        [sys.executable, "-m", "quantum_planner", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (target / "sub" / "kernel.nbi").read_bytes() == b"index"
