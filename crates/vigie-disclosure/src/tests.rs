//! Hand-built examples with expected outputs.

use crate::{
    ALL, Cell, CountField, CountFields, DisclosureConfig, Lang, LeakKind, OrgLevel,
    SuppressionReason, apply, check, check_all, publishable_count,
};

use SuppressionReason::{BelowMinimumDenominator, Complementary, SmallCount};

const IND: &str = "ind";
const PER: &str = "P";

/// An additive proportion cell with both fields declared counts.
fn cell(
    level: OrgLevel,
    unit: &str,
    parent: Option<&str>,
    stratum: (&str, &str),
    num: f64,
    den: f64,
) -> Cell {
    let value = num / den;
    Cell {
        indicator: IND.to_owned(),
        period: PER.to_owned(),
        org_level: level,
        org_unit: unit.to_owned(),
        parent_unit: parent.map(str::to_owned),
        stratum_dimension: stratum.0.to_owned(),
        stratum_value: stratum.1.to_owned(),
        numerator: Some(num),
        denominator: Some(den),
        value: Some(value),
        ci_low: Some(value * 0.9),
        ci_high: Some(value * 1.1),
        count_fields: CountFields::BOTH,
        min_denominator: None,
        additive: true,
        suppressed: None,
    }
}

fn team(unit: &str, stratum: (&str, &str), num: f64) -> Cell {
    cell(OrgLevel::Team, unit, Some("R"), stratum, num, 1000.0)
}

fn region(stratum: (&str, &str), num: f64) -> Cell {
    cell(OrgLevel::Region, "R", None, stratum, num, 1000.0)
}

const TOTAL: (&str, &str) = (ALL, ALL);

fn get<'a>(cells: &'a [Cell], unit: &str, stratum: (&str, &str)) -> &'a Cell {
    cells
        .iter()
        .find(|c| {
            c.org_unit == unit && c.stratum_dimension == stratum.0 && c.stratum_value == stratum.1
        })
        .expect("cell present")
}

fn reason(cells: &[Cell], unit: &str, stratum: (&str, &str)) -> Option<SuppressionReason> {
    get(cells, unit, stratum).suppressed
}

fn cfg() -> DisclosureConfig {
    DisclosureConfig::default()
}

/// Applies, asserts the output passes `check` and that `apply` is idempotent.
fn run(cells: Vec<Cell>) -> Vec<Cell> {
    let out = apply(cells, &cfg());
    assert_eq!(check(&out, &cfg()), Ok(()));
    assert_eq!(apply(out.clone(), &cfg()), out);
    out
}

#[test]
fn primary_suppresses_one_to_five_but_not_zero_or_six() {
    let cells: Vec<Cell> = [0.0, 1.0, 2.0, 5.0, 6.0, 7.0]
        .into_iter()
        .enumerate()
        .map(|(i, n)| team(&format!("T{i}"), TOTAL, n))
        .collect();
    let out = run(cells);
    let reasons: Vec<_> = out.iter().map(|c| c.suppressed).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(SmallCount),
            Some(SmallCount),
            Some(SmallCount),
            None,
            None
        ]
    );
    assert_eq!(get(&out, "T0", TOTAL).numerator, Some(0.0));
    assert_eq!(get(&out, "T4", TOTAL).numerator, Some(6.0));
}

#[test]
fn suppressed_cell_publishes_nothing_derived() {
    let out = run(vec![team("T1", TOTAL, 3.0)]);
    let c = &out[0];
    assert_eq!(c.suppressed, Some(SmallCount));
    assert_eq!(
        (c.numerator, c.denominator, c.value, c.ci_low, c.ci_high),
        (None, None, None, None, None)
    );
    // Identity is kept so the writer can print the reason in place.
    assert_eq!(c.org_unit, "T1");
}

#[test]
fn small_denominator_count_is_suppressed_but_person_time_is_not() {
    // 0 events among 4 persons: the 4 is a small count.
    let persons = cell(OrgLevel::Team, "T1", None, TOTAL, 0.0, 4.0);
    // 10 events over 3.5 person-years: the denominator is not a count.
    let mut person_time = cell(OrgLevel::Team, "T2", None, TOTAL, 10.0, 3.5);
    person_time.count_fields = CountFields::NUMERATOR;
    // No count field at all (e.g. a mean cost): never small-count suppressed.
    let mut mean_cost = cell(OrgLevel::Team, "T3", None, TOTAL, 2.0, 2.0);
    mean_cost.count_fields = CountFields::NONE;
    let out = run(vec![persons, person_time, mean_cost]);
    assert_eq!(reason(&out, "T1", TOTAL), Some(SmallCount));
    assert_eq!(reason(&out, "T2", TOTAL), None);
    assert_eq!(get(&out, "T2", TOTAL).denominator, Some(3.5));
    assert_eq!(reason(&out, "T3", TOTAL), None);
}

