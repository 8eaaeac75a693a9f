#!/usr/bin/env bash
# Province-scale benchmark, side by side with DuckDB, in one run (not a timed test).
#
#   benches/province.sh [quick|province|national|PERSONS] [WORKDIR]
#
#   quick     1,000,000 persons  (about 2.6M rows, 150 MB of extracts; a few minutes)
#   province 15,000,000 persons  (about 39M rows, 2.2 GB of extracts; about a quarter of an hour)
#   national 40,000,000 persons  (about 104M rows, 6.3 GB of extracts; about 35 minutes, 20 GB of disk)
#
# VIGIE_BIN=path runs that binary instead of building the `profiling` profile first.
#
# Steps, each timed with its peak resident memory (/usr/bin/time):
#   1. vigie synth: 36 months of extracts in the five partner layouts; the last month of the
#      two hospital extracts is cut at day 24 (month to date), the complete files kept aside
#      for the weekly refresh (benches/weekly.py).
#   2. vigie ingest of the landing zone (full load), then vigie compute of the catalogue.
#   3. DuckDB (Python package): the equivalent CSV -> zstd Parquet load (parse, validate
#      types, hash identifiers), then the headline indicators' SQL over the same Parquet
#      files vigie wrote, checked against vigie's results (benches/duckdb_bench.py). Both
#      are then run twice more, alternating, on a copy of the warehouse (vigie's whole
#      catalogue, DuckDB's headline queries): the summary compares medians.
#   4. Weekly refresh: the complete last-month files land (one more week of data completing
#      the month); vigie ingest, then vigie compute of the affected month only.
# benches/summarise.py prints the figures, the vigie/DuckDB ratios and the targets as
# Markdown (also written to WORKDIR/results/summary.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-quick}
case $scale in
  quick) persons=1000000 ;;
  province) persons=15000000 ;;
  national) persons=40000000 ;;
  *[!0-9]*|'') echo "usage: $0 [quick|province|national|PERSONS] [WORKDIR]" >&2; exit 2 ;;
  *) persons=$scale ;;
esac
work=${2:-/tmp/vigie-bench-$persons}
target=${CARGO_TARGET_DIR:-target}
python3 -c 'import duckdb' 2>/dev/null || { echo "DuckDB's Python package is needed: pip install duckdb" >&2; exit 2; }

if [ -n "${VIGIE_BIN:-}" ]; then
  vigie=$VIGIE_BIN
else
  cargo build --profile profiling --bin vigie >&2
  vigie="$target/profiling/vigie"
fi
rm -rf "$work"
mkdir -p "$work/results"
results="$work/results"
pipeline=pipelines/benchmark.yaml
start=2023-01
months=36
last_month=202512 # the last of the 36 months from 2023-01

measure() { # step command...: stdout and stderr to results/step.{out,err}, time to step.time
  local step=$1 rc=0; shift
  echo "== $step" >&2
  /usr/bin/time -f '%e %M' -o "$results/$step.time" "$@" >"$results/$step.out" 2>"$results/$step.err" || rc=$?
  # duckdb_bench.py exits 1 when the engines disagree: the summary reports it, loudly.
  if [ "$rc" -ne 0 ] && ! { [[ $step == duckdb-* ]] && [ "$rc" -eq 1 ]; }; then
    tail -20 "$results/$step.err" >&2
    echo "step $step failed (see $results/$step.err)" >&2
    exit 1
  fi
}

{
  echo "persons=$persons"
  echo "cores=$(nproc)"
  echo "memory_gib=$(free -g | awk 'NR==2{print $2}')"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "rustc=$(rustc --version)"
  echo "duckdb=$(python3 -c 'import duckdb; print(duckdb.__version__)')"
} >"$results/machine.env"

# The benchmark pipeline loads the five partner sources measured since the first runs: the
# care pathway's extracts (contacts, referrals) are left out so that figures stay comparable.
measure synth "$vigie" synth --out "$work/landing" --persons "$persons" --start "$start" --months "$months" \
  $(if "$vigie" synth --help | grep -q without-pathway; then echo --without-pathway; fi)
python3 benches/weekly.py "$work/landing" "$work/weekly" "$last_month" >"$results/weekly-split.out"
du -sb "$work/landing" | cut -f1 >"$results/landing.bytes"

export RUST_LOG=warn
measure ingest "$vigie" ingest "$pipeline" --landing "$work/landing" --warehouse "$work/warehouse" \
  --report-json "$results/ingest.json"
measure compute "$vigie" compute "$pipeline" --warehouse "$work/warehouse" \
  --report-json "$results/compute.json"

measure duckdb-load python3 benches/duckdb_bench.py --only load --pipeline "$pipeline" --landing "$work/landing" \
  --warehouse "$work/warehouse" --scratch "$work/duckdb" --out "$results/duckdb-load.json"
measure duckdb-indicators python3 benches/duckdb_bench.py --only indicators --pipeline "$pipeline" --landing "$work/landing" \
  --warehouse "$work/warehouse" --out "$results/duckdb-indicators.json"

# Single timings of a query move by 10-30% from run to run on the standard machine, more
# than the 0.8 target's margin: the catalogue and DuckDB's headline queries run twice more,
# alternating, and the summary compares each engine's median of the three. The repeats run
# the whole catalogue, as the first pass: a process computing only the six headline
# indicators meets fresh memory the catalogue's process has already touched, and took up
# to 1.7 times as long for the same query. They use a copy of the warehouse so that the
# weekly refresh below meets the warehouse as the first pass left it: hard links, as its
# files are only ever added, renamed and deleted — but for the writer lock's file, written
# in place, which the copy gets its own of.
cp -al "$work/warehouse" "$work/warehouse-repeats"
rm -f "$work/warehouse-repeats/_vigie_writer.lock"
for pass in 2 3; do
  measure "catalogue-$pass" "$vigie" compute "$pipeline" --warehouse "$work/warehouse-repeats" \
    --report-json "$results/catalogue-$pass.json"
  measure "duckdb-headline-$pass" python3 benches/duckdb_bench.py --only indicators --pipeline "$pipeline" \
    --landing "$work/landing" --warehouse "$work/warehouse-repeats" --out "$results/duckdb-headline-$pass.json"
done
rm -rf "$work/warehouse-repeats"

cp -r "$work/weekly/." "$work/landing/"
measure weekly-ingest "$vigie" ingest "$pipeline" --landing "$work/landing" --warehouse "$work/warehouse" \
  --report-json "$results/weekly-ingest.json"
measure weekly-compute "$vigie" compute "$pipeline" --warehouse "$work/warehouse" \
  --from "${last_month:0:4}-${last_month:4:2}" --report-json "$results/weekly-compute.json"

python3 benches/summarise.py "$results" | tee "$results/summary.md"
