//! Case-finding rule: each person's first eligibility date.
//!
//! The first eligibility date `e` of a person is the first day `d` in
//! `[data_start + window_days, data_end)`, with the person alive on `d`
//! (death date `>= d`), such that the window `[d - window_days, d)` holds at
//! least `min_ed` ED visits or at least `min_admissions` admissions.
//!
//! **Algorithm (O(events) per person).** `k` sorted events
//! `t[i+1-k] ≤ … ≤ t[i]` all lie in `[d - w, d)` exactly when
//! `t[i] + 1 ≤ d ≤ t[i+1-k] + w`. So for each run of `k` consecutive events
//! the eligible days form the interval `[t[i] + 1, t[i+1-k] + w]`; clipped to
//! `[earliest, last]`, the first non-empty interval (scanning `i` upward, its
//! lower bound never decreases) gives the first eligible day of that
//! criterion, and the person's date is the earlier of the two criteria. No
//! day-by-day scan is needed.

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::config::EvaluationConfig;
use crate::enrolment::Enrolments;
use crate::error::{EvalError, Result};
use crate::events::Events;
use crate::types::{Population, date_of, day_of};

/// First day in `[earliest, last]` on which at least `threshold` of the
/// sorted `days` lie in `[d - window, d)`. `threshold == 0` disables the
/// criterion (returns `None`).
#[must_use]
pub fn first_day_reaching(
    days: &[i32],
    threshold: u32,
    window: u32,
    earliest: i32,
    last: i32,
) -> Option<i32> {
    let k = threshold as usize;
    if k == 0 || days.len() < k {
        return None;
    }
    let (earliest, last, window) = (i64::from(earliest), i64::from(last), i64::from(window));
    for i in (k - 1)..days.len() {
        let d = (i64::from(days[i]) + 1).max(earliest);
        if d > last {
            return None;
        }
        if d <= i64::from(days[i + 1 - k]) + window {
            // d lies in [earliest, last] ⊂ i32 range.
            return i32::try_from(d).ok();
        }
    }
    None
}

/// Each person's first eligibility day (`None` when never eligible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityDates {
    days: Vec<Option<i32>>,
}

impl EligibilityDates {
    /// Wraps precomputed day numbers (days since 1970-01-01), one per person.
    #[must_use]
    pub fn from_days(days: Vec<Option<i32>>) -> Self {
        Self { days }
    }

    /// Number of persons covered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no person is covered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Day number of person `person`'s first eligibility.
    #[must_use]
    pub fn day(&self, person: u32) -> Option<i32> {
        self.days.get(person as usize).copied().flatten()
    }

    /// Date of person `person`'s first eligibility.
    #[must_use]
    pub fn date(&self, person: u32) -> Option<NaiveDate> {
        self.day(person).and_then(|d| date_of(d).ok())
    }

    /// `(person, day)` of every eligible person, in person order.
    pub fn eligible(&self) -> impl Iterator<Item = (u32, i32)> + '_ {
        self.days
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.map(|d| (i as u32, d)))
    }

    /// Number of persons ever eligible.
    #[must_use]
    pub fn n_eligible(&self) -> usize {
        self.days.iter().filter(|d| d.is_some()).count()
    }

    /// Every person's date (`None` when never eligible).
    #[must_use]
    pub fn to_dates(&self) -> Vec<Option<NaiveDate>> {
        (0..self.days.len() as u32).map(|p| self.date(p)).collect()
    }
}

/// Checks that `events` and `enrolments` cover exactly the persons of `population`.
pub(crate) fn check_enrolments(population: &Population, enrolments: &Enrolments) -> Result<()> {
    if enrolments.n_persons() != population.len() {
        return Err(EvalError::LengthMismatch {
            left: "population persons",
            left_len: population.len(),
            right: "enrolment index persons",
            right_len: enrolments.n_persons(),
        });
    }
    Ok(())
}

/// Checks that `events` covers exactly the persons of `population`.
pub(crate) fn check_coverage(population: &Population, events: &Events) -> Result<()> {
    if events.n_persons() != population.len() {
        return Err(EvalError::LengthMismatch {
            left: "population persons",
            left_len: population.len(),
            right: "event series persons",
            right_len: events.n_persons(),
        });
    }
    Ok(())
}

/// First eligibility date of every person (in parallel).
///
/// # Errors
/// An invalid configuration, or event series covering a different number
/// of persons than the population.
pub fn first_eligibility_dates(
    population: &Population,
    events: &Events,
    config: &EvaluationConfig,
) -> Result<EligibilityDates> {
    config.validate()?;
    check_coverage(population, events)?;
    let rule = config.eligibility;
    let earliest = i64::from(config.start_day()) + i64::from(rule.window_days);
    let end = config.end_day();
    let Ok(earliest) = i32::try_from(earliest) else {
        return Err(EvalError::DateOutOfRange(format!(
            "data_start + {} days",
            rule.window_days
        )));
    };
    let days = population
        .persons()
        .par_iter()
        .map(|p| {
            let last = p.death.map_or(end - 1, |d| day_of(d).min(end - 1));
            let ed = first_day_reaching(
                events.ed.person(p.key),
                rule.min_ed,
                rule.window_days,
                earliest,
                last,
            );
            let adm = first_day_reaching(
                events.admissions.person(p.key),
                rule.min_admissions,
                rule.window_days,
                earliest,
                last,
            );
            match (ed, adm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        })
        .collect();
    Ok(EligibilityDates { days })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: scan every day.
    fn brute(days: &[i32], k: u32, w: u32, earliest: i32, last: i32) -> Option<i32> {
        if k == 0 {
            return None;
        }
        (earliest..=last)
            .find(|&d| days.iter().filter(|&&t| t >= d - w as i32 && t < d).count() >= k as usize)
    }

    #[test]
    fn matches_brute_force_on_many_patterns() {
        // Deterministic pseudo-random patterns (LCG), including duplicates.
        let mut s: u64 = 12345;
        let mut next = || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (s >> 33) as i32
        };
        for _ in 0..400 {
            let n = (next() % 12) as usize;
            let mut days: Vec<i32> = (0..n).map(|_| next() % 900).collect();
            days.sort_unstable();
            let k = (next() % 5) as u32;
            let w = 30 + (next() % 400) as u32;
            let earliest = next() % 400;
            let last = earliest + next() % 600;
            assert_eq!(
                first_day_reaching(&days, k, w, earliest, last),
                brute(&days, k, w, earliest, last),
                "days {days:?} k {k} w {w} earliest {earliest} last {last}"
            );
        }
    }
}
