//! The commit layer on real Delta tables in a temporary directory: table writes stay
//! invisible until a manifest entry names their versions, a write replaces exactly the
//! rows its scope selects, re-running it changes nothing, and the manifest reads back
//! what was recorded — refusing a status it does not know.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, new_null_array};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use vigie_model::Entity;

use crate::{
    FileStatus, MANIFEST_TABLE, ManifestEntry, Replace, SessionOptions, Warehouse, WarehouseError,
    WriteInput, manifest_schema,
};

/// A warehouse in a fresh temporary directory (kept alive by the returned guard).
pub(crate) fn warehouse() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("warehouse");
    let warehouse = Warehouse::open(root.to_str().expect("utf-8 path")).expect("open");
    (dir, warehouse)
}

/// One `ed_visit` row per `(source, file, month)`, every column in the table's schema:
/// required columns get a plausible value, optional ones are null.
fn visits(rows: &[(&str, &str, &str)]) -> RecordBatch {
    let schema = Entity::EdVisit.schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| {
            if field.is_nullable() {
                return new_null_array(field.data_type(), rows.len());
            }
            let text: StringArray = rows
                .iter()
                .enumerate()
                .map(|(i, (source, file, month))| {
                    Some(match field.name().as_str() {
                        "person_key" => format!("p{i}"),
                        "person_number" => i.to_string(),
                        "arrival" => format!("{month}-15T09:30:00"),
                        "facility" => "F1".to_string(),
                        "_source" => source.to_string(),
                        "_file" => file.to_string(),
                        "_line" => (i + 2).to_string(),
                        "_load_id" => "load".to_string(),
                        "event_month" => month.to_string(),
                        other => panic!("no test value for required column {other}"),
                    })
                })
                .collect();
            arrow::compute::cast(&text, field.data_type()).expect("cast to the column type")
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("batch")
}

/// Writes `rows` to `ed_visit`, replacing what `replace` selects; returns the new version.
pub(crate) async fn write(
    warehouse: &Warehouse,
    rows: &[(&str, &str, &str)],
    replace: Replace,
) -> u64 {
    warehouse
        .write_inputs(
            "ed_visit",
            Entity::EdVisit.partition_columns(),
            vec![WriteInput::Batches(vec![visits(rows)])],
            &[replace],
        )
        .await
        .expect("write")
        .expect("a version")
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("timestamp")
}

/// A manifest entry for `file` recording `ed_visit` at `version`.
pub(crate) fn entry(file: &str, status: FileStatus, version: Option<u64>) -> ManifestEntry {
    ManifestEntry {
        load_id: "load-1".into(),
        source: "a".into(),
        file: file.into(),
        size: 123,
        content_hash: format!("hash-of-{file}"),
        rows_read: 10,
        rows_accepted: 8,
        rows_rejected: 2,
        started_at: at(0),
        finished_at: at(5),
        status,
        message: (status != FileStatus::Loaded).then(|| "line 3: why".to_string()),
        table_versions: version
            .map(|v| BTreeMap::from([("ed_visit".to_string(), v)]))
            .unwrap_or_default(),
    }
}

/// A session over what a consistent reader sees now.
async fn reader(warehouse: &Warehouse) -> datafusion::prelude::SessionContext {
    let snapshot = warehouse.snapshot(None).await.expect("snapshot");
    warehouse
        .session(&snapshot, &SessionOptions::default())
        .await
        .expect("session")
}

/// The rows of `sql`.
async fn collect(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .expect("query")
        .collect()
        .await
        .expect("collect")
}

/// The line of `sql`'s executed plan (`EXPLAIN ANALYZE`, with its metrics) showing the
/// first `operator`.
async fn analysed_operator(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
    operator: &str,
) -> String {
    let plan = collect(ctx, &format!("EXPLAIN ANALYZE {sql}")).await;
    let plan = arrow::util::pretty::pretty_format_batches(&plan)
        .expect("format")
        .to_string();
    plan.lines()
        .find(|l| l.contains(operator))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no {operator} in {plan}"))
}

/// Column `i` of `b` as text.
fn text_column(b: &RecordBatch, i: usize) -> Vec<String> {
    let array = arrow::compute::cast(b.column(i), &DataType::Utf8).expect("cast");
    let array = array.as_any().downcast_ref::<StringArray>().expect("text");
    array
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

/// `(source, file, month)` of every `ed_visit` row a consistent reader sees now, sorted.
async fn seen(warehouse: &Warehouse) -> Vec<(String, String, String)> {
    let ctx = reader(warehouse).await;
    let batches = collect(&ctx, "SELECT _source, _file, event_month FROM ed_visit").await;
    let mut rows = Vec::new();
    for b in &batches {
        let (s, f, m) = (text_column(b, 0), text_column(b, 1), text_column(b, 2));
        rows.extend(s.into_iter().zip(f).zip(m).map(|((s, f), m)| (s, f, m)));
    }
    rows.sort();
    rows
}

fn rows(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(s, f, m)| (s.to_string(), f.to_string(), m.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_table_commit_is_invisible_until_a_manifest_entry_names_its_version() {
    let (_dir, warehouse) = warehouse();
    let v0 = write(&warehouse, &[("a", "f1", "2024-01")], Replace::Nothing).await;
    // The table has a version, but no manifest entry records it: a crash here (between the
    // table commits of a group and its manifest commit) shows nothing to readers.
    assert_eq!(
        warehouse.snapshot(None).await.expect("snapshot").tables,
        BTreeMap::new()
    );
    assert!(seen(&warehouse).await.is_empty());

    warehouse
        .record_manifest(&[entry("f1", FileStatus::Loaded, Some(v0))])
        .await
        .expect("manifest");
    assert_eq!(seen(&warehouse).await, rows(&[("a", "f1", "2024-01")]));

    // A later table commit without its manifest entry (the crashed half of a second
    // group) stays invisible: readers keep the version the manifest recorded.
    let v1 = write(&warehouse, &[("a", "f2", "2024-02")], Replace::Nothing).await;
    assert!(v1 > v0);
    assert_eq!(seen(&warehouse).await, rows(&[("a", "f1", "2024-01")]));
    let snapshot = warehouse.snapshot(None).await.expect("snapshot");
    assert_eq!(snapshot.tables.get("ed_visit"), Some(&v0));

    // An older manifest version gives the older snapshot.
    warehouse
        .record_manifest(&[entry("f2", FileStatus::Loaded, Some(v1))])
        .await
        .expect("manifest");
    assert_eq!(seen(&warehouse).await.len(), 2);
    let first = warehouse
        .snapshot(snapshot.manifest_version)
        .await
        .expect("older snapshot");
    assert_eq!(first, snapshot);
}

#[tokio::test]
async fn writing_a_file_again_replaces_its_rows_instead_of_adding_them() {
    let (_dir, warehouse) = warehouse();
    let file = || Replace::File {
        source: "a".into(),
        file: "f1".into(),
    };
    let both = [("a", "f1", "2024-01"), ("a", "f1", "2024-02")];
    write(&warehouse, &both, file()).await;
    write(&warehouse, &[("b", "f1", "2024-01")], Replace::Nothing).await;
    let v = write(&warehouse, &both, file()).await;
    warehouse
        .record_manifest(&[entry("f1", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    assert_eq!(
        seen(&warehouse).await,
        rows(&[
            ("a", "f1", "2024-01"),
            ("a", "f1", "2024-02"),
            ("b", "f1", "2024-01")
        ]),
        "the re-run left one copy; source b's file of the same name is untouched"
    );
}

#[tokio::test]
async fn replace_scopes_remove_exactly_what_they_select() {
    let (_dir, warehouse) = warehouse();
    write(
        &warehouse,
        &[
            ("a", "jan", "2024-01"),
            ("a", "feb", "2024-02"),
            ("a", "mar", "2024-03"),
            ("b", "jan", "2024-01"),
        ],
        Replace::Nothing,
    )
    .await;
    // Append: nothing removed.
    write(&warehouse, &[("a", "jan2", "2024-01")], Replace::Nothing).await;
    // Months: source a's January and February go, whatever file brought them; March and
    // source b stay.
    let v = write(
        &warehouse,
        &[("a", "new", "2024-01")],
        Replace::Months {
            source: "a".into(),
            months: vec!["2024-01".into(), "2024-02".into()],
        },
    )
    .await;
    warehouse
        .record_manifest(&[entry("new", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    assert_eq!(
        seen(&warehouse).await,
        rows(&[
            ("a", "mar", "2024-03"),
            ("a", "new", "2024-01"),
            ("b", "jan", "2024-01")
        ])
    );

    // Source: every row of source a, none of b.
    let v = write(
        &warehouse,
        &[("a", "snap", "2024-05")],
        Replace::Source { source: "a".into() },
    )
    .await;
    warehouse
        .record_manifest(&[entry("snap", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    assert_eq!(
        seen(&warehouse).await,
        rows(&[("a", "snap", "2024-05"), ("b", "jan", "2024-01")])
    );

    // A replace with no rows left still removes (a corrected extract may be empty for
    // this table) and gives a new version.
    let v = warehouse
        .write_inputs(
            "ed_visit",
            Entity::EdVisit.partition_columns(),
            vec![WriteInput::Batches(vec![])],
            &[Replace::Source { source: "b".into() }],
        )
        .await
        .expect("write")
        .expect("a version");
    warehouse
        .record_manifest(&[entry("empty", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    assert_eq!(seen(&warehouse).await, rows(&[("a", "snap", "2024-05")]));
}

#[tokio::test]
async fn nothing_to_write_to_a_table_that_never_existed_creates_nothing() {
    let (_dir, warehouse) = warehouse();
    let version = warehouse
        .write_inputs(
            "admission",
            Entity::Admission.partition_columns(),
            vec![],
            &[Replace::Source { source: "a".into() }],
        )
        .await
        .expect("write");
    assert_eq!(version, None);
    assert_eq!(
        warehouse
            .snapshot(None)
            .await
            .expect("snapshot")
            .manifest_version,
        None
    );
}

#[tokio::test]
async fn the_manifest_reads_back_what_was_recorded() {
    let (_dir, warehouse) = warehouse();
    assert!(warehouse.manifest(None).await.expect("empty").is_empty());
    let mut first: Vec<ManifestEntry> = FileStatus::ALL
        .into_iter()
        .enumerate()
        .map(|(i, status)| {
            let mut e = entry(&format!("f{i}"), status, (i % 2 == 0).then_some(i as u64));
            e.finished_at = at(10 + i as i64);
            e
        })
        .collect();
    first[0].table_versions.insert("quarantine".into(), 7);
    first[1].message = Some("ligne 3 : « guillemets », 'quotes'".into());
    let v0 = warehouse.record_manifest(&first).await.expect("record");
    let second = vec![entry("g", FileStatus::Loaded, None)];
    let v1 = warehouse.record_manifest(&second).await.expect("record");
    assert!(v1 > v0);

    // Read back in order of finish, then file: the entries as they were written.
    assert_eq!(warehouse.manifest(Some(v0)).await.expect("read"), first);
    let mut all = first.clone();
    all.extend(second);
    all.sort_by(|a, b| {
        a.finished_at
            .cmp(&b.finished_at)
            .then_with(|| a.file.cmp(&b.file))
    });
    assert_eq!(warehouse.manifest(None).await.expect("read"), all);
}

#[test]
fn file_statuses_round_trip_and_unknown_text_is_refused() {
    for status in FileStatus::ALL {
        assert_eq!(FileStatus::parse(status.as_str()), Some(status));
    }
    for text in ["", "Loaded", "loaded ", "skipped", "ok"] {
        assert_eq!(FileStatus::parse(text), None, "{text:?}");
    }
}

#[tokio::test]
async fn a_manifest_entry_with_an_unknown_status_is_an_error_not_a_default() {
    let (_dir, warehouse) = warehouse();
    warehouse
        .record_manifest(&[entry("good", FileStatus::Loaded, None)])
        .await
        .expect("record");
    // A row another version (or a hand edit) wrote with a status this one does not know.
    let batch = crate::manifest::to_batch(&[entry("odd", FileStatus::Held, None)]).expect("batch");
    let status = batch.schema().index_of("status").expect("status column");
    let mut columns = batch.columns().to_vec();
    columns[status] = Arc::new(StringArray::from(vec!["quarantined"]));
    let odd = RecordBatch::try_new(manifest_schema(), columns).expect("batch");
    warehouse
        .write(
            MANIFEST_TABLE,
            manifest_schema(),
            vec![],
            vec![odd],
            &Replace::Nothing,
        )
        .await
        .expect("write");
    match warehouse.manifest(None).await {
        Err(WarehouseError::Internal(message)) => {
            assert!(message.contains("odd"), "{message}");
            assert!(
                message.contains("unknown status \"quarantined\""),
                "{message}"
            );
        }
        other => panic!("expected an unknown-status error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_filter_on_a_stored_column_is_applied_above_the_parquet_reader() {
    // Late materialisation inside the Parquet reader cost more than it saved on the
    // warehouse's filters, which keep most rows (`session`): a session's scans take no
    // row filter, and the filter above them still selects exactly the rows asked for.
    let (_dir, warehouse) = warehouse();
    let v = write(
        &warehouse,
        &[
            ("a", "f1", "2024-01"),
            ("b", "f2", "2024-01"),
            ("a", "f3", "2024-02"),
        ],
        Replace::Nothing,
    )
    .await;
    warehouse
        .record_manifest(&[entry("f1", FileStatus::Loaded, Some(v))])
        .await
        .expect("manifest");
    let ctx = reader(&warehouse).await;
    let sql = "SELECT _file FROM ed_visit WHERE _source = 'a' ORDER BY _file";
    let scan = analysed_operator(&ctx, sql, "DataSourceExec").await;
    // The predicate stays in the scan for skipping row groups by their statistics; no row
    // is decoded, tested and dropped inside the reader.
    assert!(
        scan.contains("pushdown_rows_matched=0") && scan.contains("pushdown_rows_pruned=0"),
        "rows filtered inside the reader: {scan}"
    );
    // The filter above the scan (panics with the plan when there is none).
    analysed_operator(&ctx, sql, "FilterExec").await;
    let files: Vec<String> = collect(&ctx, sql)
        .await
        .iter()
        .flat_map(|b| text_column(b, 0))
        .collect();
    assert_eq!(files, ["f1", "f3"]);
}

/// `array_map_created_count` of the plan's hash join, and the join's row count, for events
/// naming `named` persons spread evenly over `persons` person numbers.
async fn join_by_number(
    ctx: &datafusion::prelude::SessionContext,
    persons: i64,
    named: i64,
) -> (usize, i64) {
    use arrow::array::Int64Array;
    use arrow::datatypes::{Field, Schema};
    let numbers = |values: Vec<i64>| -> Arc<datafusion::datasource::MemTable> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "person_number",
            DataType::Int64,
            false,
        )]));
        let column: ArrayRef = Arc::new(Int64Array::from(values));
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).expect("batch");
        Arc::new(
            datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]]).expect("table"),
        )
    };
    let step = persons / named;
    for table in ["persons", "events"] {
        ctx.deregister_table(table).expect("deregister");
    }
    ctx.register_table("persons", numbers((0..persons).collect()))
        .expect("register");
    ctx.register_table("events", numbers((0..named).map(|i| i * step).collect()))
        .expect("register");
    let sql = "SELECT count(*) FROM events AS e JOIN persons AS p \
               ON p.person_number = e.person_number";
    let join = analysed_operator(ctx, sql, "HashJoinExec").await;
    let created = join
        .split("array_map_created_count=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no array map count in {join}"));
    let count = text_column(&collect(ctx, sql).await[0], 0)[0]
        .parse()
        .expect("count");
    (created, count)
}

#[tokio::test]
async fn joins_on_person_numbers_index_a_sparse_build_side_by_number_within_the_memory_bound() {
    // Person numbers are dense over the registry, but a join's build side (the stays of a
    // readmission's self-join, split across partitions) names a few persons in ten: an
    // array indexed by number replaces hashing from one in twenty (`session`); sparser, the
    // array would outweigh a hash table and the join hashes as before. Both give the rows.
    let (_dir, warehouse) = warehouse();
    let ctx = reader(&warehouse).await;
    // One person in ten: below DataFusion's own density (0.15), above the session's.
    assert_eq!(join_by_number(&ctx, 20_000, 2_000).await, (1, 2_000));
    // One in fifty: a hash table.
    assert_eq!(join_by_number(&ctx, 20_000, 400).await, (0, 400));
}
