#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server:
#   scripts/with-postgres.sh pytest -m "not browser"
# Finds PostgreSQL (installs Debian's `postgresql` when missing and allowed), creates a
# cluster in a temporary directory owned by an unprivileged user, starts it on 127.0.0.1
# on a free port, runs the command with DATABASE_URL set, and always stops and removes
# the cluster. Exit status: the command's; 1 if PostgreSQL cannot be had under CI=true;
# 0 with a plain "SKIPPED" message otherwise (the marker file $GUANXI_PG_SKIPPED_FILE,
# when set, is created so callers can report the skip).
set -uo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "" >&2
  echo "*** PostgreSQL run SKIPPED: $1" >&2
  [ -n "${GUANXI_PG_SKIPPED_FILE:-}" ] && echo "$1" > "$GUANXI_PG_SKIPPED_FILE"
  if [ "${CI:-}" = "true" ]; then
    echo "*** CI=true: a skipped PostgreSQL run is a failure." >&2
    exit 1
  fi
  exit 0
}

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

BINDIR=$(find_bindir) || {
  scripts/apt-install.sh postgresql || skip "PostgreSQL is not installed and cannot be installed here (needs root: apt-get install postgresql)."
  BINDIR=$(find_bindir) || skip "PostgreSQL was installed but initdb was not found."
}

# The server refuses to run as root: use the `postgres` system user or `nobody`.
RUN=()
if [ "$(id -u)" -eq 0 ]; then
  PGUSER_OS=postgres
  id -u postgres >/dev/null 2>&1 || PGUSER_OS=nobody
  RUN=(runuser -u "$PGUSER_OS" --)
fi

PGTMP=$(mktemp -d "${TMPDIR:-/tmp}/guanxi-pg.XXXXXX")
[ ${#RUN[@]} -gt 0 ] && chown "$PGUSER_OS" "$PGTMP"
chmod 700 "$PGTMP"
PGDATA="$PGTMP/data"
as_pg() { (cd "$PGTMP" && "${RUN[@]}" "$@"); }

cleanup() {
  as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_pg "$BINDIR/initdb" -D "$PGDATA" -U guanxi --auth=trust --locale=C.UTF-8 -E UTF8 \
  >"$PGTMP/initdb.log" 2>&1 || { cat "$PGTMP/initdb.log" >&2; skip "initdb failed."; }
# Tuned for a throw-away test server: no durability, all in one place.
as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -l "$PGTMP/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
  start >/dev/null || { cat "$PGTMP/server.log" >&2; skip "the PostgreSQL server did not start."; }
"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U guanxi guanxi || skip "createdb failed."

VERSION=$("$BINDIR/postgres" --version | awk '{print $3}')
echo "PostgreSQL $VERSION running on 127.0.0.1:$PORT (cluster in $PGTMP)" >&2
export DATABASE_URL="postgres://guanxi@127.0.0.1:$PORT/guanxi"
export GUANXI_PG_BINDIR="$BINDIR"
"$@"
