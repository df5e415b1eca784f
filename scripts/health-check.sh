#!/usr/bin/env bash
# System health check for quantum-planner: one line per check, non-zero exit on trouble.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: health-check.sh [--url URL] [--local] [--timeout SECONDS] [-h|--help]

Checks, one line each (OK / WARN / FAIL / SKIP):
  liveness     GET /health answers 200
  readiness    GET /health/ready answers 200, and each check it reports
  backend X    every backend's status as the service's readiness probe reports it
               (healthy/degraded OK/WARN, down FAIL, disabled/unconfigured SKIP); with
               --local, quantum_planner.health.check_all_backends() in this machine's Python
  database     PostgreSQL answers (psql on QP_DATABASE_URL) when it is PostgreSQL
  queue        Redis answers on QP_REDIS_URL, queued jobs, live workers (QP_JOB_RUNNER=celery)

Environment: QP_URL (default http://127.0.0.1:8000), QP_API_KEY (optional admin key: the
backend switches as they are now rather than as of the last probe round),
QP_DATABASE_URL, QP_REDIS_URL, QP_JOB_RUNNER, QP_PYTHON (python with quantum_planner for
--local; default python3), QP_TIMEOUT (seconds per HTTP call, default 10).

Exit status: 0 every check OK (WARN and SKIP allowed), 1 at least one FAIL, 2 bad usage.
USAGE
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
LOCAL=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --url) [[ $# -ge 2 ]] || die_usage "--url needs a value"; QP_URL="$2"; shift 2 ;;
    --timeout) [[ "${2:-}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die_usage "--timeout needs seconds"
      QP_TIMEOUT="$2"; shift 2 ;;
    --local) LOCAL=1; shift ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

# --- liveness and readiness ----------------------------------------------------------------
http GET /health
if [[ "$HTTP_CODE" == 200 ]]; then
  status OK liveness "GET $QP_URL/health 200 in ${HTTP_TIME}s"
else
  status FAIL liveness "GET $QP_URL/health -> ${HTTP_CODE/000/no answer}"
fi

http GET /health/ready
READY="$(mktemp)"
BACKENDS="$(mktemp)"
trap 'rm -f "$HTTP_BODY" "$READY" "$BACKENDS"' EXIT
cp "$HTTP_BODY" "$READY"
READY_CODE="$HTTP_CODE"
if [[ "$HTTP_CODE" == 200 ]]; then
  status OK readiness "GET /health/ready 200"
elif [[ "$HTTP_CODE" == 000 ]]; then
  status FAIL readiness "GET /health/ready -> no answer"
else
  status FAIL readiness "GET /health/ready -> $HTTP_CODE"
fi
if [[ "$HTTP_CODE" != 000 ]] && qpjson get "$READY" checks >/dev/null 2>&1; then
  while read -r st name detail; do
    status "$st" "ready: $name" "$detail"
  done < <(qpjson checks "$READY")
fi

# --- backends: every backend's status -------------------------------------------------------
# from the readiness body (the service probes them), or with --local from
# check_all_backends() in this machine's Python
SOURCE=""
if [[ "$LOCAL" == 1 ]]; then
  if "$QP_PYTHON" "$QP_LIB_DIR/local_ops.py" status >"$BACKENDS" 2>/dev/null; then
    SOURCE=check_all_backends
  else
    status FAIL backends "check_all_backends() failed in $QP_PYTHON"
  fi
elif [[ "$READY_CODE" != 000 ]] && qpjson get "$READY" checks.backends.detail.backends >/dev/null 2>&1; then
  cp "$READY" "$BACKENDS"
  SOURCE=readiness
else
  status FAIL backends "no backend report (readiness unavailable); try --local"
fi
SWITCHES=()
if [[ "$SOURCE" == readiness && -n "$QP_API_KEY" ]]; then
  # the probe report can be seconds old; an admin key gets the switches as they are now
  http GET /api/backends
  if [[ "$HTTP_CODE" == 200 ]]; then
    cp "$HTTP_BODY" "$READY"
    SWITCHES=("$READY")
  fi
fi
if [[ -n "$SOURCE" ]]; then
  while read -r st name state detail; do
    status "$st" "backend $name" "$state $detail"
  done < <(qpjson backends "$BACKENDS" "${SWITCHES[@]}")
fi

# --- database ------------------------------------------------------------------------------
if is_postgres; then
  if ! command -v psql >/dev/null; then
    status SKIP database "psql not installed"
  elif out="$(psql "$(pg_url)" -XAtq -v ON_ERROR_STOP=1 -c \
      "select current_database() || ' ' || (select count(*) from pg_stat_activity)" 2>&1)"; then
    read -r db conns <<<"$out"
    status OK database "PostgreSQL database $db answers, $conns connections"
  else
    status FAIL database "PostgreSQL: ${out//$'\n'/ }"
  fi
else
  status SKIP database "QP_DATABASE_URL is not PostgreSQL (readiness covers the embedded store)"
fi

# --- queue ---------------------------------------------------------------------------------
if [[ "${QP_JOB_RUNNER:-local}" == celery ]]; then
  if ! command -v redis-cli >/dev/null; then
    status SKIP queue "redis-cli not installed"
  elif [[ "$(redis-cli -u "$QP_REDIS_URL" ping 2>&1)" == PONG ]]; then
    depth="$(redis-cli -u "$QP_REDIS_URL" llen "$QP_QUEUE" 2>/dev/null || echo '?')"
    # the keys readiness reads (qp:worker:<node>, one per live worker, unique node names):
    # readiness's `workers` is the sum of their concurrency, so print that sum too
    live="$(redis-cli -u "$QP_REDIS_URL" --scan --pattern 'qp:worker:*' 2>/dev/null \
      | xargs -r redis-cli -u "$QP_REDIS_URL" mget 2>/dev/null \
      | grep -o '"concurrency": *[0-9]*' || true)"
    workers="$(grep -c . <<<"$live" || true)"
    slots="$(awk -F: '{ s += $2 } END { print s + 0 }' <<<"$live")"
    if [[ "$workers" -gt 0 ]]; then
      status OK queue "Redis answers; $depth queued in '$QP_QUEUE'; $workers live workers," \
        "$slots solver slots (what readiness reports as 'workers')"
    else
      status FAIL queue "Redis answers; $depth queued in '$QP_QUEUE'; NO live workers"
    fi
  else
    status FAIL queue "Redis at $QP_REDIS_URL does not answer"
  fi
else
  status SKIP queue "QP_JOB_RUNNER=${QP_JOB_RUNNER:-local}: jobs run in the API process"
fi

exit "$TROUBLE"