#[test]
fn minimum_denominator_has_its_own_reason() {
    let mk = |unit: &str, num: f64, den: f64| {
        let mut c = cell(OrgLevel::Team, unit, None, TOTAL, num, den);
        c.min_denominator = Some(10.0);
        c
    };
    let mut missing = mk("T4", 7.0, 20.0);
    missing.denominator = None;
    let out = run(vec![
        mk("T1", 7.0, 9.0),
        mk("T2", 7.0, 10.0),
        mk("T3", 3.0, 9.0),
        missing,
    ]);
    assert_eq!(reason(&out, "T1", TOTAL), Some(BelowMinimumDenominator));
    assert_eq!(reason(&out, "T2", TOTAL), None);
    // A small count takes precedence.
    assert_eq!(reason(&out, "T3", TOTAL), Some(SmallCount));
    // Fail-closed: the minimum cannot be verified without a denominator.
    assert_eq!(reason(&out, "T4", TOTAL), Some(BelowMinimumDenominator));
}

#[test]
fn threshold_is_configurable() {
    let cells = vec![
        team("T1", TOTAL, 10.0),
        team("T2", TOTAL, 11.0),
        team("T3", TOTAL, 5.0),
    ];
    let eleven = DisclosureConfig::new(11);
    let out = apply(cells.clone(), &eleven);
    assert_eq!(out[0].suppressed, Some(SmallCount));
    assert_eq!(out[1].suppressed, None);
    assert_eq!(check(&out, &eleven), Ok(()));
    let none = DisclosureConfig::new(1);
    assert!(apply(cells, &none).iter().all(|c| c.suppressed.is_none()));
}

#[test]
fn invalid_counts_fail_closed() {
    let mut neg = team("T1", TOTAL, -1.0);
    neg.value = None;
    let nan = team("T2", TOTAL, f64::NAN);
    let frac = team("T3", TOTAL, 2.5);
    let out = run(vec![neg, nan, frac]);
    assert!(out.iter().all(|c| c.suppressed == Some(SmallCount)));
}

#[test]
fn free_standing_counts() {
    let cfg = cfg();
    assert_eq!(publishable_count(0, &cfg), Some(0));
    for n in 1..=5 {
        assert_eq!(publishable_count(n, &cfg), None);
    }
    assert_eq!(publishable_count(6, &cfg), Some(6));
    assert_eq!(publishable_count(12, &cfg), Some(12));
    assert_eq!(publishable_count(10, &DisclosureConfig::new(11)), None);
}

#[test]
fn complementary_within_strata() {
    // F = 3 is primary; X = 7 is the smallest other cell; M and the total stay.
    let out = run(vec![
        team("T1", TOTAL, 40.0),
        team("T1", ("sex", "F"), 3.0),
        team("T1", ("sex", "M"), 30.0),
        team("T1", ("sex", "X"), 7.0),
    ]);
    assert_eq!(reason(&out, "T1", ("sex", "F")), Some(SmallCount));
    assert_eq!(reason(&out, "T1", ("sex", "X")), Some(Complementary));
    assert_eq!(reason(&out, "T1", ("sex", "M")), None);
    assert_eq!(reason(&out, "T1", TOTAL), None);
}

#[test]
fn complementary_prefers_non_zero_cells() {
    // Suppressing X = 0 would leave F + X = 3 = F: M is taken instead.
    let out = run(vec![
        team("T1", TOTAL, 40.0),
        team("T1", ("sex", "F"), 3.0),
        team("T1", ("sex", "M"), 37.0),
        team("T1", ("sex", "X"), 0.0),
    ]);
    assert_eq!(reason(&out, "T1", ("sex", "M")), Some(Complementary));
    assert_eq!(reason(&out, "T1", ("sex", "X")), None);
}

#[test]
fn complementary_ties_break_on_key_not_input_order() {
    let cells = vec![
        team("T1", TOTAL, 23.0),
        team("T1", ("sex", "F"), 3.0),
        team("T1", ("sex", "X"), 10.0),
        team("T1", ("sex", "M"), 10.0),
    ];
    let mut reversed = cells.clone();
    reversed.reverse();
    for input in [cells, reversed] {
        let out = run(input);
        assert_eq!(reason(&out, "T1", ("sex", "M")), Some(Complementary));
        assert_eq!(reason(&out, "T1", ("sex", "X")), None);
    }
}

