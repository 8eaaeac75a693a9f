//! Fixture tests: small hand-written extracts through `ingest_file`, checking counts, every
//! value of the Arrow batches, event months, quarantine rows and whole-file rejections.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int32Type, Int64Type, Schema,
    TimestampMicrosecondType,
};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use proptest::prelude::*;
use vigie_model::config::SourceSpec;
use vigie_model::{Entity, KeySource, PseudonymKey};

use crate::luhn::luhn_valid;
use crate::{FileContext, FileFailure, FileOutcome, FileRejection, QuarantineRow, ingest_file};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const FILE: &str = "landing/partner/extract.csv";
const LOAD_ID: &str = "load-0001";

/// Luhn-valid 10-digit identifiers (checked in `fixture_identifiers_pass_luhn`).
const HCN_A: &str = "1234567897";
const HCN_B: &str = "9876543217";
const HCN_C: &str = "1111111116";
/// Luhn-invalid (the check digit of 123456789 is 7).
const HCN_BAD: &str = "1234567890";

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn key() -> PseudonymKey {
    PseudonymKey::load(&KeySource::Demo).expect("the demo key loads")
}

fn pk(raw: &str) -> String {
    key().pseudonymise(raw)
}

fn spec(yaml: &str) -> SourceSpec {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("fixture spec does not parse: {e}"))
}

/// The same source, declaring that quoted fields may hold line breaks.
fn multiline(yaml: &str) -> String {
    let with = yaml.replacen("encoding: utf-8 }", "encoding: utf-8, multiline: true }", 1);
    assert_ne!(
        with, yaml,
        "the spec's format has no `encoding: utf-8 }}` to extend"
    );
    with
}

fn run_with(
    spec: &SourceSpec,
    data: &[u8],
    batch_rows: usize,
) -> Result<FileOutcome, (FileRejection, u64)> {
    let key = key();
    let detector = vigie_model::IdentifierDetector::new(&spec.identifier_schemes());
    let ctx = FileContext {
        file: FILE,
        load_id: LOAD_ID,
        key: &key,
        numbers: &vigie_model::PersonNumbers::new(),
        batch_rows,
        staging: None,
        spill_rows: usize::MAX,
        part_bytes: 0,
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: &detector,
    };
    match ingest_file(spec, &ctx, Bytes::copy_from_slice(data)) {
        Ok(o) => Ok(o),
        Err(FileFailure::Rejected(e, n)) => Err((e, n)),
        Err(FileFailure::Environment(e)) => panic!("environmental failure: {e}"),
    }
}

fn ingest(spec: &SourceSpec, data: &[u8]) -> FileOutcome {
    match run_with(spec, data, 1000) {
        Ok(o) => o,
        Err((e, n)) => panic!("file rejected whole after {n} rows: {e}"),
    }
}

fn reject(spec: &SourceSpec, data: &[u8]) -> (FileRejection, u64) {
    match run_with(spec, data, 1000) {
        Ok(o) => panic!(
            "file accepted (read {}, accepted {}, rejected {}) but a whole-file rejection was expected",
            o.rows_read, o.rows_accepted, o.rows_rejected
        ),
        Err(e) => e,
    }
}

fn counts(o: &FileOutcome) -> (u64, u64, u64) {
    (o.rows_read, o.rows_accepted, o.rows_rejected)
}

fn batches(o: &FileOutcome, entity: Entity) -> &[RecordBatch] {
    o.entities
        .get(&entity)
        .map(|b| b.batches.as_slice())
        .unwrap_or_else(|| panic!("no batches for {entity}"))
}

fn column(o: &FileOutcome, entity: Entity, name: &str) -> Vec<ArrayRef> {
    batches(o, entity)
        .iter()
        .map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("{entity} has no column {name}"))
                .clone()
        })
        .collect()
}

