//! Estimand (a): the naive before/after change, as programs usually publish it.
//!
//! **Participants** of a program: persons with an enrolment in it (first
//! enrolment counts); time zero `t0` is the enrolment date and the team is
//! that enrolment's team. **Baseline** `[t0 - baseline_days, t0)`, truncated
//! at `data_start` (so an early enrolee has less baseline person-time; rates
//! stay unbiased per person-year). **Follow-up** `[t0, t0 + follow_up_days)`
//! truncated at the day after death and at `data_end`. Enrolments with no
//! baseline day (`t0 <= data_start`), on or after `data_end`, or after the
//! person's death are excluded and counted. No minimum follow-up is applied
//! (this is the published "before/after" figure, not the adjusted one).
//!
//! Rates are events per person-year (days / 365.25) pooled over persons
//! (ratio estimators), `change = post rate / pre rate - 1`.
//!
//! **Interval.** The main interval ([`NaiveEstimate::ci`]) is a seeded
//! percentile bootstrap over participants ([`vigie_stats::bootstrap_weights`]):
//! it respects that each person contributes to both periods and that event
//! counts are over-dispersed. The Poisson rate-ratio interval
//! ([`vigie_stats::rate_ratio_ci`], log method) is also reported as
//! [`NaiveEstimate::poisson_ci`] because it is what reports usually show;
//! it treats the two periods as independent Poisson samples and is too narrow.

use rayon::prelude::*;
use serde::Serialize;
use vigie_stats::{bootstrap_weights_each, rate_ratio_ci};

use crate::config::EvaluationConfig;
use crate::eligibility::{check_coverage, check_enrolments};
use crate::enrolment::Enrolments;
use crate::error::Result;
use crate::events::{Events, count_between};
use crate::resample::Ci;
use crate::types::{Outcome, Population, TeamScope, day_of, person_years};

/// The naive before/after change of one outcome for one program and team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NaiveEstimate {
    /// Program code.
    pub program: String,
    /// All teams or the enrolling team.
    pub scope: TeamScope,
    /// ED visits or admissions.
    pub outcome: Outcome,
    /// Participants analysed.
    pub n_participants: usize,
    /// Enrolments excluded (no baseline day, outside the data, after death).
    pub n_excluded: usize,
    /// Events in the baseline windows.
    pub pre_events: u64,
    /// Person-years in the baseline windows.
    pub pre_person_years: f64,
    /// Events in the follow-up windows.
    pub post_events: u64,
    /// Person-years in the follow-up windows.
    pub post_person_years: f64,
    /// Baseline events per person-year.
    pub pre_rate: Option<f64>,
    /// Follow-up events per person-year.
    pub post_rate: Option<f64>,
    /// `post_rate / pre_rate - 1`; `None` when undefined (no baseline event).
    pub change: Option<f64>,
    /// Participant-level percentile bootstrap interval of `change`.
    pub ci: Option<Ci>,
    /// Poisson (log) rate-ratio interval of `change`, `(lower, upper)`;
    /// ignores within-person correlation and over-dispersion.
    pub poisson_ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    team: u32,
    pre_py: f64,
    post_py: f64,
    pre: [u32; 2],
    post: [u32; 2],
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// Naive before/after estimates for every program (in order of first
/// appearance), each overall then per enrolling team (team name order), ED
/// visits then admissions.
///
/// # Errors
/// An invalid configuration or inputs not covering the population.
pub fn naive_before_after(
    population: &Population,
    events: &Events,
    enrolments: &Enrolments,
    config: &EvaluationConfig,
) -> Result<Vec<NaiveEstimate>> {
    config.validate()?;
    check_coverage(population, events)?;
    check_enrolments(population, enrolments)?;
    let start = i64::from(config.start_day());
    let end = i64::from(config.end_day());
    let mut out = Vec::new();
    for (program_id, program) in enrolments.programs().iter().enumerate() {
        let program_id = program_id as u32;
        // First enrolment of each person in the program.
        let mut firsts = Vec::new();
        let mut last_person = None;
        for r in enrolments.rows() {
            if r.program == program_id && last_person != Some(r.person) {
                firsts.push(*r);
                last_person = Some(r.person);
            }
        }
        let units: Vec<Option<Unit>> = firsts
            .par_iter()
            .map(|r| {
                let t0 = i64::from(r.day);
                let death = population
                    .get(r.person)
                    .and_then(|p| p.death)
                    .map(|d| i64::from(day_of(d)));
                if t0 <= start || t0 >= end || death.is_some_and(|d| d < t0) {
                    return None;
                }
                let pre_from = (t0 - i64::from(config.baseline_days)).max(start);
                let post_to = (t0 + i64::from(config.follow_up_days))
                    .min(end)
                    .min(death.map_or(i64::MAX, |d| d + 1));
                let count = |o: Outcome, a: i64, b: i64| {
                    // a, b lie within [data_start, data_end], i32 day numbers.
                    count_between(events.series(o).person(r.person), a as i32, b as i32) as u32
                };
                Some(Unit {
                    team: r.team,
                    pre_py: person_years(t0 - pre_from),
                    post_py: person_years(post_to - t0),
                    pre: Outcome::ALL.map(|o| count(o, pre_from, t0)),
                    post: Outcome::ALL.map(|o| count(o, t0, post_to)),
                })
            })
            .collect();
        let mut scopes: Vec<(TeamScope, Option<u32>)> = vec![(TeamScope::All, None)];
        let mut teams: Vec<u32> = firsts.iter().map(|r| r.team).collect();
        teams.sort_unstable();
        teams.dedup();
        let mut named: Vec<(TeamScope, Option<u32>)> = teams
            .into_iter()
            .map(|t| (TeamScope::Team(enrolments.team_name(t).to_owned()), Some(t)))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        scopes.extend(named);
        for (scope, team) in scopes {
            let in_scope = |t: u32| team.is_none_or(|x| x == t);
            let n_excluded = firsts
                .iter()
                .zip(&units)
                .filter(|(r, u)| u.is_none() && in_scope(r.team))
                .count();
            let sel: Vec<Unit> = units
                .iter()
                .flatten()
                .filter(|u| in_scope(u.team))
                .copied()
                .collect();
            out.extend(estimates(program, &scope, &sel, n_excluded, config));
        }
    }
    Ok(out)
}

