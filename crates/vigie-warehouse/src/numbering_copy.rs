//! A copy of the person numbering, encoded, in the restricted part's cache folder
//! (`restricted/cache/person_number/`: it holds the keys' first 128 bits, as restricted as
//! the table it copies).
//!
//! Every load that may parse a file needs the whole stored numbering; read from the
//! `person_number` table it costs a decompression of every key's hexadecimal text, a decode
//! and a sort (2.6 s of a province's 5.4 s weekly load). The copy is the numbering's sorted
//! entries as [`PersonNumbers::encode`] writes them, labelled with the table files it holds
//! (their paths and row counts). A load reads the copy, then from the table only the numbers
//! beyond its highest (those of files it does not hold), and checks that the counts add up:
//! the copy's files are all still in the table with their rows, and the rows read are those
//! of the other files. Anything else — the table compacted or restored, a damaged or missing
//! copy — is a miss: the table is read whole, as without a copy, with a warning for damage.
//!
//! A load writes a new copy when it has read or given many numbers the copy does not hold
//! (an eighth of it, and at least the caller's minimum): after a registry's first load, or
//! a full read. The writer lock is held throughout, so no other writer appends meanwhile.

use std::collections::HashMap;

use deltalake::DeltaTable;
use url::Url;
use vigie_model::{PERSON_NUMBER, PersonNumbers};

use crate::cache::{CacheArea, cache_miss};
use crate::error::WarehouseError;
use crate::table::{delta_err, open_at};
use crate::{Warehouse, WriterLock};

/// The copy's name in the cache folder.
const COPY: &str = "person_number";
/// Its identity: one copy per warehouse, its validity checked against the table's files.
const IDENTITY: &str = "person_number table: sorted encoded copy, version 1";
const EXTENSION: &str = "bin";

/// The active files of the `person_number` table: path and row count (when the log records it).
pub(crate) struct TableFiles(Vec<(String, Option<usize>)>);

impl TableFiles {
    pub(crate) fn of(table: &DeltaTable, url: &Url) -> Result<Self, WarehouseError> {
        let files = table
            .snapshot()
            .map_err(delta_err(url))?
            .log_data()
            .iter()
            .map(|file| (file.path().into_owned(), file.num_records()))
            .collect();
        Ok(TableFiles(files))
    }

    /// Rows of every file (those whose count the log lacks left out).
    pub(crate) fn known_rows(&self) -> usize {
        self.0.iter().filter_map(|(_, rows)| *rows).sum()
    }

    /// Rows of every file, if the log records each count.
    fn rows(&self) -> Option<usize> {
        self.0.iter().map(|(_, rows)| *rows).sum()
    }

    /// The label of a copy holding every file: a line per file, rows then path.
    fn label(&self) -> Option<String> {
        let mut lines: Vec<String> = self
            .0
            .iter()
            .map(|(path, rows)| rows.map(|rows| format!("{rows}\t{path}")))
            .collect::<Option<_>>()?;
        lines.sort();
        Some(lines.join("\n"))
    }

    /// The rows of the files a copy labelled `label` and holding `entries` does not hold —
    /// None if it does not fit the table (a file it holds gone or changed, counts that do
    /// not add up, a count the log lacks).
    fn rows_beyond(&self, label: &str, entries: usize) -> Option<usize> {
        let mut active: HashMap<&str, Option<usize>> =
            self.0.iter().map(|(p, r)| (p.as_str(), *r)).collect();
        let mut held = 0usize;
        for line in label.lines().filter(|l| !l.is_empty()) {
            let (rows, path) = line.split_once('\t')?;
            let rows: usize = rows.parse().ok()?;
            if active.remove(path)? != Some(rows) {
                return None;
            }
            held += rows;
        }
        if held != entries {
            return None;
        }
        active.into_values().sum()
    }
}

impl Warehouse {
    /// The numbering from the copy and the table's numbers beyond it, or None when there is
    /// no usable copy.
    pub(crate) async fn numbers_from_copy(
        &self,
        table: &DeltaTable,
        url: &Url,
        files: &TableFiles,
    ) -> Result<Option<PersonNumbers>, WarehouseError> {
        let Some((bytes, object)) = self
            .read_cached_bytes(CacheArea::Restricted, COPY, IDENTITY, EXTENSION)
            .await
        else {
            return Ok(None);
        };
        let (mut stored, label) = match vigie_model::StoredNumbers::from_encoded(bytes) {
            Ok(read) => read,
            Err(e) => {
                cache_miss(COPY, &object, &e.to_string());
                return Ok(None);
            }
        };
        let Some(beyond) = files.rows_beyond(&label, stored.len()) else {
            // Compaction or a restore changes the files: an expected miss, not a fault.
            tracing::debug!("the numbering's copy does not fit the table's files: read whole");
            return Ok(None);
        };
        let held = stored.len();
        if beyond > 0 {
            let read =
                crate::person_numbers::read_pairs(table, url, Some(stored.next()), &mut stored)
                    .await?;
            if read != beyond {
                cache_miss(
                    COPY,
                    &object,
                    &format!(
                        "the table's files it does not hold have {beyond} rows, {read} of them \
                         beyond its highest number"
                    ),
                );
                return Ok(None);
            }
        }
        tracing::debug!(held, read = beyond, "person numbering from its copy");
        match stored.finish() {
            Ok(numbers) => Ok(Some(numbers)),
            Err(e) => {
                // The table is read whole next, which reports a fault of its own.
                cache_miss(COPY, &object, &e.to_string());
                Ok(None)
            }
        }
    }

    /// Writes a copy of `numbers` (the numbering a load read, with the numbers it gave and
    /// stored) when it holds at least `min_new` numbers, and an eighth, more than the copy
    /// it was read from. Call it when every number given is stored, under the writer lock.
    /// Returns whether a copy was written. A failure costs the next load a whole read, no
    /// more: the caller may log it and go on.
    pub async fn keep_person_numbers(
        &self,
        numbers: &PersonNumbers,
        lock: &WriterLock,
        min_new: usize,
    ) -> Result<bool, WarehouseError> {
        let copied = numbers.encoded_len();
        let new = numbers.len().saturating_sub(copied);
        if new == 0 || new < min_new.max(copied / 8) {
            return Ok(false);
        }
        lock.still_held()?;
        let url = self.table_url(PERSON_NUMBER)?;
        let Some(table) = open_at(&url, None).await? else {
            return Ok(false);
        };
        let files = TableFiles::of(&table, &url)?;
        let (Some(label), Some(rows)) = (files.label(), files.rows()) else {
            tracing::debug!("the table's log lacks row counts: no copy of the numbering");
            return Ok(false);
        };
        let encoding = numbers.encode(&label);
        if encoding.entries() != rows as u64 {
            // Numbers given but not stored (a load that failed part way): not a copy of the
            // table, so none is written.
            tracing::debug!(
                entries = encoding.entries(),
                rows,
                "the numbering does not match its table: no copy"
            );
            return Ok(false);
        }
        self.write_cached_chunks(CacheArea::Restricted, COPY, IDENTITY, EXTENSION, encoding)
            .await?;
        tracing::debug!(entries = rows, "person numbering copied");
        Ok(true)
    }
}
