//! The instrument file and a survey source bound to it: what loads, and the problems of bad
//! files, each with its file, line and key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::{load_pipeline, load_source};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Two scales, three items (lines numbered for the tests below).
const GOOD: &str = "instrument: test
name: { fr: Essai, en: Test }
scales:
  freq:
    values:
      - { value: 1, fr: Jamais, en: Never }
      - { value: 2, fr: Toujours, en: Always }
    top_box: [2]
    not_applicable: { fr: Sans objet, en: Not applicable }
  nps:
    values:
      - { value: 0, fr: '0', en: '0' }
      - { value: 1, fr: '1', en: '1' }
      - { value: 2, fr: '2', en: '2' }
    top_box: [1, 2]
items:
  - code: A
    scale: freq
    wording: { fr: Question A ?, en: Question A? }
  - code: B
    scale: nps
    wording: { fr: Question B ?, en: Question B? }
  - code: C
    scale: nps
    top_box: [2]
    wording: { fr: Question C ?, en: Question C? }
";

#[test]
fn the_shipped_instrument_has_three_scales_and_their_top_boxes() {
    let i = load_instrument(&repo().join("pipelines/instruments/experience.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(i.id(), "experience");
    assert_eq!(
        i.item_codes(),
        ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8"]
    );
    let top = |code: &str| i.item(code).map(|it| it.top_box().to_vec());
    assert_eq!(top("Q1"), Some(vec![4]));
    assert_eq!(top("Q7"), Some(vec![5]));
    assert_eq!(top("Q8"), Some(vec![9, 10]));
    let q7 = i.item("Q7").expect("Q7");
    assert_eq!(i.scale_of(q7).id(), "rating_5");
    assert_eq!(
        i.scale_of(q7)
            .values()
            .last()
            .map(|v| v.label.get(Lang::Fr)),
        Some("Excellent")
    );
    assert!(
        q7.wording()
            .get(Lang::En)
            .starts_with("Overall, how would you rate")
    );
    assert!(q7.wording().get(Lang::Fr).starts_with("Dans l'ensemble"));
    let q8 = i.item("Q8").expect("Q8");
    let values: Vec<i32> = i.scale_of(q8).values().iter().map(|v| v.value).collect();
    assert_eq!(values, (0..=10).collect::<Vec<_>>());
    assert!(
        i.scale_of(i.item("Q1").expect("Q1"))
            .not_applicable()
            .is_some()
    );
    assert!(i.scale_of(q7).not_applicable().is_none());
}

#[test]
fn a_good_instrument_loads_with_item_top_boxes() {
    let dir = tempfile::tempdir().expect("tmp");
    let i = load_instrument(&write(dir.path(), "i.yaml", GOOD)).expect("valid");
    // C declares its own top box; B takes its scale's.
    assert_eq!(i.item("B").map(Item::top_box), Some(&[1, 2][..]));
    assert_eq!(i.item("C").map(Item::top_box), Some(&[2][..]));
    assert!(
        i.item("C")
            .is_some_and(|c| c.is_top_box(2) && !c.is_top_box(1))
    );
    // As a reader names them: one answer by its label, consecutive values as a range.
    let label = |code: &str| i.item(code).map(|it| i.top_box_label(it));
    assert_eq!(label("A").map(|t| t.fr), Some("Toujours".to_string()));
    assert_eq!(label("A").map(|t| t.en), Some("Always".to_string()));
    assert_eq!(label("B").map(|t| t.en), Some("1–2".to_string()));
    assert_eq!(label("C").map(|t| t.fr), Some("2".to_string()));
}

#[test]
fn bad_instruments_name_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    // A top box outside the scale (line 8), an unknown scale (line 18), a duplicated item
    // (line 20), a missing English wording (line 26).
    let bad = GOOD
        .replace(
            "top_box: [2]\n    not_applicable",
            "top_box: [3]\n    not_applicable",
        )
        .replace(
            "  - code: A\n    scale: freq",
            "  - code: A\n    scale: frequency",
        )
        .replace("code: B", "code: A")
        .replace(
            "wording: { fr: Question C ?, en: Question C? }",
            "wording: { fr: Question C ? }",
        );
    let path = write(dir.path(), "bad.yaml", &bad);
    let err = load_instrument(&path).expect_err("invalid");
    let text = err.to_string();
    let has = |line: usize, key: &str, words: &str| {
        err.problems().iter().any(|p| {
            p.file == path && p.line == Some(line) && p.key == key && p.message.contains(words)
        })
    };
    assert!(
        has(
            8,
            "scales.freq.top_box",
            "3 is not a value of scale freq (values: 1, 2)"
        ),
        "{text}"
    );
    assert!(
        has(
            18,
            "items[0].scale",
            "unknown scale \"frequency\" (scales of this file: freq, nps)"
        ),
        "{text}"
    );
    assert!(
        has(
            20,
            "items[1].code",
            "item A is declared twice (first at items[0])"
        ),
        "{text}"
    );
    assert!(
        has(
            26,
            "items[2].wording.en",
            "item C has no English text: add `en: ...` / la question C n'a pas de texte en anglais"
        ),
        "{text}"
    );
    assert!(text.contains("bad.yaml:18: items[0].scale"), "{text}");
    assert_eq!(err.problems().len(), 4, "{text}");
}

#[test]
fn values_are_ordinal_and_labelled_and_a_top_box_is_required() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = GOOD
        .replace(
            "{ value: 2, fr: Toujours, en: Always }",
            "{ value: 1, en: Always }",
        )
        .replace("    top_box: [1, 2]\n", "");
    let err = load_instrument(&write(dir.path(), "o.yaml", &bad)).expect_err("invalid");
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "scales.freq.values[1].value",
            "scales.freq.values[1].fr",
            "scales.freq.top_box",
            "scales.nps.top_box",
        ],
        "{err}"
    );
    // A missing key or a wrong type is located by the deserialisation.
    let err = load_instrument(&write(
        dir.path(),
        "t.yaml",
        &GOOD.replace("value: 0,", "value: zero,"),
    ))
    .expect_err("invalid");
    assert_eq!(err.problems()[0].line, Some(12), "{err}");
}

