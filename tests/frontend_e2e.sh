#!/usr/bin/env bash
# End to end: the frontend (workspace member reqtrack-frontend) over real HTTP, with clients
# nobody here wrote.
#
#  1. bad flags and a busy port: one line on stderr, exit status 2;
#  2. the README's main command (built-in load, shortened): exit 0, in-flight and queued 0 at
#     the end;
#  3. `--serve` on a loopback port, then the official `openai` Python package (in a venv) sends
#     a streaming and a non-streaming chat request with the nvext opt-in (tests/openai_client.py);
#  4. curl: a non-streaming request's Server-Timing header; a stream's Server-Timing trailer
#     (`TE: trailers`, read with `curl --raw`); a `curl -N` stream cut off mid-way,
#     whose cancel must show in /metrics (requests_total{error_type="cancelled"},
#     disconnected_clients) with nothing left in flight;
#  5. `promtool check metrics` on a scrape (no format error; no lint finding but Dynamo's own
#     `tokenizer_latency_ms` name);
#  6. a real Prometheus server scrapes /metrics while curl sends traffic, and
#     histogram_quantile(0.5, sum by (le) (rate(…time_to_first_token_seconds_bucket[30s])))
#     must return a number through its HTTP API;
#  7. traces: a second frontend with `--otlp-endpoint` exports to tests/otlp_receiver.py (OTLP/HTTP
#     protobuf decoded by the official `opentelemetry-proto` package; no Collector or Jaeger is
#     installable here), and tests/otlp_check.py sends chat requests with the `openai` client,
#     each with its own `traceparent`, and checks each request's root, phase spans, parent ids
#     and that every duration equals the nvext.timing figure the client read.
#
# Installs what is missing with apt-get (prometheus for promtool + prometheus, curl,
# python3-venv) and pip (openai and opentelemetry-proto, into target/e2e-venv). Everything on 127.0.0.1, every loop
# bounded, every process stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=reqtrack-sim
VENV=target/e2e-venv
PASSED=0

pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*"; echo "frontend e2e: $PASSED passed, 1 failed"; exit 1; }

apt_install() {
  echo "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; python3 -m venv "$VENV"; }
fi
"$VENV/bin/python" -c 'import openai' 2>/dev/null || "$VENV/bin/pip" install -q openai
"$VENV/bin/python" -c 'import opentelemetry.proto' 2>/dev/null || "$VENV/bin/pip" install -q opentelemetry-proto
echo "openai $("$VENV/bin/python" -c 'import openai; print(openai.__version__)')"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -p reqtrack-frontend
FRONTEND=./target/release/reqtrack-frontend

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Sum of the samples of metric $1 whose label sets contain every `key="value"` given after it.
metric() {
  python3 -c '
import re, sys
name, wanted = sys.argv[1], sys.argv[2:]
total = 0.0
for line in sys.stdin:
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)", line)
    if m and m.group(1) == name and all(w in (m.group(2) or "") for w in wanted):
        total += float(m.group(3))
print(int(total) if total.is_integer() else total)' "$@"
}
fetch() { curl -fsS --max-time 5 "$@"; }

# ---- 1. usage errors ---------------------------------------------------------------------------
expect_usage_error() {
  local rc=0
  "$FRONTEND" "$@" >/dev/null 2>"$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "frontend $* exited $rc, expected 2"
  [ "$(wc -l <"$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "frontend $* printed more than one line"; }
  pass "frontend $*: exit 2, $(cat "$WORK/err")"
}
BUSY_PORT=$(free_port)
expect_usage_error --qps abc
expect_usage_error --no-such-flag
expect_usage_error --serve --otlp-endpoint localhost:4318
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$BUSY_PORT" &
BLOCKER=$!
sleep 0.5
expect_usage_error --serve --listen "127.0.0.1:$BUSY_PORT"
kill "$BLOCKER"; wait "$BLOCKER" 2>/dev/null || true

# ---- 2. the main command, shortened ------------------------------------------------------------
LOAD_PORT=$(free_port)
rc=0
timeout 120 "$FRONTEND" --duration 3 --qps 50 --listen "127.0.0.1:$LOAD_PORT" --json \
  >"$WORK/load.out" 2>"$WORK/load.err" || rc=$?
