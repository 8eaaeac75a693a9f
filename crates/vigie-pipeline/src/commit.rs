//! Commit groups: parsed files are committed to the warehouse together, one Delta commit
//! per table for the whole group and one manifest commit naming every file of it.
//!
//! Committing file by file costs a log replay and a small Parquet file per table and file;
//! with dozens of monthly extracts that overhead, not parsing, dominated the ingest. A
//! group stays atomic the way a single file was: its rows become visible to readers only
//! when the manifest commit naming its files lands, and a crash before that leaves
//! nothing visible, to be redone by the next run. Two files whose replace scopes overlap
//! (a month re-sent twice, two snapshots of one source) never share a group, so a later
//! file still replaces an earlier one exactly as if each had been committed alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tracing::{info, warn};
use vigie_ingest::{EntityData, FileOutcome, FileRejection, QuarantineRow, quarantine_batch};
use vigie_model::config::{DeclaredPeriod, LoadMode, ReplacePeriod, SourceSpec};
use vigie_model::{Entity, PersonNumbers};
use vigie_warehouse::{
    FileStatus, ManifestEntry, QUARANTINE_TABLE, Replace, Warehouse, WriteInput,
};

use crate::error::PipelineError;
use crate::ingest::FileReport;
use crate::landing::LandingFile;

/// How the quarantine row of a file rejected whole starts.
const REJECTED_WHOLE: &str = "file rejected whole: ";

/// Rows a group may hold in memory (rows spilled to staging files do not count).
const GROUP_MEMORY_ROWS: u64 = 1_000_000;
/// Rows in a group, wherever they are: bounds the work a crash throws away.
const GROUP_ROWS: u64 = 4_000_000;
/// Files in a group.
const GROUP_FILES: usize = 128;

/// A parsed file waiting for its group's commit.
pub(crate) struct ParsedFile {
    pub source: Arc<SourceSpec>,
    pub file: LandingFile,
    /// The period the file's name declares (what a `replace` by month replaces).
    pub period: Option<DeclaredPeriod>,
    pub started: chrono::DateTime<Utc>,
    pub hash: String,
    pub outcome: Result<FileOutcome, (FileRejection, u64)>,
    /// Why a guard holds the file (nothing of it is applied).
    pub hold: Option<String>,
    pub parse_secs: f64,
}

impl ParsedFile {
    /// What this file replaces in `entity`'s table.
    fn replace_scope(&self, entity: Entity) -> Replace {
        let source = self.source.source.clone();
        match self.source.load {
            LoadMode::Append => Replace::File {
                source,
                file: self.file.key.clone(),
            },
            LoadMode::Replace {
                period: ReplacePeriod::Month,
            } if entity.event_date_field().is_some() => Replace::Months {
                source,
                // The declared period, never the months stray rows fall in (rows outside
                // it were quarantined). Without a declared period (a spec loaded without
                // `vigie validate`'s rule) the file replaces the months it holds.
                months: match &self.period {
                    Some(p) => p.month_keys(),
                    None => self.months().into_iter().collect(),
                },
            },
            LoadMode::Replace { .. } => Replace::Source { source },
        }
    }

    fn months(&self) -> BTreeSet<String> {
        if let Some(p) = &self.period {
            return p.month_keys().into_iter().collect();
        }
        match &self.outcome {
            Ok(o) => o
                .entities
                .values()
                .flat_map(|b| b.months.iter().cloned())
                .collect(),
            Err(_) => BTreeSet::new(),
        }
    }

    /// Whether committing this file with `other` in one commit could differ from
    /// committing them one after the other.
    fn overlaps(&self, other: &ParsedFile) -> bool {
        if self.source.source != other.source.source || self.hold.is_some() || other.hold.is_some()
        {
            return false;
        }
        match self.source.load {
            LoadMode::Append => self.file.key == other.file.key,
            LoadMode::Replace {
                period: ReplacePeriod::Month,
            } => {
                // A file rejected whole replaces nothing but its own quarantine rows.
                self.outcome.is_ok()
                    && other.outcome.is_ok()
                    && !self.months().is_disjoint(&other.months())
            }
            LoadMode::Replace {
                period: ReplacePeriod::All,
            } => self.outcome.is_ok() && other.outcome.is_ok(),
        }
    }

