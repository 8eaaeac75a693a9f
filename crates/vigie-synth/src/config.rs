//! Generator configuration ([`SynthConfig`]) and the monthly time horizon
//! ([`Horizon`]) derived from it.

use chrono::{Datelike, Months, NaiveDate};

use crate::SynthError;

/// Everything that shapes a synthetic region. The same configuration (seed
/// included) always produces byte-identical files, whatever the number of
/// threads or the `chunk_size`.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Master seed; every random draw is derived from it.
    pub seed: u64,
    /// Number of persons in the population registry (default 20 000, tested
    /// up to 15 million with bounded memory).
    pub persons: u64,
    /// First day of the horizon; must be the first of a month (default 2023-01-01).
    pub start: NaiveDate,
    /// Length of the horizon in months (default 36).
    pub months: u32,
    /// Number of attributed care teams `T01..Txx` (default 6, at most 99).
    pub teams: u32,
    /// Relative change of event rates after enrolment in the program, in
    /// `[-1, 0]` (default -0.20: 20% fewer ED visits and admissions).
    /// Implemented by thinning, see [`crate::program`].
    pub program_effect: f64,
    /// Probability that an eligible person is enrolled (default 0.5).
    pub enrol_probability: f64,
    /// Probability that a data row is deliberately corrupted (default 0.003).
    pub bad_row_rate: f64,
    /// Population mean of ED visits per person-year, admissions' ED visits
    /// included (default 0.4).
    pub ed_rate_mean: f64,
    /// Population mean of inpatient admissions per person-year (default 0.1).
    pub admission_rate_mean: f64,
    /// Share of ED visits that go to hospital A (default 0.6); the rest go to
    /// hospital B.
    pub hospital_a_share: f64,
    /// Per-quarter probability that a person with an ED visit in the quarter
    /// answers the patient-experience survey (default 0.12).
    pub survey_rate: f64,
    /// Per-quarter probability that an enrolled program participant answers
    /// the survey (default 0.30).
    pub survey_rate_enrolled: f64,
    /// Persons per work unit (default 50 000). Only affects memory use and
    /// parallelism, never the output.
    pub chunk_size: u64,
    /// Whether the care pathway's extracts (community contacts, referrals) are written
    /// (default true). Leaving them out changes no other file.
    pub pathway: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            persons: 20_000,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN),
            months: 36,
            teams: 6,
            program_effect: -0.20,
            enrol_probability: 0.5,
            bad_row_rate: 0.003,
            ed_rate_mean: 0.4,
            admission_rate_mean: 0.1,
            hospital_a_share: 0.6,
            survey_rate: 0.12,
            survey_rate_enrolled: 0.30,
            chunk_size: 50_000,
            pathway: true,
        }
    }
}

/// Largest population the HCN scheme supports (9-digit payloads starting 1-9).
pub const MAX_PERSONS: u64 = 900_000_000;

impl SynthConfig {
    /// Checks every field; [`crate::generate`] calls this first.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |msg: String| Err(SynthError::InvalidConfig(msg));
        if self.persons > MAX_PERSONS {
            return bad(format!("persons = {} exceeds {MAX_PERSONS}", self.persons));
        }
        if self.start.day() != 1 {
            return bad(format!(
                "start = {} is not the first of a month",
                self.start
            ));
        }
        if !(1990..=2200).contains(&self.start.year()) {
            return bad(format!("start = {} is outside 1990..=2200", self.start));
        }
        if !(1..=1200).contains(&self.months) {
            return bad(format!("months = {} is outside 1..=1200", self.months));
        }
        if !(1..=99).contains(&self.teams) {
            return bad(format!("teams = {} is outside 1..=99", self.teams));
        }
        if !(-1.0..=0.0).contains(&self.program_effect) {
            return bad(format!(
                "program_effect = {} is outside [-1, 0] (effects are applied by thinning)",
                self.program_effect
            ));
        }
        for (name, v) in [
            ("enrol_probability", self.enrol_probability),
            ("bad_row_rate", self.bad_row_rate),
            ("hospital_a_share", self.hospital_a_share),
            ("survey_rate", self.survey_rate),
            ("survey_rate_enrolled", self.survey_rate_enrolled),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{name} = {v} is outside [0, 1]"));
            }
        }
        if !(self.ed_rate_mean.is_finite() && self.ed_rate_mean >= 0.0 && self.ed_rate_mean <= 50.0)
        {
            return bad(format!(
                "ed_rate_mean = {} is outside [0, 50]",
                self.ed_rate_mean
            ));
        }
        if !(self.admission_rate_mean.is_finite()
            && self.admission_rate_mean >= 0.0
            && self.admission_rate_mean <= 20.0)
        {
            return bad(format!(
                "admission_rate_mean = {} is outside [0, 20]",
                self.admission_rate_mean
            ));
        }
        if self.chunk_size == 0 {
            return bad("chunk_size must be at least 1".into());
        }
        Ok(())
    }

    /// The horizon (months and days) this configuration covers.
    pub fn horizon(&self) -> Result<Horizon, SynthError> {
        self.validate()?;
        Horizon::new(self.start, self.months)
    }
}

