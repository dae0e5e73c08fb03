#!/usr/bin/env bash
# Set up like run.sh, then run the whole test suite. Extra arguments go to pytest.
#
# Databases: if DATABASE_URL / REDIS_URL are set, the tests use those servers (pytest-django creates
# and drops test_<name>). Otherwise a throw-away embedded PostgreSQL and Redis are started in a
# temporary folder for this run only, so concurrent runs never share state.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
export DEBUG="${DEBUG:-1}"
LOG_TAG=test

EMOTION_SETUP_MIGRATE=0 bash scripts/setup.sh

SERVICES_DIR=""
SERVICES_PID=""
cleanup() {
  stop_pid "$SERVICES_PID" 30
  [ -n "$SERVICES_DIR" ] && rm -rf "$SERVICES_DIR"
}
trap cleanup EXIT
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  SERVICES_DIR="$(mktemp -d /tmp/emotion-test-XXXXXX)"
  start_embedded_services "$SERVICES_DIR"
fi

"$VENV/bin/python" -m pytest "$@"
