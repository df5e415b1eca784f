// The HTTP API as the page uses it: the key (session storage only), JSON calls with
// typed errors, and a job's progress as Server-Sent Events read with fetch().
//
// EventSource cannot send an Authorization header, so the stream is read with
// fetch() and a ReadableStream reader; a dropped stream reconnects with
// Last-Event-ID, and where streaming fails the job is polled instead.

const KEY_NAME = "qp.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY_NAME) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

/** An error the API answered with ({code, message, field}) or a network failure. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "http_error";
    this.field = body.field || null;
    this.details = body.details || null;
  }
}

function headers(extra) {
  const h = { Accept: "application/json", ...extra };
  const key = getKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/** Call the API; resolves to the JSON body, rejects with an ApiError. */
export async function api(method, path, body) {
  if (!getKey()) throw new ApiError(401, { code: "no_key", message: "enter an API key first" });
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { code: "network", message: `the service did not answer (${e.message})` });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, data || {});
  return data;
}

/** Parse SSE text into events; returns [events, rest] where rest is an incomplete tail. */
export function parseSse(buffer) {
  const events = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    const ev = { id: null, event: "message", data: "" , retry: null };
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "id") ev.id = value;
      else if (field === "event") ev.event = value;
      else if (field === "retry") ev.retry = Number(value);
    }
    if (data.length) {
      ev.data = data.join("\n");
      events.push(ev);
    } else if (ev.retry !== null) {
      events.push({ ...ev, event: "retry" });
    }
  }
  return [events, rest];
}

/**
 * Follow a job until it ends. `on(kind, data)` gets "status", "progress" and "final"
 * events (kind "mode" says "stream" or "polling"). Returns {stop()} to stop following.
 */
export function followJob(jobId, on) {
  let stopped = false;
  let lastId = null;
  let retryMs = 1000;
  let failures = 0;
  const ctrl = { abort: null };

  async function stream() {
    const h = headers({ Accept: "text/event-stream" });
    if (lastId !== null) h["Last-Event-ID"] = lastId;
    const ac = new AbortController();
    ctrl.abort = () => ac.abort();
    const res = await fetch(`/api/jobs/${jobId}/events`, { headers: h, signal: ac.signal });
    if (res.status === 410) return "final-already"; // finished and nothing missed
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    on("mode", "stream");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "ended";
      buf += value;
      const [events, rest] = parseSse(buf);
      buf = rest;
      for (const ev of events) {
        if (ev.retry !== null) retryMs = ev.retry;
        if (ev.event === "retry") continue;
        if (ev.id !== null) lastId = ev.id;
        failures = 0;
        on(ev.event, JSON.parse(ev.data));
        if (ev.event === "final") {
          ac.abort();
          return "final";
        }
      }
    }
  }

  async function poll() {
    on("mode", "polling");
    let lastState = null;
    let lastBest = null;
    while (!stopped) {
      const job = await api("GET", `/api/jobs/${jobId}`);
      if (job.state !== lastState) {
        lastState = job.state;
        if (!["succeeded", "failed", "cancelled"].includes(job.state)) on("status", { state: job.state });
      }
      const p = job.progress || {};
      if (p.best_objective !== null && p.best_objective !== undefined && p.best_objective !== lastBest) {
        lastBest = p.best_objective;
        on("progress", { best: p.best_objective, elapsed: p.elapsed, fraction: p.fraction, message: p.message, has_plan: true });
      }
      if (["succeeded", "failed", "cancelled"].includes(job.state)) {
        on("final", { state: job.state, error_code: job.error && job.error.code, error_message: job.error && job.error.message });
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  (async () => {
    const canStream = typeof TextDecoderStream !== "undefined" && typeof ReadableStream !== "undefined";
    while (!stopped && canStream && failures < 3) {
      try {
        const how = await stream();
        if (how === "final") return;
        if (how === "final-already") break; // the poll below reads the result
      } catch (e) {
        if (stopped) return;
        failures += 1;
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, retryMs));
    }
    if (!stopped) {
      try {
        await poll();
      } catch (e) {
        on("error", e);
      }
    }
  })();

  return {
    stop() {
      stopped = true;
      if (ctrl.abort) ctrl.abort();
    },
  };
}
