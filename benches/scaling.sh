#!/usr/bin/env bash
# The contention benches at 2, 4, 8 and 16 threads (or the counts given), one table out:
# all writers (every thread tokens + chunk reads + router writes) and one stream with N - 1
# readers, reqtrack vs the reference, ns per token. Meant for a machine with 16 cores; on
# fewer, the larger counts oversubscribe and say so in the table.
#
#   bash benches/scaling.sh                 # 2,4,8,16
#   bash benches/scaling.sh 2,4             # chosen counts
#   QUICK=1 bash benches/scaling.sh         # short measurements (a pipeline check)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS="${1:-2,4,8,16}"
if [[ -n "${QUICK:-}" ]]; then
  CRITERION=(--warm-up-time 0.2 --measurement-time 0.5 --noplot)
else
  CRITERION=(--warm-up-time 1 --measurement-time 3 --noplot)
fi
# Only the groups this script reports, so a stale group cannot slip in.
rm -rf target/criterion/all_writers_* target/criterion/stream_with_*
REQTRACK_BENCH_THREADS="$COUNTS" cargo bench --bench contention -- "${CRITERION[@]}" \
  'all_writers_|stream_with_'
python3 - "$COUNTS" "$(nproc)" <<'PY'
import json, os, sys
counts = [int(c) for c in sys.argv[1].split(",")]
cores = int(sys.argv[2])
root = os.path.join("target", "criterion")

def mean(group, name):
    try:
        with open(os.path.join(root, group, name, "new", "estimates.json")) as f:
            return json.load(f)["mean"]["point_estimate"]
    except OSError:
        return None

def cell(ours, theirs):
    if not ours or not theirs:
        return "- | - | -"
    return f"{ours:.1f} | {theirs:.1f} | {theirs / ours:.2f}x"

print(f"contention scaling on {cores} cores (ns per token; ratio = reference / reqtrack)\n")
print("| threads | all writers: reqtrack | reference | ratio | 1 stream + N-1 readers: reqtrack | reference | ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for n in counts:
    aw = f"all_writers_{n}_threads"
    sr = f"stream_with_{n - 1}_readers"
    note = " (oversubscribed)" if n > cores else ""
    print(f"| {n}{note} | {cell(mean(aw, 'reqtrack'), mean(aw, 'reference'))} | "
          f"{cell(mean(sr, 'reqtrack'), mean(sr, 'reference'))} |")
PY
