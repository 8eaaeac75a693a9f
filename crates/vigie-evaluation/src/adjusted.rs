//! Estimand (b): the program effect on participants, adjusted against a
//! re-weighted comparison group of eligible non-participants. Anchoring both
//! groups at the same selection event (first eligibility) makes both regress
//! to the mean alike, so the ratio of their before/after ratios removes it.
//!
//! **Cohort** ([`adjusted_cohort`]), for one program. Time zero is each
//! eligible person's first eligibility date `e`.
//! * *Participants*: first enrolment in the program within
//!   `[e, e + enrol_within_days]`; team = that enrolment's team.
//! * *Comparison*: no enrolment in **any** program on or before
//!   `e + comparison_not_enrolled_days` (never enrolled, or later). An
//!   enrolment before `e` (e.g. a clinician referral ahead of the rule)
//!   excludes a person from the comparison group too.
//! * Everybody else (enrolled in `(e + 90, e + 365]`, enrolled before `e`,
//!   enrolled in another program) is in neither group and counted.
//! * Baseline `[e - baseline_days, e)` truncated at `data_start` (with the
//!   default eligibility rule `e >= data_start + 365`, so it is complete);
//!   follow-up `[e, e + follow_up_days)` truncated at the day after death
//!   and at `data_end`; persons with fewer than `min_follow_up_days` of
//!   follow-up are excluded (counted per group).
//! * Stratum ([`crate::strata`]): baseline ED band × age band at `e` × sex.
//!
//! **Comparison pool.** Every team's participants are compared with the
//! *whole-region* comparison pool (not with their team's attributed
//! persons): per-team pools would be small and often leave strata empty.
//!
//! **Weights.** A comparison person in stratum `s` gets weight
//! `n_p(s) / n_c(s)` (participants over comparison persons in `s`), so the
//! weighted comparison group has the participants' stratum distribution and
//! its total weight equals the number of participants on support (the effect
//! is invariant to this normalisation). Participants in a stratum with no
//! comparison person are *off support*: excluded and counted.
//!
//! **Estimate.** Rates are pooled ratio estimators,
//! `sum(w·events) / sum(w·person-years)` (days / 365.25), per group and
//! period; `effect = (post_p / pre_p) / (post_c / pre_c) - 1`.
//!
//! **Interval.** Percentile bootstrap resampling participants and the
//! comparison pool independently (group sizes fixed,
//! [`crate::resample::multi_group_bootstrap`]; each team's participants
//! are a separate group, so one set of replicates serves every team, the
//! overall estimate and both outcomes), seeded and parallel. The whole
//! estimator is re-run on each resample, **weights and support recomputed**:
//! the weights are estimated from the sample (stratum counts), and keeping
//! them fixed would ignore that variability and understate the width; a
//! participant whose stratum received no comparison draw in a replicate is
//! off support in that replicate, exactly as in the point estimate.

use rayon::prelude::*;
use serde::Serialize;

use crate::config::EvaluationConfig;
use crate::eligibility::{EligibilityDates, check_coverage, check_enrolments};
use crate::enrolment::Enrolments;
use crate::error::{EvalError, Result};
use crate::events::{Events, count_between};
use crate::resample::{Ci, multi_group_bootstrap};
use crate::strata::{N_STRATA, Stratum};
use crate::types::{Outcome, Population, TeamScope, date_of, day_of, person_years};

/// Group of a cohort member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Group {
    /// Enrolled within the enrolment window after eligibility.
    Participant,
    /// Not enrolled within the comparison exclusion period.
    Comparison,
}

/// One person of the adjusted cohort, with their windows and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CohortMember {
    /// Dense person index.
    pub person: u32,
    /// Participant or comparison.
    pub group: Group,
    /// Enrolling team (participants only).
    pub team: Option<String>,
    /// Time zero: first eligibility date `e`.
    pub eligibility_date: chrono::NaiveDate,
    /// Program enrolment date (participants only).
    pub enrolment_date: Option<chrono::NaiveDate>,
    /// First day of the baseline window (`e - baseline_days`, or `data_start`).
    pub baseline_start: chrono::NaiveDate,
    /// Day after the last follow-up day (exclusive end of follow-up).
    pub follow_up_end: chrono::NaiveDate,
    /// Baseline days.
    pub baseline_days: u32,
    /// Follow-up days.
    pub follow_up_days: u32,
    /// ED visits in the baseline window.
    pub baseline_ed: u32,
    /// Admissions in the baseline window.
    pub baseline_admissions: u32,
    /// ED visits in the follow-up window.
    pub follow_up_ed: u32,
    /// Admissions in the follow-up window.
    pub follow_up_admissions: u32,
    /// Stratum.
    pub stratum: Stratum,
    /// Participants: a comparison person shares the stratum (in the
    /// whole-program analysis). Comparison persons: a participant shares it
    /// (positive weight in the whole-program analysis).
    pub on_support: bool,
}

