#!/usr/bin/env bash
# What `make run` does: bootstrap, start RabbitMQ, Kannel (SMS; unless
# SMS_ENABLED=false), Dovecot (the demo mailbox) and optionally PostgreSQL,
# migrate + seed demo data, start mail sink, the four nameko services and the
# gateway, wait for health, print a banner, then wait for Ctrl-C.
#
#   DATABASE_URL unset            -> per-package SQLite in $ESTATEDESK_VAR/db
#   DATABASE_URL=postgres-local   -> private PostgreSQL (scripts/postgres.sh)
#   DATABASE_URL=postgresql://... -> that database
#   ESTATEDESK_DETACH=1           -> start everything, return once healthy
#                                    (`make start`; stop with `make stop`)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ESTATEDESK_ROOT"

# Job control: background jobs get their own process group and, crucially,
# do NOT start with SIGINT ignored (non-interactive bash otherwise ignores
# SIGINT in '&' jobs and nameko could never be stopped gracefully).
set -m

DETACH="${ESTATEDESK_DETACH:-0}"
# While the packages are still being written, missing ones are skipped with a
# warning. Set ESTATEDESK_ALLOW_MISSING=0 to make that an error.
ALLOW_MISSING="${ESTATEDESK_ALLOW_MISSING:-1}"
PY="$ESTATEDESK_VENV/bin/python"
NAMEKO="$ESTATEDESK_VENV/bin/nameko"
LOG="$ESTATEDESK_VAR/log"
RUN="$ESTATEDESK_VAR/run"
HEALTH_URL="http://$GATEWAY_HOST:$GATEWAY_PORT/api/v1/health"
STARTED=0

missing() {
  if [ "$ALLOW_MISSING" = 1 ]; then ed_warn "$* - skipped (still being written?)"
  else ed_die "$*"; fi
}

cleanup() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM HUP PIPE   # let the cleanup finish
  if [ "$STARTED" = 1 ]; then
    echo >&2
    ed_log "shutting down..."
    "$ESTATEDESK_ROOT/scripts/stop.sh"
    ed_log "stopped."
  fi
  exit "$rc"
}
on_signal() { exit 0; }   # EXIT trap does the work

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

