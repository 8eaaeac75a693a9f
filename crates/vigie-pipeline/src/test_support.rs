//! Helpers of the crate's unit tests: source specs loaded as `vigie validate` loads them,
//! valid health card numbers, files parsed by the real parser, and a landing zone and
//! warehouse in a temporary directory.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::prelude::SessionContext;
use vigie_ingest::dedup::LoadedRecords;
use vigie_ingest::plausible::DateBounds;
use vigie_ingest::{FileContext, FileFailure, FileOutcome, FileRejection, ingest_file};
use vigie_model::config::{FilePattern, SourceSpec, load_source};
use vigie_model::{IdentifierDetector, KeySource, PseudonymKey};
use vigie_warehouse::{SessionOptions, Warehouse};

use crate::commit::{Group, ParsedFile};
use crate::error::PipelineError;
use crate::ingest::FileReport;
use crate::landing::{Landing, LandingFile};

/// Emergency visits replaced by month, one file per month; guards: 10% rejected, 20%
/// shrink, from 10 records.
pub(crate) const VISITS: &str = r#"
source: visits
partner: Test hospital
files: "visits/ed_{yyyy}{mm}.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
load: { mode: replace, period: month }
guards: { max_rejected_pct: 10, max_shrink_pct: 20, min_rows: 10 }
settle_seconds: 0
entity: ed_visit
fields:
  person_key: { from: HCN, scheme: ontario_hcn }
  arrival: { from: [DATE, TIME], format: "%Y-%m-%d", time_format: "%H%M" }
  facility: { from: FACILITY }
"#;

/// A registry replaced whole by each snapshot; the same guards.
pub(crate) const REGISTRY: &str = r#"
source: registry
partner: Test registry
files: "registry/people*.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
load: { mode: replace, period: all }
guards: { max_rejected_pct: 10, max_shrink_pct: 20, min_rows: 10 }
settle_seconds: 0
entity: person
fields:
  person_key: { from: HCN, scheme: ontario_hcn }
  birth_year: { from: YEAR }
  sex: { from: SEX }
  language: { from: LANG }
"#;

/// Clinic visits appended file by file; the same guards.
pub(crate) const CLINIC: &str = r#"
source: clinic
partner: Test clinic
files: "clinic/*.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
load: { mode: append }
guards: { max_rejected_pct: 10, max_shrink_pct: 20, min_rows: 10 }
settle_seconds: 0
entity: ed_visit
fields:
  person_key: { from: HCN, scheme: ontario_hcn }
  arrival: { from: [DATE, TIME], format: "%Y-%m-%d", time_format: "%H%M" }
  facility: { from: FACILITY }
"#;

/// A source spec, loaded and checked by `load_source` from a file as `vigie` loads it.
pub(crate) fn source(yaml: &str) -> Arc<SourceSpec> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("source.yaml");
    std::fs::write(&path, yaml).expect("write the spec");
    Arc::new(load_source(&path).unwrap_or_else(|e| panic!("the test spec is invalid: {e}")))
}

