#!/usr/bin/env bash
# Set everything up if needed: venv, Python and npm packages, Chromium (as root), this install's
# secrets (var/secrets/), static files, and migrations (against the configured database, or the
# embedded one started just for that).
# Re-running is fast: installs are skipped while the requirement files' hash matches a stamp.
# EMOTION_SETUP_MIGRATE=0 skips migrations (run.sh migrates once its services are up).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [ ! -x "$PY" ]; then
  log "creating virtual environment .venv"
  python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi

stamp="$VENV/.requirements-stamp"
want="$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages"
  "$PY" -m pip install --disable-pip-version-check -q -r requirements.txt
  "$PY" -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
  echo "$want" > "$stamp"
fi

if command -v npm >/dev/null 2>&1; then
  npm_stamp="node_modules/.lock-stamp"
  npm_want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
    log "installing npm packages (D3)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$npm_want" > "$npm_stamp"
  fi
  mkdir -p static/vendor
  cp -u node_modules/d3/dist/d3.min.js static/vendor/d3.min.js
else
  log "npm not found: D3 charts will be missing (install Node.js and npm)"
fi

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing Debian chromium for browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }) \
    || log "could not install chromium: browser tests will be skipped"
fi

# This install's SECRET_KEY and Fernet key, made once and kept (settings read them when not given).
"$PY" scripts/make_secrets.py "$VAR_DIR/secrets" | while read -r line; do log "$line"; done

log "collecting static files"
"$PY" manage.py collectstatic --noinput -v 0

if [ "${EMOTION_SETUP_MIGRATE:-1}" = 1 ]; then
  start_embedded_services "$VAR_DIR"
  trap 'stop_pid "${SERVICES_PID:-}"' EXIT
  log "applying migrations"
  "$PY" manage.py migrate --noinput -v 0
fi
