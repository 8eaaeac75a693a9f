//! Large CSV files read in parts, on every core.
//!
//! A source that does not allow line breaks inside quoted fields (`format.multiline`, off by
//! default) has exactly one record per line: a quoted line break rejects the file. Such a
//! file splits at line breaks into parts that are read, validated, pseudonymised and staged
//! to Parquet by as many threads as there are cores, each part knowing the line it starts
//! at, so that line numbers in the quarantine and the manifest stay exact. The parts are then
//! joined in file order, which keeps every guarantee of a file read whole:
//! - a fault that rejects the file whole is the one at the earliest line, as a reader going
//!   through the file from its start would have met first (a stray quote in one part cannot
//!   reach into the next: the record it opens is rejected for spanning lines either way);
//! - a record repeating one of an earlier part is rejected as a duplicate of that line, and
//!   its rows are taken out of its part's staged rows; a further copy in its own part, which
//!   that part rejected as repeating it, names the earlier part's line too (the copy kept);
//! - rows read = rows accepted + rows rejected, summed over the parts.
//!
//! The parts are read by byte ranges from where the file is (see `scan`): a file read in
//! parts is never held whole, only the parts being read.
//!
//! Files with quoted line breaks allowed (`multiline: true`), without a header, or smaller
//! than two parts are read whole, as before.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use vigie_model::config::{CsvDialect, FileFormat, SourceSpec};

use crate::batch::EntityBatches;
use crate::compile::{CompiledSource, compile};
use crate::dedup::{SeenRun, repeats_across};
use crate::error::{FileFailure, FileRejection};
use crate::file::{
    BatchFailure, FileContext, FileOutcome, State, batch_failure, finish, provenance,
    same_record_as_line,
};
use crate::quarantine::QuarantineRow;
use crate::read::{CsvPart, ReadError, count_records, read_csv_records};
use crate::scan::{RangeSource, Scan, ScannedPart};

/// Bytes per part by default: below this, a thread costs more than it saves.
pub const DEFAULT_PART_BYTES: usize = 8 << 20;

/// How a file is split.
pub(crate) struct Plan {
    /// The spec bound to the header, for the parts after the first.
    compiled: CompiledSource,
    /// Fields of the header (every record has as many).
    fields: usize,
    /// Length of the byte-order mark, skipped at the start of the first part.
    bom: usize,
    /// Bytes in the file.
    len: u64,
    /// The parts, in file order.
    pub(crate) parts: Vec<ScannedPart>,
}

/// Whether a file of `len` bytes in `format` is worth scanning to be read in parts (see the
/// module docs): a file read in parts need not be held whole, so one this large is scanned
/// as it streams in rather than read whole (see `scan`).
pub fn reads_in_parts(format: &FileFormat, len: u64, part_bytes: usize) -> bool {
    matches!(format, FileFormat::Csv(d) if !d.multiline && d.header)
        && part_bytes > 0
        && len >= (part_bytes as u64).saturating_mul(2)
}

/// How to split a scanned file, or None when it is read whole (see the module docs). A
/// file whose header does not bind to the spec, or whose bytes are not CSV text, is read
/// whole too, so that its rejection is reported exactly as always.
pub(crate) fn plan(
    spec: &SourceSpec,
    dialect: &CsvDialect,
    ctx: &FileContext<'_>,
    scan: &Scan,
) -> Option<Plan> {
    if !reads_in_parts(&spec.format, scan.len, ctx.part_bytes)
        || ctx.staging.is_none()
        || scan.read_whole
        || scan.parts.len() < 2
    {
        return None;
    }
    let header_line = scan.header.as_deref()?;
    let mut header: Option<Vec<String>> = None;
    read_csv_records(header_line, dialect, &CsvPart::WHOLE, |r| {
        header.get_or_insert_with(|| r.cells.clone());
        Ok(())
    })
    .ok()?;
    let header = header?;
    let compiled = compile(spec, &header).ok()?;
    Some(Plan {
        compiled,
        fields: header.len(),
        bom: scan.bom,
        len: scan.len,
        parts: scan.parts.clone(),
    })
}

/// What reading one part gave: its state, how reading ended, how its quarantine spill closed,
/// and the records it accepted, sorted by fingerprint.
type PartRead<'a> = (
    State<'a>,
    Result<(), ReadError>,
    Result<(), FileFailure>,
    SeenRun,
);

/// The bytes of a part, read from `source` and checked against the scan (see `scan`): the
/// byte-order mark taken off the first part.
fn read_part_bytes(
    source: &dyn RangeSource,
    plan: &Plan,
    i: usize,
    part: &ScannedPart,
) -> Result<Bytes, FileFailure> {
    let bytes = source
        .read_range(part.range.clone())
        .map_err(FileFailure::Environment)?;
    if bytes.len() as u64 != part.range.end - part.range.start
        || crc32fast::hash(&bytes) != part.crc
    {
        return Err(FileFailure::Environment(format!(
            "the file changed while it was read (bytes {}..{} of {} differ from those first read): it is probably still being written, and is read again at the next run",
            part.range.start, part.range.end, plan.len
        )));
    }
    Ok(if i == 0 {
        bytes.slice(plan.bom.min(bytes.len())..)
    } else {
        bytes
    })
}

