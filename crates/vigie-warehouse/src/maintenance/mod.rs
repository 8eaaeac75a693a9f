//! Upkeep of the warehouse's Delta tables: compaction of small files, then vacuum of the
//! files that no version within the retention period still needs.
//!
//! Every load and compute commits new files, so a table gathers many small files (one per
//! load and partition) and keeps the files that later versions replaced: they are what
//! time travel reads. [`Warehouse::maintain`], run under the writer lock so that it never
//! races a load or a compute, does for each Delta table under the warehouse root:
//!
//! 1. writes the retention into the table's properties (`delta.deletedFileRetentionDuration`,
//!    `delta.logRetentionDuration`), so that other Delta tools' VACUUM and Delta's own log
//!    clean-up keep the same history as vigie;
//! 2. compacts small files into larger ones (delta-rs `optimize`): a new version, same
//!    rows; loaded tables record it in the maintenance log ([`log`]) so that readers pinned
//!    to the earlier version by the load manifest move to the compacted one;
//! 3. vacuums: deletes the data files that were replaced (or never committed, after a
//!    crash) longer ago than the retention period. A version stays readable as long as it
//!    was the current one at some moment within the retention period.
//!
//! A loaded table whose latest version is ahead of what the manifest recorded (a load was
//! interrupted between its table commit and its manifest entry) is left alone: its pinned
//! version must stay readable until the next load redoes the file.

mod log;
mod retention;

pub use log::{CompactionRecord, MAINTENANCE_LOG_TABLE, maintenance_log_schema};
pub(crate) use log::{Equivalences, equivalent_version, read_equivalences};
pub use retention::{MINIMUM_SAFE_RETENTION, Retention};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deltalake::DeltaTable;
use deltalake::operations::vacuum::{Clock, VacuumMode};
use deltalake::table::config::TablePropertiesExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::WarehouseError;
use crate::table::{delta_err, open_at, writer_properties};
use crate::{Replace, Warehouse, WriterLock};

/// What a maintenance run does.
#[derive(Debug, Clone)]
pub struct MaintenanceOptions {
    /// Files replaced longer ago than this are deleted.
    pub retention: Retention,
    /// The retention written into the tables' properties: the pipeline's, even when one
    /// run vacuums with a shorter, forced retention.
    pub table_retention: Retention,
    /// Only list what vacuum would delete: no commit, no deletion.
    pub dry_run: bool,
    /// The time retention counts back from (now, except in tests).
    pub now: DateTime<Utc>,
}

/// A data file vacuum deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacuumedFile {
    /// Path within the table.
    pub path: String,
    /// Size in bytes (0 if it could not be read).
    pub bytes: u64,
}

/// What maintenance did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOutcome {
    /// Compacted (unless a dry run or nothing to compact) and vacuumed.
    Maintained {
        /// Active data files before.
        files_before: usize,
        /// Active data files after.
        files_after: usize,
        /// The compaction, when it committed a new version.
        compaction: Option<CompactionRecord>,
        /// Files vacuum deleted (a dry run: would delete).
        vacuumed: Vec<VacuumedFile>,
    },
    /// Left alone: a load committed to the table without reaching the manifest.
    AheadOfManifest {
        /// The version readers use.
        manifest_version: u64,
        /// The table's latest version.
        latest_version: u64,
    },
}

/// One table's maintenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMaintenance {
    /// The table, as a path under the warehouse root.
    pub table: String,
    /// What was done.
    pub outcome: TableOutcome,
}

/// What a maintenance run did, table by table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Nothing was committed or deleted.
    pub dry_run: bool,
    /// The retention vacuum used.
    pub retention: Retention,
    /// Every table found, in name order.
    pub tables: Vec<TableMaintenance>,
}

impl MaintenanceReport {
    fn maintained(&self) -> impl Iterator<Item = (&Option<CompactionRecord>, &[VacuumedFile])> {
        self.tables.iter().filter_map(|t| match &t.outcome {
            TableOutcome::Maintained {
                compaction,
                vacuumed,
                ..
            } => Some((compaction, vacuumed.as_slice())),
            TableOutcome::AheadOfManifest { .. } => None,
        })
    }

    /// Small files compacted, over all tables.
    pub fn files_compacted(&self) -> u64 {
        self.maintained()
            .filter_map(|(c, _)| c.as_ref())
            .map(|c| c.files_removed)
            .sum()
    }

