#!/usr/bin/env bash
# Stop everything `make run` / `make start` started (what `make stop` does):
# the processes with pid files in $ESTATEDESK_VAR/run, then our Kannel, Dovecot and RabbitMQ node,
# then our PostgreSQL cluster if it is running from $PG_DATA.
#   scripts/stop.sh            # everything
#   scripts/stop.sh --procs    # only the processes (brokers/db stay up)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ESTATEDESK_ROOT"

RUN="$ESTATEDESK_VAR/run"
GRACE="${ESTATEDESK_STOP_GRACE:-15}"

# pid of a live process from a pid file, if it still looks like ours
live_pid() {
  local f="$1" pid
  [ -s "$f" ] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: the command line must mention python/nameko
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'python|nameko' || return 1
  echo "$pid"
}

# running (a zombie is not: a process the e2e tests restarted from pytest is reaped only by pytest, and
# waiting for it cost every e2e phase the whole grace period)
running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"   # after "(comm)", which may hold spaces
  [ "$state" != Z ]
}

stop_procs() {
  local f name pid sig pids=() names=()
  shopt -s nullglob
  for f in "$RUN"/*.pid; do
    name="$(basename "$f" .pid)"
    if pid="$(live_pid "$f")"; then
      case "$name" in
        intake|workflow|notify|reporting) sig=INT ;;   # nameko: graceful on SIGINT
        *) sig=TERM ;;                                  # gateway, mailcatcher
      esac
      ed_log "stopping $name (pid $pid, SIG$sig)"
      kill -s "$sig" "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    else
      rm -f "$f"
    fi
  done
  [ "${#pids[@]}" -eq 0 ] && return 0
  local deadline=$((SECONDS + GRACE)) i alive
  while :; do
    alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if running "${pids[$i]}"; then
      ed_warn "${names[$i]} (pid ${pids[$i]}) did not stop within ${GRACE}s: SIGKILL"
      kill -9 "${pids[$i]}" 2>/dev/null || true
    fi
    rm -f "$RUN/${names[$i]}.pid"
  done
}

stop_procs
if [ "${1:-}" != --procs ]; then
  "$ESTATEDESK_ROOT/scripts/kannel.sh" stop || true
  "$ESTATEDESK_ROOT/scripts/dovecot.sh" stop || true
  "$ESTATEDESK_ROOT/scripts/rabbitmq.sh" stop || true
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    "$ESTATEDESK_ROOT/scripts/postgres.sh" stop || true
  fi
fi
exit 0
