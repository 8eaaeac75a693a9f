//! The warehouse: Delta Lake tables on object_store, one per canonical entity plus the
//! quarantine and the load manifest.
//!
//! Writes put data files first and make them visible with one Delta commit per table.
//! A load that spans several tables (a combined extract, its quarantine, its manifest
//! entry) becomes visible to readers only when its manifest entry is committed: readers
//! open every table at the version the last committed manifest entry recorded (a
//! [`Snapshot`]), so a crash between two table commits never shows partial data, and the
//! next run redoes the file idempotently (every write replaces the rows of its own file,
//! or of the source's periods).
//!
//! Those guarantees assume one writer at a time: a writing process first takes the
//! warehouse's writer lock ([`Warehouse::lock_writer`]; design in `src/lock.rs`) and checks
//! [`WriterLock::still_held`] before each commit.

mod cache;
#[cfg(test)]
mod commit_tests;
mod day_shift;
mod error;
mod join_modes;
mod join_sizes;
mod location;
mod lock;
mod maintenance;
mod manifest;
mod mapped;
mod numbering_copy;
mod period_start;
mod person_numbers;
mod plan_rewrite;
#[cfg(test)]
mod restricted_tests;
mod session;
mod table;
mod versions;

pub use cache::{CACHE_PREFIX, CacheArea};
pub use error::{WarehouseError, datafusion_kind};
pub use location::resolve_location;
pub use lock::{DEFAULT_LEASE_TTL, LEASE_OBJECT, LOCK_FILE, LockOptions, WriterHolder, WriterLock};
pub use maintenance::{
    CompactionRecord, MAINTENANCE_LOG_TABLE, MINIMUM_SAFE_RETENTION, MaintenanceOptions,
    MaintenanceReport, Retention, TableMaintenance, TableOutcome, VacuumedFile,
    maintenance_log_schema,
};
pub use manifest::{FileStatus, MANIFEST_TABLE, ManifestEntry, QUARANTINE_TABLE, manifest_schema};
pub use person_numbers::{NumberedTable, NumberingMigration};
pub use session::{DERIVED_TABLES, SessionOptions, Snapshot};
pub use table::{Replace, WriteInput};

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use url::Url;

/// Tables of the restricted zone: person-level lists for care coordinators, the record of
/// their exports, and the key-to-number map. They live under [`RESTRICTED_PREFIX`], apart from the published and
/// internal tables, so that a reader can be given the rest of the warehouse without them.
pub const RESTRICTED_TABLES: [&str; 3] = [
    "worklist",
    vigie_model::PERSON_NUMBER,
    "worklist_export_audit",
];

/// The folder of the restricted zone inside the warehouse.
pub const RESTRICTED_PREFIX: &str = "restricted";

/// A warehouse at a root location.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: Url,
}

impl Warehouse {
    /// Opens (and for a local path, creates) the warehouse at `location`: a path or a URL.
    pub fn open(location: &str) -> Result<Self, WarehouseError> {
        register_cloud_handlers();
        let root = resolve_location(location, true)?;
        move_restricted_tables(&root)?;
        Ok(Warehouse { root })
    }

    /// Opens a warehouse that must be there already: the commands that only read one or
    /// work on one (`compute`, `query`, `report`, `export`, `maintain`...). A local
    /// directory that does not exist is an error, not an empty warehouse created where a
    /// typo pointed (which answered every query with nothing, exit 0). A store URL is
    /// opened as it is: its tables say whether there is anything.
    pub fn open_existing(location: &str) -> Result<Self, WarehouseError> {
        if !location.contains("://") && !std::path::Path::new(location).is_dir() {
            return Err(WarehouseError::Location {
                location: location.to_string(),
                message: "no warehouse here: the directory does not exist. Check the pipeline's `warehouse:` or `--warehouse` (`vigie ingest` creates a warehouse at its first load) / aucun entrepôt ici : le répertoire n'existe pas. Vérifiez `warehouse:` dans le pipeline ou `--warehouse` (`vigie ingest` crée l'entrepôt à son premier chargement)".into(),
            });
        }
        Self::open(location)
    }

    /// The root URL.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// URL of a table (a restricted table's is under [`RESTRICTED_PREFIX`]).
    pub fn table_url(&self, table: &str) -> Result<Url, WarehouseError> {
        let path = if RESTRICTED_TABLES.contains(&table) {
            format!("{RESTRICTED_PREFIX}/{table}/")
        } else {
            format!("{table}/")
        };
        self.root.join(&path).map_err(|e| WarehouseError::Location {
            location: self.root.to_string(),
            message: e.to_string(),
        })
    }

