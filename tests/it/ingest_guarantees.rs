//! The ingest guarantees of issue 2, each with a test that fails if it breaks:
//! accounting, skip of loaded content, replace without double counting, crash safety,
//! whole-file rejection, no raw identifier anywhere, time travel, key refusal.

use std::collections::HashSet;
use std::path::Path;

use vigie_warehouse::{FileStatus, Warehouse};

use crate::common::*;

const PERSONS: u64 = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_is_accounted_for_and_bad_rows_are_exactly_the_corrupted_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let summary = synth(&landing, PERSONS, 7);
    let report = ingest_into(&landing, &wh).await.expect("ingest");
    // The area reference file (one row per area, A01 to A20) loads whole beside them.
    let (reference, partner): (Vec<_>, Vec<_>) = report
        .files
        .iter()
        .partition(|f| f.file.starts_with("reference/"));
    assert_eq!(
        reference
            .iter()
            .map(|f| (f.status, f.rows_accepted))
            .collect::<Vec<_>>(),
        [(FileStatus::Loaded, 20)]
    );
    assert_eq!(
        partner.len(),
        summary.files.len(),
        "every generated file is loaded"
    );
    for f in partner {
        assert_eq!(f.status, FileStatus::Loaded, "{}: {:?}", f.file, f.message);
        assert_eq!(f.rows_accepted + f.rows_rejected, f.rows_read, "{}", f.file);
        let generated = summary.file(&f.file).expect("generated file");
        assert_eq!(f.rows_read, generated.rows, "{}: rows read", f.file);
        assert_eq!(
            f.rows_rejected,
            generated.bad_row_count(),
            "{}: rejected rows must be exactly the deliberately corrupted ones {:?}",
            f.file,
            generated.bad_rows
        );
    }
    // The warehouse holds exactly the accepted rows (survey rows are unpivoted: 8 items each,
    // Q1..Q8 of pipelines/instruments/experience.yaml, blank and not applicable ones kept).
    let accepted = |prefix: &str| -> i64 {
        report
            .files
            .iter()
            .filter(|f| f.file.starts_with(prefix))
            .map(|f| f.rows_accepted as i64)
            .sum()
    };
    let counts = table_counts(&wh).await;
    assert_eq!(counts["person"], accepted("registre/"));
    assert_eq!(counts["enrolment"], accepted("programme/"));
    assert_eq!(counts["survey_response"], 8 * accepted("sondage/"));
    assert_eq!(
        counts["ed_visit"] + counts["admission"],
        accepted("hospital_a/") + accepted("hopital_b/")
    );
    let hospital_a = count(
        &wh,
        "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed'",
    )
    .await;
    assert_eq!(hospital_a, accepted("hospital_a/"));
    // Each rejected record has at least one quarantine row, with file, line and reason.
    let rejected_lines = count(
        &wh,
        "SELECT count(*) FROM (SELECT DISTINCT _file, _line FROM quarantine)",
    )
    .await;
    let rejected: u64 = report.files.iter().map(|f| f.rows_rejected).sum();
    assert_eq!(rejected_lines as u64, rejected);
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM quarantine WHERE reason = '' OR _line < 2"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_already_loaded_is_skipped_even_under_another_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 600, 3);
    ingest_into(&landing, &wh).await.expect("first ingest");
    let before = table_counts(&wh).await;
    std::fs::copy(
        landing.join("hospital_a/ed_visits_202402.csv"),
        landing.join("hospital_a/ed_visits_202402_copy.csv"),
    )
    .expect("copy");
    let again = ingest_into(&landing, &wh).await.expect("second ingest");
    assert!(
        again.files.is_empty(),
        "nothing is loaded twice: {:?}",
        again.files
    );
    assert!(
        again
            .skipped
            .contains(&"hospital_a/ed_visits_202402_copy.csv".to_string())
    );
    assert_eq!(table_counts(&wh).await, before);
}

