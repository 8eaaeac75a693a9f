//! The fault matrix: accidents real partners and operators cause, each written by hand in a
//! layout `vigie synth` never produces, each checked against the exact state of the
//! warehouse afterwards — what is held or quarantined and why, that no earlier row was
//! lost, that no row counts twice, and that no raw identifier of the input is stored.

use std::path::{Path, PathBuf};
use std::process::Command;

use vigie_pipeline::{IngestOptions, IngestReport, NoProgress, ingest, outstanding_held};
use vigie_warehouse::{FileStatus, Warehouse};

use crate::common::*;

const PERSONS: u64 = 1_500;

/// A small region, loaded.
struct Region {
    _dir: tempfile::TempDir,
    landing: PathBuf,
    wh: PathBuf,
}

async fn region(seed: u64) -> Region {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, PERSONS, seed);
    let report = ingest_into(&landing, &wh).await.expect("first ingest");
    for f in &report.files {
        assert_eq!(f.status, FileStatus::Loaded, "{}: {:?}", f.file, f.message);
    }
    Region {
        _dir: dir,
        landing,
        wh,
    }
}

impl Region {
    fn write(&self, key: &str, bytes: impl AsRef<[u8]>) {
        let path = self.landing.join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }

    fn read(&self, key: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.landing.join(key)).expect("read")).into_owned()
    }

    async fn ingest(&self) -> IngestReport {
        self.ingest_with(|_| {}).await
    }

    async fn ingest_with(&self, tweak: impl FnOnce(&mut IngestOptions<'_>)) -> IngestReport {
        let pipeline = demo_pipeline();
        let mut options = IngestOptions::for_pipeline(&pipeline, &NoProgress);
        options.landing = self.landing.display().to_string();
        options.warehouse = self.wh.display().to_string();
        // Loads read the numbering from its copy, as at scale (see common::ingest_with).
        options.numbering_copy_min = 0;
        tweak(&mut options);
        ingest(&pipeline, &options).await.expect("ingest")
    }

    async fn count(&self, sql: &str) -> i64 {
        count(&self.wh, sql).await
    }

    /// Quarantine reasons of one file, by line.
    async fn quarantined(&self, file: &str) -> Vec<(i64, String)> {
        let batches = query(
            &self.wh,
            &format!("SELECT CAST(_line AS VARCHAR) || '|' || reason FROM quarantine WHERE _file = '{file}' ORDER BY _line, reason"),
        )
        .await;
        all_text(&batches)
            .iter()
            .filter_map(|c| c.split_once('|'))
            .map(|(line, why)| (line.parse().unwrap_or(-1), why.to_string()))
            .collect()
    }

    /// The data lines of a landing file that were loaded (valid records), as they are.
    async fn loaded_lines(&self, key: &str, table: &str) -> Vec<String> {
        let lines = std::fs::read_to_string(self.landing.join(key)).expect("read");
        let loaded: std::collections::HashSet<i64> = all_text(
            &query(
                &self.wh,
                &format!("SELECT DISTINCT _line FROM {table} WHERE _file = '{key}'"),
            )
            .await,
        )
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
        lines
            .lines()
            .enumerate()
            .filter(|(i, _)| loaded.contains(&(*i as i64 + 1)))
            .map(|(_, l)| l.trim_end_matches('\r').to_string())
            .collect()
    }

    /// A new hospital A file for a 31-day month of 2026: March 2023's valid visits, re-dated.
    async fn hospital_month(&self, month: &str) -> (String, Vec<String>) {
        let key = "hospital_a/ed_visits_202303.csv";
        let header = header(&self.read(key));
        let rows = self
            .loaded_lines(key, "ed_visit")
            .await
            .iter()
            .map(|l| l.replace("\"2023-03-", &format!("\"{month}-")))
            .collect();
        (header, rows)
    }

    fn vigie(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(args)
            .current_dir(repo())
            .output()
            .expect("run vigie");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    fn landing_arg(&self) -> String {
        self.landing.display().to_string()
    }

    fn wh_arg(&self) -> String {
        self.wh.display().to_string()
    }
}

/// A copy of the demo pipeline under `dir` (`demo.yaml`, `sources/` and the `instruments/`
/// its survey source names), with `extra` appended to the pipeline and each source spec
/// passed through `edit(name, text)`.
fn demo_copy(dir: &Path, extra: &str, edit: impl Fn(&str, String) -> String) -> PathBuf {
    copy_instruments(dir);
    let sources = dir.join("sources");
    std::fs::create_dir_all(&sources).expect("mkdir");
    for e in std::fs::read_dir(repo().join("pipelines/sources"))
        .expect("sources")
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).expect("read");
        let name = e.file_name().to_string_lossy().into_owned();
        std::fs::write(sources.join(&name), edit(&name, text)).expect("write");
    }
    let demo = std::fs::read_to_string(repo().join("pipelines/demo.yaml")).expect("read");
    let path = dir.join("demo.yaml");
    std::fs::write(&path, format!("{demo}{extra}")).expect("write");
    path
}