    /// Files the compactions wrote.
    pub fn files_written(&self) -> u64 {
        self.maintained()
            .filter_map(|(c, _)| c.as_ref())
            .map(|c| c.files_added)
            .sum()
    }

    /// Files vacuum deleted (or would delete).
    pub fn files_vacuumed(&self) -> usize {
        self.maintained().map(|(_, v)| v.len()).sum()
    }

    /// Bytes vacuum freed (or would free).
    pub fn bytes_vacuumed(&self) -> u64 {
        self.maintained()
            .flat_map(|(_, v)| v.iter())
            .map(|f| f.bytes)
            .sum()
    }
}

/// Vacuum's idea of now: the run's `now`.
#[derive(Debug)]
struct FixedClock(i64);

impl Clock for FixedClock {
    fn current_timestamp_millis(&self) -> i64 {
        self.0
    }
}

impl Warehouse {
    /// Compacts and vacuums every Delta table under the warehouse root (see the module
    /// docs). `lock` must be this warehouse's writer lock: it is checked before each commit.
    pub async fn maintain(
        &self,
        lock: &WriterLock,
        options: &MaintenanceOptions,
    ) -> Result<MaintenanceReport, WarehouseError> {
        let snapshot = self.snapshot(None).await?;
        let mut tables = Vec::new();
        for name in self.delta_tables().await? {
            let pinned = snapshot.tables.get(&name).copied();
            let outcome = self.maintain_table(&name, pinned, lock, options).await?;
            tables.push(TableMaintenance {
                table: name,
                outcome,
            });
        }
        Ok(MaintenanceReport {
            dry_run: options.dry_run,
            retention: options.retention,
            tables,
        })
    }

    /// Every Delta table under the root, as paths relative to it: directories holding a
    /// `_delta_log/`, at the root or one folder below (tables kept apart, e.g. restricted).
    pub async fn delta_tables(&self) -> Result<Vec<String>, WarehouseError> {
        let (store, root) = crate::lock::lease_store(&self.root)?;
        let store_err = |source| WarehouseError::Listing {
            location: self.root.to_string(),
            source,
        };
        let mut found = BTreeSet::new();
        let mut pending: Vec<(StorePath, usize)> = vec![(root.clone(), 0)];
        while let Some((dir, depth)) = pending.pop() {
            let listing = store
                .list_with_delimiter(Some(&dir))
                .await
                .map_err(store_err)?;
            let is_table = listing
                .common_prefixes
                .iter()
                .any(|p| p.filename() == Some("_delta_log"));
            if is_table && depth > 0 {
                let relative = dir
                    .prefix_match(&root)
                    .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .join("/");
                found.insert(relative);
            } else if depth < 2 {
                pending.extend(listing.common_prefixes.into_iter().map(|p| (p, depth + 1)));
            }
        }
        Ok(found.into_iter().collect())
    }

    async fn maintain_table(
        &self,
        name: &str,
        pinned: Option<u64>,
        lock: &WriterLock,
        options: &MaintenanceOptions,
    ) -> Result<TableOutcome, WarehouseError> {
        let url = self.table_url(name)?;
        let Some(mut table) = open_at(&url, None).await? else {
            return Err(WarehouseError::Internal(format!(
                "table {name} was listed but has no version"
            )));
        };
        let before = table.version().unwrap_or_default();
        if let Some(manifest_version) = pinned
            && manifest_version != before
        {
            tracing::warn!(
                table = name,
                manifest_version,
                latest_version = before,
                "left alone: a load committed to this table without reaching the manifest; \
                 the next load redoes it / table ignorée : chargement interrompu"
            );
            return Ok(TableOutcome::AheadOfManifest {
                manifest_version,
                latest_version: before,
            });
        }
        let files_before = active_files(&table)?;
        let mut compaction = None;
        if !options.dry_run {
            table = set_retention_properties(table, options.table_retention, lock).await?;
            lock.still_held()?;
            let (compacted, metrics) = table
                .optimize()
                .with_writer_properties(writer_properties())
                .await
                .map_err(delta_err(&url))?;
            table = compacted;
            let after = table.version().unwrap_or_default();
            if after != before {
                let record = CompactionRecord {
                    at: Utc::now(),
                    table: name.to_string(),
                    from_version: before,
                    to_version: after,
                    files_removed: metrics.num_files_removed,
                    files_added: metrics.num_files_added,
                    bytes_removed: u64::try_from(metrics.files_removed.total_size)
                        .unwrap_or_default(),
                    bytes_added: u64::try_from(metrics.files_added.total_size).unwrap_or_default(),
                };
                // The log's own compactions need no record: it is read at its latest version.
                if name != MAINTENANCE_LOG_TABLE {
                    self.record_compaction(&record, lock).await?;
                }
                compaction = Some(record);
            }
        }
        let vacuumed = vacuum(&table, &url, lock, options).await?;
        let files_after = active_files(&table)?;
        tracing::info!(
            table = name,
            files_before,
            files_after,
            files_vacuumed = vacuumed.len(),
            bytes_vacuumed = vacuumed.iter().map(|f| f.bytes).sum::<u64>(),
            dry_run = options.dry_run,
            "table maintained / table entretenue"
        );
        Ok(TableOutcome::Maintained {
            files_before,
            files_after,
            compaction,
            vacuumed,
        })
    }

