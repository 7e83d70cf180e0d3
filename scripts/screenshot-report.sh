#!/usr/bin/env bash
# Takes a screenshot of a report page in headless Chromium (Debian's
# chromium package: apt-get install chromium).
#   scripts/screenshot-report.sh snnkit-tutorial/report.html report.png [width] [height]
set -euo pipefail
page=${1:?usage: $0 REPORT.html OUT.png [width] [height]}
out=${2:?usage: $0 REPORT.html OUT.png [width] [height]}
width=${3:-1100}
height=${4:-4200}
chromium=${SNNKIT_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ]; then
  echo "chromium not found: apt-get install chromium (or set SNNKIT_CHROMIUM)" >&2
  exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
outabs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$width,$height" \
  --virtual-time-budget=5000 --screenshot="$outabs" "file://$abs" 2>/dev/null
echo "wrote $out"