impl CohortMember {
    /// `(baseline, follow-up)` events of `outcome`.
    #[must_use]
    pub fn counts(&self, outcome: Outcome) -> (u32, u32) {
        match outcome {
            Outcome::EdVisits => (self.baseline_ed, self.follow_up_ed),
            Outcome::Admissions => (self.baseline_admissions, self.follow_up_admissions),
        }
    }
}

/// How the eligible persons were allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CohortCounts {
    /// Persons ever eligible.
    pub eligible: usize,
    /// Participants kept (enough follow-up).
    pub participants: usize,
    /// Comparison persons kept (enough follow-up).
    pub comparison: usize,
    /// Neither: enrolled (any program) before `e`.
    pub enrolled_before_eligibility: usize,
    /// Neither: enrolled in this program in `(e + enrol_within, e + comparison_not_enrolled]`.
    pub enrolled_late: usize,
    /// Neither: enrolled in another program within the exclusion period.
    pub enrolled_other_program: usize,
    /// Participants excluded for short follow-up.
    pub participants_short_follow_up: usize,
    /// Comparison persons excluded for short follow-up.
    pub comparison_short_follow_up: usize,
}

/// The adjusted cohort of one program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustedCohort {
    /// Program code.
    pub program: String,
    /// Participants and comparison persons, in person order.
    pub members: Vec<CohortMember>,
    /// Allocation counts.
    pub counts: CohortCounts,
}

enum Class {
    Member(Box<CohortMember>),
    Before,
    Late,
    Other,
    Short(Group),
}

/// Builds the adjusted cohort of `program` (see the module documentation).
///
/// # Errors
/// An invalid configuration, inputs not covering the population, an
/// unknown program, or an out-of-range date.
pub fn adjusted_cohort(
    population: &Population,
    events: &Events,
    enrolments: &Enrolments,
    eligibility: &EligibilityDates,
    program: &str,
    config: &EvaluationConfig,
) -> Result<AdjustedCohort> {
    config.validate()?;
    check_coverage(population, events)?;
    check_enrolments(population, enrolments)?;
    if eligibility.len() != population.len() {
        return Err(EvalError::LengthMismatch {
            left: "population persons",
            left_len: population.len(),
            right: "eligibility dates",
            right_len: eligibility.len(),
        });
    }
    let program_id = enrolments
        .program_id(program)
        .ok_or_else(|| EvalError::UnknownProgram(program.to_owned()))?;
    let inputs = CohortInputs {
        population,
        events,
        enrolments,
        program_id,
        config,
        start: i64::from(config.start_day()),
        end: i64::from(config.end_day()),
    };
    let eligible: Vec<(u32, i32)> = eligibility.eligible().collect();
    let classes: Vec<Result<Class>> = eligible
        .par_iter()
        .map(|&(person, e_day)| inputs.classify(person, e_day))
        .collect();
    let (mut members, counts) = tally(classes, eligible.len())?;
    mark_common_support(&mut members);
    Ok(AdjustedCohort {
        program: program.to_owned(),
        members,
        counts,
    })
}

/// What classifying one eligible person reads.
struct CohortInputs<'a> {
    population: &'a Population,
    events: &'a Events,
    enrolments: &'a Enrolments,
    program_id: u32,
    config: &'a EvaluationConfig,
    /// First and last day of the data, as day numbers.
    start: i64,
    end: i64,
}

