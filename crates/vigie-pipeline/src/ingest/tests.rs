//! Which landed files an ingest takes, on a real landing directory: the settle time and
//! the ready marker hold back files still arriving unless the manifest knows them
//! unchanged; markers are not data; a file no source claims is reported; a file two
//! sources claim stops the run. Also what the manifest has decided already.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::progress::NoProgress;
use crate::test_support::{CLINIC, VISITS, source};

/// Landing keys written now (so none has settled for a source with a settle time).
async fn landed(keys: &[&str]) -> (tempfile::TempDir, Vec<LandingFile>) {
    let dir = tempfile::tempdir().expect("tempdir");
    for key in keys {
        let path = dir.path().join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, "HCN\n").expect("write");
    }
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    let files = landing.list().await.expect("list");
    (dir, files)
}

fn matcher(yaml: &str) -> (Arc<SourceSpec>, FilePattern) {
    let spec = source(yaml);
    let pattern = FilePattern::parse(&spec.files).expect("pattern");
    (spec, pattern)
}

/// The visits source, waiting `settle` seconds and for `marker` (if any).
fn visits(settle: u64, marker: Option<&str>) -> (Arc<SourceSpec>, FilePattern) {
    let mut yaml = VISITS.replace("settle_seconds: 0", &format!("settle_seconds: {settle}"));
    if let Some(suffix) = marker {
        yaml.push_str(&format!("ready_marker: \"{suffix}\"\n"));
    }
    matcher(&yaml)
}

fn options(progress: &NoProgress) -> IngestOptions<'_> {
    IngestOptions {
        landing: String::new(),
        warehouse: String::new(),
        retry_rejected: false,
        verify_unchanged: false,
        progress,
        fail_before_manifest_of: None,
        spill_rows: DEFAULT_SPILL_ROWS,
        part_bytes: vigie_ingest::DEFAULT_PART_BYTES,
        only: None,
        release_held: false,
        panic_in_parser_of: None,
        unwritable_staging_for: None,
        numbering_copy_min: super::DEFAULT_NUMBERING_COPY_MIN,
    }
}

/// A manifest entry of `source` for `file` of `size` bytes, loaded at `started`.
fn known(source: &str, file: &LandingFile, status: FileStatus, hash: &str) -> ManifestEntry {
    ManifestEntry {
        load_id: "earlier".into(),
        source: source.into(),
        file: file.key.clone(),
        size: file.size,
        content_hash: hash.into(),
        rows_read: 0,
        rows_accepted: 0,
        rows_rejected: 0,
        started_at: file.modified,
        finished_at: file.modified,
        status,
        message: None,
        table_versions: BTreeMap::new(),
    }
}

/// (keys of the jobs, report) of planning `files` against `matchers`.
fn plan(
    files: &[LandingFile],
    matchers: &[(Arc<SourceSpec>, FilePattern)],
    manifest: &[ManifestEntry],
    options: &IngestOptions<'_>,
) -> (Vec<String>, IngestReport) {
    let mut report = IngestReport::default();
    let jobs = plan_jobs(
        std::path::Path::new("p.yaml"),
        files,
        matchers,
        manifest,
        options,
        &mut report,
    )
    .expect("plan");
    (jobs.into_iter().map(|j| j.file.key).collect(), report)
}

#[tokio::test]
async fn settled_files_are_taken_with_their_declared_period_and_unclaimed_ones_reported() {
    let (_dir, files) = landed(&["visits/ed_202401.csv", "visits/notes.txt", "clinic/a.csv"]).await;
    let progress = NoProgress;
    let matchers = [visits(0, None), matcher(CLINIC)];
    let mut report = IngestReport::default();
    let jobs = plan_jobs(
        std::path::Path::new("p.yaml"),
        &files,
        &matchers,
        &[],
        &options(&progress),
        &mut report,
    )
    .expect("plan");
    let taken: Vec<(&str, &str, Option<Vec<String>>, bool)> = jobs
        .iter()
        .map(|j| {
            (
                j.file.key.as_str(),
                j.source.source.as_str(),
                j.period.as_ref().map(|p| p.month_keys()),
                j.fresh,
            )
        })
        .collect();
    assert_eq!(
        taken,
        vec![
            ("clinic/a.csv", "clinic", None, true),
            (
                "visits/ed_202401.csv",
                "visits",
                Some(vec!["2024-01".to_string()]),
                true
            ),
        ]
    );
    assert_eq!(report.unclaimed, vec!["visits/notes.txt"]);
    assert!(report.waiting.is_empty());
}

