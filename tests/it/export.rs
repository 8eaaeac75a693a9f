//! A pipeline kept outside the repository, run with the binary's built-in catalogue; the
//! gated export read back (CSV, Parquet, JSON); `vigie query` read-only, restricted by default
//! and audited in steward mode; `vigie catalogue`.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{copy_instruments, repo, synth};

fn vigie_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .current_dir(dir)
        .env("USER", "analyste-test")
        .output()
        .expect("run vigie")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A pipeline file in `dir` naming no catalogue directory, with its sources (and the survey
/// instrument they name) copied beside it.
fn outside_pipeline(dir: &Path) -> std::path::PathBuf {
    copy_instruments(dir);
    let sources = dir.join("sources");
    std::fs::create_dir(&sources).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("pipelines/sources"))
        .expect("sources")
        .flatten()
    {
        std::fs::copy(entry.path(), sources.join(entry.file_name())).expect("copy");
    }
    let demo = std::fs::read_to_string(repo().join("pipelines/demo.yaml")).expect("demo");
    let yaml: String = demo
        .lines()
        .filter(|l| !l.contains("./demo/reports") && !l.starts_with("outputs:"))
        .filter(|l| !l.trim_start().starts_with("reports:"))
        .map(|l| {
            l.replace("./demo/landing", "./landing")
                .replace("./demo/warehouse", "./warehouse")
                + "\n"
        })
        .collect();
    assert!(!yaml.contains("queries"), "{yaml}");
    let path = dir.join("p.yaml");
    std::fs::write(&path, yaml + "indicators: { bootstrap_replicates: 500 }\n").expect("write");
    path
}

fn numbers(record: &csv::StringRecord, header: &csv::StringRecord, name: &str) -> String {
    let i = header.iter().position(|h| h == name).expect(name);
    record.get(i).expect(name).to_string()
}

#[test]
fn an_outside_pipeline_computes_the_built_in_catalogue_and_exports_only_what_is_published() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let pipeline = outside_pipeline(d);
    synth(&d.join("landing"), 2_000, 5);
    let p = pipeline.display().to_string();
    let out = ok(vigie_in(d, &["validate", &p]), "validate");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the built-in catalogue"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    ok(vigie_in(d, &["ingest", &p]), "ingest");
    ok(vigie_in(d, &["compute", &p]), "compute");

    let (header, records) = csv_export_carries_no_suppressed_number(d, &p);
    parquet_export_has_the_same_rows_with_null_suppressed_values(d, &p, records.len());
    let month = records
        .iter()
        .find(|r| numbers(r, &header, "indicator") == "ed_visits_per_1000")
        .map(|r| numbers(r, &header, "period_start")[..7].to_string())
        .expect("an ED month");
    json_export_filters_by_indicator_and_period(d, &p, &month);
    let unknown = vigie_in(
        d,
        &[
            "export",
            "results",
            &p,
            "--format",
            "csv",
            "--indicator",
            "nope",
            "--out",
            "x.csv",
        ],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown indicator"));

    query_is_read_only_and_restricted(d, &p);
}

