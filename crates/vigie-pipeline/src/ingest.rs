//! The ingest step: find new files per source, load each atomically, record the manifest.
//!
//! Files are parsed two at a time on blocking threads (both cores busy) while earlier
//! files are committed in groups (see `commit.rs`): one commit per table for a group, then
//! the manifest entries of its files, which is what makes their rows visible to readers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use vigie_ingest::{FileContext, FileOutcome, FileRejection, ingest_file};
use vigie_model::PseudonymKey;
use vigie_model::config::LoadedPipeline;
use vigie_model::config::SourceSpec;
use vigie_warehouse::{FileStatus, ManifestEntry, Warehouse};

use crate::commit::{Group, ParsedFile};
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
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Seconds spent parsing, validating and pseudonymising it (on one core).
    pub parse_seconds: f64,
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
    let done = Arc::new(done);
    let staging = staging.to_path_buf();
    let spill_rows = options.spill_rows;
    let producer_landing = landing.clone();
    let producer_load_id = load_id.clone();
    // Parsing runs in its own task (files parsed two at a time on blocking threads) and
    // goes on while the consumer below commits a group: the channel holds the files parsed
    // ahead, bounded so memory stays bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel(PARSED_AHEAD);
    let producer = tokio::spawn(async move {
        let landing = &producer_landing;
        let load_id = &producer_load_id;
        let parsed = futures::stream::iter(jobs.into_iter().map(|job| {
            let key = key.clone();
            async move {
                let started = Utc::now();
                let bytes = landing.read(&job.file).await?;
                let hash = hex::encode(Sha256::digest(&bytes));
                Ok::<_, PipelineError>((job, started, bytes, hash, key))
            }
        }))
        .buffered(2)
        .map(|res| {
            let done = done.clone();
            let staging = staging.clone();
            let load_id = load_id.clone();
            async move {
                let (job, started, bytes, hash, key) = res?;
                if done.contains(&(job.source.source.clone(), hash.clone())) {
                    return Ok::<_, PipelineError>((job, started, hash, None));
                }
                let source = job.source.clone();
                let file_key = job.file.key.clone();
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
        while let Some(item) = parsed.next().await {
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let consumer = async {
        let mut claimed_hashes: HashSet<(String, String)> = HashSet::new();
        let mut group = Group::default();
        while let Some(item) = rx.recv().await {
            let (job, started, hash, parsed) = item?;
            options.progress.advance(job.file.size);
            let Some((outcome, parse_secs)) = parsed
                .filter(|_| !claimed_hashes.contains(&(job.source.source.clone(), hash.clone())))
            else {
                info!(file = %job.file.key, source = %job.source.source, "already loaded (same content): skipped");
                report.skipped.push(job.file.key.clone());
                continue;
            };
            claimed_hashes.insert((job.source.source.clone(), hash.clone()));
            let file = ParsedFile {
                source: job.source,
                file: job.file,
                started,
                hash,
                outcome,
                parse_secs,
            };
            if group.must_commit_before(&file) {
                let entries = std::mem::take(&mut group)
                    .commit(
                        &warehouse,
                        &load_id,
                        options.fail_before_manifest_of.as_deref(),
                    )
                    .await?;
                report.files.extend(entries);
            }
            group.push(file);
        }
        if !group.is_empty() {
            let entries = group
                .commit(
                    &warehouse,
                    &load_id,
                    options.fail_before_manifest_of.as_deref(),
                )
                .await?;
            report.files.extend(entries);
        }
        Ok::<_, PipelineError>(())
    };
    let consumed = consumer.await;
    // On a commit error the channel closes and the producer stops at its next send.
    drop(rx);
    let produced = producer.await;
    consumed?;
    produced.map_err(|e| PipelineError::Internal(format!("parser task failed: {e}")))?;
    options.progress.finish();
    Ok(report)
}

impl FileReport {
    pub(crate) fn new(entry: &ManifestEntry, parse_seconds: f64) -> Self {
        FileReport {
            bytes: entry.size,
            parse_seconds,
            source: entry.source.clone(),
            file: entry.file.clone(),
            status: entry.status,
            rows_read: entry.rows_read,
            rows_accepted: entry.rows_accepted,
            rows_rejected: entry.rows_rejected,
            message: entry.message.clone(),
        }
    }
}

type Parsed = (Result<FileOutcome, (FileRejection, u64)>, f64);

/// Parsed files waiting for the commit of a group, beyond the two being parsed.
const PARSED_AHEAD: usize = 8;

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
