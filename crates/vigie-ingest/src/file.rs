//! Ingest of one file: read, bind the spec to the header, map and validate each record.

use std::collections::BTreeMap;

use bytes::Bytes;
use vigie_model::config::{FileFormat, SourceSpec};
use vigie_model::{Entity, FieldType, PersonNumbers, PseudonymKey};

use vigie_model::IdentifierDetector;
use vigie_model::config::DeclaredPeriod;

use sha2::{Digest, Sha256};

use crate::batch::{EntityBatches, Provenance, uuid_like};
use crate::chunked::{plan, reads_in_parts};
use crate::compile::{CompiledOutput, CompiledSource, Origin, compile};
use crate::convert::{Cells, EventMonth, FieldError, event_month};
use crate::dedup::{LoadedRecords, SeenRecords, combine, row_fingerprint};
use crate::error::{FileFailure, FileRejection};
use crate::plausible::DateBounds;
use crate::quarantine::{QuarantineRow, QuarantineSpill, quarantine_batch};
use crate::read::{ReadError, Record, count_records, read_csv, read_parquet};
use crate::scan::{RangeSource, Scan, scan_bytes};
use crate::value::Value;

/// What the ingest needs to know about the file besides its bytes.
#[derive(Clone, Copy)]
pub struct FileContext<'a> {
    /// The landing-zone key of the file (stored in `_file`).
    pub file: &'a str,
    /// The load this file belongs to (stored in `_load_id`).
    pub load_id: &'a str,
    /// The pseudonymisation key.
    pub key: &'a PseudonymKey,
    /// The load's person numbering: every accepted row naming a person gets its number.
    pub numbers: &'a PersonNumbers,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Directory for staging files: rows beyond `spill_rows` per entity go to Parquet there
    /// (None: everything stays in memory).
    pub staging: Option<&'a std::path::Path>,
    /// Rows per entity held in memory before spilling to the staging directory.
    pub spill_rows: usize,
    /// A CSV file of at least twice this many bytes is read in parts on several threads
    /// (0: always whole; see `chunked`). Needs `staging`.
    pub part_bytes: usize,
    /// The period the file's name declares: rows of other months are quarantined.
    pub period: Option<DeclaredPeriod>,
    /// Plausible dates for this load.
    pub dates: DateBounds,
    /// Records of this source already in the warehouse, for duplicates across files.
    pub loaded: Option<&'a LoadedRecords>,
    /// The identifier formats of the pipeline: a text value shaped like one of them is
    /// never stored outside an identifier column, nor shown in the quarantine.
    pub identifiers: &'a IdentifierDetector,
}

/// The result of a file that could be read.
pub struct FileOutcome {
    /// Data records read (the header is not a row).
    pub rows_read: u64,
    /// Records accepted (an unpivoted record counts once).
    pub rows_accepted: u64,
    /// Records rejected.
    pub rows_rejected: u64,
    /// Accepted rows per entity.
    pub entities: BTreeMap<Entity, EntityBatches>,
    /// One row per problem of each rejected record.
    pub quarantine: Vec<QuarantineRow>,
    /// Quarantine rows spilled to staging Parquet files (in the quarantine schema), when
    /// there were more than `spill_rows`; they come before those in `quarantine`.
    pub quarantine_staged: Vec<std::path::PathBuf>,
    /// Rejected records per reason, for logs and data-quality metrics (no values).
    pub rejections_by_reason: BTreeMap<String, u64>,
}

/// Ingests one file. `Err` means the file is rejected whole (its content is at fault) or
/// could not be ingested for an environmental reason (it stays pending).
pub fn ingest_file(
    spec: &SourceSpec,
    ctx: &FileContext<'_>,
    data: Bytes,
) -> Result<FileOutcome, FileFailure> {
    if let FileFormat::Csv(dialect) = &spec.format
        && reads_in_parts(&spec.format, data.len() as u64, ctx.part_bytes)
        && let Some(plan) = plan(spec, dialect, ctx, &scan_bytes(&data, ctx.part_bytes))
    {
        return crate::chunked::ingest(spec, ctx, dialect, &data, plan);
    }
    ingest_whole(spec, ctx, data)
}

