// Rendering a plan: KPIs, timeline with hover details, unassigned list, analysis table,
// versions and diff. Pure DOM work; app.js decides what to show when.

import { renderTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);

export function fmt(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

function cell(tr, text, attrs = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [k, v] of Object.entries(attrs)) td.setAttribute(k, v);
  tr.append(td);
  return td;
}

/** The KPIs of a plan; each <dd> carries the raw number in data-value. */
export function renderKpis(problem, sol) {
  const dl = $("kpis");
  dl.replaceChildren();
  const obj = sol.objectives || {};
  const totalPrio = (problem.tasks || []).reduce((s, t) => s + (t.priority ?? 1), 0);
  const assigned = Object.keys(sol.assignments || {}).length;
  const items = [
    ["makespan", "Makespan", sol.makespan, fmt(sol.makespan)],
    ["cost", "Cost", obj.minimize_cost, fmt(obj.minimize_cost)],
    ["load_balance", "Load balance (variance)", obj.balance_load, fmt(obj.balance_load)],
    ["priority", "Priority served", obj.maximize_priority, `${fmt(obj.maximize_priority)} of ${fmt(totalPrio)}`],
    ["assigned", "Tasks assigned", assigned, `${assigned} of ${(problem.tasks || []).length}`],
    ["feasible", "Feasible", sol.feasible, sol.feasible ? "yes" : "no"],
    ["optimal", "Proven optimal", sol.status === "optimal", sol.status === "optimal" ? "yes" : "no"],
    ["gap", "Gap", sol.gap, sol.gap === null || sol.gap === undefined ? "unknown" : `${fmt(sol.gap * 100)} %`],
    ["backend", "Backend", sol.backend_used, sol.backend_used || "–"],
  ];
  for (const [key, label, raw, shown] of items) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = shown;
    dd.dataset.kpi = key;
    dd.dataset.value = raw === null || raw === undefined ? "" : String(raw);
    if (key === "feasible" && !sol.feasible) dd.classList.add("bad");
    div.append(dt, dd);
    dl.append(div);
  }
}

function showTooltip(info) {
  const tip = $("tooltip");
  for (const b of document.querySelectorAll(".bar.dep")) b.classList.remove("dep");
  if (!info) {
    tip.hidden = true;
    return;
  }
  const t = info.task;
  // the bars this task waits for are outlined too
  for (const d of t.dependencies || []) {
    const bar = document.querySelector(`.bar[data-task="${CSS.escape(d)}"]`);
    if (bar) bar.classList.add("dep");
  }
  const lines = [
    [`${t.id}`, `on ${info.agent}, ${fmt(info.start)} – ${fmt(info.end)}`],
    ["priority", fmt(t.priority ?? 1)],
    ["skills", (t.required_skills || []).join(", ") || "none"],
    ["depends on", (t.dependencies || []).join(", ") || "none"],
  ];
  if (t.earliest_start != null || t.latest_finish != null) {
    lines.push(["window", `${fmt(t.earliest_start ?? 0)} – ${t.latest_finish != null ? fmt(t.latest_finish) : "open"}`]);
  }
  if (info.moved) lines.push(["changed", "moved in this version"]);
  tip.replaceChildren();
  for (const [k, v] of lines) {
    const p = document.createElement("p");
    const b = document.createElement("b");
    b.textContent = k + " ";
    p.append(b, v);
    tip.append(p);
  }
  const r = info.node.getBoundingClientRect();
  tip.style.left = `${window.scrollX + r.left}px`;
  tip.style.top = `${window.scrollY + r.bottom + 4}px`;
  tip.hidden = false;
}

/** Timeline, KPIs and unassigned list of one plan. */
export function renderPlan(view) {
  const { problem, solution, moved, removed, zoom, caption } = view;
  $("plan-caption").textContent = caption || "";
  renderKpis(problem, solution);
  const n = renderTimeline($("timeline"), problem, solution, { zoom, moved, removed, onFocus: showTooltip });
  $("timeline").setAttribute("aria-label", `${n} tasks scheduled`);
  const ul = $("unassigned");
  ul.replaceChildren();
  const un = solution.unassigned || [];
  for (const tid of un.length ? un : [null]) {
    const li = document.createElement("li");
    li.textContent = tid ?? "none";
    if (tid === null) li.className = "muted";
    else li.dataset.task = tid;
    ul.append(li);
  }
}