impl CohortInputs<'_> {
    /// The class of a person first eligible on day `e_day`.
    fn classify(&self, person: u32, e_day: i32) -> Result<Class> {
        let config = self.config;
        let e = i64::from(e_day);
        let Some(rec) = self.population.get(person) else {
            return Err(EvalError::UnknownPerson {
                what: "an eligibility date",
                person,
                n_persons: self.population.len(),
            });
        };
        let first = self.enrolments.first_in(person, self.program_id);
        let group = match self.group(person, e, first) {
            Ok(group) => group,
            Err(excluded) => return Ok(excluded),
        };
        let death = rec.death.map(|d| i64::from(day_of(d)));
        let fu_end = (e + i64::from(config.follow_up_days))
            .min(self.end)
            .min(death.map_or(i64::MAX, |d| d + 1));
        let fu_days = (fu_end - e).max(0);
        if fu_days < i64::from(config.min_follow_up_days) || fu_days == 0 {
            return Ok(Class::Short(group));
        }
        let base_start = (e - i64::from(config.baseline_days)).max(self.start);
        // All window bounds lie within [data_start, data_end]: i32 day numbers.
        let (b0, e32, f1) = (base_start as i32, e_day, fu_end as i32);
        let ed = self.events.ed.person(person);
        let adm = self.events.admissions.person(person);
        let baseline_ed = count_between(ed, b0, e32) as u32;
        let age = chrono::Datelike::year(&date_of(e_day)?) - rec.birth_year;
        let (team, enrolment_date) = match (group, first) {
            (Group::Participant, Some(r)) => (
                Some(self.enrolments.team_name(r.team).to_owned()),
                Some(date_of(r.day)?),
            ),
            _ => (None, None),
        };
        Ok(Class::Member(Box::new(CohortMember {
            person,
            group,
            team,
            eligibility_date: date_of(e_day)?,
            enrolment_date,
            baseline_start: date_of(b0)?,
            follow_up_end: date_of(f1)?,
            baseline_days: (e - base_start) as u32,
            follow_up_days: fu_days as u32,
            baseline_ed,
            baseline_admissions: count_between(adm, b0, e32) as u32,
            follow_up_ed: count_between(ed, e32, f1) as u32,
            follow_up_admissions: count_between(adm, e32, f1) as u32,
            stratum: Stratum::of(baseline_ed, age, rec.sex),
            on_support: false,
        })))
    }

    /// The group of a person eligible on day `e`, or why the person is excluded: enrolled in
    /// the program within `enrol_within_days` makes a participant; no enrolment anywhere
    /// until `comparison_not_enrolled_days` after `e` makes a comparison person.
    fn group(
        &self,
        person: u32,
        e: i64,
        first: Option<crate::enrolment::EnrolmentRow>,
    ) -> std::result::Result<Group, Class> {
        let within = e + i64::from(self.config.enrol_within_days);
        let exclusion_end = e + i64::from(self.config.comparison_not_enrolled_days);
        match first {
            Some(r) if (e..=within).contains(&i64::from(r.day)) => Ok(Group::Participant),
            _ => match self.enrolments.first_any(person).map(i64::from) {
                None => Ok(Group::Comparison),
                Some(f) if f > exclusion_end => Ok(Group::Comparison),
                Some(f) if f < e => Err(Class::Before),
                Some(_) => {
                    let late = first.is_some_and(|r| {
                        let d = i64::from(r.day);
                        d > within && d <= exclusion_end
                    });
                    Err(if late { Class::Late } else { Class::Other })
                }
            },
        }
    }
}

/// The cohort members and the count of each class.
fn tally(
    classes: Vec<Result<Class>>,
    eligible: usize,
) -> Result<(Vec<CohortMember>, CohortCounts)> {
    let mut counts = CohortCounts {
        eligible,
        ..CohortCounts::default()
    };
    let mut members = Vec::new();
    for c in classes {
        match c? {
            Class::Member(m) => {
                match m.group {
                    Group::Participant => counts.participants += 1,
                    Group::Comparison => counts.comparison += 1,
                }
                members.push(*m);
            }
            Class::Before => counts.enrolled_before_eligibility += 1,
            Class::Late => counts.enrolled_late += 1,
            Class::Other => counts.enrolled_other_program += 1,
            Class::Short(Group::Participant) => counts.participants_short_follow_up += 1,
            Class::Short(Group::Comparison) => counts.comparison_short_follow_up += 1,
        }
    }
    Ok((members, counts))
}

/// A member is on common support when the other group has someone in its stratum.
fn mark_common_support(members: &mut [CohortMember]) {
    let mut n = [[0_usize; N_STRATA]; 2];
    for m in members.iter() {
        n[usize::from(m.group == Group::Comparison)][m.stratum.index()] += 1;
    }
    for m in members.iter_mut() {
        let other = usize::from(m.group == Group::Participant);
        m.on_support = n[other][m.stratum.index()] > 0;
    }
}

/// Pooled events and person-years of one group and both periods.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct GroupRates {
    /// (Weighted) baseline events.
    pub pre_events: f64,
    /// (Weighted) baseline person-years.
    pub pre_person_years: f64,
    /// (Weighted) follow-up events.
    pub post_events: f64,
    /// (Weighted) follow-up person-years.
    pub post_person_years: f64,
    /// Baseline events per person-year.
    pub pre_rate: Option<f64>,
    /// Follow-up events per person-year.
    pub post_rate: Option<f64>,
}

