//! Care-coordination program ("PSM", personalised service management):
//! eligibility, enrolment dates and the program effect.
//!
//! **Eligibility.** A person becomes eligible on the first day `d` with at
//! least [`ED_THRESHOLD`] ED visits or at least [`ADMISSION_THRESHOLD`]
//! admissions in the window `[d - 365, d)` (day `d` itself excluded), no
//! earlier than 12 months after the horizon start (so a baseline year exists)
//! and while alive. Only the first eligibility counts.
//!
//! **Enrolment.** An eligible person is enrolled with probability
//! `enrol_probability`: referral 0-5 days after eligibility, first contact
//! 1-30 days after referral (skewed to short delays), enrolment 1-60 days
//! after eligibility, if alive and within the horizon. Care plan 0-60 days
//! after enrolment (10% missing, and missing when it would fall after the
//! horizon or after death); end date 335-395 days after enrolment, the death
//! date if the person dies first, blank when still running at the horizon end.
//!
//! **Effect and common random numbers.** Candidate events are generated at
//! the no-program rate. Each candidate event on or after the enrolment date
//! (until the horizon end, whatever the end date) is kept when its own uniform
//! draw is below `1 + program_effect`; an urgent admission and its ED visit
//! are kept or averted together. Eligibility and enrolment depend only on
//! events before enrolment and on the separate program stream, so a region
//! generated with `program_effect = 0.0` and the same seed has the same
//! persons, the same enrolments and a superset of the events: it is the
//! counterfactual world, and the difference is the true program effect.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::Model;
use crate::population::Person;
use crate::utilisation::{Admission, EdVisit};

/// ED visits in the preceding 365 days that make a person eligible.
pub const ED_THRESHOLD: usize = 5;
/// Admissions in the preceding 365 days that make a person eligible.
pub const ADMISSION_THRESHOLD: usize = 3;
/// Length of the look-back window in days.
pub const WINDOW_DAYS: i64 = 365;
/// Program code written in the enrolment file.
pub const PROGRAM_CODE: &str = "PSM";

/// Program dates of one enrolled person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// First eligible day (not written in any file).
    pub eligibility: NaiveDate,
    /// Referral date.
    pub referral: NaiveDate,
    /// First contact date.
    pub first_contact: NaiveDate,
    /// Enrolment date; the effect applies to events from this day on.
    pub enrolment: NaiveDate,
    /// Care plan date, if any.
    pub care_plan: Option<NaiveDate>,
    /// End date, if the program ended (or the person died) within the horizon.
    pub end: Option<NaiveDate>,
}

fn count_in_window(sorted: &[NaiveDate], d: NaiveDate) -> usize {
    let from = d - Duration::days(WINDOW_DAYS);
    sorted.partition_point(|&x| x < d) - sorted.partition_point(|&x| x < from)
}

/// The first day `d` in `[earliest, last]` with at least [`ED_THRESHOLD`] of
/// `ed_dates` or at least [`ADMISSION_THRESHOLD`] of `admission_dates` in
/// `[d - 365, d)`. Both slices must be sorted.
pub fn first_eligible_day(
    ed_dates: &[NaiveDate],
    admission_dates: &[NaiveDate],
    earliest: NaiveDate,
    last: NaiveDate,
) -> Option<NaiveDate> {
    let eligible = |d: NaiveDate| {
        count_in_window(ed_dates, d) >= ED_THRESHOLD
            || count_in_window(admission_dates, d) >= ADMISSION_THRESHOLD
    };
    // Counts only go up on the day after an event, so the first eligible
    // day is `earliest` or the day after some event.
    let mut candidates: Vec<NaiveDate> = ed_dates
        .iter()
        .chain(admission_dates)
        .map(|&e| e + Duration::days(1))
        .filter(|&d| d > earliest && d <= last)
        .collect();
    if earliest <= last {
        candidates.push(earliest);
    }
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().find(|&d| eligible(d))
}

