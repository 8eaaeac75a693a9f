//! Dense integer person numbers (issue 14): one number per pseudonymous key, the same in
//! every table and every load, never renumbered, stored before the rows that use it become
//! visible; and the migration of a warehouse loaded before numbers existed.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use vigie_model::{Entity, PERSON_NUMBER};
use vigie_warehouse::{FileStatus, ManifestEntry, Replace, Warehouse};

use crate::common::*;

/// Checks what must hold of any warehouse: every row naming a person carries the number
/// the key-to-number table gives its key, and that table is one-to-one.
async fn assert_numbering_is_consistent(wh: &Path) {
    let one_to_one = count(
        wh,
        "SELECT count(*) FROM (SELECT person_key FROM person_number GROUP BY person_key HAVING count(*) > 1 \
         UNION ALL SELECT person_key FROM (SELECT min(person_key) AS person_key FROM person_number \
         GROUP BY person_number HAVING count(*) > 1))",
    )
    .await;
    assert_eq!(
        one_to_one, 0,
        "a key with two numbers or a number with two keys"
    );
    for entity in Entity::ALL
        .into_iter()
        .filter(|e| e.person_key_field().is_some())
    {
        let t = entity.table_name();
        let wrong = count(
            wh,
            &format!(
                "SELECT count(*) FROM {t} AS r LEFT JOIN person_number AS n \
                 ON n.person_key = r.person_key \
                 WHERE r.person_key IS NOT NULL \
                   AND (r.person_number IS NULL OR n.person_number IS NULL \
                        OR r.person_number <> n.person_number)"
            ),
        )
        .await;
        assert_eq!(wrong, 0, "{t}: rows whose number is not their key's");
        let orphans = count(
            wh,
            &format!(
                "SELECT count(*) FROM {t} WHERE person_key IS NULL AND person_number IS NOT NULL"
            ),
        )
        .await;
        assert_eq!(orphans, 0, "{t}: a number without a key");
    }
}

