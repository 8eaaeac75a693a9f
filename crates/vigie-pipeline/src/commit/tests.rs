//! Group commits on a real warehouse in a temporary directory: what readers see after a
//! group, after a group that failed before its manifest commit, after files re-sent; held
//! and rejected files; a writer that lost its lock; and which files may share a group.

use super::*;
use crate::test_support::{
    CLINIC, Fixture, REGISTRY, VISITS, parse_in, registry_csv, source, visits_csv,
};

const VISITS_SQL: &str = "SELECT _source, _file, event_month, count(*) FROM ed_visit \
                          GROUP BY _source, _file, event_month";

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[tokio::test]
async fn a_group_becomes_visible_with_its_manifest_entries() {
    let fx = Fixture::new();
    let (visits, clinic) = (source(VISITS), source(CLINIC));
    let files = vec![
        fx.parsed(
            &visits,
            "visits/ed_202401.csv",
            &visits_csv("2024-01", 0, 3, 1),
            None,
        )
        .await,
        fx.parsed(
            &clinic,
            "clinic/a.csv",
            &visits_csv("2024-02", 10, 2, 0),
            None,
        )
        .await,
    ];
    let reports = fx.commit(files, None).await.expect("commit");
    let summary: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.file.as_str(),
                r.status,
                r.rows_read,
                r.rows_accepted,
                r.rows_rejected,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("visits/ed_202401.csv", FileStatus::Loaded, 4, 3, 1),
            ("clinic/a.csv", FileStatus::Loaded, 2, 2, 0),
        ]
    );
    assert_eq!(
        fx.rows(VISITS_SQL).await,
        vec![
            row(&["clinic", "clinic/a.csv", "2024-02", "2"]),
            row(&["visits", "visits/ed_202401.csv", "2024-01", "3"]),
        ]
    );
    assert_eq!(
        fx.rows("SELECT _source, _file FROM quarantine").await,
        vec![row(&["visits", "visits/ed_202401.csv"])]
    );
    // One commit per table for the whole group: both entries name the same versions.
    let manifest = fx.warehouse.manifest(None).await.expect("manifest");
    assert_eq!(manifest.len(), 2);
    assert_eq!(manifest[0].table_versions, manifest[1].table_versions);
    assert_eq!(
        manifest[0].table_versions.keys().collect::<Vec<_>>(),
        vec!["ed_visit", "quarantine"]
    );
    assert!(manifest.iter().all(|e| e.load_id == "test-load"));
}

#[tokio::test]
async fn a_group_that_fails_before_its_manifest_commit_leaves_nothing_visible() {
    let fx = Fixture::new();
    let (visits, clinic) = (source(VISITS), source(CLINIC));
    let group = || async {
        vec![
            fx.parsed(
                &visits,
                "visits/ed_202401.csv",
                &visits_csv("2024-01", 0, 3, 1),
                None,
            )
            .await,
            fx.parsed(
                &clinic,
                "clinic/a.csv",
                &visits_csv("2024-02", 10, 2, 0),
                None,
            )
            .await,
        ]
    };
    let err = fx
        .commit(group().await, Some("clinic/a.csv"))
        .await
        .expect_err("the injected fault");
    assert!(err.to_string().contains("injected fault"), "{err}");
    // Its table commits happened, but no manifest entry names them.
    assert!(fx.warehouse_dir().join("ed_visit/_delta_log").is_dir());
    assert!(
        fx.warehouse
            .manifest(None)
            .await
            .expect("manifest")
            .is_empty()
    );
    assert!(fx.rows(VISITS_SQL).await.is_empty());
    assert!(fx.rows("SELECT * FROM quarantine").await.is_empty());

    // The next run redoes the group: every row once, none left over from the failed one.
    fx.commit(group().await, None).await.expect("commit");
    assert_eq!(
        fx.rows(VISITS_SQL).await,
        vec![
            row(&["clinic", "clinic/a.csv", "2024-02", "2"]),
            row(&["visits", "visits/ed_202401.csv", "2024-01", "3"]),
        ]
    );
    assert_eq!(fx.rows("SELECT _file FROM quarantine").await.len(), 1);
}

