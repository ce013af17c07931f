#!/bin/bash
# Starts bearerbox, then fakesmsc (the fake SMSC connecting to bearerbox) and smsbox; exits (and
# so stops the container, which compose restarts) as soon as any of them exits.
# Config: /etc/kannel/compose.conf (deploy/kannel/compose.conf). Queue store: /var/spool/kannel-compose.
set -euo pipefail
CONF="${KANNEL_CONF:-/etc/kannel/compose.conf}"
FAKESMSC=/usr/lib/kannel/test/fakesmsc

/usr/sbin/bearerbox -v 1 "$CONF" &
pids=($!)
# fakesmsc needs bearerbox's SMSC port listening; smsbox retries on its own.
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null && break
  sleep 0.2
done
# -m 0: send no mobile-originated messages; print every MT message received, line-buffered.
stdbuf -oL -eL "$FAKESMSC" -H 127.0.0.1 -r 10000 -i 3600 -m 0 '1 2 text idle' &
pids+=($!)
/usr/sbin/smsbox -v 1 "$CONF" &
pids+=($!)

trap 'kill "${pids[@]}" 2>/dev/null || true' TERM INT
rc=0
wait -n "${pids[@]}" || rc=$?
kill "${pids[@]}" 2>/dev/null || true
exit "$rc"