/// A file the manifest knows unchanged (same size, not modified since its load started) is
/// skipped without being read; `--verify-unchanged` reads and hashes it again. Shown with a
/// file whose content changed behind a modification time set back to the old one: skipped
/// unread by default, loaded once verified. A file touched without a change is read again,
/// and skipped by its content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_files_are_skipped_unread_unless_verified() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 600, 3);
    ingest_into(&landing, &wh).await.expect("first ingest");
    let key = "hospital_a/ed_visits_202402.csv";
    let path = landing.join(key);
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("modification time");
    // Two data lines swapped: the same size, another content.
    let bytes = std::fs::read(&path).expect("read");
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    assert!(
        lines.len() > 3 && lines[1] != lines[2],
        "two distinct data lines"
    );
    lines.swap(1, 2);
    let swapped = lines.concat();
    assert_eq!(swapped.len(), bytes.len());
    std::fs::write(&path, &swapped).expect("rewrite");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(modified))
        .expect("modification time set back");

    let again = ingest_into(&landing, &wh).await.expect("second ingest");
    assert!(again.files.is_empty(), "nothing read: {:?}", again.files);
    assert!(
        again.skipped.contains(&key.to_string()),
        "{:?}",
        again.skipped
    );

    let pipeline = demo_pipeline();
    let mut options =
        vigie_pipeline::IngestOptions::for_pipeline(&pipeline, &vigie_pipeline::NoProgress);
    options.landing = landing.display().to_string();
    options.warehouse = wh.display().to_string();
    options.verify_unchanged = true;
    let verified = vigie_pipeline::ingest(&pipeline, &options)
        .await
        .expect("verified ingest");
    assert!(verified.postponed.is_empty(), "{:?}", verified.postponed);
    let loaded: Vec<(&str, FileStatus)> = verified
        .files
        .iter()
        .map(|f| (f.file.as_str(), f.status))
        .collect();
    assert_eq!(
        loaded,
        vec![(key, FileStatus::Loaded)],
        "only the changed file is loaded"
    );
    assert!(
        verified.skipped.len() > 10,
        "the others are read, and skipped by content"
    );

    // Touched, not changed: read again (newer than its load), skipped by its content.
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("touch");
    let touched = ingest_into(&landing, &wh).await.expect("third ingest");
    assert!(touched.files.is_empty(), "{:?}", touched.files);
    assert!(touched.skipped.contains(&key.to_string()));
}

