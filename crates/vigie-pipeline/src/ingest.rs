//! The ingest step: find new files per source, load each atomically, record the manifest.
//!
//! Files are parsed two at a time on blocking threads (both cores busy) while the previous
//! file's rows are committed; commits happen one file at a time, in key order, and a file's
//! manifest entry is committed last, which is what makes its rows visible to readers.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use vigie_ingest::{
    EntityData, FileContext, FileOutcome, FileRejection, QuarantineRow, ingest_file,
};
use vigie_model::config::LoadedPipeline;
use vigie_model::config::{LoadMode, ReplacePeriod, SourceSpec};
use vigie_model::{Entity, PseudonymKey, quarantine_schema};
use vigie_warehouse::{
    FileStatus, ManifestEntry, QUARANTINE_TABLE, Replace, Warehouse, WriteInput,
};

use crate::error::PipelineError;
use crate::landing::{Landing, LandingFile};
use crate::progress::Progress;

/// Options of an ingest.
pub struct IngestOptions<'a> {
    /// Landing zone location (the pipeline's, unless overridden).
    pub landing: String,
    /// Warehouse location (the pipeline's, unless overridden).
    pub warehouse: String,
    /// Re-attempt files rejected whole earlier, even with unchanged content.
    pub retry_rejected: bool,
    /// Progress display.
    pub progress: &'a dyn Progress,
    /// Fault injection for crash tests: stop with an error after writing this file's rows
    /// and before committing its manifest entry, as a crash at that point would.
    pub fail_before_manifest_of: Option<String>,
    /// Rows per entity and file held in memory before they spill to a staging Parquet file
    /// (bounded memory whatever the file size); [`DEFAULT_SPILL_ROWS`] unless testing.
    pub spill_rows: usize,
}

/// What happened to one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Source id.
    pub source: String,
    /// Landing key.
    pub file: String,
    /// Loaded or rejected whole.
    pub status: FileStatus,
    /// Records read.
    pub rows_read: u64,
    /// Records accepted.
    pub rows_accepted: u64,
    /// Records rejected.
    pub rows_rejected: u64,
    /// Why a file was rejected whole.
    pub message: Option<String>,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// The load id.
    pub load_id: String,
    /// Files processed.
    pub files: Vec<FileReport>,
    /// Files skipped because the same content was already loaded.
    pub skipped: Vec<String>,
    /// Files in the landing zone that no source claims.
    pub unclaimed: Vec<String>,
}

struct Job {
    source: Arc<SourceSpec>,
    file: LandingFile,
}

