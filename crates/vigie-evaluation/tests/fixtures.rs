//! Hand-computed fixtures: every expected number is worked out in the
//! comments from the definitions, independently of the code.

use crate::common::TestResult;
use chrono::NaiveDate;
use vigie_evaluation::{
    Enrolment, Enrolments, EvaluationConfig, EventSeries, Events, Group, Outcome, Population, Sex,
    TeamScope, adjusted_cohort, adjusted_estimates, case_finding, evaluate,
    first_eligibility_dates, naive_before_after,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap_or(NaiveDate::MIN)
}

/// Data 2023-01-01 .. 2026-01-01 (exclusive); 2023 has 365 days, so
/// eligibility is looked for from 2024-01-01.
fn cfg() -> EvaluationConfig {
    let mut c = EvaluationConfig::new(d("2023-01-01"), d("2026-01-01"));
    c.bootstrap.replicates = 500;
    c.bootstrap.seed = 11;
    c
}

fn events(n: usize, ed: &[(u32, &str)], adm: &[(u32, &str)]) -> Events {
    let s = |x: &[(u32, &str)]| {
        EventSeries::from_pairs(n, x.iter().map(|&(p, t)| (p, d(t)))).unwrap_or_default()
    };
    Events::new(s(ed), s(adm)).unwrap_or_default()
}

