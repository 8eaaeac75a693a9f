//! # vigie-evaluation
//!
//! High-user case finding and program evaluation corrected for regression
//! to the mean, over in-memory person-level histories. Pure: no I/O, no
//! query engine; the caller loads the warehouse (e.g. with DataFusion) into
//! the input types and calls [`evaluate`] or the individual steps.
//!
//! | module | what |
//! | --- | --- |
//! | [`types`] | persons, teams, enrolments, day numbers (Arrow `Date32`) |
//! | [`events`] | ED visits and admissions per person in CSR layout |
//! | [`config`] | [`EvaluationConfig`], the eligibility rule |
//! | [`eligibility`] | first eligibility date per person, O(events) |
//! | [`casefinding`] | eligible / enrolled per team, worklist |
//! | [`naive`] | estimand (a): before/after change around enrolment |
//! | [`strata`] | baseline-ED × age × sex strata |
//! | [`adjusted`] | estimand (b): effect vs a re-weighted comparison group |
//! | [`resample`] | bootstrap intervals (multi-group stratified bootstrap) |
//!
//! **Why two estimands.** Programs enrol people right after a high-use
//! spell. Their use falls afterwards whatever the program does (regression
//! to the mean), so the naive before/after change (a) overstates the
//! effect. Estimand (b) anchors participants and eligible non-participants
//! at the same selection event (first eligibility), re-weights the
//! non-participants to the participants' baseline-use/age/sex mix and
//! compares the two before/after ratios: the effect on the treated.

pub mod adjusted;
pub mod casefinding;
pub mod config;
pub mod eligibility;
pub mod enrolment;
pub mod error;
pub mod events;
pub mod naive;
pub mod resample;
pub mod strata;
pub mod types;

pub use adjusted::{
    AdjustedCohort, AdjustedEstimate, CohortCounts, CohortMember, Group, GroupRates,
    adjusted_cohort, adjusted_estimates,
};
pub use casefinding::{CaseFinding, CaseFindingSummary, MonthCount, WorklistRow, case_finding};
pub use config::{EligibilityRule, EvaluationConfig};
pub use eligibility::{EligibilityDates, first_day_reaching, first_eligibility_dates};
pub use enrolment::Enrolments;
pub use error::{EvalError, Result};
pub use events::{EventSeries, Events, count_between};
pub use naive::{NaiveEstimate, naive_before_after};
pub use resample::{Ci, multi_group_bootstrap};
pub use strata::{N_STRATA, Stratum};
pub use types::{
    Enrolment, Outcome, PersonRecord, Population, Sex, TeamId, TeamScope, date_of, day_of,
    person_years,
};
pub use vigie_stats::BootstrapConfig;

/// The adjusted evaluation of one program: its cohort counts and estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramEvaluation {
    /// Program code.
    pub program: String,
    /// How the eligible persons were allocated.
    pub cohort: CohortCounts,
    /// Overall then per-team estimates, ED visits then admissions.
    pub estimates: Vec<AdjustedEstimate>,
}

/// Everything [`evaluate`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Eligibility dates, summaries and worklist.
    pub case_finding: CaseFinding,
    /// Estimand (a) for every program.
    pub naive: Vec<NaiveEstimate>,
    /// Estimand (b) for every program (order of first appearance).
    pub adjusted: Vec<ProgramEvaluation>,
}

/// Case finding and both estimands for every program.
///
/// # Errors
/// An invalid configuration, inputs not covering the population (events,
/// enrolments of unknown persons), or an out-of-range date.
pub fn evaluate(
    population: &Population,
    events: &Events,
    enrolments: &[Enrolment],
    config: &EvaluationConfig,
) -> Result<Evaluation> {
    let timed = |what: &str, started: std::time::Instant| {
        tracing::debug!(
            seconds = started.elapsed().as_secs_f64(),
            "evaluation: {what}"
        );
    };
    let t = std::time::Instant::now();
    let enrolments = Enrolments::new(enrolments, population.len())?;
    let case_finding = case_finding(population, events, &enrolments, config)?;
    timed("case finding", t);
    let t = std::time::Instant::now();
    let naive = naive_before_after(population, events, &enrolments, config)?;
    timed("naive before/after", t);
    let mut adjusted = Vec::new();
    for program in enrolments.programs() {
        let t = std::time::Instant::now();
        let cohort = adjusted_cohort(
            population,
            events,
            &enrolments,
            &case_finding.eligibility,
            program,
            config,
        )?;
        timed("adjusted cohort", t);
        let t = std::time::Instant::now();
        let estimates = adjusted_estimates(&cohort, config)?;
        timed("adjusted estimates", t);
        adjusted.push(ProgramEvaluation {
            program: program.clone(),
            cohort: cohort.counts,
            estimates,
        });
    }
    Ok(Evaluation {
        case_finding,
        naive,
        adjusted,
    })
}