    fn rows(&self) -> (u64, u64) {
        if self.hold.is_some() {
            return (0, 0);
        }
        match &self.outcome {
            Ok(o) => o.entities.values().fold((0, 0), |(all, mem), b| {
                (all + b.rows, mem + if b.is_staged() { 0 } else { b.rows })
            }),
            Err(_) => (0, 0),
        }
    }
}

/// Files parsed and not yet committed.
#[derive(Default)]
pub(crate) struct Group {
    files: Vec<ParsedFile>,
    rows: u64,
    memory_rows: u64,
}

impl Group {
    /// Whether `file` must wait for this group to be committed first.
    pub fn must_commit_before(&self, file: &ParsedFile) -> bool {
        let (rows, memory_rows) = file.rows();
        !self.files.is_empty()
            && (self.files.len() >= GROUP_FILES
                || self.rows + rows > GROUP_ROWS
                || self.memory_rows + memory_rows > GROUP_MEMORY_ROWS
                || self.files.iter().any(|f| f.overlaps(file)))
    }

    /// Adds a file.
    pub fn push(&mut self, file: ParsedFile) {
        let (rows, memory_rows) = file.rows();
        self.rows += rows;
        self.memory_rows += memory_rows;
        self.files.push(file);
    }

    /// Whether the group holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Commits the group: one commit per table, then one manifest commit naming every
    /// file. Returns what happened to each file, in the order they were added.
    pub async fn commit(
        self,
        warehouse: &Warehouse,
        load_id: &str,
        fail_before_manifest_of: Option<&str>,
        lock: &vigie_warehouse::WriterLock,
        numbers: Option<&PersonNumbers>,
    ) -> Result<Vec<FileReport>, PipelineError> {
        // The numbers given so far, stored before any row using them can become visible
        // (see vigie-warehouse's `person_numbers`: the table only grows).
        // Once stored, their keys need only be kept as prefixes (`written_before`).
        if let Some(numbers) = numbers {
            let new = numbers.take_new();
            let end = new.end();
            warehouse.append_person_numbers(new, lock).await?;
            numbers.written_before(end);
        }
        let mut writes = GroupWrites::with_capacity(self.files.len());
        for (index, parsed) in self.files.into_iter().enumerate() {
            writes.add(index, parsed, load_id)?;
        }
        let GroupWrites {
            mut entries,
            tables,
            quarantine,
            staged,
            logs,
        } = writes;
        let result = write_tables(warehouse, lock, tables, quarantine, &mut entries).await;
        for path in staged {
            let _ = std::fs::remove_file(path);
        }
        result?;
        record_manifest(warehouse, lock, &mut entries, fail_before_manifest_of).await?;
        Ok(file_reports(&entries, logs))
    }
}

/// What a group's parse log keeps for a file that was applied: seconds spent parsing it
/// and its rejected records per reason.
type ParseLog = Option<(f64, BTreeMap<String, u64>)>;

/// A group turned into writes: what each table receives, the manifest entries (in the
/// order the files were added), the staging files to remove after the commit, and each
/// file's parse log.
struct GroupWrites {
    entries: Vec<ManifestEntry>,
    /// Table -> (partition columns, inputs, replace scopes, indexes of the files it holds).
    tables: BTreeMap<&'static str, TableWrite>,
    quarantine: TableWrite,
    staged: Vec<PathBuf>,
    logs: Vec<ParseLog>,
}

impl GroupWrites {
    fn with_capacity(files: usize) -> Self {
        GroupWrites {
            entries: Vec::with_capacity(files),
            tables: BTreeMap::new(),
            quarantine: TableWrite::default(),
            staged: Vec::new(),
            logs: Vec::with_capacity(files),
        }
    }