/// Ingests every new file of every source of the pipeline.
pub async fn ingest(
    pipeline: &LoadedPipeline,
    options: &IngestOptions<'_>,
) -> Result<IngestReport, PipelineError> {
    let key = PseudonymKey::load(&pipeline.key_source())?;
    if key.is_demo() {
        warn!("using the public DEMO pseudonymisation key: synthetic data only, never real data");
    }
    let landing = Landing::open(&options.landing)?;
    let warehouse = Warehouse::open(&options.warehouse)?;
    let load_id = uuid::Uuid::now_v7().to_string();
    // Rows of large files spill here during parsing; removed with everything in it at the end.
    let staging_dir = tempfile::Builder::new()
        .prefix("vigie-staging-")
        .tempdir()
        .map_err(|e| PipelineError::Internal(format!("cannot create a staging directory: {e}")))?;
    let staging = staging_dir.path();
    let mut report = IngestReport {
        load_id: load_id.clone(),
        ..Default::default()
    };

    let manifest = warehouse.manifest(None).await?;
    let done: HashSet<(String, String)> = manifest
        .iter()
        .filter(|e| e.status == FileStatus::Loaded || !options.retry_rejected)
        .map(|e| (e.source.clone(), e.content_hash.clone()))
        .collect();

    let files = landing.list().await?;
    let matchers: Vec<(Arc<SourceSpec>, GlobMatcher)> = pipeline
        .sources
        .iter()
        .map(|(path, s)| {
            Glob::new(&s.files)
                .map(|g| (Arc::new(s.clone()), g.compile_matcher()))
                .map_err(|e| PipelineError::Internal(format!("{}: files: {e}", path.display())))
        })
        .collect::<Result<_, _>>()?;
    let mut jobs = Vec::new();
    for file in files {
        let claimed: Vec<_> = matchers
            .iter()
            .filter(|(_, m)| m.is_match(&file.key))
            .collect();
        match claimed.as_slice() {
            [] => report.unclaimed.push(file.key.clone()),
            [(source, _)] => jobs.push(Job {
                source: source.clone(),
                file,
            }),
            many => {
                let ids: Vec<_> = many.iter().map(|(s, _)| s.source.as_str()).collect();
                return Err(PipelineError::Internal(format!(
                    "{} matches the file patterns of several sources ({}): make the `files` patterns disjoint",
                    file.key,
                    ids.join(", ")
                )));
            }
        }
    }
    if !report.unclaimed.is_empty() {
        warn!(
            count = report.unclaimed.len(),
            "files in the landing zone match no source's `files` pattern"
        );
    }

    options
        .progress
        .start("ingest", jobs.iter().map(|j| j.file.size).sum());
    let key = Arc::new(key);
    let parsed = futures::stream::iter(jobs.into_iter().map(|job| {
        let landing = &landing;
        let key = key.clone();
        let load_id = load_id.clone();
        async move {
            let started = Utc::now();
            let bytes = landing.read(&job.file).await?;
            let hash = hex::encode(Sha256::digest(&bytes));
            Ok::<_, PipelineError>((job, started, bytes, hash, key, load_id))
        }
    }))
    .buffered(2)
    .map(|res| {
        let done = &done;
        async move {
            let (job, started, bytes, hash, key, load_id) = res?;
            if done.contains(&(job.source.source.clone(), hash.clone())) {
                return Ok::<_, PipelineError>((job, started, hash, None));
            }
            let source = job.source.clone();
            let file_key = job.file.key.clone();
            let staging = staging.to_path_buf();
            let spill_rows = options.spill_rows;
            let parsed = tokio::task::spawn_blocking(move || {
                parse(
                    &source, &file_key, &load_id, &key, bytes, &staging, spill_rows,
                )
            })
            .await
            .map_err(|e| PipelineError::Internal(format!("parser thread failed: {e}")))?;
            Ok((job, started, hash, Some(parsed)))
        }
    })
    .buffered(2);
    futures::pin_mut!(parsed);

    let mut claimed_hashes: HashSet<(String, String)> = HashSet::new();
    while let Some(item) = parsed.next().await {
        let (job, started, hash, parsed) = item?;
        options.progress.advance(job.file.size);
        let Some(parsed) =
            parsed.filter(|_| !claimed_hashes.contains(&(job.source.source.clone(), hash.clone())))
        else {
            info!(file = %job.file.key, source = %job.source.source, "already loaded (same content): skipped");
            report.skipped.push(job.file.key.clone());
            continue;
        };
        claimed_hashes.insert((job.source.source.clone(), hash.clone()));
        let entry = commit(
            &warehouse,
            &job,
            &load_id,
            started,
            &hash,
            parsed,
            options.fail_before_manifest_of.as_deref(),
        )
        .await?;
        report.files.push(FileReport {
            source: entry.source.clone(),
            file: entry.file.clone(),
            status: entry.status,
            rows_read: entry.rows_read,
            rows_accepted: entry.rows_accepted,
            rows_rejected: entry.rows_rejected,
            message: entry.message.clone(),
        });
    }
    options.progress.finish();
    Ok(report)
}

type Parsed = (Result<FileOutcome, (FileRejection, u64)>, f64);

/// Rows of one entity held in memory per file before they spill to the staging directory.
pub const DEFAULT_SPILL_ROWS: usize = 262_144;

fn parse(
    source: &SourceSpec,
    file: &str,
    load_id: &str,
    key: &PseudonymKey,
    bytes: Bytes,
    staging: &std::path::Path,
    spill_rows: usize,
) -> Parsed {
    let t = Instant::now();
    let ctx = FileContext {
        file,
        load_id,
        key,
        batch_rows: 65_536,
        staging: Some(staging),
        spill_rows,
    };
    let outcome = ingest_file(source, &ctx, bytes);
    (outcome, t.elapsed().as_secs_f64())
}

/// Every entity a source can feed: a re-sent file must clear all of them.
fn entities_of(source: &SourceSpec) -> BTreeSet<Entity> {
    source
        .outputs()
        .into_iter()
        .map(|(_, o)| o.entity)
        .collect()
}

