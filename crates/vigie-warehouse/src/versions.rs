//! The latest committed version of a table, for a reader that watches a warehouse another
//! process writes (`vigie serve` beside a cron-driven `vigie run`): a new version means new
//! data to read.

use crate::error::WarehouseError;
use crate::{Warehouse, table};

impl Warehouse {
    /// The latest committed version of `table` (None: never committed). A local table that
    /// was never written is answered without creating its directory: watching writes nothing.
    pub async fn table_version(&self, table: &str) -> Result<Option<u64>, WarehouseError> {
        let url = self.table_url(table)?;
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
            && !path.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        table::latest_version(&url, None).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    use crate::{Replace, Warehouse};

    #[tokio::test]
    async fn each_commit_gives_a_new_version_and_a_missing_table_none() {
        let dir = tempfile::tempdir().expect("tmp");
        let wh = Warehouse::open(&dir.path().display().to_string()).expect("warehouse");
        assert_eq!(wh.table_version("t").await.expect("version"), None);
        assert!(!dir.path().join("t").exists(), "watching created nothing");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))])
            .expect("batch");
        let mut versions = Vec::new();
        for _ in 0..2 {
            wh.write(
                "t",
                schema.clone(),
                vec![],
                vec![batch.clone()],
                &Replace::Nothing,
            )
            .await
            .expect("write");
            versions.push(wh.table_version("t").await.expect("version"));
        }
        assert!(
            versions[0].is_some() && versions[1] > versions[0],
            "{versions:?}"
        );
    }
}
