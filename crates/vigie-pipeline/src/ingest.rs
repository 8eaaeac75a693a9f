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
use vigie_ingest::{
    FileContext, FileFailure, FileOutcome, FileRejection, ingest_file, ingest_scanned,
};
use vigie_model::config::{DeclaredPeriod, FilePattern, LoadMode, LoadedPipeline, SourceSpec};
use vigie_model::{PersonNumbers, PseudonymKey};
use vigie_warehouse::{FileStatus, ManifestEntry, SessionOptions, Warehouse, WriterLock};

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
    /// Read and hash again the files the manifest knows unchanged (same size, not modified
    /// since their load started), instead of skipping them unread.
    pub verify_unchanged: bool,
    /// Progress display.
    pub progress: &'a dyn Progress,
    /// Fault injection for crash tests: stop with an error after writing this file's rows
    /// and before committing its manifest entry, as a crash at that point would.
    pub fail_before_manifest_of: Option<String>,
    /// Rows per entity and file held in memory before they spill to a staging Parquet file
    /// (bounded memory whatever the file size); [`DEFAULT_SPILL_ROWS`] unless testing.
    pub spill_rows: usize,
    /// A CSV extract of at least twice this many bytes is read in parts on every core
    /// ([`vigie_ingest::DEFAULT_PART_BYTES`] unless testing; 0: always whole).
    pub part_bytes: usize,
    /// Only these landing keys (None: every file).
    pub only: Option<BTreeSet<String>>,
    /// Apply held files among `only` as they are, guards off (`vigie held release`).
    pub release_held: bool,
    /// Fault injection for tests: the parser of this landing key panics.
    pub panic_in_parser_of: Option<String>,
    /// Fault injection for tests: this landing key's rows cannot be staged (as on a full
    /// or unwritable disk).
    pub unwritable_staging_for: Option<String>,
    /// Numbers a load must read from the table or give, beyond the numbering's copy, before
    /// it writes a new copy for the next load ([`DEFAULT_NUMBERING_COPY_MIN`] unless testing).
    pub numbering_copy_min: usize,
}

/// A numbering smaller than this is read from its table without a copy: the copy pays from
/// a few hundred thousand persons (a province's 15M keys: 2.6 s from the table, about 1 s
/// from the copy).
pub const DEFAULT_NUMBERING_COPY_MIN: usize = 65_536;

impl<'a> IngestOptions<'a> {
    /// The pipeline's own landing zone and warehouse, every file, no fault injected.
    pub fn for_pipeline(pipeline: &LoadedPipeline, progress: &'a dyn Progress) -> Self {
        IngestOptions {
            landing: pipeline.spec.landing.clone(),
            warehouse: pipeline.spec.warehouse.clone(),
            retry_rejected: false,
            verify_unchanged: false,
            progress,
            fail_before_manifest_of: None,
            spill_rows: DEFAULT_SPILL_ROWS,
            part_bytes: vigie_ingest::DEFAULT_PART_BYTES,
            only: None,
            release_held: false,
            panic_in_parser_of: None,
            unwritable_staging_for: None,
            numbering_copy_min: DEFAULT_NUMBERING_COPY_MIN,
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
    /// Files skipped because the same content was already loaded (or held, or discarded).
    pub skipped: Vec<String>,
    /// Files skipped because the same content was rejected whole before (`--retry-rejected`
    /// reads them again).
    pub skipped_rejected: Vec<String>,
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
    /// Files whose name holds what looks like a person identifier, as masked names: not
    /// read, not recorded anywhere (a name goes with every row it loads, into the manifest
    /// and the logs), until renamed.
    pub refused_names: Vec<String>,
}

impl IngestReport {
    /// Files held by a guard in this load.
    pub fn held(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.status == FileStatus::Held)
    }

    /// Files rejected whole in this load (those refused for their name are in
    /// [`Self::refused_names`]).
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
    /// Not known to the manifest as it is now (a new file, or one that changed), or to be
    /// read again whatever the manifest says (`retry_rejected`, `verify_unchanged`).
    fresh: bool,
    /// What the manifest last decided for the file as it is now, when it knows it.
    decided: Option<FileStatus>,
}

/// What the parsing task hands to the committer for one file.
enum Step {
    /// The same content is already in the manifest, with this decision.
    Skipped(FileStatus),
    /// The manifest knows the file unchanged since its load (same size, not modified
    /// since): skipped without reading it.
    Unchanged,
    /// Parsed (or rejected whole).
    Parsed(Result<FileOutcome, FileFailure>, f64),
    /// Not parsed for an environmental reason: the file stays pending.
    Postponed(String),
}

/// One file as the parsing task hands it over: its job, when its load started, the
/// SHA-256 of its content and what parsing made of it.
struct ParsedJob {
    job: Job,
    started: chrono::DateTime<Utc>,
    hash: String,
    step: Step,
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
    // Rows carry person numbers: a warehouse loaded before they existed is numbered first.
    crate::migrate::number_persons(&warehouse, &lock).await?;
    let load_id = uuid::Uuid::now_v7().to_string();
    // Rows of large files spill here during parsing; removed with everything in it at the end.
    let staging_dir =
        crate::staging::create(&std::env::temp_dir()).map_err(|source| PipelineError::Io {
            what: "cannot create a staging directory".into(),
            source,
        })?;
    let mut report = IngestReport {
        load_id: load_id.clone(),
        ..Default::default()
    };