    /// Adds the file at `index` of the group: its rows to their tables, its rejected rows
    /// to the quarantine, its manifest entry.
    fn add(
        &mut self,
        index: usize,
        parsed: ParsedFile,
        load_id: &str,
    ) -> Result<(), PipelineError> {
        let mut entry = manifest_entry(&parsed, load_id);
        let source = parsed.source.clone();
        let file = parsed.file.key.clone();
        let scopes: Vec<(Entity, Replace)> = entities_of(&source)
            .into_iter()
            .map(|e| (e, parsed.replace_scope(e)))
            .collect();
        if let Some(reason) = parsed.hold {
            self.add_held(entry, parsed.outcome, reason);
            return Ok(());
        }
        let rejected_whole = parsed.outcome.is_err();
        let quarantine_rows = match parsed.outcome {
            Err((rejection, rows_read)) => {
                warn!(file = %file, source = %source.source, line = rejection.line, "file rejected whole: {}", rejection.message);
                entry.status = FileStatus::Rejected;
                entry.rows_read = rows_read;
                entry.rows_rejected = rows_read;
                entry.message = Some(format!("line {}: {}", rejection.line, rejection.message));
                self.logs.push(None);
                vec![QuarantineRow {
                    line: rejection.line,
                    column: String::new(),
                    reason: format!("{REJECTED_WHOLE}{}", rejection.message),
                    value: None,
                    person_key: None,
                }]
            }
            Ok(outcome) => {
                self.add_accepted(index, &mut entry, outcome, scopes, parsed.parse_secs, &file)?
            }
        };
        self.quarantine.inputs.push(WriteInput::Batches(vec![
            quarantine_batch(&source.source, &file, load_id, &quarantine_rows)
                .map_err(|e| PipelineError::Internal(format!("quarantine batch: {e}")))?,
        ]));
        // A file rejected whole changes nothing in force: the quarantine rows of the version
        // still loaded stay (with the data they explain), and only an earlier rejection of
        // the file is replaced by this one. A file applied replaces all of the file's rows.
        self.quarantine.replaces.push(if rejected_whole {
            Replace::Predicate(format!(
                "_source = {} AND _file = {} AND reason LIKE {}",
                crate::guard::quote(&source.source),
                crate::guard::quote(&file),
                // No `%` or `_` in the prefix: a LIKE pattern matching it alone.
                crate::guard::quote(&format!("{REJECTED_WHOLE}%")),
            ))
        } else {
            Replace::File {
                source: source.source.clone(),
                file,
            }
        });
        self.quarantine.files.push(index);
        self.entries.push(entry);
        Ok(())
    }

    /// A held file: nothing of it is applied, not even its quarantine rows; the manifest
    /// records the figures that triggered the guard, and its staged rows are dropped.
    fn add_held(
        &mut self,
        mut entry: ManifestEntry,
        outcome: Result<FileOutcome, (FileRejection, u64)>,
        reason: String,
    ) {
        if let Ok(mut outcome) = outcome {
            self.staged.append(&mut outcome.quarantine_staged);
            entry.rows_read = outcome.rows_read;
            entry.rows_accepted = outcome.rows_accepted;
            entry.rows_rejected = outcome.rows_rejected;
            for batches in outcome.entities.into_values() {
                if let Ok(EntityData::Staged(paths)) = batches.finish() {
                    self.staged.extend(paths);
                }
            }
        }
        entry.status = FileStatus::Held;
        entry.message = Some(reason);
        self.logs.push(None);
        self.entries.push(entry);
    }

    /// A file read and applied: its rows go to every table of its source, each with the
    /// scope it replaces. Returns its quarantine rows still in memory.
    fn add_accepted(
        &mut self,
        index: usize,
        entry: &mut ManifestEntry,
        mut outcome: FileOutcome,
        scopes: Vec<(Entity, Replace)>,
        parse_secs: f64,
        file: &str,
    ) -> Result<Vec<QuarantineRow>, PipelineError> {
        entry.rows_read = outcome.rows_read;
        entry.rows_accepted = outcome.rows_accepted;
        entry.rows_rejected = outcome.rows_rejected;
        for (entity, replace) in scopes {
            let write = self
                .tables
                .entry(entity.table_name())
                .or_insert_with(|| TableWrite {
                    partition_columns: entity.partition_columns(),
                    ..Default::default()
                });
            write.replaces.push(replace);
            write.files.push(index);
            match outcome.entities.remove(&entity).map(|b| b.finish()) {
                None => {}
                Some(Ok(EntityData::Batches(b))) => write.inputs.push(WriteInput::Batches(b)),
                Some(Ok(EntityData::Staged(paths))) => {
                    self.staged.extend(paths.iter().cloned());
                    write
                        .inputs
                        .extend(paths.into_iter().map(WriteInput::Parquet));
                }
                Some(Err(e)) => {
                    return Err(PipelineError::Internal(format!("staging {file}: {e}")));
                }
            }
        }
        self.logs
            .push(Some((parse_secs, outcome.rejections_by_reason)));
        for path in std::mem::take(&mut outcome.quarantine_staged) {
            self.staged.push(path.clone());
            self.quarantine.inputs.push(WriteInput::Parquet(path));
        }
        Ok(outcome.quarantine)
    }
}

