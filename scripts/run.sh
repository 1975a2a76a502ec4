#!/usr/bin/env bash
# `make run`: prepare the database, load demo data the first time, then run the
# background worker and the web server until Ctrl+C (which stops both).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
G="$VENV/bin/guanxi"
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
DATA_DIR=${GUANXI_DATA_DIR:-var}
export GUANXI_DATA_DIR="$DATA_DIR"
LOGINS="$DATA_DIR/demo-logins.txt"

if ls src/guanxi/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then
  "$G" manage compiletranslations --verbosity 0
fi
"$G" migrate

customers=$("$VENV/bin/python" -c '
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
django.setup()
from guanxi.parties.models import Customer
print(Customer.all_objects.count())')

if [ "$customers" = "0" ]; then
  echo "Loading demo data (first run)…"
  mkdir -p "$DATA_DIR"
  "$G" demo ${DEMO_ARGS:-} | tee "$LOGINS.part"
  mv "$LOGINS.part" "$LOGINS"
else
  echo "The database already has $customers customers; demo data is not loaded again."
  if [ -s "$LOGINS" ]; then
    echo "Demo logins (saved in $LOGINS on the first run):"
    sed -n '/demo logins/,$p' "$LOGINS" | grep -v "guanxi serve" || true
  fi
fi

"$G" worker --verbosity 0 &
WORKER=$!
"$G" scheduler --verbosity 0 &
SCHEDULER=$!
stop_worker() {
  kill "$WORKER" "$SCHEDULER" 2>/dev/null || true
  wait "$WORKER" "$SCHEDULER" 2>/dev/null || true
}
trap stop_worker EXIT
trap 'exit 130' INT TERM

echo
echo "Background worker (pid $WORKER) and scheduler (pid $SCHEDULER) started."
echo "Open http://$HOST:$PORT/ in your browser. Press Ctrl+C to stop."
echo
"$G" serve --host "$HOST" --port "$PORT"
