#!/usr/bin/env bash
# Emergency failover: disable one backend everywhere, enable the fallbacks, alert, show routing.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: emergency-failover.sh BACKEND [--fallback NAME]... [--reason TEXT] [--local] [--url URL]
       emergency-failover.sh --enable BACKEND [--local] [--url URL]   (undo: re-enable it)

Disables BACKEND for every replica (PUT /api/backends/BACKEND {"enabled": false}; the
service stores it, so all API replicas and workers see it), enables each --fallback
(default: every other backend that is configured), sends an alert
with quantum_planner.alerts.send_alert (severity critical), and prints the new routing.

  --local     use the Python API in this process instead of HTTP (switch_backend,
              list_backends); with a shared database this reaches every replica too
  --reason    text added to the alert (default: "emergency failover")
  --enable    re-enable BACKEND after the incident (no fallback changes)

Environment: QP_URL (default http://127.0.0.1:8000), QP_API_KEY (admin key, required
without --local), QP_PYTHON (python with quantum_planner; default python3),
QP_ALERT_WEBHOOK_URL (where send_alert posts).

Exit status: 0 backend disabled, fallbacks enabled and alert sent (with no alert webhook
configured, a WARN line says no alert was sent: tell the team yourself); 1 any step failed,
a configured webhook refusing the alert included (the others are still attempted);
2 bad usage.
USAGE
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
LOCAL=0
MODE=disable
REASON="emergency failover"
TARGET=""
FALLBACKS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --fallback) [[ $# -ge 2 ]] || die_usage "--fallback needs a backend name"
      FALLBACKS+=("$2"); shift 2 ;;
    --reason) [[ $# -ge 2 ]] || die_usage "--reason needs text"; REASON="$2"; shift 2 ;;
    --url) [[ $# -ge 2 ]] || die_usage "--url needs a value"; QP_URL="$2"; shift 2 ;;
    --local) LOCAL=1; shift ;;
    --enable) MODE=enable; shift ;;
    -*) die_usage "unknown option: $1" ;;
    *) [[ -z "$TARGET" ]] || die_usage "one BACKEND only (got '$TARGET' and '$1')"
      TARGET="$1"; shift ;;
  esac
done
[[ -n "$TARGET" ]] || die_usage "which BACKEND? e.g. emergency-failover.sh dwave"
[[ "$TARGET" =~ ^[A-Za-z0-9_.-]+$ ]] || die_usage "bad backend name: $TARGET"
for fb in "${FALLBACKS[@]}"; do
  [[ "$fb" =~ ^[A-Za-z0-9_.-]+$ ]] || die_usage "bad backend name: $fb"
  [[ "$fb" != "$TARGET" ]] || die_usage "$TARGET cannot be its own fallback"
done
if [[ "$LOCAL" == 0 && -z "$QP_API_KEY" ]]; then
  die_usage "set QP_API_KEY to an admin key (quantum-planner keys create --role admin) or use --local"
fi

# ops SUBCOMMAND ARGS... : the Python operations API (lib/local_ops.py) in $QP_PYTHON
ops() {
  "$QP_PYTHON" "$QP_LIB_DIR/local_ops.py" "$@"
}

# every backend's state and status as JSON in $HTTP_BODY; non-zero on error. Over HTTP
# this is the readiness report (it probes each backend and shows the switches).
SWITCHES="$(mktemp)"
trap 'rm -f "$HTTP_BODY" "$SWITCHES"' EXIT
list_backends() {
  if [[ "$LOCAL" == 1 ]]; then
    : >"$SWITCHES"
    ops status >"$HTTP_BODY" 2>/dev/null
  else
    # the switches as they are now (GET /api/backends), then the probe report
    http GET /api/backends
    [[ "$HTTP_CODE" == 200 ]] || return 1
    cp "$HTTP_BODY" "$SWITCHES"
    http GET /health/ready
    [[ "$HTTP_CODE" == 200 || "$HTTP_CODE" == 503 ]] &&
      qpjson get "$HTTP_BODY" checks.backends.detail.backends >/dev/null 2>&1
  fi
}

# backend lines (LEVEL NAME STATE DETAIL) from what list_backends fetched
backend_lines() {
  if [[ -s "$SWITCHES" ]]; then
    qpjson backends "$HTTP_BODY" "$SWITCHES"
  else
    qpjson backends "$HTTP_BODY"
  fi
}

# set_enabled NAME true|false
set_enabled() {
  local name="$1" enabled="$2"
  if [[ "$LOCAL" == 1 ]]; then
    if err="$(ops switch "$name" "$enabled" 2>&1)"; then
      status OK "$name" "enabled=$enabled (switch_backend)"
    else
      status FAIL "$name" "switch_backend failed: ${err##*$'\n'}"
    fi
  else
    http PUT "/api/backends/$name" "{\"enabled\": $enabled}"
    if [[ "$HTTP_CODE" == 200 ]]; then
      status OK "$name" "enabled=$enabled (PUT /api/backends/$name)"
    else
      status FAIL "$name" "PUT /api/backends/$name -> ${HTTP_CODE/000/no answer} $(head -c 300 "$HTTP_BODY")"
    fi
  fi
}

if [[ "$MODE" == enable ]]; then
  set_enabled "$TARGET" true
else
  set_enabled "$TARGET" false
  if [[ ${#FALLBACKS[@]} -eq 0 ]]; then
    # default fallbacks: every other backend that can serve (configured)
    if list_backends; then
      while read -r _ name state _; do
        if [[ "$name" != "$TARGET" && "$state" != unconfigured ]]; then FALLBACKS+=("$name"); fi
      done < <(backend_lines)
    else
      status FAIL fallbacks "cannot list backends to choose fallbacks; pass --fallback NAME"
    fi
  fi
  for fb in "${FALLBACKS[@]}"; do
    set_enabled "$fb" true
  done
fi

# --- alert ---------------------------------------------------------------------------------
if [[ "$MODE" == enable ]]; then
  msg="Backend $TARGET re-enabled after incident"
  severity=info
else
  msg="Backend $TARGET disabled ($REASON) - using fallback: ${FALLBACKS[*]:-none}"
  severity=critical
fi
alert_rc=0
err="$(ops alert "$msg" "$severity" 2>&1)" || alert_rc=$?
case "$alert_rc" in
  0) status OK alert "sent ($severity): $msg" ;;
  # no webhook configured: the failover itself succeeded, so this is not a failure
  3) status WARN alert "NOT SENT: no alert webhook configured (QP_ALERT_WEBHOOK_URL); tell the team yourself: $msg" ;;
  *) status FAIL alert "not delivered to QP_ALERT_WEBHOOK_URL: ${err##*$'\n'}" ;;
esac

# --- new routing ---------------------------------------------------------------------------
echo "routing now:"
if list_backends; then
  backend_lines | while read -r _ name state detail; do
    printf '  %-22s %-12s %s\n' "$name" "$state" "${detail:0:160}"
  done
else
  status FAIL routing "cannot list backends"
fi
exit "$TROUBLE"