#[test]
fn single_member_set_suppresses_the_total() {
    // A dimension with one published value equals the total.
    let out = run(vec![
        team("T1", TOTAL, 4.0 + 20.0),
        team("T1", ("sex", "F"), 4.0),
    ]);
    assert_eq!(reason(&out, "T1", ("sex", "F")), Some(SmallCount));
    assert_eq!(reason(&out, "T1", TOTAL), Some(Complementary));
}

#[test]
fn complementary_across_teams_of_a_region() {
    let out = run(vec![
        region(TOTAL, 53.0),
        team("T1", TOTAL, 3.0),
        team("T2", TOTAL, 20.0),
        team("T3", TOTAL, 30.0),
    ]);
    assert_eq!(reason(&out, "T1", TOTAL), Some(SmallCount));
    assert_eq!(reason(&out, "T2", TOTAL), Some(Complementary));
    assert_eq!(reason(&out, "T3", TOTAL), None);
    assert_eq!(reason(&out, "R", TOTAL), None);
}

#[test]
fn no_equation_without_the_total() {
    // The region is not published: the teams give no equation.
    let out = run(vec![team("T1", TOTAL, 3.0), team("T2", TOTAL, 20.0)]);
    assert_eq!(reason(&out, "T2", TOTAL), None);
}

#[test]
fn complementary_suppression_chains_across_sets() {
    //        F   M  all
    // T1     3  20   23
    // T2    10  12   22
    // T3    15   8   23
    // R     28  40   68
    let mut cells = Vec::new();
    for (unit, f, m) in [("T1", 3.0, 20.0), ("T2", 10.0, 12.0), ("T3", 15.0, 8.0)] {
        cells.push(team(unit, ("sex", "F"), f));
        cells.push(team(unit, ("sex", "M"), m));
        cells.push(team(unit, TOTAL, f + m));
    }
    cells.push(region(("sex", "F"), 28.0));
    cells.push(region(("sex", "M"), 40.0));
    cells.push(region(TOTAL, 68.0));
    let out = run(cells);
    // T1 F primary -> T1 M (strata of T1) and T2 F (teams, sex = F);
    // T1 M alone among the teams for sex = M is covered by T2 M, which T2 F
    // already required within the strata of T2.
    assert_eq!(reason(&out, "T1", ("sex", "F")), Some(SmallCount));
    assert_eq!(reason(&out, "T1", ("sex", "M")), Some(Complementary));
    assert_eq!(reason(&out, "T2", ("sex", "F")), Some(Complementary));
    assert_eq!(reason(&out, "T2", ("sex", "M")), Some(Complementary));
    let published: Vec<_> = out
        .iter()
        .filter(|c| c.suppressed.is_none())
        .map(|c| (c.org_unit.as_str(), c.stratum_value.as_str()))
        .collect();
    assert_eq!(
        published,
        [
            ("T1", ALL),
            ("T2", ALL),
            ("T3", "F"),
            ("T3", "M"),
            ("T3", ALL),
            ("R", "F"),
            ("R", "M"),
            ("R", ALL)
        ]
    );
}

#[test]
fn non_additive_indicators_get_primary_only() {
    let mut cells = vec![
        team("T1", TOTAL, 40.0),
        team("T1", ("sex", "F"), 3.0),
        team("T1", ("sex", "M"), 30.0),
        team("T1", ("sex", "X"), 7.0),
        region(TOTAL, 60.0),
        team("T2", TOTAL, 20.0),
    ];
    for c in &mut cells {
        c.additive = false; // e.g. a median wait time
    }
    let out = run(cells);
    let suppressed: Vec<_> = out.iter().filter_map(|c| c.suppressed).collect();
    assert_eq!(suppressed, [SmallCount]);
}

#[test]
fn suppression_on_input_is_kept_and_its_total_protected() {
    // A total withheld upstream, members all published: one member must go.
    let mut total = team("T1", TOTAL, 40.0);
    total.suppressed = Some(BelowMinimumDenominator);
    let out = run(vec![
        total,
        team("T1", ("sex", "F"), 15.0),
        team("T1", ("sex", "M"), 25.0),
    ]);
    assert_eq!(reason(&out, "T1", TOTAL), Some(BelowMinimumDenominator));
    assert_eq!(get(&out, "T1", TOTAL).numerator, None);
    assert_eq!(reason(&out, "T1", ("sex", "F")), Some(Complementary));
}

