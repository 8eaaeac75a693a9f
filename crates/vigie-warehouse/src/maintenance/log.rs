//! The maintenance log: which table versions a compaction made equivalent.
//!
//! Readers open each loaded table at the version its last manifest entry recorded (see the
//! crate docs). Compacting a table commits a new version with the same rows and marks the
//! earlier version's files as removed; once the retention has passed, vacuum deletes them.
//! A reader still pinned to the earlier version would then fail. So every compaction records
//! `table: from_version -> to_version` here, and [`Warehouse::snapshot`](crate::Warehouse)
//! follows those records: a snapshot that names `from_version` reads `to_version` instead,
//! which holds exactly the same rows. A compaction is only done when `from_version` is the
//! table's latest version (no load commit lies between them), so the equivalence is exact.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use crate::error::WarehouseError;
use crate::table::open_at;

/// Name of the maintenance log table.
pub const MAINTENANCE_LOG_TABLE: &str = "maintenance_log";

/// One compaction of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionRecord {
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// The table compacted.
    pub table: String,
    /// The version it compacted (the latest before the compaction).
    pub from_version: u64,
    /// The version that holds the same rows in fewer files.
    pub to_version: u64,
    /// Data files replaced.
    pub files_removed: u64,
    /// Data files written.
    pub files_added: u64,
    /// Bytes of the files replaced.
    pub bytes_removed: u64,
    /// Bytes of the files written.
    pub bytes_added: u64,
}

/// Schema of the maintenance log.
pub fn maintenance_log_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let int = |name: &str| Field::new(name, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        Field::new("maintained_at", ts, false),
        Field::new("table_name", DataType::Utf8, false),
        int("from_version"),
        int("to_version"),
        int("files_removed"),
        int("files_added"),
        int("bytes_removed"),
        int("bytes_added"),
    ]))
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn to_batch(record: &CompactionRecord) -> Result<RecordBatch, WarehouseError> {
    let int = |n: u64| -> ArrayRef { Arc::new(Int64Array::from(vec![as_i64(n)])) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMicrosecondArray::from(vec![record.at.timestamp_micros()])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec![record.table.clone()])),
        int(record.from_version),
        int(record.to_version),
        int(record.files_removed),
        int(record.files_added),
        int(record.bytes_removed),
        int(record.bytes_added),
    ];
    Ok(RecordBatch::try_new(maintenance_log_schema(), columns)?)
}

/// Table -> (from_version -> to_version), from every recorded compaction.
pub(crate) type Equivalences = BTreeMap<String, BTreeMap<u64, u64>>;

/// Every recorded compaction's version pair (empty when nothing was ever compacted).
pub(crate) async fn read_equivalences(url: &Url) -> Result<Equivalences, WarehouseError> {
    let mut out = Equivalences::new();
    // Read on every snapshot: a local warehouse never maintained has no log, and opening one
    // would create its directory.
    if url.scheme() == "file"
        && let Ok(path) = url.to_file_path()
        && !path.join("_delta_log").is_dir()
    {
        return Ok(out);
    }
    let Some(table) = open_at(url, None).await? else {
        return Ok(out);
    };
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|source| WarehouseError::Delta {
            table: url.to_string(),
            source,
        })?;
    let provider = table.table_provider().await?;
    let batches = ctx
        .read_table(provider)?
        .select_columns(&["table_name", "from_version", "to_version"])?
        .collect()
        .await?;
    for b in &batches {
        let col = |i: usize, ty: &DataType| arrow::compute::cast(b.column(i), ty);
        let names = col(0, &DataType::Utf8)?;
        let names = names
            .as_string_opt::<i32>()
            .ok_or_else(|| WarehouseError::Internal("maintenance log table_name".into()))?;
        let (from, to) = (col(1, &DataType::Int64)?, col(2, &DataType::Int64)?);
        let (Some(from), Some(to)) = (
            from.as_primitive_opt::<Int64Type>(),
            to.as_primitive_opt::<Int64Type>(),
        ) else {
            return Err(WarehouseError::Internal(
                "maintenance log versions are not integers".into(),
            ));
        };
        for i in 0..b.num_rows() {
            if names.is_null(i) || from.is_null(i) || to.is_null(i) {
                continue;
            }
            out.entry(names.value(i).to_string())
                .or_default()
                .insert(from.value(i) as u64, to.value(i) as u64);
        }
    }
    Ok(out)
}

/// The version a reader pinned to `version` of `table` reads: followed through every
/// compaction that started from it (a chain when a table was compacted several times
/// without a load in between).
pub(crate) fn equivalent_version(equivalences: &Equivalences, table: &str, version: u64) -> u64 {
    let Some(pairs) = equivalences.get(table) else {
        return version;
    };
    let mut current = version;
    // Each step moves to a strictly later version, so the chain ends; the bound guards
    // against a hand-edited log that loops.
    for _ in 0..=pairs.len() {
        match pairs.get(&current) {
            Some(&next) if next > current => current = next,
            _ => break,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_version_follows_its_compactions_only() {
        let mut eq = Equivalences::new();
        eq.entry("ed_visit".into())
            .or_default()
            .extend([(3, 4), (4, 6), (9, 10)]);
        assert_eq!(
            equivalent_version(&eq, "ed_visit", 3),
            6,
            "chain 3 -> 4 -> 6"
        );
        assert_eq!(
            equivalent_version(&eq, "ed_visit", 5),
            5,
            "a load's version"
        );
        assert_eq!(equivalent_version(&eq, "ed_visit", 9), 10);
        assert_eq!(equivalent_version(&eq, "person", 3), 3, "another table");
        eq.entry("loop".into()).or_default().extend([(1, 1)]);
        assert_eq!(equivalent_version(&eq, "loop", 1), 1);
    }
}