#[tokio::test]
async fn a_resent_month_replaces_that_month_and_a_resent_file_replaces_its_rows() {
    let fx = Fixture::new();
    let (visits, clinic) = (source(VISITS), source(CLINIC));
    let january = "visits/ed_202401.csv";
    fx.commit(
        vec![
            fx.parsed(&visits, january, &visits_csv("2024-01", 0, 5, 0), None)
                .await,
            fx.parsed(
                &visits,
                "visits/ed_202402.csv",
                &visits_csv("2024-02", 0, 4, 0),
                None,
            )
            .await,
            fx.parsed(
                &clinic,
                "clinic/a.csv",
                &visits_csv("2024-01", 20, 3, 0),
                None,
            )
            .await,
        ],
        None,
    )
    .await
    .expect("first group");
    fx.commit(
        vec![
            fx.parsed(&visits, january, &visits_csv("2024-01", 0, 2, 0), None)
                .await,
            fx.parsed(
                &clinic,
                "clinic/a.csv",
                &visits_csv("2024-01", 20, 3, 0),
                None,
            )
            .await,
            fx.parsed(
                &clinic,
                "clinic/b.csv",
                &visits_csv("2024-01", 30, 2, 0),
                None,
            )
            .await,
        ],
        None,
    )
    .await
    .expect("second group");
    assert_eq!(
        fx.rows(VISITS_SQL).await,
        vec![
            row(&["clinic", "clinic/a.csv", "2024-01", "3"]),
            row(&["clinic", "clinic/b.csv", "2024-01", "2"]),
            row(&["visits", "visits/ed_202401.csv", "2024-01", "2"]),
            row(&["visits", "visits/ed_202402.csv", "2024-02", "4"]),
        ],
        "January replaced, February kept; clinic/a.csv once, clinic/b.csv added"
    );
}

#[tokio::test]
async fn a_new_snapshot_replaces_the_whole_source() {
    let fx = Fixture::new();
    let registry = source(REGISTRY);
    for (key, rows) in [("registry/people1.csv", 30), ("registry/people2.csv", 25)] {
        fx.commit(
            vec![
                fx.parsed(&registry, key, &registry_csv(rows, 0), None)
                    .await,
            ],
            None,
        )
        .await
        .expect("commit");
    }
    assert_eq!(
        fx.rows("SELECT _file, count(*) FROM person GROUP BY _file")
            .await,
        vec![row(&["registry/people2.csv", "25"])]
    );
}

#[tokio::test]
async fn a_held_file_applies_nothing_and_its_entry_keeps_the_figures() {
    let fx = Fixture::new();
    let visits = source(VISITS);
    let reason = "ed_visit 2024-01: 100 rows would become 3";
    let held = fx
        .parsed(
            &visits,
            "visits/ed_202401.csv",
            &visits_csv("2024-01", 0, 3, 1),
            Some(reason),
        )
        .await;
    let reports = fx.commit(vec![held], None).await.expect("commit");
    assert_eq!(reports[0].status, FileStatus::Held);
    assert!(fx.rows(VISITS_SQL).await.is_empty());
    assert!(
        fx.rows("SELECT * FROM quarantine").await.is_empty(),
        "not even its rejects"
    );
    let entry = &fx.warehouse.manifest(None).await.expect("manifest")[0];
    assert_eq!(entry.status, FileStatus::Held);
    assert_eq!(entry.message.as_deref(), Some(reason));
    assert_eq!(
        (entry.rows_read, entry.rows_accepted, entry.rows_rejected),
        (4, 3, 1)
    );
    assert!(entry.table_versions.is_empty());
}

