#!/usr/bin/env bash
# What tracking costs the server, as users pay it: the frontend's own seeded load with
# `--tracking on` and `--tracking off` in alternation, ROUNDS rounds, compared in instructions
# (and cycles, where counted) per completed request.
#
#   benches/frontend_cost.sh [ROUNDS]          (ROUNDS default 3)
#
# Environment: QPS (default 20), SHORT and LONG (seconds of load, default 3 and 6), SEED
# (default 42), BIN (default ./target/release/reqtrack-frontend; build it first with
# `cargo build --release -p reqtrack-frontend`), COUNTER (perf | callgrind; default: perf where
# `perf stat -e instructions` counts, callgrind otherwise).
#
# Each mode runs twice per round, for SHORT and for LONG seconds of the same seeded load, and
# the marginal cost per request is (count(LONG) - count(SHORT)) / (requests(LONG) -
# requests(SHORT)): start-up, the recorder's build and the shutdown cancel out. Requests are
# the completed ones (any status) from the summary's `requests_done=` line.
#
# Counters: `perf stat -e instructions,cycles` (hardware counters: steady where wall time is
# not, on a shared machine). Where the kernel or the VM does not expose them (`<not
# supported>`), `valgrind --tool=callgrind` counts instructions executed (Ir; repeatable,
# instructions not time, no cycles); the process is ~50x slower there, hence the low QPS.
# The server runs alone under the counter and the load from a second process (`--target`): the
# share is of the server's instructions. (Until round four the clients ran inside the counted
# process, and their `nvext` parsing made up most of the difference.)
set -euo pipefail

ROUNDS=${1:-3}
QPS=${QPS:-20}
SHORT=${SHORT:-3}
LONG=${LONG:-6}
SEED=${SEED:-42}
BIN=${BIN:-./target/release/reqtrack-frontend}
PORT=$((20000 + $$ % 20000))

if [[ ! -x $BIN ]]; then
    echo "error: $BIN missing: cargo build --release -p reqtrack-frontend" >&2
    exit 2
fi
if [[ -z ${COUNTER:-} ]]; then
    if command -v perf >/dev/null &&
        perf stat -x, -e instructions true 2>&1 >/dev/null | grep -q '^[0-9]'; then
        COUNTER=perf
    else
        COUNTER=callgrind
    fi
fi
case $COUNTER in
perf) echo "counter: perf stat -e instructions,cycles (hardware counters)" ;;
callgrind) echo "counter: valgrind --tool=callgrind, Ir (perf stat: instructions <not supported> here)" ;;
*)
    echo "error: COUNTER must be perf or callgrind" >&2
    exit 2
    ;;
esac
echo "load: --qps $QPS --seed $SEED, --duration $SHORT and $LONG, $ROUNDS rounds, on/off alternating"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run MODE DURATION -> "requests instructions cycles" (cycles "-" under callgrind)
#
# The server (`--serve --tracking MODE`) runs alone under the counter; the load runs in a
# second, uncounted process (`--target`), so the count is the server's: the clients' parsing
# of `nvext` and their HTTP work are not in it.
run() {
    local mode=$1 duration=$2 out=$tmp/out err=$tmp/err serr=$tmp/serr
    local serve=(--listen "127.0.0.1:$PORT" --serve --seed "$SEED" --tracking "$mode")
    local load=(--target "http://127.0.0.1:$PORT" --qps "$QPS" --duration "$duration"
        --seed "$SEED" --tracking "$mode")
    # Counting starts once the server answers: its start-up (the exporter's TSC calibration
    # alone is ~13 M instructions, and varies with wall time) is not counted.
    rm -f "$tmp/ctl" "$tmp/ack"
    if [[ $COUNTER == perf ]]; then
        mkfifo "$tmp/ctl" "$tmp/ack"
        exec 8<>"$tmp/ctl" 9<>"$tmp/ack"
        perf stat -x, -e instructions,cycles -D -1 --control fd:8,9 -o "$tmp/perf" \
            -- "$BIN" "${serve[@]}" 2>"$serr" &
    else
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
            "$BIN" "${serve[@]}" 2>"$serr" &
    fi
    local pid=$!
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    if [[ $COUNTER == perf ]]; then
        echo enable >&8
        read -r -t 5 _ <&9 || true
    else
        callgrind_control -i on "$pid" >/dev/null 2>&1
    fi
    "$BIN" "${load[@]}" >"$out" 2>"$err" || {
        echo "error: the load ($mode, $duration s) failed; its stderr:" >&2
        tail -5 "$err" >&2
        kill "$pid" 2>/dev/null
        exit 1
    }
    # SIGTERM to the server itself: under perf, the counted child (perf then prints its
    # counts); under valgrind, the valgrind process is the server.
    if [[ $COUNTER == perf ]]; then
        pkill -TERM -f -- "^$BIN --listen 127.0.0.1:$PORT --serve" || true
    else
        kill -TERM "$pid" 2>/dev/null || true
    fi
    wait "$pid" || true
    [[ $COUNTER == perf ]] && exec 8>&- 9>&-
    local ins cyc=-
    if [[ $COUNTER == perf ]]; then
        ins=$(awk -F, '$3 ~ /^instructions/ {print $1}' "$tmp/perf")
        cyc=$(awk -F, '$3 ~ /^cycles/ {print $1}' "$tmp/perf")
    else
        ins=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$serr")
    fi
    local req
    req=$(sed -n 's/.*requests_done=\([0-9]*\).*/\1/p' "$out")
    if [[ -z $req || -z $ins ]]; then
        echo "error: run $mode $duration s gave no figures; the server's stderr:" >&2
        tail -5 "$serr" >&2
        exit 1
    fi
    echo "$req $ins $cyc"
}