/// One commit per table, the quarantine last, each only while the lock is still held;
/// the new versions go to the manifest entries of the files each table holds.
async fn write_tables(
    warehouse: &Warehouse,
    lock: &vigie_warehouse::WriterLock,
    tables: BTreeMap<&'static str, TableWrite>,
    quarantine: TableWrite,
    entries: &mut [ManifestEntry],
) -> Result<(), PipelineError> {
    for (table, write) in tables {
        lock.still_held()?;
        write.commit(warehouse, table, entries).await?;
    }
    lock.still_held()?;
    quarantine
        .commit(warehouse, QUARANTINE_TABLE, entries)
        .await
}

/// The commit that makes the group visible: the manifest entries of all its files.
async fn record_manifest(
    warehouse: &Warehouse,
    lock: &vigie_warehouse::WriterLock,
    entries: &mut [ManifestEntry],
    fail_before_manifest_of: Option<&str>,
) -> Result<(), PipelineError> {
    let finished = Utc::now();
    for entry in entries.iter_mut() {
        entry.finished_at = finished;
    }
    if let Some(file) = fail_before_manifest_of.filter(|f| entries.iter().any(|e| e.file == *f)) {
        return Err(PipelineError::Internal(format!(
            "injected fault before the manifest entry of {file}"
        )));
    }
    // Never by a process that lost the lock (its table commits, if any, stay invisible
    // and the holder's next run redoes them).
    lock.still_held()?;
    warehouse.record_manifest(entries).await?;
    Ok(())
}

/// What happened to each file, logged with its throughput and rejected rows per reason.
fn file_reports(entries: &[ManifestEntry], logs: Vec<ParseLog>) -> Vec<FileReport> {
    let mut reports = Vec::with_capacity(entries.len());
    for (entry, log) in entries.iter().zip(logs) {
        let Some((parse_secs, rejections)) = log else {
            reports.push(FileReport::new(entry, 0.0));
            continue;
        };
        reports.push(FileReport::new(entry, parse_secs));
        let rate = if parse_secs > 0.0 {
            entry.rows_read as f64 / parse_secs
        } else {
            0.0
        };
        info!(
            file = %entry.file,
            source = %entry.source,
            read = entry.rows_read,
            accepted = entry.rows_accepted,
            rejected = entry.rows_rejected,
            rows_per_s = rate.round(),
            "loaded"
        );
        for (reason, n) in rejections {
            info!(file = %entry.file, reason = %reason, rows = n, "rejected rows");
        }
    }
    reports
}

/// What one table receives from a group.
#[derive(Default)]
struct TableWrite {
    partition_columns: Vec<String>,
    inputs: Vec<WriteInput>,
    replaces: Vec<Replace>,
    /// Indexes of the files whose manifest entries record the new version.
    files: Vec<usize>,
}

impl TableWrite {
    async fn commit(
        self,
        warehouse: &Warehouse,
        table: &str,
        entries: &mut [ManifestEntry],
    ) -> Result<(), PipelineError> {
        let version = warehouse
            .write_inputs(table, self.partition_columns, self.inputs, &self.replaces)
            .await?;
        if let Some(v) = version {
            for i in self.files {
                if let Some(entry) = entries.get_mut(i) {
                    entry.table_versions.insert(table.to_string(), v);
                }
            }
        }
        Ok(())
    }
}

fn manifest_entry(parsed: &ParsedFile, load_id: &str) -> ManifestEntry {
    ManifestEntry {
        load_id: load_id.to_string(),
        source: parsed.source.source.clone(),
        file: parsed.file.key.clone(),
        size: parsed.file.size,
        content_hash: parsed.hash.clone(),
        rows_read: 0,
        rows_accepted: 0,
        rows_rejected: 0,
        started_at: parsed.started,
        finished_at: parsed.started,
        status: FileStatus::Loaded,
        message: None,
        table_versions: BTreeMap::new(),
    }
}

/// Every entity a source can feed: a re-sent file must clear all of them.
fn entities_of(source: &SourceSpec) -> BTreeSet<Entity> {
    source
        .outputs()
        .into_iter()
        .map(|(_, o)| o.entity)
        .collect()
}

#[cfg(test)]
mod tests;