/// Reads the parts of a file from `source`, as many at once as there are cores, and joins
/// them (see the module docs).
pub(crate) fn ingest(
    spec: &SourceSpec,
    ctx: &FileContext<'_>,
    dialect: &CsvDialect,
    source: &dyn RangeSource,
    plan: Plan,
) -> Result<FileOutcome, FileFailure> {
    // The file's rows held in memory stay bounded as if it were read whole: each part
    // spills after its share of them.
    let part_ctx = FileContext {
        spill_rows: (ctx.spill_rows / plan.parts.len()).max(1),
        ..*ctx
    };
    let part_ctx = &part_ctx;
    // As many parts are read at once as there are cores, not every part at once: a part
    // being read holds its bytes, its records' fingerprints in a hash map and its rows up to
    // its spill share; a part read holds only its sorted fingerprints (a national registry's
    // eight parts read at once held 1.1 GB of maps).
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, plan.parts.len().max(1));
    let next_part = AtomicUsize::new(0);
    let plan = &plan;
    let read_part = |i: usize, scanned: &ScannedPart| -> Result<PartRead<'_>, FileFailure> {
        let (compiled, part) = if i == 0 {
            (None, CsvPart::WHOLE)
        } else {
            (
                Some(plan.compiled.clone()),
                CsvPart {
                    first_line: scanned.first_line,
                    fields: Some(plan.fields),
                },
            )
        };
        let bytes = read_part_bytes(source, plan, i, scanned)?;
        let mut state = State::new(spec, part_ctx, compiled);
        let result = read_csv_records(&bytes, dialect, &part, |r| state.record(r))
            .and_then(|()| state.number_pending());
        let closed = state.close_spill();
        let seen = std::mem::take(&mut state.seen)
            // Beyond its share of the rows held in memory, a part's sorted fingerprints wait
            // in the staging directory until the last part is read (see `dedup::SeenRun`).
            .into_run(part_ctx.staging, part_ctx.spill_rows)
            .map_err(|e| {
                FileFailure::Environment(format!(
                    "cannot write the records of a part of the file to the staging directory / \
                     impossible d'écrire les enregistrements d'une partie du fichier dans le \
                     répertoire de transit : {e}"
                ))
            })?;
        Ok((state, result, closed, seen))
    };
    type Done<'a> = Vec<(usize, Result<PartRead<'a>, FileFailure>)>;
    let mut read: Done<'_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next_part.fetch_add(1, Ordering::Relaxed);
                        let Some(scanned) = plan.parts.get(i) else {
                            break done;
                        };
                        let part = read_part(i, scanned);
                        let failed = part.is_err();
                        done.push((i, part));
                        if failed {
                            // The file stays pending: the other workers stop at their next
                            // part.
                            next_part.store(plan.parts.len(), Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(plan.parts.len());
        for handle in handles {
            match handle.join() {
                Ok(done) => all.extend(done),
                // A parser crash is a bug of ours: handed on to the caller, which keeps
                // the file pending, as for a file read whole.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    read.sort_unstable_by_key(|(i, _)| *i);
    let mut parts = Vec::with_capacity(read.len());
    let mut runs = Vec::with_capacity(read.len());
    for (_, part) in read {
        let (state, result, closed, seen) = part?;
        closed?;
        parts.push((state, result));
        runs.push(seen);
    }
    if let Some(message) = parts.iter_mut().find_map(|(s, _)| s.environment.take()) {
        return Err(FileFailure::Environment(message));
    }
    let earliest = parts
        .iter()
        .enumerate()
        .filter_map(|(i, (_, r))| r.as_ref().err().map(|e| (i, e)))
        .min_by_key(|(_, e)| e.line)
        .map(|(i, e)| {
            (
                i,
                ReadError {
                    line: e.line,
                    message: e.message.clone(),
                },
            )
        });
    // Read whole, reading stops at the earliest fault: the records before it were read.
    let rows_read: u64 = parts
        .iter()
        .take(earliest.as_ref().map_or(usize::MAX, |(i, _)| i + 1))
        .map(|(s, _)| s.outcome.rows_read)
        .sum();
    let mut parts = parts.into_iter().map(|(s, _)| s);
    let Some(mut joined) = parts.next() else {
        return Err(FileFailure::Environment(
            "internal error: a file split into no part".into(),
        ));
    };
    if let Some((_, error)) = earliest {
        joined.outcome.rows_read = rows_read;
        return finish(joined, Err(error), ctx, || {
            count_rows(source, plan, &spec.format)
        });
    }
    // Records of a part repeating one of an earlier part, by the part they are in.
    let first_lines: Vec<u64> = plan.parts.iter().map(|p| p.first_line).collect();
    let mut repeats_of: Vec<HashMap<u64, u64>> = vec![HashMap::new(); first_lines.len()];
    let repeats = repeats_across(&runs).map_err(|e| {
        FileFailure::Environment(format!(
            "cannot read back the records of the file's parts from the staging directory / \
             impossible de relire les enregistrements des parties du fichier dans le \
             répertoire de transit : {e}"
        ))
    })?;
    for (line, earlier) in repeats {
        let part = first_lines
            .partition_point(|&first| first <= line)
            .saturating_sub(1);
        if let Some(repeats) = repeats_of.get_mut(part) {
            repeats.insert(line, earlier);
        }
    }
    drop(runs);
    for (part, repeats) in parts.zip(repeats_of.into_iter().skip(1)) {
        join(&mut joined, part, repeats, spec, ctx, rows_read)?;
    }
    finish(joined, Ok(()), ctx, || 0)
}

/// The data rows of a file rejected whole, counted as a file read whole counts them (a
/// stray quote there runs on past the part it is in). The file is read whole for this, once
/// and only when it is rejected; a file that cannot be read again counts none (the rows the
/// parse counted stand then).
fn count_rows(source: &dyn RangeSource, plan: &Plan, format: &FileFormat) -> u64 {
    source
        .read_range(0..plan.len)
        .map(|data| count_records(&data, format))
        .unwrap_or(0)
}

/// Adds a later part to what the earlier parts gave, its repeats of their records rejected:
/// `repeats` maps each of its lines repeating an earlier part's record to the earliest line
/// of that record. `rows_read` is the file's, for the accounting of a file rejected while
/// joining.
fn join(
    joined: &mut State<'_>,
    mut part: State<'_>,
    repeats: HashMap<u64, u64>,
    spec: &SourceSpec,
    ctx: &FileContext<'_>,
    rows_read: u64,
) -> Result<(), FileFailure> {
    if part.has_pending() {
        return Err(FileFailure::Rejected(
            FileRejection {
                file: ctx.file.to_string(),
                line: 0,
                message: "internal error: a part's accepted rows were not numbered before it was joined (please report)".into(),
            },
            rows_read,
        ));
    }
    // A record the part rejected as repeating one of its own lines, itself the repeat of an
    // earlier part's record, is rejected as repeating that earlier line, as read whole.
    let renamed: HashMap<u64, u64> = part
        .local_repeats
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(line, first)| repeats.get(&first).map(|&earliest| (line, earliest)))
        .collect();
    if !renamed.is_empty() {
        name_earliest_lines(&mut part.outcome, &renamed).map_err(FileFailure::Environment)?;
    }
    let drop_lines: HashSet<u64> = repeats.keys().copied().collect();
    let mut keys: HashMap<u64, Option<String>> = HashMap::new();
    for (entity, batches) in part.outcome.entities {
        let target = joined.outcome.entities.entry(entity).or_insert_with(|| {
            EntityBatches::new(entity, ctx.batch_rows, provenance(spec, ctx))
                .staged(ctx.staging, ctx.spill_rows)
        });
        let dropped = target
            .absorb(batches, &drop_lines)
            .map_err(|e| match batch_failure(e) {
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
        for d in dropped {
            keys.entry(d.line).or_insert(d.person_key);
        }
    }
    let outcome = &mut joined.outcome;
    let repeated = repeats.len() as u64;
    outcome.rows_read += part.outcome.rows_read;
    outcome.rows_accepted += part.outcome.rows_accepted - repeated;
    outcome.rows_rejected += part.outcome.rows_rejected + repeated;
    outcome.quarantine.extend(part.outcome.quarantine);
    outcome
        .quarantine_staged
        .extend(part.outcome.quarantine_staged);
    for (reason, n) in part.outcome.rejections_by_reason {
        *outcome.rejections_by_reason.entry(reason).or_default() += n;
    }
    let mut repeats: Vec<(u64, u64)> = repeats.into_iter().collect();
    repeats.sort_unstable();
    for (line, earlier) in repeats {
        *outcome
            .rejections_by_reason
            .entry("duplicate".into())
            .or_default() += 1;
        outcome.quarantine.push(QuarantineRow {
            line,
            column: String::new(),
            reason: same_record_as_line(earlier),
            value: None,
            person_key: keys.remove(&line).flatten(),
        });
    }
    Ok(())
}

/// Rewrites the duplicate rejections of `outcome`'s lines in `renamed` (line -> the earliest
/// line of its record) to name that line, in memory and in the part's staged quarantine
/// files. Each such line has one quarantine row: the duplicate's.
fn name_earliest_lines(
    outcome: &mut FileOutcome,
    renamed: &HashMap<u64, u64>,
) -> Result<(), String> {
    for row in &mut outcome.quarantine {
        if let Some(&earliest) = renamed.get(&row.line) {
            row.reason = same_record_as_line(earliest);
        }
    }
    for path in &outcome.quarantine_staged {
        crate::quarantine::rename_reasons(path, |line| {
            renamed
                .get(&line)
                .map(|&earliest| same_record_as_line(earliest))
        })
        .map_err(|e| {
            format!(
                "cannot rewrite the staged quarantine rows {} / impossible de réécrire les \
                 lignes en quarantaine du fichier de transit {} : {e}",
                path.display(),
                path.display()
            )
        })?;
    }
    Ok(())
}
