#!/usr/bin/env python3
"""Reads a vigie warehouse with an independent Delta reader: the Python `deltalake` package
(delta-rs's Python binding) for the transaction log and PyArrow's C++ Parquet reader for the
data. Prints JSON on stdout:

    {"reader": "...", "tables": {"<table>": <rows>, ...},
     "indicator_results": [{"indicator": ..., "period_start": "YYYY-MM-DD", "org_unit": ...,
                            "stratum_dimension": ..., "stratum_value": ..., "value": ...,
                            "suppressed": true|false}, ...]}

Used by the ignored test `interop::an_independent_reader_sees_the_same_rows_and_values`
(tests/it/interop.rs), which `.ci/run` runs after `pip install deltalake pyarrow`.

Every table is read at its latest version, as any outside tool would. Note that
`indicator_results` holds the unsuppressed numbers: outside tools must not publish from it
(see the README, "Reading the warehouse with other tools").
"""

import json
import os
import sys

try:
    import deltalake
    import pyarrow  # noqa: F401  (to_pyarrow_table needs it)
except ImportError as e:  # fail loudly: the test must not pass without its reader
    sys.exit(f"missing Python package: {e.name}; run `pip install deltalake pyarrow`")


def delta_tables(root):
    """Directories holding a `_delta_log/`, at the root or one folder below."""
    found = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            continue
        if os.path.isdir(os.path.join(path, "_delta_log")):
            found.append(name)
            continue
        for sub in sorted(os.listdir(path)):
            if os.path.isdir(os.path.join(path, sub, "_delta_log")):
                found.append(f"{name}/{sub}")
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: read_delta.py WAREHOUSE_DIR")
    root = sys.argv[1]
    tables = {}
    results = []
    for name in delta_tables(root):
        table = deltalake.DeltaTable(os.path.join(root, name)).to_pyarrow_table()
        tables[name] = table.num_rows
        if name == "indicator_results":
            columns = [
                "indicator",
                "period_start",
                "org_unit",
                "stratum_dimension",
                "stratum_value",
                "value",
                "suppressed",
            ]
            for row in table.select(columns).to_pylist():
                row["period_start"] = row["period_start"].isoformat()
                results.append(row)
    print(
        json.dumps(
            {
                "reader": f"deltalake {deltalake.__version__}, pyarrow {pyarrow.__version__}",
                "tables": tables,
                "indicator_results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
    # delta-rs's runtime threads and PyArrow's thread pools are torn down in no fixed order at
    # interpreter exit, which aborts now and then with "terminate called without an active
    # exception" after the output is complete (delta-io/delta-rs#2184). Everything is printed
    # and flushed: leave without running those destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