/// key -> number, as the table stores it.
async fn numbering(wh: &Path) -> std::collections::BTreeMap<String, i64> {
    let batches = query(
        wh,
        "SELECT person_key, CAST(person_number AS BIGINT) FROM person_number",
    )
    .await;
    let mut out = std::collections::BTreeMap::new();
    for b in &batches {
        let keys =
            arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("text");
        let keys = keys
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("utf8");
        let ns = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .expect("int64");
        for i in 0..b.num_rows() {
            out.insert(keys.value(i).to_string(), ns.value(i));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_dense_shared_by_every_table_and_kept_across_loads_and_crashes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 300, 11);
    // Everything but the registry and one hospital month first: persons are numbered as
    // their events arrive. The registry's load (with that month) then crashes before its
    // manifest entry, and is redone.
    let month = "hospital_a/ed_visits_202406.csv";
    let registry = std::fs::read_dir(landing.join("registre"))
        .expect("registry folder")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("a registry file");
    let registry_key = format!(
        "registre/{}",
        registry.file_name().expect("name").to_string_lossy()
    );
    let aside = dir.path().join("aside");
    std::fs::create_dir_all(&aside).expect("mkdir");
    std::fs::rename(landing.join(month), aside.join("month.csv")).expect("move");
    std::fs::rename(&registry, aside.join("registry.csv")).expect("move");
    ingest_into(&landing, &wh).await.expect("first load");
    assert_numbering_is_consistent(&wh).await;
    let first = numbering(&wh).await;
    let keys = count(
        &wh,
        "SELECT count(*) FROM (SELECT person_key FROM ed_visit UNION SELECT person_key FROM admission \
         UNION SELECT person_key FROM enrolment UNION SELECT person_key FROM contact \
         UNION SELECT person_key FROM referral \
         UNION SELECT person_key FROM survey_response WHERE person_key IS NOT NULL)",
    )
    .await;
    assert!(keys > 50, "{keys} persons with events");
    assert_eq!(
        first.len() as i64,
        keys,
        "one number per key named anywhere"
    );
    assert_eq!(
        first
            .values()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        (0..keys).collect(),
        "numbers are dense: 0..n-1"
    );

    // The registry names persons without events: new numbers. Its load crashes before the
    // manifest: the numbers it gave are stored, its rows are not visible.
    std::fs::rename(aside.join("month.csv"), landing.join(month)).expect("move back");
    std::fs::rename(aside.join("registry.csv"), &registry).expect("move back");
    let crashed = ingest_with(&landing, &wh, Some(&registry_key)).await;
    assert!(crashed.is_err(), "the injected fault stops the load");
    assert_eq!(
        count(&wh, "SELECT count(*) FROM person").await,
        0,
        "nothing visible"
    );
    assert_numbering_is_consistent(&wh).await;
    let after_crash = numbering(&wh).await;
    assert!(
        after_crash.len() > first.len(),
        "the crashed load numbered newcomers"
    );
    for (key, n) in &first {
        assert_eq!(after_crash.get(key), Some(n), "a number never changes");
    }

    // The redone load reuses the numbers the crashed one gave: none twice, none changed.
    let report = ingest_into(&landing, &wh).await.expect("redo");
    for file in [month, registry_key.as_str()] {
        assert!(
            report
                .files
                .iter()
                .any(|f| f.file == file && f.status == FileStatus::Loaded),
            "{file} loaded"
        );
    }
    assert_eq!(
        count(&wh, "SELECT count(DISTINCT person_number) FROM person").await,
        count(&wh, "SELECT count(DISTINCT person_key) FROM person").await
    );
    assert_numbering_is_consistent(&wh).await;
    let redone = numbering(&wh).await;
    assert_eq!(redone, after_crash, "the redo gives no new number");
    for (key, n) in &first {
        assert_eq!(redone.get(key), Some(n));
    }
}

/// The tables of an old warehouse: the entity schema without `person_number`, and the
/// ED visits without `diagnosis`, as if that field had been added since.
fn old_schema(entity: Entity) -> arrow::datatypes::SchemaRef {
    let schema = entity.schema();
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != PERSON_NUMBER)
        .filter(|f| !(entity == Entity::EdVisit && f.name() == "diagnosis"))
        .cloned()
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

/// Rewrites every numbered table of `wh` as an earlier vigie wrote it (no number column,
/// no key-to-number table), recording the versions in the manifest as a load would.
async fn make_old(wh: &Path) {
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("open");
    // Read everything first: the session reads every table at the manifest's versions.
    let mut old_tables = Vec::new();
    for entity in Entity::ALL
        .into_iter()
        .filter(|e| e.person_key_field().is_some())
    {
        let t = entity.table_name();
        if !wh.join(t).exists() {
            // Not loaded (e.g. person_attribute in the demo): nothing to rewrite.
            continue;
        }
        let schema = old_schema(entity);
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let batches = query(wh, &format!("SELECT {} FROM {t}", columns.join(", "))).await;
        let batches: Vec<RecordBatch> = batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| {
                let cols: Vec<ArrayRef> = schema
                    .fields()
                    .iter()
                    .zip(b.columns())
                    .map(|(f, c)| arrow::compute::cast(c, f.data_type()).expect("cast"))
                    .collect();
                RecordBatch::try_new(schema.clone(), cols).expect("batch")
            })
            .collect();
        old_tables.push((entity, schema, batches));
    }
    let mut entry_versions = std::collections::BTreeMap::new();
    for (entity, schema, batches) in old_tables {
        let t = entity.table_name();
        std::fs::remove_dir_all(wh.join(t)).expect("drop the table");
        let version = warehouse
            .write(
                t,
                schema,
                entity.partition_columns(),
                batches,
                &Replace::Nothing,
            )
            .await
            .expect("write the old layout");
        entry_versions.insert(t.to_string(), version.expect("a version"));
    }
    std::fs::remove_dir_all(wh.join("restricted").join(PERSON_NUMBER)).expect("drop the numbers");
    let _ = std::fs::remove_dir_all(wh.join("maintenance_log"));
    // The manifest pointed at the dropped tables' versions: rewritten to the new ones.
    let mut entries: Vec<ManifestEntry> = warehouse.manifest(None).await.expect("manifest");
    for e in &mut entries {
        for (t, v) in &entry_versions {
            if let Some(slot) = e.table_versions.get_mut(t) {
                *slot = *v;
            }
        }
    }
    std::fs::remove_dir_all(wh.join("load_manifest")).expect("drop the manifest");
    warehouse.record_manifest(&entries).await.expect("manifest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_loaded_before_numbers_is_migrated_in_place_by_the_command_and_on_first_write()
{
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 250, 5);
    ingest_into(&landing, &wh).await.expect("load");
    let before = table_counts(&wh).await;
    make_old(&wh).await;
    let old = Warehouse::open(&wh.display().to_string()).expect("open");
    let outdated = old.outdated_tables().await.expect("tables");
    // Every loaded table naming a person: person, ed_visit, admission, enrolment,
    // survey_response, contact, referral.
    assert_eq!(outdated.len(), 7, "the old layout");
    let ed = outdated
        .iter()
        .find(|(e, ..)| *e == Entity::EdVisit)
        .expect("ed_visit");
    assert_eq!(
        ed.2,
        ["diagnosis", PERSON_NUMBER],
        "what the old ED table lacks"
    );
    assert_eq!(table_counts(&wh).await, before, "the same rows, unnumbered");

    // `vigie migrate` numbers it in place, without the landing zone.
    std::fs::remove_dir_all(&landing).expect("the extracts are gone");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["migrate", "pipelines/demo.yaml", "--warehouse"])
        .arg(&wh)
        .current_dir(repo())
        .output()
        .expect("run vigie migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ed_visit: "), "{stdout}");
    assert_eq!(table_counts(&wh).await, before, "no row lost or added");
    assert_numbering_is_consistent(&wh).await;
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM ed_visit WHERE diagnosis IS NOT NULL"
        )
        .await,
        0,
        "a field added since is empty for the rows already loaded"
    );
    let numbered = numbering(&wh).await;
    let keys = count(
        &wh,
        "SELECT count(*) FROM (SELECT person_key FROM person UNION SELECT person_key FROM ed_visit \
         UNION SELECT person_key FROM admission UNION SELECT person_key FROM enrolment \
         UNION SELECT person_key FROM survey_response WHERE person_key IS NOT NULL)",
    )
    .await;
    assert_eq!(numbered.len() as i64, keys);
    // The registry is numbered first, in key order.
    let registry: Vec<String> = all_text(
        &query(
            &wh,
            "SELECT DISTINCT person_key FROM person ORDER BY person_key",
        )
        .await,
    );
    for (i, key) in registry.iter().enumerate() {
        assert_eq!(numbered.get(key), Some(&(i as i64)), "registry key {i}");
    }

    // Again: nothing to do.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["migrate", "pipelines/demo.yaml", "--warehouse"])
        .arg(&wh)
        .current_dir(repo())
        .output()
        .expect("run vigie migrate");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to migrate"));

    // A later load continues the numbering; an old warehouse met by a writer is migrated
    // first (here: made old again, then loaded).
    synth(&landing, 250, 5);
    make_old(&wh).await;
    let report = ingest_into(&landing, &wh)
        .await
        .expect("load after migration");
    assert!(
        report
            .files
            .iter()
            .all(|f| f.status != FileStatus::Rejected)
    );
    assert_numbering_is_consistent(&wh).await;
    assert_eq!(
        Warehouse::open(&wh.display().to_string())
            .expect("open")
            .outdated_tables()
            .await
            .expect("tables"),
        vec![]
    );
}

