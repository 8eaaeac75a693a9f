//! The ingest step: find new files per source, load each atomically, record the manifest.
//!
//! Files are parsed two at a time on blocking threads (both cores busy) while earlier
//! files are committed in groups (see `commit.rs`): one commit per table for a group, then
//! the manifest entries of its files, which is what makes their rows visible to readers.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};
use vigie_ingest::plausible::DateBounds;
use vigie_ingest::{FileContext, FileFailure, FileOutcome, ingest_file};
use vigie_model::PseudonymKey;
use vigie_model::config::{DeclaredPeriod, FilePattern, LoadedPipeline, SourceSpec};
use vigie_warehouse::{FileStatus, ManifestEntry, SessionOptions, Warehouse};

use crate::commit::{Group, ParsedFile};
use crate::error::PipelineError;
use crate::guard::ReplacedRows;
use crate::landing::{Landing, LandingFile};
use crate::progress::Progress;
use crate::stored::{SharedRecords, loaded_records};

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
    /// Only these landing keys (None: every file).
    pub only: Option<BTreeSet<String>>,
    /// Apply held files among `only` as they are, guards off (`vigie held release`).
    pub release_held: bool,
    /// Fault injection for tests: the parser of this landing key panics.
    pub panic_in_parser_of: Option<String>,
    /// Fault injection for tests: this landing key's rows cannot be staged (as on a full
    /// or unwritable disk).
    pub unwritable_staging_for: Option<String>,
}

impl<'a> IngestOptions<'a> {
    /// The pipeline's own landing zone and warehouse, every file, no fault injected.
    pub fn for_pipeline(pipeline: &LoadedPipeline, progress: &'a dyn Progress) -> Self {
        IngestOptions {
            landing: pipeline.spec.landing.clone(),
            warehouse: pipeline.spec.warehouse.clone(),
            retry_rejected: false,
            progress,
            fail_before_manifest_of: None,
            spill_rows: DEFAULT_SPILL_ROWS,
            only: None,
            release_held: false,
            panic_in_parser_of: None,
            unwritable_staging_for: None,
        }
    }
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
    /// Files not loaded this time for an environmental reason (I/O, disk, a crashed
    /// parser), with the reason: they stay pending and the next run retries them.
    pub postponed: Vec<(String, String)>,
    /// Files still arriving: changed less than their source's settle time ago, or still
    /// waiting for their ready marker.
    pub waiting: Vec<String>,
    /// Files held earlier and still waiting for `vigie held release|discard`.
    pub still_held: Vec<String>,
}

impl IngestReport {
    /// Files held by a guard in this load.
    pub fn held(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.status == FileStatus::Held)
    }

    /// Files rejected whole in this load.
    pub fn rejected(&self) -> impl Iterator<Item = &FileReport> {
        self.files
            .iter()
            .filter(|f| f.status == FileStatus::Rejected)
    }
}

struct Job {
    source: Arc<SourceSpec>,
    file: LandingFile,
    period: Option<DeclaredPeriod>,
    loaded: Option<SharedRecords>,
    release: bool,
    /// Not known to the manifest as it is now (a new file, or one that changed).
    fresh: bool,
}

