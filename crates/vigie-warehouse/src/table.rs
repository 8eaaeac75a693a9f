//! One Delta table: replace-and-write in a single commit, versions.
//!
//! ```text
//!   data files written ──► commit N+1 (create-if-absent of _delta_log/N+1.json) ──► visible
//!          │ crash                    │ lost race: typed conflict, retried by delta-rs
//!          ▼                          ▼
//!   orphan files, invisible     table unchanged
//! ```

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;
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

pub(crate) fn delta_err(url: &Url) -> impl Fn(DeltaTableError) -> WarehouseError + '_ {
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

/// Rows per Parquet row group. A partitioned write keeps one open row group per partition
/// (36 event months in a three-year load): at the default million rows, a province's group
/// of files held gigabytes of rows in those buffers.
const ROW_GROUP_ROWS: usize = 131_072;

/// Writer settings: zstd, with column statistics for pruning, bounded row groups.
///
/// Level 1: a province's hospital load spent 15% of its CPU in zstd at level 3. The
/// pseudonymous key has no dictionary: nearly every value differs from the others of its
/// page (HMAC outputs), so the writer built a dictionary per page only to give it up. With
/// both, that hospital's table came out 4% smaller, not larger (`docs/benchmarks.md`).
/// Nor have the columns of [`plain_columns`] a dictionary, for the same reason.
pub(crate) fn writer_properties() -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_column_dictionary_enabled(ColumnPath::from("person_key"), false)
        // No query prunes on the pseudonymous key (uniform HMAC outputs: every page and
        // file spans the whole range), and its minimum and maximum cost a comparison of
        // 64 characters per row.
        .set_column_statistics_enabled(ColumnPath::from("person_key"), EnabledStatistics::None);
    for column in plain_columns() {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    builder.build()
}

/// Columns whose values are (nearly) all distinct within a row group: the source line, the
/// person number (a row group of hospital visits names about as many persons as it has
/// rows) and every timestamp. A dictionary for them grew to the writer's limit and was then
/// given up for plain values: the interning of every value was 3% of a province load's CPU,
/// for nothing.
fn plain_columns() -> std::collections::BTreeSet<&'static str> {
    let timestamps = vigie_model::Entity::ALL
        .iter()
        .flat_map(|e| e.fields())
        .filter(|f| f.ty == vigie_model::FieldType::DateTime)
        .map(|f| f.name);
    ["_line", vigie_model::PERSON_NUMBER]
        .into_iter()
        .chain(timestamps)
        .collect()
}

/// What a write adds: batches in memory, a staging Parquet file streamed from disk, or
/// batches made one at a time as the writer asks for them.
#[derive(Debug)]
pub enum WriteInput {
    /// Record batches.
    Batches(Vec<RecordBatch>),
    /// A Parquet file in the table's schema (deleted by the caller after the commit).
    Parquet(std::path::PathBuf),
    /// Batches produced on demand (in the table's schema).
    Stream(Arc<dyn datafusion::physical_plan::streaming::PartitionStream>),
}

/// The SQL predicate selecting the rows any of `replaces` selects, or None when none
/// selects anything. Scopes of one source are merged (`_file IN (...)`,
/// `event_month IN (...)`) so a commit covering many files keeps one short predicate that
/// partition pruning understands.
pub(crate) fn combined_predicate(replaces: &[Replace]) -> Option<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut files: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut months: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    let mut raw: Vec<&str> = Vec::new();
    for r in replaces {
        match r {
            Replace::Nothing => {}
            Replace::File { source, file } => {
                files.entry(source).or_default().insert(file);
            }
            Replace::Months { source, months: m } => {
                months
                    .entry(source)
                    .or_default()
                    .extend(m.iter().map(String::as_str));
            }
            Replace::Source { source } => {
                whole.insert(source);
            }
            Replace::Predicate(p) => raw.push(p),
        }
    }
    let list = |items: &BTreeSet<&str>| {
        items
            .iter()
            .map(|m| quote(m))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut terms: Vec<String> = Vec::new();
    for s in &whole {
        terms.push(format!("_source = {}", quote(s)));
    }
    for (s, f) in files.iter().filter(|(s, _)| !whole.contains(*s)) {
        terms.push(format!(
            "(_source = {} AND _file IN ({}))",
            quote(s),
            list(f)
        ));
    }
    for (s, m) in months
        .iter()
        .filter(|(s, m)| !whole.contains(*s) && !m.is_empty())
    {
        terms.push(format!(
            "(_source = {} AND event_month IN ({}))",
            quote(s),
            list(m)
        ));
    }
    terms.extend(raw.iter().map(|p| format!("({p})")));
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(terms.join(" OR ")),
    }
}

