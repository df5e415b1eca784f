#!/usr/bin/env bash
# Performance diagnostics: API latency percentiles, allocations of one solve, PostgreSQL
# activity and slow queries, worker and queue state.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: performance-diagnostic.sh [-n REQUESTS] [--problem FILE] [--time-limit S]
                                 [--skip latency,memory,database,queue] [--url URL]

Sections:
  latency   POST /api/optimize REQUESTS times (default 20) with the sample 10-agent,
            30-task problem (or --problem FILE); prints n, p50, p95, p99, max and failures,
            then one more request timed phase by phase with scripts/curl-format.txt, the
            lines the playbook's `curl -w "@curl-format.txt"` prints. /api/optimize takes
            POST (a GET answers 405), so by hand that is:
              curl -w "@scripts/curl-format.txt" -s -o /dev/null -X POST \
                -H "Authorization: Bearer $QP_API_KEY" -H 'Content-Type: application/json' \
                --data-binary @request.json "$QP_URL/api/optimize"
            with request.json = {"problem": {...}, "time_limit": 5}
  memory    one solve in this machine's Python under tracemalloc; top 10 allocation sites
  database  PostgreSQL (QP_DATABASE_URL): connections by state, active queries, waiting
            locks, and the 10 slowest statements from pg_stat_statements when the
            extension is installed (PostgreSQL 13+ names the column mean_exec_time)
  queue     Redis (QP_REDIS_URL): queue length, unacknowledged jobs, live workers

Environment: QP_URL (default http://127.0.0.1:8000), QP_API_KEY (any key; /api/* needs
one), QP_DATABASE_URL, QP_REDIS_URL, QP_QUEUE (default quantum-planner), QP_PYTHON
(python with quantum_planner, for memory; default python3).