/// What the parsing task hands to the committer for one file.
enum Step {
    /// The same content is already in the manifest.
    Skipped,
    /// Parsed (or rejected whole).
    Parsed(Result<FileOutcome, FileFailure>, f64),
    /// Not parsed for an environmental reason: the file stays pending.
    Postponed(String),
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
    // One writer at a time: a second process waits here (or gives up, naming the holder),
    // and reads the manifest only once the first has committed everything.
    let lock = warehouse
        .lock_writer(
            "ingest",
            std::time::Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    let load_id = uuid::Uuid::now_v7().to_string();
    // Rows of large files spill here during parsing; removed with everything in it at the end.
    let staging_dir = tempfile::Builder::new()
        .prefix("vigie-staging-")
        .tempdir()
        .map_err(|source| PipelineError::Io {
            what: "cannot create a staging directory".into(),
            source,
        })?;
    let staging = staging_dir.path();
    let mut report = IngestReport {
        load_id: load_id.clone(),
        ..Default::default()
    };

    let manifest = warehouse.manifest(None).await?;
    let held_now = outstanding_held(&manifest);
    // What `vigie held release` applies as it is: the held content of the files it names.
    let released: HashSet<(String, String)> = held_now
        .iter()
        .filter(|e| {
            options.release_held && options.only.as_ref().is_some_and(|o| o.contains(&e.file))
        })
        .map(|e| (e.source.clone(), e.content_hash.clone()))
        .collect();
    let done: HashSet<(String, String)> = manifest
        .iter()
        .filter(|e| match e.status {
            FileStatus::Loaded | FileStatus::Discarded => true,
            FileStatus::Rejected => !options.retry_rejected,
            // A held file waits for a person, unless this run releases it.
            FileStatus::Held => {
                !(options.release_held
                    && options.only.as_ref().is_some_and(|o| o.contains(&e.file)))
            }
        })
        .map(|e| (e.source.clone(), e.content_hash.clone()))
        .collect();

    // Files the manifest already knows, unchanged since: no need to wait for them to settle.
    let known: HashMap<(&str, &str), (u64, chrono::DateTime<Utc>)> = manifest
        .iter()
        .map(|e| ((e.source.as_str(), e.file.as_str()), (e.size, e.started_at)))
        .collect();
    let files = landing.list().await?;
    let matchers: Vec<(Arc<SourceSpec>, FilePattern)> = pipeline
        .sources
        .iter()
        .map(|(path, s)| {
            FilePattern::parse(&s.files)
                .map(|p| (Arc::new(s.clone()), p))
                .map_err(|e| PipelineError::Internal(format!("{}: files: {e}", path.display())))
        })
        .collect::<Result<_, _>>()?;
    let keys: HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let now = Utc::now();
    let mut jobs = Vec::new();
    for file in &files {
        if let Some(only) = &options.only
            && !only.contains(&file.key)
        {
            continue;
        }
        let claimed: Vec<_> = matchers
            .iter()
            .filter(|(_, m)| m.is_match(&file.key))
            .collect();
        match claimed.as_slice() {
            [] => {
                // A ready marker is not data.
                let marker = matchers.iter().any(|(s, _)| {
                    s.ready_marker.as_deref().is_some_and(|suffix| {
                        file.key
                            .strip_suffix(suffix)
                            .is_some_and(|data| keys.contains(data))
                    })
                });
                if !marker {
                    report.unclaimed.push(file.key.clone());
                }
            }
            [(source, pattern)] => {
                let settled = (now - file.modified).num_seconds()
                    >= i64::try_from(source.settle_seconds).unwrap_or(i64::MAX);
                let marked = source
                    .ready_marker
                    .as_deref()
                    .is_none_or(|suffix| keys.contains(format!("{}{suffix}", file.key).as_str()));
                let unchanged = known
                    .get(&(source.source.as_str(), file.key.as_str()))
                    .is_some_and(|(size, at)| *size == file.size && file.modified <= *at);
                if !unchanged && (!settled || !marked) {
                    info!(file = %file.key, source = %source.source, settled, marked, "still arriving: left for the next run");
                    report.waiting.push(file.key.clone());
                    continue;
                }
                jobs.push(Job {
                    source: source.clone(),
                    period: pattern.period(&file.key),
                    file: file.clone(),
                    loaded: None,
                    release: options.release_held,
                    fresh: !unchanged || options.retry_rejected,
                });
            }
            many => {
                let ids: Vec<_> = many.iter().map(|(s, _)| s.source.as_str()).collect();
                // The patterns overlap: the user's configuration, not a bug.
                return Err(PipelineError::Config(vigie_model::ConfigError::Invalid(
                    vec![vigie_model::ConfigProblem {
                        file: pipeline.path.clone(),
                        line: None,
                        key: "sources".into(),
                        message: format!(
                            "{} matches the file patterns of several sources ({}): make the `files` patterns disjoint",
                            file.key,
                            ids.join(", ")
                        ),
                    }],
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
    report.still_held = held_now
        .iter()
        .filter(|e| !jobs.iter().any(|j| j.release && j.file.key == e.file))
        .map(|e| e.file.clone())
        .collect();
    for file in &report.still_held {
        warn!(file = %file, "held for review: `vigie held list` shows why; `vigie held release|discard` decides");
    }

    // What the guards and the duplicate check compare new files with: the warehouse as
    // its manifest shows it.
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    // Only sources with a new or changed file: every run lists every landed file, and
    // reading a large source's records again each time would cost more than the load.
    let sources_with_jobs: Vec<&SourceSpec> = {
        let mut seen = HashSet::new();
        jobs.iter()
            .filter(|j| j.fresh || j.release)
            .filter(|j| seen.insert(j.source.source.clone()))
            .map(|j| j.source.as_ref())
            .collect()
    };
    let mut replaced = ReplacedRows::read(&ctx, &sources_with_jobs).await?;
    let mut loaded: HashMap<String, SharedRecords> = HashMap::new();
    for source in &sources_with_jobs {
        if let Some(records) = loaded_records(&ctx, source).await? {
            loaded.insert(source.source.clone(), Arc::new(records));
        }
    }
    drop(ctx);
    for job in &mut jobs {
        job.loaded = loaded.get(&job.source.source).cloned();
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
    let earliest = pipeline.spec.earliest_date;
    let identifiers = Arc::new(identifier_detector(pipeline));
    let panic_in = options.panic_in_parser_of.clone();
    let unwritable = options.unwritable_staging_for.clone();
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
                let bytes = landing.read(&job.file).await;
                let hash = bytes
                    .as_ref()
                    .map(|b| hex::encode(Sha256::digest(b)))
                    .unwrap_or_default();
                (job, started, bytes, hash, key)
            }
        }))
        .buffered(2)
        .map(|(job, started, bytes, hash, key)| {
            let done = done.clone();
            let staging = staging.clone();
            let load_id = load_id.clone();
            let panic_in = panic_in.clone();
            let identifiers = identifiers.clone();
            let staging = if unwritable.as_deref() == Some(job.file.key.as_str()) {
                staging.join("not-there")
            } else {
                staging
            };
            async move {
                let bytes = match bytes {
                    Ok(b) => b,
                    Err(e) => return (job, started, hash, Step::Postponed(e.to_string())),
                };
                if done.contains(&(job.source.source.clone(), hash.clone())) {
                    return (job, started, hash, Step::Skipped);
                }
                let source = job.source.clone();
                let file_key = job.file.key.clone();
                let period = job.period;
                let records = job.loaded.clone();
                let dates = DateBounds::new(
                    earliest,
                    Utc::now().naive_utc(),
                    job.source.future_tolerance_days,
                );
                let must_panic = panic_in.as_deref() == Some(job.file.key.as_str());
                let parsed = tokio::task::spawn_blocking(move || {
                    if must_panic {
                        panic!("injected parser fault");
                    }
                    let ctx = FileContext {
                        file: &file_key,
                        load_id: &load_id,
                        key: &key,
                        batch_rows: 65_536,
                        staging: Some(&staging),
                        spill_rows,
                        period,
                        dates,
                        loaded: records.as_deref(),
                        identifiers: &identifiers,
                    };
                    let t = Instant::now();
                    let outcome = ingest_file(&source, &ctx, bytes);
                    (outcome, t.elapsed().as_secs_f64())
                })
                .await;
                let step = match parsed {
                    Ok((outcome, secs)) => Step::Parsed(outcome, secs),
                    // A crash of the parser is a bug of ours, not the partner's: the file
                    // stays pending and the other files go on.
                    Err(e) => Step::Postponed(format!(
                        "the parser crashed (please report this bug): {}",
                        panic_message(e)
                    )),
                };
                (job, started, hash, step)
            }
        })
        .buffered(2);
        futures::pin_mut!(parsed);
        while let Some(item) = parsed.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let consumer = async {
        let mut claimed_hashes: HashSet<(String, String)> = HashSet::new();
        let mut group = Group::default();
        while let Some((job, started, hash, step)) = rx.recv().await {
            options.progress.advance(job.file.size);
            let (outcome, parse_secs) = match step {
                Step::Postponed(reason) => {
                    error!(file = %job.file.key, source = %job.source.source, "not loaded, retried next run: {reason}");
                    report.postponed.push((job.file.key.clone(), reason));
                    continue;
                }
                Step::Parsed(Err(FileFailure::Environment(reason)), _) => {
                    error!(file = %job.file.key, source = %job.source.source, "not loaded, retried next run: {reason}");
                    report.postponed.push((job.file.key.clone(), reason));
                    continue;
                }
                Step::Skipped => {
                    info!(file = %job.file.key, source = %job.source.source, "already loaded (same content): skipped");
                    report.skipped.push(job.file.key.clone());
                    continue;
                }
                Step::Parsed(Ok(o), secs) => (Ok(o), secs),
                Step::Parsed(Err(FileFailure::Rejected(r, n)), secs) => (Err((r, n)), secs),
            };
            if claimed_hashes.contains(&(job.source.source.clone(), hash.clone())) {
                info!(file = %job.file.key, source = %job.source.source, "same content as another file of this load: skipped");
                report.skipped.push(job.file.key.clone());
                continue;
            }
            claimed_hashes.insert((job.source.source.clone(), hash.clone()));
            let hold = match &outcome {
                // Released: the very content a person looked at, and nothing else (a file
                // re-sent since it was held is new, and guarded like any other).
                Ok(_)
                    if job.release
                        && released.contains(&(job.source.source.clone(), hash.clone())) =>
                {
                    None
                }
                Ok(o) => replaced.hold_reason(&job.source, job.period.as_ref(), o),
                _ => None,
            };
            if let (Ok(o), None) = (&outcome, &hold) {
                replaced.apply(&job.source, job.period.as_ref(), o);
            }
            if let Some(reason) = &hold {
                warn!(file = %job.file.key, source = %job.source.source, "held for review, nothing applied: {reason}");
            }
            let file = ParsedFile {
                source: job.source,
                file: job.file,
                period: job.period,
                started,
                hash,
                outcome,
                hold,
                parse_secs,
            };
            if group.must_commit_before(&file) {
                let entries = std::mem::take(&mut group)
                    .commit(
                        &warehouse,
                        &load_id,
                        options.fail_before_manifest_of.as_deref(),
                        &lock,
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
                    &lock,
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
    lock.release().await?;
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

/// Parsed files waiting for the commit of a group, beyond the two being parsed.
const PARSED_AHEAD: usize = 8;

/// Rows of one entity held in memory per file before they spill to the staging directory.
pub const DEFAULT_SPILL_ROWS: usize = 262_144;

/// Every identifier format the pipeline's sources declare: a value shaped like any of
/// them is kept out of every other column of every source (a survey platform that puts a
/// health card number in its response id, a hospital extract whose stray quote shifts one
/// into a text column).
fn identifier_detector(pipeline: &LoadedPipeline) -> vigie_model::IdentifierDetector {
    let mut schemes: Vec<vigie_model::IdScheme> = Vec::new();
    for (_, source) in &pipeline.sources {
        for scheme in source.identifier_schemes() {
            if !schemes.contains(&scheme) {
                schemes.push(scheme);
            }
        }
    }
    vigie_model::IdentifierDetector::new(&schemes)
}

/// The text of a parser thread's panic, for the log and the report.
fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "the parser task was cancelled".into();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Held entries no later decision (release, discard, reload of the same content) settled.
pub fn outstanding_held(manifest: &[ManifestEntry]) -> Vec<ManifestEntry> {
    let settled: HashSet<(&str, &str)> = manifest
        .iter()
        .filter(|e| e.status != FileStatus::Held)
        .map(|e| (e.source.as_str(), e.content_hash.as_str()))
        .collect();
    let mut seen = HashSet::new();
    manifest
        .iter()
        .rev()
        .filter(|e| e.status == FileStatus::Held)
        .filter(|e| !settled.contains(&(e.source.as_str(), e.content_hash.as_str())))
        .filter(|e| seen.insert((e.source.clone(), e.content_hash.clone())))
        .cloned()
        .collect()
}