printf '%-6s %-4s %9s %9s %16s %16s %14s %14s\n' round mode req_short req_long \
    ins_short ins_long ins_per_req cyc_per_req
for ((r = 1; r <= ROUNDS; r++)); do
    # Alternate which mode goes first, so a drift in machine load falls on both.
    if ((r % 2)); then modes=(on off); else modes=(off on); fi
    for mode in "${modes[@]}"; do
        short=$(run "$mode" "$SHORT")
        long=$(run "$mode" "$LONG")
        read -r rs is cs <<<"$short"
        read -r rl il cl <<<"$long"
        if ((rl <= rs)); then
            echo "error: $mode: no more requests in $LONG s than in $SHORT s" >&2
            exit 1
        fi
        per=$(((il - is) / (rl - rs)))
        cper=-
        [[ $cs != - && $cl != - ]] && cper=$(((cl - cs) / (rl - rs)))
        printf '%-6s %-4s %9d %9d %16d %16d %14d %14s\n' "$r" "$mode" "$rs" "$rl" "$is" "$il" \
            "$per" "$cper"
        echo "$mode $per $cper $((il - is)) $((rl - rs))" >>"$tmp/per"
    done
done

# Medians over the rounds, and tracking's share of the instructions per request.
awk '
function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
    n[$1]++; ins[$1, n[$1]] = $2; if ($3 != "-") { nc[$1]++; cyc[$1, nc[$1]] = $3 }
    dins[$1] += $4; dreq[$1] += $5
}
END {
    for (m in n) {
        delete a; for (i = 1; i <= n[m]; i++) a[i] = ins[m, i]; med[m] = median(a, n[m])
        printf "%s: instructions per request min %.0f, median %.0f, max %.0f; pooled over rounds %.0f\n",
            m, a[1], med[m], a[n[m]], dins[m] / dreq[m]
    }
    for (m in nc) { delete a; for (i = 1; i <= nc[m]; i++) a[i] = cyc[m, i]; cmed[m] = median(a, nc[m]) }
    printf "\nmedian instructions per request: on %.0f, off %.0f; tracking: %.0f per request, %.2f%% of on\n",
        med["on"], med["off"], med["on"] - med["off"], 100 * (med["on"] - med["off"]) / med["on"]
    pon = dins["on"] / dreq["on"]; poff = dins["off"] / dreq["off"]
    printf "pooled: tracking %.0f instructions per request, %.2f%% of on\n", pon - poff, 100 * (pon - poff) / pon
    if (("on" in cmed) && ("off" in cmed))
        printf "median cycles per request: on %.0f, off %.0f; tracking: %.2f%% of on\n",
            cmed["on"], cmed["off"], 100 * (cmed["on"] - cmed["off"]) / cmed["on"]
}' "$tmp/per"