fn strs(o: &FileOutcome, entity: Entity, name: &str) -> Vec<Option<String>> {
    column(o, entity, name)
        .iter()
        .flat_map(|a| {
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ints(o: &FileOutcome, entity: Entity, name: &str) -> Vec<Option<i32>> {
    column(o, entity, name)
        .iter()
        .flat_map(|a| a.as_primitive::<Int32Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn floats(o: &FileOutcome, entity: Entity, name: &str) -> Vec<Option<f64>> {
    column(o, entity, name)
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn dates(o: &FileOutcome, entity: Entity, name: &str) -> Vec<Option<i32>> {
    column(o, entity, name)
        .iter()
        .flat_map(|a| a.as_primitive::<Date32Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn stamps(o: &FileOutcome, entity: Entity, name: &str) -> Vec<Option<i64>> {
    column(o, entity, name)
        .iter()
        .flat_map(|a| {
            a.as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

fn lines(o: &FileOutcome, entity: Entity) -> Vec<i64> {
    column(o, entity, "_line")
        .iter()
        .flat_map(|a| a.as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

fn months(o: &FileOutcome, entity: Entity) -> Vec<String> {
    o.entities
        .get(&entity)
        .map(|b| b.months.iter().cloned().collect())
        .unwrap_or_default()
}

/// Days since 1970-01-01.
fn day(y: i32, m: u32, d: u32) -> i32 {
    crate::convert::days(
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}")),
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn q(
    line: u64,
    column: &str,
    reason: &str,
    value: Option<&str>,
    person: Option<&str>,
) -> QuarantineRow {
    QuarantineRow {
        line,
        column: column.to_string(),
        reason: reason.to_string(),
        value: value.map(str::to_string),
        person_key: person.map(pk),
    }
}

/// Every string cell of every batch of every entity.
fn all_batch_strings(o: &FileOutcome) -> Vec<String> {
    let mut out = Vec::new();
    for eb in o.entities.values() {
        for b in &eb.batches {
            for col in b.columns() {
                if col.data_type() == &DataType::Utf8 {
                    out.extend(col.as_string::<i32>().iter().flatten().map(str::to_string));
                }
            }
        }
    }
    out
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

fn cp1252(text: &str) -> Vec<u8> {
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!had_errors, "fixture text is not encodable in Windows-1252");
    bytes.into_owned()
}

// ---------------------------------------------------------------------------------------------
// Specs (trimmed copies of pipelines/sources/*.yaml)
// ---------------------------------------------------------------------------------------------

const HOSPITAL_A: &str = r#"
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
  disposition:
    from: DISPOSITION_CODE
    map:
      "01": home
      "02": left_without_being_seen
      "03": transferred
      "06": admitted
      "10": died
  diagnosis: { from: MAIN_PROBLEM_DX }
"#;

const HOSPITAL_A_HEADER: &str =
    "HCN,ARRIVAL_DATE,ARRIVAL_TIME,FACILITY_ID,TRIAGE_LEVEL,DISPOSITION_CODE,MAIN_PROBLEM_DX";

const HOPITAL_B: &str = r#"
source: hopital_b_episodes
partner: Hôpital B
files: "hopital_b/episodes_*.csv"
format: { type: csv, delimiter: ";", encoding: windows-1252 }
load: { mode: replace, period: month }
split:
  by: TYPE_EPISODE
  cases:
    URG:
      entity: ed_visit
      fields:
        person_key: { from: NO_ASSURANCE_MALADIE, check: luhn }
        arrival: { from: [DATE_DEBUT, HEURE_DEBUT], format: "%d/%m/%Y", time_format: "%H%M" }
        facility: { from: ÉTABLISSEMENT }
        triage: { from: PRIORITÉ }
        disposition:
          from: ORIENTATION
          map:
            DOMICILE: home
            PARTI SANS ÊTRE VU: left_without_being_seen
            TRANSFERT: transferred
            HOSPITALISÉ: admitted
            DÉCÈS: died
        diagnosis: { from: DIAGNOSTIC }
    HOSP:
      entity: admission
      fields:
        person_key: { from: NO_ASSURANCE_MALADIE, check: luhn }
        admit_date: { from: DATE_DEBUT, format: "%d/%m/%Y" }
        discharge_date: { from: DATE_FIN, format: "%d/%m/%Y", required: true }
        facility: { from: ÉTABLISSEMENT }
        admit_category: { from: PRIORITÉ, map: { URGENT: urgent, ÉLECTIF: elective } }
        diagnosis: { from: DIAGNOSTIC }
        alc_days: { from: JOURS_NSA, decimal: "," }
"#;

const HOPITAL_B_HEADER: &str = "TYPE_EPISODE;NO_ASSURANCE_MALADIE;DATE_DEBUT;HEURE_DEBUT;DATE_FIN;ÉTABLISSEMENT;PRIORITÉ;ORIENTATION;DIAGNOSTIC;JOURS_NSA";

const SURVEY: &str = r#"
source: sondage_experience
partner: Plateforme de sondage
files: "sondage/survey_*.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
load: { mode: append }
null_values: ["N/A", "S.O."]
unpivot: { columns: [Q1, Q2, Q3], keep_empty: true }
entity: survey_response
fields:
  response_id: { from: response_id }
  person_key: { from: hcn, check: luhn, required: false }
  team: { from: team }
  completed_date: { from: completed, format: "%d/%m/%Y" }
  language: { from: lang }
  item_code: { from: $name }
  answer:
    from: $value
    range: [1, 4]
    map:
      Never: "1"
      Sometimes: "2"
      Usually: "3"
      Always: "4"
      Jamais: "1"
      Parfois: "2"
      Souvent: "3"
      Toujours: "4"
"#;

const SURVEY_HEADER: &str = "response_id,hcn,team,completed,lang,Q1,Q2,Q3";

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn fixture_identifiers_pass_luhn() {
    for hcn in [HCN_A, HCN_B, HCN_C] {
        assert!(luhn_valid(hcn), "{hcn} should be Luhn-valid");
    }
    assert!(!luhn_valid(HCN_BAD));
}

/// 1. UTF-8 with BOM, CRLF, comma, quoted fields holding the delimiter and doubled quotes.
#[test]
fn utf8_bom_crlf_quoted_fields() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "\u{FEFF}{HOSPITAL_A_HEADER}\r\n\
         {HCN_A},2024-03-01,0930,\"Site A, Main\",3,01,\"Chest pain, \"\"atypical\"\"\"\r\n\
         {HCN_B},2024-04-15,2359,SITE_B,1,10,\r\n\
         \"{HCN_C}\",2023-12-31,0005,\"\"\"Q\"\" wing\",5,\"06\",\"a;b|c\"\r\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (3, 3, 0));
    assert!(o.quarantine.is_empty());
    assert!(o.rejections_by_reason.is_empty());
    assert_eq!(
        o.entities.keys().copied().collect::<Vec<_>>(),
        vec![Entity::EdVisit]
    );
    let e = Entity::EdVisit;
    assert_eq!(
        strs(&o, e, "person_key"),
        vec![s(&pk(HCN_A)), s(&pk(HCN_B)), s(&pk(HCN_C))]
    );
    assert_eq!(
        stamps(&o, e, "arrival"),
        vec![
            Some(1_709_285_400_000_000),
            Some(1_713_225_540_000_000),
            Some(1_703_981_100_000_000)
        ]
    );
    assert_eq!(
        strs(&o, e, "facility"),
        vec![s("Site A, Main"), s("SITE_B"), s("\"Q\" wing")]
    );
    assert_eq!(ints(&o, e, "triage"), vec![Some(3), Some(1), Some(5)]);
    assert_eq!(
        strs(&o, e, "disposition"),
        vec![s("home"), s("died"), s("admitted")]
    );
    assert_eq!(
        strs(&o, e, "diagnosis"),
        vec![s("Chest pain, \"atypical\""), None, s("a;b|c")]
    );
    assert_eq!(lines(&o, e), vec![2, 3, 4]);
    assert_eq!(strs(&o, e, "_source"), vec![s("hospital_a_ed"); 3]);
    assert_eq!(strs(&o, e, "_file"), vec![s(FILE); 3]);
    assert_eq!(strs(&o, e, "_load_id"), vec![s(LOAD_ID); 3]);
    assert_eq!(
        strs(&o, e, "event_month"),
        vec![s("2024-03"), s("2024-04"), s("2023-12")]
    );
    assert_eq!(months(&o, e), vec!["2023-12", "2024-03", "2024-04"]);
    let eb = &o.entities[&e];
    assert_eq!(eb.rows, 3);
    assert_eq!(eb.batches[0].schema(), e.schema());
}

/// A header-only file is read (no rows), not rejected; a trailing blank line is no record.
#[test]
fn header_only_and_trailing_blank_line() {
    let sp = spec(HOSPITAL_A);
    let o = ingest(&sp, format!("{HOSPITAL_A_HEADER}\r\n").as_bytes());
    assert_eq!(counts(&o), (0, 0, 0));
    assert!(o.entities.is_empty());

    let data = format!("{HOSPITAL_A_HEADER}\n{HCN_A},2024-03-01,0930,X,3,01,\n\n");
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (1, 1, 0));
}

/// Lines are the partner's lines: after CRLF terminators, blank lines and quoted line
/// breaks alike (the csv crate's own positions lag after CRLF and blank lines), and in a
/// file whose lines end with a carriage return alone (the old Macintosh convention, where
/// every record was once on line 1).
#[test]
fn line_numbers_survive_crlf_blank_lines_and_quoted_newlines() {
    let sp = spec(&multiline(HOSPITAL_A));
    for eol in ["\n", "\r\n", "\r"] {
        let body = [
            HOSPITAL_A_HEADER.to_string(),
            format!("{HCN_A},2024-03-01,0930,F,3,01,"),
            String::new(),
            String::new(),
            format!("{HCN_A},2024-03-01,0930,F,9,01,"),
            format!("{HCN_A},2024-03-01,0930,\"two{eol}lines\",3,01,"),
            format!("{HCN_A},2024-03-01,1015,F,3,01,"),
            format!("{HCN_BAD},2024-03-01,0930,F,3,01,"),
        ];
        let data = body.join(eol) + eol;
        let o = ingest(&sp, data.as_bytes());
        assert_eq!(counts(&o), (5, 3, 2), "eol {eol:?}");
        assert_eq!(lines(&o, Entity::EdVisit), vec![2, 6, 8], "eol {eol:?}");
        assert_eq!(
            strs(&o, Entity::EdVisit, "facility"),
            vec![s("F"), Some(format!("two{eol}lines")), s("F")]
        );
        let bad: Vec<u64> = o.quarantine.iter().map(|r| r.line).collect();
        assert_eq!(bad, vec![5, 9], "eol {eol:?}");

        // A whole-file fault after blank lines names its own line.
        let data = [
            HOSPITAL_A_HEADER.to_string(),
            format!("{HCN_A},2024-03-01,0930,F,3,01,"),
            String::new(),
            format!("{HCN_A},2024-03-01"),
        ]
        .join(eol);
        let (e, read) = reject(&sp, data.as_bytes());
        // A file rejected whole counts all its records (2) as read, all rejected.
        assert_eq!((e.line, read), (4, 2), "eol {eol:?}");
    }
}

/// Small batches: rows are cut into several batches, all values kept in order.
#[test]
fn batches_are_cut_every_batch_rows() {
    let sp = spec(HOSPITAL_A);
    let mut data = format!("{HOSPITAL_A_HEADER}\n");
    for i in 0..5 {
        data.push_str(&format!("{HCN_A},2024-03-0{},0930,F{i},3,01,\n", i + 1));
    }
    let o = match run_with(&sp, data.as_bytes(), 2) {
        Ok(o) => o,
        Err((e, _)) => panic!("{e}"),
    };
    assert_eq!(counts(&o), (5, 5, 0));
    let sizes: Vec<usize> = batches(&o, Entity::EdVisit)
        .iter()
        .map(RecordBatch::num_rows)
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(
        strs(&o, Entity::EdVisit, "facility"),
        (0..5).map(|i| Some(format!("F{i}"))).collect::<Vec<_>>()
    );
    assert_eq!(lines(&o, Entity::EdVisit), vec![2, 3, 4, 5, 6]);
}

const ED_SEMICOLON: &str = r#"
source: hopital_b_urg
partner: Hôpital B
files: "hopital_b/urg_*.csv"
format: { type: csv, delimiter: ";", encoding: ENCODING }
entity: ed_visit
fields:
  person_key: { from: NO_ASSURANCE_MALADIE, check: luhn }
  arrival: { from: [DATE_DEBUT, HEURE_DEBUT], format: "%d/%m/%Y", time_format: "%H%M" }
  facility: { from: ÉTABLISSEMENT }
  disposition:
    from: ORIENTATION
    map:
      DOMICILE: home
      PARTI SANS ÊTRE VU: left_without_being_seen
      DÉCÈS: died
  diagnosis: { from: DIAGNOSTIC }
"#;

/// 2a. Semicolon-delimited Windows-1252, accented header and values, through a value map.
#[test]
fn windows_1252_semicolon_with_value_map() {
    let sp = spec(&ED_SEMICOLON.replace("ENCODING", "windows-1252"));
    let text = format!(
        "NO_ASSURANCE_MALADIE;DATE_DEBUT;HEURE_DEBUT;ÉTABLISSEMENT;ORIENTATION;DIAGNOSTIC\r\n\
         {HCN_A};01/03/2024;0930;Hôpital Saint-Éloi;DÉCÈS;Arrêt cardiaque — œdème\r\n\
         {HCN_B};29/02/2024;1407;Hôpital B;PARTI SANS ÊTRE VU;\r\n\
         {HCN_C};05/03/2024;0000;Hôpital B;DOMICILE;Fièvre\r\n"
    );
    let bytes = cp1252(&text);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must really be Windows-1252"
    );
    let o = ingest(&sp, &bytes);
    assert_eq!(counts(&o), (3, 3, 0));
    let e = Entity::EdVisit;
    assert_eq!(
        strs(&o, e, "facility"),
        vec![s("Hôpital Saint-Éloi"), s("Hôpital B"), s("Hôpital B")]
    );
    assert_eq!(
        strs(&o, e, "disposition"),
        vec![s("died"), s("left_without_being_seen"), s("home")]
    );
    assert_eq!(
        strs(&o, e, "diagnosis"),
        vec![s("Arrêt cardiaque — œdème"), None, s("Fièvre")]
    );
    assert_eq!(
        stamps(&o, e, "arrival"),
        vec![
            Some(1_709_285_400_000_000),
            Some(i64::from(day(2024, 2, 29)) * MICROS_PER_DAY + (14 * 60 + 7) * 60_000_000),
            Some(i64::from(day(2024, 3, 5)) * MICROS_PER_DAY)
        ]
    );
    assert_eq!(months(&o, e), vec!["2024-02", "2024-03"]);
}

/// 2b. ISO-8859-1 (Latin-1) bytes, written by hand.
#[test]
fn iso_8859_1_bytes() {
    let sp = spec(&ED_SEMICOLON.replace("ENCODING", "iso-8859-1"));
    let mut bytes: Vec<u8> = Vec::new();
    bytes.extend_from_slice(
        b"NO_ASSURANCE_MALADIE;DATE_DEBUT;HEURE_DEBUT;\xC9TABLISSEMENT;ORIENTATION;DIAGNOSTIC\n",
    );
    bytes.extend_from_slice(HCN_A.as_bytes());
    bytes.extend_from_slice(b";01/03/2024;0930;H\xF4pital;D\xC9C\xC8S;Br\xFBlure \xE0 la main\n");
    let o = ingest(&sp, &bytes);
    assert_eq!(counts(&o), (1, 1, 0));
    let e = Entity::EdVisit;
    assert_eq!(strs(&o, e, "facility"), vec![s("Hôpital")]);
    assert_eq!(strs(&o, e, "disposition"), vec![s("died")]);
    assert_eq!(strs(&o, e, "diagnosis"), vec![s("Brûlure à la main")]);

    // `latin1` is an accepted alias.
    let sp = spec(&ED_SEMICOLON.replace("ENCODING", "latin1"));
    assert_eq!(counts(&ingest(&sp, &bytes)), (1, 1, 0));
}

const ADMISSION_DATES: &str = r#"
source: adm
partner: P
files: "adm/*.csv"
format: { type: csv, delimiter: ";" }
entity: admission
fields:
  person_key: { from: HCN, check: luhn }
  admit_date: { from: ADMIT, format: "%d/%m/%Y" }
  discharge_date: { from: DISCHARGE }
  facility: { from: FAC }
  alc_days: { from: ALC, decimal: "," }
"#;

/// 3a. Dates in DD/MM/YYYY and ISO, decimal-comma numbers.
#[test]
fn dates_and_decimal_comma() {
    let sp = spec(ADMISSION_DATES);
    let data = format!(
        "HCN;ADMIT;DISCHARGE;FAC;ALC\n\
         {HCN_A};01/03/2024;2024-03-12;F1;2,5\n\
         {HCN_B};29/02/2024;;F2;12\n\
         {HCN_C};31/12/2023;2024-01-15;F3;0,75\n\
         {HCN_A};31/02/2024;2024-03-12;F4;1\n\
         {HCN_A};01/03/2024;12/03/2024;F5;1\n\
         {HCN_A};01/03/2024;;F6;1.5\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (6, 4, 2));
    let e = Entity::Admission;
    assert_eq!(
        dates(&o, e, "admit_date"),
        vec![
            Some(19783),
            Some(day(2024, 2, 29)),
            Some(day(2023, 12, 31)),
            Some(19783)
        ]
    );
    assert_eq!(day(2024, 2, 29), 19782);
    assert_eq!(
        dates(&o, e, "discharge_date"),
        vec![Some(19794), None, Some(19737), None]
    );
    assert_eq!(
        floats(&o, e, "alc_days"),
        vec![Some(2.5), Some(12.0), Some(0.75), Some(1.5)]
    );
    assert_eq!(
        strs(&o, e, "event_month"),
        vec![s("2024-03"), s("2024-02"), s("2023-12"), s("2024-03")]
    );
    assert_eq!(
        o.quarantine,
        vec![
            q(
                5,
                "ADMIT",
                "not a valid date in format %d/%m/%Y",
                Some("31/02/2024"),
                Some(HCN_A)
            ),
            q(
                6,
                "DISCHARGE",
                "not a valid date in format %Y-%m-%d",
                Some("12/03/2024"),
                Some(HCN_A)
            ),
        ]
    );
}

/// 3b. Date-times: a date column and an `HHMM` time column, one ISO column, bad parts.
#[test]
fn date_and_time_columns_make_exact_timestamps() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,F,,,\n\
         {HCN_A},2024-02-29,1407,F,,,\n\
         {HCN_A},2024-03-01,,F,,,\n\
         {HCN_A},2024-03-01,2460,F,,,\n\
         {HCN_A},01/03/2024,0930,F,,,\n\
         {HCN_A},,0930,F,,,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (6, 3, 3));
    assert_eq!(
        stamps(&o, Entity::EdVisit, "arrival"),
        vec![
            Some(1_709_285_400_000_000),
            Some(19782 * MICROS_PER_DAY + 14 * 3_600_000_000 + 7 * 60_000_000),
            // No time: midnight.
            Some(19783 * MICROS_PER_DAY),
        ]
    );
    assert_eq!(
        strs(&o, Entity::EdVisit, "event_month"),
        vec![s("2024-03"), s("2024-02"), s("2024-03")]
    );
    let label = "ARRIVAL_DATE+ARRIVAL_TIME";
    assert_eq!(
        o.quarantine,
        vec![
            q(
                5,
                label,
                "not a valid time in format %H%M",
                Some("2460"),
                Some(HCN_A)
            ),
            q(
                6,
                label,
                "not a valid date in format %Y-%m-%d",
                Some("01/03/2024"),
                Some(HCN_A)
            ),
            q(7, label, "required value is missing", None, Some(HCN_A)),
        ]
    );

    // One ISO 8601 column, with or without seconds, `T` or space.
    let iso = spec(
        r#"
source: iso
partner: P
files: "*.csv"
format: { type: csv }
entity: ed_visit
fields:
  person_key: { from: HCN }
  arrival: { from: ARRIVAL }
  facility: { value: F }
"#,
    );
    let data = "HCN,ARRIVAL\n\
                a,2024-03-01T09:30:00\n\
                b,2024-03-01 09:30\n\
                c,2024-02-29T14:07:30\n\
                d,2024-03-01\n";
    let o = ingest(&iso, data.as_bytes());
    assert_eq!(counts(&o), (4, 3, 1));
    assert_eq!(
        stamps(&o, Entity::EdVisit, "arrival"),
        vec![
            Some(1_709_285_400_000_000),
            Some(1_709_285_400_000_000),
            Some(1_709_215_650_000_000)
        ]
    );
    // A constant field.
    assert_eq!(strs(&o, Entity::EdVisit, "facility"), vec![s("F"); 3]);
    assert_eq!(
        o.quarantine,
        vec![q(
            5,
            "ARRIVAL",
            "not a valid date-time in format ISO 8601",
            Some("2024-03-01"),
            Some("d")
        )]
    );
}

/// 3c. A decimal comma where the spec does not say `decimal: ","` is rejected with a hint.
#[test]
fn decimal_comma_without_config_is_rejected_with_a_hint() {
    let sp = spec(&ADMISSION_DATES.replace(
        r#"alc_days: { from: ALC, decimal: "," }"#,
        "alc_days: { from: ALC }",
    ));
    let data = format!(
        "HCN;ADMIT;DISCHARGE;FAC;ALC\n\
         {HCN_A};01/03/2024;;F1;2,5\n\
         {HCN_A};01/03/2024;;F1;2.5\n\
         {HCN_A};01/03/2024;;F1;deux\n\
         {HCN_A};01/03/2024;;F1;NaN\n\
         {HCN_A};01/03/2024;;F1;-1\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (5, 1, 4));
    assert_eq!(floats(&o, Entity::Admission, "alc_days"), vec![Some(2.5)]);
    assert_eq!(
        o.quarantine,
        vec![
            q(
                2,
                "ALC",
                "not a number (a decimal comma? set `decimal: \",\"`)",
                Some("2,5"),
                Some(HCN_A)
            ),
            q(4, "ALC", "not a number", Some("deux"), Some(HCN_A)),
            q(5, "ALC", "not a finite number", Some("NaN"), Some(HCN_A)),
            q(6, "ALC", "out of range 0..36500", Some("-1"), Some(HCN_A)),
        ]
    );
    assert!(o.quarantine[0].reason.contains("decimal comma"));
    assert_eq!(o.rejections_by_reason.get("not a number"), Some(&2));
}

const ADMISSION_CODED: &str = r#"
source: adm
partner: P
files: "adm/*.csv"
format: { type: csv }
entity: admission
fields:
  person_key: { from: HCN, check: luhn }
  admit_date: { from: ADMIT }
  discharge_date: { from: DISCHARGE }
  facility: { from: FAC }
  admit_category: { from: CAT, map: { URG: urgent, ELEC: elective } }
  diagnosis: { from: DX }
"#;

/// 4a. Value maps with `URG`-style codes; an unmapped code fails the allowed list.
#[test]
fn value_maps_and_allowed_values() {
    let sp = spec(ADMISSION_CODED);
    let data = format!(
        "HCN,ADMIT,DISCHARGE,FAC,CAT,DX\n\
         {HCN_A},2024-03-01,2024-03-05,F,URG,I21\n\
         {HCN_B},2024-03-01,2024-03-05,F,ELEC,\n\
         {HCN_C},2024-03-01,2024-03-05,F,elective,\n\
         {HCN_A},2024-03-01,2024-03-05,F,AUTRE,\n\
         {HCN_A},2024-03-01,2024-03-05,F, URG ,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (5, 4, 1));
    assert_eq!(
        strs(&o, Entity::Admission, "admit_category"),
        vec![s("urgent"), s("elective"), s("elective"), s("urgent")]
    );
    assert_eq!(
        o.quarantine,
        vec![q(
            5,
            "CAT",
            "value not in the code list (expected urgent, elective): add it to the field's `map`",
            Some("AUTRE"),
            Some(HCN_A)
        )]
    );
    assert_eq!(
        o.rejections_by_reason.get("value not in the code list"),
        Some(&1)
    );

    // The spec's `allowed` narrows the canonical list; without a map the hint says `map:`.
    let narrowed = spec(&ADMISSION_CODED.replace(
        "admit_category: { from: CAT, map: { URG: urgent, ELEC: elective } }",
        "admit_category: { from: CAT, allowed: [urgent] }",
    ));
    let data = format!(
        "HCN,ADMIT,DISCHARGE,FAC,CAT,DX\n\
         {HCN_A},2024-03-01,,F,urgent,\n\
         {HCN_A},2024-03-01,,F,elective,\n"
    );
    let o = ingest(&narrowed, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    assert_eq!(
        o.quarantine,
        vec![q(
            3,
            "CAT",
            "value not in the code list (expected urgent): map it with `map:`",
            Some("elective"),
            Some(HCN_A)
        )]
    );
}

/// 4b. A map turning words into numbers for an Int field (`Toujours` -> 4).
#[test]
fn value_map_feeds_an_int_field() {
    let sp = spec(SURVEY);
    let data = format!(
        "{SURVEY_HEADER}\n\
         R1,{HCN_A},T1,01/03/2024,fr,Toujours,Jamais,3\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (1, 1, 0));
    assert_eq!(
        ints(&o, Entity::SurveyResponse, "answer"),
        vec![Some(4), Some(1), Some(3)]
    );
}

/// 4c. Ranges: canonical (triage 1..5) and the spec's own.
#[test]
fn out_of_range_values_are_rejected() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,F,7,01,\n\
         {HCN_A},2024-03-01,0930,F,0,01,\n\
         {HCN_A},2024-03-01,0930,F,5,01,\n\
         {HCN_A},2024-03-01,0930,F,2.0,01,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (4, 1, 3));
    assert_eq!(ints(&o, Entity::EdVisit, "triage"), vec![Some(5)]);
    assert_eq!(
        o.quarantine,
        vec![
            q(
                2,
                "TRIAGE_LEVEL",
                "out of range 1..5",
                Some("7"),
                Some(HCN_A)
            ),
            q(
                3,
                "TRIAGE_LEVEL",
                "out of range 1..5",
                Some("0"),
                Some(HCN_A)
            ),
            q(
                5,
                "TRIAGE_LEVEL",
                "not a whole number",
                Some("2.0"),
                Some(HCN_A)
            ),
        ]
    );
    assert!(o.quarantine[0].reason.contains("range"));

    // Survey answers: the spec narrows 0..10 to 1..4.
    let sp = spec(SURVEY);
    let data = format!("{SURVEY_HEADER}\nR1,,T1,01/03/2024,fr,0,4,5\n");
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (1, 0, 1));
    assert_eq!(
        o.quarantine,
        vec![
            q(2, "Q1", "out of range 1..4", Some("0"), None),
            q(2, "Q3", "out of range 1..4", Some("5"), None),
        ]
    );
}

/// 4d. A required value missing (empty, blank or a null marker); every failing field listed.
#[test]
fn required_values_missing() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,,3,01,\n\
         {HCN_A},2024-03-01,0930,   ,3,01,\n\
         ,2024-03-01,0930,F,9,99,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (3, 0, 3));
    assert_eq!(
        o.quarantine,
        vec![
            q(
                2,
                "FACILITY_ID",
                "required value is missing",
                None,
                Some(HCN_A)
            ),
            q(
                3,
                "FACILITY_ID",
                "required value is missing",
                None,
                Some(HCN_A)
            ),
            q(4, "HCN", "required value is missing", None, None),
            q(4, "TRIAGE_LEVEL", "out of range 1..5", Some("9"), None),
            q(
                4,
                "DISPOSITION_CODE",
                "value not in the code list (expected home, left_without_being_seen, transferred, admitted, died, other): add it to the field's `map`",
                Some("99"),
                None
            ),
        ]
    );
    // Counted once per record, by its first problem.
    assert_eq!(
        o.rejections_by_reason.get("required value is missing"),
        Some(&3)
    );
    assert_eq!(o.rejections_by_reason.len(), 1);
}

/// 4e. Discharge before admission is rejected; the same day is fine.
#[test]
fn discharge_before_admission_is_rejected() {
    let sp = spec(ADMISSION_CODED);
    let data = format!(
        "HCN,ADMIT,DISCHARGE,FAC,CAT,DX\n\
         {HCN_A},2024-03-05,2024-03-01,F,,\n\
         {HCN_B},2024-03-05,2024-03-05,F,,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    assert_eq!(
        o.quarantine,
        vec![q(
            2,
            "DISCHARGE",
            "discharge_date is before admit_date (ADMIT)",
            None,
            Some(HCN_A)
        )]
    );
    assert_eq!(
        dates(&o, Entity::Admission, "discharge_date"),
        vec![Some(19787)]
    );
}

/// Enrolment: every date-order rule is checked and reported.
#[test]
fn enrolment_date_order_rules() {
    let sp = spec(
        r#"
source: programme_psm
partner: P
files: "*.csv"
format: { type: csv }
entity: enrolment
fields:
  person_key: { from: hcn, check: luhn }
  program: { from: program }
  team: { from: team }
  referral_date: { from: referral_date }
  first_contact_date: { from: first_contact_date }
  enrolment_date: { from: enrolment_date }
  care_plan_date: { from: care_plan_date }
  end_date: { from: end_date }
"#,
    );
    let data = format!(
        "hcn,program,team,referral_date,first_contact_date,enrolment_date,care_plan_date,end_date\n\
         {HCN_A},PSM,T1,2024-03-01,2024-03-02,2024-03-05,2024-03-12,\n\
         {HCN_B},PSM,T1,2024-03-05,2024-03-01,2024-03-01,2024-02-29,2024-02-29\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    let cols: Vec<(&str, &str)> = o
        .quarantine
        .iter()
        .map(|r| (r.column.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        cols,
        vec![
            (
                "first_contact_date",
                "first_contact_date is before referral_date (referral_date)"
            ),
            (
                "enrolment_date",
                "enrolment_date is before referral_date (referral_date)"
            ),
            (
                "care_plan_date",
                "care_plan_date is before enrolment_date (enrolment_date)"
            ),
            (
                "end_date",
                "end_date is before enrolment_date (enrolment_date)"
            ),
        ]
    );
    assert!(
        o.quarantine
            .iter()
            .all(|r| r.line == 3 && r.value.is_none())
    );
    assert_eq!(months(&o, Entity::Enrolment), vec!["2024-03"]);
}

/// 5. A combined extract split by a column, with an unknown case value.
#[test]
fn split_by_column_into_two_entities() {
    let sp = spec(HOPITAL_B);
    let text = format!(
        "{HOPITAL_B_HEADER}\r\n\
         URG;{HCN_A};01/03/2024;0930;;Hôpital B;2;DÉCÈS;R07;\r\n\
         HOSP;{HCN_B};29/02/2024;;05/03/2024;Hôpital B;ÉLECTIF;;I21;2,5\r\n\
         XXX;{HCN_C};01/03/2024;0930;;Hôpital B;2;DOMICILE;;\r\n\
         HOSP;{HCN_C};05/03/2024;;01/03/2024;Hôpital B;URGENT;;;\r\n\
         HOSP;{HCN_C};05/03/2024;;;Hôpital B;URGENT;;;\r\n\
          URG ;{HCN_B};05/03/2024;1200;;Hôpital B;;TRANSFERT;;\r\n"
    );
    let o = ingest(&sp, &cp1252(&text));
    assert_eq!(counts(&o), (6, 3, 3));
    assert_eq!(
        o.entities.keys().copied().collect::<Vec<_>>(),
        vec![Entity::EdVisit, Entity::Admission]
    );
    let ed = Entity::EdVisit;
    assert_eq!(
        strs(&o, ed, "person_key"),
        vec![s(&pk(HCN_A)), s(&pk(HCN_B))]
    );
    assert_eq!(
        stamps(&o, ed, "arrival"),
        vec![
            Some(1_709_285_400_000_000),
            Some(19787 * MICROS_PER_DAY + 12 * 3_600_000_000)
        ]
    );
    assert_eq!(ints(&o, ed, "triage"), vec![Some(2), None]);
    assert_eq!(
        strs(&o, ed, "disposition"),
        vec![s("died"), s("transferred")]
    );
    assert_eq!(strs(&o, ed, "diagnosis"), vec![s("R07"), None]);
    assert_eq!(lines(&o, ed), vec![2, 7]);
    assert_eq!(months(&o, ed), vec!["2024-03"]);

    let adm = Entity::Admission;
    assert_eq!(strs(&o, adm, "person_key"), vec![s(&pk(HCN_B))]);
    assert_eq!(dates(&o, adm, "admit_date"), vec![Some(19782)]);
    assert_eq!(dates(&o, adm, "discharge_date"), vec![Some(19787)]);
    assert_eq!(strs(&o, adm, "facility"), vec![s("Hôpital B")]);
    assert_eq!(strs(&o, adm, "admit_category"), vec![s("elective")]);
    assert_eq!(floats(&o, adm, "alc_days"), vec![Some(2.5)]);
    assert_eq!(lines(&o, adm), vec![3]);
    assert_eq!(strs(&o, adm, "event_month"), vec![s("2024-02")]);

    assert_eq!(
        o.quarantine,
        vec![
            q(
                4,
                "TYPE_EPISODE",
                "unknown split value (expected one of HOSP, URG)",
                Some("XXX"),
                Some(HCN_C)
            ),
            q(
                5,
                "DATE_FIN",
                "discharge_date is before admit_date (DATE_DEBUT)",
                None,
                Some(HCN_C)
            ),
            // `required: true` in the spec tightens the canonical optional discharge date.
            q(
                6,
                "DATE_FIN",
                "required value is missing",
                None,
                Some(HCN_C)
            ),
        ]
    );
    assert!(o.quarantine[0].reason.contains("HOSP") && o.quarantine[0].reason.contains("URG"));
}

/// 6. Unpivot of Q1..Q3 into survey_response rows.
#[test]
fn unpivot_survey_items() {
    let sp = spec(SURVEY);
    let data = format!(
        "{SURVEY_HEADER}\n\
         R1,{HCN_A},T1,01/03/2024,fr,Toujours,Jamais,N/A\n\
         R2,{HCN_B},T2,05/03/2024,en,Always,Peut-être,2\n\
         R3,,T1,29/02/2024,en,S.O.,Usually,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    // Source rows, not items.
    assert_eq!(counts(&o), (3, 2, 1));
    let e = Entity::SurveyResponse;
    assert_eq!(o.entities[&e].rows, 6);
    assert_eq!(
        strs(&o, e, "response_id"),
        vec![s("R1"), s("R1"), s("R1"), s("R3"), s("R3"), s("R3")]
    );
    assert_eq!(
        strs(&o, e, "item_code"),
        vec![s("Q1"), s("Q2"), s("Q3"), s("Q1"), s("Q2"), s("Q3")]
    );
    assert_eq!(
        ints(&o, e, "answer"),
        vec![Some(4), Some(1), None, None, Some(3), None]
    );
    let a = pk(HCN_A);
    assert_eq!(
        strs(&o, e, "person_key"),
        vec![s(&a), s(&a), s(&a), None, None, None]
    );
    assert_eq!(strs(&o, e, "team"), vec![s("T1"); 6]);
    assert_eq!(
        dates(&o, e, "completed_date"),
        vec![
            Some(19783),
            Some(19783),
            Some(19783),
            Some(19782),
            Some(19782),
            Some(19782)
        ]
    );
    assert_eq!(
        strs(&o, e, "language"),
        vec![s("fr"), s("fr"), s("fr"), s("en"), s("en"), s("en")]
    );
    assert_eq!(lines(&o, e), vec![2, 2, 2, 4, 4, 4]);
    assert_eq!(months(&o, e), vec!["2024-02", "2024-03"]);
    // The whole source row is rejected, at the item's column.
    assert_eq!(
        o.quarantine,
        vec![q(
            3,
            "Q2",
            "not a whole number",
            Some("Peut-être"),
            Some(HCN_B)
        )]
    );
    assert_eq!(o.rejections_by_reason.get("not a whole number"), Some(&1));
}

/// Unpivot with `keep_empty: false`: null items make no row.
#[test]
fn unpivot_without_empty_items() {
    let sp = spec(&SURVEY.replace("keep_empty: true", "keep_empty: false"));
    let data = format!(
        "{SURVEY_HEADER}\n\
         R1,{HCN_A},T1,01/03/2024,fr,Toujours,,N/A\n\
         R2,{HCN_A},T1,01/03/2024,fr,Souvent,Parfois,Jamais\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 2, 0));
    let e = Entity::SurveyResponse;
    assert_eq!(
        strs(&o, e, "item_code"),
        vec![s("Q1"), s("Q1"), s("Q2"), s("Q3")]
    );
    assert_eq!(
        ints(&o, e, "answer"),
        vec![Some(4), Some(3), Some(2), Some(1)]
    );
    assert_eq!(lines(&o, e), vec![2, 3, 3, 3]);
}

/// A problem outside the unpivoted columns is reported once, not once per item.
#[test]
fn unpivot_reports_a_shared_problem_once() {
    let sp = spec(SURVEY);
    let data = format!(
        "{SURVEY_HEADER}\n\
         R1,{HCN_A},,01/03/2024,fr,Toujours,Bof,2\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (1, 0, 1));
    assert_eq!(
        o.quarantine,
        vec![
            q(2, "team", "required value is missing", None, Some(HCN_A)),
            q(2, "Q2", "not a whole number", Some("Bof"), Some(HCN_A)),
        ]
    );
}

/// 7. Luhn: an invalid identifier is rejected and never shown; keys are 64-hex HMACs.
#[test]
fn luhn_failure_never_leaks_the_identifier() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_BAD},2024-03-01,0930,F,3,01,\n\
         {HCN_BAD},2024-03-01,0930,F,9,01,\n\
         1234-567-897,2024-03-01,0930,F,3,01,\n\
         {HCN_A},2024-03-01,0931,F,3,01,\n\
         ABC1234567,2024-03-01,0930,F,3,01,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (5, 2, 3));
    let reason = "identifier fails its check digit (Luhn mod 10): a typing error or not a health card number";
    assert_eq!(
        o.quarantine,
        vec![
            q(2, "HCN", reason, None, Some(HCN_BAD)),
            q(3, "HCN", reason, None, Some(HCN_BAD)),
            q(
                3,
                "TRIAGE_LEVEL",
                "out of range 1..5",
                Some("9"),
                Some(HCN_BAD)
            ),
            q(6, "HCN", reason, None, Some("ABC1234567")),
        ]
    );
    for raw in [HCN_BAD, "ABC1234567", HCN_A, "1234-567-897"] {
        for r in &o.quarantine {
            assert!(!r.reason.contains(raw), "reason leaks {raw}: {r:?}");
            assert!(!r.column.contains(raw), "column leaks {raw}: {r:?}");
            assert!(
                !r.value.as_deref().unwrap_or("").contains(raw),
                "value leaks {raw}: {r:?}"
            );
        }
        for cell in all_batch_strings(&o) {
            assert!(!cell.contains(raw), "a batch cell holds {raw}");
        }
        for reason in o.rejections_by_reason.keys() {
            assert!(!reason.contains(raw));
        }
    }
    for r in &o.quarantine {
        assert!(r.person_key.as_deref().is_some_and(is_hex64));
    }
    // Dashes are normalised away: both accepted rows carry the same key.
    let keys = strs(&o, Entity::EdVisit, "person_key");
    assert_eq!(keys, vec![s(&pk(HCN_A)), s(&pk(HCN_A))]);
    assert!(keys.iter().flatten().all(|k| is_hex64(k)));
    assert_ne!(pk(HCN_A), HCN_A);
}

/// 8a. A header lacking a mapped column rejects the file, naming the column and the header.
#[test]
fn header_missing_a_mapped_column() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "HCN,ARRIVAL_DATE,ARRIVAL_TIME,FACILITY,TRIAGE_LEVEL,DISPOSITION_CODE,MAIN_PROBLEM_DX\n\
         {HCN_A},2024-03-01,0930,F,3,01,\n"
    );
    let (e, read) = reject(&sp, data.as_bytes());
    // Rejected whole for its header, the file still counts its one record as read.
    assert_eq!(read, 1);
    assert_eq!(e.file, FILE);
    assert_eq!(e.line, 1);
    assert_eq!(
        e.message,
        "the header lacks column(s) `FACILITY_ID` (used by fields.facility); the header has: \
         HCN, ARRIVAL_DATE, ARRIVAL_TIME, FACILITY, TRIAGE_LEVEL, DISPOSITION_CODE, MAIN_PROBLEM_DX. \
         Fix the source spec or ask the partner for the agreed layout"
    );
    assert_eq!(e.to_string(), format!("{FILE}:1: {}", e.message));

    // Split and unpivot columns are named with their keys too.
    let sp = spec(SURVEY);
    let (e, _) = reject(&sp, b"response_id,hcn,team,completed,lang,Q1,Q3\n");
    assert!(
        e.message.contains("`Q2` (used by unpivot.columns)"),
        "{}",
        e.message
    );
    let sp = spec(HOPITAL_B);
    let header = HOPITAL_B_HEADER.replace("TYPE_EPISODE;", "TYPE;");
    let (e, _) = reject(&sp, &cp1252(&format!("{header}\r\n")));
    assert!(
        e.message.contains("`TYPE_EPISODE` (used by split.by)"),
        "{}",
        e.message
    );
}

/// 8b. Bytes that are not UTF-8 in a UTF-8 file: the line, and a hint about the encoding.
#[test]
fn invalid_utf8_rejects_the_file_at_its_line() {
    let sp = spec(HOSPITAL_A);
    let mut data = format!(
        "{HOSPITAL_A_HEADER}\r\n\
         {HCN_A},2024-03-01,0930,F,3,01,\r\n\
         {HCN_B},2024-03-01,0930,F,3,01,\r\n"
    )
    .into_bytes();
    data.extend_from_slice(HCN_C.as_bytes());
    data.extend_from_slice(b",2024-03-01,0930,H\xF4pital,3,01,\r\n");
    let (e, read) = reject(&sp, &data);
    assert_eq!(
        read, 3,
        "every record of a file rejected whole counts as read"
    );
    assert_eq!(e.line, 4);
    assert_eq!(
        e.message,
        "field 4 holds bytes that are not valid UTF-8: check the partner's export encoding (e.g. set `format.encoding: windows-1252`)"
    );
}

/// 8c. A truncated last record: the line of the short record.
#[test]
fn truncated_last_record() {
    let sp = spec(HOSPITAL_A);
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,F,3,01,\n\
         {HCN_B},2024-03-01,0930,F,3,01,\n\
         {HCN_C},2024-03-"
    );
    let (e, read) = reject(&sp, data.as_bytes());
    assert_eq!(
        read, 3,
        "the short record counts too: the file is rejected whole"
    );
    assert_eq!(e.line, 4);
    assert_eq!(
        e.message,
        "record has 2 fields where the header has 7: the file is truncated or a delimiter/quote is wrong"
    );

    // An unterminated quote swallows the rest of the file into one short record.
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,\"F,3,01,\n\
         {HCN_B},2024-03-01,0930,F,3,01,\n"
    );
    let (e, read) = reject(&sp, data.as_bytes());
    // The swallowed record is the file's one record: read, and rejected with the file.
    assert_eq!((e.line, read), (2, 1));
    assert!(e.message.contains("spans lines"), "{}", e.message);
    // Where multi-line fields are allowed, the short record is what shows.
    let (e, read) = reject(&spec(&multiline(HOSPITAL_A)), data.as_bytes());
    assert_eq!((e.line, read), (2, 1));
    assert!(
        e.message.contains("where the header has 7"),
        "{}",
        e.message
    );

    // Too many fields in the middle.
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,F,3,01,,extra\n"
    );
    let (e, _) = reject(&sp, data.as_bytes());
    assert_eq!(e.line, 2);
    assert!(
        e.message
            .starts_with("record has 8 fields where the header has 7")
    );
}

/// 8d. An empty file (or only a byte-order mark) is rejected at line 1.
#[test]
fn empty_file_is_rejected() {
    let sp = spec(HOSPITAL_A);
    for data in [&b""[..], b"\xEF\xBB\xBF", b"\n\n"] {
        let (e, read) = reject(&sp, data);
        assert_eq!(read, 0);
        assert_eq!(e.line, 1);
        assert_eq!(e.message, "the file is empty: no header row");
    }
}

/// 9. No header row: columns are named "1", "2", ... and the first line is data.
#[test]
fn headerless_file_with_positional_columns() {
    let sp = spec(
        r#"
source: registre_population
partner: P
files: "*.txt"
format: { type: csv, delimiter: "|", header: false }
entity: person
fields:
  person_key: { from: "1", check: luhn }
  birth_year: { from: "2" }
  sex: { from: "3", map: { H: M, F: F } }
  language: { from: "4" }
  death_date: { from: "5", format: "%Y%m%d" }
"#,
    );
    let data = format!(
        "{HCN_A}|1950|F|fr|\n\
         {HCN_B}|1880|H|en|\n\
         {HCN_C}|1942|H|en|20240229\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (3, 2, 1));
    let e = Entity::Person;
    assert_eq!(
        strs(&o, e, "person_key"),
        vec![s(&pk(HCN_A)), s(&pk(HCN_C))]
    );
    assert_eq!(ints(&o, e, "birth_year"), vec![Some(1950), Some(1942)]);
    assert_eq!(strs(&o, e, "sex"), vec![s("F"), s("M")]);
    assert_eq!(strs(&o, e, "language"), vec![s("fr"), s("en")]);
    assert_eq!(strs(&o, e, "rurality"), vec![None, None]);
    assert_eq!(dates(&o, e, "death_date"), vec![None, Some(19782)]);
    assert_eq!(lines(&o, e), vec![1, 3]);
    // Person has no event month: no partition column, no months.
    assert!(batches(&o, e)[0].column_by_name("event_month").is_none());
    assert!(months(&o, e).is_empty());
    assert_eq!(
        o.quarantine,
        vec![q(
            2,
            "2",
            "out of range 1890..2100",
            Some("1880"),
            Some(HCN_B)
        )]
    );

    // A column beyond the width of the file is a header problem.
    let wide = spec(
        r#"
source: r
partner: P
files: "*.txt"
format: { type: csv, header: false }
entity: person
fields:
  person_key: { from: "1" }
  birth_year: { from: "2" }
  sex: { from: "3" }
  language: { from: "9" }
"#,
    );
    let (e, _) = reject(&wide, b"a,1950,F\n");
    assert_eq!(e.line, 1);
    assert!(
        e.message.contains("`9` (used by fields.language)"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("the header has: 1, 2, 3."),
        "{}",
        e.message
    );
}

/// Tab-delimited files, with the delimiter written either way.
#[test]
fn tab_delimiter() {
    for delim in [r#""\t""#, r#"'\t'"#] {
        let sp = spec(&HOSPITAL_A.replace(r#"delimiter: ",""#, &format!("delimiter: {delim}")));
        let data = format!(
            "{}\n{HCN_A}\t2024-03-01\t0930\tSite A, Main\t3\t01\t\n",
            HOSPITAL_A_HEADER.replace(',', "\t")
        );
        let o = ingest(&sp, data.as_bytes());
        assert_eq!(counts(&o), (1, 1, 0), "delimiter {delim}");
        assert_eq!(
            strs(&o, Entity::EdVisit, "facility"),
            vec![s("Site A, Main")]
        );
    }
}

fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).expect("parquet writer");
    writer.write(batch).expect("write batch");
    writer.close().expect("close writer");
    out
}

/// 10. Parquet input: an Int64 identifier, a Utf8 date, a Float64 number, nulls.
#[test]
fn parquet_input_is_mapped_like_csv() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("hcn", DataType::Int64, true),
        Field::new("admit", DataType::Utf8, true),
        Field::new("discharge", DataType::Utf8, true),
        Field::new("facility", DataType::Utf8, true),
        Field::new("alc", DataType::Float64, true),
    ]));
    let hcn = |h: &str| h.parse::<i64>().expect("digits");
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![
                Some(hcn(HCN_A)),
                Some(hcn(HCN_BAD)),
                Some(hcn(HCN_B)),
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some("2024-03-01"),
                Some("2024-03-01"),
                Some("2024-02-29"),
                Some("2024-03-01"),
            ])),
            Arc::new(StringArray::from(vec![
                Some("2024-03-05"),
                None,
                None,
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some("Hôpital A"),
                Some("F"),
                Some("F"),
                Some("F"),
            ])),
            Arc::new(Float64Array::from(vec![Some(2.5), None, Some(0.0), None])),
        ],
    )
    .expect("batch");
    let bytes = parquet_bytes(&batch);
    let sp = spec(
        r#"
source: adm_parquet
partner: P
files: "*.parquet"
format: { type: parquet }
entity: admission
fields:
  person_key: { from: hcn, check: luhn }
  admit_date: { from: admit }
  discharge_date: { from: discharge }
  facility: { from: facility }
  alc_days: { from: alc }
"#,
    );
    let o = ingest(&sp, &bytes);
    assert_eq!(counts(&o), (4, 2, 2));
    let e = Entity::Admission;
    assert_eq!(
        strs(&o, e, "person_key"),
        vec![s(&pk(HCN_A)), s(&pk(HCN_B))]
    );
    assert_eq!(dates(&o, e, "admit_date"), vec![Some(19783), Some(19782)]);
    assert_eq!(dates(&o, e, "discharge_date"), vec![Some(19787), None]);
    assert_eq!(strs(&o, e, "facility"), vec![s("Hôpital A"), s("F")]);
    assert_eq!(floats(&o, e, "alc_days"), vec![Some(2.5), Some(0.0)]);
    // Parquet rows are numbered from 1 (there is no header line).
    assert_eq!(lines(&o, e), vec![1, 3]);
    assert_eq!(months(&o, e), vec!["2024-02", "2024-03"]);
    let reason = "identifier fails its check digit (Luhn mod 10): a typing error or not a health card number";
    assert_eq!(
        o.quarantine,
        vec![
            q(2, "hcn", reason, None, Some(HCN_BAD)),
            q(4, "hcn", "required value is missing", None, None),
        ]
    );

    // A missing column is a header problem, as in CSV.
    let sp = spec(
        r#"
source: adm_parquet
partner: P
files: "*.parquet"
format: { type: parquet }
entity: admission
fields:
  person_key: { from: hcn }
  admit_date: { from: admitted_on }
  facility: { from: facility }
"#,
    );
    let (e, read) = reject(&sp, &bytes);
    // The Parquet footer says how many rows the rejected file holds.
    assert_eq!((e.line, read), (1, 4));
    assert!(
        e.message
            .contains("`admitted_on` (used by fields.admit_date)")
    );
    assert!(
        e.message
            .contains("the header has: hcn, admit, discharge, facility, alc")
    );

    // Bytes that are not Parquet.
    let (e, _) = reject(&sp, b"hcn,admit\n1,2\n");
    assert!(
        e.message.starts_with("not a readable Parquet file"),
        "{}",
        e.message
    );
}

