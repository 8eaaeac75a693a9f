//! Maintenance on real Delta tables in a temporary directory: compaction keeps every row
//! and moves readers to the compacted version, vacuum keeps what the retention covers and
//! deletes the rest, and a table a load left ahead of the manifest is not touched.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::commit_tests::{entry, warehouse, write};
use crate::{FileStatus, SessionOptions};

const DAY: i64 = 24 * 3600;

fn options(retention_days: u32, now: DateTime<Utc>, dry_run: bool) -> MaintenanceOptions {
    let retention = Retention::days(retention_days, false).expect("retention");
    MaintenanceOptions {
        retention,
        table_retention: retention,
        dry_run,
        now,
    }
}

/// `ed_visit` rows a reader sees at manifest version `as_of` (latest: None).
async fn visit_rows(warehouse: &Warehouse, as_of: Option<u64>) -> Result<usize, WarehouseError> {
    let snapshot = warehouse.snapshot(as_of).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    let batches = ctx
        .sql("SELECT _file FROM ed_visit")
        .await?
        .collect()
        .await?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

fn ed_visit(report: &MaintenanceReport) -> &TableOutcome {
    &report
        .tables
        .iter()
        .find(|t| t.table == "ed_visit")
        .expect("ed_visit maintained")
        .outcome
}

#[tokio::test]
async fn compaction_keeps_the_rows_and_vacuum_keeps_exactly_the_retention() {
    let (_dir, warehouse) = warehouse();
    // Five small loads into one month, the last one replacing the first file's rows.
    let mut manifest_versions = Vec::new();
    for (i, file) in ["f1", "f2", "f3", "f4", "f1"].into_iter().enumerate() {
        let replace = Replace::File {
            source: "a".into(),
            file: file.into(),
        };
        let month = if i % 2 == 0 { "2024-01" } else { "2024-02" };
        let v = write(
            &warehouse,
            &[("a", file, month), ("a", file, month)],
            replace,
        )
        .await;
        let m = warehouse
            .record_manifest(&[entry(file, FileStatus::Loaded, Some(v))])
            .await
            .expect("manifest");
        manifest_versions.push(m);
    }
    let first = Some(manifest_versions[0]);
    assert_eq!(visit_rows(&warehouse, None).await.expect("read"), 8);
    assert_eq!(visit_rows(&warehouse, first).await.expect("read"), 2);
    let lock = warehouse
        .lock_writer("maintain", Duration::ZERO)
        .await
        .expect("lock");
    let now = Utc::now();

    // A dry run changes nothing.
    let dry = warehouse
        .maintain(&lock, &options(30, now, true))
        .await
        .expect("dry run");
    let before = warehouse.snapshot(None).await.expect("snapshot");
    assert!(matches!(
        ed_visit(&dry),
        TableOutcome::Maintained { compaction: None, vacuumed, files_before, files_after }
            if vacuumed.is_empty() && files_before == files_after && *files_before >= 4
    ));

    // Compaction: fewer files, the same rows, and readers moved to the compacted version.
    let report = warehouse
        .maintain(&lock, &options(30, now, false))
        .await
        .expect("maintain");
    let TableOutcome::Maintained {
        files_before,
        files_after,
        compaction: Some(compaction),
        vacuumed,
    } = ed_visit(&report)
    else {
        panic!("{report:?}");
    };
    assert!(files_after < files_before, "{report:?}");
    assert_eq!(*files_after, 2, "one file per month");
    assert!(compaction.files_removed >= 4, "{compaction:?}");
    assert!(
        vacuumed.is_empty(),
        "nothing is older than the retention yet"
    );
    let after = warehouse.snapshot(None).await.expect("snapshot");
    assert_eq!(
        after.tables.get("ed_visit"),
        Some(&compaction.to_version),
        "the pinned version {:?} follows the compaction",
        before.tables.get("ed_visit")
    );
    assert!(
        after.manifest_version > before.manifest_version,
        "the manifest was compacted too"
    );
    assert_eq!(visit_rows(&warehouse, None).await.expect("read"), 8);
    // Every table got the retention as its properties, for other Delta tools.
    let table = crate::table::open_at(&warehouse.table_url("ed_visit").expect("url"), None)
        .await
        .expect("open")
        .expect("table");
    let config = table.snapshot().expect("state").table_config();
    assert_eq!(
        config.deleted_file_retention_duration(),
        Duration::from_secs(30 * DAY as u64)
    );
    assert_eq!(
        config.log_retention_duration(),
        Duration::from_secs(30 * DAY as u64)
    );

    // 29 days later, the first version is still within the retention: readable.
    let later = warehouse
        .maintain(
            &lock,
            &options(30, now + chrono::Duration::seconds(29 * DAY), false),
        )
        .await
        .expect("maintain");
    assert!(
        matches!(ed_visit(&later), TableOutcome::Maintained { compaction: None, vacuumed, .. } if vacuumed.is_empty()),
        "{later:?}"
    );
    assert_eq!(
        visit_rows(&warehouse, first).await.expect("still readable"),
        2
    );

    // 31 days later, every file replaced more than 30 days ago is deleted: the first
    // versions are gone, the latest reads the same rows.
    let expired = warehouse
        .maintain(
            &lock,
            &options(30, now + chrono::Duration::seconds(31 * DAY), false),
        )
        .await
        .expect("maintain");
    let TableOutcome::Maintained {
        vacuumed,
        files_after,
        ..
    } = ed_visit(&expired)
    else {
        panic!("{expired:?}");
    };
    assert!(
        vacuumed.len() >= 5,
        "the small files and the replaced one: {vacuumed:?}"
    );
    assert!(vacuumed.iter().all(|f| f.bytes > 0), "{vacuumed:?}");
    assert_eq!(*files_after, 2);
    assert!(expired.bytes_vacuumed() > 0);
    assert_eq!(visit_rows(&warehouse, None).await.expect("read"), 8);
    assert!(
        visit_rows(&warehouse, first).await.is_err(),
        "a version older than the retention is gone"
    );
    lock.release().await.expect("release");
}

#[tokio::test]
async fn a_table_ahead_of_the_manifest_is_left_alone() {
    let (_dir, warehouse) = warehouse();
    let file = || Replace::File {
        source: "a".into(),
        file: "f1".into(),
    };
    let v0 = write(&warehouse, &[("a", "f1", "2024-01")], file()).await;
    warehouse
        .record_manifest(&[entry("f1", FileStatus::Loaded, Some(v0))])
        .await
        .expect("manifest");
    // A load replaced the rows but crashed before its manifest entry.
    let v1 = write(&warehouse, &[("a", "f1", "2024-01")], file()).await;
    let lock = warehouse
        .lock_writer("maintain", Duration::ZERO)
        .await
        .expect("lock");
    let far = Utc::now() + chrono::Duration::seconds(400 * DAY);
    let report = warehouse
        .maintain(&lock, &options(30, far, false))
        .await
        .expect("maintain");
    assert_eq!(
        ed_visit(&report),
        &TableOutcome::AheadOfManifest {
            manifest_version: v0,
            latest_version: v1
        }
    );
    assert_eq!(
        visit_rows(&warehouse, None)
            .await
            .expect("the pinned version is intact"),
        1
    );
    let manifest = report
        .tables
        .iter()
        .find(|t| t.table == crate::MANIFEST_TABLE)
        .expect("the manifest is maintained too");
    assert!(matches!(manifest.outcome, TableOutcome::Maintained { .. }));
}

#[tokio::test]
async fn tables_are_found_at_the_root_and_one_folder_below() {
    let (_dir, warehouse) = warehouse();
    let v = write(&warehouse, &[("a", "f1", "2024-01")], Replace::Nothing).await;
    warehouse
        .record_manifest(&[entry("f1", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    warehouse
        .write(
            "restricted/worklist",
            crate::manifest_schema(),
            vec![],
            vec![
                crate::manifest::to_batch(&[entry("x", FileStatus::Loaded, None)]).expect("batch"),
            ],
            &Replace::Nothing,
        )
        .await
        .expect("write");
    assert_eq!(
        warehouse.delta_tables().await.expect("list"),
        vec!["ed_visit", "load_manifest", "restricted/worklist"]
    );
    // Snapshots look for the maintenance log without creating it.
    warehouse.snapshot(None).await.expect("snapshot");
    let root = warehouse.root().to_file_path().expect("a local path");
    assert!(!root.join(MAINTENANCE_LOG_TABLE).exists());
}