    let manifest = warehouse.manifest(None).await?;
    let held_now = outstanding_held(&manifest);
    let decided = Decided::from_manifest(&manifest, &held_now, options);
    let files = landing.list().await?;
    let matchers = source_matchers(pipeline)?;
    let mut jobs = plan_jobs(
        &pipeline.path,
        &files,
        &matchers,
        &manifest,
        options,
        &mut report,
    )?;
    report.still_held = still_held(&held_now, &jobs);
    let replaced = read_what_jobs_compare_with(&warehouse, &mut jobs).await?;
    // The stored numbering, read only when a file may be parsed (it holds every person).
    let numbers = if jobs.iter().any(|j| j.fresh || j.release) {
        Some(Arc::new(warehouse.person_numbers().await?))
    } else {
        None
    };

    options
        .progress
        .start("ingest", jobs.iter().map(|j| j.file.size).sum());
    let settings = ParseSettings {
        key,
        numbers: numbers.clone(),
        done: decided.done,
        staging: staging_dir.path().to_path_buf(),
        spill_rows: options.spill_rows,
        part_bytes: options.part_bytes,
        load_id: load_id.clone(),
        earliest: pipeline.spec.earliest_date,
        identifiers: identifier_detector(pipeline),
        panic_in: options.panic_in_parser_of.clone(),
        unwritable: options.unwritable_staging_for.clone(),
    };
    let (mut rx, producer) = spawn_parsing(jobs, landing.clone(), settings);
    let mut committer = Committer {
        warehouse: &warehouse,
        load_id: &load_id,
        fail_before_manifest_of: options.fail_before_manifest_of.as_deref(),
        lock: &lock,
        numbers: numbers.clone(),
        progress: options.progress,
        released: decided.released,
        replaced,
        claimed_hashes: HashSet::new(),
        group: Group::default(),
        report: &mut report,
    };
    let consumed = async {
        while let Some(parsed) = rx.recv().await {
            committer.take(parsed).await?;
        }
        committer.finish().await
    }
    .await;
    // On a commit error the channel closes and the producer stops at its next send.
    drop(rx);
    let produced = producer.await;
    consumed?;
    produced.map_err(|e| PipelineError::Internal(format!("parser task failed: {e}")))?;
    if let Some(numbers) = &numbers {
        // For the next load (every number given is stored by now). Failing costs that load
        // a whole read of the table, never this one.
        if let Err(e) = warehouse
            .keep_person_numbers(numbers, &lock, options.numbering_copy_min)
            .await
        {
            warn!(
                "the person numbering's copy was not written: {e} / la copie de la \
                 numérotation des personnes n'a pas été écrite : {e}"
            );
        }
    }
    lock.release().await?;
    options.progress.finish();
    Ok(report)
}

/// What the manifest has decided already, as (source, content hash) pairs.
struct Decided {
    /// What `vigie held release` applies as it is: the held content of the files it names.
    released: HashSet<(String, String)>,
    /// Content not to parse again, with its decision: loaded, discarded, rejected (unless
    /// retried) or held (unless released by this run).
    done: HashMap<(String, String), FileStatus>,
}

impl Decided {
    fn from_manifest(
        manifest: &[ManifestEntry],
        held_now: &[ManifestEntry],
        options: &IngestOptions<'_>,
    ) -> Self {
        let releases = |file: &str| {
            options.release_held && options.only.as_ref().is_some_and(|o| o.contains(file))
        };
        let released = held_now
            .iter()
            .filter(|e| releases(&e.file))
            .map(|e| (e.source.clone(), e.content_hash.clone()))
            .collect();
        let mut done: HashMap<(String, String), FileStatus> = HashMap::new();
        for e in manifest.iter().filter(|e| match e.status {
            FileStatus::Loaded | FileStatus::Discarded => true,
            FileStatus::Rejected => !options.retry_rejected,
            // A held file waits for a person, unless this run releases it.
            FileStatus::Held => !releases(&e.file),
        }) {
            // Content rejected once and applied since (a spec fixed, then a retry) counts
            // as applied.
            done.entry((e.source.clone(), e.content_hash.clone()))
                .and_modify(|s| {
                    if *s == FileStatus::Rejected {
                        *s = e.status;
                    }
                })
                .or_insert(e.status);
        }
        Decided { released, done }
    }
}

/// Each source of the pipeline with its parsed `files` pattern.
fn source_matchers(
    pipeline: &LoadedPipeline,
) -> Result<Vec<(Arc<SourceSpec>, FilePattern)>, PipelineError> {
    pipeline
        .sources
        .iter()
        .map(|(path, s)| {
            FilePattern::parse(&s.files)
                .map(|p| (Arc::new(s.clone()), p))
                .map_err(|e| PipelineError::Internal(format!("{}: files: {e}", path.display())))
        })
        .collect()
}

/// The files to load this run, each with the source that claims it. Files no source
/// claims (ready markers aside) and files still arriving go to the report instead.
fn plan_jobs(
    pipeline_file: &std::path::Path,
    files: &[LandingFile],
    matchers: &[(Arc<SourceSpec>, FilePattern)],
    manifest: &[ManifestEntry],
    options: &IngestOptions<'_>,
    report: &mut IngestReport,
) -> Result<Vec<Job>, PipelineError> {
    // Files the manifest already knows, unchanged since: no need to wait for them to settle.
    let known: HashMap<(&str, &str), (u64, chrono::DateTime<Utc>, FileStatus)> = manifest
        .iter()
        .map(|e| {
            (
                (e.source.as_str(), e.file.as_str()),
                (e.size, e.started_at, e.status),
            )
        })
        .collect();
    let keys: HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let now = Utc::now();
    let mut jobs = Vec::new();
    // Every scheme of every source: a card number in a file's name is one whatever the
    // source the file is for, or none.
    let schemes: Vec<_> = matchers
        .iter()
        .flat_map(|(s, _)| s.identifier_schemes())
        .collect();
    let identifiers = vigie_model::IdentifierDetector::new(&schemes);
    for file in files {
        if let Some(only) = &options.only
            && !only.contains(&file.key)
        {
            continue;
        }
        if identifiers.contains_identifier(&file.key) {
            let masked = identifiers.mask_embedded(&file.key);
            warn!(file = %masked, "the file's name holds what looks like a person identifier: not read; rename it / le nom du fichier contient ce qui ressemble à un identifiant de personne : fichier non lu ; renommez-le");
            report.refused_names.push(masked);
            continue;
        }
        let claimed: Vec<_> = matchers
            .iter()
            .filter(|(_, m)| m.is_match(&file.key))
            .collect();
        match claimed.as_slice() {
            [] => {
                if !is_ready_marker(file, matchers, &keys) {
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
                let decided = known
                    .get(&(source.source.as_str(), file.key.as_str()))
                    .filter(|(size, at, _)| *size == file.size && file.modified <= *at)
                    .map(|(_, _, status)| *status);
                let unchanged = decided.is_some();
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
                    fresh: !unchanged || options.retry_rejected || options.verify_unchanged,
                    decided,
                });
            }
            many => {
                let ids: Vec<_> = many.iter().map(|(s, _)| s.source.as_str()).collect();
                // The patterns overlap: the user's configuration, not a bug.
                return Err(PipelineError::Config(vigie_model::ConfigError::Invalid(
                    vec![vigie_model::ConfigProblem {
                        file: pipeline_file.to_path_buf(),
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
    Ok(jobs)
}

/// Files held earlier that this run does not release: they wait for a person.
fn still_held(held_now: &[ManifestEntry], jobs: &[Job]) -> Vec<String> {
    let files: Vec<String> = held_now
        .iter()
        .filter(|e| !jobs.iter().any(|j| j.release && j.file.key == e.file))
        .map(|e| e.file.clone())
        .collect();
    for file in &files {
        warn!(file = %file, "held for review: `vigie held list` shows why; `vigie held release|discard` decides");
    }
    files
}

/// Whether `file` is the ready marker of a data file beside it (a marker is not data).
fn is_ready_marker(
    file: &LandingFile,
    matchers: &[(Arc<SourceSpec>, FilePattern)],
    keys: &HashSet<&str>,
) -> bool {
    matchers.iter().any(|(s, _)| {
        s.ready_marker.as_deref().is_some_and(|suffix| {
            file.key
                .strip_suffix(suffix)
                .is_some_and(|data| keys.contains(data))
        })
    })
}

/// Reads what the guards and the duplicate check compare new files with — the warehouse
/// as its manifest shows it — and gives each job its source's loaded records.
async fn read_what_jobs_compare_with(
    warehouse: &Warehouse,
    jobs: &mut [Job],
) -> Result<ReplacedRows, PipelineError> {
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
    let mut declared_months: HashMap<String, BTreeSet<String>> = HashMap::new();
    for job in jobs.iter().filter(|j| j.fresh || j.release) {
        if let Some(period) = &job.period {
            declared_months
                .entry(job.source.source.clone())
                .or_default()
                .extend(period.month_keys());
        }
    }
    let mut appended_files: HashMap<String, BTreeSet<String>> = HashMap::new();
    for job in jobs.iter().filter(|j| j.fresh || j.release) {
        if job.source.load == LoadMode::Append {
            appended_files
                .entry(job.source.source.clone())
                .or_default()
                .insert(job.file.key.clone());
        }
    }
    let replaced =
        ReplacedRows::read(&ctx, &sources_with_jobs, &declared_months, &appended_files).await?;
    let mut loaded: HashMap<String, SharedRecords> = HashMap::new();
    for source in &sources_with_jobs {
        if let Some(records) = loaded_records(&ctx, source).await? {
            loaded.insert(source.source.clone(), Arc::new(records));
        }
    }
    drop(ctx);
    for job in jobs.iter_mut() {
        job.loaded = loaded.get(&job.source.source).cloned();
    }
    Ok(replaced)
}

/// What every parse of a load shares.
struct ParseSettings {
    key: PseudonymKey,
    /// The load's person numbering (None when no file is to be parsed).
    numbers: Option<Arc<PersonNumbers>>,
    /// Content already decided (see [`Decided::done`]): skipped without parsing.
    done: HashMap<(String, String), FileStatus>,
    staging: std::path::PathBuf,
    spill_rows: usize,
    part_bytes: usize,
    load_id: String,
    earliest: chrono::NaiveDate,
    identifiers: vigie_model::IdentifierDetector,
    /// Fault injection (see [`IngestOptions::panic_in_parser_of`]).
    panic_in: Option<String>,
    /// Fault injection (see [`IngestOptions::unwritable_staging_for`]).
    unwritable: Option<String>,
}

/// Starts the parsing task: files are read and parsed two at a time on blocking threads
/// and go on while the consumer commits a group; the channel holds the files parsed
/// ahead, bounded so memory stays bounded. A file the manifest knows unchanged (not
/// `fresh`) is skipped unread: reading a province's whole landing zone to hash it cost a
/// weekly load most of its time.
fn spawn_parsing(
    jobs: Vec<Job>,
    landing: Landing,
    settings: ParseSettings,
) -> (
    tokio::sync::mpsc::Receiver<ParsedJob>,
    tokio::task::JoinHandle<()>,
) {
    let settings = Arc::new(settings);
    let (tx, rx) = tokio::sync::mpsc::channel(PARSED_AHEAD);
    let producer = tokio::spawn(async move {
        let landing = &landing;
        // Files skipped unread are handed over first: in the stream below, with the files
        // to parse, each held one of its two places until the file parsed before it was
        // done (`buffered` yields in order), so a weekly load's two changed files, 35
        // unchanged months apart, were parsed one after the other.
        let (unchanged, to_read): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|j| !j.fresh && !j.release);
        for job in unchanged {
            let item = ParsedJob {
                job,
                started: Utc::now(),
                hash: String::new(),
                step: Step::Unchanged,
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
        let part_bytes = settings.part_bytes;
        let parsed = futures::stream::iter(to_read.into_iter().map(|job| async move {
            let started = Utc::now();
            let input = FileInput::read(landing, &job, part_bytes).await;
            let hash = input.as_ref().map(FileInput::hash).unwrap_or_default();
            (job, started, input, hash)
        }))
        .buffered(2)
        .map(|(job, started, input, hash)| {
            let settings = settings.clone();
            async move {
                let step = match input {
                    Ok(input) => parse(&job, &hash, input, landing, settings).await,
                    Err(e) => Step::Postponed(e.to_string()),
                };
                ParsedJob {
                    job,
                    started,
                    hash,
                    step,
                }
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
    (rx, producer)
}

/// What a file to parse was read into before its parse.
enum FileInput {
    /// Its bytes, read whole.
    Whole(bytes::Bytes),
    /// A large file: scanned as it streamed in, to be read by ranges in parts (never held
    /// whole: a national registry is 1.45 GB).
    Scanned(vigie_ingest::scan::Scan),
}

impl FileInput {
    async fn read(landing: &Landing, job: &Job, part_bytes: usize) -> Result<Self, PipelineError> {
        if vigie_ingest::reads_in_parts(&job.source.format, job.file.size, part_bytes) {
            landing
                .scan(&job.file, part_bytes)
                .await
                .map(FileInput::Scanned)
        } else {
            landing.read(&job.file).await.map(FileInput::Whole)
        }
    }

    /// The content hash the manifest keeps.
    fn hash(&self) -> String {
        match self {
            FileInput::Whole(bytes) => hex::encode(Sha256::digest(bytes)),
            FileInput::Scanned(scan) => scan.sha256.clone().unwrap_or_default(),
        }
    }
}

/// Parses one file on a blocking thread, unless its content is already decided.
async fn parse(
    job: &Job,
    hash: &str,
    input: FileInput,
    landing: &Landing,
    settings: Arc<ParseSettings>,
) -> Step {
    if let Some(status) = settings
        .done
        .get(&(job.source.source.clone(), hash.to_string()))
    {
        return Step::Skipped(*status);
    }
    let Some(numbers) = settings.numbers.clone() else {
        return Step::Postponed(
            "internal error: the person numbering was not read before parsing (please report)"
                .into(),
        );
    };
    let source = job.source.clone();
    let file_key = job.file.key.clone();
    let period = job.period;
    let records = job.loaded.clone();
    let dates = DateBounds::new(
        settings.earliest,
        Utc::now().naive_utc(),
        job.source.future_tolerance_days,
    );
    let must_panic = settings.panic_in.as_deref() == Some(job.file.key.as_str());
    let staging = if settings.unwritable.as_deref() == Some(job.file.key.as_str()) {
        settings.staging.join("not-there")
    } else {
        settings.staging.clone()
    };
    let ranges = landing.ranges(&job.file);
    let parsed = tokio::task::spawn_blocking(move || {
        if must_panic {
            panic!("injected parser fault");
        }
        let ctx = FileContext {
            file: &file_key,
            load_id: &settings.load_id,
            key: &settings.key,
            numbers: &numbers,
            batch_rows: 65_536,
            staging: Some(&staging),
            spill_rows: settings.spill_rows,
            part_bytes: settings.part_bytes,
            period,
            dates,
            loaded: records.as_deref(),
            identifiers: &settings.identifiers,
        };
        let t = Instant::now();
        let outcome = match input {
            FileInput::Whole(bytes) => ingest_file(&source, &ctx, bytes),
            FileInput::Scanned(scan) => ingest_scanned(&source, &ctx, &scan, &ranges),
        };
        (outcome, t.elapsed().as_secs_f64())
    })
    .await;
    match parsed {
        Ok((outcome, secs)) => Step::Parsed(outcome, secs),
        // A crash of the parser is a bug of ours, not the partner's: the file stays
        // pending and the other files go on.
        Err(e) => Step::Postponed(format!(
            "the parser crashed (please report this bug): {}",
            panic_message(e)
        )),
    }
}

/// The consumer of the parsed files: applies the guards, groups the files and commits
/// each group, recording what happened to every file in the report.
struct Committer<'a> {
    warehouse: &'a Warehouse,
    load_id: &'a str,
    fail_before_manifest_of: Option<&'a str>,
    lock: &'a WriterLock,
    /// The numbering whose new numbers each group commit stores.
    numbers: Option<Arc<PersonNumbers>>,
    progress: &'a dyn Progress,
    /// Held content this run applies as it is (see [`Decided::released`]).
    released: HashSet<(String, String)>,
    /// Rows the guards compare each file with, kept up to date as files are applied.
    replaced: ReplacedRows,
    /// Content already taken by an earlier file of this load.
    claimed_hashes: HashSet<(String, String)>,
    group: Group,
    report: &'a mut IngestReport,
}

impl Committer<'_> {
    /// Takes one file: records a skipped or postponed one, otherwise guards it and adds it
    /// to the group (committing the group first when the file cannot share it).
    async fn take(&mut self, parsed: ParsedJob) -> Result<(), PipelineError> {
        let ParsedJob {
            job,
            started,
            hash,
            step,
        } = parsed;
        self.progress.advance(job.file.size);
        let (outcome, parse_secs) = match step {
            Step::Postponed(reason) | Step::Parsed(Err(FileFailure::Environment(reason)), _) => {
                error!(file = %job.file.key, source = %job.source.source, "not loaded, retried next run: {reason}");
                self.report.postponed.push((job.file.key.clone(), reason));
                return Ok(());
            }
            Step::Skipped(FileStatus::Rejected) => {
                self.skip_rejected(&job, "the same content");
                return Ok(());
            }
            Step::Unchanged if job.decided == Some(FileStatus::Rejected) => {
                self.skip_rejected(&job, "unchanged since");
                return Ok(());
            }
            Step::Skipped(_) => {
                info!(file = %job.file.key, source = %job.source.source, "already loaded (same content): skipped");
                self.report.skipped.push(job.file.key.clone());
                return Ok(());
            }
            Step::Unchanged => {
                info!(file = %job.file.key, source = %job.source.source, "unchanged since its load (same size, not modified since): skipped unread");
                self.report.skipped.push(job.file.key.clone());
                return Ok(());
            }
            Step::Parsed(Ok(o), secs) => (Ok(o), secs),
            Step::Parsed(Err(FileFailure::Rejected(r, n)), secs) => (Err((r, n)), secs),
        };
        if !self
            .claimed_hashes
            .insert((job.source.source.clone(), hash.clone()))
        {
            info!(file = %job.file.key, source = %job.source.source, "same content as another file of this load: skipped");
            self.report.skipped.push(job.file.key.clone());
            return Ok(());
        }
        let hold = self.guard(&job, &hash, &outcome);
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
        if self.group.must_commit_before(&file) {
            self.commit_group().await?;
        }
        self.group.push(file);
        Ok(())
    }

    /// Why the guards hold the file (None: it is applied, and the guards' view of the
    /// warehouse now includes it).
    fn guard(
        &mut self,
        job: &Job,
        hash: &str,
        outcome: &Result<FileOutcome, (FileRejection, u64)>,
    ) -> Option<String> {
        let hold = match outcome {
            // Released: the very content a person looked at, and nothing else (a file
            // re-sent since it was held is new, and guarded like any other).
            Ok(_)
                if job.release
                    && self
                        .released
                        .contains(&(job.source.source.clone(), hash.to_string())) =>
            {
                None
            }
            Ok(o) => self
                .replaced
                .hold_reason(&job.source, job.period.as_ref(), &job.file.key, o),
            _ => None,
        };
        if let (Ok(o), None) = (outcome, &hold) {
            self.replaced
                .apply(&job.source, job.period.as_ref(), &job.file.key, o);
        }
        if let Some(reason) = &hold {
            warn!(file = %job.file.key, source = %job.source.source, "held for review, nothing applied: {reason}");
        }
        hold
    }

    /// Records a file skipped because its content was rejected whole before (`how`: the
    /// same content under another load, or the file unchanged since).
    fn skip_rejected(&mut self, job: &Job, how: &str) {
        warn!(file = %job.file.key, source = %job.source.source, "rejected whole before ({how}): skipped; once the source spec is fixed, run with --retry-rejected, or ask the partner for a new extract / déjà rejeté (même contenu) : ignoré ; une fois la spécification corrigée, relancez avec --retry-rejected, ou demandez un nouvel extrait");
        self.report.skipped_rejected.push(job.file.key.clone());
    }

    /// Commits the group gathered so far and starts a new one.
    async fn commit_group(&mut self) -> Result<(), PipelineError> {
        let entries = std::mem::take(&mut self.group)
            .commit(
                self.warehouse,
                self.load_id,
                self.fail_before_manifest_of,
                self.lock,
                self.numbers.as_deref(),
            )
            .await?;
        self.report.files.extend(entries);
        Ok(())
    }

    /// Commits the last group, once every file was taken.
    async fn finish(mut self) -> Result<(), PipelineError> {
        if !self.group.is_empty() {
            self.commit_group().await?;
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests;