#[tokio::test]
async fn a_file_rejected_whole_leaves_its_reason_in_the_manifest_and_the_quarantine() {
    let fx = Fixture::new();
    let clinic = source(CLINIC);
    let file = fx
        .parsed(&clinic, "clinic/a.csv", "NOT,THE,HEADER\n1,2,3\n", None)
        .await;
    assert!(
        file.outcome.is_err(),
        "the wrong header rejects the file whole"
    );
    let reports = fx.commit(vec![file], None).await.expect("commit");
    assert_eq!(reports[0].status, FileStatus::Rejected);
    let entry = &fx.warehouse.manifest(None).await.expect("manifest")[0];
    assert_eq!(entry.status, FileStatus::Rejected);
    assert!(
        entry
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("line ")),
        "{:?}",
        entry.message
    );
    assert_eq!(entry.rows_read, entry.rows_rejected);
    let quarantined = fx.rows("SELECT _file, reason FROM quarantine").await;
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0][1].starts_with("file rejected whole: "),
        "{quarantined:?}"
    );
}

/// A version of a file rejected whole changes nothing in force: the quarantine rows of the
/// version still loaded stay beside its data (rows read = accepted + rejected still holds for
/// it), a second rejection replaces the first, and a good version replaces them all.
#[tokio::test]
async fn a_file_rejected_whole_keeps_the_quarantine_of_the_version_in_force() {
    let fx = Fixture::new();
    let clinic = source(CLINIC);
    let key = "clinic/a.csv";
    let reasons = || fx.rows("SELECT reason FROM quarantine ORDER BY reason");
    let good = fx
        .parsed(&clinic, key, &visits_csv("2024-01", 0, 40, 3), None)
        .await;
    fx.commit(vec![good], None).await.expect("first version");
    let first = reasons().await;
    assert_eq!(first.len(), 3, "{first:?}");
    for _ in 0..2 {
        let broken = fx
            .parsed(&clinic, key, "NOT,THE,HEADER\n1,2,3\n", None)
            .await;
        assert!(broken.outcome.is_err());
        fx.commit(vec![broken], None)
            .await
            .expect("rejected version");
        let now = reasons().await;
        assert_eq!(
            now.len(),
            4,
            "the first version's 3 and one rejection: {now:?}"
        );
        assert!(first.iter().all(|r| now.contains(r)), "{now:?}");
        assert_eq!(
            now.iter()
                .filter(|r| r[0].starts_with("file rejected whole: "))
                .count(),
            1
        );
    }
    assert_eq!(
        fx.rows("SELECT count(*) FROM ed_visit").await,
        vec![row(&["40"])]
    );
    let third = fx
        .parsed(&clinic, key, &visits_csv("2024-01", 0, 41, 1), None)
        .await;
    fx.commit(vec![third], None).await.expect("third version");
    let now = reasons().await;
    assert_eq!(now.len(), 1, "the third version's own: {now:?}");
    assert!(!now[0][0].starts_with("file rejected whole: "));
}

#[tokio::test]
async fn rows_spilled_to_staging_files_are_committed_and_the_files_removed() {
    let fx = Fixture::new();
    let visits = source(VISITS);
    let staging = tempfile::tempdir().expect("staging");
    let key = "visits/ed_202401.csv";
    let text = visits_csv("2024-01", 0, 50, 20);
    let mut file = fx.parsed(&visits, key, &text, None).await;
    file.outcome = parse_in(&visits, key, &text, Some(staging.path()), 8, None);
    let spilled = std::fs::read_dir(staging.path()).expect("staging").count();
    assert!(
        spilled > 0,
        "50 rows beyond 8 in memory spill to staging files"
    );
    fx.commit(vec![file], None).await.expect("commit");
    assert_eq!(
        fx.rows(VISITS_SQL).await,
        vec![row(&["visits", key, "2024-01", "50"])]
    );
    assert_eq!(fx.rows("SELECT _line FROM quarantine").await.len(), 20);
    assert_eq!(
        std::fs::read_dir(staging.path()).expect("staging").count(),
        0
    );
}

