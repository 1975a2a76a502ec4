#!/usr/bin/env bash
# The whole test run behind `make test` (the virtual environment is ready):
#   1. system packages the tests need (Chromium + a CJK font, PostgreSQL), one apt run
#   2. translations compiled, migrations checked (makemigrations --check)
#   3. the whole suite on SQLite, browser tests included
#   4. the whole suite again on a real PostgreSQL server (browser tests left out)
# and a summary saying plainly which runs happened. Under CI=true a skipped
# PostgreSQL or browser run is a failure. Extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PYTEST=("$VENV/bin/pytest" -q -rfEs --durations=5)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/guanxi-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export GUANXI_DATA_DIR="$WORK/var"   # never touch the real ./var
unset DATABASE_URL
T0=$(date +%s)
FAILED=0
declare -a SUMMARY=()

note() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# pytest's closing numbers from its JUnit XML: "N passed, N failed, N skipped".
counts() {
  "$PY" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("no result - - -"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
browser = sum(1 for s in suites for c in s.iter("testcase")
              if "tests.browser" in c.get("classname", "") and c.find("skipped") is None
              and c.find("failure") is None and c.find("error") is None)
print(tests - failed - skipped, failed, skipped, browser)
EOF
}
TOTAL_P=0; TOTAL_F=0; TOTAL_S=0
# "N passed, N failed, N skipped (N browser tests passed)", and add to the totals.
describe() {
  local p f s b
  read -r p f s b <<<"$(counts "$1")"
  if [ "$p" = "no" ]; then echo "no result"; return; fi
  TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + s))
  echo "$p passed, $f failed, $s skipped ($b browser tests passed)"
}

# Run pytest; exit code 5 (no tests collected) is a failure, never a pass.
run_pytest() {
  local name=$1 xml=$2; shift 2
  local t0 rc
  t0=$(date +%s)
  "$@" --junitxml="$xml"
  rc=$?
  if [ $rc -eq 5 ]; then
    echo "*** $name: pytest collected no tests — that is a failure." >&2
  fi
  local what
  describe "$xml" >"$WORK/what"
  what=$(cat "$WORK/what")
  SUMMARY+=("$name: $( [ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") — $what in $(elapsed "$t0")")
  [ $rc -eq 0 ] || FAILED=1
}

note "System packages for the tests"
need=()
[ -x "${GUANXI_CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  scripts/apt-install.sh "${need[@]}" || echo "Could not install ${need[*]}; the runs that need them are skipped (or fail under CI)."
else
  echo "Chromium, a Chinese font and PostgreSQL are installed."
fi
CHROMIUM_OK=1
[ -x "${GUANXI_CHROMIUM:-/usr/bin/chromium}" ] || CHROMIUM_OK=0

note "Translations and migrations"
if ls src/guanxi/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then
  "$VENV/bin/guanxi" manage compiletranslations --verbosity 0 || FAILED=1
else
  echo "No translation catalogs yet."
fi
if "$VENV/bin/guanxi" manage makemigrations --check --dry-run; then
  SUMMARY+=("Migrations: complete (makemigrations --check)")
else
  echo "*** Models changed without a migration: run 'guanxi manage makemigrations'." >&2
  SUMMARY+=("Migrations: MISSING (makemigrations --check failed)")
  FAILED=1
fi

note "Test suite on SQLite (browser tests included)"
run_pytest "SQLite run" "$WORK/sqlite.xml" "${PYTEST[@]}" "$@"
if [ $CHROMIUM_OK -eq 0 ]; then
  SUMMARY+=("Browser tests: SKIPPED — Chromium is not installed and could not be installed$( [ "${CI:-}" = true ] && echo ' (a failure under CI=true)')")
fi

note "Test suite on PostgreSQL (browser tests left out)"
PG_SKIPPED="$WORK/pg-skipped"
t0=$(date +%s)
GUANXI_PG_SKIPPED_FILE="$PG_SKIPPED" scripts/with-postgres.sh \
  "${PYTEST[@]}" -m "not browser" --junitxml="$WORK/pg.xml" "$@"
rc=$?
if [ -f "$PG_SKIPPED" ]; then
  SUMMARY+=("PostgreSQL run: SKIPPED — $(cat "$PG_SKIPPED")$( [ "${CI:-}" = true ] && echo ' (a failure under CI=true)')")
  [ $rc -eq 0 ] || FAILED=1
else
  [ $rc -eq 5 ] && echo "*** PostgreSQL run: pytest collected no tests — that is a failure." >&2
  describe "$WORK/pg.xml" >"$WORK/what"
  what=$(cat "$WORK/what")
  SUMMARY+=("PostgreSQL run: $( [ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") — $what in $(elapsed "$t0")")
  [ $rc -eq 0 ] || FAILED=1
fi

note "Summary ($(elapsed "$T0") in all)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo
if [ $FAILED -ne 0 ]; then
  echo "make test: FAILED"
  echo "tests: $TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
  exit 1
fi
echo "make test: all runs passed"
echo "tests: $TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
