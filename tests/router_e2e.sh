#!/usr/bin/env bash
# End to end: the router example under load, scraped by a real Prometheus server.
#
# Starts `examples/router` on a free loopback port, starts Prometheus (Debian's package,
# installed when missing) scraping it every second, and asserts through Prometheus's HTTP query
# API that dynamo_frontend_worker_last_time_to_first_token_seconds has a series for every
# simulated prefill worker. Runs `promtool check metrics` on a scrape. Everything on 127.0.0.1,
# bounded in time, cleaned up on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFILL_WORKERS=3
DURATION=12

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "installing Debian's prometheus package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --example router
ROUTER=./target/release/examples/router

# Bad flags and a busy port: one line on stderr, exit status 2.
expect_usage_error() {
  local rc=0
  "$ROUTER" "$@" >/dev/null 2>"$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL: router $* exited $rc, expected 2"; exit 1; }
  [ "$(wc -l <"$WORK/err")" -eq 1 ] || { echo "FAIL: router $* printed more than one line:"; cat "$WORK/err"; exit 1; }
  echo "router $*: exit 2, $(cat "$WORK/err")"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
ROUTER_PORT=$(free_port)
PROM_PORT=$(free_port)

expect_usage_error --qps abc
expect_usage_error --no-such-flag
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$ROUTER_PORT" &
BLOCKER=$!
sleep 0.5
expect_usage_error --duration 1 --listen "127.0.0.1:$ROUTER_PORT"
kill "$BLOCKER"; wait "$BLOCKER" 2>/dev/null || true

"$ROUTER" --duration "$DURATION" --qps 500 \
  --prefill-workers "$PREFILL_WORKERS" --decode-workers 2 \
  --listen "127.0.0.1:$ROUTER_PORT" >"$WORK/router.out" 2>"$WORK/router.err" &
PIDS+=($!)

fetch() { curl -fsS --max-time 2 "$1"; }

for _ in $(seq 1 50); do
  fetch "http://127.0.0.1:$ROUTER_PORT/metrics" >/dev/null 2>&1 && break
  sleep 0.2
done
fetch "http://127.0.0.1:$ROUTER_PORT/metrics" >/dev/null

sed "s/ROUTER_TARGET/127.0.0.1:$ROUTER_PORT/" tests/prometheus.yml >"$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml" >/dev/null
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

QUERY='count by (worker_id) (dynamo_frontend_worker_last_time_to_first_token_seconds)'
series=0
for _ in $(seq 1 60); do
  sleep 1
  if out=$(curl -fsS --max-time 2 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
      --data-urlencode "query=$QUERY" 2>/dev/null); then
    series=$(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')
    [ "$series" -ge "$PREFILL_WORKERS" ] && break
  fi
done
echo "prometheus query: $QUERY"
curl -fsS -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
  --data-urlencode 'query=dynamo_frontend_worker_last_time_to_first_token_seconds' |
  python3 -c 'import json,sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]
    print("  {}{{worker_id={},dp_rank={},worker_type={}}} {}".format(m["__name__"], m["worker_id"], m["dp_rank"], m["worker_type"], r["value"][1]))'
if [ "$series" -lt "$PREFILL_WORKERS" ]; then
  echo "FAIL: expected a TTFT series for each of $PREFILL_WORKERS prefill workers, got $series"
  tail -20 "$WORK/prometheus.log"
  exit 1
fi

fetch "http://127.0.0.1:$ROUTER_PORT/metrics" >"$WORK/scrape.txt"
promtool check metrics <"$WORK/scrape.txt"
echo "promtool check metrics: ok ($(grep -c '^dynamo_frontend' "$WORK/scrape.txt") dynamo series)"

wait "${PIDS[0]}"
router_rc=$?
cat "$WORK/router.out"
[ "$router_rc" -eq 0 ] || { echo "FAIL: router exited $router_rc"; exit 1; }
echo "router e2e: 1 passed, 0 failed"
