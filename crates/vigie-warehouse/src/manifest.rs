//! The load manifest: one entry per file per load, the record of what the warehouse holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{
    DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use url::Url;

use crate::error::WarehouseError;
use crate::table::open_at;

/// Name of the manifest table.
pub const MANIFEST_TABLE: &str = "load_manifest";
/// Name of the quarantine table.
pub const QUARANTINE_TABLE: &str = "quarantine";

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Read; its accepted rows are in the warehouse, its rejected rows in the quarantine.
    Loaded,
    /// Rejected whole (wrong header, undecodable bytes, truncated): nothing loaded.
    Rejected,
    /// Held by a guard of its source (nothing applied) until a person releases or
    /// discards it with `vigie held`.
    Held,
    /// A held file a person chose to drop: never applied, never retried.
    Discarded,
}

impl FileStatus {
    /// Every status.
    pub const ALL: [FileStatus; 4] = [
        FileStatus::Loaded,
        FileStatus::Rejected,
        FileStatus::Held,
        FileStatus::Discarded,
    ];

    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Loaded => "loaded",
            FileStatus::Rejected => "rejected",
            FileStatus::Held => "held",
            FileStatus::Discarded => "discarded",
        }
    }

    /// Parses stored text; an unknown status is an error, never a default.
    pub fn parse(text: &str) -> Option<FileStatus> {
        FileStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestEntry {
    /// The load (one `vigie ingest` or pipeline run).
    pub load_id: String,
    /// Source id.
    pub source: String,
    /// Landing-zone key.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
    /// Data records read.
    pub rows_read: u64,
    /// Records accepted.
    pub rows_accepted: u64,
    /// Records rejected.
    pub rows_rejected: u64,
    /// When the file's load started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Outcome.
    pub status: FileStatus,
    /// For a rejected file: line and reason (never a raw value).
    pub message: Option<String>,
    /// Table -> version holding this file's rows.
    pub table_versions: BTreeMap<String, u64>,
}

/// Schema of the manifest table.
pub fn manifest_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("size_bytes", DataType::Int64, false),
        Field::new("content_sha256", DataType::Utf8, false),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_accepted", DataType::Int64, false),
        Field::new("rows_rejected", DataType::Int64, false),
        Field::new("started_at", ts.clone(), false),
        Field::new("finished_at", ts, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, true),
        Field::new("table_versions", DataType::Utf8, false),
    ]))
}

pub(crate) fn to_batch(entries: &[ManifestEntry]) -> Result<RecordBatch, WarehouseError> {
    let s = |f: fn(&ManifestEntry) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(entries.iter().map(f)))
    };
    let n = |f: fn(&ManifestEntry) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| f(e) as i64),
        ))
    };
    let t = |f: fn(&ManifestEntry) -> DateTime<Utc>| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                entries.iter().map(|e| f(e).timestamp_micros()),
            )
            .with_timezone("UTC"),
        )
    };
    let versions = entries
        .iter()
        .map(|e| serde_json::to_string(&e.table_versions))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WarehouseError::Internal(e.to_string()))?;
    let columns: Vec<ArrayRef> = vec![
        s(|e| e.load_id.clone()),
        s(|e| e.source.clone()),
        s(|e| e.file.clone()),
        n(|e| e.size),
        s(|e| e.content_hash.clone()),
        n(|e| e.rows_read),
        n(|e| e.rows_accepted),
        n(|e| e.rows_rejected),
        t(|e| e.started_at),
        t(|e| e.finished_at),
        s(|e| e.status.as_str().to_string()),
        Arc::new(StringArray::from(
            entries
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(versions)),
    ];
    Ok(RecordBatch::try_new(manifest_schema(), columns)?)
}

pub(crate) async fn read(
    url: &Url,
    version: Option<u64>,
) -> Result<Vec<ManifestEntry>, WarehouseError> {
    let Some(table) = open_at(url, version).await? else {
        return Ok(vec![]);
    };
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|source| WarehouseError::Delta {
            table: url.to_string(),
            source,
        })?;
    let provider = table.table_provider().await?;
    let batches = ctx.read_table(provider)?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        // Delta readers may hand back view or dictionary types: normalise to the manifest schema.
        let col = |name: &str| -> Result<ArrayRef, WarehouseError> {
            let array = b
                .column_by_name(name)
                .ok_or_else(|| WarehouseError::Internal(format!("manifest lacks {name}")))?;
            let target = manifest_schema().field_with_name(name)?.data_type().clone();
            Ok(arrow::compute::cast(array, &target)?)
        };
        let st = |name: &str| -> Result<StringArray, WarehouseError> {
            col(name)?
                .as_string_opt::<i32>()
                .cloned()
                .ok_or_else(|| WarehouseError::Internal(format!("manifest {name} is not text")))
        };
        let it = |name: &str| -> Result<Int64Array, WarehouseError> {
            col(name)?
                .as_primitive_opt::<Int64Type>()
                .cloned()
                .ok_or_else(|| WarehouseError::Internal(format!("manifest {name} is not int")))
        };
        let ts = |name: &str| -> Result<TimestampMicrosecondArray, WarehouseError> {
            col(name)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .cloned()
                .ok_or_else(|| {
                    WarehouseError::Internal(format!("manifest {name} is not a timestamp"))
                })
        };
        let (load_id, source, file, hash, status, message, versions) = (
            st("load_id")?,
            st("source")?,
            st("file")?,
            st("content_sha256")?,
            st("status")?,
            st("message")?,
            st("table_versions")?,
        );
        let (size, read, acc, rej) = (
            it("size_bytes")?,
            it("rows_read")?,
            it("rows_accepted")?,
            it("rows_rejected")?,
        );
        let (started, finished) = (ts("started_at")?, ts("finished_at")?);
        for i in 0..b.num_rows() {
            let time = |a: &TimestampMicrosecondArray| {
                DateTime::from_timestamp_micros(a.value(i)).unwrap_or_default()
            };
            out.push(ManifestEntry {
                load_id: load_id.value(i).to_string(),
                source: source.value(i).to_string(),
                file: file.value(i).to_string(),
                size: size.value(i) as u64,
                content_hash: hash.value(i).to_string(),
                rows_read: read.value(i) as u64,
                rows_accepted: acc.value(i) as u64,
                rows_rejected: rej.value(i) as u64,
                started_at: time(&started),
                finished_at: time(&finished),
                status: FileStatus::parse(status.value(i)).ok_or_else(|| {
                    WarehouseError::Internal(format!(
                        "manifest entry of {} has an unknown status \"{}\"",
                        file.value(i),
                        status.value(i)
                    ))
                })?,
                message: (!message.is_null(i)).then(|| message.value(i).to_string()),
                table_versions: serde_json::from_str(versions.value(i))
                    .map_err(|e| WarehouseError::Internal(e.to_string()))?,
            });
        }
    }
    out.sort_by(|a, b| {
        a.finished_at
            .cmp(&b.finished_at)
            .then_with(|| a.file.cmp(&b.file))
    });
    Ok(out)
}