/// Adds `inputs` to the table and removes what `replaces` selects, in one commit.
pub(crate) async fn write(
    url: &Url,
    partition_columns: Vec<String>,
    inputs: Vec<WriteInput>,
    replaces: &[Replace],
) -> Result<Option<u64>, WarehouseError> {
    let table = open_or_new(url).await?;
    let exists = table.version().is_some();
    let predicate = combined_predicate(replaces);
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut staged: Vec<String> = Vec::new();
    let mut streams: Vec<Arc<dyn datafusion::physical_plan::streaming::PartitionStream>> =
        Vec::new();
    for input in inputs {
        match input {
            WriteInput::Batches(b) => batches.extend(b.into_iter().filter(|b| b.num_rows() > 0)),
            WriteInput::Parquet(path) => staged.push(path.display().to_string()),
            WriteInput::Stream(s) => streams.push(s),
        }
    }
    let plan = if staged.is_empty() && streams.is_empty() {
        (!batches.is_empty()).then(|| table.clone().write(batches))
    } else {
        // Streamed: DataFusion reads the staging files (and produces the streamed inputs)
        // batch by batch as Delta writes; rows still in memory join them as one more input.
        let ctx = datafusion::prelude::SessionContext::new();
        let mut inputs: Vec<datafusion::dataframe::DataFrame> = Vec::new();
        if !staged.is_empty() {
            inputs.push(
                ctx.read_parquet(staged, datafusion::prelude::ParquetReadOptions::default())
                    .await?,
            );
        }
        if let Some(first) = streams.first() {
            let schema = first.schema().clone();
            let table = datafusion::catalog::streaming::StreamingTable::try_new(schema, streams)?;
            inputs.push(ctx.read_table(Arc::new(table))?);
        }
        if !batches.is_empty() {
            inputs.push(ctx.read_batches(batches)?);
        }
        let mut inputs = inputs.into_iter();
        let Some(mut df) = inputs.next() else {
            return Err(WarehouseError::Internal(
                "a streamed write without input".into(),
            ));
        };
        for other in inputs {
            df = df.union(other)?;
        }
        Some(
            table
                .clone()
                .write(Vec::<RecordBatch>::new())
                .with_input_plan(df.into_unoptimized_plan()),
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_valued_columns_are_written_without_a_dictionary() {
        let props = writer_properties();
        for column in [
            "_line",
            "person_number",
            "person_key",
            "arrival",
            "contact_start",
        ] {
            assert!(
                !props.dictionary_enabled(&ColumnPath::from(column)),
                "{column}"
            );
        }
        // Columns of few distinct values keep theirs.
        for column in ["facility", "diagnosis", "_file", "_source", "admit_date"] {
            assert!(
                props.dictionary_enabled(&ColumnPath::from(column)),
                "{column}"
            );
        }
    }

    #[test]
    fn scopes_of_a_group_merge_per_source() {
        let file = |f: &str| Replace::File {
            source: "a".into(),
            file: f.into(),
        };
        let months = |s: &str, m: &[&str]| Replace::Months {
            source: s.into(),
            months: m.iter().map(|x| x.to_string()).collect(),
        };
        assert_eq!(combined_predicate(&[Replace::Nothing]), None);
        assert_eq!(
            combined_predicate(&[months("b", &[])]),
            None,
            "no month, no rows"
        );
        assert_eq!(
            combined_predicate(&[file("x.csv"), file("it's.csv")]).as_deref(),
            Some("(_source = 'a' AND _file IN ('it''s.csv', 'x.csv'))")
        );
        assert_eq!(
            combined_predicate(&[
                months("b", &["2024-02"]),
                months("b", &["2024-01", "2024-02"]),
                file("x.csv"),
            ])
            .as_deref(),
            Some(
                "(_source = 'a' AND _file IN ('x.csv')) OR \
                 (_source = 'b' AND event_month IN ('2024-01', '2024-02'))"
            )
        );
        assert_eq!(
            combined_predicate(&[
                Replace::Source { source: "b".into() },
                months("b", &["2024-01"]),
                Replace::Predicate("run_id IS NOT NULL".into()),
            ])
            .as_deref(),
            Some("_source = 'b' OR (run_id IS NOT NULL)"),
            "a whole source covers its months"
        );
    }
}