/// The input a plan's first hash join on `person_number` builds its table from.
fn person_join_build_side(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> String {
    use datafusion::physical_plan::displayable;
    use datafusion::physical_plan::joins::HashJoinExec;
    if let Some(join) = plan.downcast_ref::<HashJoinExec>()
        && join
            .on()
            .iter()
            .any(|(l, _)| l.to_string().starts_with("person_number@"))
    {
        return displayable(join.left().as_ref()).indent(true).to_string();
    }
    plan.children()
        .into_iter()
        .map(person_join_build_side)
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// A hash join cannot spill its table, so joining events with persons must build the events'
/// two integer columns, not the persons' strings. DataFusion compared the tables' sizes on
/// disk: the person files (mostly the pseudonymous keys, which no query reads) looked smaller
/// than the visits', and at province scale the join built 3 GB the default pool refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_with_persons_build_the_input_smaller_in_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 300, 5);
    ingest_into(&landing, &wh).await.expect("ingest");
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
    let snapshot = warehouse.snapshot(None).await.expect("snapshot");
    let ctx = warehouse
        .session(&snapshot, &vigie_warehouse::SessionOptions::default())
        .await
        .expect("session");
    let build_side = |sql: &'static str| {
        let ctx = ctx.clone();
        async move {
            let plan = ctx
                .sql(sql)
                .await
                .expect("plan")
                .create_physical_plan()
                .await
                .expect("physical plan");
            person_join_build_side(&plan)
        }
    };
    // Whichever table the query names first.
    for sql in [
        "SELECT p.sex, p.language, p.rurality, p.team, p.area, count(*) FROM ed_visit AS v \
         JOIN person AS p ON p.person_number = v.person_number GROUP BY 1, 2, 3, 4, 5",
        "SELECT p.sex, p.language, p.rurality, p.team, p.area, count(*) FROM person AS p \
         JOIN ed_visit AS v ON v.person_number = p.person_number GROUP BY 1, 2, 3, 4, 5",
    ] {
        let side = build_side(sql).await;
        assert!(side.contains("/ed_visit/"), "built: {side}\nfor {sql}");
        assert!(!side.contains("/person/"), "built: {side}\nfor {sql}");
    }
    // And a small table stays the built one: persons are not built just for being persons.
    let side = build_side(
        "SELECT p.sex, count(*) FROM person AS p JOIN enrolment AS e \
         ON e.person_number = p.person_number GROUP BY 1",
    )
    .await;
    assert!(side.contains("/enrolment/"), "built: {side}");
}