Exit status: 0 diagnostics gathered; 1 a section could not run (service down, requests
failed, database unreachable); 2 bad usage.
USAGE
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
N=20
PROBLEM=""
TIME_LIMIT=5
SKIP=","
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -n | --requests) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die_usage "$1 needs a positive integer"
      N="$2"; shift 2 ;;
    --problem) [[ -f "${2:-}" ]] || die_usage "--problem needs an existing JSON file"
      PROBLEM="$2"; shift 2 ;;
    --time-limit) [[ "${2:-}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die_usage "--time-limit needs seconds"
      TIME_LIMIT="$2"; shift 2 ;;
    --skip) [[ "${2:-}" =~ ^(latency|memory|database|queue)(,(latency|memory|database|queue))*$ ]] \
        || die_usage "--skip takes a comma list of latency,memory,database,queue"
      SKIP=",$2,"; shift 2 ;;
    --url) [[ $# -ge 2 ]] || die_usage "--url needs a value"; QP_URL="$2"; shift 2 ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done
skipped() { [[ "$SKIP" == *",$1,"* ]]; }

PROBLEM_JSON="$(mktemp)"
REQUEST_JSON="$(mktemp)"
trap 'rm -f "$HTTP_BODY" "$PROBLEM_JSON" "$REQUEST_JSON"' EXIT
if [[ -n "$PROBLEM" ]]; then
  cp "$PROBLEM" "$PROBLEM_JSON"
else
  "$QP_PYTHON" "$QP_LIB_DIR/sample_problem.py" 10 30 >"$PROBLEM_JSON"
fi

# --- latency -------------------------------------------------------------------------------
if ! skipped latency; then
  echo "== latency of POST /api/optimize ($N requests, time limit ${TIME_LIMIT}s)"
  BODY="$("$QP_PYTHON" -c '
import json, sys
print(json.dumps({"problem": json.load(open(sys.argv[1])), "time_limit": float(sys.argv[2])}))
' "$PROBLEM_JSON" "$TIME_LIMIT")"
  times=()
  failures=0
  codes=""
  QP_TIMEOUT=$(("${TIME_LIMIT%.*}" + 30))
  for _ in $(seq "$N"); do
    http POST /api/optimize "$BODY"
    if [[ "$HTTP_CODE" == 200 ]]; then
      times+=("$HTTP_TIME")
    else
      failures=$((failures + 1))
      codes="$codes $HTTP_CODE"
    fi
  done
  if [[ ${#times[@]} -gt 0 ]]; then
    status OK latency "$(printf '%s\n' "${times[@]}" | qpjson percentiles) failures=$failures"
  fi
  if [[ "$failures" -gt 0 ]]; then
    status FAIL latency "$failures of $N requests failed (status:$codes) $(head -c 300 "$HTTP_BODY")"
  fi
  echo "-- one more request, timed by phase (curl -w \"@scripts/curl-format.txt\", POST)"
  printf '%s' "$BODY" >"$REQUEST_JSON"
  auth=()
  if [[ -n "$QP_API_KEY" ]]; then auth=(-H "Authorization: Bearer $QP_API_KEY"); fi
  curl -s -o /dev/null -w "@$QP_LIB_DIR/../curl-format.txt" -X POST --max-time "$QP_TIMEOUT" \
    ${auth[@]+"${auth[@]}"} -H 'Content-Type: application/json' --data-binary "@$REQUEST_JSON" \
    "${QP_URL%/}/api/optimize" || true  # a failure shows as http_code 000 (counted above)
fi

# --- memory --------------------------------------------------------------------------------
if ! skipped memory; then
  echo "== top allocations of one solve (tracemalloc)"
  if ! "$QP_PYTHON" - "$PROBLEM_JSON" "$TIME_LIMIT" <<'PY'; then
import sys
import tracemalloc

from quantum_planner.model import Problem
from quantum_planner.planner import QuantumTaskPlanner

problem = Problem.model_validate_json(open(sys.argv[1]).read())
planner = QuantumTaskPlanner()
planner.solve(problem, time_limit=float(sys.argv[2]))  # warm-up: imports, JIT, caches
tracemalloc.start(25)
before = tracemalloc.take_snapshot()
solution = planner.solve(problem, time_limit=float(sys.argv[2]))
after = tracemalloc.take_snapshot()
current, peak = tracemalloc.get_traced_memory()
print(f"solve by {solution.backend_used}: traced now {current / 1024:.1f} KiB, peak during solve {peak / 1024:.1f} KiB")
for stat in after.compare_to(before, "lineno")[:10]:
    print(stat)
PY
    status FAIL memory "the traced solve failed (is quantum_planner importable by $QP_PYTHON?)"
  fi
fi

# --- database ------------------------------------------------------------------------------
if ! skipped database; then
  echo "== PostgreSQL"
  if ! is_postgres; then
    status SKIP database "QP_DATABASE_URL is not PostgreSQL"
  elif ! command -v psql >/dev/null; then
    status SKIP database "psql not installed"
  elif ! psql "$(pg_url)" -Xq -v ON_ERROR_STOP=1 -P pager=off <<'SQL'; then
\echo '-- connections by state'
SELECT coalesce(state, '(background)') AS state, count(*) FROM pg_stat_activity GROUP BY 1 ORDER BY 2 DESC;
\echo '-- active queries, longest first'
SELECT pid, now() - query_start AS running_for, wait_event_type, left(query, 80) AS query
  FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
  ORDER BY running_for DESC NULLS LAST LIMIT 10;
\echo '-- locks not granted'
SELECT pid, locktype, mode, relation::regclass FROM pg_locks WHERE NOT granted;
-- the view errors unless the library is also preloaded, so check both
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')
   AND current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%' AS has_pgss \gset
\if :has_pgss
\echo '-- slowest statements (pg_stat_statements, mean_exec_time in ms)'
SELECT regexp_replace(left(query, 80), '\s+', ' ', 'g') AS query, round(mean_exec_time::numeric, 2) AS mean_ms, calls
  FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;
\else
\echo '-- pg_stat_statements not enabled: add it to shared_preload_libraries, restart, CREATE EXTENSION pg_stat_statements'
\endif
SQL
    status FAIL database "cannot query PostgreSQL at $(pg_url | sed 's#//[^@]*@#//***@#')"
  fi
fi

# --- queue ---------------------------------------------------------------------------------
if ! skipped queue; then
  echo "== queue and workers (Redis)"
  if ! command -v redis-cli >/dev/null; then
    status SKIP queue "redis-cli not installed"
  elif [[ "$(redis-cli -u "$QP_REDIS_URL" ping 2>&1)" != PONG ]]; then
    if [[ "${QP_JOB_RUNNER:-local}" == celery ]]; then
      status FAIL queue "Redis at $QP_REDIS_URL does not answer"
    else
      status SKIP queue "no Redis at $QP_REDIS_URL (QP_JOB_RUNNER=${QP_JOB_RUNNER:-local})"
    fi
  else
    depth="$(redis-cli -u "$QP_REDIS_URL" llen "$QP_QUEUE")"
    unacked="$(redis-cli -u "$QP_REDIS_URL" hlen unacked)"
    status OK queue "'$QP_QUEUE': $depth waiting, $unacked delivered but not acknowledged"
    n=0
    while read -r key; do
      [[ -n "$key" ]] || continue
      n=$((n + 1))
      status OK "worker ${key#qp:worker:}" "$(redis-cli -u "$QP_REDIS_URL" get "$key")"
    done < <(redis-cli -u "$QP_REDIS_URL" --scan --pattern 'qp:worker:*')
    if [[ "$n" == 0 ]]; then status WARN workers "no live worker heartbeats (qp:worker:*)"; fi
  fi
fi
exit "$TROUBLE"
