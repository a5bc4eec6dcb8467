#!/usr/bin/env bash
# End-to-end, in headless Chromium against a real `intent serve`:
# 1. browser_sdk.mjs: Segment's browser SDK (@segment/analytics-next) from a kiosk page on another
#    origin;
# 2. dashboard.mjs: the web dashboard (login, the live queue, a profile, claiming and completing a
#    task, funnel, learnings, plan editor, Polish, Server-Timing).
#
#   bash e2e/run.sh target/debug/intent
#
# Installs the npm packages (npm ci) when node_modules is missing, checks for Chromium, and runs
# both tests, one after the other, even when the first fails. Each starts its own server (fresh
# data folder, keys, plans/showroom.yaml, a free loopback port) and Chromium through
# playwright-core, and stops them on exit; browser_sdk.mjs also serves the kiosk page, and
# dashboard.mjs sends the server 30 days of generated history (`intent gen | intent send`).
# Needs node (>= 18) with npm and Debian's Chromium at /usr/bin/chromium (CHROMIUM picks another).
# Writes e2e/screenshots/browser-sdk.png and e2e/screenshots/dashboard-*.png. Prints
# `e2e: browser SDK passed` and `e2e: dashboard passed` (or `… FAILED (exit N)`); exits 0 when
# both passed, else with the first failed test's status.
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

(cd "$here" && timeout 180 node dashboard.mjs "$bin")
rc_dash=$?
if [ $rc_dash -eq 0 ]; then
  echo "e2e: dashboard passed"
else
  [ $rc_dash -eq 124 ] && echo "e2e: dashboard.mjs timed out after 180 s" >&2
  echo "e2e: dashboard FAILED (exit $rc_dash)" >&2
fi

[ $rc -ne 0 ] && exit $rc
exit $rc_dash