/// Ingests a file scanned as it streamed in (see [`crate::scan`]), reading it from `source`:
/// in parts by ranges when it splits (it is then never held whole), otherwise whole — read
/// whole, its bytes must still be those scanned.
pub fn ingest_scanned(
    spec: &SourceSpec,
    ctx: &FileContext<'_>,
    scan: &Scan,
    source: &dyn RangeSource,
) -> Result<FileOutcome, FileFailure> {
    if let FileFormat::Csv(dialect) = &spec.format
        && let Some(plan) = plan(spec, dialect, ctx, scan)
    {
        return crate::chunked::ingest(spec, ctx, dialect, source, plan);
    }
    let data = source
        .read_range(0..scan.len)
        .map_err(FileFailure::Environment)?;
    if let Some(scanned) = &scan.sha256
        && hex::encode(Sha256::digest(&data)) != *scanned
    {
        return Err(FileFailure::Environment(
            "the file changed while it was read (its content differs from the one first read): it is probably still being written, and is read again at the next run".into(),
        ));
    }
    ingest_whole(spec, ctx, data)
}

/// Ingests a file read whole, on this thread.
fn ingest_whole(
    spec: &SourceSpec,
    ctx: &FileContext<'_>,
    data: Bytes,
) -> Result<FileOutcome, FileFailure> {
    let mut state = State::new(spec, ctx, None);
    let result = match &spec.format {
        FileFormat::Csv(dialect) => read_csv(&data, dialect, |r| state.record(r)),
        FileFormat::Parquet {} => read_parquet(data.clone(), |r| state.record(r)),
    };
    state.close_spill()?;
    finish(state, result, ctx, || count_records(&data, &spec.format))
}

/// The file's outcome once every record was read (or reading stopped at `result`'s error).
/// `count_rows` counts the data rows of the whole file (called for a file rejected whole).
pub(crate) fn finish(
    mut state: State<'_>,
    result: Result<(), ReadError>,
    ctx: &FileContext<'_>,
    count_rows: impl FnOnce() -> u64,
) -> Result<FileOutcome, FileFailure> {
    // The last run of accepted rows (a no-op when the caller numbered it already).
    let result = result.and_then(|()| state.number_pending());
    // A file rejected whole counts every record it holds as read and rejected, not only
    // those before the fault (a wrong header would otherwise count none).
    let rows_read = if result.is_err() {
        state.outcome.rows_read.max(count_rows())
    } else {
        state.outcome.rows_read
    };
    if let Some(message) = state.environment.take() {
        return Err(FileFailure::Environment(message));
    }
    let reject = |e: ReadError| {
        FileFailure::Rejected(
            FileRejection {
                file: ctx.file.to_string(),
                line: e.line,
                message: e.message,
            },
            rows_read,
        )
    };
    result.map_err(reject)?;
    if state.compiled.is_none() {
        return Err(reject(ReadError {
            line: 1,
            message: "the file is empty: no header row".into(),
        }));
    }
    for batches in state.outcome.entities.values_mut() {
        batches.flush().map_err(|e| match batch_failure(e) {
            BatchFailure::Environment(message) => FileFailure::Environment(message),
            BatchFailure::Internal(message) => FileFailure::Rejected(
                FileRejection {
                    file: ctx.file.to_string(),
                    line: 0,
                    message,
                },
                rows_read,
            ),
        })?;
    }
    debug_assert_eq!(
        state.outcome.rows_accepted + state.outcome.rows_rejected,
        state.outcome.rows_read
    );
    Ok(state.outcome)
}

