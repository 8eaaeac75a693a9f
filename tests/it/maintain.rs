//! `vigie maintain` on a real warehouse: after several small loads and a compute, it
//! compacts the small files without changing a row or a published value, keeps the versions
//! within the retention readable, deletes the older ones when asked, and waits for (then is
//! refused by) a writer that holds the warehouse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{load_catalogue, published_results};
use vigie_pipeline::ComputeOverrides;
use vigie_warehouse::{SessionOptions, Warehouse};

use crate::common::*;

/// A warehouse filled by several small loads (one per landing folder, so every table gets
/// several small files) and one compute.
pub struct Filled {
    pub _dir: tempfile::TempDir,
    pub warehouse: PathBuf,
    /// A pipeline file for the command line: the demo's sources, this warehouse, no wait
    /// for the writer lock.
    pub pipeline: PathBuf,
    /// The manifest version after the first load.
    pub first_manifest_version: Option<u64>,
}

pub async fn filled(persons: u64, seed: u64) -> Filled {
    let dir = tempfile::tempdir().expect("tmp");
    let (full, landing, warehouse) = (
        dir.path().join("full"),
        dir.path().join("landing"),
        dir.path().join("warehouse"),
    );
    synth(&full, persons, seed);
    // Folder by folder (the population register first): each ingest is its own load.
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&full)
        .expect("landing")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort_by_key(|p| !p.ends_with("registre"));
    let mut first_manifest_version = None;
    for folder in &folders {
        let name = folder.file_name().expect("name");
        copy_dir(folder, &landing.join(name));
        ingest_into(&landing, &warehouse).await.expect("ingest");
        if first_manifest_version.is_none() {
            let wh = Warehouse::open(&warehouse.display().to_string()).expect("warehouse");
            first_manifest_version = wh.snapshot(None).await.expect("snapshot").manifest_version;
        }
    }
    vigie_pipeline::compute(
        &demo_pipeline(),
        &ComputeOverrides {
            warehouse: Some(warehouse.display().to_string()),
            only: vec!["ed_visits_per_1000".into(), "readmission_30d_pct".into()],
            from: None,
            to: None,
        },
    )
    .await
    .expect("compute");
    let sources: Vec<String> = std::fs::read_dir(repo().join("pipelines/sources"))
        .expect("sources")
        .flatten()
        .map(|e| format!("\"{}\"", e.path().display()))
        .collect();
    let pipeline = dir.path().join("pipeline.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: demo\ndemo: true\nlanding: \"{}\"\nwarehouse: \"{}\"\nkey: demo\nsources: [{}]\n\
             indicators: {{ queries: \"{}\" }}\nwriter_wait_seconds: 0\nmaintenance:\n  retention_days: 30\n",
            landing.display(),
            warehouse.display(),
            sources.join(", "),
            repo().join("queries").display()
        ),
    )
    .expect("pipeline");
    Filled {
        _dir: dir,
        warehouse,
        pipeline,
        first_manifest_version,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

pub fn vigie(args: &[&str], pipeline: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .arg(pipeline)
        .output()
        .expect("run vigie")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every published result as `key -> value` (None: suppressed), through the gate.
pub async fn published(warehouse: &Path) -> BTreeMap<String, Option<f64>> {
    let wh = Warehouse::open(&warehouse.display().to_string()).expect("warehouse");
    let catalogue = load_catalogue(&repo().join("queries")).expect("catalogue");
    published_results(&wh, &catalogue, &DisclosureConfig { min_count: 6 })
        .await
        .expect("published results")
        .into_iter()
        .map(|r| {
            (
                format!(
                    "{} {} {} {}={}",
                    r.indicator, r.period_start, r.org_unit, r.stratum_dimension, r.stratum_value
                ),
                r.value,
            )
        })
        .collect()
}

/// Data files on disk (the Delta logs excluded).
fn data_files(warehouse: &Path) -> usize {
    walk(warehouse)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_delta_log"))
        .count()
}

/// `ed_visit` rows at manifest version `as_of`, or the error a reader meets.
async fn visits_at(warehouse: &Path, as_of: Option<u64>) -> Result<usize, String> {
    let wh = Warehouse::open(&warehouse.display().to_string()).map_err(|e| e.to_string())?;
    let snapshot = wh.snapshot(as_of).await.map_err(|e| e.to_string())?;
    let ctx = wh
        .session(&snapshot, &SessionOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let batches = ctx
        .sql("SELECT person_key FROM ed_visit")
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintain_compacts_and_vacuums_without_changing_what_readers_see() {
    let f = filled(300, 151).await;
    let wh = &f.warehouse;
    let counts = table_counts(wh).await;
    let results = published(wh).await;
    assert!(
        results.values().any(Option::is_some),
        "something is published"
    );
    let first_visits = visits_at(wh, f.first_manifest_version)
        .await
        .expect("first load");
    let files_before = data_files(wh);

    // A writer holds the warehouse: maintain waits `writer_wait_seconds` (0), then is refused.
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
    let lock = warehouse
        .lock_writer("compute", std::time::Duration::ZERO)
        .await
        .expect("lock");
    let busy = vigie(&["maintain"], &f.pipeline);
    assert_eq!(busy.status.code(), Some(6), "{}", text(&busy));
    assert!(text(&busy).contains("compute"), "{}", text(&busy));
    lock.release().await.expect("release");
    assert_eq!(
        data_files(wh),
        files_before,
        "the refused run touched nothing"
    );

    // Compaction with the pipeline's 30 days: nothing is old enough to delete yet.
    let out = vigie(&["maintain"], &f.pipeline);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("retention 30 day(s)"), "{stdout}");
    assert!(stdout.contains("compacted into"), "{stdout}");
    assert!(
        stdout.contains("vacuum deleted / supprimé 0 file(s), 0 B"),
        "{stdout}"
    );
    assert!(
        stdout.contains("load_manifest"),
        "the manifest is maintained: {stdout}"
    );
    assert_eq!(table_counts(wh).await, counts);
    assert_eq!(published(wh).await, results);
    assert_eq!(
        visits_at(wh, f.first_manifest_version).await,
        Ok(first_visits),
        "a version within the retention stays readable"
    );

    // Under a day is refused unless forced.
    let short = vigie(&["maintain", "--retention-hours", "2"], &f.pipeline);
    assert_eq!(short.status.code(), Some(1), "{}", text(&short));
    assert!(
        text(&short).contains("at least 24 hours"),
        "{}",
        text(&short)
    );

    // A dry run lists the replaced files and deletes nothing.
    let files_compacted = data_files(wh);
    let dry = vigie(
        &["maintain", "--dry-run", "--retention-hours", "0", "--force"],
        &f.pipeline,
    );
    assert!(dry.status.success(), "{}", text(&dry));
    let listing = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(listing.contains("would delete"), "{listing}");
    assert!(
        listing.contains("ed_visit/") && listing.contains(".parquet"),
        "{listing}"
    );
    assert_eq!(data_files(wh), files_compacted);

    // Forced to zero: every replaced file goes, the first load's version with them.
    let out = vigie(
        &["maintain", "--retention-hours", "0", "--force"],
        &f.pipeline,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        data_files(wh) < files_before,
        "{} data files after, {files_before} before",
        data_files(wh)
    );
    assert_eq!(table_counts(wh).await, counts);
    assert_eq!(published(wh).await, results);
    assert!(
        visits_at(wh, f.first_manifest_version).await.is_err(),
        "a version older than the retention is gone"
    );
    // New loads and computes still work on the compacted tables.
    vigie_pipeline::compute(
        &demo_pipeline(),
        &ComputeOverrides {
            warehouse: Some(wh.display().to_string()),
            only: vec!["ed_visits_per_1000".into(), "readmission_30d_pct".into()],
            from: None,
            to: None,
        },
    )
    .await
    .expect("compute after maintain");
    assert_eq!(published(wh).await, results);
}