/// Parquet timestamps and dates are read through their text form.
#[test]
fn parquet_typed_dates_and_timestamps() {
    use arrow::array::{Date32Array, TimestampMicrosecondArray};
    let schema = Arc::new(Schema::new(vec![
        Field::new("hcn", DataType::Utf8, false),
        Field::new(
            "arrival",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("day", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec![HCN_A])),
            Arc::new(TimestampMicrosecondArray::from(vec![1_709_285_400_000_000])),
            Arc::new(Date32Array::from(vec![19782])),
        ],
    )
    .expect("batch");
    let sp = spec(
        r#"
source: ed_parquet
partner: P
files: "*.parquet"
format: { type: parquet }
entity: ed_visit
fields:
  person_key: { from: hcn, check: luhn }
  arrival: { from: arrival }
  facility: { from: day }
"#,
    );
    let o = ingest(&sp, &parquet_bytes(&batch));
    assert_eq!(counts(&o), (1, 1, 0));
    assert_eq!(
        stamps(&o, Entity::EdVisit, "arrival"),
        vec![Some(1_709_285_400_000_000)]
    );
    assert_eq!(strs(&o, Entity::EdVisit, "facility"), vec![s("2024-02-29")]);
}

/// A spec range wider than the canonical one does not let out-of-range values through.
#[test]
fn spec_range_cannot_widen_the_canonical_range() {
    let sp = spec(&HOSPITAL_A.replace("range: [1, 5]", "range: [0, 9]"));
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,F,7,01,\n\
         {HCN_A},2024-03-01,0930,F,5,01,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    assert_eq!(o.quarantine.len(), 1);
    assert_eq!(o.quarantine[0].column, "TRIAGE_LEVEL");
    assert!(o.quarantine[0].reason.starts_with("out of range"));
}

/// A spec cannot make a canonically required field optional: a row without it is rejected,
/// the file is not.
#[test]
fn spec_cannot_make_a_required_field_optional() {
    let sp = spec(&HOSPITAL_A.replace(
        "facility: { from: FACILITY_ID }",
        "facility: { from: FACILITY_ID, required: false }",
    ));
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},2024-03-01,0930,,3,01,\n\
         {HCN_A},2024-03-01,0930,F,3,01,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    assert_eq!(
        o.quarantine,
        vec![q(
            2,
            "FACILITY_ID",
            "required value is missing",
            None,
            Some(HCN_A)
        )]
    );

    // The event date too (its month partitions the table).
    let sp = spec(&HOSPITAL_A.replace(
        r#"time_format: "%H%M" }"#,
        r#"time_format: "%H%M", required: false }"#,
    ));
    let data = format!(
        "{HOSPITAL_A_HEADER}\n\
         {HCN_A},,,F,3,01,\n\
         {HCN_A},2024-03-01,0930,F,3,01,\n"
    );
    let o = ingest(&sp, data.as_bytes());
    assert_eq!(counts(&o), (2, 1, 1));
    assert_eq!(o.quarantine[0].reason, "required value is missing");
    assert_eq!(strs(&o, Entity::EdVisit, "event_month"), vec![s("2024-03")]);
}