/// What reading a file (or a part of it) builds, record by record.
pub(crate) struct State<'a> {
    spec: &'a SourceSpec,
    ctx: &'a FileContext<'a>,
    /// The spec bound to the header (None until the header is read).
    pub(crate) compiled: Option<CompiledSource>,
    pub(crate) outcome: FileOutcome,
    /// Fingerprint -> line of every record accepted so far in this file (or part).
    pub(crate) seen: SeenRecords,
    /// In a later part of a file read in parts, each record rejected as repeating one of
    /// the part's own: (its line, the line it repeats). That line may itself repeat a
    /// record of an earlier part, which only the joining of the parts finds out; the
    /// rejection then names the earlier part's line (see `chunked::join`). At most one
    /// entry per line of a part, whose size is bounded (`part_bytes`).
    pub(crate) local_repeats: Option<Vec<(u64, u64)>>,
    /// An environmental failure (staging disk full...) that stopped the reading.
    pub(crate) environment: Option<String>,
    /// Where quarantine rows beyond `spill_rows` go.
    quarantine_spill: Option<QuarantineSpill>,
    /// Accepted rows (with their line) waiting to be numbered as a run: see
    /// [`State::number_pending`].
    pending: Vec<(u64, Accepted)>,
}

/// Accepted rows numbered at once: enough to take the numbering's lock rarely, few enough
/// that the rows held meanwhile weigh nothing.
const NUMBERING_RUN: usize = 1024;

/// Where the rows of `ctx`'s file come from.
pub(crate) fn provenance(spec: &SourceSpec, ctx: &FileContext<'_>) -> Provenance {
    Provenance {
        source: spec.source.clone(),
        file: ctx.file.to_string(),
        load_id: ctx.load_id.to_string(),
    }
}

impl<'a> State<'a> {
    /// Nothing read yet; `compiled` is the spec bound to the header when the records to
    /// read come without it (a later part of a file read in parts).
    pub(crate) fn new(
        spec: &'a SourceSpec,
        ctx: &'a FileContext<'a>,
        compiled: Option<CompiledSource>,
    ) -> Self {
        State {
            spec,
            ctx,
            local_repeats: compiled.as_ref().map(|_| Vec::new()),
            compiled,
            seen: SeenRecords::default(),
            environment: None,
            quarantine_spill: None,
            pending: Vec::new(),
            outcome: FileOutcome {
                rows_read: 0,
                rows_accepted: 0,
                rows_rejected: 0,
                entities: BTreeMap::new(),
                quarantine: Vec::new(),
                quarantine_staged: Vec::new(),
                rejections_by_reason: BTreeMap::new(),
            },
        }
    }

    /// Closes the quarantine's staging file, if rows spilled there.
    pub(crate) fn close_spill(&mut self) -> Result<(), FileFailure> {
        if let Some(spill) = self.quarantine_spill.take() {
            let QuarantineSpill { path, writer } = spill;
            writer
                .close()
                .map_err(|e| FileFailure::Environment(format!("staging quarantine rows: {e}")))?;
            self.outcome.quarantine_staged.push(path);
        }
        Ok(())
    }
}

struct Accepted {
    output: usize,
    values: Vec<Value>,
    month: Option<EventMonth>,
}