/// Keeps the header and every other data line of a CSV file.
fn thin_out(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read");
    let mut out = Vec::new();
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        if i == 0 || i % 2 == 1 {
            out.extend_from_slice(line);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_extract_replaces_its_months_without_double_counting() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, PERSONS, 11);
    ingest_into(&landing, &wh).await.expect("first ingest");
    let month =
        "SELECT count(*) FROM {t} WHERE _source = 'hopital_b_episodes' AND event_month = '2024-03'";
    let other = "SELECT count(*) FROM {t} WHERE _source = 'hopital_b_episodes' AND event_month <> '2024-03'";
    let ed_before_other = count(&wh, &other.replace("{t}", "ed_visit")).await;
    let adm_before_other = count(&wh, &other.replace("{t}", "admission")).await;
    assert!(count(&wh, &month.replace("{t}", "ed_visit")).await > 0);

    // The partner re-sends March 2024 with half the rows, under a new name.
    let corrected = thin_out(&landing.join("hopital_b/episodes_202403.csv"));
    std::fs::write(
        landing.join("hopital_b/episodes_202403_corrige.csv"),
        corrected,
    )
    .expect("write");
    // Half of March would disappear: the shrink guard holds the file, nothing changes...
    let report = ingest_into(&landing, &wh).await.expect("second ingest");
    assert_eq!(report.files.len(), 1);
    assert_eq!(
        report.files[0].status,
        FileStatus::Held,
        "{:?}",
        report.files[0]
    );
    let message = report.files[0].message.clone().unwrap_or_default();
    assert!(
        message.contains("2024-03") && message.contains("rows would become"),
        "{message}"
    );
    assert_eq!(
        count(&wh, &other.replace("{t}", "ed_visit")).await,
        ed_before_other
    );
    // ...until a person releases it.
    let report = release(&landing, &wh, "hopital_b/episodes_202403_corrige.csv").await;
    assert_eq!(report.files.len(), 1);
    let f = &report.files[0];
    assert_eq!(f.status, FileStatus::Loaded);
    let ed = count(&wh, &month.replace("{t}", "ed_visit")).await;
    let adm = count(&wh, &month.replace("{t}", "admission")).await;
    assert_eq!(
        (ed + adm) as u64,
        f.rows_accepted,
        "March holds exactly the corrected rows"
    );
    let files = count(
        &wh,
        "SELECT count(DISTINCT _file) FROM (SELECT _file FROM ed_visit WHERE _source = 'hopital_b_episodes' AND event_month = '2024-03' UNION ALL SELECT _file FROM admission WHERE _source = 'hopital_b_episodes' AND event_month = '2024-03')",
    )
    .await;
    assert_eq!(files, 1, "no row of the first March extract remains");
    assert_eq!(
        count(&wh, &other.replace("{t}", "ed_visit")).await,
        ed_before_other,
        "other months untouched"
    );
    assert_eq!(
        count(&wh, &other.replace("{t}", "admission")).await,
        adm_before_other
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_load_shows_nothing_partial_and_the_next_run_completes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh, clean) = (
        dir.path().join("landing"),
        dir.path().join("warehouse"),
        dir.path().join("clean"),
    );
    synth(&landing, 800, 5);
    ingest_into(&landing, &clean)
        .await
        .expect("reference ingest");
    let expected = table_counts(&clean).await;

    // The crash hits after hopital_b's first file wrote both tables, before its manifest entry.
    let crashing = "hopital_b/episodes_202301.csv";
    let err = ingest_with(&landing, &wh, Some(crashing))
        .await
        .expect_err("injected crash");
    assert!(err.to_string().contains("injected fault"), "{err}");
    let visible = count(
        &wh,
        &format!("SELECT count(*) FROM ed_visit WHERE _file = '{crashing}'"),
    )
    .await
        + count(
            &wh,
            &format!("SELECT count(*) FROM admission WHERE _file = '{crashing}'"),
        )
        .await;
    assert_eq!(visible, 0, "rows of the interrupted file are not visible");
    // They were written, though: the Delta table itself is ahead of the snapshot.
    let w = Warehouse::open(&wh.display().to_string()).expect("open");
    let snap = w.snapshot(None).await.expect("snapshot");
    assert!(!snap.tables.contains_key("admission") || snap.tables.len() < 6);

    let report = ingest_into(&landing, &wh).await.expect("recovery run");
    assert!(
        report.files.iter().any(|f| f.file == crashing),
        "the interrupted file is loaded again"
    );
    assert_eq!(
        table_counts(&wh).await,
        expected,
        "the recovered warehouse equals a clean load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_files_are_rejected_whole_with_file_and_line_while_others_load() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let summary = synth(&landing, 600, 13);
    let good = std::fs::read(landing.join("hospital_a/ed_visits_202405.csv")).expect("read");
    // Truncated in the middle of a record (the partner's transfer was cut).
    let cut = good.len() * 2 / 3;
    let cut = cut + good[cut..].iter().position(|b| *b == b',').unwrap_or(0) + 1;
    std::fs::write(
        landing.join("hospital_a/ed_visits_209901.csv"),
        &good[..cut],
    )
    .expect("write");
    // Bytes that are not UTF-8 on line 3.
    let mut bad_bytes = good.clone();
    let line3 = bad_bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 2)
        .unwrap_or(10);
    bad_bytes[line3] = 0xE9;
    bad_bytes[line3 + 1] = 0x28;
    std::fs::write(landing.join("hospital_a/ed_visits_209902.csv"), &bad_bytes).expect("write");
    // The partner renamed a column.
    let renamed = String::from_utf8_lossy(&good).replacen("TRIAGE_LEVEL", "CTAS", 1);
    std::fs::write(
        landing.join("hospital_a/ed_visits_209903.csv"),
        renamed.as_bytes(),
    )
    .expect("write");

    let report = ingest_into(&landing, &wh).await.expect("ingest");
    let by_file = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.file == name)
            .expect(name)
            .clone()
    };
    let truncated = by_file("hospital_a/ed_visits_209901.csv");
    assert_eq!(truncated.status, FileStatus::Rejected);
    assert!(
        truncated
            .message
            .as_deref()
            .unwrap_or("")
            .contains("truncated"),
        "{truncated:?}"
    );
    assert_eq!(truncated.rows_rejected, truncated.rows_read);
    let undecodable = by_file("hospital_a/ed_visits_209902.csv");
    assert_eq!(undecodable.status, FileStatus::Rejected);
    assert!(
        undecodable
            .message
            .as_deref()
            .unwrap_or("")
            .starts_with("line 3:"),
        "{undecodable:?}"
    );
    assert!(
        undecodable
            .message
            .as_deref()
            .unwrap_or("")
            .contains("encoding"),
        "{undecodable:?}"
    );
    let header = by_file("hospital_a/ed_visits_209903.csv");
    assert_eq!(header.status, FileStatus::Rejected);
    // A file rejected for its header still counts every record it holds, all rejected.
    let records = summary
        .file("hospital_a/ed_visits_202405.csv")
        .expect("generated")
        .rows;
    assert_eq!(
        (header.rows_read, header.rows_rejected, header.rows_accepted),
        (records, records, 0)
    );
    let msg = header.message.clone().unwrap_or_default();
    assert!(
        msg.starts_with("line 1:") && msg.contains("TRIAGE_LEVEL") && msg.contains("CTAS"),
        "{msg}"
    );
    // Everything else loaded; nothing of the rejected files reached the tables.
    let loaded = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Loaded)
        .count();
    // The partner files, and the area reference file `vigie synth` writes beside them.
    assert_eq!(loaded, summary.files.len() + 1);
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM ed_visit WHERE _file LIKE '%2099%'"
        )
        .await,
        0
    );
    assert_eq!(count(&wh, "SELECT count(*) FROM quarantine WHERE _file LIKE '%2099%' AND reason LIKE 'file rejected whole%'").await, 3);
}