// ---------------------------------------------------------------------------------------------
// 11. Accounting invariant
// ---------------------------------------------------------------------------------------------

/// A CSV cell, always quoted so that the field count never changes.
fn quoted(cell: &str) -> String {
    format!("\"{}\"", cell.replace('"', "\"\""))
}

fn valid_ed_row() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(vec![HCN_A, HCN_B, HCN_C, "1234-567-897"]),
        // Up to last year: later dates would be in the future of the test's load.
        2015i32..2026,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        "[A-Z]{1,6}",
        1u32..=5,
        prop::sample::select(vec!["01", "02", "03", "06", "10", ""]),
        prop_oneof![Just(String::new()), "[A-Z][0-9]{2}"],
    )
        .prop_map(|(hcn, y, m, d, hh, mm, fac, triage, disp, dx)| {
            vec![
                hcn.to_string(),
                format!("{y:04}-{m:02}-{d:02}"),
                format!("{hh:02}{mm:02}"),
                fac,
                triage.to_string(),
                disp.to_string(),
                dx,
            ]
        })
}

/// Garbage cells: punctuation, delimiters, quotes, accents, newlines, numbers, dates.
fn garbage_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[\\PC]{0,8}",
        "[0-9]{0,12}",
        "[0-9,.;\"\\n\r -]{0,6}",
        Just(String::new()),
        Just("N/A".to_string()),
        Just(HCN_BAD.to_string()),
        Just("9999-99-99".to_string()),
    ]
}

