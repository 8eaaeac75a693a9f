//! Configuration of case finding and of both estimands ([`EvaluationConfig`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use vigie_stats::BootstrapConfig;

use crate::error::{EvalError, Result};
use crate::types::day_of;

/// The high-user rule: a person is eligible on day `d` when the window
/// `[d - window_days, d)` (day `d` itself excluded) holds at least `min_ed`
/// ED visits **or** at least `min_admissions` admissions. A threshold of 0
/// disables that criterion (at least one must be active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityRule {
    /// ED visits in the window that make a person eligible (default 5).
    pub min_ed: u32,
    /// Admissions in the window that make a person eligible (default 3).
    pub min_admissions: u32,
    /// Look-back window in days (default 365).
    pub window_days: u32,
}

impl Default for EligibilityRule {
    fn default() -> Self {
        Self {
            min_ed: 5,
            min_admissions: 3,
            window_days: 365,
        }
    }
}

/// Everything that shapes case finding and the two estimands.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationConfig {
    /// First day covered by the event data.
    pub data_start: NaiveDate,
    /// First day after the event data (exclusive end).
    pub data_end: NaiveDate,
    /// The high-user rule. Eligibility is looked for from
    /// `data_start + window_days` on, so that the whole window is observed.
    pub eligibility: EligibilityRule,
    /// Case finding: an eligible person counts as enrolled when they have an
    /// enrolment in any program on or after `e - enrolled_lookback_days`
    /// (default 90).
    pub enrolled_lookback_days: u32,
    /// Estimand (b): participants are enrolled within `[e, e + enrol_within_days]`
    /// (default 90).
    pub enrol_within_days: u32,
    /// Estimand (b): comparison persons have no enrolment in any program on
    /// or before `e + comparison_not_enrolled_days` (default 365).
    pub comparison_not_enrolled_days: u32,
    /// Length of the baseline window before time zero (default 365).
    pub baseline_days: u32,
    /// Length of the follow-up window from time zero (default 365).
    pub follow_up_days: u32,
    /// Estimand (b): persons with fewer follow-up days (death, end of data)
    /// are excluded (default 90).
    pub min_follow_up_days: u32,
    /// Bootstrap settings (replicates, seed, confidence) of both estimands.
    pub bootstrap: BootstrapConfig,
}

impl EvaluationConfig {
    /// The defaults of the brief for data covering `[data_start, data_end)`:
    /// rule 5 ED / 3 admissions in 365 days, enrolment within 90 days, a
    /// 365-day comparison exclusion, 365-day baseline and follow-up, at least
    /// 90 follow-up days, 1000 bootstrap replicates at 95 %.
    #[must_use]
    pub fn new(data_start: NaiveDate, data_end: NaiveDate) -> Self {
        Self {
            data_start,
            data_end,
            eligibility: EligibilityRule::default(),
            enrolled_lookback_days: 90,
            enrol_within_days: 90,
            comparison_not_enrolled_days: 365,
            baseline_days: 365,
            follow_up_days: 365,
            min_follow_up_days: 90,
            bootstrap: BootstrapConfig {
                replicates: 1000,
                seed: 20_250_101,
                confidence: 0.95,
            },
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`EvalError::InvalidConfig`] when the data period is empty, both
    /// eligibility thresholds are 0, a window is 0 days, the minimum
    /// follow-up exceeds the follow-up, participants may enrol after the
    /// comparison exclusion ends, the bootstrap has fewer than 2 replicates
    /// or its confidence is outside (0, 1).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EvalError::InvalidConfig(m));
        if self.data_end <= self.data_start {
            return bad(format!(
                "data_end {} is not after data_start {}",
                self.data_end, self.data_start
            ));
        }
        let r = &self.eligibility;
        if r.min_ed == 0 && r.min_admissions == 0 {
            return bad("both eligibility thresholds are 0".into());
        }
        for (name, v) in [
            ("eligibility.window_days", r.window_days),
            ("baseline_days", self.baseline_days),
            ("follow_up_days", self.follow_up_days),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.min_follow_up_days > self.follow_up_days {
            return bad(format!(
                "min_follow_up_days {} exceeds follow_up_days {}",
                self.min_follow_up_days, self.follow_up_days
            ));
        }
        if self.comparison_not_enrolled_days < self.enrol_within_days {
            return bad(format!(
                "comparison_not_enrolled_days {} is shorter than enrol_within_days {}",
                self.comparison_not_enrolled_days, self.enrol_within_days
            ));
        }
        if self.bootstrap.replicates < 2 {
            return bad("bootstrap.replicates must be at least 2".into());
        }
        if !(self.bootstrap.confidence > 0.0 && self.bootstrap.confidence < 1.0) {
            return bad(format!(
                "bootstrap.confidence {} is outside (0, 1)",
                self.bootstrap.confidence
            ));
        }
        Ok(())
    }

    /// Day number of `data_start`.
    pub(crate) fn start_day(&self) -> i32 {
        day_of(self.data_start)
    }

    /// Day number of `data_end` (exclusive).
    pub(crate) fn end_day(&self) -> i32 {
        day_of(self.data_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).expect("valid");
        let ok = EvaluationConfig::new(d(2023, 1), d(2026, 1));
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.data_end = c.data_start;
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.eligibility.min_ed = 0;
        assert!(c.validate().is_ok());
        c.eligibility.min_admissions = 0;
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.min_follow_up_days = 400;
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.comparison_not_enrolled_days = 30;
        assert!(c.validate().is_err());
        let mut c = ok;
        c.bootstrap.confidence = 1.0;
        assert!(c.validate().is_err());
    }
}
