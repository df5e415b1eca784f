// The web view: load a problem, solve it with live progress, show the plan and why,
// change the world and re-plan. Everything goes through the service's HTTP API.

import { api, followJob, getKey, setKey } from "./api.js";
import { clearAnalysis, fmt, renderAnalysis, renderPlan } from "./plan.js";
import { $, S, clearErrors, hooks, showError } from "./state.js";
import { addChange, fillChangeSelects, loadDiff, refreshVersions, renderPending, replan } from "./world.js";
import { renderScoreChart } from "./timeline.js";
import { initOps, refreshOps } from "./ops.js";

// -- key ----------------------------------------------------------------------------

function keyChanged() {
  const has = Boolean(getKey());
  $("key-state").textContent = has ? "key set for this browser session" : "no key: nothing is loaded";
  for (const id of ["example-load", "solve"]) $(id).disabled = !has;
  if (has) loadExamples();
}

// -- problem ------------------------------------------------------------------------

async function loadExamples() {
  try {
    const { examples } = await api("GET", "/api/examples");
    const sel = $("example");
    sel.replaceChildren(new Option("(choose an example)", ""));
    for (const e of examples) sel.append(new Option(`${e.name}: ${e.agents} agents, ${e.tasks} tasks`, e.name));
  } catch (e) {
    showError(e);
  }
}

function setProblemText(problem) {
  $("problem-json").value = JSON.stringify(problem, null, 2);
  problemEdited();
}

/** The problem in the text area, or null with the error shown next to it. */
function readProblem() {
  const text = $("problem-json").value.trim();
  if (!text) {
    showError({ message: "Paste a problem, upload a file or load an example first." }, "problem-error");
    return null;
  }
  try {
    const p = JSON.parse(text);
    if (typeof p !== "object" || p === null || Array.isArray(p)) throw new Error("a problem is a JSON object");
    return p;
  } catch (e) {
    showError({ message: `Invalid JSON: ${e.message}` }, "problem-error");
    return null;
  }
}

function problemEdited() {
  let p = null;
  try {
    p = JSON.parse($("problem-json").value);
  } catch {
    $("problem-summary").textContent = "";
    return;
  }
  if (!p || typeof p !== "object") return;
  const agents = (p.agents || []).length;
  const tasks = (p.tasks || []).length;
  $("problem-summary").textContent = `${p.name || "problem"}: ${agents} agents, ${tasks} tasks`;
  const obj = p.objective === undefined ? [] : [].concat(p.objective);
  S.objectives = obj.filter((o) => typeof o === "string");
  for (const box of document.querySelectorAll("input[name=objective]")) box.checked = S.objectives.includes(box.value);
}

// -- solving and progress -----------------------------------------------------------

function readSolveOptions() {
  const tl = Number($("time-limit").value);
  if (!(tl > 0)) {
    showError({ message: "The time limit must be a number of seconds above 0." }, "time-limit-error");
    return null;
  }
  const opts = { time_limit: tl };
  if ($("backend").value !== "auto") opts.backend = $("backend").value;
  return opts;
}

async function solve() {
  clearErrors();
  const problem = readProblem();
  const opts = readSolveOptions();
  if (!problem || !opts) return;
  if (S.objectives.length) problem.objective = S.objectives.length === 1 ? S.objectives[0] : [...S.objectives];
  try {
    const v = await api("POST", "/api/plans", { problem, ...opts });
    S.planId = v.plan_id;
    S.version = v.version;
    S.problem = problem;
    S.problems = new Map([[v.version, problem]]);
    S.removed = new Set();
    S.moved = new Set();
    S.pending = [];
    renderPending();
    fillChangeSelects();
    $("diff").hidden = true;
    $("disruption").textContent = "";
    follow(v.job_id);
  } catch (e) {
    showError(e);
  }
}

function follow(jobId) {
  if (S.follow) S.follow.stop();
  S.jobId = jobId;
  $("job-state").dataset.job = jobId;
  $("job-state").dataset.plan = S.planId;
  $("job-state").dataset.final = "";
  S.series = [];
  S.t0 = performance.now();
  renderScore();
  $("stop").disabled = false;
  $("solve").disabled = true;
  $("replan").disabled = true;
  $("job-state").textContent = "queued";
  $("backend-used").textContent = $("backend").value;
  $("best-score").textContent = "–";
  clearInterval(S.timer);
  S.timer = setInterval(() => {
    $("elapsed").textContent = `${((performance.now() - S.t0) / 1000).toFixed(1)} s`;
  }, 100);
  S.follow = followJob(jobId, (kind, data) => onJobEvent(jobId, kind, data));
}

