//! The guards at their boundaries, on files parsed by the real parser. The test sources
//! hold a file above 10% rejected records or above a 20% shrink, from 10 records
//! (`test_support`): exactly at a threshold applies the file, one record more holds it.

use std::collections::HashMap;

use vigie_model::config::FilePattern;

use super::*;
use crate::test_support::{CLINIC, REGISTRY, VISITS, parse, registry_csv, source, visits_csv};

const JANUARY: &str = "visits/ed_202401.csv";

/// Rows the warehouse holds now, per (table, source, month).
fn now(rows: &[(&'static str, &str, Option<&str>, u64)]) -> ReplacedRows {
    ReplacedRows(
        rows.iter()
            .map(|(table, source, month, n)| {
                ((*table, source.to_string(), month.map(str::to_string)), *n)
            })
            .collect::<HashMap<_, _>>(),
        HashMap::new(),
    )
}

/// Why a January visits file of `rows` good and `bad` rejected records is held, with
/// `january` rows of the source in the warehouse now.
fn visits_hold(january: u64, rows: u64, bad: u64) -> Option<String> {
    let spec = source(VISITS);
    let period = FilePattern::parse(&spec.files)
        .expect("pattern")
        .period(JANUARY);
    let outcome = parse(&spec, JANUARY, &visits_csv("2024-01", 0, rows, bad));
    assert_eq!(outcome.rows_rejected, bad, "the bad records are rejected");
    now(&[("ed_visit", "visits", Some("2024-01"), january)]).hold_reason(
        &spec,
        period.as_ref(),
        JANUARY,
        &outcome,
    )
}

/// Why an appended clinic file of `rows` good and `bad` rejected records is held.
fn clinic_hold(rows: u64, bad: u64) -> Option<String> {
    let spec = source(CLINIC);
    let outcome = parse(&spec, "clinic/a.csv", &visits_csv("2024-01", 0, rows, bad));
    ReplacedRows::default().hold_reason(&spec, None, "clinic/a.csv", &outcome)
}

/// Why a registry snapshot of `rows` good and `bad` records is held, with `held_now`
/// persons in the warehouse.
fn registry_hold(held_now: u64, rows: u64, bad: u64) -> Option<String> {
    let spec = source(REGISTRY);
    let outcome = parse(&spec, "registry/people.csv", &registry_csv(rows, bad));
    now(&[("person", "registry", None, held_now)]).hold_reason(
        &spec,
        None,
        "registry/people.csv",
        &outcome,
    )
}

#[test]
fn exactly_max_rejected_pct_is_applied_and_one_record_more_is_held() {
    assert_eq!(clinic_hold(90, 10), None, "10 of 100 is exactly 10%");
    let reason = clinic_hold(89, 11).expect("11 of 100 is above 10%");
    assert_eq!(
        reason,
        "11 of 100 records rejected (11.0%, above the source's guards.max_rejected_pct of 10%)"
    );
}

#[test]
fn fewer_rejected_records_than_min_rows_never_hold() {
    assert_eq!(clinic_hold(11, 9), None, "45% rejected, but only 9 records");
    assert!(
        clinic_hold(10, 10).is_some(),
        "50% rejected, 10 records: min_rows reached"
    );
}

#[test]
fn exactly_max_shrink_pct_is_applied_and_one_row_fewer_is_held() {
    assert_eq!(visits_hold(100, 80, 0), None, "100 -> 80 is exactly -20%");
    let reason = visits_hold(100, 79, 0).expect("100 -> 79 is -21%");
    assert_eq!(
        reason,
        "ed_visit 2024-01: 100 rows would become 79 (-21%, above the source's guards.max_shrink_pct of 20%)"
    );
}

#[test]
fn a_shrink_by_fewer_rows_than_min_rows_never_holds() {
    assert_eq!(visits_hold(20, 11, 0), None, "-45%, but only 9 rows fewer");
    assert!(
        visits_hold(20, 10, 0).is_some(),
        "-50%, 10 rows fewer: min_rows reached"
    );
}

#[test]
fn growth_and_new_months_never_hold() {
    assert_eq!(visits_hold(10, 500, 0), None);
    assert_eq!(visits_hold(0, 5, 0), None, "nothing there yet");
}

#[test]
fn the_shrink_is_measured_per_declared_month_only() {
    let spec = source(VISITS);
    let period = FilePattern::parse(&spec.files)
        .expect("pattern")
        .period(JANUARY);
    let outcome = parse(&spec, JANUARY, &visits_csv("2024-01", 0, 100, 0));
    // February is not the file's to replace: its 1000 rows do not count.
    let rows = now(&[
        ("ed_visit", "visits", Some("2024-01"), 100),
        ("ed_visit", "visits", Some("2024-02"), 1000),
        ("ed_visit", "other", Some("2024-01"), 1000),
    ]);
    assert_eq!(
        rows.hold_reason(&spec, period.as_ref(), JANUARY, &outcome),
        None
    );
}

#[test]
fn a_replace_file_without_an_accepted_record_is_held_when_it_would_remove_rows() {
    assert_eq!(
        registry_hold(50, 0, 0).as_deref(),
        Some("the file holds no records (header only) and would remove the 50 rows it replaces")
    );
    assert_eq!(
        registry_hold(50, 0, 5).as_deref(),
        Some("no record accepted (5 read, all rejected): it would remove the 50 rows it replaces"),
        "5 rejected records are below min_rows, but everything would go"
    );
    assert_eq!(registry_hold(0, 0, 0), None, "nothing to remove");
}

#[test]
fn a_snapshot_shrink_is_measured_over_the_whole_source() {
    assert_eq!(registry_hold(1000, 800, 0), None, "exactly -20%");
    assert_eq!(
        registry_hold(1000, 799, 0).as_deref(),
        Some(
            "person: 1000 rows would become 799 (-20%, above the source's guards.max_shrink_pct of 20%)"
        ),
        "-20.1%, shown rounded"
    );
}

#[test]
fn every_reason_is_given() {
    let reason = registry_hold(1000, 100, 20).expect("held");
    let reasons: Vec<&str> = reason.split("; ").collect();
    assert_eq!(reasons.len(), 2, "{reason}");
    assert!(
        reasons[0].starts_with("20 of 120 records rejected"),
        "{reason}"
    );
    assert!(
        reasons[1].starts_with("person: 1000 rows would become 100"),
        "{reason}"
    );
}

#[test]
fn an_applied_file_is_what_the_next_one_is_compared_with() {
    let spec = source(VISITS);
    let period = FilePattern::parse(&spec.files)
        .expect("pattern")
        .period(JANUARY);
    let mut rows = now(&[("ed_visit", "visits", Some("2024-01"), 100)]);
    let file = |n: u64| parse(&spec, JANUARY, &visits_csv("2024-01", 0, n, 0));
    let first = file(80);
    assert_eq!(
        rows.hold_reason(&spec, period.as_ref(), JANUARY, &first),
        None
    );
    rows.apply(&spec, period.as_ref(), JANUARY, &first);
    // Now 80: 64 is exactly -20% of it, 63 is held (it would not be against the 100).
    assert_eq!(
        rows.hold_reason(&spec, period.as_ref(), JANUARY, &file(64)),
        None
    );
    assert!(
        rows.hold_reason(&spec, period.as_ref(), JANUARY, &file(63))
            .is_some()
    );

    // An appended file replaces no month: applying it records only its own rows, what a
    // version of it sent again would replace.
    let clinic = source(CLINIC);
    let mut appended = ReplacedRows::default();
    appended.apply(
        &clinic,
        None,
        "clinic/a.csv",
        &parse(&clinic, "clinic/a.csv", &visits_csv("2024-01", 0, 5, 0)),
    );
    assert!(appended.0.is_empty());
    assert_eq!(
        appended
            .1
            .get(&("ed_visit", "clinic".to_string(), "clinic/a.csv".to_string())),
        Some(&5)
    );
}

#[test]
fn an_appended_file_is_never_held_for_a_shrink() {
    // 3 rows where the warehouse holds 100 of the source: an append adds, it removes
    // nothing (even a rows-per-month entry for it would not count).
    let spec = source(CLINIC);
    let outcome = parse(&spec, "clinic/b.csv", &visits_csv("2024-01", 0, 3, 0));
    let rows = now(&[
        ("ed_visit", "clinic", Some("2024-01"), 100),
        ("ed_visit", "clinic", None, 100),
    ]);
    assert_eq!(
        rows.hold_reason(&spec, None, "clinic/b.csv", &outcome),
        None
    );
}

#[test]
fn an_appended_file_sent_again_smaller_under_its_name_is_held() {
    // A file sent again under its name replaces the rows its earlier version loaded: 100
    // of them would become 3, or none.
    let spec = source(CLINIC);
    let mut rows = ReplacedRows::default();
    rows.1.insert(
        ("ed_visit", "clinic".to_string(), "clinic/b.csv".to_string()),
        100,
    );
    let smaller = parse(&spec, "clinic/b.csv", &visits_csv("2024-01", 0, 3, 0));
    assert_eq!(
        rows.hold_reason(&spec, None, "clinic/b.csv", &smaller)
            .as_deref(),
        Some(
            "ed_visit (file clinic/b.csv): 100 rows would become 3 (-97%, above the source's guards.max_shrink_pct of 20%)"
        )
    );
    let header_only = parse(&spec, "clinic/b.csv", &visits_csv("2024-01", 0, 0, 0));
    assert_eq!(
        rows.hold_reason(&spec, None, "clinic/b.csv", &header_only)
            .as_deref(),
        Some("the file holds no records (header only) and would remove the 100 rows it replaces")
    );
    // Another name removes nothing; the same name at its size, or larger, is applied.
    assert_eq!(
        rows.hold_reason(&spec, None, "clinic/c.csv", &smaller),
        None
    );
    let same = parse(&spec, "clinic/b.csv", &visits_csv("2024-01", 0, 100, 0));
    assert_eq!(rows.hold_reason(&spec, None, "clinic/b.csv", &same), None);
    // Applied, it is what the next version of the file is compared with.
    rows.apply(&spec, None, "clinic/b.csv", &smaller);
    assert_eq!(
        rows.hold_reason(&spec, None, "clinic/b.csv", &smaller),
        None
    );
}

#[test]
fn a_file_with_every_record_rejected_is_held_even_when_it_replaces_nothing() {
    // Loaded, it left its month empty and the run's exit said all went well.
    assert_eq!(
        clinic_hold(0, 40).as_deref(),
        Some(
            "40 of 40 records rejected (100.0%, above the source's guards.max_rejected_pct of 10%)"
        )
    );
    assert_eq!(
        visits_hold(0, 0, 40).as_deref(),
        Some(
            "40 of 40 records rejected (100.0%, above the source's guards.max_rejected_pct of 10%)"
        ),
        "a first month: nothing replaced"
    );
    assert_eq!(
        registry_hold(0, 0, 12).as_deref(),
        Some(
            "12 of 12 records rejected (100.0%, above the source's guards.max_rejected_pct of 10%)"
        )
    );
    // Below min_rows: not held for its share, as any file.
    assert_eq!(clinic_hold(0, 9), None);
    // What it would remove is said once, not twice.
    assert_eq!(
        registry_hold(50, 0, 12).as_deref(),
        Some("no record accepted (12 read, all rejected): it would remove the 50 rows it replaces")
    );
}