#[test]
fn sites_add_up_to_their_team() {
    let site = |unit: &str, num: f64| cell(OrgLevel::Site, unit, Some("T1"), TOTAL, num, 100.0);
    let out = run(vec![
        team("T1", TOTAL, 30.0),
        site("S1", 2.0),
        site("S2", 28.0),
    ]);
    assert_eq!(reason(&out, "S1", TOTAL), Some(SmallCount));
    assert_eq!(reason(&out, "S2", TOTAL), Some(Complementary));
    assert_eq!(reason(&out, "T1", TOTAL), None);
}

#[test]
fn check_reports_each_leak() {
    let cfg = cfg();
    // A published small count.
    let leaks = check_all(&[team("T1", TOTAL, 3.0)], &cfg);
    assert_eq!(leaks.len(), 1);
    assert_eq!(
        leaks[0].kind,
        LeakKind::SmallCountPublished {
            field: CountField::Numerator
        }
    );
    // Below the minimum denominator.
    let mut low = team("T1", TOTAL, 8.0);
    low.min_denominator = Some(2000.0);
    assert_eq!(
        check(&[low], &cfg).map_err(|l| l.kind),
        Err(LeakKind::BelowMinimumDenominatorPublished)
    );
    // A suppressed cell still publishing its value.
    let mut derived = team("T1", TOTAL, 3.0);
    derived.suppressed = Some(SmallCount);
    derived.numerator = None;
    derived.denominator = None;
    assert_eq!(
        check(&[derived], &cfg).map_err(|l| l.kind),
        Err(LeakKind::PublishedOnSuppressedCell { field: "value" })
    );
    // An additive set with one suppressed cell.
    let mut cells = vec![
        region(TOTAL, 53.0),
        team("T1", TOTAL, 3.0),
        team("T2", TOTAL, 50.0),
    ];
    cells[1].suppressed = Some(SmallCount);
    cells[1] = apply(vec![cells[1].clone()], &cfg).remove(0);
    let leak = check(&cells, &cfg).expect_err("recoverable");
    assert_eq!(*leak.cell, cells[1].key());
    assert_eq!(
        leak.kind,
        LeakKind::RecoverableBySubtraction {
            total: Box::new(cells[0].key())
        }
    );
    // A non-additive set is not an equation.
    for c in &mut cells {
        c.additive = false;
    }
    assert_eq!(check(&cells, &cfg), Ok(()));
}

#[test]
fn leak_message_names_the_cell_but_not_the_count() {
    let leak = check(&[team("T1", ("sex", "F"), 3.0)], &cfg()).expect_err("leak");
    let msg = leak.to_string();
    assert!(
        msg.contains("indicator ind, period P, team T1, stratum sex=F"),
        "{msg}"
    );
    assert!(msg.contains("numerator"), "{msg}");
    assert!(!msg.contains('3'), "{msg}");
}

#[test]
fn labels_in_both_languages() {
    let cfg = cfg();
    assert_eq!(
        SmallCount.footnote(Lang::Fr, &cfg),
        "Cellule supprimée : effectif de 1 à 5"
    );
    assert_eq!(
        SmallCount.footnote(Lang::En, &cfg),
        "Suppressed: count from 1 to 5"
    );
    assert_eq!(
        SmallCount.footnote(Lang::En, &DisclosureConfig::new(11)),
        "Suppressed: count from 1 to 10"
    );
    assert_eq!(
        SmallCount.footnote(Lang::Fr, &DisclosureConfig::new(2)),
        "Cellule supprimée : effectif égal à 1"
    );
    for r in [SmallCount, BelowMinimumDenominator, Complementary] {
        assert_ne!(r.label(Lang::Fr), r.label(Lang::En));
        assert!(!r.label(Lang::En).is_empty());
    }
    assert_eq!(
        Complementary.footnote(Lang::En, &cfg),
        Complementary.label(Lang::En)
    );
    assert!(
        SmallCount.is_primary()
            && BelowMinimumDenominator.is_primary()
            && !Complementary.is_primary()
    );
}

#[test]
fn stored_codes_round_trip_and_unknown_codes_are_not_read_as_known() {
    for r in SuppressionReason::ALL {
        assert_eq!(SuppressionReason::from_code(r.code()), Some(r));
    }
    assert_eq!(SuppressionReason::from_code("small"), None);
    assert_eq!(SuppressionReason::from_code(""), None);
    for l in [OrgLevel::Region, OrgLevel::Team, OrgLevel::Site] {
        assert_eq!(OrgLevel::from_code(l.as_str()), Some(l));
    }
    assert_eq!(OrgLevel::from_code("hospital"), None);
}
