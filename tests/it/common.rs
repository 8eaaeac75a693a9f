//! Shared fixtures: synthetic regions, the demo pipeline, warehouse queries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use vigie_model::config::{LoadedPipeline, load_pipeline};
use vigie_pipeline::{IngestOptions, IngestReport, NoProgress, PipelineError, ingest};
use vigie_synth::{SynthConfig, SynthSummary};
use vigie_warehouse::{SessionOptions, Warehouse};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo pipeline, loaded.
pub fn demo_pipeline() -> LoadedPipeline {
    load_pipeline(&repo().join("pipelines/demo.yaml")).expect("the demo pipeline is valid")
}

/// Copies the demo's survey instruments to `dir/instruments`, where a copy of
/// `pipelines/sources/` beside it finds them (`survey.instrument: ../instruments/...`).
pub fn copy_instruments(dir: &Path) {
    let to = dir.join("instruments");
    std::fs::create_dir_all(&to).expect("mkdir");
    for e in std::fs::read_dir(repo().join("pipelines/instruments"))
        .expect("instruments")
        .flatten()
    {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// A small synthetic region written to `landing`.
pub fn synth(landing: &Path, persons: u64, seed: u64) -> SynthSummary {
    let cfg = SynthConfig {
        persons,
        seed,
        ..SynthConfig::default()
    };
    vigie_synth::generate(&cfg, landing).expect("synthetic region")
}

/// Ingests the demo pipeline's sources from `landing` into `warehouse`.
pub async fn ingest_into(landing: &Path, warehouse: &Path) -> Result<IngestReport, PipelineError> {
    ingest_with(landing, warehouse, None).await
}

thread_local! {
    /// Rows per entity held in memory before spilling, for the ingests of this thread.
    pub static SPILL_ROWS: std::cell::Cell<usize> = const { std::cell::Cell::new(vigie_pipeline::DEFAULT_SPILL_ROWS) };
}

/// Same, with a fault injected before the manifest entry of `fail_file`.
pub async fn ingest_with(
    landing: &Path,
    warehouse: &Path,
    fail_file: Option<&str>,
) -> Result<IngestReport, PipelineError> {
    let pipeline = demo_pipeline();
    let mut options = IngestOptions::for_pipeline(&pipeline, &NoProgress);
    options.landing = landing.display().to_string();
    options.warehouse = warehouse.display().to_string();
    options.fail_before_manifest_of = fail_file.map(str::to_string);
    options.spill_rows = SPILL_ROWS.with(|r| r.get());
    // Parts of 16 KiB: every guarantee tested here also holds for extracts read in parts
    // on several threads (the default reads only files of 16 MiB and more in parts).
    options.part_bytes = 16 << 10;
    // A copy of the numbering after every load that numbers anyone: every guarantee tested
    // here also holds for loads that read the numbering from its copy (the default copies
    // only numberings of 65,536 persons and more).
    options.numbering_copy_min = 0;
    ingest(&pipeline, &options).await
}

/// Applies a held file as it is (`vigie held release`).
pub async fn release(landing: &Path, warehouse: &Path, file: &str) -> IngestReport {
    let pipeline = demo_pipeline();
    let mut options = IngestOptions::for_pipeline(&pipeline, &NoProgress);
    options.landing = landing.display().to_string();
    options.warehouse = warehouse.display().to_string();
    options.only = Some([file.to_string()].into_iter().collect());
    options.release_held = true;
    ingest(&pipeline, &options).await.expect("release")
}

/// Runs SQL over the latest consistent snapshot (or manifest version `as_of`).
pub async fn query_as_of(warehouse: &Path, sql: &str, as_of: Option<u64>) -> Vec<RecordBatch> {
    let wh = Warehouse::open(&warehouse.display().to_string()).expect("warehouse");
    let snapshot = wh.snapshot(as_of).await.expect("snapshot");
    let ctx = wh
        .session(&snapshot, &SessionOptions::default())
        .await
        .expect("session");
    ctx.sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("execute")
}

/// Runs SQL over the latest consistent snapshot.
pub async fn query(warehouse: &Path, sql: &str) -> Vec<RecordBatch> {
    query_as_of(warehouse, sql, None).await
}

/// A single integer result.
pub async fn count(warehouse: &Path, sql: &str) -> i64 {
    let batches = query(warehouse, sql).await;
    scalar(&batches)
}

/// The first cell of a result as an integer.
pub fn scalar(batches: &[RecordBatch]) -> i64 {
    let b = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
    let col = cast(b.column(0), &DataType::Int64).expect("integer");
    col.as_any()
        .downcast_ref::<Int64Array>()
        .expect("int64")
        .value(0)
}

/// Rows per table in the latest snapshot.
pub async fn table_counts(warehouse: &Path) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in [
        "person",
        "ed_visit",
        "admission",
        "enrolment",
        "survey_response",
        "quarantine",
    ] {
        out.insert(
            t.to_string(),
            count(warehouse, &format!("SELECT count(*) FROM {t}")).await,
        );
    }
    out
}

/// Every cell of every batch as text.
pub fn all_text(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for col in b.columns() {
            let Ok(text) = cast(col, &DataType::Utf8) else {
                continue;
            };
            let text = text.as_string::<i32>();
            for i in 0..text.len() {
                if !text.is_null(i) {
                    out.push(text.value(i).to_string());
                }
            }
        }
    }
    out
}

/// Every file under a directory (a warehouse, a landing zone), recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}