/// CSV: suppressed cells keep their row and reason, never a number; no count from 1 to 5.
fn csv_export_carries_no_suppressed_number(
    d: &Path,
    p: &str,
) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    ok(
        vigie_in(
            d,
            &["export", "results", p, "--format", "csv", "--out", "r.csv"],
        ),
        "export csv",
    );
    let mut reader = csv::Reader::from_path(d.join("r.csv")).expect("csv");
    let header = reader.headers().expect("header").clone();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let (mut suppressed, mut published) = (0, 0);
    let number_columns = [
        "numerator",
        "denominator",
        "value",
        "ci_low",
        "ci_high",
        "spc_centre",
        "spc_lower",
        "spc_upper",
    ];
    for r in &records {
        assert!(!numbers(r, &header, "name_fr").is_empty());
        assert!(!numbers(r, &header, "name_en").is_empty());
        assert!(!numbers(r, &header, "unit").is_empty());
        if numbers(r, &header, "suppressed") == "true" {
            suppressed += 1;
            assert!(!numbers(r, &header, "suppression_reason").is_empty());
            for c in number_columns {
                assert_eq!(
                    numbers(r, &header, c),
                    "",
                    "{c} of a suppressed cell: {r:?}"
                );
            }
        } else {
            published += 1;
            // Counts (proportions and crude rates count persons or events): never 1 to 5.
            let method = numbers(r, &header, "method");
            if method == "wilson" || method == "poisson_exact_or_byar" {
                let n: f64 = numbers(r, &header, "numerator").parse().expect("numerator");
                assert!(!(1.0..=5.0).contains(&n), "a small count published: {r:?}");
            }
        }
    }
    assert!(
        suppressed > 0 && published > 0,
        "{suppressed} / {published}"
    );

    (header, records)
}

/// Parquet read back with the parquet crate: the same rows, suppressed values null.
fn parquet_export_has_the_same_rows_with_null_suppressed_values(d: &Path, p: &str, n: usize) {
    ok(
        vigie_in(
            d,
            &[
                "export",
                "results",
                p,
                "--format",
                "parquet",
                "--out",
                "r.parquet",
            ],
        ),
        "export parquet",
    );
    let file = std::fs::File::open(d.join("r.parquet")).expect("parquet");
    let batches: Vec<_> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("reader")
            .build()
            .expect("reader")
            .map(|b| b.expect("batch"))
            .collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, n);
    for b in &batches {
        use arrow::array::{Array, AsArray};
        let flag = b.column_by_name("suppressed").expect("flag").as_boolean();
        let value = b.column_by_name("value").expect("value");
        for i in 0..b.num_rows() {
            assert!(!flag.value(i) || value.is_null(i));
        }
    }
}

/// JSON, filtered by indicator and period.
fn json_export_filters_by_indicator_and_period(d: &Path, p: &str, month: &str) {
    ok(
        vigie_in(
            d,
            &[
                "export",
                "results",
                p,
                "--format",
                "json",
                "--indicator",
                "ed_visits_per_1000",
                "--period",
                month,
                "--out",
                "r.json",
            ],
        ),
        "export json",
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).expect("json"))
            .expect("parse");
    let list = json.as_array().expect("array");
    assert!(!list.is_empty());
    for row in list {
        assert_eq!(row["indicator"], "ed_visits_per_1000");
        assert_eq!(row["unit"], "rate_per_1000");
        assert!(
            row["period_start"]
                .as_str()
                .expect("date")
                .starts_with(month)
        );
        if row["suppressed"] == true {
            assert!(row["value"].is_null());
        }
    }
}