/// The adjusted effect of one outcome for one program and team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustedEstimate {
    /// Program code.
    pub program: String,
    /// All teams or the enrolling team.
    pub scope: TeamScope,
    /// ED visits or admissions.
    pub outcome: Outcome,
    /// Participants analysed (on support).
    pub n_participants: usize,
    /// Participants excluded because no comparison person shares their stratum.
    pub n_off_support: usize,
    /// Comparison persons with positive weight.
    pub n_comparison: usize,
    /// Comparison pool (whole region, all strata).
    pub n_comparison_pool: usize,
    /// Participants' pooled rates.
    pub participants: GroupRates,
    /// Weighted comparison group's pooled rates.
    pub comparison: GroupRates,
    /// `(post_p / pre_p) / (post_c / pre_c) - 1`; `None` when undefined.
    pub effect: Option<f64>,
    /// Percentile bootstrap interval of `effect`.
    pub ci: Option<Ci>,
    /// Bootstrap replicates requested.
    pub replicates: usize,
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    stratum: usize,
    pre_py: f64,
    post_py: f64,
    /// Baseline events per outcome ([`Outcome::ALL`] order).
    pre: [f64; 2],
    /// Follow-up events per outcome.
    post: [f64; 2],
}

impl Unit {
    fn of(m: &CohortMember) -> Self {
        let (pre_ed, post_ed) = m.counts(Outcome::EdVisits);
        let (pre_adm, post_adm) = m.counts(Outcome::Admissions);
        Unit {
            stratum: m.stratum.index(),
            pre_py: person_years(i64::from(m.baseline_days)),
            post_py: person_years(i64::from(m.follow_up_days)),
            pre: [f64::from(pre_ed), f64::from(pre_adm)],
            post: [f64::from(post_ed), f64::from(post_adm)],
        }
    }
}

/// Weighted sums of one group (or stratum), both outcomes.
#[derive(Debug, Clone, Copy, Default)]
struct Agg {
    n: f64,
    pre_py: f64,
    post_py: f64,
    pre: [f64; 2],
    post: [f64; 2],
}

type Table = [Agg; N_STRATA];

impl Agg {
    fn add_unit(&mut self, u: &Unit, w: f64) {
        self.n += w;
        self.pre_py += w * u.pre_py;
        self.post_py += w * u.post_py;
        for o in 0..2 {
            self.pre[o] += w * u.pre[o];
            self.post[o] += w * u.post[o];
        }
    }

    fn add(&mut self, a: &Agg, w: f64) {
        self.n += w * a.n;
        self.pre_py += w * a.pre_py;
        self.post_py += w * a.post_py;
        for o in 0..2 {
            self.pre[o] += w * a.pre[o];
            self.post[o] += w * a.post[o];
        }
    }

    fn rates(&self, o: usize) -> GroupRates {
        let r = |e: f64, py: f64| (py > 0.0).then(|| e / py);
        GroupRates {
            pre_events: self.pre[o],
            pre_person_years: self.pre_py,
            post_events: self.post[o],
            post_person_years: self.post_py,
            pre_rate: r(self.pre[o], self.pre_py),
            post_rate: r(self.post[o], self.post_py),
        }
    }

    /// Post rate over pre rate of outcome `o` (NaN or infinite when undefined).
    fn ratio(&self, o: usize) -> f64 {
        (self.post[o] / self.post_py) / (self.pre[o] / self.pre_py)
    }
}

fn aggregate(units: &[Unit], weights: &[u32], table: &mut Table) {
    for (u, &w) in units.iter().zip(weights) {
        if w > 0 {
            table[u.stratum].add_unit(u, f64::from(w));
        }
    }
}

/// Participants on support and the re-weighted comparison group.
struct Fit {
    p: Agg,
    c: Agg,
    off_support: f64,
    comparison_used: f64,
}

impl Fit {
    /// Weights `n_p(s) / n_c(s)`; strata without comparison are off support.
    fn new(tp: &Table, tc: &Table) -> Self {
        let mut f = Fit {
            p: Agg::default(),
            c: Agg::default(),
            off_support: 0.0,
            comparison_used: 0.0,
        };
        for (sp, sc) in tp.iter().zip(tc) {
            if sp.n == 0.0 {
                continue;
            }
            if sc.n == 0.0 {
                f.off_support += sp.n;
                continue;
            }
            f.p.add(sp, 1.0);
            f.c.add(sc, sp.n / sc.n);
            f.comparison_used += sc.n;
        }
        f
    }

