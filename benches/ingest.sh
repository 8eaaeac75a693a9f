#!/usr/bin/env bash
# Ingest benchmark (not a timed test): a synthetic region with about 1M ED visits, loaded by
# a release build of vigie; prints rows/s, MB/s and peak resident memory of each step.
#
#   benches/ingest.sh [persons] [workdir]
#
# 900,000 persons over 36 months give about 1.0M ED visits (plus 0.25M admissions, 0.9M
# registry rows, surveys and enrolments). Record the figures in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-900000}
work=${2:-$(mktemp -d /tmp/vigie-bench.XXXXXX)}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --bin vigie >/dev/null
vigie="$target/release/vigie"
rm -rf "$work/landing" "$work/warehouse"

measure() { # label, command...
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log.time" "$@" >"$log" 2>"$log.err" || { cat "$log.err"; exit 1; }
  read -r secs kib <"$log.time"
  echo "$label|$secs|$kib|$log"
}

echo "machine: $(nproc) cores, $(free -g | awk 'NR==2{print $2}') GiB; $(rustc --version)"
IFS='|' read -r _ synth_s synth_kib _ < <(measure synth "$vigie" synth --out "$work/landing" --persons "$persons")
bytes=$(du -sb "$work/landing" | cut -f1)
IFS='|' read -r _ ingest_s ingest_kib ingest_log < <(measure ingest env RUST_LOG=warn "$vigie" ingest pipelines/demo.yaml --landing "$work/landing" --warehouse "$work/warehouse")
rows=$(grep -o 'rows read [0-9]*' "$ingest_log" | grep -o '[0-9]*$')
ed=$("$vigie" query pipelines/demo.yaml --warehouse "$work/warehouse" "SELECT count(*) AS n FROM ed_visit" | grep -o '[0-9]\+' | tail -1)
IFS='|' read -r _ compute_s compute_kib _ < <(measure compute env RUST_LOG=warn "$vigie" compute pipelines/demo.yaml --warehouse "$work/warehouse")

python3 - "$persons" "$synth_s" "$synth_kib" "$bytes" "$ingest_s" "$ingest_kib" "$rows" "$ed" "$compute_s" "$compute_kib" <<'PY'
import sys
p, ss, sk, b, is_, ik, rows, ed, cs, ck = sys.argv[1:]
ss, is_, cs = float(ss), float(is_), float(cs)
print(f"persons            {int(p):>12,}")
print(f"ED visits loaded   {int(ed):>12,}")
print(f"synth              {ss:>8.1f} s   peak {int(sk)/1024:>7.0f} MiB")
print(f"ingest             {is_:>8.1f} s   peak {int(ik)/1024:>7.0f} MiB   "
      f"{int(rows)/is_:>10,.0f} rows/s   {int(b)/is_/1e6:>6.1f} MB/s   ({int(rows):,} rows, {int(b)/1e6:,.0f} MB)")
print(f"compute catalogue  {cs:>8.1f} s   peak {int(ck)/1024:>7.0f} MiB")
PY
echo "workdir: $work"
