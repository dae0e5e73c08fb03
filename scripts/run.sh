#!/usr/bin/env bash
# Set up if needed, then run the whole stack in the foreground: embedded PostgreSQL/Redis when
# DATABASE_URL/REDIS_URL are unset, Daphne (HTTP, optionally HTTPS) and three Celery workers
# (live | inference,default with Celery beat for periodic tasks | summaries). Ctrl-C stops all of them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

export DEBUG="${DEBUG:-1}"
BIND="${EMOTION_BIND:-127.0.0.1}"
PORT="${EMOTION_PORT:-8000}"

EMOTION_SETUP_MIGRATE=0 bash scripts/setup.sh

PIDS=()
SERVICES_PID=""
cleanup() {
  trap - INT TERM EXIT
  LOG_TAG=run log "shutting down"
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid" 20; done
  stop_pid "$SERVICES_PID" 30
  LOG_TAG=run log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_embedded_services "$ROOT/var"
LOG_TAG=migrate log "applying migrations"
"$PY" manage.py migrate --noinput -v 0

# spawn TAG CMD...: run CMD in the background, every output line prefixed with [TAG].
spawn() {
  local tag="$1"; shift
  "$@" > >(prefix "$tag") 2>&1 &
  PIDS+=($!)
}

endpoints=()
if [ "${EMOTION_HTTPS:-0}" = 1 ]; then
  cert="${EMOTION_TLS_CERT:-$ROOT/var/tls/cert.pem}"
  key="${EMOTION_TLS_KEY:-$ROOT/var/tls/key.pem}"
  if [ ! -f "$cert" ] || [ ! -f "$key" ]; then
    LOG_TAG=https log "generating a self-signed certificate in $(dirname "$cert")"
    "$PY" scripts/selfsigned_cert.py "$cert" "$key" ${EMOTION_TLS_HOSTS:-}
  fi
  endpoints=(-e "ssl:${EMOTION_HTTPS_PORT:-8443}:interface=$BIND:privateKey=$key:certKey=$cert")
  LOG_TAG=https log "HTTPS on https://$BIND:${EMOTION_HTTPS_PORT:-8443}/"
fi

WS_MAX=$(( ${EMOTION_WS_MAX_MESSAGE_MB:-2} * 1024 * 1024 ))  # the consumers check the same limit
spawn web "$VENV/bin/daphne" -b "$BIND" -p "$PORT" "${endpoints[@]}" --proxy-headers --websocket-max-message-size "$WS_MAX" --websocket-max-frame-size "$WS_MAX" emotionsite.asgi:application
if [ "${EMOTION_WORKERS:-1}" = 1 ]; then
  worker=("$VENV/bin/celery" -A emotionsite worker --pool=prefork -l "${EMOTION_CELERY_LOG_LEVEL:-info}")
  spawn live "${worker[@]}" -Q "${EMOTION_QUEUE_LIVE:-live}" -c 1 -n "live@%h"
  spawn inference "${worker[@]}" -Q "${EMOTION_QUEUE_INFERENCE:-inference},${EMOTION_QUEUE_DEFAULT:-default}" \
    -c "${EMOTION_INFERENCE_CONCURRENCY:-1}" -n "inference@%h" -B -s "$ROOT/var/celerybeat-schedule"
  spawn summaries "${worker[@]}" -Q "${EMOTION_QUEUE_SUMMARIES:-summaries}" -c 1 -n "summaries@%h"
fi
LOG_TAG=run log "site on http://$BIND:$PORT/ (Ctrl-C stops everything)"

# Stay up until Ctrl-C or until any process exits (then stop the rest).
wait -n "${PIDS[@]}" ${SERVICES_PID:+"$SERVICES_PID"} || true
LOG_TAG=run log "a process exited; stopping the stack"