    /// Appends one compaction to the maintenance log (its own commit, right after the
    /// compaction, so that a crash leaves at most one table ahead of the manifest).
    pub(crate) async fn record_compaction(
        &self,
        record: &CompactionRecord,
        lock: &WriterLock,
    ) -> Result<(), WarehouseError> {
        lock.still_held()?;
        self.write(
            MAINTENANCE_LOG_TABLE,
            maintenance_log_schema(),
            vec![],
            vec![log::to_batch(record)?],
            &Replace::Nothing,
        )
        .await?;
        Ok(())
    }

    /// The version equivalences compactions recorded.
    pub(crate) async fn equivalences(&self) -> Result<Equivalences, WarehouseError> {
        read_equivalences(&self.table_url(MAINTENANCE_LOG_TABLE)?).await
    }
}

/// Active data files of a table's loaded version.
fn active_files(table: &DeltaTable) -> Result<usize, WarehouseError> {
    Ok(table
        .get_file_uris()
        .map_err(delta_err(table.table_url()))?
        .count())
}

/// Writes the retention into the table's properties when they say otherwise (one
/// metadata commit, the first time or when the pipeline's retention changed).
async fn set_retention_properties(
    table: DeltaTable,
    retention: Retention,
    lock: &WriterLock,
) -> Result<DeltaTable, WarehouseError> {
    let url = table.table_url().clone();
    let config = table.snapshot().map_err(delta_err(&url))?.table_config();
    if config.deleted_file_retention_duration() == retention.period()
        && config.log_retention_duration() == retention.period()
    {
        return Ok(table);
    }
    let interval = retention.delta_interval();
    let properties = [
        "delta.deletedFileRetentionDuration",
        "delta.logRetentionDuration",
    ]
    .into_iter()
    .map(|key| (key.to_string(), interval.clone()))
    .collect();
    lock.still_held()?;
    table
        .set_tbl_properties()
        .with_properties(properties)
        .await
        .map_err(delta_err(&url))
}

/// Deletes (or lists, in a dry run) the files no version within the retention needs:
/// those replaced longer ago than the retention, and files no commit ever named (a crashed
/// write) older than it.
async fn vacuum(
    table: &DeltaTable,
    url: &url::Url,
    lock: &WriterLock,
    options: &MaintenanceOptions,
) -> Result<Vec<VacuumedFile>, WarehouseError> {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(options.now.timestamp_millis()));
    let plan = |dry_run: bool| {
        table
            .clone()
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(options.retention.chrono())
            // The retention was checked by `Retention` (a day at least, unless forced).
            .with_enforce_retention_duration(false)
            .with_clock(Arc::clone(&clock))
            .with_dry_run(dry_run)
    };
    let (_, listed) = plan(true).await.map_err(delta_err(url))?;
    let store = table.object_store();
    let mut sizes = BTreeMap::new();
    for path in &listed.files_deleted {
        let bytes = match store.head(&StorePath::from(path.as_str())).await {
            Ok(meta) => meta.size,
            Err(_) => 0,
        };
        sizes.insert(path.clone(), bytes);
    }
    let deleted = if options.dry_run || listed.files_deleted.is_empty() {
        listed.files_deleted
    } else {
        lock.still_held()?;
        plan(false).await.map_err(delta_err(url))?.1.files_deleted
    };
    Ok(deleted
        .into_iter()
        .map(|path| VacuumedFile {
            bytes: sizes.get(&path).copied().unwrap_or_default(),
            path,
        })
        .collect())
}

#[cfg(test)]
mod tests;