async fn commit(
    warehouse: &Warehouse,
    job: &Job,
    load_id: &str,
    started: chrono::DateTime<Utc>,
    hash: &str,
    (outcome, parse_secs): Parsed,
    fail_before_manifest_of: Option<&str>,
) -> Result<ManifestEntry, PipelineError> {
    let source = &job.source;
    let file = &job.file.key;
    let mut entry = ManifestEntry {
        load_id: load_id.to_string(),
        source: source.source.clone(),
        file: file.clone(),
        size: job.file.size,
        content_hash: hash.to_string(),
        rows_read: 0,
        rows_accepted: 0,
        rows_rejected: 0,
        started_at: started,
        finished_at: started,
        status: FileStatus::Loaded,
        message: None,
        table_versions: BTreeMap::new(),
    };
    let replace_file = Replace::File {
        source: source.source.clone(),
        file: file.clone(),
    };
    match outcome {
        Err((rejection, rows_read)) => {
            warn!(file = %file, source = %source.source, line = rejection.line, "file rejected whole: {}", rejection.message);
            entry.status = FileStatus::Rejected;
            entry.rows_read = rows_read;
            entry.rows_rejected = rows_read;
            entry.message = Some(format!("line {}: {}", rejection.line, rejection.message));
            let row = QuarantineRow {
                line: rejection.line,
                column: String::new(),
                reason: format!("file rejected whole: {}", rejection.message),
                value: None,
                person_key: None,
            };
            let batch = quarantine_batch(&source.source, file, load_id, &[row])?;
            if let Some(v) = warehouse
                .write(
                    QUARANTINE_TABLE,
                    quarantine_schema(),
                    vec![],
                    vec![batch],
                    &replace_file,
                )
                .await?
            {
                entry.table_versions.insert(QUARANTINE_TABLE.to_string(), v);
            }
        }
        Ok(mut outcome) => {
            entry.rows_read = outcome.rows_read;
            entry.rows_accepted = outcome.rows_accepted;
            entry.rows_rejected = outcome.rows_rejected;
            let months: Vec<String> = outcome
                .entities
                .values()
                .flat_map(|b| b.months.iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            for entity in entities_of(source) {
                let replace = match source.load {
                    LoadMode::Append => replace_file.clone(),
                    LoadMode::Replace {
                        period: ReplacePeriod::Month,
                    } if entity.event_date_field().is_some() => Replace::Months {
                        source: source.source.clone(),
                        months: months.clone(),
                    },
                    LoadMode::Replace { .. } => Replace::Source {
                        source: source.source.clone(),
                    },
                };
                let input = match outcome.entities.remove(&entity).map(|b| b.finish()) {
                    None => WriteInput::Batches(vec![]),
                    Some(Ok(EntityData::Batches(b))) => WriteInput::Batches(b),
                    Some(Ok(EntityData::Staged(path))) => WriteInput::Parquet(path),
                    Some(Err(e)) => {
                        return Err(PipelineError::Internal(format!("staging {file}: {e}")));
                    }
                };
                let staged = match &input {
                    WriteInput::Parquet(p) => Some(p.clone()),
                    WriteInput::Batches(_) => None,
                };
                let version = warehouse
                    .write_input(
                        entity.table_name(),
                        entity.partition_columns(),
                        input,
                        &replace,
                    )
                    .await;
                if let Some(p) = staged {
                    let _ = std::fs::remove_file(p);
                }
                let version = version?;
                if let Some(v) = version {
                    entry
                        .table_versions
                        .insert(entity.table_name().to_string(), v);
                }
            }
            let batch = quarantine_batch(&source.source, file, load_id, &outcome.quarantine)?;
            if let Some(v) = warehouse
                .write(
                    QUARANTINE_TABLE,
                    quarantine_schema(),
                    vec![],
                    vec![batch],
                    &replace_file,
                )
                .await?
            {
                entry.table_versions.insert(QUARANTINE_TABLE.to_string(), v);
            }
            let rate = if parse_secs > 0.0 {
                entry.rows_read as f64 / parse_secs
            } else {
                0.0
            };
            info!(
                file = %file,
                source = %source.source,
                read = entry.rows_read,
                accepted = entry.rows_accepted,
                rejected = entry.rows_rejected,
                rows_per_s = rate.round(),
                "loaded"
            );
            for (reason, n) in &outcome.rejections_by_reason {
                info!(file = %file, reason = %reason, rows = n, "rejected rows");
            }
        }
    }
    entry.finished_at = Utc::now();
    if fail_before_manifest_of == Some(file.as_str()) {
        return Err(PipelineError::Internal(format!(
            "injected fault before the manifest entry of {file}"
        )));
    }
    warehouse
        .record_manifest(std::slice::from_ref(&entry))
        .await?;
    Ok(entry)
}

fn quarantine_batch(
    source: &str,
    file: &str,
    load_id: &str,
    rows: &[QuarantineRow],
) -> Result<arrow::record_batch::RecordBatch, PipelineError> {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![source; n])),
        Arc::new(StringArray::from(vec![file; n])),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.line as i64),
        )),
        Arc::new(StringArray::from(vec![load_id; n])),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.column.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.reason.as_str()),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| r.person_key.clone())
                .collect::<Vec<_>>(),
        )),
    ];
    arrow::record_batch::RecordBatch::try_new(quarantine_schema(), columns)
        .map_err(|e| PipelineError::Internal(format!("quarantine batch: {e}")))
}
