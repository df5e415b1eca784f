// What the page knows (the shown plan, the job it follows, pending changes), the
// helpers every part uses, and errors shown next to the field they name.

import { ApiError } from "./api.js";

export const $ = (id) => document.getElementById(id);

export const S = {
  problem: null, // the problem of the shown version (the page keeps it in step with changes)
  problems: new Map(), // version -> problem
  planId: null,
  version: 0,
  jobId: null,
  doneJob: null, // the job whose final event arrived
  follow: null,
  series: [],
  t0: 0,
  timer: null,
  solution: null,
  moved: new Set(),
  removed: new Set(),
  zoom: 1,
  pending: [],
  objectives: [],
  lastBestFetch: 0,
};

// -- errors next to the field they name ---------------------------------------------

const FIELD_TARGETS = [
  [/^problem\.objective|^objective/, "objective-error"],
  [/^(problem|agents|tasks|body)/, "problem-error"],
  [/^time_limit/, "time-limit-error"],
  [/^backend/, "backend-error"],
  [/^(changes|freeze_until|disruption)/, "changes-error"],
];

export function clearErrors() {
  for (const node of document.querySelectorAll(".field-error, #global-error")) {
    node.hidden = true;
    node.textContent = "";
  }
}

export function showError(err, fallback = "global-error") {
  let target = fallback;
  if (err instanceof ApiError && err.field) {
    for (const [re, id] of FIELD_TARGETS) if (re.test(err.field)) target = id;
  }
  const node = $(target);
  const where = err.field ? `, field ${err.field}` : "";
  node.textContent = err instanceof ApiError ? `${err.message} (${err.code}${where})` : String(err.message || err);
  node.hidden = false;
  node.dataset.code = err.code || "";
}

/** Set by app.js: follow(jobId), draw(caption), readSolveOptions(). */
export const hooks = {};
