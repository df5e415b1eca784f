// The operators' page: what the incident playbook has operators check. Backends with
// health, latency, circuit state and an enabled switch (admin key); recent jobs and
// their error rate.

import { api } from "./api.js";

const $ = (id) => document.getElementById(id);

function td(tr, text) {
  const c = document.createElement("td");
  c.textContent = text ?? "–";
  tr.append(c);
  return c;
}

async function readiness() {
  // /health/ready answers 503 when not ready, with the same body: read it either way
  const res = await fetch("/health/ready", { headers: { Accept: "application/json" } });
  const body = await res.json();
  const b = body.checks && body.checks.backends && body.checks.backends.detail;
  return (b && typeof b === "object" && b.backends) || {};
}

async function switchBackend(name, enabled, box) {
  box.disabled = true;
  try {
    await api("PUT", `/api/backends/${encodeURIComponent(name)}`, { enabled });
    await refreshOps();
  } catch (e) {
    box.checked = !enabled;
    showOpsError(e);
  } finally {
    box.disabled = false;
  }
}

function showOpsError(e) {
  const p = $("ops-error");
  p.textContent = e.status === 403 ? "This page needs an admin key." : `${e.message} (${e.code || "error"})`;
  p.hidden = false;
}

async function renderBackends() {
  const [{ backends }, health] = await Promise.all([api("GET", "/api/backends"), readiness()]);
  const body = $("backends").querySelector("tbody");
  body.replaceChildren();
  for (const b of backends) {
    const h = health[b.name] || {};
    const d = (h.detail && typeof h.detail === "object") ? h.detail : {};
    const tr = document.createElement("tr");
    tr.dataset.backend = b.name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = b.name;
    tr.append(th);
    td(tr, d.kind);
    const hc = td(tr, d.status || (h.healthy === undefined ? "unknown" : h.healthy ? "healthy" : "unhealthy"));
    hc.className = h.healthy ? "good" : "bad";
    td(tr, d.latency_ms === undefined || d.latency_ms === null ? "–" : String(d.latency_ms));
    td(tr, d.circuit);
    td(tr, d.consecutive_failures === undefined ? "–" : String(d.consecutive_failures));
    td(tr, d.last_error || "");
    const cell = td(tr, "");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.setAttribute("role", "switch");
    box.checked = Boolean(b.enabled);
    box.setAttribute("aria-label", `${b.name} enabled`);
    box.addEventListener("change", () => switchBackend(b.name, box.checked, box));
    cell.append(box);
    body.append(tr);
  }
}

async function renderJobs() {
  const { jobs } = await api("GET", "/api/jobs?limit=50");
  const body = $("jobs").querySelector("tbody");
  body.replaceChildren();
  let finished = 0;
  let failed = 0;
  for (const j of jobs) {
    if (["succeeded", "failed", "cancelled"].includes(j.state)) finished += 1;
    if (j.state === "failed") failed += 1;
    const tr = document.createElement("tr");
    tr.dataset.job = j.id;
    td(tr, j.id.slice(0, 12));
    td(tr, j.state);
    td(tr, j.backend || "auto");
    td(tr, new Date(j.created_at).toLocaleTimeString());
    const secs = j.started_at && j.finished_at ? (new Date(j.finished_at) - new Date(j.started_at)) / 1000 : null;
    td(tr, secs === null ? "–" : secs.toFixed(2));
    const best = j.progress && j.progress.best_objective;
    td(tr, best === null || best === undefined ? "–" : String(best));
    td(tr, j.error ? `${j.error.code}: ${j.error.message}` : "");
    body.append(tr);
  }
  const rate = finished ? ((failed / finished) * 100).toFixed(1) : "0.0";
  $("error-rate").textContent = jobs.length
    ? `This key's ${jobs.length} recent jobs: ${failed} of ${finished} finished failed (error rate ${rate} %).`
    : "This key has no jobs yet.";
  $("error-rate").dataset.rate = rate;
}

/** Samples of one metric in Prometheus text: [{labels, value}]. */
export function samples(text, metric) {
  const out = [];
  const re = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

async function renderService() {
  const res = await fetch("/metrics");
  const text = await res.text();
  const jobs = Object.fromEntries(samples(text, "quantum_planner_jobs").map((s) => [s.labels.state, s.value]));
  const done = (jobs.succeeded || 0) + (jobs.failed || 0) + (jobs.cancelled || 0);
  const jobRate = done ? ((jobs.failed || 0) / done) * 100 : 0;
  const reqs = samples(text, "quantum_planner_requests_total");
  const total = reqs.reduce((a, s) => a + s.value, 0);
  const e5 = reqs.filter((s) => /^5/.test(s.labels.status) && s.labels.status !== "503").reduce((a, s) => a + s.value, 0);
  const p = $("service-rates");
  p.textContent = `All jobs in the database: ${jobs.queued || 0} queued, ${jobs.running || 0} running, ` +
    `${jobs.succeeded || 0} succeeded, ${jobs.failed || 0} failed, ${jobs.cancelled || 0} cancelled ` +
    `(job error rate ${jobRate.toFixed(1)} %). This replica: ${total} requests, ${e5} server errors ` +
    `(${total ? ((e5 / total) * 100).toFixed(2) : "0.00"} %).`;
  p.dataset.jobErrorRate = jobRate.toFixed(1);
}

export async function refreshOps() {
  $("ops-error").hidden = true;
  try {
    await Promise.all([renderBackends(), renderJobs(), renderService()]);
  } catch (e) {
    showOpsError(e);
  }
}

export function initOps() {
  $("ops-refresh").addEventListener("click", refreshOps);
}