#[tokio::test]
async fn a_writer_that_lost_its_lock_makes_nothing_visible() {
    let fx = Fixture::new();
    let clinic = source(CLINIC);
    let lock = fx
        .warehouse
        .lock_writer("test", std::time::Duration::ZERO)
        .await
        .expect("lock");
    // Another process broke the lock (removed its file): this writer may not commit.
    std::fs::remove_file(fx.warehouse_dir().join(vigie_warehouse::LOCK_FILE)).expect("remove");
    let mut group = Group::default();
    group.push(
        fx.parsed(
            &clinic,
            "clinic/a.csv",
            &visits_csv("2024-01", 0, 2, 0),
            None,
        )
        .await,
    );
    let err = group
        .commit(
            &fx.warehouse,
            "test-load",
            None,
            &lock,
            Some(crate::test_support::numbers()),
        )
        .await
        .expect_err("the lock is lost");
    assert!(
        matches!(&err, PipelineError::Warehouse(e) if matches!(**e, vigie_warehouse::WarehouseError::LockLost { .. })),
        "{err}"
    );
    assert!(
        fx.warehouse
            .manifest(None)
            .await
            .expect("manifest")
            .is_empty()
    );
    assert!(fx.rows(VISITS_SQL).await.is_empty());
}

#[tokio::test]
async fn files_share_a_group_only_when_committing_them_together_changes_nothing() {
    let fx = Fixture::new();
    let (visits, clinic, registry) = (source(VISITS), source(CLINIC), source(REGISTRY));
    let jan = fx
        .parsed(
            &visits,
            "visits/ed_202401.csv",
            &visits_csv("2024-01", 0, 2, 0),
            None,
        )
        .await;
    let jan_again = fx
        .parsed(
            &visits,
            "visits/ed_202401.csv",
            &visits_csv("2024-01", 0, 3, 0),
            None,
        )
        .await;
    let feb = fx
        .parsed(
            &visits,
            "visits/ed_202402.csv",
            &visits_csv("2024-02", 0, 2, 0),
            None,
        )
        .await;
    let jan_held = fx
        .parsed(
            &visits,
            "visits/ed_202401.csv",
            &visits_csv("2024-01", 0, 1, 0),
            Some("held"),
        )
        .await;
    let clinic_a = || fx.parsed(&clinic, "clinic/a.csv", "HCN,DATE,TIME,FACILITY\n", None);
    let clinic_b = fx
        .parsed(&clinic, "clinic/b.csv", "HCN,DATE,TIME,FACILITY\n", None)
        .await;
    let two_people = registry_csv(2, 0);
    let snapshot = || fx.parsed(&registry, "registry/people.csv", &two_people, None);

    let mut group = Group::default();
    group.push(jan);
    assert!(group.must_commit_before(&jan_again), "the same month twice");
    assert!(!group.must_commit_before(&feb), "another month");
    assert!(
        !group.must_commit_before(&jan_held),
        "a held file replaces nothing"
    );
    assert!(!group.must_commit_before(&clinic_b), "another source");

    let mut appended = Group::default();
    appended.push(clinic_a().await);
    assert!(
        appended.must_commit_before(&clinic_a().await),
        "the same appended file"
    );
    assert!(
        !appended.must_commit_before(&clinic_b),
        "another appended file"
    );

    let mut snapshots = Group::default();
    snapshots.push(snapshot().await);
    assert!(
        snapshots.must_commit_before(&snapshot().await),
        "two snapshots of one source"
    );

    let mut full = Group::default();
    assert!(
        !full.must_commit_before(&feb),
        "an empty group takes any file"
    );
    for i in 0..GROUP_FILES {
        full.push(
            fx.parsed(
                &clinic,
                &format!("clinic/{i}.csv"),
                "HCN,DATE,TIME,FACILITY\n",
                None,
            )
            .await,
        );
    }
    assert!(full.must_commit_before(&feb), "{GROUP_FILES} files at most");
}
