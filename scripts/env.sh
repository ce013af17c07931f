# shellcheck shell=bash
# EstateDesk local environment. Source this file (scripts do it for you):
#   . scripts/env.sh
# Every variable from docs/contracts.md gets a default here; values already
# present in the environment always win.

ESTATEDESK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ESTATEDESK_ROOT

# --- data / logs / pids ------------------------------------------------------
: "${ESTATEDESK_VAR:=$ESTATEDESK_ROOT/var}"
case "$ESTATEDESK_VAR" in
  /*) ;;
  *) ESTATEDESK_VAR="$ESTATEDESK_ROOT/$ESTATEDESK_VAR" ;;
esac
export ESTATEDESK_VAR
mkdir -p "$ESTATEDESK_VAR"/{db,log,run,mail}

# --- RabbitMQ ----------------------------------------------------------------
: "${RABBIT_PORT:=5672}"
: "${RABBIT_MGMT_PORT:=15672}"
# Private epmd port per broker, so a system epmd (4369) or a second broker
# (make run + make test at the same time) never shares our node registry.
: "${RABBIT_EPMD_PORT:=$((RABBIT_PORT + 8697))}"   # 5672 -> 14369, 5673 -> 14370
: "${AMQP_URI:=amqp://guest:guest@127.0.0.1:${RABBIT_PORT}/}"
export RABBIT_PORT RABBIT_MGMT_PORT RABBIT_EPMD_PORT AMQP_URI

# --- databases ---------------------------------------------------------------
# DATABASE_URL stays unset by default (-> per-package SQLite, chosen by the
# packages themselves). The special value "postgres-local" is resolved by
# scripts/run.sh (starts scripts/postgres.sh). <PKG>_DATABASE_URL are
# derived by the packages unless set explicitly.
: "${PG_PORT:=54329}"
: "${PG_DATA:=$ESTATEDESK_VAR/pg/data}"
export PG_PORT PG_DATA

# --- mail --------------------------------------------------------------------
: "${SMTP_HOST:=127.0.0.1}"
: "${SMTP_PORT:=1025}"
: "${SMTP_FROM:=EstateDesk <noreply@estatedesk.local>}"
export SMTP_HOST SMTP_PORT SMTP_FROM

# --- SMS (Kannel: scripts/kannel.sh; dev credentials only) --------------------
: "${SMS_ENABLED:=true}"
: "${KANNEL_ADMIN_PORT:=13000}"
: "${KANNEL_SENDSMS_PORT:=13013}"
: "${KANNEL_SMSBOX_PORT:=13001}"
: "${KANNEL_FAKESMSC_PORT:=10000}"
: "${KANNEL_USER:=estatedesk}"
: "${KANNEL_PASSWORD:=estatedesk-dev}"
: "${KANNEL_ADMIN_PASSWORD:=estatedesk-dev-admin}"
: "${KANNEL_HOST:=127.0.0.1}"   # where notify reaches sendsms (our boxes always listen on loopback)
: "${NOTIFY_HTTP_PORT:=9203}"   # notify's HTTP entrypoints (Kannel's DLR callback)
: "${WEBHOOK_ALLOW_HTTP:=true}"     # local runs: tenants' webhooks may be plain http ...
: "${WEBHOOK_ALLOW_PRIVATE:=true}"  # ... and on loopback/private addresses (production: both false)
export WEBHOOK_ALLOW_HTTP WEBHOOK_ALLOW_PRIVATE
: "${TENANT_SMTP_ALLOW_PRIVATE:=true}"  # local runs: a group's own mail server may be on loopback/private addresses
export TENANT_SMTP_ALLOW_PRIVATE
export SMS_ENABLED KANNEL_ADMIN_PORT KANNEL_SENDSMS_PORT KANNEL_SMSBOX_PORT KANNEL_FAKESMSC_PORT \
       KANNEL_USER KANNEL_PASSWORD KANNEL_ADMIN_PASSWORD KANNEL_HOST NOTIFY_HTTP_PORT
ed_sms_enabled() { case "${SMS_ENABLED,,}" in 1|true|yes|on) return 0 ;; *) return 1 ;; esac; }

# --- WeChat customer-service API (local stand-in: scripts/wechat_api_stub.py) ----
: "${WECHAT_API_PORT:=9207}"    # the stand-in run.sh starts; it records messages in $ESTATEDESK_VAR/wechat/
: "${WECHAT_API_BASE_URL:=http://127.0.0.1:$WECHAT_API_PORT/}"   # notify (production: https://api.weixin.qq.com/)
: "${WECHAT_ENABLED:=true}"     # notify replies to WeChat owners on WeChat (SMS as the fallback)
export WECHAT_API_PORT WECHAT_API_BASE_URL WECHAT_ENABLED

# --- mailbox channel (private Dovecot: scripts/dovecot.sh; dev credentials only)
: "${IMAP_HOST:=127.0.0.1}"
: "${IMAP_PORT:=10143}"
: "${IMAP_DEMO_USER:=complaints@demo}"
: "${IMAP_DEMO_PASSWORD:=demo-mail-password}"
: "${MAILBOX_POLL_SECONDS:=5}"
export IMAP_HOST IMAP_PORT IMAP_DEMO_USER IMAP_DEMO_PASSWORD MAILBOX_POLL_SECONDS

# --- metrics -----------------------------------------------------------------
: "${INTAKE_METRICS_PORT:=9101}"
: "${WORKFLOW_METRICS_PORT:=9102}"
: "${NOTIFY_METRICS_PORT:=9103}"
: "${REPORTING_METRICS_PORT:=9104}"
export INTAKE_METRICS_PORT WORKFLOW_METRICS_PORT NOTIFY_METRICS_PORT REPORTING_METRICS_PORT

# --- gateway -----------------------------------------------------------------
: "${GATEWAY_HOST:=127.0.0.1}"
: "${GATEWAY_PORT:=8000}"
export GATEWAY_HOST GATEWAY_PORT
: "${SURVEY_BASE_URL:=http://$GATEWAY_HOST:$GATEWAY_PORT}"  # notify: owner survey links in callback SMS
export SURVEY_BASE_URL

if [ -z "${GATEWAY_SECRET_KEY:-}" ]; then
  _ed_key_file="$ESTATEDESK_VAR/secret_key"
  if [ ! -s "$_ed_key_file" ]; then
    (
      umask 077
      od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$_ed_key_file.tmp"
      mv "$_ed_key_file.tmp" "$_ed_key_file"
    )
  fi
  chmod 600 "$_ed_key_file"
  GATEWAY_SECRET_KEY="$(cat "$_ed_key_file")"
  unset _ed_key_file
fi
export GATEWAY_SECRET_KEY

# Key(s) encrypting per-tenant channel secrets at rest (estatedesk_common.secrets: Fernet keys, comma-separated,
# the first encrypts, all decrypt). A dev key is generated once into $ESTATEDESK_VAR/secrets.key.
if [ -z "${ESTATEDESK_SECRETS_KEY:-}" ]; then
  _ed_key_file="$ESTATEDESK_VAR/secrets.key"
  if [ ! -s "$_ed_key_file" ]; then
    (
      umask 077
      head -c32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' > "$_ed_key_file.tmp"
      mv "$_ed_key_file.tmp" "$_ed_key_file"
    )
  fi
  chmod 600 "$_ed_key_file"
  ESTATEDESK_SECRETS_KEY="$(cat "$_ed_key_file")"
  unset _ed_key_file
fi
export ESTATEDESK_SECRETS_KEY

# --- misc --------------------------------------------------------------------
export PYTHONUNBUFFERED=1
ESTATEDESK_VENV="$ESTATEDESK_ROOT/.venv"
export ESTATEDESK_VENV

# Packages in migrate/seed order and the four nameko services.
ESTATEDESK_PACKAGES=(intake workflow notify reporting gateway)
ESTATEDESK_SERVICES=(intake workflow notify reporting)

# Directory of an importable package (empty if unknown).
estatedesk_pkg_dir() {
  case "$1" in
    gateway) echo "$ESTATEDESK_ROOT/gateway" ;;
    estatedesk_common) echo "$ESTATEDESK_ROOT/libs/estatedesk_common" ;;
    *) echo "$ESTATEDESK_ROOT/services/$1" ;;
  esac
}

ed_log() { printf '[estatedesk] %s\n' "$*" >&2; }
ed_warn() { printf '[estatedesk] WARNING: %s\n' "$*" >&2; }
ed_die() { printf '[estatedesk] ERROR: %s\n' "$*" >&2; exit 1; }

# ed_spawn PIDFILE LOGFILE cmd...: start cmd in a new session (immune to the terminal's Ctrl-C), output appended
# to LOGFILE, and write the pid of the process that runs cmd to PIDFILE. Not `setsid cmd & echo $!`: when the
# caller is a process-group leader (job control on, as under some CI runners) setsid forks and $! is a pid
# that has already exited. The child writes its own pid ($$ survives exec), and we wait until it has.
ed_spawn() {
  local pidfile="$1" logfile="$2" i; shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  for i in $(seq 1 100); do [ -s "$pidfile" ] && return 0; sleep 0.05; done
  ed_warn "no pid written to $pidfile within 5 s for: $*"
  return 1
}