/// Eligibility, enrolment and thinning of one person's candidate events.
/// Returns the first eligible day and the enrolment, if any.
pub(crate) fn apply(
    model: &Model,
    person: &Person,
    ed: &mut [EdVisit],
    admissions: &mut [Admission],
    rng: &mut ChaCha8Rng,
) -> (Option<NaiveDate>, Option<Enrolment>) {
    let h = &model.horizon;
    let last_alive = person
        .death_date
        .map_or(h.last_day(), |d| d.min(h.last_day()));

    // Fixed number of program draws per person, whatever happens.
    let u_enrol: f64 = rng.random();
    let referral_delay = rng.random_range(0..=5i64);
    let u_contact: f64 = rng.random();
    let u_gap: f64 = rng.random();
    let care_plan_gap = rng.random_range(0..=60i64);
    let care_plan_missing = rng.random_bool(0.10);
    let duration = rng.random_range(335..=395i64);

    let Some(earliest) = model.eligibility_earliest.map(|o| h.date(o)) else {
        return (None, None);
    };
    let ed_dates: Vec<NaiveDate> = ed.iter().map(|v| v.arrival).collect();
    let adm_dates: Vec<NaiveDate> = admissions.iter().map(|a| a.admit).collect();
    let Some(eligibility) = first_eligible_day(&ed_dates, &adm_dates, earliest, last_alive) else {
        return (None, None);
    };
    if u_enrol >= model.cfg.enrol_probability {
        return (Some(eligibility), None);
    }

    let referral = eligibility + Duration::days(referral_delay);
    // 1..=30 days, skewed toward short delays.
    let contact_delay = 1 + (29.0 * u_contact.powf(2.5)).round() as i64;
    let first_contact = referral + Duration::days(contact_delay);
    let used = (first_contact - eligibility).num_days();
    let gap = ((60 - used + 1) as f64 * u_gap).floor() as i64;
    let enrolment = first_contact + Duration::days(gap.min(60 - used));
    if enrolment > last_alive {
        return (Some(eligibility), None);
    }

    let care_plan = Some(enrolment + Duration::days(care_plan_gap))
        .filter(|&d| !care_plan_missing && d <= last_alive);
    let planned_end = enrolment + Duration::days(duration);
    let end = match person.death_date {
        Some(death) if death < planned_end => Some(death),
        _ => Some(planned_end).filter(|&d| d <= h.last_day()),
    };

    let keep_below = 1.0 + model.cfg.program_effect;
    for a in admissions.iter_mut() {
        if a.admit >= enrolment && a.keep_draw >= keep_below {
            a.kept = false;
            if let Some(v) = a.ed_visit {
                ed[v].kept = false;
            }
        }
    }
    for v in ed.iter_mut() {
        if v.admission.is_none() && v.arrival >= enrolment && v.keep_draw >= keep_below {
            v.kept = false;
        }
    }

    (
        Some(eligibility),
        Some(Enrolment {
            eligibility,
            referral,
            first_contact,
            enrolment,
            care_plan,
            end,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("valid date")
    }

    #[test]
    fn window_excludes_the_day_itself() {
        let ed: Vec<NaiveDate> = [
            "2024-03-01",
            "2024-03-02",
            "2024-03-03",
            "2024-03-04",
            "2024-03-05",
        ]
        .iter()
        .map(|s| d(s))
        .collect();
        let got = first_eligible_day(&ed, &[], d("2024-01-01"), d("2025-12-31"));
        assert_eq!(got, Some(d("2024-03-06")));
    }

    #[test]
    fn earliest_day_counts_baseline_history() {
        let ed: Vec<NaiveDate> = [
            "2023-06-01",
            "2023-07-01",
            "2023-08-01",
            "2023-09-01",
            "2023-10-01",
        ]
        .iter()
        .map(|s| d(s))
        .collect();
        let got = first_eligible_day(&ed, &[], d("2024-01-01"), d("2025-12-31"));
        assert_eq!(got, Some(d("2024-01-01")));
        // Too old by the earliest day: the first visit left the window.
        let got = first_eligible_day(&ed, &[], d("2024-06-01"), d("2025-12-31"));
        assert_eq!(got, None);
    }

    #[test]
    fn admissions_threshold() {
        let adm: Vec<NaiveDate> = ["2024-02-03", "2024-05-01", "2025-01-31"]
            .iter()
            .map(|s| d(s))
            .collect();
        let got = first_eligible_day(&[], &adm, d("2024-01-01"), d("2025-12-31"));
        assert_eq!(got, Some(d("2025-02-01")));
        let got = first_eligible_day(&[], &adm, d("2024-01-01"), d("2025-01-31"));
        assert_eq!(got, None);
    }
}