#[tokio::test]
async fn a_file_changed_within_the_settle_time_waits_unless_the_manifest_knows_it_unchanged() {
    let (_dir, files) = landed(&["visits/ed_202401.csv", "visits/ed_202402.csv"]).await;
    let progress = NoProgress;
    let matchers = [visits(3600, None)];
    let (jobs, report) = plan(&files, &matchers, &[], &options(&progress));
    assert!(jobs.is_empty());
    assert_eq!(
        report.waiting,
        vec!["visits/ed_202401.csv", "visits/ed_202402.csv"]
    );

    // January was loaded since it last changed: no need to wait, and not fresh.
    let manifest = [known("visits", &files[0], FileStatus::Loaded, "h1")];
    let mut report = IngestReport::default();
    let jobs = plan_jobs(
        std::path::Path::new("p.yaml"),
        &files,
        &matchers,
        &manifest,
        &options(&progress),
        &mut report,
    )
    .expect("plan");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].file.key, "visits/ed_202401.csv");
    assert!(!jobs[0].fresh, "known unchanged");
    assert_eq!(report.waiting, vec!["visits/ed_202402.csv"]);

    // A manifest entry of another size is another file: it waits again.
    let mut changed = known("visits", &files[0], FileStatus::Loaded, "h1");
    changed.size += 1;
    let (jobs, _) = plan(&files, &matchers, &[changed], &options(&progress));
    assert!(jobs.is_empty());
}

#[tokio::test]
async fn a_file_waits_for_its_ready_marker_and_the_marker_is_not_data() {
    let (_dir, files) = landed(&[
        "visits/ed_202401.csv",
        "visits/ed_202401.csv.done",
        "visits/ed_202402.csv",
        "visits/ed_202403.csv.done",
    ])
    .await;
    let progress = NoProgress;
    let (jobs, report) = plan(
        &files,
        &[visits(0, Some(".done"))],
        &[],
        &options(&progress),
    );
    assert_eq!(jobs, vec!["visits/ed_202401.csv"]);
    assert_eq!(report.waiting, vec!["visits/ed_202402.csv"]);
    // A marker whose data file is not there is not a marker of anything.
    assert_eq!(report.unclaimed, vec!["visits/ed_202403.csv.done"]);
}

#[tokio::test]
async fn only_the_named_files_are_taken_and_retrying_makes_known_files_fresh() {
    let (_dir, files) = landed(&["clinic/a.csv", "clinic/b.csv", "stray.txt"]).await;
    let progress = NoProgress;
    let manifest = [known("clinic", &files[0], FileStatus::Rejected, "h")];
    let mut opts = options(&progress);
    opts.only = Some(BTreeSet::from(["clinic/a.csv".to_string()]));
    opts.retry_rejected = true;
    let mut report = IngestReport::default();
    let jobs = plan_jobs(
        std::path::Path::new("p.yaml"),
        &files,
        &[matcher(CLINIC)],
        &manifest,
        &opts,
        &mut report,
    )
    .expect("plan");
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].fresh, "a retried file is read again");
    assert!(
        report.unclaimed.is_empty(),
        "files not named are not looked at"
    );
}

#[tokio::test]
async fn a_file_two_sources_claim_stops_the_run() {
    let (_dir, files) = landed(&["clinic/a.csv"]).await;
    let progress = NoProgress;
    let twin = CLINIC.replace("source: clinic", "source: clinic_twin");
    let mut report = IngestReport::default();
    let err = match plan_jobs(
        std::path::Path::new("p.yaml"),
        &files,
        &[matcher(CLINIC), matcher(&twin)],
        &[],
        &options(&progress),
        &mut report,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("two sources claimed one file"),
    };
    assert!(err.contains("clinic/a.csv"), "{err}");
    assert!(err.contains("clinic, clinic_twin"), "{err}");
    // The user's configuration, named by file and key, not a bug to report.
    assert!(err.contains("p.yaml") && err.contains("sources"), "{err}");
    assert!(!err.contains("please report"), "{err}");
}

