#!/usr/bin/env python3
"""Turn the results of benches/province.sh into Markdown: figures, vigie/DuckDB ratios and
the performance targets of the province-scale issue, each marked met or not.

    benches/summarise.py RESULTS_DIR
"""
import json
import statistics
import sys
from pathlib import Path

# The targets of issue 14 ("ahead of DuckDB on every step, in bounded memory").
TARGET_ROWS_PER_S = 1_000_000
TARGET_LOAD_VS_DUCKDB = 0.5
TARGET_INDICATOR_VS_DUCKDB = 0.8
TARGET_FULL_REFRESH_S = 90.0  # at province scale
PROVINCE_PERSONS = 15_000_000  # benches/province.sh province
TARGET_PEAK_MIB = 3072
TARGET_WEEKLY_SHARE = 0.05


def load_json(path: Path):
    if not path.is_file():
        sys.exit(f"{path}: missing (did benches/province.sh finish?)")
    return json.loads(path.read_text())


def timed(results: Path, step: str) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of a step, from /usr/bin/time."""
    wall, kib = (results / f"{step}.time").read_text().split()[-2:]
    return float(wall), int(kib) / 1024


def mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = Path(sys.argv[1])
    env = dict(
        line.split("=", 1) for line in (results / "machine.env").read_text().splitlines() if "=" in line
    )
    ingest = load_json(results / "ingest.json")
    compute = load_json(results / "compute.json")
    dload = load_json(results / "duckdb-load.json")
    dind = load_json(results / "duckdb-indicators.json")
    wingest = load_json(results / "weekly-ingest.json")
    wcompute = load_json(results / "weekly-compute.json")
    steps = {s: timed(results, s) for s in
             ["synth", "ingest", "compute", "duckdb-load", "duckdb-indicators", "weekly-ingest", "weekly-compute"]}
    persons = int(env["persons"])
    out = []
    p = out.append
    p(f"### {persons:,} persons — {env['cores']} cores, {env['memory_gib']} GiB, {env['cpu']}; "
      f"{env['rustc']}; DuckDB {env['duckdb']}")
    p("")

    # Ingest, per source.
    per_source: dict[str, dict] = {}
    for f in ingest["files"]:
        s = per_source.setdefault(f["source"], {"files": 0, "rows": 0, "bytes": 0, "parse": 0.0})
        s["files"] += 1
        s["rows"] += f["rows_read"]
        s["bytes"] += f["bytes"]
        s["parse"] += f["parse_seconds"]
    rows = sum(s["rows"] for s in per_source.values())
    nbytes = sum(s["bytes"] for s in per_source.values())
    ingest_s, ingest_mib = steps["ingest"]
    dload_s, dload_mib = steps["duckdb-load"]
    p("Load of the extracts (CSV -> validated, pseudonymised, zstd Parquet):")
    p("")
    p("| source | files | rows | MB | vigie parse+validate+hash, one core | DuckDB, 2 threads | rows agree |")
    p("|---|---|---|---|---|---|---|")
    for src, s in sorted(per_source.items()):
        d = dload.get("load", {}).get(src, {})
        rate = s["rows"] / s["parse"] if s["parse"] else 0
        drate = d.get("rows_per_s", 0)
        agree = d.get("check", {}).get("pass")
        p(f"| {src} | {s['files']} | {s['rows']:,} | {s['bytes'] / 1e6:,.0f} | "
          f"{s['parse']:.1f} s ({rate:,.0f} rows/s) | {d.get('seconds', float('nan')):.1f} s ({drate:,.0f} rows/s) | "
          f"{'yes' if agree else '**NO**'} |")
    p("")
    p("| step | wall | peak RSS | rows/s | MB/s | vigie / DuckDB |")
    p("|---|---|---|---|---|---|")
    p(f"| vigie ingest (Delta commits, manifest, quarantine) | {ingest_s:.1f} s | {ingest_mib:,.0f} MiB | "
      f"{rows / ingest_s:,.0f} | {nbytes / ingest_s / 1e6:.1f} | {ingest_s / dload_s:.2f} |")
    p(f"| DuckDB load (same rows, Parquet files) | {dload_s:.1f} s | {dload_mib:,.0f} MiB | "
      f"{rows / dload_s:,.0f} | {nbytes / dload_s / 1e6:.1f} | |")
    p("")

    # Catalogue.
    compute_s, compute_mib = steps["compute"]
    dind_s, dind_mib = steps["duckdb-indicators"]
    p(f"Catalogue: vigie computes {len(compute['indicators'])} indicators in {compute['total_seconds']:.1f} s "
      f"(process {compute_s:.1f} s, peak {compute_mib:,.0f} MiB; program evaluation and case finding "
      f"{compute['evaluation_seconds']:.1f} s of it). Headline indicators side by side (vigie: SQL, "
      f"intervals, SPC inputs; DuckDB: the same SQL cells only):")
    p("")
    # The headline passes (benches/province.sh): the catalogue's and DuckDB's first, then
    # the alternating repeats, when the run made them (results of older runs have none).
    vigie_passes = [compute] + [load_json(f) for f in sorted(results.glob("catalogue-*.json"))]
    duckdb_passes = [dind] + [load_json(f) for f in sorted(results.glob("duckdb-headline-*.json"))]
    p(f"Median of {len(vigie_passes)} pass(es) per engine, alternating (each pass's seconds in brackets):")
    p("")
    p("| indicator | vigie | DuckDB | vigie / DuckDB | same numbers |")
    p("|---|---|---|---|---|")
    ratios = {}
    checks_ok = True
    for dpass in duckdb_passes:
        checks_ok &= all(d.get("check", {}).get("pass", False) for d in dpass.get("indicators", {}).values())
    for ind in sorted(dind.get("indicators", {})):
        ok = all(dp.get("indicators", {}).get(ind, {}).get("check", {}).get("pass", False) for dp in duckdb_passes)
        v_runs = [vp["indicators"][ind]["seconds"] for vp in vigie_passes if ind in vp.get("indicators", {})]
        d_runs = [dp["indicators"][ind]["seconds"] for dp in duckdb_passes if ind in dp.get("indicators", {})]
        if not v_runs or not d_runs:
            continue
        v, d = statistics.median(v_runs), statistics.median(d_runs)
        ratios[ind] = v / d if d else float("inf")
        p(f"| {ind} | {v:.2f} s ({', '.join(f'{x:.2f}' for x in v_runs)}) | "
          f"{d:.2f} s ({', '.join(f'{x:.2f}' for x in d_runs)}) | {ratios[ind]:.2f} | {'yes' if ok else '**NO**'} |")
    p(f"| DuckDB process, all six (peak {dind_mib:,.0f} MiB) | | {dind_s:.1f} s | | |")
    p("")
    others = sorted(compute["indicators"].items(), key=lambda kv: -kv[1]["seconds"])
    p("Every indicator (vigie, seconds): " + ", ".join(f"{k} {v['seconds']:.2f}" for k, v in others))
    p("")

    # Weekly refresh.
    wi_s, wi_mib = steps["weekly-ingest"]
    wc_s, wc_mib = steps["weekly-compute"]
    wrows = sum(f["rows_read"] for f in wingest["files"])
    full = ingest_s + compute_s
    weekly = wi_s + wc_s
    p(f"Weekly refresh (the complete last-month hospital files land: {len(wingest['files'])} file(s), "
      f"{wrows:,} rows, {len(wingest['skipped'])} unchanged files skipped): ingest {wi_s:.1f} s "
      f"(peak {wi_mib:,.0f} MiB), compute of the affected month {wc_s:.1f} s (peak {wc_mib:,.0f} MiB).")
    p("")

    # Targets.
    repeat_mib = [timed(results, f.stem)[1] for f in results.glob("catalogue-*.time")]
    peak = max([ingest_mib, compute_mib, wi_mib, wc_mib] + repeat_mib)
    slowest = max(ratios.items(), key=lambda kv: kv[1]) if ratios else ("-", float("nan"))
    p("| target | measured | |")
    p("|---|---|---|")
    p(f"| ingest >= 1M rows/s | {rows / ingest_s:,.0f} rows/s | {mark(rows / ingest_s >= TARGET_ROWS_PER_S)} |")
    p(f"| ingest <= 0.5 of DuckDB's load | {ingest_s / dload_s:.2f} | "
      f"{mark(ingest_s / dload_s <= TARGET_LOAD_VS_DUCKDB)} |")
    p(f"| each headline indicator <= 0.8 of DuckDB | worst {slowest[0]} {slowest[1]:.2f} | "
      f"{mark(all(r <= TARGET_INDICATOR_VS_DUCKDB for r in ratios.values()))} |")
    p(f"| full refresh (ingest + catalogue) < 90 s at province scale | {full:.1f} s | "
      f"{mark(full < TARGET_FULL_REFRESH_S) if persons == PROVINCE_PERSONS else 'n/a: a province-scale target'} |")
    p(f"| peak memory < 3 GiB | {peak:,.0f} MiB | {mark(peak < TARGET_PEAK_MIB)} |")
    p(f"| weekly refresh < 5% of full | {weekly:.1f} s = {weekly / full:.1%} | "
      f"{mark(weekly / full < TARGET_WEEKLY_SHARE)} |")
    # Growth with scale: compare these across quick, province and national runs.
    mrows = rows / 1e6
    p(f"| time per million rows (ingest / compute / full) | {ingest_s / mrows:.2f} s / "
      f"{compute_s / mrows:.2f} s / {full / mrows:.2f} s | for the scale comparison |")
    p(f"| both engines give the same numbers | loads and {len(dind.get('indicators', {}))} indicators | "
      f"{'yes' if checks_ok and dload.get('all_checks_pass', True) else '**NO**'} |")
    print("\n".join(out))
    if not (checks_ok and dload.get("all_checks_pass", True)):
        sys.exit("vigie and DuckDB disagree: see the checks above")


if __name__ == "__main__":
    main()
