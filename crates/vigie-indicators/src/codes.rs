//! The closed sets of values a result row holds, and the one place each is spelled as text.
//!
//! Inside vigie a result field is an enum; the text codes exist only at the Arrow boundary
//! (`indicator_results` in the warehouse, metric labels). Reading a code back that this
//! version does not know is an error naming the column and the value, never a default: a
//! suppression reason read as another, or a signal read as "common cause", would publish a
//! wrong statement.

use vigie_disclosure::{OrgLevel, SuppressionReason};
use vigie_stats::Variation;

use crate::catalogue::{Direction, Method, PeriodType, Target};

/// A closed set of values with one text code each.
pub trait Code: Sized + Copy + 'static {
    /// Every value, in a stable order.
    const VALUES: &'static [Self];
    /// The stored code.
    fn code(self) -> &'static str;
    /// The value a stored code names, if this version knows it.
    fn from_code(code: &str) -> Option<Self> {
        Self::VALUES.iter().copied().find(|v| v.code() == code)
    }
}

/// Whether a value meets its agreed target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetStatus {
    /// At or beyond the target in the direction of improvement.
    Met,
    /// Short of the target but inside the tolerance corridor.
    WithinCorridor,
    /// Outside the corridor.
    NotMet,
}

impl TargetStatus {
    /// The status of `value` against `target` for an indicator improving in `direction`.
    pub fn of(direction: Direction, target: Target, value: f64) -> Self {
        let (met, within) = match direction {
            Direction::LowerIsBetter => (
                value <= target.value,
                target.corridor_high.is_some_and(|h| value <= h),
            ),
            Direction::HigherIsBetter | Direction::Neither => (
                value >= target.value,
                target.corridor_low.is_some_and(|l| value >= l),
            ),
        };
        if met {
            Self::Met
        } else if within {
            Self::WithinCorridor
        } else {
            Self::NotMet
        }
    }

    /// The value of the `vigie_indicator_target_met` gauge: 1 met, 0.5 within the corridor,
    /// 0 not met.
    pub fn gauge_value(self) -> f64 {
        match self {
            Self::Met => 1.0,
            Self::WithinCorridor => 0.5,
            Self::NotMet => 0.0,
        }
    }
}

impl Code for TargetStatus {
    const VALUES: &'static [Self] = &[Self::Met, Self::WithinCorridor, Self::NotMet];
    fn code(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::WithinCorridor => "within_corridor",
            Self::NotMet => "not_met",
        }
    }
}

/// What the SPC rules say of a point (Making Data Count's variation icons; a special cause
/// of an indicator with no preferred direction is one signal, whichever way it goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpcSignal {
    /// No rule flags the point.
    CommonCause,
    /// Special cause in the direction of improvement.
    SpecialCauseImprovement,
    /// Special cause in the direction of concern.
    SpecialCauseConcern,
    /// Special cause of an indicator with no preferred direction.
    SpecialCauseNeither,
}

impl SpcSignal {
    /// The value of the `vigie_indicator_spc_signal` gauge: 0 common cause, 1 improvement,
    /// -1 concern, 2 no direction.
    pub fn gauge_value(self) -> f64 {
        match self {
            Self::CommonCause => 0.0,
            Self::SpecialCauseImprovement => 1.0,
            Self::SpecialCauseConcern => -1.0,
            Self::SpecialCauseNeither => 2.0,
        }
    }

    /// Whether a rule flags the point.
    pub fn is_special_cause(self) -> bool {
        self != Self::CommonCause
    }
}

impl From<Variation> for SpcSignal {
    fn from(v: Variation) -> Self {
        match v {
            Variation::CommonCause => Self::CommonCause,
            Variation::SpecialCauseImprovement => Self::SpecialCauseImprovement,
            Variation::SpecialCauseConcern => Self::SpecialCauseConcern,
            Variation::SpecialCauseNeitherHigh | Variation::SpecialCauseNeitherLow => {
                Self::SpecialCauseNeither
            }
        }
    }
}

