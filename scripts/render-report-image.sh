#!/usr/bin/env bash
# Renders the README image of the feedback report: runs the demo if its warehouse is missing,
# renders team T01's feedback report in French, and screenshots its first screen with headless
# Chromium (Debian: `apt-get install -y chromium`) to docs/images/feedback-report.png.
#
#   scripts/render-report-image.sh [TEAM] [PERIOD]
set -euo pipefail
cd "$(dirname "$0")/.."

team="${1:-T01}"
period="${2:-2025Q3}"
out=docs/images/feedback-report.png

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "chromium is not installed: apt-get install -y chromium" >&2
  exit 1
fi

cargo build -q
if [ ! -d demo/warehouse/indicator_results ]; then
  ./target/debug/vigie demo
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
./target/debug/vigie report feedback --pipeline pipelines/demo.yaml --team "$team" \
  --period "$period" --lang fr --out "$work/feedback.html"

mkdir -p docs/images
# The first screen: the three key figures, the peer comparison of the ED change and the funnel.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/profile" --hide-scrollbars --window-size=1000,1400 \
  --screenshot="$work/shot.png" "file://$work/feedback.html" 2>/dev/null
mv "$work/shot.png" "$out"
size=$(stat -c %s "$out")
echo "$out: $size bytes"
if [ "$size" -ge 409600 ]; then
  echo "warning: $out is over 400 KB" >&2
fi
