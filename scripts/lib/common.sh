# Shared by the runbook scripts: configuration, HTTP calls and one-line status output.
# Source it; it defines functions and variables only.

QP_URL="${QP_URL:-http://127.0.0.1:8000}"
QP_API_KEY="${QP_API_KEY:-}"
QP_TIMEOUT="${QP_TIMEOUT:-10}"
QP_PYTHON="${QP_PYTHON:-python3}"
QP_REDIS_URL="${QP_REDIS_URL:-redis://127.0.0.1:6379/0}"
QP_QUEUE="${QP_QUEUE:-quantum-planner}"
QP_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TROUBLE=0

# status NAME DETAIL ; STATUS is OK, WARN, FAIL or SKIP. FAIL marks the run as troubled.
status() {
  local st="$1" name="$2"
  shift 2
  printf '%-4s %-30s %s\n' "$st" "$name" "$*"
  if [[ "$st" == FAIL ]]; then TROUBLE=1; fi
  return 0
}

die_usage() {
  echo "error: $*" >&2
  echo "run with --help for usage" >&2
  exit 2
}

# http METHOD PATH [JSON_BODY] -> sets HTTP_CODE, HTTP_BODY (file), HTTP_TIME (seconds).
# Never fails the script: a connection error gives HTTP_CODE=000.
HTTP_BODY="$(mktemp)"
trap 'rm -f "$HTTP_BODY"' EXIT
http() {
  local method="$1" path="$2" body="${3:-}" out
  local -a args=(-sS -o "$HTTP_BODY" -w '%{http_code} %{time_total}' -X "$method"
    --max-time "$QP_TIMEOUT" -H 'Accept: application/json')
  if [[ -n "$QP_API_KEY" ]]; then args+=(-H "Authorization: Bearer $QP_API_KEY"); fi
  if [[ -n "$body" ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  out="$(curl "${args[@]}" "${QP_URL%/}$path" 2>/dev/null)" || true
  HTTP_CODE="${out%% *}"
  HTTP_TIME="${out##* }"
  if [[ -z "$HTTP_CODE" ]]; then HTTP_CODE=000; fi
  return 0
}

# qpjson SUBCOMMAND ARGS... : JSON helpers in lib/qpjson.py (stdlib only).
qpjson() {
  "$QP_PYTHON" "$QP_LIB_DIR/qpjson.py" "$@"
}

# A libpq URL from QP_DATABASE_URL (SQLAlchemy's postgresql+psycopg:// is not libpq's).
pg_url() {
  local url="${QP_DATABASE_URL:-}"
  url="${url/postgresql+psycopg2:\/\//postgresql://}"
  url="${url/postgresql+psycopg:\/\//postgresql://}"
  printf '%s' "$url"
}

is_postgres() { [[ "$(pg_url)" == postgresql://* || "$(pg_url)" == postgres://* ]]; }
