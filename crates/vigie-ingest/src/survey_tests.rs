//! Survey answers read through the instrument: the demo's source spec and instrument (as
//! `load_source` binds them) on small hand-written extracts.

use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use vigie_model::config::{SourceSpec, load_source};
use vigie_model::{Entity, IdentifierDetector, KeySource, PseudonymKey};

use crate::{FileContext, FileFailure, FileOutcome, QuarantineRow, ingest_file};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo_survey() -> SourceSpec {
    load_source(&repo().join("pipelines/sources/sondage-experience.yaml"))
        .unwrap_or_else(|e| panic!("the demo survey source loads: {e}"))
}

fn ingest(spec: &SourceSpec, data: &str) -> FileOutcome {
    let key = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let detector = IdentifierDetector::new(&spec.identifier_schemes());
    let ctx = FileContext {
        file: "sondage/survey_2024Q1.csv",
        load_id: "load-1",
        key: &key,
        batch_rows: 1000,
        staging: None,
        spill_rows: usize::MAX,
        part_bytes: 0,
        numbers: &vigie_model::PersonNumbers::new(),
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: &detector,
    };
    match ingest_file(spec, &ctx, Bytes::copy_from_slice(data.as_bytes())) {
        Ok(o) => o,
        Err(FileFailure::Rejected(e, n)) => panic!("file rejected whole after {n} rows: {e}"),
        Err(FileFailure::Environment(e)) => panic!("environment: {e}"),
    }
}

fn column<'a>(o: &'a FileOutcome, name: &str) -> Vec<&'a arrow::array::ArrayRef> {
    o.entities[&Entity::SurveyResponse]
        .batches
        .iter()
        .map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("no {name}"))
        })
        .collect()
}

