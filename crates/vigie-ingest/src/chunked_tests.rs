//! A file read in parts gives exactly what it gives read whole: the same counts, the same
//! quarantine rows at the same lines (placed by hand in several parts), the same rows.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use bytes::Bytes;
use vigie_model::config::{FileFormat, SourceSpec};
use vigie_model::{Entity, KeySource, PersonNumbers, PseudonymKey};

use crate::scan::{RangeSource, Scanner};
use crate::{EntityData, FileContext, FileFailure, FileOutcome, ingest_file, ingest_scanned};

const SPEC: &str = r#"
source: hospital_a_ed
partner: Hospital A
files: "hospital_a/ed_visits_*.csv"
format: { type: csv, delimiter: ",", quote: "\"", encoding: utf-8 }
load: { mode: replace, period: month }
entity: ed_visit
fields:
  person_key: { from: HCN, check: luhn }
  arrival: { from: [ARRIVAL_DATE, ARRIVAL_TIME], format: "%Y-%m-%d", time_format: "%H%M" }
  facility: { from: FACILITY_ID }
  triage: { from: TRIAGE_LEVEL, range: [1, 5] }
  disposition: { from: DISPOSITION_CODE, map: { "01": home, "06": admitted } }
  diagnosis: { from: MAIN_PROBLEM_DX }
"#;

const ROWS: u64 = 2_000;

/// A Luhn-valid 10-digit card number for person `i`.
fn hcn(i: u64) -> String {
    let body = format!("{:09}", 100_000_000 + i);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|n| crate::luhn::luhn_valid(n))
        .expect("one check digit fits")
}

/// Data line `line` (the header is line 1), with the faults placed by hand.
fn record(line: u64) -> String {
    // Duplicates repeat an earlier line exactly: 40 of 35 (same part), 1200 of 30 (an
    // earlier part), 1800 of 1700 (a later part, both in it).
    let source = match line {
        40 => 35,
        1200 => 30,
        1800 => 1700,
        other => other,
    };
    let person = source % 300;
    let day = 1 + source % 28;
    let minute = source % 60;
    let triage = if line == 50 { 9 } else { 1 + source % 5 };
    let date = if line == 700 {
        "2024-02-30".to_string()
    } else {
        format!("2024-01-{day:02}")
    };
    let disposition = if line == 1500 { "99" } else { "01" };
    let card = if line == 1900 {
        "1234567890".to_string()
    } else {
        hcn(person)
    };
    format!(
        "{card},{date},08{minute:02},F{},{triage},{disposition},J{source}\n",
        source % 3
    )
}

/// Every line rejected, with the start of its reason.
fn expected_rejections() -> Vec<(u64, &'static str)> {
    vec![
        (40, "duplicate: the same record as line 35 of this file"),
        (50, "out of range 1..5"),
        (700, "not a valid date"),
        (1200, "duplicate: the same record as line 30 of this file"),
        (1500, "value not in the code list"),
        (1800, "duplicate: the same record as line 1700 of this file"),
        (1900, "check digit"),
    ]
}

fn extract(tweak: impl Fn(u64, String) -> String) -> Vec<u8> {
    let mut text = String::from(
        "HCN,ARRIVAL_DATE,ARRIVAL_TIME,FACILITY_ID,TRIAGE_LEVEL,DISPOSITION_CODE,MAIN_PROBLEM_DX\n",
    );
    for line in 2..ROWS + 2 {
        text.push_str(&tweak(line, record(line)));
    }
    text.into_bytes()
}

