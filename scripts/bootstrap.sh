#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root) for EstateDesk; idempotent and
# fast (< 3 s) when nothing changed.
#   scripts/bootstrap.sh          # what `make run` needs
#   scripts/bootstrap.sh --test   # plus extra packages for `make test`
# Never stops/restarts our own brokers or services; it only stops the Debian
# *system* rabbitmq-server if apt started one (it would squat on 5672).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ESTATEDESK_ROOT"

WANT_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WANT_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

# --- 1. apt packages ---------------------------------------------------------
APT_PACKAGES=(rabbitmq-server postgresql-15 curl)
# SMS: Kannel bearerbox/smsbox, and fakesmsc (kannel-extras) as the fake SMSC (scripts/kannel.sh)
APT_PACKAGES+=(kannel kannel-extras)
# Mailbox channel: Dovecot IMAP, run privately by scripts/dovecot.sh (demo mailbox; real-server tests)
APT_PACKAGES+=(dovecot-imapd)
# Extra packages only needed by `make test`.
# chromium: the real browser Playwright drives in tests/e2e/test_console_browser.py (Debian's build, launched
# by path; Playwright's own browser download is not used); a CJK font so its screenshots show Chinese.
TEST_APT_PACKAGES=(chromium fonts-wqy-microhei)
# memcached: the shared rate-limit store; gateway/tests/integration/test_gateway_shared_rate_limits.py starts its
# own on a free port (Debian's postinst may start a system one on 127.0.0.1:11211; ours never use that port).
TEST_APT_PACKAGES+=(memcached)
# kubectl renders deploy/k8s overlays offline (`kubectl kustomize`, tests/test_deploy_k8s.py). Debian's
# kubernetes-client only when no kubectl is there: another package's kubectl owns the same path.
command -v kubectl >/dev/null 2>&1 || TEST_APT_PACKAGES+=(kubernetes-client)

find_python() {
  local c
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

wanted=("${APT_PACKAGES[@]}")
[ "$WANT_TEST" = 1 ] && wanted+=("${TEST_APT_PACKAGES[@]}")

PY="$(find_python || true)"
if [ ! -x .venv/bin/python ]; then
  if [ -z "$PY" ]; then
    wanted+=(python3 python3-venv)            # Debian 12's python3 is 3.11
  elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    wanted+=(python3-venv)
  fi
fi

missing=()
for p in "${wanted[@]}"; do
  pkg_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || ed_die "need root to apt-get install: ${missing[*]}"
  ed_log "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # wait for a concurrent apt/dpkg run to finish
  for _ in $(seq 1 300); do
    fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1 || break
    sleep 1
  done
  timeout 600 apt-get update -q
  timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package starts a system broker (user rabbitmq, port 5672, epmd
# 4369) on machines with a working init. We run our own private node instead,
# so stop and disable the system one. Our nodes run as root, so this never
# touches them.
if pgrep -u rabbitmq -f beam >/dev/null 2>&1; then
  ed_warn "stopping the system rabbitmq-server service (EstateDesk runs its own node)"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    timeout 60 systemctl disable --now rabbitmq-server || true
  else
    timeout 60 service rabbitmq-server stop || true
    command -v update-rc.d >/dev/null 2>&1 && update-rc.d rabbitmq-server disable >/dev/null 2>&1 || true
  fi
fi

# Same for the Debian kannel service (bearerbox as user kannel, admin port
# 13000): we run our own boxes (scripts/kannel.sh).
if pgrep -u kannel -x bearerbox >/dev/null 2>&1; then
  ed_warn "stopping the system kannel service (EstateDesk runs its own Kannel)"
  timeout 60 service kannel stop || true
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d kannel disable >/dev/null 2>&1 || true
fi

# Same for the Debian dovecot service (master pid in /run/dovecot, IMAP 143): ours run from
# $ESTATEDESK_VAR/dovecot with their own base_dir, so this never touches them.
if [ -s /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
  ed_warn "stopping the system dovecot service (EstateDesk runs its own Dovecot)"
  timeout 60 service dovecot stop || true
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d dovecot disable >/dev/null 2>&1 || true
fi

# --- 2. virtualenv -----------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  PY="$(find_python)" || ed_die "no Python 3.11 found (python3.11 / python3)"
  ed_log "creating .venv with $PY"
  "$PY" -m venv .venv
fi

# --- 3. python packages (only the package dirs that exist) -------------------
PKG_DIRS=(libs/estatedesk_common services/intake services/workflow services/notify services/reporting gateway)
pip_args=()
hash_inputs=(constraints.txt scripts/bootstrap.sh)
for d in "${PKG_DIRS[@]}"; do
  if [ -f "$d/pyproject.toml" ]; then
    pip_args+=(-e "$d[dev]")
    hash_inputs+=("$d/pyproject.toml")
  else
    ed_warn "package $d not present yet - skipped"
  fi
done

stamp=.venv/.estatedesk-bootstrap
want_hash="$( { .venv/bin/python -VV; printf '%s\n' "${pip_args[@]}"; cat "${hash_inputs[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ]; then
  ed_log "python packages up to date"
else
  ed_log "installing python packages into .venv"
  # aiosmtpd (scripts/mailcatcher.py) and pytest are needed by the scripts
  # themselves, whatever package dirs exist.
  timeout 900 .venv/bin/pip install -q --disable-pip-version-check \
    -c constraints.txt aiosmtpd pytest "${pip_args[@]}"
  echo "$want_hash" > "$stamp"
fi
ed_log "bootstrap done"