fn file<'a>(report: &'a IngestReport, key: &str) -> &'a vigie_pipeline::FileReport {
    report
        .files
        .iter()
        .find(|f| f.file == key)
        .unwrap_or_else(|| panic!("{key} not in the report: {report:?}"))
}

/// The data lines of a CSV file (header excluded), without their line terminators.
fn data_lines(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn header(text: &str) -> String {
    text.lines()
        .next()
        .expect("header")
        .trim_end_matches('\r')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_only_or_all_rejected_snapshot_is_held_and_the_registry_stays() {
    let r = region(31).await;
    let persons = r.count("SELECT count(*) FROM person").await;
    assert!(persons > 300);
    let registry = r.read("registre/population.csv");
    // The snapshot arrives with its header row only.
    r.write(
        "registre/population_2.csv",
        format!("{}\n", header(&registry)),
    );
    // Every card number gained a digit: 11 digits is not an Ontario health card number,
    // even where the Luhn digit happens to match.
    let mut mangled = vec![header(&registry)];
    for line in data_lines(&registry) {
        let (hcn, rest) = line.split_once(',').expect("cells");
        mangled.push(format!("{hcn}0,{rest}"));
    }
    r.write("registre/population_3.csv", mangled.join("\n") + "\n");

    let report = r.ingest().await;
    let empty = file(&report, "registre/population_2.csv");
    assert_eq!(empty.status, FileStatus::Held);
    assert!(
        empty
            .message
            .as_deref()
            .unwrap_or("")
            .contains("header only"),
        "{empty:?}"
    );
    let all_bad = file(&report, "registre/population_3.csv");
    assert_eq!(all_bad.status, FileStatus::Held);
    let read = data_lines(&registry).len() as u64;
    assert_eq!(
        (
            all_bad.rows_read,
            all_bad.rows_accepted,
            all_bad.rows_rejected
        ),
        (read, 0, read)
    );
    assert!(
        all_bad
            .message
            .as_deref()
            .unwrap_or("")
            .contains("no record accepted"),
        "{all_bad:?}"
    );
    // Nothing changed: not the registry, not even the quarantine.
    assert_eq!(r.count("SELECT count(*) FROM person").await, persons);
    assert_eq!(
        r.count("SELECT count(*) FROM quarantine WHERE _file IN ('registre/population_2.csv', 'registre/population_3.csv')").await,
        0
    );
    let wh = Warehouse::open(&r.wh_arg()).expect("warehouse");
    let held = outstanding_held(&wh.manifest(None).await.expect("manifest"));
    assert_eq!(held.len(), 2);
    // A later run leaves them held, applies nothing, and says so.
    let again = r.ingest().await;
    assert!(again.files.is_empty(), "{again:?}");
    assert_eq!(again.still_held.len(), 2);
    assert_eq!(r.count("SELECT count(*) FROM person").await, persons);
    // A release applies the content a person looked at, nothing else: the header-only
    // snapshot re-sent with other bytes since it was held is guarded again.
    r.write(
        "registre/population_2.csv",
        format!("{}\r\n\r\n", header(&registry)),
    );
    let released = release(&r.landing, &r.wh, "registre/population_2.csv").await;
    assert_eq!(
        file(&released, "registre/population_2.csv").status,
        FileStatus::Held
    );
    assert_eq!(r.count("SELECT count(*) FROM person").await, persons);
    r.write(
        "registre/population_2.csv",
        format!("{}\n", header(&registry)),
    );
    // /metrics reports them to Prometheus (the alert VigieSourceFileHeld fires on it), and
    // their rows count neither as accepted nor as rejected.
    let pipeline = demo_pipeline();
    let state = vigie_serve::ServeState::new().expect("state");
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir()).expect("catalogue");
    let sources: Vec<_> = pipeline.sources.iter().map(|(_, s)| s.clone()).collect();
    let disclosure = pipeline.disclosure();
    let input = vigie_serve::PipelineMetricsInput {
        pipeline: &pipeline.spec.name,
        warehouse: &wh,
        catalogue: &catalogue,
        disclosure: &disclosure,
        sources: &sources,
    };
    vigie_serve::refresh_indicators(&state, &input)
        .await
        .expect("refresh");
    let metrics = state.render();
    assert!(
        metrics.contains(
            "vigie_source_files_held{pipeline=\"demo\",source=\"registre_population\"} 3"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("vigie_source_files_held{pipeline=\"demo\",source=\"hospital_a_ed\"} 0")
    );
    let accepted = r
        .count("SELECT sum(rows_accepted) FROM load_manifest WHERE source = 'registre_population' AND status = 'loaded'")
        .await;
    assert!(
        metrics.contains(&format!(
            "vigie_source_rows_accepted_total{{pipeline=\"demo\",source=\"registre_population\"}} {accepted}"
        )),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_files_are_listed_released_or_discarded_from_the_command_line_with_exit_codes() {
    let r = region(37).await;
    let registry = r.read("registre/population.csv");
    let lines = data_lines(&registry);
    // A snapshot with 30% fewer persons (a team left the region?): a person must look.
    let kept: Vec<String> = lines.iter().take(lines.len() * 7 / 10).cloned().collect();
    r.write(
        "registre/population_2.csv",
        format!("{}\n{}\n", header(&registry), kept.join("\n")),
    );
    let demo = "pipelines/demo.yaml";
    let (code, out) = r.vigie(&[
        "ingest",
        demo,
        "--landing",
        &r.landing_arg(),
        "--warehouse",
        &r.wh_arg(),
    ]);
    assert_eq!(code, 3, "held: exit code 3\n{out}");
    assert!(out.contains("HELD registre/population_2.csv"), "{out}");
    assert!(out.contains("rows would become"), "{out}");
    let (code, out) = r.vigie(&["held", "list", demo, "--warehouse", &r.wh_arg()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("registre/population_2.csv") && out.contains("person:"),
        "{out}"
    );
    let persons = r.count("SELECT count(*) FROM person").await;
    assert!(persons > kept.len() as i64, "unchanged while held");

    let (code, out) = r.vigie(&[
        "held",
        "release",
        demo,
        "registre/population_2.csv",
        "--landing",
        &r.landing_arg(),
        "--warehouse",
        &r.wh_arg(),
    ]);
    assert_eq!(code, 0, "{out}");
    let released = r
        .count("SELECT rows_accepted FROM load_manifest WHERE file = 'registre/population_2.csv' AND status = 'loaded'")
        .await;
    assert!(released > 0 && released < persons);
    assert_eq!(r.count("SELECT count(*) FROM person").await, released);
    let (code, out) = r.vigie(&["held", "list", demo, "--warehouse", &r.wh_arg()]);
    assert_eq!(code, 0);
    assert!(out.contains("no file held"), "{out}");

    // A header-only snapshot is discarded after a look: never applied, never retried.
    r.write(
        "registre/population_3.csv",
        format!("{}\n", header(&registry)),
    );
    let (code, _) = r.vigie(&[
        "ingest",
        demo,
        "--landing",
        &r.landing_arg(),
        "--warehouse",
        &r.wh_arg(),
    ]);
    assert_eq!(code, 3);
    let (code, out) = r.vigie(&[
        "held",
        "discard",
        demo,
        "registre/population_3.csv",
        "--warehouse",
        &r.wh_arg(),
        "--reason",
        "empty export",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = r.vigie(&[
        "ingest",
        demo,
        "--landing",
        &r.landing_arg(),
        "--warehouse",
        &r.wh_arg(),
    ]);
    assert_eq!(code, 0, "nothing left to look at\n{out}");
    assert_eq!(r.count("SELECT count(*) FROM person").await, released);
    let (code, out) = r.vigie(&[
        "held",
        "release",
        demo,
        "registre/population_3.csv",
        "--warehouse",
        &r.wh_arg(),
    ]);
    assert_eq!(code, 1, "a discarded file is no longer held\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straggler_row_is_quarantined_instead_of_replacing_its_old_month() {
    let r = region(41).await;
    let march =
        "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed' AND event_month = '2023-03'";
    let before = r.count(march).await;
    // January 2026's file: the month's visits and one straggler from March 2023.
    let (head, mut rows) = r.hospital_month("2026-01").await;
    let straggler = r
        .loaded_lines("hospital_a/ed_visits_202303.csv", "ed_visit")
        .await[0]
        .clone();
    rows.push(straggler);
    let n = rows.len() as u64;
    r.write(
        "hospital_a/ed_visits_202601.csv",
        format!("{head}\r\n{}\r\n", rows.join("\r\n")),
    );
    let report = r.ingest().await;
    let f = file(&report, "hospital_a/ed_visits_202601.csv");
    assert_eq!(
        (f.status, f.rows_read, f.rows_accepted, f.rows_rejected),
        (FileStatus::Loaded, n, n - 1, 1)
    );
    assert_eq!(r.count(march).await, before, "March 2023 is untouched");
    let q = r.quarantined("hospital_a/ed_visits_202601.csv").await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].0, n as i64 + 1, "the straggler's line");
    assert!(
        q[0].1.contains("outside the file's period") && q[0].1.contains("2026-01"),
        "{q:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_decades_away_are_quarantined_and_never_become_the_latest_period() {
    let r = region(43).await;
    // A hospital file for a month far in the future: nothing in it can be accepted, so it
    // is held, and nothing of it reaches the warehouse.
    let (head, rows) = r.hospital_month("2026-01").await;
    r.write(
        "hospital_a/ed_visits_209901.csv",
        format!(
            "{head}\r\n{}\r\n",
            rows[0].replace("\"2026-01-", "\"2099-01-")
        ),
    );
    // The registry re-sent with three new persons whose death dates are 2099, 1850, 9999.
    let registry = r.read("registre/population.csv");
    let valid = r.loaded_lines("registre/population.csv", "person").await;
    let mut lines = vec![header(&registry)];
    lines.extend(valid.iter().cloned());
    for (i, bad) in ["2099-06-01", "1850-12-31", "9999-12-31"]
        .iter()
        .enumerate()
    {
        let (_, rest) = valid[i].split_once(',').expect("cells");
        let (rest, _) = rest.rsplit_once(',').expect("death date");
        lines.push(format!(
            "{},{rest},{bad}",
            luhn_complete(&format!("90000000{i}"))
        ));
    }
    r.write("registre/population_2.csv", lines.join("\n") + "\n");
    let report = r.ingest().await;
    let far = file(&report, "hospital_a/ed_visits_209901.csv");
    // It replaces nothing (no row of 2099 was ever loaded): loaded, its row quarantined.
    assert_eq!(
        (far.status, far.rows_accepted, far.rows_rejected),
        (FileStatus::Loaded, 0, 1),
        "{far:?}"
    );
    let q = r.quarantined("hospital_a/ed_visits_209901.csv").await;
    assert!(q[0].1.starts_with("date in the future: 2099-01-"), "{q:?}");
    let reg = file(&report, "registre/population_2.csv");
    assert_eq!(
        (reg.status, reg.rows_rejected),
        (FileStatus::Loaded, 3),
        "{reg:?}"
    );
    let reasons: Vec<String> = r
        .quarantined("registre/population_2.csv")
        .await
        .into_iter()
        .map(|(_, why)| why)
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|w| w.starts_with("date in the future"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|w| w.starts_with("date too early"))
            .count(),
        1,
        "{reasons:?}"
    );
    // No stored date lies beyond today.
    for (table, column) in [
        ("ed_visit", "CAST(arrival AS DATE)"),
        ("person", "death_date"),
    ] {
        let late = r
            .count(&format!(
                "SELECT count(*) FROM {table} WHERE {column} > current_date()"
            ))
            .await;
        assert_eq!(late, 0, "{table}");
    }
}

/// Appends the Luhn check digit to nine digits: a valid Ontario-shaped card number.
fn luhn_complete(nine: &str) -> String {
    let sum: u32 = nine
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("digit");
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{nine}{}", (10 - sum % 10) % 10)
}

/// Every 10-digit token of `text`.
fn ten_digit_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|t| t.len() == 10)
        .map(str::to_string)
        .collect()
}

/// Whether any of `ids` appears in any table or any file of the warehouse.
pub(crate) async fn stored_anywhere(wh: &Path, ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for t in [
        "person",
        "ed_visit",
        "admission",
        "enrolment",
        "survey_response",
        "contact",
        "referral",
        "quarantine",
        "load_manifest",
    ] {
        let text = all_text(&query(wh, &format!("SELECT * FROM {t}")).await).join(" ");
        found.extend(
            ids.iter()
                .filter(|id| text.contains(id.as_str()))
                .map(|id| format!("{t}: {id}")),
        );
    }
    for p in walk(wh) {
        let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
        found.extend(
            ids.iter()
                .filter(|id| text.contains(id.as_str()))
                .map(|id| format!("{}: {id}", p.display())),
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_in_the_wrong_column_or_behind_a_stray_quote_are_never_stored() {
    let r = region(47).await;
    // New card numbers, not in the registry.
    let secret: Vec<String> = ["100000000", "200000000", "300000000"]
        .iter()
        .map(|n| luhn_complete(n))
        .collect();
    // A stray quote: line 2's last field loses its closing quote and swallows line 3, card
    // number included.
    let (head, rows) = r.hospital_month("2026-03").await;
    let open = rows[0].strip_suffix('"').expect("quoted").to_string();
    let swallowed = format!(
        "\"{}\",\"2026-03-03\",\"0815\",\"HA-01\",\"3\",\"01\",\"J44\"",
        secret[0]
    );
    r.write(
        "hospital_a/ed_visits_202603.csv",
        format!(
            "{head}\r\n{open}\r\n{swallowed}\r\n{}\r\n",
            rows[1..].join("\r\n")
        ),
    );
    // A card number in the diagnosis column of another month's extract.
    let (head, mut rows) = r.hospital_month("2026-05").await;
    let (cells, _) = rows[0].rsplit_once(',').expect("cells");
    rows[0] = format!("{cells},\"{} seen\"", secret[1]);
    r.write(
        "hospital_a/ed_visits_202605.csv",
        format!("{head}\r\n{}\r\n", rows.join("\r\n")),
    );
    // A survey platform that sends a card number as a response id.
    let survey_key = "sondage/survey_2025Q4.csv";
    let survey = r.read(survey_key);
    let responses = r.loaded_lines(survey_key, "survey_response").await;
    let mut late = vec![header(&survey)];
    for (i, line) in responses.iter().enumerate().take(20) {
        let (_, rest) = line.split_once(',').expect("cells");
        let id = if i == 0 {
            secret[2].clone()
        } else {
            format!("R8{i:05}")
        };
        late.push(format!("{id},{rest}"));
    }
    r.write("sondage/survey_2025Q4_late.csv", late.join("\n") + "\n");

    let report = r.ingest().await;
    let stray = file(&report, "hospital_a/ed_visits_202603.csv");
    assert_eq!(stray.status, FileStatus::Rejected, "{stray:?}");
    let message = stray.message.clone().unwrap_or_default();
    assert!(message.starts_with("line 2:"), "{message}");
    let dx = file(&report, "hospital_a/ed_visits_202605.csv");
    assert_eq!(
        (dx.status, dx.rows_rejected),
        (FileStatus::Loaded, 1),
        "{dx:?}"
    );
    let q = r.quarantined("hospital_a/ed_visits_202605.csv").await;
    assert!(
        q[0].1
            .starts_with("identifier in a column that is not an identifier"),
        "{q:?}"
    );
    let survey = file(&report, "sondage/survey_2025Q4_late.csv");
    assert_eq!(
        (survey.status, survey.rows_accepted, survey.rows_rejected),
        (FileStatus::Loaded, 19, 1),
        "{survey:?}"
    );
    let q = r.quarantined("sondage/survey_2025Q4_late.csv").await;
    assert!(
        q[0].1
            .starts_with("identifier in a column that is not an identifier"),
        "{q:?}"
    );
    assert_eq!(stored_anywhere(&r.wh, &secret).await, Vec::<String>::new());
    // The registry's own numbers are never stored raw either.
    let registry: Vec<String> = ten_digit_tokens(&r.read("registre/population.csv"));
    assert!(registry.len() as u64 >= PERSONS - 20);
    assert_eq!(
        stored_anywhere(&r.wh, &registry).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_records_are_quarantined_within_a_file_and_across_files() {
    let r = region(53).await;
    let (head, mut rows) = r.hospital_month("2026-08").await;
    rows.push(rows[0].clone());
    let n = rows.len() as u64;
    r.write(
        "hospital_a/ed_visits_202608.csv",
        format!("{head}\r\n{}\r\n", rows.join("\r\n")),
    );
    // The survey platform re-sends two responses of the fourth quarter among new ones.
    let survey_key = "sondage/survey_2025Q4.csv";
    let survey = r.read(survey_key);
    let responses = r.loaded_lines(survey_key, "survey_response").await;
    let first_line = survey
        .lines()
        .position(|l| l.trim_end_matches('\r') == responses[0])
        .expect("line")
        + 1;
    let mut late = vec![header(&survey), responses[0].clone(), responses[1].clone()];
    for (i, line) in responses.iter().enumerate().skip(2) {
        let (_, rest) = line.split_once(',').expect("cells");
        late.push(format!("R9{i:05},{rest}"));
    }
    let read = late.len() as u64 - 1;
    r.write("sondage/survey_2025Q4_late.csv", late.join("\n") + "\n");
    let report = r.ingest().await;
    let f = file(&report, "hospital_a/ed_visits_202608.csv");
    assert_eq!(
        (f.rows_read, f.rows_accepted, f.rows_rejected),
        (n, n - 1, 1)
    );
    assert_eq!(
        r.quarantined("hospital_a/ed_visits_202608.csv").await,
        vec![(
            n as i64 + 1,
            "duplicate: the same record as line 2 of this file".to_string()
        )]
    );
    let late = file(&report, "sondage/survey_2025Q4_late.csv");
    assert_eq!(
        (late.rows_read, late.rows_accepted, late.rows_rejected),
        (read, read - 2, 2),
        "{late:?}"
    );
    let q = r.quarantined("sondage/survey_2025Q4_late.csv").await;
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(
        q[0],
        (
            2,
            format!(
                "duplicate: the same record is already loaded from {survey_key} line {first_line}"
            )
        )
    );
    // Each response is counted once.
    assert_eq!(
        r.count("SELECT count(*) FROM (SELECT response_id FROM survey_response GROUP BY response_id, item_code HAVING count(*) > 1)").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_of_the_environment_or_of_the_parser_postpones_the_file() {
    let r = region(59).await;
    for month in ["2026-05", "2026-07"] {
        let (head, rows) = r.hospital_month(month).await;
        r.write(
            &format!("hospital_a/ed_visits_{}.csv", month.replace('-', "")),
            format!("{head}\r\n{}\r\n", rows.join("\r\n")),
        );
    }
    let report = r
        .ingest_with(|o| {
            o.spill_rows = 1;
            o.unwritable_staging_for = Some("hospital_a/ed_visits_202605.csv".into());
            o.panic_in_parser_of = Some("hospital_a/ed_visits_202607.csv".into());
        })
        .await;
    assert!(report.files.is_empty(), "{report:?}");
    let postponed: Vec<&str> = report.postponed.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        postponed,
        vec![
            "hospital_a/ed_visits_202605.csv",
            "hospital_a/ed_visits_202607.csv"
        ]
    );
    assert!(
        report.postponed[0].1.contains("staging"),
        "{:?}",
        report.postponed
    );
    assert!(
        report.postponed[1].1.contains("parser crashed"),
        "{:?}",
        report.postponed
    );
    let wh = Warehouse::open(&r.wh_arg()).expect("warehouse");
    let manifest = wh.manifest(None).await.expect("manifest");
    assert!(
        !manifest.iter().any(|e| e.file.contains("2026")),
        "nothing recorded"
    );
    // The next run, with the disk and the parser fine again, loads both.
    let report = r.ingest().await;
    for key in [
        "hospital_a/ed_visits_202605.csv",
        "hospital_a/ed_visits_202607.csv",
    ] {
        assert_eq!(file(&report, key).status, FileStatus::Loaded);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_still_arriving_wait_for_their_settle_time_or_marker() {
    let r = region(61).await;
    // A copy of the demo pipeline whose registry waits for a marker and whose hospital
    // files wait an hour after their last change.
    let dir = tempfile::tempdir().expect("tmp");
    let path = demo_copy(dir.path(), "", |name, text| match name {
        "hospital-a-ed.yaml" => text.replace("settle_seconds: 0", "settle_seconds: 3600"),
        "registre-population.yaml" => text.replace(
            "settle_seconds: 0",
            "settle_seconds: 0\nready_marker: \".done\"",
        ),
        _ => text,
    });
    let pipeline = vigie_model::config::load_pipeline(&path).expect("valid");
    let run = || async {
        let mut options = IngestOptions::for_pipeline(&pipeline, &NoProgress);
        options.landing = r.landing_arg();
        options.warehouse = r.wh_arg();
        ingest(&pipeline, &options).await.expect("ingest")
    };
    let original = r.read("hospital_a/ed_visits_202303.csv");
    // Half a file: the transfer is still writing it.
    let half = original.lines().take(3).collect::<Vec<_>>().join("\r\n");
    r.write(
        "hospital_a/ed_visits_202607.csv",
        half.replace("2023-03-", "2026-07-"),
    );
    let _ = Path::new(".");
    let registry = r.read("registre/population.csv");
    r.write("registre/population_2.csv", &registry);
    let report = run().await;
    assert!(report.files.is_empty(), "{report:?}");
    let mut waiting = report.waiting.clone();
    waiting.sort();
    assert_eq!(
        waiting,
        vec![
            "hospital_a/ed_visits_202607.csv",
            "registre/population_2.csv"
        ]
    );
    // The marker arrives: the registry loads (same content: skipped), the marker is not data.
    r.write("registre/population_2.csv.done", "");
    let report = run().await;
    assert!(
        report
            .skipped
            .contains(&"registre/population_2.csv".to_string())
    );
    assert!(report.files.is_empty(), "{:?}", report.files);
    assert!(report.unclaimed.is_empty(), "{:?}", report.unclaimed);
    assert_eq!(
        report.waiting,
        vec!["hospital_a/ed_visits_202607.csv".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_ingesting_at_once_load_every_file_exactly_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let summary = synth(&landing, PERSONS, 67);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["ingest", "pipelines/demo.yaml", "--landing"])
            .arg(&landing)
            .arg("--warehouse")
            .arg(&wh)
            .current_dir(repo())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn vigie")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let manifest = Warehouse::open(&wh.display().to_string())
        .expect("warehouse")
        .manifest(None)
        .await
        .expect("manifest");
    assert_eq!(
        manifest.len(),
        // The partner files, and the area reference file `vigie synth` writes beside them.
        summary.files.len() + 1,
        "each file once in the manifest"
    );
    let accepted = |prefix: &str| -> i64 {
        manifest
            .iter()
            .filter(|e| e.file.starts_with(prefix))
            .map(|e| e.rows_accepted as i64)
            .sum()
    };
    assert_eq!(
        count(&wh, "SELECT count(*) FROM person").await,
        accepted("registre/")
    );
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM ed_visit WHERE _source = 'hospital_a_ed'"
        )
        .await,
        accepted("hospital_a/"),
        "no visit twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bytes_are_rejected_whole_and_change_nothing() {
    let r = region(71).await;
    let before = table_counts(&r.wh).await;
    let (head, rows) = r.hospital_month("2026-10").await;
    let text = format!("{head}\r\n{}\r\n", rows.join("\r\n"));
    // The same extract, gzipped (magic bytes and a deflate stream)...
    let mut gz = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03];
    gz.extend_from_slice(text.as_bytes());
    r.write("hospital_a/ed_visits_202601_gz.csv", gz);
    // ...exported as UTF-16 by a spreadsheet...
    let mut utf16 = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    r.write("hospital_a/ed_visits_202603_utf16.csv", utf16);
    // ...zero-padded by a broken transfer, and two exports glued together.
    let mut padded = text.clone().into_bytes();
    padded.extend_from_slice(&[0u8; 64]);
    r.write("hospital_a/ed_visits_202605_padded.csv", padded);
    let glued = format!("{text}\u{feff}{text}");
    r.write("hospital_a/ed_visits_202607_glued.csv", glued);
    let report = r.ingest().await;
    for (key, says) in [
        ("hospital_a/ed_visits_202601_gz.csv", "compressed"),
        ("hospital_a/ed_visits_202603_utf16.csv", "UTF-16"),
        ("hospital_a/ed_visits_202605_padded.csv", "NUL"),
        ("hospital_a/ed_visits_202607_glued.csv", "byte-order mark"),
    ] {
        let f = file(&report, key);
        assert_eq!(f.status, FileStatus::Rejected, "{f:?}");
        assert!(f.message.as_deref().unwrap_or("").contains(says), "{f:?}");
    }
    let mut after = table_counts(&r.wh).await;
    let before_quarantine = before["quarantine"];
    assert_eq!(
        after.remove("quarantine").unwrap_or(0),
        before_quarantine + 4,
        "one row per rejected file"
    );
    let mut before = before;
    before.remove("quarantine");
    assert_eq!(after, before, "no data changed");

    // Read again unchanged (`--retry-rejected`): rejected again, one quarantine row each
    // still, and the data-quality share counts each content once.
    let rejected_rows = report.rejected().map(|f| f.rows_read).sum::<u64>() as i64;
    for _ in 0..2 {
        let again = r.ingest_with(|o| o.retry_rejected = true).await;
        assert_eq!(again.rejected().count(), 4, "{:?}", again.files);
    }
    let counts = table_counts(&r.wh).await;
    assert_eq!(
        counts["quarantine"],
        before_quarantine + 4,
        "replaced, not added"
    );
    // A plain run skips them, and says they were rejected, not loaded.
    let plain = r.ingest().await;
    let mut skipped = plain.skipped_rejected.clone();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "hospital_a/ed_visits_202601_gz.csv",
            "hospital_a/ed_visits_202603_utf16.csv",
            "hospital_a/ed_visits_202605_padded.csv",
            "hospital_a/ed_visits_202607_glued.csv",
        ]
    );
    assert!(plain.skipped.iter().all(|f| !skipped.contains(f)));
    let loaded_rows = r.count(
        "SELECT sum(rows_read) FROM load_manifest WHERE source = 'hospital_a_ed' AND status = 'loaded'",
    )
    .await;
    let loaded_rejected = r.count(
        "SELECT sum(rows_rejected) FROM load_manifest WHERE source = 'hospital_a_ed' AND status = 'loaded'",
    )
    .await;
    crate::indicators::compute(&r.wh, &["dq_rows_rejected_pct"]).await;
    let share = r.count(
        "SELECT CAST(numerator AS BIGINT) * 1000000 + CAST(denominator AS BIGINT) FROM indicator_results \
         WHERE indicator = 'dq_rows_rejected_pct' AND org_level = 'region' \
         AND stratum_value = 'hospital_a_ed'",
    )
    .await;
    assert_eq!(
        share,
        (loaded_rejected + rejected_rows) * 1_000_000 + loaded_rows + rejected_rows,
        "each rejected content once, not once per retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_wait_is_refused_with_exit_code_6_naming_the_holder() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 200, 73);
    // A copy of the demo pipeline that does not wait for the writer lock.
    let pipeline = demo_copy(
        &dir.path().join("pipelines"),
        "writer_wait_seconds: 0\n",
        |_, t| t,
    );
    // Another process (here, this test) is writing the warehouse.
    let warehouse = Warehouse::open(&wh.display().to_string()).expect("warehouse");
    let lock = warehouse
        .lock_writer("compute", std::time::Duration::ZERO)
        .await
        .expect("lock");
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["ingest"])
        .arg(&pipeline)
        .arg("--landing")
        .arg(&landing)
        .arg("--warehouse")
        .arg(&wh)
        .output()
        .expect("run vigie");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("compute") && text.contains(&std::process::id().to_string()),
        "{text}"
    );
    lock.release().await.expect("release");
    let manifest = warehouse.manifest(None).await.expect("manifest");
    assert!(manifest.is_empty(), "the refused process wrote nothing");
}