cat "$WORK/load.out"
[ "$rc" -eq 0 ] || { cat "$WORK/load.err"; fail "the built-in load exited $rc"; }
grep -Eq '^in-flight at the end +0$' "$WORK/load.out" || fail "in-flight not 0 after the built-in load"
grep -Eq '^queued at the end +0$' "$WORK/load.out" || fail "queued not 0 after the built-in load"
pass "built-in load: exit 0, in-flight and queued 0 at the end"

# ---- 3. the official openai client -------------------------------------------------------------
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
"$FRONTEND" --serve --model "$MODEL" --listen "127.0.0.1:$PORT" 2>"$WORK/serve.err" &
PIDS+=($!)
for _ in $(seq 1 50); do fetch "$BASE/health" >/dev/null 2>&1 && break; sleep 0.2; done
fetch "$BASE/health" >/dev/null || fail "the frontend did not come up"

"$VENV/bin/python" tests/openai_client.py --base-url "$BASE/v1" --model "$MODEL" ||
  fail "the openai client's checks"
pass "openai client: streaming + non-streaming chat with nvext timing and worker_id"

# ---- 4. curl: Server-Timing, and a stream cut mid-way ------------------------------------------
fetch -D "$WORK/headers" -o /dev/null "$BASE/v1/chat/completions" -H 'content-type: application/json' \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16}"
SERVER_TIMING=$(grep -i '^server-timing:' "$WORK/headers" | tr -d '\r')
[ -n "$SERVER_TIMING" ] || fail "no Server-Timing header"
echo "$SERVER_TIMING"
pass "non-streaming response carries Server-Timing"

curl -sS --raw --max-time 10 -H 'TE: trailers' "$BASE/v1/chat/completions" -H 'content-type: application/json' \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,\"max_tokens\":8}" \
  >"$WORK/trailer.txt" || fail "the streamed request with TE: trailers"
grep -q '\[DONE\]' "$WORK/trailer.txt" || fail "the stream with TE: trailers did not finish"
TRAILER=$(tr -d '\r' <"$WORK/trailer.txt" | sed -n '/^0$/,$p' | grep -i '^server-timing: .*total;dur=' || true)
[ -n "$TRAILER" ] || { tail -c 400 "$WORK/trailer.txt"; fail "no Server-Timing trailer after the last chunk"; }
echo "$TRAILER"
pass "streamed response with TE: trailers ends with a Server-Timing trailer"

fetch "$BASE/metrics" >"$WORK/before.txt"
cancelled_before=$(metric dynamo_frontend_requests_total 'status="error"' 'error_type="cancelled"' <"$WORK/before.txt")
disconnected_before=$(metric dynamo_frontend_disconnected_clients <"$WORK/before.txt")
rc=0
curl -sN --max-time 1 "$BASE/v1/chat/completions" -H 'content-type: application/json' \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"a long answer\"}],\"stream\":true,\"max_tokens\":8000,\"ignore_eos\":true}" \
  >"$WORK/cut.txt" || rc=$?
[ "$rc" -eq 28 ] || fail "curl -N should have been cut by its timeout (exit 28), exited $rc"
chunks=$(grep -c '^data: {' "$WORK/cut.txt" || true)
[ "$chunks" -gt 0 ] || fail "the cut stream carried no chunk"
grep -q '\[DONE\]' "$WORK/cut.txt" && fail "the cut stream should not have finished"
for _ in $(seq 1 50); do
  fetch "$BASE/metrics" >"$WORK/after.txt"
  cancelled=$(metric dynamo_frontend_requests_total 'status="error"' 'error_type="cancelled"' <"$WORK/after.txt")
  disconnected=$(metric dynamo_frontend_disconnected_clients <"$WORK/after.txt")
  inflight=$(metric dynamo_frontend_inflight_requests <"$WORK/after.txt")
  [ "$cancelled" -gt "$cancelled_before" ] && [ "$disconnected" -gt "$disconnected_before" ] && [ "$inflight" -eq 0 ] && break
  sleep 0.1