    fn effect(&self, o: usize) -> f64 {
        self.p.ratio(o) / self.c.ratio(o) - 1.0
    }
}

/// Participant tables per team and overall, and the comparison table, for
/// multiplicities `w` (one vector per team, then the comparison pool).
fn tables(teams: &[Vec<Unit>], comparison: &[Unit], w: &[Vec<u32>]) -> (Vec<Table>, Table) {
    let mut per_scope = vec![[Agg::default(); N_STRATA]; teams.len() + 1];
    for (t, units) in teams.iter().enumerate() {
        let mut table = [Agg::default(); N_STRATA];
        aggregate(units, &w[t], &mut table);
        for (all, s) in per_scope[0].iter_mut().zip(&table) {
            all.add(s, 1.0);
        }
        per_scope[t + 1] = table;
    }
    let mut tc = [Agg::default(); N_STRATA];
    aggregate(comparison, &w[teams.len()], &mut tc);
    (per_scope, tc)
}

/// Adjusted estimates of a cohort: overall, then per enrolling team (name
/// order), ED visits then admissions; every scope uses the whole comparison
/// pool.
///
/// All scopes and outcomes come from one bootstrap whose groups are the
/// participants of each team and the comparison pool, each resampled
/// independently with its size fixed (so the overall interval is stratified
/// by team as well as by group).
///
/// # Errors
/// An invalid configuration.
pub fn adjusted_estimates(
    cohort: &AdjustedCohort,
    config: &EvaluationConfig,
) -> Result<Vec<AdjustedEstimate>> {
    config.validate()?;
    let comparison: Vec<Unit> = cohort
        .members
        .iter()
        .filter(|m| m.group == Group::Comparison)
        .map(Unit::of)
        .collect();
    let participants: Vec<&CohortMember> = cohort
        .members
        .iter()
        .filter(|m| m.group == Group::Participant)
        .collect();
    if participants.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<&str> = participants
        .iter()
        .map(|m| m.team.as_deref().unwrap_or(""))
        .collect();
    names.sort_unstable();
    names.dedup();
    let teams: Vec<Vec<Unit>> = names
        .iter()
        .map(|&name| {
            participants
                .iter()
                .filter(|m| m.team.as_deref().unwrap_or("") == name)
                .map(|m| Unit::of(m))
                .collect()
        })
        .collect();
    let n_scopes = teams.len() + 1;
    let n_outcomes = Outcome::ALL.len();
    let statistic = |w: &[Vec<u32>], out: &mut [f64]| {
        let (scopes, tc) = tables(&teams, &comparison, w);
        for (s, tp) in scopes.iter().enumerate() {
            let fit = Fit::new(tp, &tc);
            for o in 0..n_outcomes {
                out[s * n_outcomes + o] = fit.effect(o);
            }
        }
    };
    let mut sizes: Vec<usize> = teams.iter().map(Vec::len).collect();
    sizes.push(comparison.len());
    let boot = if comparison.is_empty() {
        vec![None; n_scopes * n_outcomes]
    } else {
        multi_group_bootstrap(&sizes, n_scopes * n_outcomes, statistic, &config.bootstrap)?
    };
    let ones: Vec<Vec<u32>> = sizes.iter().map(|&n| vec![1; n]).collect();
    let (scopes, tc) = tables(&teams, &comparison, &ones);
    let mut out = Vec::with_capacity(n_scopes * n_outcomes);
    for (s, tp) in scopes.iter().enumerate() {
        let fit = Fit::new(tp, &tc);
        let n_selected = if s == 0 {
            participants.len()
        } else {
            teams[s - 1].len()
        };
        let scope = if s == 0 {
            TeamScope::All
        } else {
            TeamScope::Team(names[s - 1].to_owned())
        };
        for (o, outcome) in Outcome::ALL.into_iter().enumerate() {
            let effect = Some(fit.effect(o)).filter(|e| e.is_finite());
            let ci = boot[s * n_outcomes + o]
                .as_ref()
                .map(|r| Ci::from_bootstrap(r, config.bootstrap.confidence));
            out.push(AdjustedEstimate {
                program: cohort.program.clone(),
                scope: scope.clone(),
                outcome,
                n_participants: n_selected - fit.off_support as usize,
                n_off_support: fit.off_support as usize,
                n_comparison: fit.comparison_used as usize,
                n_comparison_pool: comparison.len(),
                participants: fit.p.rates(o),
                comparison: fit.c.rates(o),
                effect,
                ci,
                replicates: config.bootstrap.replicates,
            });
        }
    }
    Ok(out)
}