#[derive(Debug, Clone)]
enum Row {
    Valid(Vec<String>),
    Garbage(Vec<String>),
    Mixed(Vec<String>, usize, String),
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        valid_ed_row().prop_map(Row::Valid),
        prop::collection::vec(garbage_cell(), 7).prop_map(Row::Garbage),
        (valid_ed_row(), 0usize..7, garbage_cell()).prop_map(|(r, i, g)| Row::Mixed(r, i, g)),
    ]
}

fn cells(r: &Row) -> Vec<String> {
    match r {
        Row::Valid(c) | Row::Garbage(c) => c.clone(),
        Row::Mixed(c, i, g) => {
            let mut c = c.clone();
            c[*i] = g.clone();
            c
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn accounting_holds_for_any_body(rows in prop::collection::vec(row(), 0..25), crlf in any::<bool>()) {
        // Garbage cells hold line breaks, quoted.
        let sp = spec(&multiline(HOSPITAL_A));
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut data = format!("{HOSPITAL_A_HEADER}{eol}");
        for r in &rows {
            let line: Vec<String> = cells(r).iter().map(|c| quoted(c)).collect();
            data.push_str(&line.join(","));
            data.push_str(eol);
        }
        let o = match run_with(&sp, data.as_bytes(), 7) {
            Ok(o) => o,
            Err((e, _)) => return Err(TestCaseError::fail(format!("file rejected: {e}"))),
        };
        prop_assert_eq!(o.rows_read, rows.len() as u64);
        prop_assert_eq!(o.rows_accepted + o.rows_rejected, o.rows_read);
        // Identical valid rows are duplicates: only the first copy is accepted.
        let valid = rows
            .iter()
            .filter_map(|r| match r {
                // The same card number written with dashes is the same person.
                Row::Valid(c) => Some(
                    c.iter()
                        .map(|x| x.replace('-', ""))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        prop_assert!(o.rows_accepted >= valid);
        let stored: u64 = o.entities.values().map(|b| b.rows).sum();
        prop_assert_eq!(stored, o.rows_accepted);
        let in_batches: usize = o
            .entities
            .values()
            .flat_map(|b| &b.batches)
            .map(RecordBatch::num_rows)
            .sum();
        prop_assert_eq!(in_batches as u64, o.rows_accepted);
        let mut bad_lines: Vec<u64> = o.quarantine.iter().map(|r| r.line).collect();
        bad_lines.dedup();
        prop_assert_eq!(bad_lines.len() as u64, o.rows_rejected);
        prop_assert_eq!(o.rejections_by_reason.values().sum::<u64>(), o.rows_rejected);
        for r in &o.quarantine {
            prop_assert!(!r.reason.contains(HCN_BAD));
            if r.column == "HCN" {
                prop_assert!(r.value.is_none());
            }
        }
    }

    #[test]
    fn accounting_counts_source_rows_when_unpivoting(
        rows in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(
                    prop::sample::select(vec!["Toujours", "Never", "N/A", "S.O.", "", "2", "4", "Peut-être", "11", "x"]),
                    3,
                ).prop_map(|answers| {
                    let mut r = vec!["R".to_string(), HCN_A.to_string(), "T1".into(), "01/03/2024".into(), "fr".into()];
                    r.extend(answers.iter().map(|a| a.to_string()));
                    r
                }),
                prop::collection::vec(garbage_cell(), 8),
            ],
            0..20,
        ),
        keep_empty in any::<bool>(),
    ) {
        let sp = spec(&multiline(&SURVEY.replace("keep_empty: true", &format!("keep_empty: {keep_empty}"))));
        let mut data = format!("{SURVEY_HEADER}\n");
        for r in &rows {
            let line: Vec<String> = r.iter().map(|c| quoted(c)).collect();
            data.push_str(&line.join(","));
            data.push('\n');
        }
        let o = match run_with(&sp, data.as_bytes(), 5) {
            Ok(o) => o,
            Err((e, _)) => return Err(TestCaseError::fail(format!("file rejected: {e}"))),
        };
        prop_assert_eq!(o.rows_read, rows.len() as u64);
        prop_assert_eq!(o.rows_accepted + o.rows_rejected, o.rows_read);
        let items: u64 = o.entities.values().map(|b| b.rows).sum();
        prop_assert!(items <= 3 * o.rows_accepted);
        if keep_empty {
            prop_assert_eq!(items, 3 * o.rows_accepted);
        }
        let mut bad_lines: Vec<u64> = o.quarantine.iter().map(|r| r.line).collect();
        bad_lines.dedup();
        prop_assert_eq!(bad_lines.len() as u64, o.rows_rejected);
    }

    /// Arbitrary bytes never panic: the file is read or rejected whole.
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let sp = spec(HOSPITAL_A);
        let mut data = format!("{HOSPITAL_A_HEADER}\n").into_bytes();
        data.extend_from_slice(&body);
        match run_with(&sp, &data, 3) {
            Ok(o) => prop_assert_eq!(o.rows_accepted + o.rows_rejected, o.rows_read),
            Err((e, read)) => {
                prop_assert!(e.line >= 1);
                // Records end at \n, \r or the end of the file.
                let ends = data.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64;
                prop_assert!(read <= ends + 1);
            }
        }
    }
}

/// Two extracts joined into one file: the second's header is one rejected record with one
/// reason, not a record failing every column's check.
#[test]
fn a_header_repeated_mid_file_is_one_rejection_saying_so() {
    let sp = spec(HOSPITAL_A);
    let row = format!("{HCN_A},2024-03-01,0930,F,3,01,");
    let padded = HOSPITAL_A_HEADER.replace(',', " , ");
    for repeated in [HOSPITAL_A_HEADER.to_string(), padded] {
        let data = [
            HOSPITAL_A_HEADER.to_string(),
            row.clone(),
            repeated,
            row.replace("0930", "1015"),
        ]
        .join("\n")
            + "\n";
        let o = ingest(&sp, data.as_bytes());
        assert_eq!(counts(&o), (3, 2, 1));
        assert_eq!(o.quarantine.len(), 1, "{:?}", o.quarantine);
        assert_eq!(o.quarantine[0].line, 3);
        assert!(
            o.quarantine[0].reason.starts_with("header repeated: "),
            "{}",
            o.quarantine[0].reason
        );
        assert_eq!(o.rejections_by_reason.get("header repeated"), Some(&1));
    }
}