/// A Luhn-valid 10-digit Ontario health card number, distinct for each `i`.
pub(crate) fn hcn(i: u64) -> String {
    let payload = format!("{:09}", 100_000_000 + i);
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(k, b)| {
            let d = u32::from(b - b'0');
            match (k % 2 == 0, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// A visits or clinic extract: `rows` visits of distinct persons (numbered from `first`)
/// in `month` (`YYYY-MM`), then `bad` records with an invalid card number.
pub(crate) fn visits_csv(month: &str, first: u64, rows: u64, bad: u64) -> String {
    let mut csv = String::from("HCN,DATE,TIME,FACILITY\n");
    for i in first..first + rows {
        csv.push_str(&format!("{},{month}-15,0930,F1\n", hcn(i)));
    }
    for _ in 0..bad {
        csv.push_str(&format!("1234567890,{month}-15,0930,F1\n"));
    }
    csv
}

/// A registry snapshot of `rows` persons, then `bad` records with an invalid card number.
pub(crate) fn registry_csv(rows: u64, bad: u64) -> String {
    let mut csv = String::from("HCN,YEAR,SEX,LANG\n");
    for i in 0..rows {
        csv.push_str(&format!("{},1950,F,fr\n", hcn(i)));
    }
    for _ in 0..bad {
        csv.push_str("1234567890,1950,F,fr\n");
    }
    csv
}

thread_local! {
    /// One numbering per test thread, shared by its parses and commits as a load's is.
    static NUMBERS: &'static vigie_model::PersonNumbers =
        Box::leak(Box::new(vigie_model::PersonNumbers::new()));
}

/// The test thread's person numbering.
pub(crate) fn numbers() -> &'static vigie_model::PersonNumbers {
    NUMBERS.with(|n| *n)
}

/// What the real parser makes of `text` as the landing file `key` of `source`, with the
/// period `key` declares (rows spill to `staging` beyond `spill_rows` per entity), against
/// the records of the source `loaded` already.
pub(crate) fn parse_in(
    source: &SourceSpec,
    key: &str,
    text: &str,
    staging: Option<&Path>,
    spill_rows: usize,
    loaded: Option<&LoadedRecords>,
) -> Result<FileOutcome, (FileRejection, u64)> {
    let pseudonyms = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let identifiers = IdentifierDetector::new(&source.identifier_schemes());
    let period = FilePattern::parse(&source.files)
        .expect("pattern")
        .period(key);
    let earliest = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date");
    let ctx = FileContext {
        file: key,
        load_id: "test-load",
        key: &pseudonyms,
        numbers: numbers(),
        batch_rows: 1024,
        staging,
        spill_rows,
        part_bytes: 0,
        period,
        dates: DateBounds::new(earliest, chrono::Utc::now().naive_utc(), 0),
        loaded,
        identifiers: &identifiers,
    };
    match ingest_file(source, &ctx, Bytes::copy_from_slice(text.as_bytes())) {
        Ok(outcome) => Ok(outcome),
        Err(FileFailure::Rejected(rejection, rows)) => Err((rejection, rows)),
        Err(FileFailure::Environment(e)) => panic!("environmental failure: {e}"),
    }
}

/// [`parse_in`] with every row in memory, for a file that must be read.
pub(crate) fn parse(source: &SourceSpec, key: &str, text: &str) -> FileOutcome {
    match parse_in(source, key, text, None, usize::MAX, None) {
        Ok(outcome) => outcome,
        Err((rejection, _)) => panic!("{key} rejected whole: {}", rejection.message),
    }
}

/// A landing zone and a warehouse in one temporary directory.
pub(crate) struct Fixture {
    dir: tempfile::TempDir,
    pub landing: Landing,
    pub warehouse: Warehouse,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let landing_dir = dir.path().join("landing");
        std::fs::create_dir_all(&landing_dir).expect("mkdir");
        let landing = Landing::open(landing_dir.to_str().expect("utf-8")).expect("landing");
        let warehouse =
            Warehouse::open(dir.path().join("warehouse").to_str().expect("utf-8")).expect("open");
        Fixture {
            dir,
            landing,
            warehouse,
        }
    }

    /// The warehouse's root directory.
    pub fn warehouse_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("warehouse")
    }

    /// Writes `text` as the landing file `key` and returns it as the listing shows it.
    pub async fn land(&self, key: &str, text: &str) -> LandingFile {
        let path = self.dir.path().join("landing").join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        self.landing
            .list()
            .await
            .expect("list")
            .into_iter()
            .find(|f| f.key == key)
            .expect("the landed file is listed")
    }

    /// `file` of `source` as the committer receives it once parsed (`hold`: the guard's
    /// reason to hold it).
    pub async fn parsed(
        &self,
        source: &Arc<SourceSpec>,
        key: &str,
        text: &str,
        hold: Option<&str>,
    ) -> ParsedFile {
        let file = self.land(key, text).await;
        ParsedFile {
            source: source.clone(),
            period: FilePattern::parse(&source.files)
                .expect("pattern")
                .period(key),
            file,
            started: chrono::Utc::now(),
            hash: format!("sha-of-{key}-{}", text.len()),
            outcome: parse_in(source, key, text, None, usize::MAX, None),
            hold: hold.map(str::to_string),
            parse_secs: 0.01,
        }
    }

    /// Commits `files` as one group under a fresh writer lock.
    pub async fn commit(
        &self,
        files: Vec<ParsedFile>,
        fail_before_manifest_of: Option<&str>,
    ) -> Result<Vec<FileReport>, PipelineError> {
        let lock = self
            .warehouse
            .lock_writer("test", std::time::Duration::ZERO)
            .await
            .expect("lock");
        let mut group = Group::default();
        for file in files {
            group.push(file);
        }
        let reports = group
            .commit(
                &self.warehouse,
                "test-load",
                fail_before_manifest_of,
                &lock,
                Some(numbers()),
            )
            .await;
        lock.release().await.expect("release");
        reports
    }

    /// A query session over what the manifest makes visible now.
    pub async fn session(&self) -> SessionContext {
        let snapshot = self.warehouse.snapshot(None).await.expect("snapshot");
        self.warehouse
            .session(&snapshot, &SessionOptions::default())
            .await
            .expect("session")
    }

    /// The text columns of `sql`'s rows, as readers see the warehouse now, sorted.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let batches = self
            .session()
            .await
            .sql(sql)
            .await
            .expect("query")
            .collect()
            .await
            .expect("collect");
        let mut rows = Vec::new();
        for b in &batches {
            let columns: Vec<_> = b
                .columns()
                .iter()
                .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("cast"))
                .collect();
            for i in 0..b.num_rows() {
                rows.push(
                    columns
                        .iter()
                        .map(|c| {
                            use arrow::array::{Array, AsArray};
                            let c = c.as_string::<i32>();
                            if c.is_null(i) {
                                String::new()
                            } else {
                                c.value(i).to_string()
                            }
                        })
                        .collect(),
                );
            }
        }
        rows.sort();
        rows
    }
}