function onJobEvent(jobId, kind, data) {
  if (jobId !== S.jobId) return;
  if (kind === "mode") $("update-mode").textContent = data === "stream" ? "live (event stream)" : "polling";
  else if (kind === "status") {
    $("job-state").textContent = data.state === "running" ? `running${data.worker ? " on " + data.worker : ""}` : data.state;
  } else if (kind === "progress") {
    if (data.best !== null && data.best !== undefined) {
      S.series.push({ elapsed: data.elapsed ?? 0, best: data.best });
      $("best-score").textContent = fmt(data.best);
      renderScore();
    }
    const m = /^([a-z_]+):/.exec(data.message || "");
    if (m) $("backend-used").textContent = m[1];
    if (data.has_plan) showBestSoFar(jobId);
  } else if (kind === "final") finished(jobId, data);
  else if (kind === "error") showError(data);
}

function renderScore() {
  renderScoreChart($("score-chart"), S.series);
  const body = $("score-table").querySelector("tbody");
  body.replaceChildren();
  for (const p of S.series) {
    const tr = document.createElement("tr");
    for (const v of [fmt(p.elapsed), fmt(p.best)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
}

async function showBestSoFar(jobId) {
  // at most one fetch every half second: fast solvers improve many times a second
  const now = performance.now();
  if (now - S.lastBestFetch < 500) return;
  S.lastBestFetch = now;
  try {
    const job = await api("GET", `/api/jobs/${jobId}`);
    const sol = job.solution || job.best_solution;
    // a late answer must not draw over the final plan
    if (sol && jobId === S.jobId && S.doneJob !== jobId && job.state === "running") {
      S.solution = sol;
      draw(`version ${S.version}, best so far`);
    }
  } catch {
    // the final event fetches the plan again
  }
}

/**
 * The job once its plan is settled. A stopped job is final at once, but its solver hands
 * in the plan it had a moment later (kept as the best so far): read until that stops
 * changing (unchanged for two reads in a row, at most about 6 s).
 */
async function finalJob(jobId, state) {
  let job = await api("GET", `/api/jobs/${jobId}`);
  if (state !== "cancelled") return job;
  $("job-state").textContent = "cancelled: collecting the solver's last plan…";
  let unchanged = 0;
  for (let i = 0; i < 10 && unchanged < 2; i += 1) {
    await new Promise((r) => setTimeout(r, 600));
    const again = await api("GET", `/api/jobs/${jobId}`);
    unchanged = JSON.stringify(again.best_solution) === JSON.stringify(job.best_solution) ? unchanged + 1 : 0;
    job = again;
  }
  $("job-state").textContent = "cancelled: stopped at your request";
  return job;
}

async function finished(jobId, data) {
  S.doneJob = jobId;
  clearInterval(S.timer);
  $("stop").disabled = true;
  $("solve").disabled = false;
  const msg = data.state === "succeeded" ? "succeeded" : `${data.state}${data.error_message ? ": " + data.error_message : ""}`;
  $("job-state").textContent = msg;
  $("job-state").dataset.final = data.state;
  try {
    const job = await finalJob(jobId, data.state);
    const pr = job.progress || {};
    if (pr.elapsed) $("elapsed").textContent = `${fmt(pr.elapsed)} s (solver)`;
    if (!S.series.length && pr.best_objective != null) {
      // no progress event carried a score (a quick solve): the job's last one still counts
      S.series.push({ elapsed: pr.elapsed ?? 0, best: pr.best_objective });
      $("best-score").textContent = fmt(pr.best_objective);
      renderScore();
    }
    const sol = job.solution || job.best_solution;
    if (!sol) {
      clearAnalysis(`No plan: the job ${data.state}.`);
      return;
    }
    S.solution = sol;
    $("backend-used").textContent = sol.backend_used || $("backend-used").textContent;
    const kind = job.solution ? "final" : "best so far";
    let caption = `version ${S.version}, ${kind}`;
    if (data.state === "cancelled") caption += " (stopped: the best plan found is kept)";
    S.moved = new Set();
    if (S.version > 1 && job.solution) await loadDiff(S.version - 1, S.version, true);
    draw(caption);
    const a = await api("GET", `/api/jobs/${jobId}/analysis`);
    renderAnalysis(a, sol);
  } catch (e) {
    showError(e);
  } finally {
    $("replan").disabled = !(S.pending.length && S.solution);
    await refreshVersions();
    document.body.dataset.ready = `${jobId}:${data.state}`; // everything for this job is drawn
  }
}

function draw(caption) {
  renderPlan({ problem: S.problem, solution: S.solution, moved: S.moved, removed: S.removed, zoom: S.zoom, caption });
}

async function stop() {
  if (!S.jobId) return;
  $("stop").disabled = true;
  $("job-state").textContent = "stopping…";
  try {
    await api("DELETE", `/api/jobs/${S.jobId}`);
  } catch (e) {
    if (e.status !== 409) showError(e); // 409: it finished first
  }
}

// -- wiring -------------------------------------------------------------------------

function zoom(f) {
  S.zoom = f === 0 ? 1 : Math.min(20, Math.max(1, S.zoom * f));
  if (S.solution) draw($("plan-caption").textContent);
}

function wire() {
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    setKey($("api-key").value.trim());
    $("api-key").value = "";
    keyChanged();
  });
  $("key-forget").addEventListener("click", () => {
    setKey("");
    location.reload(); // drop every piece of data the key fetched
  });
  $("example-load").addEventListener("click", async () => {
    clearErrors();
    const name = $("example").value;
    if (!name) return showError({ message: "Choose an example first." }, "problem-error");
    try {
      setProblemText(await api("GET", `/api/examples/${encodeURIComponent(name)}`));
    } catch (e) {
      showError(e, "problem-error");
    }
  });
  $("upload").addEventListener("change", async (ev) => {
    clearErrors();
    const file = ev.target.files[0];
    if (!file) return;
    $("problem-json").value = await file.text();
    if (readProblem()) problemEdited();
  });
  $("problem-json").addEventListener("input", problemEdited);
  for (const box of document.querySelectorAll("input[name=objective]")) {
    box.addEventListener("change", () => {
      S.objectives = S.objectives.filter((o) => o !== box.value);
      if (box.checked) S.objectives.push(box.value);
    });
  }
  $("solve").addEventListener("click", solve);
  $("stop").addEventListener("click", stop);
  $("zoom-in").addEventListener("click", () => zoom(1.5));
  $("zoom-out").addEventListener("click", () => zoom(1 / 1.5));
  $("zoom-fit").addEventListener("click", () => zoom(0));
  $("timeline").addEventListener("keydown", (ev) => {
    if (ev.key === "+" || ev.key === "=") zoom(1.5);
    else if (ev.key === "-") zoom(1 / 1.5);
  });
  const at = () => Number($("chg-at").value) || 0;
  $("chg-done").addEventListener("click", () => addChange({ type: "complete_task", task: $("chg-task").value, at: at() }));
  $("chg-started").addEventListener("click", () => addChange({ type: "start_task", task: $("chg-task").value, at: at() }));
  $("chg-remove-agent").addEventListener("click", () => addChange({ type: "remove_agent", agent: $("chg-agent").value, at: at() }));
  $("add-task").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const skills = $("new-skills").value.split(",").map((s) => s.trim()).filter(Boolean);
    addChange({
      type: "add_task",
      task: { id: $("new-id").value.trim(), required_skills: skills, duration: Number($("new-duration").value), priority: Number($("new-priority").value) },
    });
  });
  $("replan").addEventListener("click", replan);
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => selectTab(tab.id));
    tab.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        const other = tab.id === "tab-plan" ? "tab-ops" : "tab-plan";
        selectTab(other);
        $(other).focus();
      }
    });
  }
}

function selectTab(id) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.id === id;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  }
  if (id === "tab-ops") refreshOps();
}

const BACKENDS = ["auto", "cpsat", "greedy", "local_search", "simulated_annealing", "tabu", "hybrid", "assignment"];

function init() {
  Object.assign(hooks, { follow, draw, readSolveOptions });
  const sel = $("backend");
  sel.replaceChildren(...BACKENDS.map((b) => new Option(b, b)));
  wire();
  initOps();
  selectTab("tab-plan");
  renderScore();
  keyChanged();
}

init();