done
grep -E '^dynamo_frontend_(requests_total\{.*error_type="cancelled"\} [1-9]|disconnected_clients |inflight_requests\{)' "$WORK/after.txt"
[ "$cancelled" -gt "$cancelled_before" ] || fail "the cut stream is not counted as cancelled"
[ "$disconnected" -gt "$disconnected_before" ] || fail "disconnected_clients did not move"
[ "$inflight" -eq 0 ] || fail "requests still in flight after the cut"
pass "curl -N cut after $chunks chunks: cancelled in requests_total, disconnected_clients $disconnected, in-flight 0"

# ---- 5. promtool ------------------------------------------------------------------------------
# Exit 1 is a format error: always a failure. Exit 3 is lint findings: accepted only when each
# is about a name Dynamo itself exports (kept as is for compatibility).
KNOWN_LINT='^dynamo_frontend_tokenizer_latency_ms metric names should not contain abbreviated units$'
fetch "$BASE/metrics" >"$WORK/scrape.txt"
rc=0
promtool check metrics <"$WORK/scrape.txt" >"$WORK/lint.txt" 2>&1 || rc=$?
cat "$WORK/lint.txt"
case "$rc" in
  0) ;;
  3) if grep -Ev "$KNOWN_LINT" "$WORK/lint.txt" | grep -q .; then
       fail "promtool check metrics: lint findings beyond Dynamo's own names"
     fi ;;
  *) fail "promtool check metrics exited $rc" ;;
esac
pass "promtool check metrics ($(grep -c '^dynamo_frontend' "$WORK/scrape.txt") dynamo_frontend samples, promtool exit $rc)"

# ---- 6. a real Prometheus ---------------------------------------------------------------------
( # Background traffic for the rate() window: bounded in count and time.
  for _ in $(seq 1 300); do
    curl -s --max-time 5 "$BASE/v1/chat/completions" -H 'content-type: application/json' \
      -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"traffic\"}],\"stream\":true,\"max_tokens\":8}" >/dev/null || true
    sleep 0.1
  done
) &
PIDS+=($!)
PROM_PORT=$(free_port)
sed "s/FRONTEND_TARGET/127.0.0.1:$PORT/" tests/prometheus.yml >"$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml" >/dev/null
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
QUERY='histogram_quantile(0.5, sum by (le) (rate(dynamo_frontend_time_to_first_token_seconds_bucket[30s])))'
value=""
for _ in $(seq 1 60); do
  sleep 1
  out=$(curl -fsS --max-time 2 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$QUERY" 2>/dev/null) || continue
  value=$(printf '%s' "$out" | python3 -c '
import json, math, sys
r = json.load(sys.stdin)["data"]["result"]
v = float(r[0]["value"][1]) if r else float("nan")
print("" if math.isnan(v) else v)')
  [ -n "$value" ] && break
done
echo "prometheus query: $QUERY"
echo "prometheus result: $out"
[ -n "$value" ] || { tail -20 "$WORK/prometheus.log"; fail "the TTFT median query returned no number"; }
pass "Prometheus: median TTFT over 30 s = $value s"

# ---- 7. traces over OTLP/HTTP -------------------------------------------------------------------
"$VENV/bin/python" tests/otlp_receiver.py --port-file "$WORK/otlp.port" --out "$WORK/spans.jsonl" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$WORK/otlp.port" ] && break; sleep 0.1; done
[ -s "$WORK/otlp.port" ] || fail "the OTLP receiver did not come up"
TRACED_PORT=$(free_port)
TRACED="http://127.0.0.1:$TRACED_PORT"
OTEL_BSP_SCHEDULE_DELAY=200 "$FRONTEND" --serve --model "$MODEL" --listen "127.0.0.1:$TRACED_PORT" \
  --otlp-endpoint "http://127.0.0.1:$(cat "$WORK/otlp.port")/v1/traces" 2>"$WORK/traced.err" &
PIDS+=($!)
for _ in $(seq 1 50); do fetch "$TRACED/health" >/dev/null 2>&1 && break; sleep 0.2; done
fetch "$TRACED/health" >/dev/null || fail "the traced frontend did not come up"
"$VENV/bin/python" tests/otlp_check.py --base-url "$TRACED/v1" --model "$MODEL" \
  --spans "$WORK/spans.jsonl" --show "$WORK/trace.json" || fail "the OTLP trace checks"
pass "OTLP traces: root + queue/prefill/kv_transfer/decode per request, parent = traceparent, durations = nvext.timing"

echo "frontend e2e: $PASSED passed, 0 failed"
