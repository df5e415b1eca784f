"""Per-key rate limiting over real HTTP (an in-thread uvicorn with a tiny limit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from quantum_planner.config import Settings
from quantum_planner.service.app import create_app
from quantum_planner.service.limits import RateLimiter
from tests.service.conftest import create_key, thread_server


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    url = f"sqlite:///{tmp_path / 'qp.db'}"
    settings = Settings(database_url=url, rate_limit_per_minute=3)
    app = create_app(settings, start_runner=False)  # no solving needed to test limits
    with thread_server(app) as base:
        yield base, create_key(url, "client"), create_key(url, "client")


def test_rate_limit_429_with_retry_after(limited_server: tuple[str, str, str]) -> None:
    base, k1, k2 = limited_server
    h1 = {"Authorization": f"Bearer {k1}"}
    codes = [httpx.get(base + "/api/jobs", headers=h1).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = httpx.get(base + "/api/jobs", headers=h1)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 20
    # another key has its own budget
    assert (
        httpx.get(base + "/api/jobs", headers={"Authorization": f"Bearer {k2}"}).status_code == 200
    )
    assert "quantum_planner_rate_limited_total 2.0" in httpx.get(base + "/metrics").text


def test_token_bucket_refills() -> None:
    rl = RateLimiter(60)  # one a second
    for _ in range(60):
        assert rl.hit("k") is None
    wait = rl.hit("k")
    assert wait is not None and 0 < wait <= 1.0
    assert RateLimiter(0).hit("k") is None  # 0 disables the limiter
