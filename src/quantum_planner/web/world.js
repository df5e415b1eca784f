// "Change the world": pending changes, re-plan, versions and the diff between them.

import { api } from "./api.js";
import { describeChange, disruptionText, renderAnalysis, renderDiff } from "./plan.js";
import { $, S, clearErrors, hooks, showError } from "./state.js";

// -- change the world ---------------------------------------------------------------

export function fillChangeSelects() {
  const p = S.problem || { tasks: [], agents: [] };
  const ts = $("chg-task");
  ts.replaceChildren(...(p.tasks || []).map((t) => new Option(t.id, t.id)));
  const as = $("chg-agent");
  as.replaceChildren(...(p.agents || []).filter((a) => !S.removed.has(a.id)).map((a) => new Option(a.id, a.id)));
}

export function addChange(change) {
  clearErrors();
  if (!S.planId) {
    showError({ message: "Solve a problem first: changes apply to its plan." }, "changes-error");
    return;
  }
  S.pending.push(change);
  renderPending();
}

export function renderPending() {
  const ol = $("pending");
  ol.replaceChildren();
  if (!S.pending.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "none";
    ol.append(li);
  }
  S.pending.forEach((c, i) => {
    const li = document.createElement("li");
    li.textContent = describeChange(c) + " ";
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Undo";
    b.setAttribute("aria-label", `Undo: ${describeChange(c)}`);
    b.addEventListener("click", () => {
      S.pending.splice(i, 1);
      renderPending();
    });
    li.append(b);
    ol.append(li);
  });
  $("replan").disabled = !(S.pending.length && S.solution && $("stop").disabled);
}

export async function replan() {
  clearErrors();
  const opts = hooks.readSolveOptions();
  if (!opts || !S.pending.length) return;
  try {
    const v = await api("POST", `/api/plans/${S.planId}/changes`, { changes: S.pending, ...opts });
    // the page's copy of the problem follows the changes (the server has its own)
    const next = structuredClone(S.problem);
    for (const c of S.pending) {
      if (c.type === "add_task") next.tasks.push(c.task);
      if (c.type === "remove_agent") S.removed.add(c.agent);
    }
    S.problem = next;
    S.problems.set(v.version, next);
    S.version = v.version;
    S.pending = [];
    renderPending();
    fillChangeSelects();
    hooks.follow(v.job_id);
  } catch (e) {
    showError(e, "changes-error");
  }
}

export async function loadDiff(from, to, highlight) {
  const d = await api("GET", `/api/plans/${S.planId}/diff?from=${from}&to=${to}`);
  renderDiff(d);
  $("disruption").textContent = disruptionText(d.disruption);
  if (highlight) S.moved = new Set(d.tasks.filter((r) => r.change === "moved" || r.change === "reassigned").map((r) => r.task));
  return d;
}

export async function refreshVersions() {
  if (!S.planId) return;
  try {
    const { versions } = await api("GET", `/api/plans/${S.planId}/versions`);
    const ol = $("versions");
    ol.replaceChildren();
    for (const v of versions) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.version = v.version;
      const what = v.changes.length ? v.changes.map(describeChange).join("; ") : "first plan";
      b.textContent = `v${v.version} (${v.state}): ${what}`;
      if (v.version === S.version) b.setAttribute("aria-current", "true");
      b.addEventListener("click", () => showVersion(v));
      li.append(b);
      ol.append(li);
    }
  } catch (e) {
    showError(e);
  }
}

async function showVersion(v) {
  clearErrors();
  if (!v.solution) {
    showError({ message: `version ${v.version} has no plan (${v.state})` }, "changes-error");
    return;
  }
  S.problem = S.problems.get(v.version) || S.problem;
  S.solution = v.solution;
  S.moved = new Set();
  try {
    if (v.parent_version) await loadDiff(v.parent_version, v.version, true);
    else {
      $("diff").hidden = true;
      $("disruption").textContent = "";
    }
    hooks.draw(`version ${v.version}, ${v.solution_kind}`);
    renderAnalysis(await api("GET", `/api/jobs/${v.job_id}/analysis`), v.solution);
  } catch (e) {
    showError(e);
  }
  for (const b of document.querySelectorAll("#versions button")) {
    if (Number(b.dataset.version) === v.version) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  }
}
