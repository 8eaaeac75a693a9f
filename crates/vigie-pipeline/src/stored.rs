//! Records already in the warehouse, for duplicates across files: an `append` source's
//! partner re-sending last month's records inside this month's file must not count them
//! twice. (A `replace` source re-sending a period replaces it instead.)

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use futures::StreamExt;
use vigie_ingest::dedup::{LoadedRecords, add_stored_rows, first_copies};
use vigie_model::config::{LoadMode, SourceSpec};

use crate::error::PipelineError;
use crate::guard::{entities_of, query_err, quote};

/// The fingerprints of every record of `source` in the snapshot of `ctx` (None for a
/// source that is not `append`).
pub(crate) async fn loaded_records(
    ctx: &SessionContext,
    source: &SourceSpec,
) -> Result<Option<LoadedRecords>, PipelineError> {
    if source.load != LoadMode::Append {
        return Ok(None);
    }
    let mut records = HashMap::new();
    let mut files = HashMap::new();
    for entity in entities_of(source) {
        let columns: Vec<String> = entity
            .fields()
            .iter()
            .map(|f| format!("\"{}\"", f.name))
            .chain(["_file".to_string(), "_line".to_string()])
            .collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE _source = {}",
            columns.join(", "),
            entity.table_name(),
            quote(&source.source)
        );
        let mut stream = ctx
            .sql(&sql)
            .await
            .map_err(query_err)?
            .execute_stream()
            .await
            .map_err(query_err)?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(query_err)?;
            add_stored_rows(entity, &batch, &mut records, &mut files).map_err(|e| {
                PipelineError::Internal(format!("fingerprinting {}: {e}", entity.table_name()))
            })?;
        }
    }
    Ok(Some(first_copies(records)))
}

/// Shared between the parsing threads.
pub(crate) type SharedRecords = Arc<LoadedRecords>;

#[cfg(test)]
mod tests;
