#!/usr/bin/env bash
# Install Debian packages if we may (root or password-less sudo): one `apt-get update`,
# then `apt-get install`, waiting for another apt/dpkg run to finish instead of failing.
# Exit status 0 when installed, 1 when they cannot be installed here.
set -uo pipefail
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "apt-install: not root and no password-less sudo; cannot install: $*" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: this is not a Debian/Ubuntu system; cannot install: $*" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
LOCK=(-o DPkg::Lock::Timeout=900)
echo "apt-install: installing $* (Debian packages)…" >&2
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! "${SUDO[@]}" apt-get "${LOCK[@]}" update -q >"$LOG" 2>&1; then
  cat "$LOG" >&2; echo "apt-install: apt-get update failed" >&2; exit 1
fi
if ! "${SUDO[@]}" apt-get "${LOCK[@]}" install -y -q --no-install-recommends "$@" >"$LOG" 2>&1; then
  cat "$LOG" >&2; echo "apt-install: apt-get install $* failed" >&2; exit 1
fi
echo "apt-install: installed $*" >&2
