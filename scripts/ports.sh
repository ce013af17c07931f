# shellcheck shell=bash
# Ports and data directory of a private test instance, shared by scripts/test.sh and scripts/instance.sh:
#   . scripts/ports.sh; ed_instance OFFSET SMALL_OFFSET DIR
# Every port of make test's instance (5673, 54330, 8010, ...) is shifted by OFFSET, the 9xxx ones (metrics 9111-9114,
# notify 9213, wechat 9217, which sit closer together) by SMALL_OFFSET; data, logs and pids live under DIR. Then
# scripts/env.sh derives the rest (epmd port, stand-in and public URLs, keys under DIR): whatever a shell had
# derived before (from make run's or another instance's env) is cleared first, or it would point at that instance.
ed_instance() {
  local O="$1" P="$2"
  export ESTATEDESK_VAR="$3"
  export RABBIT_PORT=$((5673 + O)) RABBIT_MGMT_PORT=$((15673 + O))
  export AMQP_URI="amqp://guest:guest@127.0.0.1:$((5673 + O))/"
  export PG_PORT=$((54330 + O)) PG_DATA="$ESTATEDESK_VAR/pg/data"
  export GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$((8010 + O))
  export SMTP_HOST=127.0.0.1 SMTP_PORT=$((1026 + O))
  export INTAKE_METRICS_PORT=$((9111 + P)) WORKFLOW_METRICS_PORT=$((9112 + P)) \
         NOTIFY_METRICS_PORT=$((9113 + P)) REPORTING_METRICS_PORT=$((9114 + P))
  export KANNEL_ADMIN_PORT=$((13030 + O)) KANNEL_SENDSMS_PORT=$((13033 + O)) KANNEL_SMSBOX_PORT=$((13031 + O)) \
         KANNEL_FAKESMSC_PORT=$((10030 + O))
  export NOTIFY_HTTP_PORT=$((9213 + P)) SMS_ENABLED=true KANNEL_HOST=127.0.0.1
  export IMAP_HOST=127.0.0.1 IMAP_PORT=$((10153 + O))
  export WECHAT_API_PORT=$((9217 + P))   # scripts/wechat_api_stub.py of the e2e runs
  unset DATABASE_URL INTAKE_DATABASE_URL WORKFLOW_DATABASE_URL NOTIFY_DATABASE_URL \
        REPORTING_DATABASE_URL GATEWAY_DATABASE_URL TEST_DATABASE_URL
  unset SURVEY_BASE_URL GATEWAY_PUBLIC_URL WECHAT_API_BASE_URL GATEWAY_SECRET_KEY ESTATEDESK_SECRETS_KEY \
        RABBIT_EPMD_PORT RABBIT_API_URI HPYTEST HPG_URL
  . "$(dirname "${BASH_SOURCE[0]}")/env.sh"
  export RABBIT_API_URI="http://guest:guest@127.0.0.1:$RABBIT_MGMT_PORT"
  export PG_TEST_URL="postgresql://postgres@127.0.0.1:$PG_PORT/estatedesk_test"
}
