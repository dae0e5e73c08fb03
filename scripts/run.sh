#!/usr/bin/env bash
# Set up if needed, then run the whole stack in the foreground: embedded PostgreSQL/Redis when
# DATABASE_URL/REDIS_URL are unset, Daphne (HTTP, optionally HTTPS) and three Celery workers
# (live | inference,default with Celery beat for periodic tasks | summaries), each restarted with
# backoff if it dies (scripts/supervise.py). Ctrl-C stops all of them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Never debug unless asked for (DEBUG=1): debug pages show settings, URL patterns and tracebacks to
# anyone who can reach the site. The secrets are this install's own, made by setup.sh in var/secrets/.
export DEBUG="${DEBUG:-0}"
BIND="${EMOTION_BIND:-127.0.0.1}"
PORT="${EMOTION_PORT:-8000}"
HTTPS_PORT="${EMOTION_HTTPS_PORT:-8443}"

EMOTION_SETUP_MIGRATE=0 bash scripts/setup.sh

if is_on "${EMOTION_HTTPS:-0}"; then
  export EMOTION_HTTPS=1 EMOTION_HTTPS_PORT="$HTTPS_PORT"  # the settings redirect HTTP to this port
  if [ -z "${EMOTION_TLS_CERT:-}" ]; then
    # HSTS pins a host name (every port) in the browser for a year: not for a self-signed certificate
    export EMOTION_HSTS_SECONDS="${EMOTION_HSTS_SECONDS:-0}"
  fi
elif ! is_on "${EMOTION_BEHIND_PROXY:-0}"; then
  # Plain HTTP: nothing to redirect to, and cookies marked Secure would never come back.
  export EMOTION_SECURE_SSL_REDIRECT="${EMOTION_SECURE_SSL_REDIRECT:-0}"
  export EMOTION_SECURE_COOKIES="${EMOTION_SECURE_COOKIES:-0}"
  export EMOTION_HSTS_SECONDS="${EMOTION_HSTS_SECONDS:-0}"
  case "$BIND" in
    127.*|localhost|::1) ;;
    *) LOG_TAG=run log "warning: serving $BIND over plain HTTP: passwords and faces cross the network in clear (set EMOTION_HTTPS=1)" ;;
  esac
fi

SUPERVISOR_PID=""
SERVICES_PID=""
cleanup() {
  trap - TERM EXIT
  trap '' INT  # a second Ctrl-C reaches the supervisor (which then stops at once), not this clean-up
  LOG_TAG=run log "shutting down"
  stop_pid "$SUPERVISOR_PID" 40  # it stops its processes (TERM, KILL after 20 s) before it exits
  stop_pid "$SERVICES_PID" 30
  LOG_TAG=run log "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

start_embedded_services "$VAR_DIR"
LOG_TAG=migrate log "applying migrations"
"$PY" manage.py migrate --noinput -v 0

endpoints=()
if is_on "${EMOTION_HTTPS:-0}"; then
  cert="${EMOTION_TLS_CERT:-$VAR_DIR/tls/cert.pem}"
  key="${EMOTION_TLS_KEY:-$VAR_DIR/tls/key.pem}"
  if [ ! -f "$cert" ] || [ ! -f "$key" ]; then
    LOG_TAG=https log "generating a self-signed certificate in $(dirname "$cert")"
    "$PY" scripts/selfsigned_cert.py "$cert" "$key" ${EMOTION_TLS_HOSTS:-}
  fi
  endpoints=(-e "ssl:$HTTPS_PORT:interface=$BIND:privateKey=$key:certKey=$cert")
  LOG_TAG=https log "HTTPS on https://$BIND:$HTTPS_PORT/"
fi

WS_MAX=$(( ${EMOTION_WS_MAX_MESSAGE_MB:-2} * 1024 * 1024 ))  # the consumers check the same limit
# Each process under scripts/supervise.py: one that dies (a crash, the out-of-memory killer) is started
# again with backoff while the others keep serving; /healthz reports the queues left without a worker.
# Daphne through emotionsite.daphne_server (its own command line): request bodies are bounded as they arrive.
procs=(-- web "$PY" -m emotionsite.daphne_server -b "$BIND" -p "$PORT" "${endpoints[@]}" \
  --websocket-max-message-size "$WS_MAX" --websocket-max-frame-size "$WS_MAX" emotionsite.asgi:application)
if [ "${EMOTION_WORKERS:-1}" = 1 ]; then
  worker=("$VENV/bin/celery" -A emotionsite worker --pool=prefork -l "${EMOTION_CELERY_LOG_LEVEL:-info}")
  # live: one process per core by default (each recording is served by one process at a time, in order)
  procs+=(-- live "${worker[@]}" -Q "${EMOTION_QUEUE_LIVE:-live}" -c "${EMOTION_LIVE_PROCESSES:-$(nproc)}" -n "live@%h")
  procs+=(-- inference "${worker[@]}" -Q "${EMOTION_QUEUE_INFERENCE:-inference},${EMOTION_QUEUE_DEFAULT:-default}"
    -c "${EMOTION_INFERENCE_CONCURRENCY:-1}" -n "inference@%h" -B -s "$VAR_DIR/celerybeat-schedule")
  procs+=(-- summaries "${worker[@]}" -Q "${EMOTION_QUEUE_SUMMARIES:-summaries}" -c 1 -n "summaries@%h")
fi
"$PY" scripts/supervise.py "${procs[@]}" &
SUPERVISOR_PID=$!
LOG_TAG=run log "site on http://$BIND:$PORT/ (Ctrl-C stops everything)"

# Stay up until Ctrl-C; only the supervisor or the embedded services' own supervisor ending stops the rest.
wait -n "$SUPERVISOR_PID" ${SERVICES_PID:+"$SERVICES_PID"} || true
LOG_TAG=run log "the process supervisor or the embedded services ended; stopping the stack"
