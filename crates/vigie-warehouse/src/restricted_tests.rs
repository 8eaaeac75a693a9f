//! Restricted tables live under `restricted/`; a worklist an earlier version wrote at the
//! root moves there when the warehouse is opened, and reads back.

use std::sync::Arc;

use arrow::array::StringArray;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::{Replace, SessionOptions, Warehouse, WriteInput};

fn rows() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "person_key",
        DataType::Utf8,
        false,
    )]));
    RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["a", "b"]))]).expect("batch")
}

#[tokio::test]
async fn the_worklist_is_written_under_restricted_and_an_old_one_is_moved_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("w");
    let warehouse = Warehouse::open(root.to_str().expect("utf-8")).expect("open");
    assert!(
        warehouse
            .table_url("worklist")
            .expect("url")
            .path()
            .ends_with("/restricted/worklist/")
    );
    assert!(
        warehouse
            .table_url("person")
            .expect("url")
            .path()
            .ends_with("/w/person/")
    );

    // A worklist where an earlier version kept it: at the root.
    let old = url::Url::from_directory_path(root.join("worklist")).expect("url");
    crate::table::write(
        &old,
        vec![],
        vec![WriteInput::Batches(vec![rows()])],
        &[Replace::Nothing],
    )
    .await
    .expect("write the old table");
    assert!(root.join("worklist/_delta_log").is_dir());

    let warehouse = Warehouse::open(root.to_str().expect("utf-8")).expect("reopen");
    assert!(!root.join("worklist").exists(), "moved away from the root");
    assert!(root.join("restricted/worklist/_delta_log").is_dir());
    let snapshot = warehouse.snapshot(None).await.expect("snapshot");
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await
        .expect("session");
    let n: usize = ctx
        .sql("SELECT * FROM worklist")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(n, 2);
}
