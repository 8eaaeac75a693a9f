//! One Delta table: replace-and-write in a single commit, versions.
//!
//! ```text
//!   data files written ──► commit N+1 (create-if-absent of _delta_log/N+1.json) ──► visible
//!          │ crash                    │ lost race: typed conflict, retried by delta-rs
//!          ▼                          ▼
//!   orphan files, invisible     table unchanged
//! ```

use arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use url::Url;

use crate::error::WarehouseError;

/// Which existing rows a write replaces, atomically with the new rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replace {
    /// Nothing: plain append.
    Nothing,
    /// The rows an earlier load of this file put there (append sources: idempotent re-runs).
    File {
        /// Source id.
        source: String,
        /// Landing-zone key.
        file: String,
    },
    /// Every row of this source in these event months (replace-by-month sources).
    Months {
        /// Source id.
        source: String,
        /// `YYYY-MM` months.
        months: Vec<String>,
    },
    /// Every row of this source (full snapshots).
    Source {
        /// Source id.
        source: String,
    },
    /// Rows matching a SQL predicate (derived tables such as `indicator_results`).
    Predicate(String),
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Replace {
    /// The SQL predicate selecting the replaced rows.
    pub fn predicate(&self) -> Option<String> {
        match self {
            Replace::Nothing => None,
            Replace::File { source, file } => Some(format!(
                "_source = {} AND _file = {}",
                quote(source),
                quote(file)
            )),
            Replace::Months { source, months } if months.is_empty() => {
                Some(format!("_source = {} AND false", quote(source)))
            }
            Replace::Months { source, months } => Some(format!(
                "_source = {} AND event_month IN ({})",
                quote(source),
                months
                    .iter()
                    .map(|m| quote(m))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Replace::Source { source } => Some(format!("_source = {}", quote(source))),
            Replace::Predicate(p) => Some(p.clone()),
        }
    }
}

fn delta_err(url: &Url) -> impl Fn(DeltaTableError) -> WarehouseError + '_ {
    move |source| WarehouseError::Delta {
        table: url.to_string(),
        source,
    }
}

async fn open_or_new(url: &Url) -> Result<DeltaTable, WarehouseError> {
    if url.scheme() == "file"
        && let Ok(path) = url.to_file_path()
    {
        std::fs::create_dir_all(&path).map_err(|e| WarehouseError::Location {
            location: url.to_string(),
            message: format!("cannot create the table directory: {e}"),
        })?;
    }
    // A table that was never committed has no log: build it unloaded rather than asking
    // the kernel to read a log that is not there (which it logs as an error).
    let has_log = match url.to_file_path() {
        Ok(path) if url.scheme() == "file" => path.join("_delta_log").is_dir(),
        _ => true,
    };
    if has_log {
        DeltaTable::try_from_url(url.clone())
            .await
            .map_err(delta_err(url))
    } else {
        deltalake::DeltaTableBuilder::from_url(url.clone())
            .and_then(|b| b.build())
            .map_err(delta_err(url))
    }
}

/// Writer settings: zstd, with column statistics for pruning.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build()
}

/// What a write adds: batches in memory, or a staging Parquet file streamed from disk.
#[derive(Debug)]
pub enum WriteInput {
    /// Record batches.
    Batches(Vec<RecordBatch>),
    /// A Parquet file in the table's schema (deleted by the caller after the commit).
    Parquet(std::path::PathBuf),
}

pub(crate) async fn write(
    url: &Url,
    partition_columns: Vec<String>,
    input: WriteInput,
    replace: &Replace,
) -> Result<Option<u64>, WarehouseError> {
    let table = open_or_new(url).await?;
    let exists = table.version().is_some();
    let predicate = replace.predicate();
    let plan = match input {
        WriteInput::Batches(batches) => {
            let batches: Vec<RecordBatch> =
                batches.into_iter().filter(|b| b.num_rows() > 0).collect();
            if batches.is_empty() {
                None
            } else {
                Some(table.clone().write(batches))
            }
        }
        WriteInput::Parquet(path) => {
            // Streamed: DataFusion reads the staging file batch by batch as Delta writes.
            let ctx = datafusion::prelude::SessionContext::new();
            let location = path.display().to_string();
            let df = ctx
                .read_parquet(location, datafusion::prelude::ParquetReadOptions::default())
                .await?;
            Some(
                table
                    .clone()
                    .write(Vec::<RecordBatch>::new())
                    .with_input_plan(df.into_unoptimized_plan()),
            )
        }
    };
    let Some(builder) = plan else {
        // Nothing new: a replace still removes the earlier rows (a corrected extract may have
        // none left for this table); a table that never existed stays absent.
        return match (exists, predicate) {
            (false, _) => Ok(None),
            (true, None) => Ok(table.version()),
            (true, Some(p)) => {
                let (table, _) = table
                    .delete()
                    .with_predicate(p)
                    .await
                    .map_err(delta_err(url))?;
                Ok(table.version())
            }
        };
    };
    let mut builder = builder
        .with_partition_columns(partition_columns)
        .with_writer_properties(writer_properties())
        .with_commit_properties(CommitProperties::default());
    builder = match (exists, predicate) {
        (true, Some(p)) => builder
            .with_save_mode(SaveMode::Overwrite)
            .with_replace_where(p),
        _ => builder.with_save_mode(SaveMode::Append),
    };
    let table = builder.await.map_err(delta_err(url))?;
    Ok(table.version())
}

/// The latest version of a table, or `version` itself after checking it exists.
pub(crate) async fn latest_version(
    url: &Url,
    version: Option<u64>,
) -> Result<Option<u64>, WarehouseError> {
    let table = open_or_new(url).await?;
    Ok(match (table.version(), version) {
        (None, _) => None,
        (Some(latest), Some(v)) if v <= latest => Some(v),
        (Some(latest), _) => Some(latest),
    })
}

/// Opens a table at a version (latest when None); None when the table does not exist.
pub(crate) async fn open_at(
    url: &Url,
    version: Option<u64>,
) -> Result<Option<DeltaTable>, WarehouseError> {
    let mut table = open_or_new(url).await?;
    if table.version().is_none() {
        return Ok(None);
    }
    if let Some(v) = version {
        table.load_version(v).await.map_err(delta_err(url))?;
    }
    Ok(Some(table))
}