/// `read` with a context for `spec`'s file, read in parts of `part_bytes` (0: whole).
fn with_context<T>(
    spec: &SourceSpec,
    part_bytes: usize,
    staging: &std::path::Path,
    read: impl FnOnce(&FileContext<'_>) -> T,
) -> T {
    let key = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let numbers = PersonNumbers::new();
    let detector = vigie_model::IdentifierDetector::new(&spec.identifier_schemes());
    let ctx = FileContext {
        file: "hospital_a/ed_visits_202401.csv",
        load_id: "load",
        key: &key,
        numbers: &numbers,
        batch_rows: 64,
        staging: Some(staging),
        // Small, so that parts spill to staging files too.
        spill_rows: 100,
        part_bytes,
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: &detector,
    };
    read(&ctx)
}

fn run(
    spec: &SourceSpec,
    data: &[u8],
    part_bytes: usize,
    staging: &std::path::Path,
) -> Result<FileOutcome, FileFailure> {
    with_context(spec, part_bytes, staging, |ctx| {
        ingest_file(spec, ctx, Bytes::copy_from_slice(data))
    })
}

/// `scanned` streamed in blocks of `block` bytes, then read by ranges from `source` (the
/// same bytes, or the file as it became after the scan).
fn run_scanned(
    spec: &SourceSpec,
    scanned: &[u8],
    source: &dyn RangeSource,
    part_bytes: usize,
    block: usize,
    staging: &std::path::Path,
) -> Result<FileOutcome, FileFailure> {
    let mut scanner = Scanner::new(scanned.len() as u64, part_bytes).with_hash();
    for chunk in scanned.chunks(block) {
        scanner.feed(chunk);
    }
    let scan = scanner.finish().expect("the whole file fed");
    with_context(spec, part_bytes, staging, |ctx| {
        ingest_scanned(spec, ctx, &scan, source)
    })
}

/// Every accepted row, as text per column, in line order; and key -> number.
fn rows(outcome: FileOutcome) -> (Vec<Vec<String>>, HashMap<String, String>) {
    let mut batches: Vec<RecordBatch> = Vec::new();
    for (_, data) in outcome.entities {
        match data.finish().expect("finish") {
            EntityData::Batches(b) => batches.extend(b),
            EntityData::Staged(paths) => {
                for path in paths {
                    let file = std::fs::File::open(&path).expect("staged file");
                    let reader =
                        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                            file,
                        )
                        .expect("parquet")
                        .build()
                        .expect("reader");
                    batches.extend(reader.map(|b| b.expect("batch")));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut numbers = HashMap::new();
    for b in &batches {
        let schema = b.schema();
        let text: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Utf8).expect("text"))
            .collect();
        for i in 0..b.num_rows() {
            let cell = |c: usize| {
                let col = text[c].as_string::<i32>();
                if col.is_valid(i) {
                    col.value(i).to_string()
                } else {
                    String::new()
                }
            };
            let mut row = Vec::new();
            for (c, field) in schema.fields().iter().enumerate() {
                if field.name() == vigie_model::PERSON_NUMBER {
                    let key = cell(schema.index_of("person_key").expect("key"));
                    let previous = numbers.insert(key, cell(c));
                    assert!(previous.is_none_or(|p| p == cell(c)), "one number per key");
                } else {
                    row.push(cell(c));
                }
            }
            out.push(row);
        }
    }
    let line_at = batches
        .first()
        .map(|b| b.schema().index_of("_line").expect("_line"))
        .unwrap_or(0);
    // person_number is left out of `row`, which shifts the columns after it by one.
    let line_at = line_at - 1;
    out.sort_by_key(|r| r[line_at].parse::<u64>().expect("line"));
    (out, numbers)
}

fn quarantine(outcome: &FileOutcome) -> Vec<(u64, String)> {
    let mut q: Vec<(u64, String)> = outcome
        .quarantine
        .iter()
        .map(|r| (r.line, r.reason.clone()))
        .collect();
    q.extend(staged_quarantine(outcome));
    q.sort();
    q
}

/// The quarantine rows of `outcome`'s staged files, in file order.
fn staged_quarantine(outcome: &FileOutcome) -> Vec<(u64, String)> {
    let mut q = Vec::new();
    for path in &outcome.quarantine_staged {
        let file = std::fs::File::open(path).expect("staged quarantine");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        for b in reader {
            let b = b.expect("batch");
            let lines = b.column(2).as_primitive::<Int64Type>();
            let reasons = b.column(5).as_string::<i32>();
            for i in 0..b.num_rows() {
                q.push((lines.value(i) as u64, reasons.value(i).to_string()));
            }
        }
    }
    q
}

#[test]
fn a_file_read_in_parts_gives_what_it_gives_read_whole() {
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    let data = extract(|_, r| r);
    let staging = tempfile::tempdir().expect("staging");
    let part_bytes = data.len() / 7;
    let FileFormat::Csv(dialect) = &spec.format else {
        panic!("a CSV spec")
    };
    let numbers = PersonNumbers::new();
    let key = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let detector = vigie_model::IdentifierDetector::new(&spec.identifier_schemes());
    let probe = FileContext {
        file: "f",
        load_id: "l",
        key: &key,
        numbers: &numbers,
        batch_rows: 64,
        staging: Some(staging.path()),
        spill_rows: 100,
        part_bytes,
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: &detector,
    };
    let scan = crate::scan::scan_bytes(&data, part_bytes);
    let plan =
        crate::chunked::plan(&spec, dialect, &probe, &scan).expect("a file this size is split");
    assert!(plan.parts.len() >= 5, "{} parts", plan.parts.len());
    // The faults fall in several parts.
    let part_of = |line: u64| {
        plan.parts
            .iter()
            .rposition(|p| p.first_line <= line)
            .expect("a part")
    };
    let faulty: std::collections::BTreeSet<usize> = expected_rejections()
        .iter()
        .map(|(l, _)| part_of(*l))
        .collect();
    assert!(faulty.len() >= 4, "faults in parts {faulty:?}");

    let whole = run(&spec, &data, 0, staging.path()).expect("read whole");
    let parts = run(&spec, &data, part_bytes, staging.path()).expect("read in parts");
    for outcome in [&whole, &parts] {
        assert_eq!(
            (
                outcome.rows_read,
                outcome.rows_accepted,
                outcome.rows_rejected
            ),
            (ROWS, ROWS - 7, 7)
        );
        let q = quarantine(outcome);
        let lines: Vec<u64> = q.iter().map(|(l, _)| *l).collect();
        let expected = expected_rejections();
        assert_eq!(
            lines,
            expected.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            "{q:?}"
        );
        for ((_, reason), (line, start)) in q.iter().zip(&expected) {
            assert!(reason.contains(start), "line {line}: {reason} ({q:?})");
        }
    }
    assert_eq!(whole.rejections_by_reason, parts.rejections_by_reason);
    let months = |o: &FileOutcome| -> BTreeMap<String, u64> {
        o.entities[&Entity::EdVisit].month_rows.clone()
    };
    assert_eq!(months(&whole), months(&parts));
    assert_eq!(months(&parts)["2024-01"], ROWS - 7);
    let (whole_rows, whole_numbers) = rows(whole);
    let (part_rows, part_numbers) = rows(parts);
    assert_eq!(whole_rows.len() as u64, ROWS - 7);
    // Each accepted row carries its own record's line, across the runs its persons were
    // numbered in (every accepted record's diagnosis names its line: only the duplicates,
    // rejected, repeat another's).
    let schema = Entity::EdVisit.schema();
    let at = |name: &str| schema.index_of(name).expect("column");
    // person_number is left out of a row, which shifts the columns after it by one.
    let (diagnosis_at, line_at) = (at("diagnosis"), at("_line") - 1);
    for row in &whole_rows {
        assert_eq!(row[diagnosis_at], format!("J{}", row[line_at]), "{row:?}");
    }
    assert_eq!(whole_rows, part_rows, "the same rows, value for value");
    assert_eq!(whole_numbers.len(), 300, "one number per person");
    assert_eq!(part_numbers.len(), 300);
}

#[test]
fn a_record_three_times_in_two_parts_is_rejected_twice_as_repeating_its_first_line() {
    // Line 30's record comes back at 1200 (as in every extract here) and again at 1210, in
    // the same later part: that part rejects 1210 as repeating 1200 before the joining finds
    // 1200 repeating 30. Read whole, both name line 30, the copy kept. The 161 bad dates
    // after it push 1210's rejection to the part's staged quarantine file, which must be
    // rewritten too.
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    let data = extract(|line, r| match line {
        1210 => record(30),
        1220..=1380 => r.replace("2024-01-", "2024-13-"),
        _ => r,
    });
    let staging = tempfile::tempdir().expect("staging");
    let part_bytes = data.len() / 4;
    let scan = crate::scan::scan_bytes(&data, part_bytes);
    let firsts: Vec<u64> = scan.parts.iter().map(|p| p.first_line).collect();
    let part_of = |line: u64| firsts.partition_point(|&f| f <= line) - 1;
    assert_ne!(part_of(30), part_of(1200), "parts starting at {firsts:?}");
    assert_eq!(part_of(1200), part_of(1380), "parts starting at {firsts:?}");

    let whole = run(&spec, &data, 0, staging.path()).expect("read whole");
    let parts = run(&spec, &data, part_bytes, staging.path()).expect("read in parts");
    assert!(
        staged_quarantine(&parts).iter().any(|(l, _)| *l == 1210),
        "1210's rejection is in a staged file"
    );
    let ours = |o: &FileOutcome| -> Vec<(u64, String)> {
        quarantine(o)
            .into_iter()
            .filter(|(l, _)| [1200, 1210].contains(l))
            .collect()
    };
    let expected = vec![
        (
            1200,
            "duplicate: the same record as line 30 of this file".to_string(),
        ),
        (
            1210,
            "duplicate: the same record as line 30 of this file".to_string(),
        ),
    ];
    assert_eq!(ours(&whole), expected);
    assert_eq!(ours(&parts), expected);
    assert_eq!(quarantine(&whole), quarantine(&parts));
    for o in [&whole, &parts] {
        assert_eq!(
            (o.rows_read, o.rows_accepted, o.rows_rejected),
            (ROWS, ROWS - 8 - 161, 8 + 161)
        );
    }
    assert_eq!(whole.rejections_by_reason, parts.rejections_by_reason);
}

#[test]
fn a_broken_record_rejects_the_file_at_the_earliest_line_whichever_part_holds_it() {
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    // A record with a field too many at line 900, a stray quote swallowing the rest of its
    // line at line 1600: read whole, the reader stops at line 900.
    let data = extract(|line, r| match line {
        900 => r.replacen(',', ",,", 1),
        1600 => r.replacen(",J", ",\"J", 1),
        _ => r,
    });
    let staging = tempfile::tempdir().expect("staging");
    // Rows counted as read and rejected: the lenient count of a file rejected whole, in
    // which the stray quote opens a field that runs to the end (1598 records, and that one).
    for part_bytes in [0, data.len() / 7] {
        match run(&spec, &data, part_bytes, staging.path()) {
            Err(FileFailure::Rejected(rejection, rows_read)) => {
                assert_eq!(rejection.line, 900, "part size {part_bytes}");
                assert!(
                    rejection.message.contains("fields"),
                    "{}",
                    rejection.message
                );
                assert_eq!(rows_read, 1_599, "part size {part_bytes}");
            }
            Err(FileFailure::Environment(e)) => panic!("environment: {e}"),
            Ok(_) => panic!("part size {part_bytes}: the broken file was accepted"),
        }
    }
    // Only the stray quote: rejected at its line in both readings.
    let data = extract(|line, r| {
        if line == 1600 {
            r.replacen(",J", ",\"J", 1)
        } else {
            r
        }
    });
    for part_bytes in [0, data.len() / 7] {
        match run(&spec, &data, part_bytes, staging.path()) {
            Err(FileFailure::Rejected(rejection, _)) => assert_eq!(rejection.line, 1600),
            _ => panic!("part size {part_bytes}: the stray quote was not refused"),
        }
    }
}

/// The counts, the quarantine and the rows of a file read whole, to compare readings with.
type Reading = ((u64, u64, u64), Vec<(u64, String)>, Vec<Vec<String>>);

fn reading(outcome: FileOutcome) -> Reading {
    let counts = (
        outcome.rows_read,
        outcome.rows_accepted,
        outcome.rows_rejected,
    );
    let q = quarantine(&outcome);
    (counts, q, rows(outcome).0)
}

#[test]
fn a_file_streamed_then_read_by_ranges_in_many_parts_gives_what_it_gives_read_whole() {
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    let data = extract(|_, r| r);
    let staging = tempfile::tempdir().expect("staging");
    let whole = reading(run(&spec, &data, 0, staging.path()).expect("read whole"));
    assert_eq!(whole.0, (ROWS, ROWS - 7, 7));
    let source = Bytes::copy_from_slice(&data);
    // A hundredth of the file a part: more parts than a file of ordinary size has, each at
    // most four part sizes (see `scan`).
    let part_bytes = data.len() / 100;
    let mut scanner = Scanner::new(data.len() as u64, part_bytes);
    scanner.feed(&data);
    let parts = scanner.finish().expect("scan").parts.len();
    assert!(parts >= 25, "{parts} parts");
    for block in [1, 4_097, data.len()] {
        let parts = run_scanned(&spec, &data, &source, part_bytes, block, staging.path())
            .expect("read in parts");
        assert_eq!(reading(parts), whole, "blocks of {block} bytes");
    }
    // A Windows export, with a byte-order mark and CRLF line ends (parts then start after
    // the `\n` of a `\r\n`): the same reading in parts as whole.
    let mut windows = b"\xEF\xBB\xBF".to_vec();
    for byte in &data {
        if *byte == b'\n' {
            windows.push(b'\r');
        }
        windows.push(*byte);
    }
    let whole = reading(run(&spec, &windows, 0, staging.path()).expect("read whole"));
    assert_eq!(whole.0, (ROWS, ROWS - 7, 7));
    let source = Bytes::copy_from_slice(&windows);
    let parts = run_scanned(&spec, &windows, &source, part_bytes, 4_097, staging.path())
        .expect("read in parts");
    assert_eq!(reading(parts), whole, "BOM and CRLF");
}

/// A landing zone whose reads fail.
struct Unreachable;

impl RangeSource for Unreachable {
    fn read_range(&self, _: std::ops::Range<u64>) -> Result<Bytes, String> {
        Err("hospital_a/ed_visits_202401.csv: connection reset".into())
    }
}

#[test]
fn a_file_that_changes_or_cannot_be_read_after_its_scan_stays_pending() {
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    let data = extract(|_, r| r);
    let staging = tempfile::tempdir().expect("staging");
    let part_bytes = data.len() / 7;
    // Rewritten after the scan: one byte of a middle part, the same length.
    let mut rewritten = data.clone();
    let at = data.len() / 2;
    rewritten[at] = if data[at] == b'1' { b'2' } else { b'1' };
    // Cut short after the scan (a partner's transfer restarted over it).
    let half = Bytes::copy_from_slice(&data[..data.len() / 2]);
    let cases: [(&str, &[u8], &dyn RangeSource, &str); 3] = [
        (
            "rewritten",
            &data,
            &Bytes::from(rewritten),
            "changed while it was read",
        ),
        ("cut short", &data, &half, "changed while it was read"),
        ("unreachable", &data, &Unreachable, "connection reset"),
    ];
    for (name, scanned, source, says) in cases {
        match run_scanned(&spec, scanned, source, part_bytes, 65_536, staging.path()) {
            Err(FileFailure::Environment(message)) => {
                assert!(message.contains(says), "{name}: {message}");
            }
            Err(FileFailure::Rejected(r, _)) => panic!("{name}: rejected: {}", r.message),
            Ok(_) => panic!("{name}: loaded bytes other than those scanned"),
        }
    }
}

#[test]
fn a_streamed_file_rejected_whole_is_rejected_and_counted_as_read_whole() {
    let spec: SourceSpec = serde_yaml::from_str(SPEC).expect("spec");
    let staging = tempfile::tempdir().expect("staging");
    // A field too many at line 900, a stray quote at line 1600 (see the test above); and a
    // NUL byte at line 1000, which the scan sees (the file is then read whole).
    let broken = extract(|line, r| match line {
        900 => r.replacen(',', ",,", 1),
        1600 => r.replacen(",J", ",\"J", 1),
        _ => r,
    });
    let nul = extract(|line, r| {
        if line == 1000 {
            r.replacen('F', "\0", 1)
        } else {
            r
        }
    });
    for data in [broken, nul] {
        let expected = match run(&spec, &data, 0, staging.path()) {
            Err(FileFailure::Rejected(r, n)) => (r.line, r.message, n),
            _ => panic!("the broken file read whole was not rejected"),
        };
        let source = Bytes::copy_from_slice(&data);
        for part_bytes in [data.len() / 7, data.len() / 60] {
            match run_scanned(&spec, &data, &source, part_bytes, 10_000, staging.path()) {
                Err(FileFailure::Rejected(r, n)) => {
                    assert_eq!((r.line, r.message, n), expected, "parts of {part_bytes}");
                }
                _ => panic!("parts of {part_bytes}: the broken file was not rejected"),
            }
        }
    }
}
