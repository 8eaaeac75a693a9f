//! Migrations a writer applies before it writes: a warehouse loaded by an earlier version
//! is brought to the current layout in place, without reloading extracts.

use tracing::info;
use vigie_warehouse::{NumberingMigration, Warehouse, WriterLock};

use crate::error::PipelineError;

/// Brings tables written in an earlier layout to the current one: persons numbered, fields
/// added since left empty (nothing to do on a current warehouse). `lock` is the caller's
/// writer lock.
pub async fn number_persons(
    warehouse: &Warehouse,
    lock: &WriterLock,
) -> Result<NumberingMigration, PipelineError> {
    let migration = warehouse.migrate_layout(lock).await?;
    if !migration.tables.is_empty() {
        info!(
            persons = migration.persons_numbered,
            tables = migration.tables.len(),
            "warehouse migrated: persons numbered / entrepôt migré : personnes numérotées"
        );
    }
    Ok(migration)
}