/// Every raw health card number of the region's extracts.
fn raw_identifiers(landing: &Path) -> HashSet<String> {
    let mut ids = HashSet::new();
    for entry in walk(landing) {
        let bytes = std::fs::read(&entry).expect("read");
        let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
        for token in text.split(|c: char| !c.is_ascii_digit()) {
            if token.len() == 10 {
                ids.insert(token.to_string());
            }
        }
    }
    ids
}

fn leaks(text: &str, ids: &HashSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let digits: Vec<char> = text.chars().collect();
    let mut run = String::new();
    for c in digits.iter().chain(std::iter::once(&' ')) {
        if c.is_ascii_digit() {
            run.push(*c);
        } else {
            if run.len() >= 10 {
                for i in 0..=run.len() - 10 {
                    if ids.contains(&run[i..i + 10]) {
                        found.push(run[i..i + 10].to_string());
                    }
                }
            }
            run.clear();
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_identifiers_never_reach_the_warehouse_quarantine_logs_or_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let summary = synth(&landing, PERSONS, 17);
    assert!(
        summary.files.iter().any(|f| f.bad_row_count() > 0),
        "the region has rejected rows to check"
    );
    let ids = raw_identifiers(&landing);
    assert!(
        ids.len() as u64 >= PERSONS,
        "found the identifiers of the input ({})",
        ids.len()
    );

    // Run the real binary with debug logs, and capture everything it prints.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["ingest", "pipelines/demo.yaml", "--landing"])
        .arg(&landing)
        .arg("--warehouse")
        .arg(&wh)
        .current_dir(repo())
        .env(
            "RUST_LOG",
            "info,vigie=debug,vigie_pipeline=debug,vigie_ingest=debug,vigie_warehouse=debug",
        )
        .output()
        .expect("run vigie");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("rejected"),
        "the run reported its rejections"
    );
    assert_eq!(
        leaks(&printed, &ids),
        Vec::<String>::new(),
        "logs and output"
    );

    // A compute at trace level logs the plan each query ran (file paths, SQL, row counts):
    // never a value of the data.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["compute", "pipelines/demo.yaml", "--warehouse"])
        .arg(&wh)
        .args(["--only", "ed_visits_per_1000,readmission_30d_pct"])
        .current_dir(repo())
        .env("RUST_LOG", "info,vigie=debug,vigie_indicators=trace")
        .output()
        .expect("run vigie compute");
    let printed = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("executed plan")
            && printed.contains("indicator=\"ed_visits_per_1000\"")
            && printed.contains("output_rows="),
        "the plans are logged with their metrics: {printed}"
    );
    assert_eq!(
        leaks(&printed, &ids),
        Vec::<String>::new(),
        "plans in the compute's logs"
    );

    // Every cell of every table, quarantine and manifest included.
    for t in [
        "person",
        "ed_visit",
        "admission",
        "enrolment",
        "survey_response",
        "quarantine",
        "load_manifest",
    ] {
        let cells = all_text(&query(&wh, &format!("SELECT * FROM {t}")).await);
        assert!(!cells.is_empty(), "{t} has rows");
        let text = cells.join(" ");
        assert_eq!(leaks(&text, &ids), Vec::<String>::new(), "table {t}");
    }
    // The Delta logs (with their column statistics) and every other file of the warehouse.
    for file in walk(&wh) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        assert_eq!(
            leaks(&text, &ids),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_version_reads_back_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 600, 19);
    ingest_into(&landing, &wh).await.expect("first ingest");
    let w = Warehouse::open(&wh.display().to_string()).expect("open");
    let first = w.snapshot(None).await.expect("snapshot").manifest_version;
    let sql =
        "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed' AND event_month = '2023-06'";
    let before = count(&wh, sql).await;
    let corrected = thin_out(&landing.join("hospital_a/ed_visits_202306.csv"));
    std::fs::write(
        landing.join("hospital_a/ed_visits_202306_v2.csv"),
        corrected,
    )
    .expect("write");
    ingest_into(&landing, &wh).await.expect("second ingest");
    assert!(count(&wh, sql).await < before);
    assert_eq!(
        scalar(&query_as_of(&wh, sql, first).await),
        before,
        "time travel to the first load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_pipeline_refuses_to_run_without_a_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let sources = repo().join("pipelines/sources");
    let yaml = format!(
        "name: prod\nlanding: {}\nwarehouse: {}\nkey: {{ env: VIGIE_TEST_KEY_NOT_SET }}\nsources: [{}]\n",
        dir.path().display(),
        dir.path().join("wh").display(),
        sources.join("hospital-a-ed.yaml").display()
    );
    let path = dir.path().join("prod.yaml");
    std::fs::write(&path, yaml).expect("write");
    let pipeline = vigie_model::config::load_pipeline(&path).expect("valid config");
    let mut options =
        vigie_pipeline::IngestOptions::for_pipeline(&pipeline, &vigie_pipeline::NoProgress);
    options.landing = dir.path().display().to_string();
    options.warehouse = dir.path().join("wh").display().to_string();
    let err = vigie_pipeline::ingest(&pipeline, &options)
        .await
        .expect_err("no key");
    assert!(err.to_string().contains("VIGIE_TEST_KEY_NOT_SET"), "{err}");
    assert!(!dir.path().join("wh").exists(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_spilled_to_staging_files_load_exactly_like_rows_in_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, in_memory, spilled) = (
        dir.path().join("landing"),
        dir.path().join("mem"),
        dir.path().join("spill"),
    );
    synth(&landing, 900, 29);
    ingest_into(&landing, &in_memory)
        .await
        .expect("in-memory ingest");
    // Every entity of every file holding more than 50 rows goes through a staging Parquet file.
    SPILL_ROWS.with(|r| r.set(50));
    let report = ingest_into(&landing, &spilled)
        .await
        .expect("staged ingest");
    SPILL_ROWS.with(|r| r.set(vigie_pipeline::DEFAULT_SPILL_ROWS));
    assert!(
        report.files.iter().any(|f| f.rows_accepted > 50),
        "some file is large enough to spill"
    );
    assert_eq!(table_counts(&spilled).await, table_counts(&in_memory).await);
    let digest = "SELECT count(DISTINCT person_key) AS a, sum(triage) AS b, count(DISTINCT _line) AS c FROM ed_visit";
    assert_eq!(
        all_text(&query(&spilled, digest).await),
        all_text(&query(&in_memory, digest).await)
    );
    // Re-sending a month replaces it the same way from a staging file.
    let corrected = thin_out(&landing.join("hospital_a/ed_visits_202306.csv"));
    std::fs::write(
        landing.join("hospital_a/ed_visits_202306_v2.csv"),
        corrected,
    )
    .expect("write");
    SPILL_ROWS.with(|r| r.set(5));
    let again = ingest_into(&landing, &spilled)
        .await
        .expect("second staged ingest");
    SPILL_ROWS.with(|r| r.set(vigie_pipeline::DEFAULT_SPILL_ROWS));
    let f = &again.files[0];
    let june = count(
        &spilled,
        "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed' AND event_month = '2023-06'",
    )
    .await;
    assert_eq!(june as u64, f.rows_accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_without_its_header_row_does_not_leak_its_first_identifier() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 300, 31);
    let path = landing.join("hospital_a/ed_visits_202402.csv");
    let text = std::fs::read_to_string(&path).expect("read");
    let headerless: String = text.lines().skip(1).map(|l| format!("{l}\r\n")).collect();
    std::fs::write(landing.join("hospital_a/ed_visits_209912.csv"), &headerless).expect("write");
    let first_hcn = headerless
        .trim_start_matches('"')
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(first_hcn.len(), 10);
    let report = ingest_into(&landing, &wh).await.expect("ingest");
    let f = report
        .files
        .iter()
        .find(|f| f.file.ends_with("209912.csv"))
        .expect("the file");
    assert_eq!(f.status, FileStatus::Rejected);
    let message = f.message.clone().unwrap_or_default();
    assert!(
        message.contains("withheld") && !message.contains(&first_hcn),
        "{message}"
    );
    let cells = all_text(&query(&wh, "SELECT * FROM quarantine").await).join(" ");
    assert!(!cells.contains(&first_hcn));
}

/// Files of one load are committed in groups; a corrected month landing beside the
/// original in the same load must still replace it, exactly as if each had been committed
/// alone in key order (the group commits before taking a file whose months overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_landing_with_its_original_in_one_load_replaces_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, PERSONS, 13);
    let original = landing.join("hospital_a/ed_visits_202302.csv");
    let bytes = std::fs::read(&original).expect("read");
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(lines.len() > 30, "a month of visits");
    // The correction drops the month's last records: fewer than the source's shrink guard
    // (20%) lets through without a person's review.
    let kept = &lines[..lines.len() - lines.len() / 10];
    let mut corrected = kept.join(&b'\n');
    corrected.push(b'\n');
    let correction = "hospital_a/ed_visits_202302_v2.csv";
    std::fs::write(landing.join(correction), corrected).expect("write");

    let report = ingest_into(&landing, &wh).await.expect("ingest");
    let v2 = report
        .files
        .iter()
        .find(|f| f.file == correction)
        .expect("the correction is loaded");
    let feb = |file: &str| {
        format!(
            "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed' \
             AND event_month = '2023-02' AND _file = '{file}'"
        )
    };
    assert_eq!(
        count(&wh, &feb("hospital_a/ed_visits_202302.csv")).await,
        0,
        "the original's February rows are replaced"
    );
    assert_eq!(
        count(&wh, &feb(correction)).await,
        v2.rows_accepted as i64,
        "February holds the correction's rows"
    );
    // Every other month of the source is untouched by the correction.
    let months = count(
        &wh,
        "SELECT count(DISTINCT event_month) FROM ed_visit WHERE _source = 'hospital_a_ed'",
    )
    .await;
    assert_eq!(months, 36);
}
