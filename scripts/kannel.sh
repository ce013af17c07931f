#!/usr/bin/env bash
# Private Kannel SMS gateway for EstateDesk (never the Debian system service):
# bearerbox + smsbox + a fake SMSC (fakesmsc from kannel-extras) on loopback.
#   scripts/kannel.sh start|stop|status|log
# Config (from deploy/kannel/kannel.conf.tmpl), logs, pids and the message
# store under $ESTATEDESK_VAR/kannel. Ports: KANNEL_ADMIN_PORT,
# KANNEL_SENDSMS_PORT, KANNEL_SMSBOX_PORT, KANNEL_FAKESMSC_PORT.
# Every SMS "sent" lands as a line in $ESTATEDESK_VAR/kannel/fakesmsc.log
# ("Got message N: <sender receiver text|data|ucs2 ...>"); `log` prints them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

BEARERBOX=/usr/sbin/bearerbox
SMSBOX=/usr/sbin/smsbox
FAKESMSC=/usr/lib/kannel/test/fakesmsc
KDIR="$ESTATEDESK_VAR/kannel"
CONF="$KDIR/kannel.conf"
TMPL="$ESTATEDESK_ROOT/deploy/kannel/kannel.conf.tmpl"
PROCS=(bearerbox fakesmsc smsbox)   # start order; stop in reverse

binary() {
  case "$1" in
    bearerbox) echo "$BEARERBOX" ;;
    smsbox) echo "$SMSBOX" ;;
    fakesmsc) echo "$FAKESMSC" ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid of a live process of ours (its command line names the binary and, for
# the boxes, our config; fakesmsc our port), else nothing.
live_pid() {
  local name="$1" f="$KDIR/$1.pid" pid cmd
  [ -s "$f" ] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$name" in
    fakesmsc) [[ "$cmd" == *"$FAKESMSC"* ]] || return 1 ;;
    *) [[ "$cmd" == *"$(binary "$name")"*"$CONF"* ]] || return 1 ;;
  esac
  echo "$pid"
}

admin_status() {
  curl -fsS --max-time 2 \
    "http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt?password=$KANNEL_ADMIN_PASSWORD" 2>/dev/null
}

wait_for() {   # seconds what command...
  local secs="$1" what="$2" i; shift 2
  for i in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  ed_warn "kannel: $what not ready within ${secs}s; last log lines:"
  tail -n 20 "$KDIR"/*.log >&2 2>/dev/null || true
  return 1
}

render_config() {
  [ -f "$TMPL" ] || ed_die "missing $TMPL"
  # owners' SMS replies (MO) go to notify; the token is optional (notify checks it when KANNEL_MO_TOKEN is set)
  : "${NOTIFY_HTTP_HOST:=127.0.0.1}" "${NOTIFY_HTTP_PORT:=9203}" "${KANNEL_MO_TOKEN:=}"
  mkdir -p "$KDIR"
  local esc v args=()
  for v in KANNEL_ADMIN_PORT KANNEL_SENDSMS_PORT KANNEL_SMSBOX_PORT KANNEL_FAKESMSC_PORT \
           KANNEL_USER KANNEL_PASSWORD KANNEL_ADMIN_PASSWORD KANNEL_DIR \
           NOTIFY_HTTP_HOST NOTIFY_HTTP_PORT KANNEL_MO_TOKEN; do
    if [ "$v" = KANNEL_DIR ]; then esc="$KDIR"; else esc="${!v}"; fi
    esc="$(printf '%s' "$esc" | sed -e 's/[\\|&]/\\&/g')"
    args+=(-e "s|@$v@|$esc|g")
  done
  sed "${args[@]}" "$TMPL" > "$CONF.tmp"
  chmod 600 "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

spawn() {   # name cmd...
  local name="$1"; shift
  echo "===== $(date -Is) starting: $* =====" >>"$KDIR/$name.out"
  ed_spawn "$KDIR/$name.pid" "$KDIR/$name.out" "$@" || exit 1
}

smsc_online() { admin_status | grep -q "fake.*online"; }

start() {
  for p in "${PROCS[@]}"; do
    [ -x "$(binary "$p")" ] || ed_die "kannel: $(binary "$p") not found (apt packages kannel, kannel-extras; run scripts/bootstrap.sh)"
  done
  mkdir -p "$KDIR"
  if live_pid bearerbox >/dev/null && live_pid fakesmsc >/dev/null && live_pid smsbox >/dev/null \
     && port_open "$KANNEL_SENDSMS_PORT"; then
    ed_log "kannel already running (sendsms 127.0.0.1:$KANNEL_SENDSMS_PORT)"
    return 0
  fi
  local port
  if ! live_pid bearerbox >/dev/null; then
    for port in "$KANNEL_ADMIN_PORT" "$KANNEL_SMSBOX_PORT" "$KANNEL_FAKESMSC_PORT" "$KANNEL_SENDSMS_PORT"; do
      port_open "$port" && ed_die "kannel: port $port is taken by another process (not ours). \
Stop it (e.g. the system kannel: 'service kannel stop') or choose KANNEL_*_PORT."
    done
  fi
  render_config
  if ! live_pid bearerbox >/dev/null; then
    ed_log "starting kannel bearerbox (admin 127.0.0.1:$KANNEL_ADMIN_PORT, data $KDIR)"
    spawn bearerbox "$BEARERBOX" -v 1 "$CONF"
    wait_for 20 "bearerbox admin port $KANNEL_ADMIN_PORT" admin_status || exit 1
  fi
  if ! live_pid fakesmsc >/dev/null; then
    # -m 0: generate no MO traffic, only print (debug level) what the SMSC receives
    : > "$KDIR/fakesmsc.log"
    echo "===== $(date -Is) starting fakesmsc =====" >>"$KDIR/fakesmsc.out"
    ed_spawn "$KDIR/fakesmsc.pid" "$KDIR/fakesmsc.log" \
      "$FAKESMSC" -H 127.0.0.1 -r "$KANNEL_FAKESMSC_PORT" -i 1 -m 0 -v 0 "0 0 text unused" || exit 1
    wait_for 20 "fake SMSC online" smsc_online || exit 1
  fi
  if ! live_pid smsbox >/dev/null; then
    spawn smsbox "$SMSBOX" -v 1 "$CONF"
    wait_for 20 "smsbox sendsms port $KANNEL_SENDSMS_PORT" port_open "$KANNEL_SENDSMS_PORT" || exit 1
  fi
  ed_log "kannel up: sendsms http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms  messages $KDIR/fakesmsc.log"
}

stop() {
  local i p pid pids=()
  for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
    p="${PROCS[$i]}"
    if pid="$(live_pid "$p")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  if [ "${#pids[@]}" -eq 0 ]; then
    ed_log "kannel (sendsms port $KANNEL_SENDSMS_PORT) not running"
  else
    ed_log "stopping kannel (pids ${pids[*]})"
    for i in $(seq 1 100); do
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
  fi
  for p in "${PROCS[@]}"; do rm -f "$KDIR/$p.pid"; done
  return 0
}

status() {
  local p pid rc=0
  for p in "${PROCS[@]}"; do
    if pid="$(live_pid "$p")"; then echo "$p: running (pid $pid)"
    else echo "$p: stopped"; rc=3; fi
  done
  echo "sendsms: http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms  admin: 127.0.0.1:$KANNEL_ADMIN_PORT"
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  log) grep -a "Got message" "$KDIR/fakesmsc.log" 2>/dev/null || true ;;
  *) echo "usage: $0 start|stop|status|log" >&2; exit 2 ;;
esac
