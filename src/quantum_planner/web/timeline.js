// Our own small SVG renderers: the timeline per agent and the score-over-time chart.

const SVG = "http://www.w3.org/2000/svg";
const ROW = 34;
const LABEL = 170;
const AXIS = 24;

export function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Priority band 0 (low) .. 4 (high) of a task, relative to the problem's range. */
export function priorityBand(p, lo, hi) {
  if (hi <= lo) return 2;
  return Math.max(0, Math.min(4, Math.floor(((p - lo) / (hi - lo)) * 4.999)));
}

function fmt(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function tickStep(span, px) {
  const target = span / Math.max(1, px / 70);
  const pow = 10 ** Math.floor(Math.log10(target || 1));
  for (const m of [1, 2, 5, 10]) if (m * pow >= target) return m * pow;
  return 10 * pow;
}

/**
 * Draw `solution` for `problem` into `host` (an element). Options: zoom (1 = fit),
 * moved (Set of task ids to highlight), removed (Set of agent ids), onFocus(task|null).
 * Returns the number of bars drawn.
 */
export function renderTimeline(host, problem, solution, opts = {}) {
  host.replaceChildren();
  const zoom = opts.zoom || 1;
  const moved = opts.moved || new Set();
  const removed = opts.removed || new Set();
  const tasks = new Map((problem.tasks || []).map((t) => [t.id, t]));
  const agents = (problem.agents || []).map((a) => a.id);
  for (const a of Object.keys(solution.schedule || {})) if (!agents.includes(a)) agents.push(a);
  const prios = [...tasks.values()].map((t) => t.priority ?? 1);
  const lo = Math.min(...prios, 1);
  const hi = Math.max(...prios, 1);
  let end = solution.makespan || 0;
  for (const t of tasks.values()) if (t.latest_finish != null) end = Math.max(end, t.latest_finish);
  end = Math.max(end, 1);
  const width = Math.max(400, (host.clientWidth || 900) - 4);
  const span = (width - LABEL - 10) * zoom;
  const scale = span / end;
  const svgW = LABEL + span + 10;
  const svgH = AXIS + agents.length * ROW + 4;
  const svg = el("svg", {
    width: svgW, height: svgH, viewBox: `0 0 ${svgW} ${svgH}`, role: "group",
    "aria-label": `Timeline: ${agents.length} agents, time 0 to ${fmt(end)}`, class: "timeline",
  });
  const x = (t) => LABEL + t * scale;
  // axis
  const step = tickStep(end, span);
  for (let t = 0; t <= end + 1e-9; t += step) {
    svg.append(el("line", { x1: x(t), x2: x(t), y1: AXIS - 6, y2: svgH, class: "tick" }));
    svg.append(el("text", { x: x(t), y: AXIS - 10, class: "tick-label", "text-anchor": "middle" }, fmt(t)));
  }
  let bars = 0;
  agents.forEach((aid, row) => {
    const y = AXIS + row * ROW;
    const agent = (problem.agents || []).find((a) => a.id === aid) || { id: aid, skills: [] };
    const g = el("g", { class: "row" + (removed.has(aid) ? " removed" : ""), "data-agent": aid });
    g.append(el("rect", { x: 0, y, width: svgW, height: ROW, class: row % 2 ? "row-bg odd" : "row-bg" }));
    const name = el("text", { x: 6, y: y + 14, class: "agent-name" }, aid + (removed.has(aid) ? " (removed)" : ""));
    const all = (agent.skills || []).join(", ");
    // the label column is narrow: long skill lists are cut, the full list is the tooltip
    const skills = el("text", { x: 6, y: y + 28, class: "agent-skills" }, all.length > 30 ? all.slice(0, 29) + "…" : all);
    skills.append(el("title", {}, `skills: ${all || "none"}`));
    g.append(name, skills);
    // outside the agent's availability: shaded
    if (agent.available_from > 0) g.append(el("rect", { x: x(0), y, width: agent.available_from * scale, height: ROW, class: "unavailable" }));
    if (agent.available_until != null && agent.available_until < end) {
      g.append(el("rect", { x: x(agent.available_until), y, width: (end - agent.available_until) * scale, height: ROW, class: "unavailable" }));
    }
    const sched = (solution.schedule || {})[aid] || {};
    for (const [tid, [s, e]] of Object.entries(sched).sort((p, q) => p[1][0] - q[1][0])) {
      const t = tasks.get(tid) || { id: tid };
      if (t.earliest_start != null || t.latest_finish != null) {
        const ws = t.earliest_start ?? 0;
        const we = t.latest_finish ?? end;
        g.append(el("rect", { x: x(ws), y: y + 2, width: Math.max(1, (we - ws) * scale), height: ROW - 4, class: "window", "data-window-of": tid }));
      }
      const band = priorityBand(t.priority ?? 1, lo, hi);
      const deps = (t.dependencies || []).join(", ") || "none";
      const label = `${tid} on ${aid}, ${fmt(s)} to ${fmt(e)}, priority ${t.priority ?? 1}, depends on ${deps}` +
        (t.earliest_start != null || t.latest_finish != null ? `, window ${fmt(t.earliest_start ?? 0)} to ${t.latest_finish != null ? fmt(t.latest_finish) : "open"}` : "") +
        (moved.has(tid) ? ", moved in this version" : "");
      const bar = el("g", {
        class: `bar p${band}` + (moved.has(tid) ? " moved" : ""), tabindex: 0, role: "img",
        "aria-label": label, "data-task": tid, "data-agent": aid, "data-start": s, "data-end": e,
      });
      bar.append(el("title", {}, label));
      bar.append(el("rect", { x: x(s), y: y + 6, width: Math.max(2, (e - s) * scale), height: ROW - 12, rx: 3 }));
      if ((e - s) * scale > 28) bar.append(el("text", { x: x(s) + 4, y: y + ROW / 2 + 4, class: "bar-label" }, tid));
      const show = () => opts.onFocus && opts.onFocus({ task: t, agent: aid, start: s, end: e, moved: moved.has(tid), node: bar });
      bar.addEventListener("mouseenter", show);
      bar.addEventListener("focus", show);
      bar.addEventListener("mouseleave", () => opts.onFocus && opts.onFocus(null));
      bar.addEventListener("blur", () => opts.onFocus && opts.onFocus(null));
      g.append(bar);
      bars += 1;
    }
    svg.append(g);
  });
  host.append(svg);
  return bars;
}

/** A small line chart of the best score over time, points = [{elapsed, best}]. */
export function renderScoreChart(host, points) {
  host.replaceChildren();
  const W = 320;
  const H = 110;
  const pad = 28;
  const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart" });
  const pts = points.filter((p) => p.best !== null && p.best !== undefined);
  if (!pts.length) {
    svg.setAttribute("aria-label", "Score over time: no score reported");
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "muted" }, "no score reported"));
    host.append(svg);
    return;
  }
  const tMax = Math.max(...pts.map((p) => p.elapsed || 0), 0.001);
  const vMin = Math.min(...pts.map((p) => p.best));
  const vMax = Math.max(...pts.map((p) => p.best));
  const sx = (t) => pad + ((t || 0) / tMax) * (W - pad - 8);
  const sy = (v) => (vMax === vMin ? H / 2 : 8 + ((vMax - v) / (vMax - vMin)) * (H - pad - 8));
  svg.setAttribute("aria-label", `Score over time: ${pts.length} improvements, from ${fmt(pts[0].best)} to ${fmt(pts[pts.length - 1].best)} in ${fmt(tMax)} s`);
  svg.append(el("line", { x1: pad, x2: W - 8, y1: H - pad + 8, y2: H - pad + 8, class: "axis" }));
  svg.append(el("text", { x: pad, y: H - 4, class: "tick-label" }, "0 s"));
  svg.append(el("text", { x: W - 8, y: H - 4, class: "tick-label", "text-anchor": "end" }, `${fmt(tMax)} s`));
  svg.append(el("text", { x: 2, y: 14, class: "tick-label" }, fmt(vMax)));
  svg.append(el("text", { x: 2, y: H - pad + 4, class: "tick-label" }, fmt(vMin)));
  // a step line: the best score holds until the next improvement
  let d = "";
  pts.forEach((p, i) => {
    d += i === 0 ? `M${sx(p.elapsed)},${sy(p.best)}` : `H${sx(p.elapsed)}V${sy(p.best)}`;
  });
  d += `H${sx(tMax)}`;
  svg.append(el("path", { d, class: "score-line" }));
  for (const p of pts) svg.append(el("circle", { cx: sx(p.elapsed), cy: sy(p.best), r: 2.5, class: "score-dot" }));
  host.append(svg);
}
