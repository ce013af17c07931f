#!/usr/bin/env bash
# What `make test` does: bootstrap (--test), private RabbitMQ + PostgreSQL (+ Kannel, Dovecot) on
# test ports under var/test, then pytest in phases:
#   unit            -m "not integration and not e2e"   libs services tests
#   unit-gateway    -m "not integration and not e2e"   gateway (at the same time as unit)
#   integration     -m integration on SQLite           libs services gateway
#   integration-pg  -m integration on PostgreSQL       libs services gateway
#   e2e             -m e2e on SQLite                   tests
#   e2e-pg          -m e2e on PostgreSQL               tests
# Extra arguments are passed to every pytest run (e.g. `make test ARGS=-x`).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Test instance: never collides with a `make run` instance (5672/15672/8000...).
export ESTATEDESK_VAR="$ROOT/var/test"
export RABBIT_PORT=5673 RABBIT_MGMT_PORT=15673
export AMQP_URI="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/"
export PG_PORT=54330 PG_DATA="$ESTATEDESK_VAR/pg/data"
export GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=8010
export SMTP_HOST=127.0.0.1 SMTP_PORT=1026
export INTAKE_METRICS_PORT=9111 WORKFLOW_METRICS_PORT=9112 NOTIFY_METRICS_PORT=9113 REPORTING_METRICS_PORT=9114
export KANNEL_ADMIN_PORT=13030 KANNEL_SENDSMS_PORT=13033 KANNEL_SMSBOX_PORT=13031 KANNEL_FAKESMSC_PORT=10030
export NOTIFY_HTTP_PORT=9213 SMS_ENABLED=true KANNEL_HOST=127.0.0.1
export IMAP_HOST=127.0.0.1 IMAP_PORT=10153
export WECHAT_API_PORT=9217   # scripts/wechat_api_stub.py of the e2e runs
unset DATABASE_URL INTAKE_DATABASE_URL WORKFLOW_DATABASE_URL NOTIFY_DATABASE_URL \
      REPORTING_DATABASE_URL GATEWAY_DATABASE_URL TEST_DATABASE_URL
# derived by env.sh from the ports above and var/test: values from a shell that sourced another instance's env
# (make run's, or var/hN/env.sh) would point the test system at that instance's keys and stand-ins
unset SURVEY_BASE_URL GATEWAY_PUBLIC_URL WECHAT_API_BASE_URL GATEWAY_SECRET_KEY ESTATEDESK_SECRETS_KEY \
      RABBIT_EPMD_PORT RABBIT_API_URI HPYTEST HPG_URL
. "$ROOT/scripts/env.sh"
export RABBIT_API_URI="http://guest:guest@127.0.0.1:$RABBIT_MGMT_PORT"
PG_TEST_URL="postgresql://postgres@127.0.0.1:$PG_PORT/estatedesk_test"

"$ROOT/scripts/bootstrap.sh" --test || ed_die "bootstrap failed"

cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE   # let the cleanup finish
  ed_log "stopping test infrastructure"
  "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true   # leftovers of e2e runs + rabbitmq + postgres
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

"$ROOT/scripts/rabbitmq.sh" start || ed_die "rabbitmq failed to start"
"$ROOT/scripts/postgres.sh" start || ed_die "postgres failed to start"
"$ROOT/scripts/kannel.sh" start || ed_die "kannel failed to start"   # notify's SMS integration tests
"$ROOT/scripts/dovecot.sh" start || ed_die "dovecot failed to start"  # intake's mailbox tests (real IMAP)

PYTEST=("$ESTATEDESK_VENV/bin/python" -m pytest -q --durations=8
        --amqp-uri "$AMQP_URI" --rabbit-ctl-uri "$RABBIT_API_URI" "$@")

existing() {   # print the dirs (args) that exist
  local d; for d in "$@"; do [ -d "$d" ] && printf '%s\n' "$d"; done; return 0
}

# Does any test file under the dirs carry the marker ("" = any test file)?
has_tests() {
  local marker="$1"; shift
  local files
  files="$(find "$@" -path '*/.venv' -prune -o -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print 2>/dev/null)"
  [ -n "$files" ] || return 1
  [ -z "$marker" ] && return 0
  # shellcheck disable=SC2086
  grep -lqE "mark\.$marker\b|\"$marker\"|'$marker'" $files
}

SUMMARY=()
FAILED=0
phase() {   # name marker-expr marker-name db-url dir...
  local name="$1" expr="$2" marker="$3" db="$4"; shift 4
  local dirs=() rc
  mapfile -t dirs < <(existing "$@")
  echo
  echo "==================== phase: $name  (-m '$expr', db: ${db:-sqlite}) ===================="
  if [ "${#dirs[@]}" -eq 0 ]; then
    ed_warn "phase $name: none of $* exist yet"
    SUMMARY+=("$(printf '%-16s SKIPPED (no directories yet)' "$name")")
    return
  fi
  if [ -n "$db" ]; then
    TEST_DATABASE_URL="$db" "${PYTEST[@]}" -m "$expr" "${dirs[@]}"; rc=$?
  else
    (unset TEST_DATABASE_URL; "${PYTEST[@]}" -m "$expr" "${dirs[@]}"); rc=$?
  fi
  if [ "$rc" = 0 ]; then
    SUMMARY+=("$(printf '%-16s PASSED' "$name")")
  elif [ "$rc" = 5 ] && ! has_tests "$marker" "${dirs[@]}"; then
    ed_warn "phase $name: no tests collected (none written yet in ${dirs[*]})"
    SUMMARY+=("$(printf '%-16s NO TESTS YET (warning)' "$name")")
  else
    SUMMARY+=("$(printf '%-16s FAILED (pytest exit %s)' "$name" "$rc")")
    FAILED=1
  fi
}

# The unit tests are CPU-bound and share nothing (no network, temporary databases): two pytest processes, one
# per core, the gateway's in the background (its output printed after the other's).
unit_split() {
  local log="$ESTATEDESK_VAR/unit-gateway.log" pid rc
  mkdir -p "$ESTATEDESK_VAR"
  if [ -d gateway ]; then
    (unset TEST_DATABASE_URL; "${PYTEST[@]}" -m "not integration and not e2e" gateway) >"$log" 2>&1 &
    pid=$!
  fi
  phase unit           "not integration and not e2e" "" ""             libs services tests
  if [ -n "${pid:-}" ]; then
    wait "$pid"; rc=$?
    echo
    echo "==================== phase: unit-gateway  (-m 'not integration and not e2e', db: sqlite; ran alongside unit) ===================="
    cat "$log"
    if [ "$rc" = 0 ]; then
      SUMMARY+=("$(printf '%-16s PASSED' unit-gateway)")
    else
      SUMMARY+=("$(printf '%-16s FAILED (pytest exit %s)' unit-gateway "$rc")")
      FAILED=1
    fi
  fi
}

INTEG_DIRS=(libs services gateway)
E2E_DIRS=(tests)

unit_split
phase integration    "integration"                 integration ""    "${INTEG_DIRS[@]}"
phase integration-pg "integration"                 integration "$PG_TEST_URL" "${INTEG_DIRS[@]}"
phase e2e            "e2e"                         e2e ""            "${E2E_DIRS[@]}"
phase e2e-pg         "e2e"                         e2e "$PG_TEST_URL" "${E2E_DIRS[@]}"

echo
echo "==================== summary ===================="
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" = 0 ]; then echo "ALL PHASES OK"; else echo "SOME PHASES FAILED"; fi
exit "$FAILED"
