#!/usr/bin/env bash
# Browser tests of the dashboard. Builds frontend/, starts local stand-ins for
# the Telegram Bot API, an OpenAI-compatible API and a webhook receiver
# (frontend/e2e/standins.mjs)
# and the local runner (DynamoDB Local, local-kms, the API and the built
# dashboard) on free loopback ports with a throw-away state directory, drives
# Debian's headless Chromium through frontend/e2e/journey.mjs with
# playwright-core, and stops everything it started on exit, whatever happened.
#
#   bash scripts/e2e.sh            # screenshots land in frontend/test-results/screenshots/
#   E2E_KEEP=1 bash scripts/e2e.sh # keep the state dir and runner log for a look
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf 'e2e: %s\n' "$*" >&2; }

# Debian's Chromium; a test tool's own browser download cannot work here.
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  log "installing chromium with apt"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# npm ci whenever the lockfile differs from the one last installed.
(
  cd frontend
  if ! cmp -s package-lock.json node_modules/.installed-lock.json 2>/dev/null; then
    log "npm ci"
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
  npm run build
)

./scripts/install-tools.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-e2e.XXXXXX")
runner_pid=
standins_pid=
cleanup() {
  local rc=$?
  if [ -n "$standins_pid" ]; then kill "$standins_pid" 2>/dev/null || true; fi
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    # The runner leads its own process group (setsid): TERM lets it stop its
    # emulators; anything left after 15 s is killed with the group.
    kill -TERM -- "-$runner_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$runner_pid" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ -f "$tmp/runner.log" ]; then
    log "runner log (last 40 lines):"
    tail -n 40 "$tmp/runner.log" >&2 || true
  fi
  # Said last, so that the end of a CI log names the failure, not the runner's requests.
  if [ "$rc" != 0 ] && [ -s "$tmp/journey.out" ]; then
    log "the journey failed; its output without the passed steps:"
    grep -v '^  ✓ ' "$tmp/journey.out" | tail -n 40 >&2 || true
  fi
  if [ -n "${E2E_KEEP:-}" ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building the local runner"
go build -o "$tmp/gatehouse-local" ./infra/local/cmd/gatehouse-local

# Three free loopback ports: API, DynamoDB Local, local-kms.
read -r port ddb_port kms_port < <(node -e '
  const net = require("node:net");
  Promise.all([0, 1, 2].map(() => new Promise((ok, ko) => {
    const s = net.createServer().once("error", ko);
    s.listen(0, "127.0.0.1", () => ok(s));
  }))).then((ss) => { console.log(ss.map((s) => s.address().port).join(" ")); ss.forEach((s) => s.close()); });
')

node frontend/e2e/standins.mjs >"$tmp/standins.out" 2>&1 &
standins_pid=$!
for _ in $(seq 1 50); do grep -q '^telegram=' "$tmp/standins.out" 2>/dev/null && break; sleep 0.1; done
read -r telegram_url openai_url receiver_url < <(sed -n 's/^telegram=\(\S*\) openai=\(\S*\) receiver=\(\S*\)$/\1 \2 \3/p' "$tmp/standins.out")
if [ -z "${receiver_url:-}" ]; then log "the stand-ins did not start:"; cat "$tmp/standins.out" >&2; exit 1; fi
log "stand-ins: Telegram Bot API $telegram_url, OpenAI-compatible API $openai_url, webhook receiver $receiver_url"

log "starting the runner on 127.0.0.1:$port (DynamoDB Local :$ddb_port, local-kms :$kms_port)"
GATEHOUSE_STATE_DIR="$tmp/state" PORT=$port GATEHOUSE_DYNAMODB_PORT=$ddb_port GATEHOUSE_KMS_PORT=$kms_port \
  GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true TELEGRAM_API_BASE_URL=$telegram_url \
  setsid "$tmp/gatehouse-local" serve >"$tmp/runner.log" 2>&1 &
runner_pid=$!

base="http://127.0.0.1:$port"
deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null "$base/config.json" 2>/dev/null; do
  if ! kill -0 "$runner_pid" 2>/dev/null; then log "the runner exited before it was ready"; exit 1; fi
  if [ $SECONDS -ge $deadline ]; then log "the runner was not ready within 120 s"; exit 1; fi
  sleep 0.5
done
if ! curl -fsS "$base/" | grep -q '<div id="app">'; then
  log "the runner does not serve the dashboard from frontend/dist"; exit 1
fi
log "runner ready after ${SECONDS}s total"

# The journey runs one health sweep mid-way (make health against this
# runner's emulators), as the schedule would every five minutes.
export HEALTH_SWEEP_CMD="env GATEHOUSE_STATE_DIR=$tmp/state PORT=$port GATEHOUSE_DYNAMODB_PORT=$ddb_port GATEHOUSE_KMS_PORT=$kms_port GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true TELEGRAM_API_BASE_URL=$telegram_url $tmp/gatehouse-local health"

start=$(date +%s%N)
BASE_URL=$base AI_BASE_URL=$openai_url TELEGRAM_STANDIN_URL=$telegram_url RECEIVER_URL=$receiver_url node frontend/e2e/journey.mjs 2>&1 | tee "$tmp/journey.out"
end=$(date +%s%N)
log "journey passed in $(( (end - start) / 1000000 )) ms; screenshots in frontend/test-results/screenshots/"
