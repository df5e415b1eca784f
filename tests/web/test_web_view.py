"""The web view at /ui in a real headless Chromium against a real service (SQLite).

Every test also checks (in the ``ui`` fixture) that the page logged no console
error it did not expect and that no request left 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.service.conftest import ROOT, make_problem
from tests.web.conftest import Service, Watched

pytestmark = pytest.mark.slow

SCREENSHOT = ROOT / "docs" / "web-view.png"


def _kpis(ui: Watched) -> dict[str, str]:
    return ui.page.eval_on_selector_all(
        "#kpis dd", "ns => Object.fromEntries(ns.map(n => [n.dataset.kpi, n.dataset.value]))"
    )


def _bars(ui: Watched) -> dict[str, str]:
    """task -> agent of every bar on the timeline."""
    return ui.page.eval_on_selector_all(
        ".bar", "ns => Object.fromEntries(ns.map(n => [n.dataset.task, n.dataset.agent]))"
    )


def _job(ui: Watched, job_id: str) -> dict[str, Any]:
    with ui.service.api() as c:
        r = c.get(f"/api/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()


def test_solve_example_draws_the_api_plan(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    page = ui.page
    page.wait_for_selector("#example option[value=team]", state="attached")
    page.select_option("#example", "team")
    page.click("#example-load")
    page.wait_for_function(
        "document.querySelector('#problem-summary').textContent.includes('15 tasks')"
    )
    # the example's own objectives are ticked
    assert page.is_checked("input[value=minimize_makespan]")
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    sol = _job(ui, job_id)["solution"]
    assert sol is not None
    assert _bars(ui) == sol["assignments"]  # one bar per assigned task, on its agent's row
    for task, agent in sol["assignments"].items():
        start, end = sol["schedule"][agent][task]
        bar = page.locator(f".bar[data-task='{task}']")
        assert float(bar.get_attribute("data-start") or "nan") == pytest.approx(start)
        assert float(bar.get_attribute("data-end") or "nan") == pytest.approx(end)
    k = _kpis(ui)
    assert float(k["makespan"]) == pytest.approx(sol["makespan"])
    assert float(k["cost"]) == pytest.approx(sol["objectives"]["minimize_cost"])
    assert float(k["load_balance"]) == pytest.approx(sol["objectives"]["balance_load"])
    assert float(k["priority"]) == pytest.approx(sol["objectives"]["maximize_priority"])
    assert k["feasible"] == str(sol["feasible"]).lower()
    assert k["optimal"] == str(sol["status"] == "optimal").lower()
    assert k["backend"] == sol["backend_used"] == "cpsat"
    assert int(k["assigned"]) == len(sol["assignments"])
    assert [li.strip() for li in page.locator("#unassigned li").all_inner_texts()] == (
        sol["unassigned"] or ["none"]
    )
    # live progress came over the event stream: a chart and its text alternative
    assert page.inner_text("#update-mode") == "live (event stream)"
    assert page.locator("#score-chart circle").count() >= 1
    assert (
        page.locator("#score-table tbody tr").count() == page.locator("#score-chart circle").count()
    )
    assert "improvements" in (page.get_attribute("#score-chart svg", "aria-label") or "")
    # hover/focus details list the dependencies
    page.focus(".bar[data-task='release']")
    tip = page.inner_text("#tooltip")
    assert "depends on" in tip and "security-review" in tip
    outlined = page.eval_on_selector_all(".bar.dep", "ns => ns.map(n => n.dataset.task).sort()")
    assert outlined == ["api-tests", "infra", "model", "security-review", "ui-tests"]
    page.keyboard.press("Tab")  # keyboard: the next bar takes the focus and its details
    assert page.evaluate("document.activeElement.dataset.task") != "release"
    assert page.evaluate("document.activeElement.dataset.task") in page.inner_text("#tooltip")
    # zoom widens the timeline
    w0 = float(page.get_attribute("#timeline svg", "width") or 0)
    page.click("#zoom-in")
    assert float(page.get_attribute("#timeline svg", "width") or 0) > w0
    assert any("/api/jobs/" in u and u.endswith("/events") for u in ui.requests)


def test_analysis_table_rows_equal_the_api(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    ui.paste(make_problem(3, 8, seed=2))
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    with ui.service.api() as c:
        analysis = c.get(f"/api/jobs/{job_id}/analysis").json()
    rows = ui.page.eval_on_selector_all(
        "#analysis tbody tr",
        "rs => rs.map(r => [r.dataset.constraint,"
        " ...[...r.cells].slice(1, 5).map(c => c.textContent)])",
    )
    expected = [
        [
            c["constraint"],
            c["status"] if c["enabled"] else "inactive",
            str(c["checked"]),
            str(len(c["violated"])),
            str(len(c["binding"])),
        ]
        for c in analysis["constraints"]
    ]
    assert rows == expected
    assert len(rows) >= 5


def test_stop_during_a_long_solve_keeps_the_best_plan(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    ui.paste(make_problem(8, 120, seed=3))
    job_id = ui.solve("cpsat", 50)
    # wait for a best-so-far plan on the timeline, then stop
    ui.page.wait_for_selector(".bar", timeout=60_000)
    assert ui.page.is_enabled("#stop")
    ui.page.click("#stop")
    assert ui.wait_done(job_id) == "cancelled"
    job = _job(ui, job_id)
    assert job["state"] == "cancelled"
    best = job["best_solution"]
    assert best is not None and best["assignments"]
    assert _bars(ui) == best["assignments"]
    assert "stopped" in ui.page.inner_text("#plan-caption")
    assert float(_kpis(ui)["makespan"]) == pytest.approx(best["makespan"])


def test_remove_agent_and_replan_highlights_moved_bars(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    problem = make_problem(3, 9, seed=5)  # a0 has every skill: any other agent can leave
    ui.paste(problem)
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    first = _job(ui, job_id)["solution"]
    leaving = max(("a1", "a2"), key=lambda a: len(first["schedule"].get(a, {})))
    assert first["schedule"].get(leaving), "the agent that leaves has work to hand over"
    page = ui.page
    page.select_option("#chg-agent", leaving)
    page.fill("#chg-at", "0")
    page.click("#chg-remove-agent")
    assert f"agent {leaving} leaves at 0" in page.inner_text("#pending")
    page.click("#replan")
    page.wait_for_function(
        f"document.querySelector('#job-state').dataset.job !== '{job_id}'", timeout=30_000
    )
    job2 = page.get_attribute("#job-state", "data-job") or ""
    assert ui.wait_done(job2) == "succeeded"
    plan_id = page.get_attribute("#job-state", "data-plan")
    assert page.locator(f".bar[data-agent='{leaving}']").count() == 0
    assert page.locator(f".row[data-agent='{leaving}'].removed").count() == 1
    with ui.service.api() as c:
        diff = c.get(f"/api/plans/{plan_id}/diff", params={"from": 1, "to": 2}).json()
    moved = {r["task"] for r in diff["tasks"] if r["change"] in ("moved", "reassigned")}
    assert moved >= set(first["schedule"][leaving])
    shown = set(page.eval_on_selector_all(".bar.moved", "ns => ns.map(n => n.dataset.task)"))
    assert shown == moved
    assert page.locator("#diff tbody tr").count() == len(diff["tasks"])
    assert f"{int(diff['disruption']['reassigned'])} reassigned" in page.inner_text("#disruption")
    assert page.locator("#versions button").count() == 2
    assert "version 2, final" in page.inner_text("#plan-caption")
    page.focus(".bar.moved")
    assert "moved in this version" in page.inner_text("#tooltip")
    # an earlier version can be shown again
    page.click("#versions button[data-version='1']")
    page.wait_for_function(
        "document.querySelector('#plan-caption').textContent.startsWith('version 1')"
    )
    assert page.locator(f".bar[data-agent='{leaving}']").count() == len(first["schedule"][leaving])


def test_mark_done_add_task_and_replan_the_team_example(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    page = ui.page
    page.wait_for_selector("#example option[value=team]", state="attached")
    page.select_option("#example", "team")
    page.click("#example-load")
    page.wait_for_function("document.querySelector('#problem-summary').textContent.includes('15')")
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    # a change the API refuses: its error sits by the changes, naming the change at fault
    ui.allowed_errors.append("status of 422")
    page.select_option("#chg-agent", "alice")  # the only one with the databases skill
    page.click("#chg-remove-agent")
    page.click("#replan")
    page.wait_for_selector("#changes-error:not([hidden])")
    assert "field changes[0]" in page.inner_text("#changes-error")
    page.click("#pending button")  # undo it
    assert page.inner_text("#pending").strip() == "none"
    page.select_option("#chg-task", "schema")
    page.fill("#chg-at", "5")  # planned to end at 3: what depends on it must move
    page.click("#chg-done")
    page.fill("#new-id", "hotfix")
    page.fill("#new-skills", "python, backend")
    page.fill("#new-duration", "3")
    page.fill("#new-priority", "10")
    page.click("#add-task button[type=submit]")
    assert page.locator("#pending li").count() == 2
    page.click("#replan")
    page.wait_for_function(
        f"document.querySelector('#job-state').dataset.job !== '{job_id}'", timeout=30_000
    )
    job2 = page.get_attribute("#job-state", "data-job") or ""
    assert ui.wait_done(job2) == "succeeded"
    sol = _job(ui, job2)["solution"]
    assert _bars(ui) == sol["assignments"]
    assert sol["assignments"]["hotfix"] == page.get_attribute(
        ".bar[data-task='hotfix']", "data-agent"
    )
    plan_id = page.get_attribute("#job-state", "data-plan")
    with ui.service.api() as c:
        diff = c.get(f"/api/plans/{plan_id}/diff", params={"from": 1, "to": 2}).json()
    moved = {r["task"] for r in diff["tasks"] if r["change"] in ("moved", "reassigned")}
    shown = set(page.eval_on_selector_all(".bar.moved", "ns => ns.map(n => n.dataset.task)"))
    assert shown == moved
    # what waits for schema and started before 5 in version 1 had to move
    first = _job(ui, job_id)["solution"]
    late = {t for t in ("api", "etl") if first["schedule"][first["assignments"][t]][t][0] < 5}
    assert late <= moved
    assert "hotfix" in {r["task"] for r in diff["tasks"] if r["change"] == "added"}
    assert "Disruption:" in page.inner_text("#disruption")
    texts = page.locator("#versions button").all_inner_texts()
    assert len(texts) == 2 and "task schema done at 5" in texts[1] and "hotfix" in texts[1]
    shot = page.screenshot(full_page=True)
    assert len(shot) > 10_000
    if os.environ.get("QP_UPDATE_SCREENSHOT"):  # docs/web-view.png comes from here
        SCREENSHOT.write_bytes(shot)


def test_upload_a_problem_file(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    problem = make_problem(4, 7, seed=8)
    ui.page.set_input_files(
        "#upload",
        files=[
            {
                "name": "mine.json",
                "mimeType": "application/json",
                "buffer": json.dumps(problem).encode(),
            }
        ],
    )
    ui.page.wait_for_function(
        "document.querySelector('#problem-summary').textContent.includes('7 tasks')"
    )
    assert json.loads(ui.page.input_value("#problem-json")) == problem
    # objectives: the problem's own is ticked; a second one ticked ranks after it
    assert ui.page.is_checked("input[value=minimize_makespan]")
    ui.page.check("input[value=minimize_cost]")
    with ui.page.expect_request(lambda r: r.url.endswith("/api/plans")) as sent:
        job_id = ui.solve("cpsat", 5)
    body = json.loads(sent.value.post_data or "{}")
    assert body["problem"]["objective"] == ["minimize_makespan", "minimize_cost"]
    assert body["backend"] == "cpsat" and body["time_limit"] == 5
    assert ui.wait_done(job_id) == "succeeded"
    assert _bars(ui) == _job(ui, job_id)["solution"]["assignments"]


def test_invalid_json_and_api_errors_show_next_to_the_field(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    page = ui.page
    ui.paste('{"agents": [}')
    page.click("#solve")
    err = page.locator("#problem-error")
    assert err.is_visible()
    assert "Invalid JSON" in err.inner_text()
    assert not any("/api/plans" in u for u in ui.requests)  # nothing was sent
    # a problem the API refuses: the message names the field and sits by the problem
    ui.allowed_errors.append("status of 422")
    bad = make_problem(2, 3)
    bad["tasks"][1]["dependencies"] = ["nope"]
    ui.paste(bad)
    page.click("#solve")
    page.wait_for_function("document.querySelector('#problem-error').dataset.code")
    text = err.inner_text()
    assert "nope" in text and "field" in text
    # a bad time limit is refused by the page, next to the time limit
    ui.paste(make_problem(2, 3))
    page.fill("#time-limit", "0")
    page.click("#solve")
    assert page.locator("#time-limit-error").is_visible()


def test_no_key_no_data(ui: Watched) -> None:
    ui.open()
    page = ui.page
    assert "no key" in page.inner_text("#key-state")
    assert page.is_disabled("#solve")
    page.wait_for_timeout(300)
    assert not any("/api/" in u for u in ui.requests)
    ui.open(ui.service.client_key)
    assert page.evaluate("sessionStorage.getItem('qp.apiKey')") == ui.service.client_key
    assert page.evaluate("localStorage.length") == 0
    page.click("#key-forget")
    page.wait_for_load_state()
    assert page.evaluate("sessionStorage.getItem('qp.apiKey')") is None


def test_operators_page_switches_backends(ui: Watched) -> None:
    with ui.service.api(ui.service.admin) as c:
        r = c.post("/api/jobs", json={"problem": make_problem(2, 3), "backend": "cpsat"})
        assert r.status_code == 202, r.text
        own = [j["id"] for j in c.get("/api/jobs").json()["jobs"]]
        assert r.json()["id"] in own
    ui.open(ui.service.admin)
    page = ui.page
    page.click("#tab-ops")
    page.wait_for_selector("#backends tbody tr[data-backend='tabu']")
    with ui.service.api(ui.service.admin) as c:
        names = [b["name"] for b in c.get("/api/backends").json()["backends"]]
    shown = page.eval_on_selector_all("#backends tbody tr", "rs => rs.map(r => r.dataset.backend)")
    assert shown == names
    page.wait_for_selector("#service-rates:not(:empty)")
    assert page.eval_on_selector_all("#jobs tbody tr", "rs => rs.map(r => r.dataset.job)") == own
    assert "job error rate" in page.inner_text("#service-rates")
    assert "error rate" in page.inner_text("#error-rate") or not own
    switch = page.locator("#backends tr[data-backend='tabu'] input[role=switch]")
    assert switch.is_checked()
    switch.click()
    with ui.service.api(ui.service.admin) as c:
        for _ in range(50):
            enabled = {b["name"]: b["enabled"] for b in c.get("/api/backends").json()["backends"]}
            if not enabled["tabu"]:
                break
            page.wait_for_timeout(100)
        assert enabled["tabu"] is False
        page.wait_for_selector("#backends tr[data-backend='tabu'] input[role=switch]:not(:checked)")
        page.locator("#backends tr[data-backend='tabu'] input[role=switch]").click()
        for _ in range(50):
            enabled = {b["name"]: b["enabled"] for b in c.get("/api/backends").json()["backends"]}
            if enabled["tabu"]:
                break
            page.wait_for_timeout(100)
        assert enabled["tabu"] is True


def test_operators_page_needs_an_admin_key(ui: Watched) -> None:
    ui.allowed_errors.append("status of 403")
    ui.open(ui.service.client_key)
    ui.page.click("#tab-ops")
    ui.page.wait_for_selector("#ops-error:not([hidden])")
    assert "admin key" in ui.page.inner_text("#ops-error")
    assert ui.page.locator("#backends tbody tr").count() == 0


def test_static_files_ship_in_the_package() -> None:
    from quantum_planner.service.app import WEB_DIR

    names = {p.name for p in WEB_DIR.iterdir()}
    assert {"index.html", "app.js", "style.css"} <= names
    for name in names:
        # the SVG namespace is a name, not an address anything is fetched from
        body = (WEB_DIR / name).read_text().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in body and "https://" not in body, name  # no CDN, nothing remote


def test_examples_route(service: Service) -> None:
    with service.api() as c:
        listed = c.get("/api/examples").json()["examples"]
        names = [e["name"] for e in listed]
        assert names == sorted(p.stem for p in (ROOT / "examples").glob("*.json"))
        team = c.get("/api/examples/team").json()
        assert team == json.loads((ROOT / "examples" / "team.json").read_text())
        missing = c.get("/api/examples/nope")
        assert missing.status_code == 404 and missing.json()["code"] == "example_not_found"
        assert missing.json()["field"] == "name"
        assert c.get("/api/examples/..%2Fpyproject").status_code == 404  # names, not paths
    with service.api() as c:
        c.headers.pop("Authorization")
        assert c.get("/api/examples").status_code == 401  # no key, no data
        page = c.get("/ui/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_falls_back_to_polling_when_the_stream_fails(ui: Watched) -> None:
    ui.allowed_errors.append("net::ERR_FAILED")  # the aborted stream requests
    ui.open(ui.service.client_key)
    tries: list[str] = []
    ui.page.route("**/events", lambda route: (tries.append(route.request.url), route.abort()))
    ui.paste(make_problem(3, 6, seed=1))
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    assert ui.page.inner_text("#update-mode") == "polling"
    assert _bars(ui) == _job(ui, job_id)["solution"]["assignments"]
    assert len(tries) == 3  # three tries, then polling
    assert any(u.endswith(f"/api/jobs/{job_id}") for u in ui.requests)


def test_a_dropped_stream_resumes_with_last_event_id(ui: Watched) -> None:
    ui.open(ui.service.client_key)
    seen: list[dict[str, str]] = []

    def first_cut_short(route: Any) -> None:
        seen.append(route.request.headers)
        if len(seen) == 1:  # one event, then the connection ends
            body = 'retry: 100\n\nid: 1\nevent: status\ndata: {"state": "queued"}\n\n'
            route.fulfill(status=200, body=body, headers={"content-type": "text/event-stream"})
        else:
            route.fallback()

    ui.page.route("**/events", first_cut_short)
    ui.paste(make_problem(3, 6, seed=4))
    job_id = ui.solve("cpsat", 5)
    assert ui.wait_done(job_id) == "succeeded"
    assert len(seen) >= 2
    assert "last-event-id" not in seen[0]
    assert seen[1]["last-event-id"] == "1"
    assert seen[1]["authorization"] == f"Bearer {ui.service.client_key}"
    assert ui.page.inner_text("#update-mode") == "live (event stream)"
    assert _bars(ui) == _job(ui, job_id)["solution"]["assignments"]