/// The numbering's copy in the restricted part's cache folder, if one was written.
fn numbering_copy(wh: &Path) -> Option<std::path::PathBuf> {
    let mut copies: Vec<_> =
        std::fs::read_dir(wh.join("restricted").join("cache").join(PERSON_NUMBER))
            .ok()?
            .map(|e| e.expect("entry").path())
            .collect();
    assert!(copies.len() <= 1, "one copy at most: {copies:?}");
    copies.pop()
}

/// Reads the numbering as a load does, and checks it against the table: every key's number,
/// and how much of it came from the copy.
async fn assert_read_numbering_is_the_table(wh: &Path, from_copy: usize) {
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("open");
    let numbers = warehouse.person_numbers().await.expect("numbering");
    let table = numbering(wh).await;
    assert_eq!(numbers.len(), table.len(), "every stored key, once");
    assert_eq!(
        numbers.encoded_len(),
        from_copy,
        "entries read from the copy"
    );
    for (key, n) in &table {
        assert_eq!(numbers.get(key), Some(*n as u32), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_read_the_numbering_from_its_copy_only_while_it_fits_the_table() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 300, 23);
    let aside = dir.path().join("aside");
    std::fs::create_dir_all(&aside).expect("mkdir");
    let held = [
        "hospital_a/ed_visits_202406.csv",
        "hospital_a/ed_visits_202407.csv",
    ];
    for (i, file) in held.iter().enumerate() {
        std::fs::rename(landing.join(file), aside.join(format!("{i}.csv"))).expect("aside");
    }
    std::fs::rename(landing.join("registre"), aside.join("registre")).expect("aside");

    // A first load numbers the persons with events and copies the numbering.
    ingest_into(&landing, &wh).await.expect("first load");
    let copy = numbering_copy(&wh).expect("a copy after a load that numbered persons");
    let first = numbering(&wh).await;
    assert_read_numbering_is_the_table(&wh, first.len()).await;

    // A load without copying: the table now holds numbers beyond the copy, which the next
    // read takes from the table.
    std::fs::rename(aside.join("0.csv"), landing.join(held[0])).expect("back");
    std::fs::rename(aside.join("registre"), landing.join("registre")).expect("back");
    let pipeline = demo_pipeline();
    let mut options =
        vigie_pipeline::IngestOptions::for_pipeline(&pipeline, &vigie_pipeline::NoProgress);
    options.landing = landing.display().to_string();
    options.warehouse = wh.display().to_string();
    options.numbering_copy_min = usize::MAX;
    let copied = std::fs::read(&copy).expect("copy");
    vigie_pipeline::ingest(&pipeline, &options)
        .await
        .expect("second load");
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        copied,
        "not copied again"
    );
    assert_numbering_is_consistent(&wh).await;
    let second = numbering(&wh).await;
    assert!(
        second.len() > first.len(),
        "the registry numbered newcomers"
    );
    assert_read_numbering_is_the_table(&wh, first.len()).await;

    // One changed bit: the copy is refused whole and the table read instead.
    let mut damaged = copied.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    std::fs::write(&copy, &damaged).expect("damage");
    assert_read_numbering_is_the_table(&wh, 0).await;

    // The next load, through the damaged copy, keeps every number and copies again.
    std::fs::rename(aside.join("1.csv"), landing.join(held[1])).expect("back");
    ingest_into(&landing, &wh).await.expect("third load");
    assert_numbering_is_consistent(&wh).await;
    let third = numbering(&wh).await;
    for (key, n) in &second {
        assert_eq!(third.get(key), Some(n), "a number never changes");
    }
    let recopied = numbering_copy(&wh).expect("copied again");
    assert_ne!(std::fs::read(&recopied).expect("copy"), damaged);
    assert_read_numbering_is_the_table(&wh, third.len()).await;

    // A copy of another warehouse's numbering (a restored or copied cache folder) holds
    // files this table does not have: not used.
    let other = dir.path().join("other");
    let other_landing = dir.path().join("other-landing");
    synth(&other_landing, 120, 99);
    ingest_into(&other_landing, &other)
        .await
        .expect("other warehouse");
    let foreign = numbering_copy(&other).expect("the other's copy");
    std::fs::copy(&foreign, &recopied).expect("replace the copy");
    assert_read_numbering_is_the_table(&wh, 0).await;
}