fn strs(o: &FileOutcome, name: &str) -> Vec<Option<String>> {
    column(o, name)
        .into_iter()
        .flat_map(|a| {
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ints(o: &FileOutcome, name: &str) -> Vec<Option<i32>> {
    column(o, name)
        .into_iter()
        .flat_map(|a| a.as_primitive::<Int32Type>().iter().collect::<Vec<_>>())
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

const HEADER: &str = "response_id,hcn,team,completed,lang,respondent,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8";

#[test]
fn answers_of_three_scales_in_both_languages_are_read_through_the_instrument() {
    let data = format!(
        "{HEADER}\n\
         R1,,T01,01/03/2024,fr,proche aidant,Toujours,S.O.,Souvent,Jamais,,Parfois,Très bon,10\n\
         R2,,T02,02/03/2024,en,,Always,N/A,Usually,Never,Sometimes,Always,Excellent,6\n"
    );
    let o = ingest(&demo_survey(), &data);
    assert_eq!((o.rows_read, o.rows_accepted, o.rows_rejected), (2, 2, 0));
    // Frequency 1..4 (Toujours = Always = 4), rating 1..5 (Très bon = 4, Excellent = 5),
    // 0..10 as sent; not applicable and blank keep a null answer with their status.
    assert_eq!(
        ints(&o, "answer"),
        [
            Some(4),
            None,
            Some(3),
            Some(1),
            None,
            Some(2),
            Some(4),
            Some(10),
            Some(4),
            None,
            Some(3),
            Some(1),
            Some(2),
            Some(4),
            Some(5),
            Some(6),
        ]
    );
    let (v, na, m) = (s("valid"), s("not_applicable"), s("missing"));
    assert_eq!(
        strs(&o, "answer_status"),
        [
            v.clone(),
            na.clone(),
            v.clone(),
            v.clone(),
            m,
            v.clone(),
            v.clone(),
            v.clone(),
            v.clone(),
            na,
            v.clone(),
            v.clone(),
            v.clone(),
            v.clone(),
            v.clone(),
            v,
        ]
    );
    let items: Vec<Option<String>> = (1..=8).map(|i| s(&format!("Q{i}"))).collect();
    assert_eq!(strs(&o, "item_code"), [items.clone(), items].concat());
    assert_eq!(strs(&o, "instrument"), vec![s("experience"); 16]);
    // "proche aidant" is a caregiver; R2's platform sent no respondent type.
    assert_eq!(
        strs(&o, "respondent_type"),
        [vec![s("caregiver"); 8], vec![None; 8]].concat()
    );
}

#[test]
fn an_answer_off_its_item_scale_rejects_the_response_naming_item_and_value() {
    let data = format!(
        "{HEADER}\n\
         R3,,T01,03/03/2024,en,patient,Always,Always,Always,Always,Always,Always,N/A,9\n\
         R4,,T01,04/03/2024,fr,mandataire,Toujours,Toujours,Toujours,Toujours,Toujours,Toujours,Excellent,11\n\
         R5,,T01,05/03/2024,fr,voisin,Toujours,Toujours,Toujours,Toujours,Toujours,Toujours,Excellent,9\n\
         R6,,T01,06/03/2024,en,proxy,Always,Always,Always,Always,Always,Always,Excellent,Always\n\
         R7,,T02,07/03/2024,en,proxy,Always,Always,Always,Always,Always,Always,Excellent,9\n"
    );
    let o = ingest(&demo_survey(), &data);
    // Five responses read: R7 accepted (8 rows), four rejected whole.
    assert_eq!((o.rows_read, o.rows_accepted, o.rows_rejected), (5, 1, 4));
    assert_eq!(o.entities[&Entity::SurveyResponse].rows, 8);
    assert_eq!(strs(&o, "respondent_type"), vec![s("proxy"); 8]);
    let at = |line: u64| -> &QuarantineRow {
        o.quarantine
            .iter()
            .find(|q| q.line == line)
            .unwrap_or_else(|| panic!("no quarantine row at line {line}: {:?}", o.quarantine))
    };
    // "N/A" is an answer of the frequency scale, not of Q7's 5-point rating scale.
    let q7 = at(2);
    assert_eq!(
        (q7.column.as_str(), q7.value.as_deref()),
        ("Q7", Some("N/A"))
    );
    assert!(
        q7.reason.starts_with(
            "answer not on the item's scale: item Q7 (scale rating_5) has no answer \"N/A\""
        ),
        "{}",
        q7.reason
    );
    let q8 = at(3);
    assert_eq!(
        (q8.column.as_str(), q8.value.as_deref()),
        ("Q8", Some("11"))
    );
    assert!(
        q8.reason
            .contains("item Q8 (scale likelihood_0_10) has no answer \"11\""),
        "{}",
        q8.reason
    );
    // The respondent type is a closed code list.
    let r5 = at(4);
    assert_eq!(
        (r5.column.as_str(), r5.value.as_deref()),
        ("respondent", Some("voisin"))
    );
    assert!(
        r5.reason
            .starts_with("value not in the code list (expected patient, caregiver, proxy)"),
        "{}",
        r5.reason
    );
    let q8_text = at(5);
    assert!(
        q8_text
            .reason
            .contains("item Q8 (scale likelihood_0_10) has no answer \"Always\""),
        "{}",
        q8_text.reason
    );
    assert_eq!(o.quarantine.len(), 4, "{:?}", o.quarantine);
    assert_eq!(
        o.rejections_by_reason.get("answer not on the item's scale"),
        Some(&3)
    );
}

/// A record-level field is converted and checked once for all of its record's items: a
/// fault in one (a card number in the team column, a date decades ahead) still refuses the
/// whole response, reported once, and the item rows of the good responses share their
/// person's number.
#[test]
fn a_fault_in_a_record_field_refuses_the_response_once_not_once_per_item() {
    let data = format!(
        "{HEADER}\n\
         R1,1234567897,T01,01/03/2024,fr,patient,Toujours,S.O.,Souvent,Jamais,,Parfois,Très bon,10\n\
         R2,,1234567897,02/03/2024,en,,Always,N/A,Usually,Never,Sometimes,Always,Excellent,6\n\
         R3,,T02,02/03/2061,en,,Always,N/A,Usually,Never,Sometimes,Always,Excellent,6\n\
         R4,9876543217,T02,03/03/2024,en,,Always,N/A,Usually,Never,Sometimes,Always,Excellent,6\n"
    );
    let o = ingest(&demo_survey(), &data);
    assert_eq!((o.rows_read, o.rows_accepted, o.rows_rejected), (4, 2, 2));
    assert_eq!(o.entities[&Entity::SurveyResponse].rows, 16);
    // One quarantine row per refused response, naming the record's column.
    assert_eq!(o.quarantine.len(), 2, "{:?}", o.quarantine);
    let team = &o.quarantine[0];
    assert_eq!((team.line, team.column.as_str()), (3, "team"));
    assert!(
        team.reason.starts_with("identifier in a column"),
        "{}",
        team.reason
    );
    assert!(
        !team
            .value
            .as_deref()
            .unwrap_or_default()
            .contains("1234567897"),
        "{team:?}"
    );
    let date = &o.quarantine[1];
    assert_eq!((date.line, date.column.as_str()), (4, "completed"));
    assert!(
        date.reason.starts_with("date in the future"),
        "{}",
        date.reason
    );
    // Each accepted response's eight rows carry one person number, not one per item.
    let numbers: Vec<Option<i32>> = column(&o, "person_number")
        .iter()
        .flat_map(|a| a.as_primitive::<Int32Type>().iter().collect::<Vec<_>>())
        .collect();
    assert_eq!(numbers.len(), 16);
    assert!(numbers[..8].iter().all(|n| *n == numbers[0] && n.is_some()));
    assert!(numbers[8..].iter().all(|n| *n == numbers[8] && n.is_some()));
    assert_ne!(numbers[0], numbers[8]);
}

/// A long-format survey (one row per answer) with the demo instrument.
fn long_survey(dir: &Path) -> SourceSpec {
    let instrument = repo().join("pipelines/instruments/experience.yaml");
    let text = format!(
        "source: long\npartner: P\nfiles: \"s/*.csv\"\nformat: {{ type: csv }}\nentity: survey_response\n\
         survey:\n  instrument: {}\n  answers:\n    frequency_4: {{ Always: 4, Never: 1 }}\n    rating_5: {{ Excellent: 5 }}\n    likelihood_0_10: {{ 10: 10 }}\n\
         fields:\n  response_id: {{ from: id }}\n  team: {{ from: team }}\n  completed_date: {{ from: date }}\n  item_code: {{ from: item }}\n  answer: {{ from: answer }}\n",
        instrument.display()
    );
    let path = dir.join("long.yaml");
    std::fs::write(&path, text).expect("write");
    load_source(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_item_the_instrument_does_not_have_is_rejected_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = long_survey(dir.path());
    let o = ingest(
        &spec,
        "id,team,date,item,answer\n\
         1,T01,2024-03-01,Q1,Always\n\
         2,T01,2024-03-01,Q9,Always\n\
         3,T01,2024-03-01,Q7,\n",
    );
    assert_eq!((o.rows_read, o.rows_accepted, o.rows_rejected), (3, 2, 1));
    assert_eq!(ints(&o, "answer"), [Some(4), None]);
    assert_eq!(strs(&o, "answer_status"), [s("valid"), s("missing")]);
    let q = &o.quarantine[0];
    assert_eq!(
        (q.line, q.column.as_str(), q.value.as_deref()),
        (3, "answer", Some("Q9"))
    );
    assert!(
        q.reason.starts_with("item not in the instrument: item \"Q9\" is not an item of experience (items: Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8)"),
        "{}",
        q.reason
    );
}

#[test]
fn a_survey_spec_whose_instrument_was_not_read_rejects_the_file_with_the_reason() {
    let mut spec = demo_survey();
    if let Some(survey) = spec.survey.as_mut() {
        survey.binding = None;
    }
    let key = PseudonymKey::load(&KeySource::Demo).expect("demo key");
    let detector = IdentifierDetector::new(&[]);
    let ctx = FileContext {
        file: "f.csv",
        load_id: "l",
        key: &key,
        batch_rows: 10,
        staging: None,
        spill_rows: usize::MAX,
        part_bytes: 0,
        numbers: &vigie_model::PersonNumbers::new(),
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: &detector,
    };
    match ingest_file(&spec, &ctx, Bytes::from(format!("{HEADER}\n"))) {
        Err(FileFailure::Rejected(e, _)) => {
            assert!(e.message.contains("survey instrument was not read"), "{e}")
        }
        other => panic!("{:?}", other.map(|o| o.rows_read)),
    }
}