impl Code for SpcSignal {
    const VALUES: &'static [Self] = &[
        Self::CommonCause,
        Self::SpecialCauseImprovement,
        Self::SpecialCauseConcern,
        Self::SpecialCauseNeither,
    ];
    fn code(self) -> &'static str {
        match self {
            Self::CommonCause => "common_cause",
            Self::SpecialCauseImprovement => "special_cause_improvement",
            Self::SpecialCauseConcern => "special_cause_concern",
            Self::SpecialCauseNeither => "special_cause_neither",
        }
    }
}

impl Code for PeriodType {
    const VALUES: &'static [Self] = &[Self::Month, Self::Quarter, Self::Year, Self::Span];
    fn code(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
            Self::Span => "span",
        }
    }
}

impl Code for Method {
    const VALUES: &'static [Self] = &[
        Self::Wilson,
        Self::PoissonRate,
        Self::DobsonDsr,
        Self::RatioOfSums,
        Self::Median,
        Self::P90,
        Self::ProgramEvaluation,
        Self::CaseFinding,
        Self::RateRatio,
        Self::RateDifference,
        Self::RiskRatio,
        Self::RiskDifference,
        Self::SlopeIndex,
        Self::RelativeIndex,
    ];
    /// The name stored in `indicator_results.method` (it names the interval method too, so
    /// differs from the catalogue's `method:` spelling).
    fn code(self) -> &'static str {
        self.label()
    }
}

impl Code for OrgLevel {
    const VALUES: &'static [Self] = &[Self::Region, Self::Team, Self::Site];
    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl Code for SuppressionReason {
    const VALUES: &'static [Self] = &SuppressionReason::ALL;
    fn code(self) -> &'static str {
        SuppressionReason::code(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Code + PartialEq + std::fmt::Debug>() {
        let mut seen = std::collections::BTreeSet::new();
        for v in T::VALUES {
            assert!(seen.insert(v.code()), "{} is spelled twice", v.code());
            assert_eq!(T::from_code(v.code()), Some(*v));
        }
        assert_eq!(T::from_code("unknown"), None);
        assert_eq!(T::from_code(""), None);
    }

    #[test]
    fn every_code_reads_back_as_its_value_and_no_other() {
        round_trip::<TargetStatus>();
        round_trip::<SpcSignal>();
        round_trip::<PeriodType>();
        round_trip::<Method>();
        round_trip::<OrgLevel>();
        round_trip::<SuppressionReason>();
    }

    #[test]
    fn stored_codes_are_those_existing_warehouses_hold() {
        // Warehouses written by earlier versions hold these exact strings.
        assert_eq!(TargetStatus::WithinCorridor.code(), "within_corridor");
        assert_eq!(
            SpcSignal::SpecialCauseNeither.code(),
            "special_cause_neither"
        );
        assert_eq!(Method::PoissonRate.code(), "poisson_exact_or_byar");
        assert_eq!(
            SuppressionReason::BelowMinimumDenominator.code(),
            "below_minimum_denominator"
        );
    }

    #[test]
    fn target_status_follows_direction_and_corridor() {
        use TargetStatus::*;
        let t = Target {
            value: 80.0,
            corridor_low: Some(75.0),
            corridor_high: None,
        };
        let higher = |v| TargetStatus::of(Direction::HigherIsBetter, t, v);
        assert_eq!(
            [higher(81.0), higher(80.0), higher(76.0), higher(70.0)],
            [Met, Met, WithinCorridor, NotMet]
        );
        let t = Target {
            value: 30.0,
            corridor_low: None,
            corridor_high: Some(33.0),
        };
        let lower = |v| TargetStatus::of(Direction::LowerIsBetter, t, v);
        assert_eq!(
            [lower(29.0), lower(33.0), lower(34.0)],
            [Met, WithinCorridor, NotMet]
        );
        // NaN meets nothing.
        assert_eq!(lower(f64::NAN), NotMet);
    }

    #[test]
    fn signals_without_direction_are_one_signal_either_way() {
        assert_eq!(
            SpcSignal::from(Variation::SpecialCauseNeitherHigh),
            SpcSignal::SpecialCauseNeither
        );
        assert_eq!(
            SpcSignal::from(Variation::SpecialCauseNeitherLow),
            SpcSignal::SpecialCauseNeither
        );
        assert!(!SpcSignal::CommonCause.is_special_cause());
    }
}
