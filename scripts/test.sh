#!/usr/bin/env bash
# What `make test` does: bootstrap (--test), private RabbitMQ (+ PostgreSQL, Kannel, Dovecot) on test ports,
# then pytest in phases:
#   unit            -m "not integration and not e2e"   libs services tests
#   unit-gateway    -m "not integration and not e2e"   gateway (at the same time as unit)
#   audit           scripts/audit_pins.py: pinned dependencies vs PyPI's advisories (at the same time as unit)
# then two lanes at the same time, each in its own instance (lane B's output is printed after lane A's):
#   lane A (var/test):     integration    -m integration on SQLite     libs services gateway
#                          e2e            -m e2e on SQLite             tests
#   lane B (var/test-pg):  integration-pg -m integration on PostgreSQL libs services gateway
#                          e2e-pg         -m e2e on PostgreSQL         tests
# Extra arguments are passed to every pytest run (e.g. `make test ARGS=-x`).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Test instances: never collide with a `make run` instance (5672/15672/8000...). Two of them, because the SQLite
# and the PostgreSQL phases run at the same time (lane A: var/test on 5673, 54330, 8010...; lane B: var/test-pg,
# every port +50, the 9xxx ones +5): each has its own RabbitMQ, PostgreSQL, Kannel and Dovecot, so the e2e runs that
# restart the broker or the database (fault run, broker restart) never hit the other lane.
. "$ROOT/scripts/ports.sh"
LANE_B=(50 5 "$ROOT/var/test-pg")
ed_instance 0 0 "$ROOT/var/test"

"$ROOT/scripts/bootstrap.sh" --test || ed_die "bootstrap failed"

cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE   # let the cleanup finish
  ed_log "stopping test infrastructure"
  [ -n "${LANE_B_PID:-}" ] && kill -INT -- "-$LANE_B_PID" 2>/dev/null && wait "$LANE_B_PID" 2>/dev/null
  "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true   # leftovers of e2e runs + rabbitmq + postgres
  (ed_instance "${LANE_B[@]}"; "$ROOT/scripts/stop.sh" >/dev/null 2>&1) || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

start_infra() {   # [--pg] : this lane's RabbitMQ, Kannel (notify's SMS tests), Dovecot (intake's mailbox tests, real IMAP)
  "$ROOT/scripts/rabbitmq.sh" start || ed_die "rabbitmq failed to start"
  if [ "${1:-}" = --pg ]; then "$ROOT/scripts/postgres.sh" start || ed_die "postgres failed to start"; fi
  "$ROOT/scripts/kannel.sh" start || ed_die "kannel failed to start"
  "$ROOT/scripts/dovecot.sh" start || ed_die "dovecot failed to start"
}
start_infra

pytest_cmd() {   # this lane's pytest (its broker)
  PYTEST=("$ESTATEDESK_VENV/bin/python" -m pytest -q --durations=8
          --amqp-uri "$AMQP_URI" --rabbit-ctl-uri "$RABBIT_API_URI" "$@")
}
pytest_cmd "$@"

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

# audit of the pinned dependencies against PyPI's advisories (scripts/audit_pins.py; network: it runs while the
# unit tests do, its verdict is printed after them)
AUDIT_LOG="$ESTATEDESK_VAR/audit.log"
"$ESTATEDESK_VENV/bin/python" "$ROOT/scripts/audit_pins.py" "$ROOT/constraints.txt" >"$AUDIT_LOG" 2>&1 &
AUDIT_PID=$!

unit_split

wait "$AUDIT_PID"; rc=$?
echo
echo "==================== phase: audit  (pinned dependencies vs PyPI's advisories, ran alongside unit) ===================="
cat "$AUDIT_LOG"
if [ "$rc" = 0 ]; then
  SUMMARY+=("$(printf '%-16s PASSED (%s)' audit "$(tail -n1 "$AUDIT_LOG")")")
else
  SUMMARY+=("$(printf '%-16s FAILED (%s)' audit "$(tail -n1 "$AUDIT_LOG")")")
  FAILED=1
fi

# Lane B (background, output printed after lane A's): the PostgreSQL phases in their own instance.
LANE_B_LOG="$ESTATEDESK_VAR/lane-pg.log" LANE_B_SUMMARY="$ESTATEDESK_VAR/lane-pg.summary"
: >"$LANE_B_SUMMARY"
set -m   # own process group, so an interrupted run can stop the whole lane
(
  trap - EXIT
  ed_instance "${LANE_B[@]}"
  pytest_cmd "$@"
  SUMMARY=() FAILED=0
  start_infra --pg
  phase integration-pg "integration" integration "$PG_TEST_URL" "${INTEG_DIRS[@]}"
  phase e2e-pg         "e2e"         e2e         "$PG_TEST_URL" "${E2E_DIRS[@]}"
  printf '%s\n' "${SUMMARY[@]}" >"$LANE_B_SUMMARY"
  exit "$FAILED"
) >"$LANE_B_LOG" 2>&1 &
LANE_B_PID=$!
set +m

phase integration    "integration"                 integration ""    "${INTEG_DIRS[@]}"
phase e2e            "e2e"                         e2e ""            "${E2E_DIRS[@]}"

wait "$LANE_B_PID"; rc=$?
LANE_B_PID=
echo
echo "==================== lane B (PostgreSQL phases, ran alongside integration and e2e) ===================="
cat "$LANE_B_LOG"
mapfile -t lane_b < "$LANE_B_SUMMARY"
SUMMARY+=("${lane_b[@]}")
if [ "$rc" != 0 ]; then
  FAILED=1
  [ "${#lane_b[@]}" -lt 2 ] && SUMMARY+=("$(printf '%-16s FAILED (lane exit %s, see its log above)' lane-pg "$rc")")
fi

echo
echo "==================== summary ===================="
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" = 0 ]; then echo "ALL PHASES OK"; else echo "SOME PHASES FAILED"; fi
exit "$FAILED"