/// A survey source of the instrument `GOOD` (lines numbered for the tests below).
const SOURCE: &str = "source: s
partner: P
files: \"s/*.csv\"
format: { type: csv }
unpivot: { columns: [A, B, C] }
entity: survey_response
survey:
  instrument: i.yaml
  answers:
    freq: { Never: 1, Jamais: 1, Always: 2, Toujours: 2, N/A: not_applicable }
    nps: { 0: 0, 1: 1, \"2\": 2 }
fields:
  response_id: { from: id }
  team: { from: team }
  completed_date: { from: date }
  item_code: { from: $name }
  answer: { from: $value }
";

#[test]
fn a_survey_source_binds_the_partner_answers_to_the_scales() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "i.yaml", GOOD);
    let spec = load_source(&write(dir.path(), "s.yaml", SOURCE)).unwrap_or_else(|e| panic!("{e}"));
    let binding = spec
        .survey
        .as_ref()
        .and_then(|s| s.binding.as_ref())
        .expect("bound");
    assert_eq!(binding.instrument().id(), "test");
    assert_eq!(binding.answer("freq", "Toujours"), Some(Answer::Value(2)));
    assert_eq!(binding.answer("freq", "N/A"), Some(Answer::NotApplicable));
    // Unquoted and quoted numbers are the same partner codes.
    assert_eq!(binding.answer("nps", "0"), Some(Answer::Value(0)));
    assert_eq!(binding.answer("nps", "2"), Some(Answer::Value(2)));
    // An answer of another scale is not one of this scale.
    assert_eq!(binding.answer("nps", "Always"), None);
}

