//! The program evaluation's rules, as a pipeline sets them (`evaluation:`): which persons are
//! high users, and the windows of the before/after and adjusted estimands. Programs differ
//! by region; the defaults are those of the high-user programs vigie was built for.

use serde::Deserialize;

/// The high-user rule: eligible on a day when the `window_days` before it hold at least
/// `min_ed_visits` ED visits or at least `min_admissions` admissions (0 turns a criterion
/// off; one must stay on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilitySpec {
    /// ED visits that make a person eligible (default 5).
    #[serde(default = "default_min_ed_visits")]
    pub min_ed_visits: u32,
    /// Admissions that make a person eligible (default 3).
    #[serde(default = "default_min_admissions")]
    pub min_admissions: u32,
    /// Look-back window in days (default 365).
    #[serde(default = "default_year")]
    pub window_days: u32,
}

impl Default for EligibilitySpec {
    fn default() -> Self {
        EligibilitySpec {
            min_ed_visits: default_min_ed_visits(),
            min_admissions: default_min_admissions(),
            window_days: default_year(),
        }
    }
}

/// Case finding and the two estimands of the program evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSpec {
    /// Who is a high user.
    #[serde(default)]
    pub eligibility: EligibilitySpec,
    /// An eligible person counts as enrolled with an enrolment from this many days before
    /// eligibility on (default 90).
    #[serde(default = "default_quarter")]
    pub enrolled_lookback_days: u32,
    /// Participants are enrolled within this many days of eligibility (default 90).
    #[serde(default = "default_quarter")]
    pub enrol_within_days: u32,
    /// Comparison persons are not enrolled within this many days of eligibility (default 365).
    #[serde(default = "default_year")]
    pub comparison_not_enrolled_days: u32,
    /// Baseline window before eligibility, in days (default 365).
    #[serde(default = "default_year")]
    pub baseline_days: u32,
    /// Follow-up window from eligibility, in days (default 365).
    #[serde(default = "default_year")]
    pub follow_up_days: u32,
    /// Persons followed fewer days (death, end of data) are left out (default 90).
    #[serde(default = "default_quarter")]
    pub min_follow_up_days: u32,
}

impl Default for EvaluationSpec {
    fn default() -> Self {
        EvaluationSpec {
            eligibility: EligibilitySpec::default(),
            enrolled_lookback_days: default_quarter(),
            enrol_within_days: default_quarter(),
            comparison_not_enrolled_days: default_year(),
            baseline_days: default_year(),
            follow_up_days: default_year(),
            min_follow_up_days: default_quarter(),
        }
    }
}

impl EvaluationSpec {
    /// What is wrong, as (key, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let e = &self.eligibility;
        if e.min_ed_visits == 0 && e.min_admissions == 0 {
            out.push((
                "evaluation.eligibility",
                "min_ed_visits and min_admissions are both 0: keep at least one criterion / gardez au moins un critère".to_string(),
            ));
        }
        for (key, days) in [
            ("evaluation.eligibility.window_days", e.window_days),
            ("evaluation.baseline_days", self.baseline_days),
            ("evaluation.follow_up_days", self.follow_up_days),
        ] {
            if days == 0 {
                out.push((key, "must be at least 1 day".to_string()));
            }
        }
        if self.min_follow_up_days > self.follow_up_days {
            out.push((
                "evaluation.min_follow_up_days",
                format!(
                    "{} is longer than the follow-up window ({} days)",
                    self.min_follow_up_days, self.follow_up_days
                ),
            ));
        }
        out
    }
}

fn default_min_ed_visits() -> u32 {
    5
}

fn default_min_admissions() -> u32 {
    3
}

fn default_year() -> u32 {
    365
}

fn default_quarter() -> u32 {
    90
}