    /// Writes `batches` to `table`, first removing the rows `replace` selects, in one commit.
    /// Returns the table version that holds the result (None: the table does not exist and
    /// there was nothing to write).
    pub async fn write(
        &self,
        table: &str,
        schema: SchemaRef,
        partition_columns: Vec<String>,
        batches: Vec<RecordBatch>,
        replace: &Replace,
    ) -> Result<Option<u64>, WarehouseError> {
        let _ = schema;
        table::write(
            &self.table_url(table)?,
            partition_columns,
            vec![WriteInput::Batches(batches)],
            std::slice::from_ref(replace),
        )
        .await
    }

    /// Adds the rows of several loaded files to `table` and removes what any of `replaces`
    /// selects, in one commit: one Delta commit per table for a whole group of files.
    pub async fn write_inputs(
        &self,
        table: &str,
        partition_columns: Vec<String>,
        inputs: Vec<WriteInput>,
        replaces: &[Replace],
    ) -> Result<Option<u64>, WarehouseError> {
        table::write(&self.table_url(table)?, partition_columns, inputs, replaces).await
    }

    /// Appends manifest entries (one commit). Returns the manifest's new version.
    pub async fn record_manifest(&self, entries: &[ManifestEntry]) -> Result<u64, WarehouseError> {
        let batch = manifest::to_batch(entries)?;
        let version = self
            .write(
                MANIFEST_TABLE,
                manifest_schema(),
                vec![],
                vec![batch],
                &Replace::Nothing,
            )
            .await?;
        version.ok_or_else(|| WarehouseError::Internal("manifest write produced no version".into()))
    }

    /// Every committed manifest entry (latest version, or the one given).
    pub async fn manifest(
        &self,
        version: Option<u64>,
    ) -> Result<Vec<ManifestEntry>, WarehouseError> {
        manifest::read(&self.table_url(MANIFEST_TABLE)?, version).await
    }

    /// The table versions a consistent reader must use: the highest version each table
    /// reached in a committed manifest entry (at manifest `version`, or the latest), moved
    /// on to the version a later compaction rewrote it into, when there was one (the same
    /// rows in fewer files: see `maintenance/log.rs`).
    pub async fn snapshot(&self, version: Option<u64>) -> Result<Snapshot, WarehouseError> {
        let entries = self.manifest(version).await?;
        let mut tables: BTreeMap<String, u64> = BTreeMap::new();
        for e in &entries {
            for (t, v) in &e.table_versions {
                let slot = tables.entry(t.clone()).or_insert(*v);
                *slot = (*slot).max(*v);
            }
        }
        if !tables.is_empty() {
            let equivalences = self.equivalences().await?;
            for (table, v) in tables.iter_mut() {
                *v = maintenance::equivalent_version(&equivalences, table, *v);
            }
        }
        let manifest_version =
            table::latest_version(&self.table_url(MANIFEST_TABLE)?, version).await?;
        Ok(Snapshot {
            manifest_version,
            tables,
        })
    }
}

/// Moves the restricted tables an earlier version wrote at the root of a local warehouse
/// into [`RESTRICTED_PREFIX`] (one rename each: the Delta log's paths are relative to the
/// table). On an object store an old copy stays where it was — the next full compute writes
/// the worklist whole at its new place — and is left for the operator to delete.
fn move_restricted_tables(root: &Url) -> Result<(), WarehouseError> {
    let Ok(dir) = root.to_file_path() else {
        return Ok(());
    };
    for table in RESTRICTED_TABLES {
        let old = dir.join(table);
        let new = dir.join(RESTRICTED_PREFIX).join(table);
        if !old.join("_delta_log").is_dir() || new.exists() {
            continue;
        }
        let err = |e: std::io::Error| WarehouseError::Location {
            location: root.to_string(),
            message: format!(
                "cannot move the restricted table {} to {}: {e}",
                old.display(),
                new.display()
            ),
        };
        std::fs::create_dir_all(dir.join(RESTRICTED_PREFIX)).map_err(err)?;
        std::fs::rename(&old, &new).map_err(err)?;
        tracing::info!(
            "moved the restricted table {table} to {} / table restreinte déplacée",
            new.display()
        );
    }
    Ok(())
}

/// Teaches delta-rs the cloud URL schemes, once (with the `cloud` feature).
fn register_cloud_handlers() {
    #[cfg(feature = "cloud")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            deltalake::aws::register_handlers(None);
            deltalake::gcp::register_handlers(None);
            deltalake::azure::register_handlers(None);
        });
    }
}