#[test]
fn survey_answers_are_checked_against_the_instrument() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "i.yaml", GOOD);
    let bad = SOURCE
        .replace("Toujours: 2,", "Toujours: 5,")
        .replace("    nps: { 0: 0, 1: 1, \"2\": 2 }\n", "    nsp: { 0: 0 }\n")
        .replace("[A, B, C]", "[A, B, C, D]")
        .replace(
            "answer: { from: $value }",
            "answer: { from: $value, range: [1, 4] }",
        );
    let path = write(dir.path(), "s.yaml", &bad);
    let err = load_source(&path).expect_err("invalid");
    let text = err.to_string();
    let has = |line: usize, key: &str, words: &str| {
        err.problems().iter().any(|p| {
            p.file == path && p.line == Some(line) && p.key == key && p.message.contains(words)
        })
    };
    assert!(
        has(
            10,
            "survey.answers.freq.Toujours",
            "maps to \"5\", which is not a value of scale freq (values: 1, 2"
        ),
        "{text}"
    );
    assert!(
        has(11, "survey.answers.nsp", "unknown scale \"nsp\""),
        "{text}"
    );
    assert!(
        has(
            9,
            "survey.answers",
            "no answer of the partner maps to scale nps (items B, C)"
        ),
        "{text}"
    );
    assert!(
        has(
            5,
            "unpivot.columns[3]",
            "D is not an item of the instrument test"
        ),
        "{text}"
    );
    assert!(has(17, "fields.answer.range", "remove `range`"), "{text}");
    assert_eq!(err.problems().len(), 5, "{text}");
}

#[test]
fn non_answers_must_be_offered_by_the_scale_and_the_instrument_must_exist() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "i.yaml", GOOD);
    let na = SOURCE.replace(
        "\"2\": 2 }",
        "\"2\": 2, S.O.: not_applicable, Refus: missing }",
    );
    let err = load_source(&write(dir.path(), "n.yaml", &na)).expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("scale nps has no \"not applicable\" answer"),
        "{text}"
    );
    assert!(
        text.contains("scale nps has no \"missing\" answer"),
        "{text}"
    );
    let missing = SOURCE.replace("instrument: i.yaml", "instrument: nowhere.yaml");
    let err = load_source(&write(dir.path(), "m.yaml", &missing)).expect_err("invalid");
    assert!(
        err.to_string()
            .contains("m.yaml:8: survey.instrument: cannot read the instrument file"),
        "{err}"
    );
    // An instrument's own problems name the instrument file.
    write(
        dir.path(),
        "bad.yaml",
        &GOOD.replace("scale: nps\n    top_box", "scale: xyz\n    top_box"),
    );
    let err = load_source(&write(
        dir.path(),
        "b.yaml",
        &SOURCE.replace("i.yaml", "bad.yaml"),
    ))
    .expect_err("invalid");
    assert!(
        err.to_string()
            .contains("bad.yaml:24: items[2].scale: item C: unknown scale"),
        "{err}"
    );
    // A survey source without an instrument.
    let cut: String = SOURCE
        .lines()
        .enumerate()
        .filter(|(i, _)| !(6..=10).contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let err = load_source(&write(dir.path(), "w.yaml", &cut)).expect_err("invalid");
    assert!(
        err.to_string()
            .contains("w.yaml:6: entity: a survey source names its instrument"),
        "{err}"
    );
}

#[test]
fn two_instruments_of_a_pipeline_never_share_an_item_code() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "i.yaml", GOOD);
    write(
        dir.path(),
        "j.yaml",
        &GOOD.replace("instrument: test", "instrument: other"),
    );
    write(dir.path(), "s.yaml", SOURCE);
    write(
        dir.path(),
        "t.yaml",
        &SOURCE
            .replace("source: s", "source: t")
            .replace("i.yaml", "j.yaml"),
    );
    let pipe = write(
        dir.path(),
        "p.yaml",
        "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [s.yaml, t.yaml]\n",
    );
    let err = load_pipeline(&pipe).expect_err("shared codes");
    assert!(
        err.to_string().contains("share the item code(s) A, B, C"),
        "{err}"
    );
    // One instrument shared by two sources is one instrument.
    write(
        dir.path(),
        "t.yaml",
        &SOURCE.replace("source: s", "source: t"),
    );
    let loaded = load_pipeline(&pipe).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.instruments().len(), 1);
}