fn query_is_read_only_and_restricted(d: &Path, p: &str) {
    // Published results only: no suppressed cell carries a number.
    let out = ok(
        vigie_in(
            d,
            &[
                "query",
                p,
                "--format",
                "json",
                "SELECT count(*) AS n FROM indicator_results WHERE suppressed AND value IS NOT NULL",
            ],
        ),
        "query",
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json[0]["n"], 0);
    // The stored results, as a steward, do carry them.
    let out = ok(
        vigie_in(
            d,
            &[
                "--log-format",
                "json",
                "query",
                p,
                "--format",
                "csv",
                "--steward",
                "checking suppression",
                "SELECT count(*) AS n FROM indicator_results WHERE suppressed AND value IS NOT NULL",
            ],
        ),
        "steward query",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let n: i64 = text.lines().nth(1).expect("a row").parse().expect("count");
    assert!(n > 0, "{text}");
    let audit = String::from_utf8_lossy(&out.stderr);
    let record: serde_json::Value = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["target"] == "vigie::audit")
        .unwrap_or_else(|| panic!("no audit record: {audit}"));
    assert_eq!(record["fields"]["user"], "analyste-test");
    assert_eq!(record["fields"]["reason"], "checking suppression");
    assert!(
        record["fields"]["tables"]
            .as_str()
            .expect("tables")
            .contains("indicator_results")
    );
    // The worklist, the key-to-number map and the export audit are restricted.
    for table in ["worklist", "person_number", "worklist_export_audit"] {
        let out = vigie_in(d, &["query", p, &format!("SELECT count(*) FROM {table}")]);
        assert!(!out.status.success(), "{table} read without --steward");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("`{table}` is restricted")) && err.contains("restreinte"),
            "{table}: {err}"
        );
    }
    ok(
        vigie_in(
            d,
            &[
                "query",
                p,
                "--steward",
                "coordination",
                "SELECT count(*) FROM worklist",
            ],
        ),
        "steward worklist",
    );
    // Nothing but a query.
    for sql in [
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO 'out.csv'",
        "INSERT INTO person SELECT * FROM person",
        "DROP TABLE person",
        "SET datafusion.execution.batch_size = 1",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; SELECT 2",
        "EXPLAIN INSERT INTO person SELECT * FROM person",
        "EXPLAIN ANALYZE DROP TABLE person",
        "EXPLAIN SELECT 1 INTO t",
    ] {
        let out = vigie_in(d, &["query", p, "--steward", "trying", sql]);
        assert!(!out.status.success(), "{sql}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("read-only") && err.contains("lecture"),
            "{sql}: {err}"
        );
    }
    // A version past the latest, and a warehouse path with a typo: said plainly, and the
    // typo creates nothing.
    let out = vigie_in(d, &["query", p, "--as-of", "999999", "SELECT 1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--as-of 999999: the warehouse has no such version (latest: "),
        "{err}"
    );
    let out = vigie_in(d, &["query", p, "--warehouse", "typo/wh", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no warehouse here") && err.contains("aucun entrepôt"),
        "{err}"
    );
    assert!(
        !d.join("typo").exists(),
        "nothing created where the typo pointed"
    );
    // The plan of a query, for an analyst comparing engines; restricted tables stay so.
    let out = ok(
        vigie_in(
            d,
            &[
                "query",
                p,
                "EXPLAIN SELECT count(*) FROM ed_visit AS v JOIN person AS p \
                 ON p.person_number = v.person_number",
            ],
        ),
        "explain",
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("physical_plan") && plan.contains("HashJoinExec"),
        "{plan}"
    );
    let out = vigie_in(d, &["query", p, "EXPLAIN SELECT count(*) FROM worklist"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("`worklist` is restricted"),
        "{err}"
    );
    let out = ok(
        vigie_in(
            d,
            &[
                "query",
                p,
                "--format",
                "csv",
                "--out",
                "q.csv",
                "SELECT source, status FROM load_manifest",
            ],
        ),
        "query to a file",
    );
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(d.join("q.csv")).expect("csv");
    assert!(
        text.starts_with("source,status\n") && text.lines().count() > 1,
        "{text}"
    );
}

#[test]
fn the_catalogue_prints_as_json_and_markdown() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(
        vigie_in(dir.path(), &["catalogue", "--format", "json"]),
        "json",
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let list = json.as_array().expect("array");
    assert!(list.len() >= 20);
    let ed = list
        .iter()
        .find(|i| i["id"] == "ed_visits_per_1000")
        .expect("ED rate");
    assert_eq!(ed["unit"], "rate_per_1000");
    assert_eq!(ed["unit_label"]["fr"], "pour 1 000");
    assert!(!ed["name"]["fr"].as_str().expect("fr").is_empty());
    assert!(ed["roles"].as_array().is_some() && ed["strata"].as_array().is_some());
    let out = ok(vigie_in(dir.path(), &["catalogue"]), "markdown");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| ed_visits_per_1000 |") && md.contains("per 1,000"),
        "{md}"
    );
}
