//! Run history, kept in the warehouse (`run_history`): one row per pipeline run.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use vigie_warehouse::{Replace, Warehouse};

use crate::ServeError;

/// Name of the run history table.
pub const RUN_HISTORY_TABLE: &str = "run_history";

/// One run.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Pipeline name.
    pub pipeline: String,
    /// Run id.
    pub run_id: String,
    /// schedule, startup or manual.
    pub trigger: String,
    /// Attempt number (retries after transient errors).
    pub attempt: u32,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
    /// success or failure.
    pub status: String,
    /// The error, for a failure (never a raw identifier: errors carry none).
    pub error: Option<String>,
    /// Files loaded.
    pub files_loaded: i64,
    /// Files rejected whole.
    pub files_rejected: i64,
    /// Rows read.
    pub rows_read: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// Indicator result rows written.
    pub result_rows: i64,
}

fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("pipeline", DataType::Utf8, false),
        Field::new("run_id", DataType::Utf8, false),
        Field::new("trigger", DataType::Utf8, false),
        Field::new("attempt", DataType::Int64, false),
        Field::new("started_at", ts.clone(), false),
        Field::new("finished_at", ts, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("files_loaded", DataType::Int64, false),
        Field::new("files_rejected", DataType::Int64, false),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_rejected", DataType::Int64, false),
        Field::new("result_rows", DataType::Int64, false),
    ]))
}

/// Appends a run to the history.
pub async fn record_run(warehouse: &Warehouse, r: &RunRecord) -> Result<(), ServeError> {
    let s = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let n = |v: i64| -> ArrayRef { Arc::new(Int64Array::from(vec![v])) };
    let t = |v: DateTime<Utc>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![v.timestamp_micros()]).with_timezone("UTC"))
    };
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            s(&r.pipeline),
            s(&r.run_id),
            s(&r.trigger),
            n(r.attempt as i64),
            t(r.started_at),
            t(r.finished_at),
            s(&r.status),
            Arc::new(StringArray::from(vec![r.error.clone()])),
            n(r.files_loaded),
            n(r.files_rejected),
            n(r.rows_read),
            n(r.rows_rejected),
            n(r.result_rows),
        ],
    )
    .map_err(vigie_warehouse::WarehouseError::from)?;
    warehouse
        .write(
            RUN_HISTORY_TABLE,
            schema(),
            vec![],
            vec![batch],
            &Replace::Nothing,
        )
        .await?;
    Ok(())
}
