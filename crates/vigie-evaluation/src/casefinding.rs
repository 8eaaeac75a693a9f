//! Case finding: who is (newly) eligible, per team, how many were enrolled,
//! and the worklist of eligible persons.
//!
//! **Enrolled** (for the percentage): an eligible person with an enrolment
//! in any program on or after `e - enrolled_lookback_days` (default 90
//! days), i.e. enrolled around or after becoming eligible — referrals made
//! shortly before the rule fires count; an old enrolment long before `e`
//! does not. Teams are the persons' *attributed* teams; persons without one
//! are summarised under [`TeamScope::Unattributed`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::config::EvaluationConfig;
use crate::eligibility::{EligibilityDates, check_enrolments, first_eligibility_dates};
use crate::enrolment::Enrolments;
use crate::error::Result;
use crate::events::{Events, count_between};
use crate::types::{Population, TeamId, TeamScope, date_of};

/// Newly eligible persons in one calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MonthCount {
    /// First day of the month.
    pub month: NaiveDate,
    /// Persons whose first eligibility date falls in the month.
    pub newly_eligible: usize,
}

/// Case-finding counts for one team (or the region).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFindingSummary {
    /// Which persons.
    pub scope: TeamScope,
    /// Persons ever eligible.
    pub eligible: usize,
    /// Eligible persons enrolled (see the module documentation).
    pub enrolled: usize,
    /// `100 * enrolled / eligible`, `None` when nobody is eligible.
    pub percent_enrolled: Option<f64>,
    /// Newly eligible persons per calendar month, months with none omitted.
    pub newly_eligible_by_month: Vec<MonthCount>,
}

/// One row of the worklist: an eligible person and what made them eligible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorklistRow {
    /// Dense person index (the caller maps it back to the pseudonymous key).
    pub person: u32,
    /// Attributed team, if any.
    pub team: Option<String>,
    /// First eligibility date `e`.
    pub eligibility_date: NaiveDate,
    /// ED visits in `[e - window_days, e)`.
    pub ed_visits: u32,
    /// Admissions in `[e - window_days, e)`.
    pub admissions: u32,
    /// Enrolled in a program (see the module documentation).
    pub enrolled: bool,
}

/// Output of [`case_finding`].
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFinding {
    /// Every person's first eligibility date.
    pub eligibility: EligibilityDates,
    /// The region (`TeamScope::All`).
    pub overall: CaseFindingSummary,
    /// One summary per attributed team with at least one eligible person
    /// (team name order), then `Unattributed` if any.
    pub by_team: Vec<CaseFindingSummary>,
    /// Every eligible person, by eligibility date then person.
    pub worklist: Vec<WorklistRow>,
}

#[derive(Default)]
struct Acc {
    eligible: usize,
    enrolled: usize,
    months: BTreeMap<(i32, u32), usize>,
}

impl Acc {
    fn add(&mut self, date: NaiveDate, enrolled: bool) {
        self.eligible += 1;
        self.enrolled += usize::from(enrolled);
        *self.months.entry((date.year(), date.month())).or_default() += 1;
    }

    fn finish(self, scope: TeamScope) -> CaseFindingSummary {
        CaseFindingSummary {
            scope,
            eligible: self.eligible,
            enrolled: self.enrolled,
            percent_enrolled: (self.eligible > 0)
                .then(|| 100.0 * self.enrolled as f64 / self.eligible as f64),
            newly_eligible_by_month: self
                .months
                .into_iter()
                .filter_map(|((y, m), n)| {
                    NaiveDate::from_ymd_opt(y, m, 1).map(|month| MonthCount {
                        month,
                        newly_eligible: n,
                    })
                })
                .collect(),
        }
    }
}

/// Eligibility dates, per-team summaries and the worklist.
///
/// # Errors
/// An invalid configuration, event series not covering the population, or
/// an out-of-range date.
pub fn case_finding(
    population: &Population,
    events: &Events,
    enrolments: &Enrolments,
    config: &EvaluationConfig,
) -> Result<CaseFinding> {
    check_enrolments(population, enrolments)?;
    let eligibility = first_eligibility_dates(population, events, config)?;
    let window = i32::try_from(config.eligibility.window_days).unwrap_or(i32::MAX);
    let lookback = i64::from(config.enrolled_lookback_days);
    let mut overall = Acc::default();
    let mut teams: BTreeMap<Option<TeamId>, Acc> = BTreeMap::new();
    let mut worklist = Vec::with_capacity(eligibility.n_eligible());
    for (person, e) in eligibility.eligible() {
        let date = date_of(e)?;
        let team = population.get(person).and_then(|p| p.team);
        let enrolled = enrolments.any_on_or_after(person, i64::from(e) - lookback);
        overall.add(date, enrolled);
        teams.entry(team).or_default().add(date, enrolled);
        let from = e.saturating_sub(window);
        worklist.push(WorklistRow {
            person,
            team: team
                .and_then(|t| population.team_name(t))
                .map(str::to_owned),
            eligibility_date: date,
            ed_visits: count_between(events.ed.person(person), from, e) as u32,
            admissions: count_between(events.admissions.person(person), from, e) as u32,
            enrolled,
        });
    }
    worklist.sort_by_key(|r| (r.eligibility_date, r.person));
    let mut by_team: Vec<CaseFindingSummary> = teams
        .into_iter()
        .map(|(t, acc)| {
            let scope = match t.and_then(|t| population.team_name(t)) {
                Some(name) => TeamScope::Team(name.to_owned()),
                None => TeamScope::Unattributed,
            };
            acc.finish(scope)
        })
        .collect();
    by_team.sort_by(|a, b| a.scope.cmp(&b.scope));
    Ok(CaseFinding {
        eligibility,
        overall: overall.finish(TeamScope::All),
        by_team,
        worklist,
    })
}