function justification(c) {
  const parts = [];
  for (const v of c.violated || []) parts.push(`violated: ${v.message || JSON.stringify(v)}`);
  for (const b of c.binding || []) parts.push(`binding: ${b.message || JSON.stringify(b)}`);
  if (c.min_slack !== null && c.min_slack !== undefined) parts.push(`least slack ${fmt(c.min_slack)}`);
  return parts;
}

/** The per-constraint analysis table, one row per constraint of the API's answer. */
export function renderAnalysis(a, solution) {
  const body = $("analysis").querySelector("tbody");
  body.replaceChildren();
  const penalties = (solution && solution.penalties) || {};
  for (const c of a.constraints) {
    const tr = document.createElement("tr");
    tr.dataset.constraint = c.constraint;
    tr.className = `st-${c.status}`;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = c.constraint;
    tr.append(th);
    cell(tr, c.enabled ? c.status : "inactive");
    cell(tr, String(c.checked));
    cell(tr, String((c.violated || []).length));
    cell(tr, String((c.binding || []).length));
    cell(tr, penalties[c.constraint] !== undefined ? fmt(penalties[c.constraint]) : "–");
    const td = cell(tr, "");
    const parts = justification(c);
    if (parts.length > 3) {
      const d = document.createElement("details");
      const s = document.createElement("summary");
      s.textContent = `${parts.length} matches`;
      d.append(s);
      for (const p of parts) {
        const div = document.createElement("div");
        div.textContent = p;
        d.append(div);
      }
      td.append(d);
    } else {
      for (const p of parts) {
        const div = document.createElement("div");
        div.textContent = p;
        td.append(div);
      }
    }
    body.append(tr);
  }
  const feas = a.feasible ? "The plan is valid" : "The plan breaks constraints";
  const binding = a.binding_constraints.length ? `; binding: ${a.binding_constraints.join(", ")}` : "";
  const violated = a.violated_constraints.length ? `; violated: ${a.violated_constraints.join(", ")}` : "";
  const crit = (a.objectives || []).find((o) => o.critical_chain);
  const chain = crit ? `; critical chain: ${crit.critical_chain.join(" → ")}` : "";
  $("analysis-summary").textContent = `${feas} (${a.solution_kind} plan)${violated}${binding}${chain}.`;
}

export function clearAnalysis(text) {
  $("analysis").querySelector("tbody").replaceChildren();
  $("analysis-summary").textContent = text;
}

/** The diff table between two versions. */
export function renderDiff(d) {
  const table = $("diff");
  table.hidden = false;
  $("diff-caption").textContent = `Version ${d.from_version} → ${d.to_version}: ${d.tasks.length} tasks changed`;
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const r of d.tasks) {
    const tr = document.createElement("tr");
    tr.dataset.task = r.task;
    cell(tr, r.task);
    cell(tr, r.change);
    cell(tr, r.agent_before ?? "–");
    cell(tr, fmt(r.start_before));
    cell(tr, r.agent_after ?? "–");
    cell(tr, fmt(r.start_after));
    body.append(tr);
  }
}

export function disruptionText(d) {
  if (!d) return "";
  return `Disruption: ${fmt(d.reassigned ?? 0)} reassigned, ${fmt(d.moved ?? 0)} moved, ` +
    `start shift ${fmt(d.start_shift ?? 0)}, ${fmt(d.unchanged ?? 0)} unchanged`;
}

export function describeChange(c) {
  switch (c.type) {
    case "complete_task": return `task ${c.task} done at ${c.at}`;
    case "start_task": return `task ${c.task} started at ${c.at}`;
    case "remove_agent": return `agent ${c.agent} leaves at ${c.at}`;
    case "add_task": return `new task ${c.task.id} (${(c.task.required_skills || []).join(", ") || "no skills"}, ${c.task.duration})`;
    default: return c.type;
  }
}