show_logs() {
  local f
  for f in "$LOG"/*.log; do
    [ -f "$f" ] || continue
    echo "----- tail $f -----" >&2
    tail -n 25 "$f" >&2
  done
}

# --- refuse to start twice ----------------------------------------------------
for f in "$RUN"/*.pid; do
  [ -s "$f" ] || continue
  if kill -0 "$(cat "$f")" 2>/dev/null; then
    ed_die "EstateDesk seems to be running already ($f). Use 'make stop' first."
  fi
  rm -f "$f"
done

# --- 1. bootstrap + infrastructure --------------------------------------------
"$ESTATEDESK_ROOT/scripts/bootstrap.sh"

trap cleanup EXIT
trap on_signal INT TERM HUP
STARTED=1

"$ESTATEDESK_ROOT/scripts/rabbitmq.sh" start
if ed_sms_enabled; then
  "$ESTATEDESK_ROOT/scripts/kannel.sh" start   # SMS gateway + fake SMSC (SMS_ENABLED=false: no SMS)
  SMS_DESC="Kannel sendsms :$KANNEL_SENDSMS_PORT, fake SMSC log $ESTATEDESK_VAR/kannel/fakesmsc.log"
else
  SMS_DESC="off (SMS_ENABLED=$SMS_ENABLED)"
fi

# IMAP server with the demo mailbox; seed-demo enables it because IMAP_HOST/IMAP_PORT are set
"$ESTATEDESK_ROOT/scripts/dovecot.sh" start

if [ "${DATABASE_URL:-}" = postgres-local ]; then
  "$ESTATEDESK_ROOT/scripts/postgres.sh" start
  DATABASE_URL="$("$ESTATEDESK_ROOT/scripts/postgres.sh" url)"
  export DATABASE_URL
fi
if [ -n "${DATABASE_URL:-}" ]; then
  DB_DESC="$DATABASE_URL (one schema per package)"
else
  DB_DESC="SQLite files in $ESTATEDESK_VAR/db/"
fi
ed_log "database: $DB_DESC"

# --- 2. migrate + demo data ---------------------------------------------------
present=()
for pkg in "${ESTATEDESK_PACKAGES[@]}"; do
  if [ -d "$(estatedesk_pkg_dir "$pkg")" ]; then present+=("$pkg")
  else missing "package $pkg ($(estatedesk_pkg_dir "$pkg")) does not exist"; fi
done
for step in migrate seed-demo; do
  for pkg in "${present[@]}"; do
    ed_log "$pkg: $step"
    if ! "$PY" -m "$pkg.cli" "$step" >>"$LOG/$pkg-$step.log" 2>&1; then
      tail -n 40 "$LOG/$pkg-$step.log" >&2
      ed_die "'python -m $pkg.cli $step' failed (log: $LOG/$pkg-$step.log)"
    fi
  done
done

# --- 3. processes ---------------------------------------------------------------
start_proc() {   # name cmd...
  local name="$1"; shift
  echo "===== $(date -Is) starting: $* =====" >>"$LOG/$name.log"
  "$@" </dev/null >>"$LOG/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  ed_log "started $name (pid $!, log $LOG/$name.log)"
}

for check in "$SMTP_HOST:$SMTP_PORT:mail sink (SMTP_PORT)" "$GATEWAY_HOST:$GATEWAY_PORT:gateway (GATEWAY_PORT)" \
             "127.0.0.1:$WECHAT_API_PORT:WeChat API stand-in (WECHAT_API_PORT)" \
             "127.0.0.1:$NOTIFY_HTTP_PORT:notify DLR endpoint (NOTIFY_HTTP_PORT)"; do
  IFS=: read -r h p what <<<"$check"
  port_in_use "$h" "$p" && ed_die "$h:$p for $what is already in use"
done

start_proc mailcatcher "$PY" "$ESTATEDESK_ROOT/scripts/mailcatcher.py"
start_proc wechat_api_stub "$PY" "$ESTATEDESK_ROOT/scripts/wechat_api_stub.py"   # notify's WECHAT_API_BASE_URL

for svc in "${ESTATEDESK_SERVICES[@]}"; do
  if [ ! -f "services/$svc/config.yml" ]; then
    missing "services/$svc/config.yml does not exist"
    continue
  fi
  start_proc "$svc" "$NAMEKO" run --config "services/$svc/config.yml" "$svc.service"
done

if [ -d gateway ]; then
  start_proc gateway "$PY" -m gateway serve
else
  missing "gateway/ does not exist"
fi

# --- 4. wait for health -----------------------------------------------------------
if [ -f "$RUN/gateway.pid" ]; then
  ed_log "waiting for $HEALTH_URL ..."
  deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null --max-time 2 "$HEALTH_URL" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs
      ed_die "gateway health check did not succeed within 60 s ($HEALTH_URL)"
    fi
    for f in "$RUN"/*.pid; do
      if ! kill -0 "$(cat "$f")" 2>/dev/null; then
        show_logs
        ed_die "$(basename "$f" .pid) exited during startup (log: $LOG/$(basename "$f" .pid).log)"
      fi
    done
    sleep 0.5
  done
fi

# intake's copy of each complaint's case status (revision a11c1o2m3m4t): a database upgraded from before it gets the
# statuses from workflow once; otherwise this finds nothing to do (--only-missing) and asks workflow nothing
if [ -d services/intake ]; then
  ("$PY" -m intake.cli sync-case-status --only-missing >>"$LOG/intake-sync-case-status.log" 2>&1 &)
fi

# --- 5. banner ------------------------------------------------------------------------
cat <<BANNER

================================================================================
 EstateDesk is running
--------------------------------------------------------------------------------
 Console          http://$GATEWAY_HOST:$GATEWAY_PORT/
 API              http://$GATEWAY_HOST:$GATEWAY_PORT/api/v1/   (health: /api/v1/health)
 Demo logins      hq@demo  manager@demo  supervisor@demo  agent@demo  committee@demo (residents' committee)
  (DEMO ONLY)     password for all: demo-password
 Open311 / CTI    http://$GATEWAY_HOST:$GATEWAY_PORT/open311/v2/discovery.json   (docs/open311.md)
  (DEMO ONLY)     API keys: demo-api-key (tenant demo: open311, cti), other-api-key (tenant other: open311)
 Database         $DB_DESC
 Mail sink        $ESTATEDESK_VAR/mail/   (SMTP $SMTP_HOST:$SMTP_PORT)
 WeChat API       $ESTATEDESK_VAR/wechat/ (stand-in http://127.0.0.1:$WECHAT_API_PORT/: replies to WeChat owners)
 SMS              $SMS_DESC
 Mailbox (IMAP)   imap://$IMAP_HOST:$IMAP_PORT  user $IMAP_DEMO_USER  password $IMAP_DEMO_PASSWORD
  (DEMO ONLY)     mail sent into it becomes a complaint (polled every ${MAILBOX_POLL_SECONDS}s)
 WeChat account   http://$GATEWAY_HOST:$GATEWAY_PORT/channels/wechat/demo   app id wx0123456789abcdef
  (DEMO ONLY)     token demo-wechat-token  EncodingAESKey abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
                  try: .venv/bin/python -m intake.wechat_sim http://$GATEWAY_HOST:$GATEWAY_PORT/channels/wechat/demo "3栋电梯坏了 13812345678"
 RabbitMQ mgmt    http://127.0.0.1:$RABBIT_MGMT_PORT/   (guest/guest; AMQP $AMQP_URI)
 Metrics          intake :$INTAKE_METRICS_PORT  workflow :$WORKFLOW_METRICS_PORT  notify :$NOTIFY_METRICS_PORT  reporting :$REPORTING_METRICS_PORT
                  gateway http://$GATEWAY_HOST:$GATEWAY_PORT/metrics
 Logs             $LOG/
BANNER
if [ "$DETACH" = 1 ]; then
  cat <<'BANNER'
 Running in the background: stop with `make stop`
================================================================================
BANNER
  STARTED=0      # leave everything running
  trap - EXIT INT TERM HUP
  exit 0
fi
cat <<'BANNER'
 Ctrl-C to stop, or `make stop` from another shell
================================================================================
BANNER

# --- 6. wait ---------------------------------------------------------------------------
declare -A reported=()
while :; do
  any=0
  for f in "$RUN"/*.pid; do
    [ -s "$f" ] || continue
    name="$(basename "$f" .pid)"
    if kill -0 "$(cat "$f")" 2>/dev/null; then
      any=1
    elif [ -z "${reported[$name]:-}" ]; then
      reported[$name]=1
      ed_warn "$name exited unexpectedly; tail of $LOG/$name.log:"
      tail -n 20 "$LOG/$name.log" >&2 || true
    fi
  done
  # everything gone (e.g. `make stop` from another shell): we are done
  if [ "$any" = 0 ]; then ed_log "all processes are gone"; exit 0; fi
  sleep 1 &
  wait $! 2>/dev/null || true
done