#[tokio::test]
async fn decided_content_is_skipped_and_only_a_release_reopens_held_content() {
    let (_dir, files) = landed(&["a", "b", "c", "d"]).await;
    let entry = |i: usize, status, hash: &str| known("s", &files[i], status, hash);
    let manifest = vec![
        entry(0, FileStatus::Loaded, "loaded"),
        entry(1, FileStatus::Rejected, "rejected"),
        entry(2, FileStatus::Held, "held"),
        entry(3, FileStatus::Discarded, "discarded"),
    ];
    let held = outstanding_held(&manifest);
    assert_eq!(held.len(), 1);
    let pair = |h: &str| ("s".to_string(), h.to_string());
    let progress = NoProgress;

    let plain = Decided::from_manifest(&manifest, &held, &options(&progress));
    let done: BTreeMap<_, _> = plain.done.iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(
        done,
        BTreeMap::from([
            (pair("loaded"), FileStatus::Loaded),
            (pair("rejected"), FileStatus::Rejected),
            (pair("held"), FileStatus::Held),
            (pair("discarded"), FileStatus::Discarded)
        ])
    );
    assert!(plain.released.is_empty());

    let mut retry = options(&progress);
    retry.retry_rejected = true;
    assert!(
        !Decided::from_manifest(&manifest, &held, &retry)
            .done
            .contains_key(&pair("rejected"))
    );
    // Content rejected, then loaded after a retry, is loaded content.
    let mut later = manifest.clone();
    later.push(known("s", &files[1], FileStatus::Loaded, "rejected"));
    assert_eq!(
        Decided::from_manifest(&later, &held, &options(&progress))
            .done
            .get(&pair("rejected")),
        Some(&FileStatus::Loaded)
    );

    // `vigie held release c`: the held content of c, and only it, is applied as it is.
    let mut release = options(&progress);
    release.release_held = true;
    release.only = Some(BTreeSet::from(["c".to_string()]));
    let released = Decided::from_manifest(&manifest, &held, &release);
    assert!(!released.done.contains_key(&pair("held")));
    assert_eq!(released.released, HashSet::from([pair("held")]));
}

#[tokio::test]
async fn a_held_entry_is_outstanding_until_a_later_decision_on_the_same_content() {
    let (_dir, files) = landed(&["a", "b"]).await;
    let entry = |i: usize, status, hash: &str| known("s", &files[i], status, hash);
    let held_a = entry(0, FileStatus::Held, "ha");
    let held_b = entry(1, FileStatus::Held, "hb");
    assert_eq!(
        outstanding_held(&[held_a.clone(), held_b.clone(), held_a.clone()]),
        vec![held_a.clone(), held_b.clone()],
        "one entry per content, latest first"
    );
    for decision in [
        FileStatus::Loaded,
        FileStatus::Discarded,
        FileStatus::Rejected,
    ] {
        let settled = entry(0, decision, "ha");
        assert_eq!(
            outstanding_held(&[held_a.clone(), held_b.clone(), settled]),
            vec![held_b.clone()],
            "{decision:?} settles it"
        );
    }
}

/// A card number in a file's name would be stored with every row of the file, in the
/// manifest and in the logs: the file is not taken, nor reported as unclaimed, and its
/// name is reported masked.
#[tokio::test]
async fn a_file_named_with_a_card_number_is_refused_under_a_masked_name() {
    let card = "7681566506";
    assert!(
        vigie_model::identifier::luhn_valid(card),
        "a valid card number"
    );
    let (_dir, files) = landed(&[
        "clinic/a.csv",
        &format!("clinic/{card}.csv"),
        &format!("visits/ed_202401_{card}.csv"),
        &format!("visits/notes {card}.txt"),
    ])
    .await;
    let progress = NoProgress;
    let (taken, report) = plan(
        &files,
        &[visits(0, None), matcher(CLINIC)],
        &[],
        &options(&progress),
    );
    assert_eq!(taken, vec!["clinic/a.csv"]);
    assert!(report.unclaimed.is_empty(), "{:?}", report.unclaimed);
    assert_eq!(report.refused_names.len(), 3, "{:?}", report.refused_names);
    for name in &report.refused_names {
        assert!(!name.contains(card), "{name}");
        assert!(!name.contains(&card[..6]), "{name}");
    }
}
