//! The warehouse read by an independent Delta reader (Python `deltalake` for the log, PyArrow's
//! C++ Parquet reader for the data, through tests/interop/read_delta.py) after several loads, a
//! compute and a maintenance run: it finds the same tables and row counts as vigie's own
//! reading, and the same values as the disclosure gate publishes, every suppressed row flagged.

use std::collections::BTreeMap;
use std::process::Command;

use vigie_warehouse::{SessionOptions, Warehouse};

use crate::common::*;
use crate::maintain::{filled, published, vigie};

/// What the Python reader printed.
struct Read {
    reader: String,
    tables: BTreeMap<String, i64>,
    indicator_results: Vec<ResultRow>,
}

struct ResultRow {
    key: String,
    value: Option<f64>,
    suppressed: bool,
}

fn parse(json: &[u8]) -> Read {
    let v: serde_json::Value = serde_json::from_slice(json).expect("the reader's JSON");
    let text = |row: &serde_json::Value, k: &str| {
        row[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {row}"))
            .to_string()
    };
    let tables = v["tables"]
        .as_object()
        .expect("tables")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_i64().expect("a row count")))
        .collect();
    let indicator_results = v["indicator_results"]
        .as_array()
        .expect("indicator_results")
        .iter()
        .map(|row| ResultRow {
            key: format!(
                "{} {} {} {}={}",
                text(row, "indicator"),
                text(row, "period_start"),
                text(row, "org_unit"),
                text(row, "stratum_dimension"),
                text(row, "stratum_value")
            ),
            value: row["value"].as_f64(),
            suppressed: row["suppressed"].as_bool().expect("suppressed"),
        })
        .collect();
    Read {
        reader: text(&v, "reader"),
        tables,
        indicator_results,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python deltalake and pyarrow (pip install deltalake pyarrow): cargo test --workspace -- --ignored (.ci/run does)"]
async fn an_independent_reader_sees_the_same_rows_and_values() {
    let f = filled(300, 152).await;
    let wh = &f.warehouse;
    // Outside tools meet maintained tables: compacted, vacuumed, with retention properties.
    let out = vigie(
        &["maintain", "--retention-hours", "0", "--force"],
        &f.pipeline,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let script = repo().join("tests/interop/read_delta.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(wh)
        .output()
        .expect("python3 must be installed");
    assert!(
        out.status.success(),
        "the independent reader failed (is `pip install deltalake pyarrow` done?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = parse(&out.stdout);
    eprintln!("independent reader: {}", read.reader);

    // The same tables...
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
    let tables = warehouse.delta_tables().await.expect("tables");
    assert_eq!(
        read.tables.keys().cloned().collect::<Vec<_>>(),
        tables,
        "both readers find the same Delta tables"
    );
    // ...with the same rows as vigie's own consistent snapshot.
    let snapshot = warehouse.snapshot(None).await.expect("snapshot");
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await
        .expect("session");
    let mut compared = Vec::new();
    for (table, rows) in &read.tables {
        let name = table.rsplit('/').next().unwrap_or(table);
        if !ctx.table_exist(name).expect("catalogue") {
            continue;
        }
        let ours = count(wh, &format!("SELECT count(*) FROM {name}")).await;
        assert_eq!(*rows, ours, "rows of {table}");
        compared.push(name.to_string());
    }
    for needed in [
        "person",
        "ed_visit",
        "admission",
        "enrolment",
        "survey_response",
        "load_manifest",
        "indicator_results",
    ] {
        assert!(
            compared.iter().any(|c| c == needed),
            "{needed} compared: {compared:?}"
        );
    }
    assert!(read.tables["ed_visit"] > 0 && read.tables["person"] > 0);

    // The published values: every cell the gate publishes has the value the outside reader
    // finds, and every row the table flags as suppressed is published without a value.
    let gate = published(wh).await;
    assert_eq!(
        read.indicator_results.len(),
        gate.len(),
        "one row per result"
    );
    let (mut same, mut suppressed) = (0, 0);
    for r in &read.indicator_results {
        let key = &r.key;
        let published = gate
            .get(key)
            .unwrap_or_else(|| panic!("{key} not published"));
        if r.suppressed {
            assert_eq!(*published, None, "{key}: a suppressed row carries no value");
            suppressed += 1;
        } else {
            match (published, r.value) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                    "{key}: {a} vs {b}"
                ),
                (a, b) => assert_eq!(*a, b, "{key}"),
            }
            same += 1;
        }
    }
    assert!(
        same > 0 && suppressed > 0,
        "{same} published, {suppressed} suppressed"
    );
}
