#!/usr/bin/env bash
# Make sure Debian's Chromium (and a font for Chinese text in screenshots) is installed.
# Exit 0 when /usr/bin/chromium is there, 1 when it is missing and cannot be installed.
set -uo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${GUANXI_CHROMIUM:-/usr/bin/chromium}
need=()
[ -x "$CHROMIUM" ] || need+=(chromium)
if ! { command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; }; then
  need+=(fonts-noto-cjk)
fi
if [ ${#need[@]} -gt 0 ]; then
  scripts/apt-install.sh "${need[@]}" || true
fi
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "ensure-chromium: $CHROMIUM is missing and could not be installed (needs root: apt-get install chromium)." >&2
exit 1