fn enrol(person: u32, team: &str, date: &str) -> Enrolment {
    Enrolment {
        person,
        program: "PSM".into(),
        team: team.into(),
        enrolment_date: d(date),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---------------------------------------------------------------- eligibility

/// Persons:
/// * 0 (T1): ED 2024-03-01..05, one a day → 5 visits in [d-365, d) first on
///   d = 2024-03-06 (day after the 5th; the day itself is excluded).
/// * 1 (T1): ED on the 1st of Jun..Oct 2023 → already 5 in the window on the
///   earliest day, 2024-01-01 (window [2023-01-01, 2024-01-01)).
/// * 2 (T2): admissions 2024-02-03, 2024-05-01, 2025-01-31 → 3 in the window
///   on 2025-02-01 (2025-02-01 - 365 = 2024-02-02 ≤ 2024-02-03).
/// * 3 (T2): 4 ED visits and 2 admissions → never.
/// * 4 (T2): ED 2024-06-01..05, dies 2024-06-10 → 2024-06-06 (alive).
/// * 5 (T1): ED 2024-06-01..05, dies 2024-06-05 → dead before 2024-06-06: never.
/// * 6 (no team): ED 2024-01-10, 04-10, 07-10, 10-10, 2025-01-20: on
///   2025-01-21 the window starts 2024-01-22 so only 4 count; a 6th visit
///   on 2025-02-01 makes 5 in [2024-02-03, 2025-02-02) → 2025-02-02.
fn eligibility_fixture() -> (Population, Events, Vec<Enrolment>) {
    let mut pop = Population::new();
    pop.push(1950, Sex::F, Some("T1"), None);
    pop.push(1960, Sex::M, Some("T1"), None);
    pop.push(1940, Sex::F, Some("T2"), None);
    pop.push(1970, Sex::M, Some("T2"), None);
    pop.push(1930, Sex::F, Some("T2"), Some(d("2024-06-10")));
    pop.push(1930, Sex::M, Some("T1"), Some(d("2024-06-05")));
    pop.push(1980, Sex::X, None, None);
    let ed = [
        (0, "2024-03-01"),
        (0, "2024-03-02"),
        (0, "2024-03-03"),
        (0, "2024-03-04"),
        (0, "2024-03-05"),
        (1, "2023-06-01"),
        (1, "2023-07-01"),
        (1, "2023-08-01"),
        (1, "2023-09-01"),
        (1, "2023-10-01"),
        (3, "2024-02-01"),
        (3, "2024-03-01"),
        (3, "2024-04-01"),
        (3, "2024-05-01"),
        (4, "2024-06-01"),
        (4, "2024-06-02"),
        (4, "2024-06-03"),
        (4, "2024-06-04"),
        (4, "2024-06-05"),
        (5, "2024-06-01"),
        (5, "2024-06-02"),
        (5, "2024-06-03"),
        (5, "2024-06-04"),
        (5, "2024-06-05"),
        (6, "2024-01-10"),
        (6, "2024-04-10"),
        (6, "2024-07-10"),
        (6, "2024-10-10"),
        (6, "2025-01-20"),
        (6, "2025-02-01"),
    ];
    let adm = [
        (2, "2024-02-03"),
        (2, "2024-05-01"),
        (2, "2025-01-31"),
        (3, "2024-02-01"),
        (3, "2024-03-01"),
    ];
    // Enrolled = enrolment on or after e - 90 days:
    // * 0: 2024-04-01 ≥ 2024-03-06 → enrolled;
    // * 1: 2023-10-02 < 2024-01-01 - 90 d = 2023-10-03 → not enrolled;
    // * 6: 2024-11-04 = 2025-02-02 - 90 d exactly → enrolled.
    let enrolments = vec![
        enrol(0, "T1", "2024-04-01"),
        enrol(1, "T1", "2023-10-02"),
        enrol(6, "T3", "2024-11-04"),
    ];
    (pop, events(7, &ed, &adm), enrolments)
}

#[test]
fn eligibility_dates_by_hand() -> TestResult {
    let (pop, ev, _) = eligibility_fixture();
    let dates = first_eligibility_dates(&pop, &ev, &cfg())?.to_dates();
    assert_eq!(
        dates,
        vec![
            Some(d("2024-03-06")),
            Some(d("2024-01-01")),
            Some(d("2025-02-01")),
            None,
            Some(d("2024-06-06")),
            None,
            Some(d("2025-02-02")),
        ]
    );
    Ok(())
}

#[test]
fn case_finding_summary_and_worklist_by_hand() -> TestResult {
    let (pop, ev, en) = eligibility_fixture();
    let en = Enrolments::new(&en, pop.len())?;
    let cf = case_finding(&pop, &ev, &en, &cfg())?;
    // Eligible 0, 1, 2, 4, 6; enrolled 0 and 6 → 2 / 5 = 40 %.
    assert_eq!((cf.overall.eligible, cf.overall.enrolled), (5, 2));
    assert!(close(cf.overall.percent_enrolled.unwrap_or(0.0), 40.0));
    // T1: 0, 1 (1 enrolled); T2: 2, 4 (none); unattributed: 6 (enrolled).
    let teams: Vec<(TeamScope, usize, usize)> = cf
        .by_team
        .iter()
        .map(|s| (s.scope.clone(), s.eligible, s.enrolled))
        .collect();
    assert_eq!(
        teams,
        vec![
            (TeamScope::Team("T1".into()), 2, 1),
            (TeamScope::Team("T2".into()), 2, 0),
            (TeamScope::Unattributed, 1, 1),
        ]
    );
    // Newly eligible by month: 2024-01, 2024-03, 2024-06, 2025-02 (×2).
    let months: Vec<(NaiveDate, usize)> = cf
        .overall
        .newly_eligible_by_month
        .iter()
        .map(|m| (m.month, m.newly_eligible))
        .collect();
    assert_eq!(
        months,
        vec![
            (d("2024-01-01"), 1),
            (d("2024-03-01"), 1),
            (d("2024-06-01"), 1),
            (d("2025-02-01"), 2),
        ]
    );
    // Worklist by e: 1, 0, 4, 2, 6 with the counts in [e - 365, e).
    type Row<'a> = (u32, Option<&'a str>, NaiveDate, u32, u32, bool);
    let rows: Vec<Row> = cf
        .worklist
        .iter()
        .map(|r| {
            (
                r.person,
                r.team.as_deref(),
                r.eligibility_date,
                r.ed_visits,
                r.admissions,
                r.enrolled,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, Some("T1"), d("2024-01-01"), 5, 0, false),
            (0, Some("T1"), d("2024-03-06"), 5, 0, true),
            (4, Some("T2"), d("2024-06-06"), 5, 0, false),
            (2, Some("T2"), d("2025-02-01"), 0, 3, false),
            (6, None, d("2025-02-02"), 5, 0, true),
        ]
    );
    Ok(())
}

// ---------------------------------------------------------------- naive (a)

/// * A (0, T1): t0 2024-07-01; baseline [2023-07-02, 2024-07-01) = 365 d
///   with ED 6 (the 2023-07-01 visit is outside), admissions 2; follow-up
///   [2024-07-01, 2025-07-01) = 365 d with ED 2 (t0 itself counts, the
///   2025-07-01 visit is outside), admissions 1. A later second enrolment
///   (T9) is ignored.
/// * B (1, T1): t0 2023-03-01; baseline truncated at data_start:
///   [2023-01-01, 2023-03-01) = 59 d, ED 2; follow-up 365 d, ED 1.
/// * C (2, T2): t0 2025-10-01; baseline 365 d (from 2024-10-01, inclusive),
///   ED 4, admissions 1; follow-up truncated at data_end: 92 d, ED 1.
/// * D (3, T2): t0 2024-09-01, dies 2024-12-31; baseline 365 d, ED 3,
///   admissions 1; follow-up [2024-09-01, 2025-01-01) = 122 d, ED 2 and
///   admissions 1 (events on the death day count).
/// * E (4, T2) enrolled after data_end, F (5, T2) on data_start (no
///   baseline day): excluded.
///
/// ED: pre 15 events / 1154 d, post 6 / 944 d:
///   change = (6/944)/(15/1154) - 1 = 6924/14160 - 1 = -0.5110169491525424;
///   pre rate 15·365.25/1154 = 4.74761698440208, post 6·365.25/944 = 2.3215042372881354.
/// Admissions: pre 4, post 2: 2308/3776 - 1 = -0.388771186440678.
/// T1 ED: (3/730)/(8/424) - 1 = -0.7821917808219179.
/// T2 ED: (3/214)/(7/730) - 1 = 0.46194926568758343.
#[test]
fn naive_change_by_hand() -> TestResult {
    let mut pop = Population::new();
    for (team, death) in [
        ("T1", None),
        ("T1", None),
        ("T2", None),
        ("T2", Some(d("2024-12-31"))),
        ("T2", None),
        ("T2", None),
    ] {
        pop.push(1950, Sex::F, Some(team), death);
    }
    let ed = [
        (0, "2023-07-01"),
        (0, "2023-08-01"),
        (0, "2023-09-01"),
        (0, "2023-10-01"),
        (0, "2023-11-01"),
        (0, "2024-01-15"),
        (0, "2024-06-30"),
        (0, "2024-07-01"),
        (0, "2025-06-30"),
        (0, "2025-07-01"),
        (1, "2023-01-01"),
        (1, "2023-02-28"),
        (1, "2023-05-01"),
        (2, "2024-10-01"),
        (2, "2025-01-01"),
        (2, "2025-03-01"),
        (2, "2025-09-30"),
        (2, "2025-12-31"),
        (3, "2024-01-01"),
        (3, "2024-05-01"),
        (3, "2024-08-31"),
        (3, "2024-10-01"),
        (3, "2024-12-31"),
    ];
    let adm = [
        (0, "2023-12-01"),
        (0, "2024-02-01"),
        (0, "2024-12-01"),
        (2, "2025-05-01"),
        (3, "2024-03-01"),
        (3, "2024-12-31"),
    ];
    let ev = events(6, &ed, &adm);
    let en = Enrolments::new(
        &[
            enrol(0, "T1", "2024-07-01"),
            enrol(0, "T9", "2025-01-01"),
            enrol(1, "T1", "2023-03-01"),
            enrol(2, "T2", "2025-10-01"),
            enrol(3, "T2", "2024-09-01"),
            enrol(4, "T2", "2026-02-01"),
            enrol(5, "T2", "2023-01-01"),
        ],
        6,
    )?;
    let res = naive_before_after(&pop, &ev, &en, &cfg())?;
    let scopes: Vec<(TeamScope, Outcome)> =
        res.iter().map(|r| (r.scope.clone(), r.outcome)).collect();
    let t = |s: &str| TeamScope::Team(s.into());
    assert_eq!(
        scopes,
        vec![
            (TeamScope::All, Outcome::EdVisits),
            (TeamScope::All, Outcome::Admissions),
            (t("T1"), Outcome::EdVisits),
            (t("T1"), Outcome::Admissions),
            (t("T2"), Outcome::EdVisits),
            (t("T2"), Outcome::Admissions),
        ]
    );
    let all_ed = &res[0];
    assert_eq!((all_ed.n_participants, all_ed.n_excluded), (4, 2));
    assert_eq!((all_ed.pre_events, all_ed.post_events), (15, 6));
    assert!(close(all_ed.pre_person_years, 1154.0 / 365.25));
    assert!(close(all_ed.post_person_years, 944.0 / 365.25));
    assert!(close(all_ed.pre_rate.unwrap_or(0.0), 4.74761698440208));
    assert!(close(all_ed.post_rate.unwrap_or(0.0), 2.3215042372881354));
    assert!(close(all_ed.change.unwrap_or(0.0), -0.5110169491525424));
    let ci = all_ed.ci.ok_or("no CI")?;
    assert!(ci.lower <= ci.upper && ci.used_replicates + ci.dropped_replicates == 500);
    assert!(all_ed.poisson_ci.is_some());
    let all_adm = &res[1];
    assert_eq!((all_adm.pre_events, all_adm.post_events), (4, 2));
    assert!(close(all_adm.change.unwrap_or(0.0), -0.388771186440678));
    assert_eq!((res[2].n_participants, res[2].n_excluded), (2, 0));
    assert!(close(res[2].change.unwrap_or(0.0), -0.7821917808219179));
    assert_eq!((res[4].n_participants, res[4].n_excluded), (2, 2));
    assert!(close(res[4].change.unwrap_or(0.0), 0.46194926568758343));
    // T1 admissions: A only has admissions (2 pre, 1 post), B none:
    // (1/730)/(2/424) - 1 = 424/1460 - 1 = -0.7095890410958904.
    assert!(close(res[3].change.unwrap_or(0.0), -0.7095890410958904));
    Ok(())
}

// ---------------------------------------------------------------- adjusted (b)

/// Everyone becomes eligible on e = 2024-06-01: four ED visits on
/// 2024-05-27..30 and the rest on 2024-05-31 (same-day visits are distinct
/// events; on 05-31 the count is still 4 because the day itself is
/// excluded). Baseline [2023-06-02, 2024-06-01) = 365 d; follow-up
/// [2024-06-01, 2025-06-01) = 365 d unless truncated. Age = 2024 - birth year.
///
/// | person | group | team | baseline ED | stratum (ED band, age, sex) | follow-up ED |
/// |---|---|---|---|---|---|
/// | 0 P1 | participant | T1 | 5 | X = (5-6, 65-79, F) | 2 |
/// | 1 P2 | participant | T2 | 6 | X | 3 |
/// | 2 P3 | participant | T1 | 8 | Y = (7-9, 65-79, F) | 4 |
/// | 3 P4 | participant | T2 | 5 | Z = (5-6, <45, M) | 1 → off support |
/// | 4 C1 | comparison | | 5 | X | 4 |
/// | 5 C2 | comparison | | 7 | Y | 3 |
/// | 6 C3 | comparison | | 9 | Y, dies 2024-11-30: follow-up 183 d | 6 |
/// | 7 C4 | comparison | | 10 | (10+, 80+, M): no participant, weight 0 | 0 |
/// | 8 C5 | dies 2024-07-15: 45 d < 90 → excluded (short follow-up) | 5 | | |
/// | 9 L1 | enrolled 2024-10-01 = e + 122 d → neither (late) | 5 | | |
/// | 10 B1 | enrolled 2024-03-01 < e → neither (before) | 5 | | |
///
/// Weights (overall): X has 2 participants / 1 comparison → C1 weight 2;
/// Y has 1 / 2 → C2, C3 weight 0.5; Z has no comparison → P4 off support.
/// Participants: pre 5+6+8 = 19 events / 3·365 d, post 2+3+4 = 9 / 3·365 d.
/// Comparison: pre 2·5 + .5·7 + .5·9 = 18 / (2·365 + .5·365 + .5·365 = 1095 d),
/// post 2·4 + .5·3 + .5·6 = 12.5 / (730 + 182.5 + 91.5 = 1004 d).
/// effect = (9/19) / ((12.5/1004)/(18/1095)) - 1 = -0.3745811103100217.
/// Rates /PY: P pre 19·365.25/1095 = 6.337671232876713, C pre
/// 18·365.25/1095 = 6.004109589041096, C post 12.5·365.25/1004 = 4.547435258964144.
///
/// T1 (P1 in X, P3 in Y): C1 weight 1, C2/C3 0.5: P 6/13 (equal
/// person-time); C pre 13 / 730 d, post 8.5 / 639 d:
/// effect = (6/13)/((8.5/639)/(13/730)) - 1 = -0.38211120064464144.
/// T2 (P2 in X, P4 off support): C1 weight 1: (3/6)/(4/5) - 1 = -0.375.
fn adjusted_fixture() -> (Population, Events, Vec<Enrolment>) {
    let mut pop = Population::new();
    let people: [(i32, Sex, Option<&str>); 11] = [
        (1954, Sex::F, Some("T1")),
        (1954, Sex::F, Some("T2")),
        (1954, Sex::F, Some("T1")),
        (1990, Sex::M, Some("T2")),
        (1950, Sex::F, Some("T3")),
        (1945, Sex::F, Some("T3")),
        (1959, Sex::F, None),
        (1940, Sex::M, Some("T3")),
        (1954, Sex::F, None),
        (1954, Sex::F, None),
        (1954, Sex::F, None),
    ];
    for (i, (by, sex, team)) in people.into_iter().enumerate() {
        let death = match i {
            6 => Some(d("2024-11-30")),
            8 => Some(d("2024-07-15")),
            _ => None,
        };
        pop.push(by, sex, team, death);
    }
    let baseline = [5, 6, 8, 5, 5, 7, 9, 10, 5, 5, 5];
    let follow_up: [&[&str]; 11] = [
        &["2024-08-01", "2025-05-31"],
        &["2024-07-01", "2024-09-01", "2025-01-01"],
        &["2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01"],
        &["2024-12-01"],
        &["2024-07-01", "2024-09-01", "2024-11-01", "2025-02-01"],
        &["2024-07-01", "2024-10-01", "2025-03-01"],
        &[
            "2024-07-01",
            "2024-08-01",
            "2024-09-01",
            "2024-10-01",
            "2024-11-01",
            "2024-11-30",
        ],
        &[],
        &[],
        &[],
        &[],
    ];
    let mut ed: Vec<(u32, String)> = Vec::new();
    for (p, &n) in baseline.iter().enumerate() {
        for day in ["2024-05-27", "2024-05-28", "2024-05-29", "2024-05-30"] {
            ed.push((p as u32, day.to_string()));
        }
        for _ in 4..n {
            ed.push((p as u32, "2024-05-31".to_string()));
        }
        for day in follow_up[p] {
            ed.push((p as u32, (*day).to_string()));
        }
    }
    // A visit after follow-up ends (2025-06-01) must not count.
    ed.push((0, "2025-06-01".to_string()));
    let ed: Vec<(u32, &str)> = ed.iter().map(|(p, s)| (*p, s.as_str())).collect();
    let enrolments = vec![
        enrol(0, "T1", "2024-06-15"),
        enrol(1, "T2", "2024-06-15"),
        enrol(2, "T1", "2024-08-30"), // e + 90 d exactly: still a participant
        enrol(3, "T2", "2024-06-01"), // on e: a participant
        enrol(9, "T1", "2024-10-01"),
        enrol(10, "T1", "2024-03-01"),
    ];
    (pop, events(11, &ed, &[]), enrolments)
}

#[test]
fn adjusted_effect_with_weights_and_off_support_by_hand() -> TestResult {
    let (pop, ev, en) = adjusted_fixture();
    let c = cfg();
    let en = Enrolments::new(&en, pop.len())?;
    let elig = first_eligibility_dates(&pop, &ev, &c)?;
    for p in 0..11 {
        assert_eq!(elig.date(p), Some(d("2024-06-01")), "person {p}");
    }
    let cohort = adjusted_cohort(&pop, &ev, &en, &elig, "PSM", &c)?;
    let k = cohort.counts;
    assert_eq!(k.eligible, 11);
    assert_eq!((k.participants, k.comparison), (4, 4));
    assert_eq!(k.comparison_short_follow_up, 1);
    assert_eq!(k.participants_short_follow_up, 0);
    assert_eq!((k.enrolled_late, k.enrolled_before_eligibility), (1, 1));
    let groups: Vec<(u32, Group, u32, u32, bool)> = cohort
        .members
        .iter()
        .map(|m| {
            (
                m.person,
                m.group,
                m.baseline_ed,
                m.follow_up_ed,
                m.on_support,
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (0, Group::Participant, 5, 2, true),
            (1, Group::Participant, 6, 3, true),
            (2, Group::Participant, 8, 4, true),
            (3, Group::Participant, 5, 1, false),
            (4, Group::Comparison, 5, 4, true),
            (5, Group::Comparison, 7, 3, true),
            (6, Group::Comparison, 9, 6, true),
            (7, Group::Comparison, 10, 0, false),
        ]
    );
    assert_eq!(cohort.members[6].follow_up_days, 183);
    assert_eq!(cohort.members[6].follow_up_end, d("2024-12-01"));

    let est = adjusted_estimates(&cohort, &c)?;
    let find = |scope: TeamScope, o: Outcome| {
        est.iter()
            .find(|e| e.scope == scope && e.outcome == o)
            .ok_or("missing estimate")
    };
    let all = find(TeamScope::All, Outcome::EdVisits)?;
    assert_eq!(
        (
            all.n_participants,
            all.n_off_support,
            all.n_comparison,
            all.n_comparison_pool
        ),
        (3, 1, 3, 4)
    );
    assert!(close(all.participants.pre_events, 19.0));
    assert!(close(all.participants.post_events, 9.0));
    assert!(close(all.comparison.pre_events, 18.0));
    assert!(close(all.comparison.post_events, 12.5));
    assert!(close(all.comparison.pre_person_years, 1095.0 / 365.25));
    assert!(close(all.comparison.post_person_years, 1004.0 / 365.25));
    assert!(close(
        all.participants.pre_rate.unwrap_or(0.0),
        6.337671232876713
    ));
    assert!(close(
        all.comparison.pre_rate.unwrap_or(0.0),
        6.004109589041096
    ));
    assert!(close(
        all.comparison.post_rate.unwrap_or(0.0),
        4.547435258964144
    ));
    assert!(close(all.effect.unwrap_or(0.0), -0.3745811103100217));
    let ci = all.ci.ok_or("no CI")?;
    assert!(ci.lower <= ci.upper);
    assert_eq!(all.replicates, 500);

    let t1 = find(TeamScope::Team("T1".into()), Outcome::EdVisits)?;
    assert_eq!(
        (t1.n_participants, t1.n_off_support, t1.n_comparison),
        (2, 0, 3)
    );
    assert!(close(t1.effect.unwrap_or(0.0), -0.38211120064464144));
    let t2 = find(TeamScope::Team("T2".into()), Outcome::EdVisits)?;
    assert_eq!(
        (t2.n_participants, t2.n_off_support, t2.n_comparison),
        (1, 1, 1)
    );
    assert!(close(t2.effect.unwrap_or(0.0), -0.375));
    // No admissions at all: the effect is undefined, not an error.
    let adm = find(TeamScope::All, Outcome::Admissions)?;
    assert_eq!((adm.effect, adm.ci), (None, None));
    Ok(())
}

#[test]
fn evaluate_runs_everything_and_rejects_bad_input() -> TestResult {
    let (pop, ev, en) = adjusted_fixture();
    let res = evaluate(&pop, &ev, &en, &cfg())?;
    assert_eq!(res.case_finding.overall.eligible, 11);
    assert_eq!(res.adjusted.len(), 1);
    assert_eq!(res.adjusted[0].cohort.participants, 4);
    assert_eq!(res.naive.len(), 2 * 3); // All, T1, T2 × 2 outcomes
    let mut bad = en.clone();
    bad.push(enrol(99, "T1", "2024-01-01"));
    assert!(evaluate(&pop, &ev, &bad, &cfg()).is_err());
    let short = Events::default();
    assert!(evaluate(&pop, &short, &en, &cfg()).is_err());
    let enrolments = Enrolments::new(&en, pop.len())?;
    let elig = first_eligibility_dates(&pop, &ev, &cfg())?;
    assert!(adjusted_cohort(&pop, &ev, &enrolments, &elig, "NOPE", &cfg()).is_err());
    Ok(())
}
