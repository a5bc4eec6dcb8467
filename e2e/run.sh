#!/usr/bin/env bash
# End-to-end: Segment's browser SDK (@segment/analytics-next) in headless Chromium against a real
# `intent serve`, from a kiosk page on another origin.
#
#   bash e2e/run.sh target/debug/intent
#
# Installs the npm packages (npm ci) when node_modules is missing, checks for Chromium, and runs
# browser_sdk.mjs, which starts the server (fresh data folder, keys, plans/showroom.yaml), a
# static server for the page, and Chromium through playwright-core; it stops all three on exit.
# Needs node (>= 18) with npm and Debian's Chromium at /usr/bin/chromium (CHROMIUM picks another).
# Writes e2e/screenshots/browser-sdk.png. Exits with the test's status.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <path-to-intent-binary>" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$1"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac

die() {
  echo "e2e: $*" >&2
  exit 2
}

[ -x "$bin" ] || die "no executable intent binary at $bin (build it: cargo build -p intent-cli)"
command -v node >/dev/null || die "node is not installed (the browser test needs node >= 18)"
command -v npm >/dev/null || die "npm is not installed"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || die "no Chromium at $chromium: apt-get install chromium (or set CHROMIUM)"
export CHROMIUM="$chromium"

if [ ! -d "$here/node_modules/@segment/analytics-next" ] || [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "e2e: installing @segment/analytics-next and playwright-core (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $here"
fi

(cd "$here" && timeout 120 node browser_sdk.mjs "$bin")
rc=$?
if [ $rc -eq 0 ]; then
  echo "e2e: browser SDK passed"
else
  [ $rc -eq 124 ] && echo "e2e: browser_sdk.mjs timed out after 120 s" >&2
  echo "e2e: browser SDK FAILED (exit $rc)" >&2
fi
exit $rc
