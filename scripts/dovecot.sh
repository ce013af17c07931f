#!/usr/bin/env bash
# Private Dovecot IMAP server for EstateDesk's mailbox channel (never the Debian system service), DEV ONLY:
# plain IMAP on 127.0.0.1:$IMAP_PORT, mail users in a passwd-file with dev passwords.
#   scripts/dovecot.sh start|stop|status
#   scripts/dovecot.sh adduser USER PASSWORD   # add/replace a mail user (dev only; Dovecot sees it
#                                              # within a second: it re-reads the file at most once a second)
# Config (from deploy/dovecot/dovecot.conf.tmpl), the users file, maildirs, sockets, log and pid all live
# under $ESTATEDESK_VAR/dovecot. The master runs as root (like the system service) and drops to
# DOVECOT_INTERNAL_USER / DOVECOT_LOGIN_USER (the Debian package's dovecot / dovenull) and, for mail
# access, DOVECOT_MAIL_USER:DOVECOT_MAIL_GROUP (default nobody:nogroup). The demo mailbox
# $IMAP_DEMO_USER / $IMAP_DEMO_PASSWORD is always present.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

DOVECOT=/usr/sbin/dovecot
DDIR="$ESTATEDESK_VAR/dovecot"
CONF="$DDIR/dovecot.conf"
USERS="$DDIR/users"
PIDFILE="$DDIR/dovecot.pid"
TMPL="$ESTATEDESK_ROOT/deploy/dovecot/dovecot.conf.tmpl"
: "${DOVECOT_INTERNAL_USER:=dovecot}"
: "${DOVECOT_LOGIN_USER:=dovenull}"
: "${DOVECOT_MAIL_USER:=nobody}"
: "${DOVECOT_MAIL_GROUP:=nogroup}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid of our live master (its command line names our config), else nothing
live_pid() {
  local pid cmd
  [ -s "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *dovecot*"$CONF"* ]] || return 1
  echo "$pid"
}

imap_greeting() { _imap_greeting 2>/dev/null; }
_imap_greeting() {   # the server answers "* OK ... ready."
  exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT" || return 1
  local line
  IFS= read -r -t 2 line <&3 || { exec 3<&-; return 1; }
  printf 'a1 LOGOUT\r\n' >&3 || true
  exec 3<&-
  [[ "$line" == "* OK"* ]]
}

render_config() {
  [ -f "$TMPL" ] || ed_die "missing $TMPL"
  local v esc args=()
  for v in DOVECOT_DIR IMAP_PORT DOVECOT_INTERNAL_USER DOVECOT_LOGIN_USER DOVECOT_MAIL_USER DOVECOT_MAIL_GROUP; do
    if [ "$v" = DOVECOT_DIR ]; then esc="$DDIR"; else esc="${!v}"; fi
    esc="$(printf '%s' "$esc" | sed -e 's/[\\|&]/\\&/g')"
    args+=(-e "s|@$v@|$esc|g")
  done
  sed "${args[@]}" "$TMPL" > "$CONF.tmp"
  chmod 644 "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

prepare_dirs() {
  local u
  for u in "$DOVECOT_INTERNAL_USER" "$DOVECOT_LOGIN_USER" "$DOVECOT_MAIL_USER"; do
    id "$u" >/dev/null 2>&1 || ed_die "dovecot: user $u does not exist (apt package dovecot-core creates dovecot/dovenull)"
  done
  mkdir -p "$DDIR"/{run,state,mail}
  chmod 755 "$DDIR" "$DDIR/mail"
  chown "$DOVECOT_MAIL_USER:$DOVECOT_MAIL_GROUP" "$DDIR/mail"
  [ -f "$USERS" ] || : > "$USERS"
  # the auth process runs as the internal user: it must read the users file, nobody else
  chown "root:$(id -gn "$DOVECOT_INTERNAL_USER")" "$USERS"
  chmod 640 "$USERS"
}

adduser() {   # user password
  local user="$1" pass="$2"
  [[ "$user" =~ ^[A-Za-z0-9._@+-]+$ ]] || ed_die "dovecot: bad user name $user"
  [[ "$pass" != *:* && "$pass" != *$'\n'* ]] || ed_die "dovecot: a password must not contain ':' or a newline"
  prepare_dirs
  { grep -v "^${user//./\\.}:" "$USERS" || true; printf '%s:{PLAIN}%s::::::\n' "$user" "$pass"; } > "$USERS.tmp"
  chown --reference="$USERS" "$USERS.tmp"
  chmod 640 "$USERS.tmp"
  mv "$USERS.tmp" "$USERS"
}

start() {
  [ -x "$DOVECOT" ] || ed_die "dovecot: $DOVECOT not found (apt package dovecot-imapd; run scripts/bootstrap.sh)"
  [ "$(id -u)" = 0 ] || ed_die "dovecot: the master must start as root (it switches to unprivileged users)"
  if live_pid >/dev/null && imap_greeting; then
    ed_log "dovecot already running (imap 127.0.0.1:$IMAP_PORT)"
    return 0
  fi
  if ! live_pid >/dev/null && port_open "$IMAP_PORT"; then
    ed_die "dovecot: port $IMAP_PORT is taken by another process (not ours); choose IMAP_PORT"
  fi
  prepare_dirs
  adduser "$IMAP_DEMO_USER" "$IMAP_DEMO_PASSWORD"
  render_config
  "$DOVECOT" -c "$CONF" -n >/dev/null 2>"$DDIR/config-check.err" \
    || { cat "$DDIR/config-check.err" >&2; ed_die "dovecot: config check failed ($CONF)"; }
  if ! live_pid >/dev/null; then
    ed_log "starting dovecot (imap 127.0.0.1:$IMAP_PORT, data $DDIR)"
    echo "===== $(date -Is) starting dovecot =====" >>"$DDIR/dovecot.out"
    ed_spawn "$PIDFILE" "$DDIR/dovecot.out" "$DOVECOT" -F -c "$CONF" || exit 1
  fi
  local i
  for i in $(seq 1 300); do
    imap_greeting && { ed_log "dovecot up: imap://127.0.0.1:$IMAP_PORT (demo mailbox $IMAP_DEMO_USER)"; return 0; }
    live_pid >/dev/null || { ed_warn "dovecot: the master process exited"; break; }
    sleep 0.1
  done
  ed_warn "dovecot: not ready; last log lines:"
  tail -n 20 "$DDIR/dovecot.out" "$DDIR/dovecot.log" >&2 2>/dev/null || true
  exit 1
}

stop() {
  local pid i
  if ! pid="$(live_pid)"; then
    ed_log "dovecot (imap port $IMAP_PORT) not running"
    rm -f "$PIDFILE"
    return 0
  fi
  ed_log "stopping dovecot (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -f "$PIDFILE"
  return 0
}

status() {
  local pid
  if pid="$(live_pid)"; then echo "dovecot: running (pid $pid), imap 127.0.0.1:$IMAP_PORT, data $DDIR"
  else echo "dovecot: stopped (imap port $IMAP_PORT)"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  adduser) [ $# -eq 3 ] || { echo "usage: $0 adduser USER PASSWORD" >&2; exit 2; }; adduser "$2" "$3" ;;
  *) echo "usage: $0 start|stop|status|adduser USER PASSWORD" >&2; exit 2 ;;
esac
