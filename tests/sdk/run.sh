#!/usr/bin/env bash
# Runs Segment's official SDKs (Node: @segment/analytics-node, Python: segment-analytics-python)
# against a real `intent serve` and checks the profiles they make; then checks intent's webhooks
# with the official Standard Webhooks library (Python: standardwebhooks).
#
#   bash tests/sdk/run.sh target/debug/intent
#
# Starts the server on a free loopback port with a fresh data folder and plans/showroom.yaml,
# makes a write key and an admin token, runs node_sdk.mjs and python_sdk.py with INTENT_URL,
# INTENT_WRITE_KEY and INTENT_ADMIN_TOKEN, and stops the server on exit. Exits non-zero when
# either SDK test fails. Needs node (>= 18) with npm, and python3 with `segment-analytics-python`
# installed (`pip install segment-analytics-python`); PYTHON picks another interpreter.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <path-to-intent-binary>" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$1"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
if [ ! -x "$bin" ]; then
  echo "sdk: no executable intent binary at $bin (build it: cargo build -p intent-cli)" >&2
  exit 2
fi
python="${PYTHON:-python3}"

die() {
  echo "sdk: $*" >&2
  exit 2
}

# --- tools ------------------------------------------------------------------------------------
command -v node >/dev/null || die "node is not installed (the Node SDK test needs node >= 18)"
command -v npm >/dev/null || die "npm is not installed"
command -v curl >/dev/null || die "curl is not installed"
command -v "$python" >/dev/null || die "$python is not installed"
"$python" -c 'import segment.analytics' 2>/dev/null ||
  die "the Python SDK is missing: $python -m pip install segment-analytics-python"
"$python" -c 'import standardwebhooks' 2>/dev/null ||
  die "the Standard Webhooks library is missing: $python -m pip install standardwebhooks"
if [ ! -d "$here/node_modules/@segment/analytics-node" ]; then
  echo "sdk: installing the Node SDK (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $here"
fi

# --- server -----------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/intent-sdk.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data="$work/data"
write_key="$("$bin" keys create --data "$data" --kind write --name website 2>"$work/keys.err")" ||
  { cat "$work/keys.err" >&2; die "could not make a write key"; }
admin_token="$("$bin" keys create --data "$data" --kind admin --name ops 2>>"$work/keys.err")" ||
  { cat "$work/keys.err" >&2; die "could not make an admin token"; }

server_log() {
  echo "--- intent serve stderr (last 40 lines) ---" >&2
  tail -n 40 "$work/server.err" >&2
}

INTENT_LOG=warn "$bin" serve --data "$data" --listen 127.0.0.1:0 --plan "$root/plans/showroom.yaml" \
  >"$work/server.out" 2>"$work/server.err" </dev/null &
server_pid=$!

url=""
for _ in $(seq 300); do
  url="$(sed -n '1s/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$work/server.out" 2>/dev/null)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { server_log; die "intent serve exited before listening"; }
  sleep 0.1
done
[ -n "$url" ] || { server_log; die "intent serve printed no 'listening on' line in 30 s"; }

ready=""
for _ in $(seq 300); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; then
    ready=1
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { server_log; die "intent serve exited before it was ready"; }
  sleep 0.1
done
[ -n "$ready" ] || { server_log; die "$url/readyz did not answer 200 in 30 s"; }
echo "sdk: intent serve is ready at $url" >&2

export INTENT_URL="$url" INTENT_WRITE_KEY="$write_key" INTENT_ADMIN_TOKEN="$admin_token"

# --- the tests --------------------------------------------------------------------------------
passed=0
failed=0
summaries=()
run_one() {
  local id="$1" name="$2"
  shift 2
  local out="$work/$id.out" started ended rc
  started=$(date +%s)
  (cd "$here" && timeout 180 "$@") >"$out" 2>&1
  rc=$?
  ended=$(date +%s)
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    summaries+=("PASS $name ($((ended - started)) s): $(tail -n 1 "$out")")
  else
    failed=$((failed + 1))
    echo "--- $name output (exit $rc) ---" >&2
    cat "$out" >&2
    summaries+=("FAIL $name ($((ended - started)) s, exit $rc): $(grep -m1 'FAIL\|Error\|error' "$out" || tail -n 1 "$out")")
  fi
}

node_sdk_version="$(cd "$here" && node -p 'require("@segment/analytics-node/package.json").version' 2>/dev/null)"
python_sdk_version="$("$python" -c 'from segment.analytics.version import VERSION; print(VERSION)' 2>/dev/null)"
run_one node "node @segment/analytics-node@${node_sdk_version}" node node_sdk.mjs
run_one python "python segment-analytics-python==${python_sdk_version}" "$python" python_sdk.py
swh_version="$("$python" -c 'import importlib.metadata as m; print(m.version("standardwebhooks"))' 2>/dev/null)"
run_one webhooks "python standardwebhooks==${swh_version} verifies intent's webhooks" "$python" standard_webhooks.py

if [ $failed -gt 0 ]; then
  server_log
fi
for s in "${summaries[@]}"; do
  echo "$s"
done
echo "sdk: $passed passed, $failed failed"
[ $failed -eq 0 ]