/// The simulated period: `months` calendar months from `start` (inclusive)
/// to `end` (exclusive). Internally days are counted as offsets from `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Horizon {
    month_starts: Vec<NaiveDate>,
}

impl Horizon {
    /// Builds the horizon; `start` must be the first of a month.
    pub fn new(start: NaiveDate, months: u32) -> Result<Self, SynthError> {
        let month_starts = (0..=months)
            .map(|i| {
                start.checked_add_months(Months::new(i)).ok_or_else(|| {
                    SynthError::InvalidConfig(format!("{start} + {i} months overflows"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Horizon { month_starts })
    }

    /// First day of the horizon.
    pub fn start(&self) -> NaiveDate {
        self.month_starts[0]
    }

    /// First day after the horizon.
    pub fn end(&self) -> NaiveDate {
        self.month_starts[self.months()]
    }

    /// Last day of the horizon.
    pub fn last_day(&self) -> NaiveDate {
        self.date(self.days() - 1)
    }

    /// Number of months.
    pub fn months(&self) -> usize {
        self.month_starts.len() - 1
    }

    /// Number of days.
    pub fn days(&self) -> i32 {
        self.offset(self.end())
    }

    /// First day of month `i` (0-based; `i == months()` gives [`Self::end`]).
    pub fn month_start(&self, i: usize) -> NaiveDate {
        self.month_starts[i]
    }

    /// Day offset of `d` from the start (negative before the start).
    pub fn offset(&self, d: NaiveDate) -> i32 {
        // Horizons are at most 100 years long, so day counts fit in i32.
        (d - self.start()).num_days() as i32
    }

    /// The date at day offset `off`.
    pub fn date(&self, off: i32) -> NaiveDate {
        self.start() + chrono::Duration::days(i64::from(off))
    }

    /// 0-based index of the month containing `d`, if inside the horizon.
    pub fn month_index(&self, d: NaiveDate) -> Option<usize> {
        let s = self.start();
        let i = (d.year() - s.year()) * 12 + d.month() as i32 - s.month() as i32;
        usize::try_from(i).ok().filter(|&i| i < self.months())
    }

    /// Calendar quarters `(year, 1..=4)` overlapping the horizon, in order.
    pub fn quarters(&self) -> Vec<(i32, u32)> {
        let key = |d: NaiveDate| d.year() * 4 + (d.month0() / 3) as i32;
        let first = key(self.start());
        let last = key(self.last_day());
        (first..=last)
            .map(|k| (k.div_euclid(4), k.rem_euclid(4) as u32 + 1))
            .collect()
    }

    /// 0-based index (into [`Self::quarters`]) of the calendar quarter of `d`,
    /// if inside the horizon.
    pub fn quarter_index(&self, d: NaiveDate) -> Option<usize> {
        if d < self.start() || d >= self.end() {
            return None;
        }
        let key = |d: NaiveDate| d.year() * 4 + (d.month0() / 3) as i32;
        usize::try_from(key(d) - key(self.start())).ok()
    }

    /// Day offsets `[from, to)` of calendar quarter `q` (index into
    /// [`Self::quarters`]) clipped to the horizon.
    pub fn quarter_span(&self, q: usize) -> (i32, i32) {
        let (y, n) = self.quarters()[q];
        let qs = NaiveDate::from_ymd_opt(y, (n - 1) * 3 + 1, 1).unwrap_or(self.start());
        let qe = qs.checked_add_months(Months::new(3)).unwrap_or(self.end());
        (
            self.offset(qs.max(self.start())),
            self.offset(qe.min(self.end())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn default_horizon() {
        let h = SynthConfig::default().horizon().expect("valid default");
        assert_eq!(h.start(), d(2023, 1, 1));
        assert_eq!(h.end(), d(2026, 1, 1));
        assert_eq!(h.days(), 365 * 3 + 1);
        assert_eq!(h.month_index(d(2024, 2, 29)), Some(13));
        assert_eq!(h.month_index(d(2026, 1, 1)), None);
        assert_eq!(h.month_index(d(2022, 12, 31)), None);
        assert_eq!(h.quarters().len(), 12);
        assert_eq!(h.quarter_index(d(2025, 12, 31)), Some(11));
        assert_eq!(h.quarter_span(1), (90, 181));
    }

    #[test]
    fn odd_horizon_quarters() {
        let h = Horizon::new(d(2023, 2, 1), 4).expect("valid");
        assert_eq!(h.quarters(), vec![(2023, 1), (2023, 2)]);
        assert_eq!(h.quarter_span(0), (0, h.offset(d(2023, 4, 1))));
        assert_eq!(h.quarter_span(1).1, h.offset(d(2023, 6, 1)));
    }

    #[test]
    fn validation() {
        let ok = SynthConfig::default();
        assert!(ok.validate().is_ok());
        let bad = SynthConfig {
            program_effect: 0.1,
            ..ok.clone()
        };
        assert!(bad.validate().is_err());
        let bad = SynthConfig {
            start: d(2023, 1, 2),
            ..ok.clone()
        };
        assert!(bad.validate().is_err());
        let bad = SynthConfig {
            chunk_size: 0,
            ..ok
        };
        assert!(bad.validate().is_err());
    }
}