/// The change in both outcomes' rates across `units`, with replicate weights `w`: one pass
/// over the units for both (the person-years they share summed once), each sum taken in the
/// units' order as when each outcome had its own pass, so the replicates are the same to
/// the bit. Two passes were a quarter of a province's program evaluation.
fn weighted_changes(units: &[Unit], w: &[u32]) -> [f64; 2] {
    let (mut pe, mut pp, mut qe, mut qp) = ([0.0; 2], 0.0, [0.0; 2], 0.0);
    for (u, &k) in units.iter().zip(w) {
        if k > 0 {
            let k = f64::from(k);
            for oi in 0..2 {
                pe[oi] += k * f64::from(u.pre[oi]);
                qe[oi] += k * f64::from(u.post[oi]);
            }
            pp += k * u.pre_py;
            qp += k * u.post_py;
        }
    }
    [0, 1].map(|oi| (qe[oi] / qp) / (pe[oi] / pp) - 1.0)
}

/// Both outcomes' estimates over `units`. Their bootstrap intervals share the replicates'
/// draws (the same seed gives both outcomes the same resamples, as separate runs did).
fn estimates(
    program: &str,
    scope: &TeamScope,
    units: &[Unit],
    n_excluded: usize,
    config: &EvaluationConfig,
) -> [NaiveEstimate; 2] {
    let pre_py: f64 = units.iter().map(|u| u.pre_py).sum();
    let post_py: f64 = units.iter().map(|u| u.post_py).sum();
    let tallies = [0, 1].map(|oi| {
        let pre_events: u64 = units.iter().map(|u| u64::from(u.pre[oi])).sum();
        let post_events: u64 = units.iter().map(|u| u64::from(u.post[oi])).sum();
        let pre_rate = ratio(pre_events as f64, pre_py);
        let post_rate = ratio(post_events as f64, post_py);
        let change = match (pre_rate, post_rate) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a - 1.0),
            _ => None,
        };
        (pre_events, post_events, pre_rate, post_rate, change)
    });
    // Only a replicate-level failure (too few finite replicates) can occur for an outcome
    // with a change: the configuration was validated and its estimate is finite.
    let intervals = if tallies.iter().any(|t| t.4.is_some()) {
        bootstrap_weights_each(
            units.len(),
            |w| weighted_changes(units, w),
            &config.bootstrap,
        )
        .ok()
    } else {
        None
    };
    let mut intervals = intervals.map(|r| r.map(|each| each.ok()));
    let outcomes = Outcome::ALL;
    std::array::from_fn(|oi| {
        let (pre_events, post_events, pre_rate, post_rate, change) = tallies[oi];
        let ci = change
            .and(intervals.as_mut().and_then(|r| r[oi].take()))
            .map(|r| Ci::from_bootstrap(&r, config.bootstrap.confidence));
        let poisson_ci = rate_ratio_ci(
            post_events as f64,
            post_py,
            pre_events as f64,
            pre_py,
            config.bootstrap.confidence,
        )
        .ok()
        .map(|i| (i.lower - 1.0, i.upper - 1.0));
        NaiveEstimate {
            program: program.to_owned(),
            scope: scope.clone(),
            outcome: outcomes[oi],
            n_participants: units.len(),
            n_excluded,
            pre_events,
            pre_person_years: pre_py,
            post_events,
            post_person_years: post_py,
            pre_rate,
            post_rate,
            change,
            ci,
            poisson_ci,
        }
    })
}
