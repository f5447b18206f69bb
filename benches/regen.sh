#!/usr/bin/env bash
# Regenerates the README's performance section (between the perf:begin / perf:end markers) and
# the chart benches/perf.svg from ONE bench run. Run it on a quiet machine, nothing else
# running; it takes about 20 minutes on 2 cores.
#
#   bash benches/regen.sh            # the run the README reports
#   bash benches/regen.sh --quick    # a pipeline check (short measurements: figures are noise)
#
# Needs cargo, python3 (standard library only) and gnuplot (Debian's gnuplot-nox, installed
# here with apt-get when missing). Raw outputs stay under target/perf/ and target/criterion/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
  CRITERION=(--warm-up-time 0.2 --measurement-time 0.5 --noplot)
  TAIL=(--quick)
  NOTE=(--note "A --quick pipeline check (0.5 s per benchmark): these figures are not measurements; regenerate them with bash benches/regen.sh on a quiet machine.")
else
  CRITERION=(--warm-up-time 1 --measurement-time 3 --noplot)
  TAIL=()
  NOTE=()
fi

if ! command -v gnuplot >/dev/null; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gnuplot-nox
fi

OUT=target/perf
# One run: no estimates left over from an earlier one.
rm -rf target/criterion "$OUT"
mkdir -p "$OUT"
cargo bench --no-run --bench ops --bench lifecycle --bench gauges --bench contention \
  --bench tail --bench size

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cargo bench --bench ops --bench lifecycle --bench gauges --bench contention -- "${CRITERION[@]}"
cargo bench --bench tail -- "${TAIL[@]}" --json "$OUT/tail.json"
cargo bench --bench size | tee "$OUT/size.txt"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

CPU=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
python3 - "$OUT/meta.json" "$CPU" "$(nproc)" "$(rustc -V)" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import datetime, json, sys
path, cpu, cores, rustc, before, after = sys.argv[1:]
json.dump({"cpu": cpu, "cores": cores, "rustc": rustc, "date": datetime.date.today().isoformat(),
           "load_before": before, "load_after": after}, open(path, "w"))
PY

python3 benches/report.py --readme README.md --chart-data "$OUT/chart.dat" \
  --tail "$OUT/tail.json" --size "$OUT/size.txt" --meta "$OUT/meta.json" "${NOTE[@]}"
gnuplot -e "data='$OUT/chart.dat'; out='benches/perf.svg'" benches/perf.gp
echo "regenerated README.md (performance section) and benches/perf.svg; review with git diff"