impl State<'_> {
    pub(crate) fn record(&mut self, record: &Record) -> Result<(), ReadError> {
        let Some(compiled) = &self.compiled else {
            let header_line = record.line.max(1);
            let compiled = compile(self.spec, &record.cells).map_err(|message| ReadError {
                line: header_line,
                message,
            })?;
            self.compiled = Some(compiled);
            return Ok(());
        };
        self.outcome.rows_read += 1;
        let checks = RowChecks {
            dates: &self.ctx.dates,
            period: self.ctx.period.as_ref(),
            identifiers: self.ctx.identifiers,
        };
        let mapped = if compiled.is_header(&record.cells) {
            // One reason, not one per column the names fail (a card number check on
            // `HCN`, a number on `birth_year`).
            Err(vec![FieldError {
                column: String::new(),
                reason: format!(
                    "header repeated: the column names again at line {}, as when two extracts are joined into one file; remove the line, or ask the partner for one extract / en-tête répété : les noms de colonnes à nouveau, comme lorsque deux extraits sont joints en un fichier",
                    record.line
                ),
                value: None,
            }])
        } else {
            map_record(compiled, &record.cells, self.ctx.key, &checks)
        };
        let mapped = mapped.and_then(|rows| {
            unique(
                compiled,
                &mut self.seen,
                self.local_repeats.as_mut(),
                self.ctx.loaded,
                self.ctx.file,
                record.line,
                rows,
            )
        });
        match mapped {
            Ok(rows) => {
                self.outcome.rows_accepted += 1;
                self.pending
                    .extend(rows.into_iter().map(|row| (record.line, row)));
                if self.pending.len() >= NUMBERING_RUN {
                    self.number_pending()?;
                }
            }
            Err(errors) => {
                self.outcome.rows_rejected += 1;
                let person_key = person_key_of(compiled, &record.cells, self.ctx.key);
                if let Some(first) = errors.first() {
                    *self
                        .outcome
                        .rejections_by_reason
                        .entry(reason_class(&first.reason))
                        .or_default() += 1;
                }
                if let Err(message) = self.spill_quarantine() {
                    self.environment = Some(message.clone());
                    return Err(ReadError {
                        line: record.line,
                        message,
                    });
                }
                for e in errors {
                    self.outcome.quarantine.push(QuarantineRow {
                        line: record.line,
                        column: e.column,
                        reason: e.reason,
                        // Whatever the column, an identifier-shaped value is masked, and so
                        // is one hidden in a longer run of digits.
                        value: e.value.map(|v| self.ctx.identifiers.mask_embedded(&v)),
                        person_key: person_key.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl State<'_> {
    /// Numbers the persons of the accepted rows waiting (see [`NUMBERING_RUN`]) and adds
    /// the rows to their entities' batches. Called when a run is full and once reading
    /// ends ([`finish`] does, and each part of a file read in parts before it is joined:
    /// the joining refuses a part with rows waiting rather than lose them).
    pub(crate) fn number_pending(&mut self) -> Result<(), ReadError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(compiled) = &self.compiled else {
            return Err(ReadError {
                line: self.pending[0].0,
                message: "internal error: rows accepted before the header was read (please report)"
                    .into(),
            });
        };
        let pending = std::mem::take(&mut self.pending);
        // The keys to number, and which of them each row names: the item rows of an
        // unpivoted record follow each other and name one person, numbered once.
        let mut keys: Vec<&str> = Vec::new();
        let mut key_of_row: Vec<Option<usize>> = Vec::with_capacity(pending.len());
        for (_, row) in &pending {
            let key = person_key_value(compiled.outputs[row.output].person_key_at, &row.values);
            key_of_row.push(key.map(|key| {
                if keys.last() != Some(&key) {
                    keys.push(key);
                }
                keys.len() - 1
            }));
        }
        let numbers = self
            .ctx
            .numbers
            .number_all(&keys)
            .map_err(|(at, e)| ReadError {
                line: key_of_row
                    .iter()
                    .position(|k| *k == Some(at))
                    .map_or(0, |row| pending[row].0),
                message: format!("internal error numbering persons: {e}"),
            })?;
        let person_numbers: Vec<Option<u32>> = key_of_row
            .into_iter()
            .map(|k| k.and_then(|k| numbers.get(k).copied()))
            .collect();
        for ((line, row), person_number) in pending.into_iter().zip(person_numbers) {
            let entity = compiled.outputs[row.output].entity;
            let (spec, ctx) = (self.spec, self.ctx);
            let batches = self.outcome.entities.entry(entity).or_insert_with(|| {
                EntityBatches::new(entity, ctx.batch_rows, provenance(spec, ctx))
                    .staged(ctx.staging, ctx.spill_rows)
            });
            batches
                .push(
                    &row.values,
                    person_number,
                    row.month.as_ref().map(EventMonth::as_str),
                    line,
                )
                .map_err(|e| match batch_failure(e) {
                    // Staging rows failed (disk full, permissions): not the file's fault,
                    // so it must not be rejected; stop and leave it pending.
                    BatchFailure::Environment(message) => {
                        self.environment = Some(message.clone());
                        ReadError { line, message }
                    }
                    BatchFailure::Internal(message) => ReadError { line, message },
                })?;
        }
        Ok(())
    }

    /// Whether accepted rows still wait to be numbered (a bug if reading has ended).
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Moves the quarantine rows held in memory to the staging file once there are
    /// `spill_rows` of them.
    fn spill_quarantine(&mut self) -> Result<(), String> {
        let Some(dir) = self.ctx.staging else {
            return Ok(());
        };
        if self.outcome.quarantine.len() < self.ctx.spill_rows.max(1) {
            return Ok(());
        }
        if self.quarantine_spill.is_none() {
            let name = format!("quarantine-{}.parquet", uuid_like());
            self.quarantine_spill = Some(QuarantineSpill::create(dir, &name)?);
        }
        let batch = quarantine_batch(
            &self.spec.source,
            self.ctx.file,
            self.ctx.load_id,
            &self.outcome.quarantine,
        )
        .map_err(|e| format!("staging quarantine rows: {e}"))?;
        if let Some(spill) = self.quarantine_spill.as_mut() {
            spill
                .writer
                .write(&batch)
                .map_err(|e| format!("staging quarantine rows: {e}"))?;
        }
        self.outcome.quarantine.clear();
        Ok(())
    }
}

/// Why accepted rows could not be batched or staged.
pub(crate) enum BatchFailure {
    /// Writing the staging file failed (disk full, permissions, I/O).
    Environment(String),
    /// The rows do not fit their schema: a spec the loader would refuse, or a bug.
    Internal(String),
}

pub(crate) fn batch_failure(e: arrow::error::ArrowError) -> BatchFailure {
    use arrow::error::ArrowError;
    match e {
        ArrowError::ExternalError(_) | ArrowError::IoError(..) | ArrowError::ParquetError(_) => {
            BatchFailure::Environment(format!("staging accepted rows: {e}"))
        }
        other => BatchFailure::Internal(format!("internal error building batches: {other}")),
    }
}

/// The reason a record repeating the one at `line` of the same file is rejected.
pub(crate) fn same_record_as_line(line: u64) -> String {
    format!("duplicate: the same record as line {line} of this file")
}

/// Accepts the rows of a record unless the same record came earlier, in this file (`seen`)
/// or in a file of the source already loaded. `local_repeats`, when kept, gets the line of
/// a record rejected as repeating one of `seen` and the line it repeats.
fn unique(
    compiled: &CompiledSource,
    seen: &mut SeenRecords,
    local_repeats: Option<&mut Vec<(u64, u64)>>,
    loaded: Option<&LoadedRecords>,
    file: &str,
    line: u64,
    rows: Vec<Accepted>,
) -> Result<Vec<Accepted>, Vec<FieldError>> {
    let fingerprint = rows.iter().fold(0, |acc, row| {
        combine(
            acc,
            row_fingerprint(compiled.outputs[row.output].entity, &row.values),
        )
    });
    let duplicate = |reason: String| {
        Err(vec![FieldError {
            column: String::new(),
            reason,
            value: None,
        }])
    };
    if let Some(first) = seen.first_line(fingerprint) {
        if let Some(repeats) = local_repeats {
            repeats.push((line, first));
        }
        return duplicate(same_record_as_line(first));
    }
    // Rows an earlier load of this very file put there are replaced by this load.
    if let Some(first) = loaded
        .and_then(|l| l.get(&fingerprint))
        .filter(|first| first.file.as_ref() != file)
    {
        return duplicate(format!(
            "duplicate: the same record is already loaded from {} line {}",
            first.file, first.line
        ));
    }
    seen.insert(fingerprint, line);
    Ok(rows)
}

/// What every row is checked against besides its own fields.
struct RowChecks<'a> {
    dates: &'a DateBounds,
    period: Option<&'a DeclaredPeriod>,
    identifiers: &'a IdentifierDetector,
}

/// The class of a reason, without values, for counting.
fn reason_class(reason: &str) -> String {
    reason
        .split([':', '('])
        .next()
        .unwrap_or(reason)
        .trim()
        .to_string()
}

/// The pseudonymous key a row names, its key field at `at` (None: the entity names nobody,
/// or the row leaves its optional key empty).
fn person_key_value(at: Option<usize>, values: &[Value]) -> Option<&str> {
    values.get(at?)?.as_str()
}

fn person_key_of(
    compiled: &CompiledSource,
    cells: &[String],
    key: &PseudonymKey,
) -> Option<String> {
    compiled
        .outputs
        .iter()
        .flat_map(|o| &o.fields)
        .find_map(|f| match (&f.def.ty, &f.origin) {
            (FieldType::PersonKey, Origin::Column(i)) => cells
                .get(*i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(|s| key.pseudonymise(s)),
            _ => None,
        })
}

fn map_record(
    compiled: &CompiledSource,
    cells: &[String],
    key: &PseudonymKey,
    checks: &RowChecks<'_>,
) -> Result<Vec<Accepted>, Vec<FieldError>> {
    let output = match &compiled.split_col {
        None => 0,
        Some((col, name)) => {
            let value = cells.get(*col).map(|s| s.trim()).unwrap_or("");
            match compiled
                .outputs
                .iter()
                .position(|o| o.case.as_deref() == Some(value))
            {
                Some(i) => i,
                None => {
                    let cases: Vec<_> = compiled
                        .outputs
                        .iter()
                        .filter_map(|o| o.case.as_deref())
                        .collect();
                    return Err(vec![FieldError {
                        column: name.clone(),
                        reason: format!(
                            "unknown split value (expected one of {})",
                            cases.join(", ")
                        ),
                        value: Some(value.chars().take(80).collect()),
                    }]);
                }
            }
        }
    };
    let out = &compiled.outputs[output];
    match &compiled.unpivot {
        None => {
            map_one(compiled, out, output, Cells::of(cells), key, checks, None).map(|a| vec![a])
        }
        Some((columns, keep_empty)) => {
            let mut rows = Vec::with_capacity(columns.len());
            let mut errors = Vec::new();
            // Fields read from the record itself (the respondent's key, dates) are the same
            // for every item: converted once, not once per item.
            let mut memo: Memo = vec![None; out.fields.len()];
            for (idx, name) in columns {
                let value = cells.get(*idx).map_or("", String::as_str);
                if !keep_empty && compiled.null_values.contains(value.trim()) {
                    continue;
                }
                let item = Cells::with_item(cells, compiled.width, name, value);
                match map_one(compiled, out, output, item, key, checks, Some(&mut memo)) {
                    Ok(row) => rows.push(row),
                    Err(e) => {
                        for mut err in e {
                            if err.column == "$value" {
                                err.column = name.clone();
                            }
                            // A problem outside the unpivoted columns recurs for every item:
                            // report it once.
                            let seen = errors.iter().any(|x: &FieldError| {
                                x.column == err.column
                                    && x.reason == err.reason
                                    && x.value == err.value
                            });
                            if !seen {
                                errors.push(err);
                            }
                        }
                    }
                }
            }
            if errors.is_empty() {
                Ok(rows)
            } else {
                Err(errors)
            }
        }
    }
}

/// Conversions of one record's fields kept across its unpivoted items.
type Memo = Vec<Option<Result<Value, FieldError>>>;

/// Whether a field's value depends on the record's own columns only (not on `$name` or
/// `$value`, which change from item to item).
fn reads_record_only(origin: &Origin, width: usize) -> bool {
    match origin {
        Origin::Column(i) => *i < width,
        Origin::DateTime(d, t) => *d < width && *t < width,
        Origin::Const(_) | Origin::Absent => true,
    }
}

fn map_one(
    compiled: &CompiledSource,
    out: &CompiledOutput,
    output: usize,
    cells: Cells<'_>,
    key: &PseudonymKey,
    checks: &RowChecks<'_>,
    mut memo: Option<&mut Memo>,
) -> Result<Accepted, Vec<FieldError>> {
    let mut values = Vec::with_capacity(out.fields.len());
    let mut errors = Vec::new();
    // Fields converted and checked for an earlier item of the same record (one bit each;
    // fields past the 128th are checked again).
    let mut checked_before = 0u128;
    for (f, plan) in out.fields.iter().enumerate() {
        let slot = memo
            .as_mut()
            .filter(|_| reads_record_only(&plan.origin, compiled.width))
            .and_then(|m| m.get_mut(f));
        let converted = match slot {
            Some(Some(done)) => {
                if f < 128 {
                    checked_before |= 1 << f;
                }
                done.clone()
            }
            // Kept shared: the record's text is then not copied again for each item.
            Some(empty) => empty
                .insert(
                    plan.convert(cells, &compiled.null_values, key)
                        .map(Value::into_shared),
                )
                .clone(),
            None => plan.convert(cells, &compiled.null_values, key),
        };
        match converted {
            Ok(v) => values.push(v),
            Err(e) => {
                errors.push(e);
                values.push(Value::Null);
            }
        }
    }
    for (f, (plan, value)) in out.fields.iter().zip(&values).enumerate() {
        // Its refusal, if any, was reported with the earlier item: the record is refused.
        if f < 128 && checked_before & (1 << f) != 0 {
            continue;
        }
        if let Some(text) = value.as_str()
            && plan.def.ty != FieldType::PersonKey
            && checks.identifiers.contains_identifier(text)
        {
            errors.push(FieldError {
                column: plan.label.clone(),
                reason: "identifier in a column that is not an identifier: a value shaped like a health card number is never stored outside the key column (check the partner's column order, quoting or mapping)".into(),
                value: Some(checks.identifiers.mask(text)),
            });
        }
        if let Some(reason) = checks.dates.check(out.entity, plan.def, value) {
            errors.push(FieldError {
                column: plan.label.clone(),
                reason,
                value: None,
            });
        }
    }
    if let Some(survey) = &out.survey {
        let column = out
            .fields
            .iter()
            .enumerate()
            .find(|(i, _)| survey.is_answer(*i))
            .map_or("answer", |(_, p)| p.label.as_str());
        if let Err(e) = survey.score(&mut values, column, checks.identifiers) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        for &(l, e) in &out.date_order {
            if let (Value::Date(a), Value::Date(b)) = (&values[l], &values[e])
                && a < b
            {
                errors.push(FieldError {
                    column: out.fields[l].label.clone(),
                    reason: format!(
                        "{} is before {} ({})",
                        out.fields[l].def.name, out.fields[e].def.name, out.fields[e].label
                    ),
                    value: None,
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let date_at = out.event_date_at;
    let month = date_at.and_then(|i| event_month(&values[i]));
    if let (Some(period), Some(m), Some(i)) = (checks.period, &month, date_at)
        && !period.contains(m.as_str())
    {
        return Err(vec![FieldError {
            column: out.fields[i].label.clone(),
            reason: format!(
                "outside the file's period: {} is not in {} (the period its name declares); send it in that period's file",
                m.as_str(),
                period.label()
            ),
            value: None,
        }]);
    }
    Ok(Accepted {
        output,
        values,
        month,
    })
}
