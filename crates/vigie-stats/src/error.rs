//! Error type shared by every function of the crate.
//!
//! Every public function validates its input and returns a [`StatsError`]
//! instead of panicking: negative or non-finite counts, a numerator larger
//! than its denominator, empty input, mismatched lengths, a confidence level
//! outside (0, 1), and so on.

use thiserror::Error;

/// Everything that can go wrong in `vigie-stats`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    /// A count, population or other quantity that must be `>= 0` (and finite) was not.
    #[error("{name} must be finite and non-negative, got {value}")]
    Negative {
        /// Name of the offending argument.
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A denominator, exposure or other quantity that must be `> 0` (and finite) was not.
    #[error("{name} must be finite and greater than zero, got {value}")]
    NotPositive {
        /// Name of the offending argument.
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A value that must be finite (not NaN, not infinite) was not.
    #[error("{name} must be finite, got {value}")]
    NotFinite {
        /// Name of the offending argument.
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A proportion's numerator exceeded its denominator.
    #[error("numerator {numerator} exceeds denominator {denominator}")]
    NumeratorExceedsDenominator {
        /// The numerator received.
        numerator: f64,
        /// The denominator received.
        denominator: f64,
    },
    /// A confidence level (or probability) outside the open interval (0, 1).
    #[error("confidence level must lie strictly between 0 and 1, got {0}")]
    InvalidConfidence(f64),
    /// A probability outside the closed interval [0, 1].
    #[error("probability must lie in [0, 1], got {0}")]
    InvalidProbability(f64),
    /// The input was empty (or had too few elements for the method).
    #[error("{what}: need at least {needed} value(s), got {got}")]
    TooFew {
        /// What was too short.
        what: &'static str,
        /// The minimum length needed.
        needed: usize,
        /// The length received.
        got: usize,
    },
    /// Two inputs that must have the same length did not.
    #[error("length mismatch: {left} has {left_len} element(s) but {right} has {right_len}")]
    LengthMismatch {
        /// Name of the first input.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second input.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// An argument that is invalid for another reason (described in the message).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A numerical routine failed (for example a distribution could not be built).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// A disparity measure that does not exist for this input (for example a
    /// ratio whose reference group has no events): the data are valid, the
    /// measure is not, so callers show "not computable" rather than a number.
    #[error("{measure} is undefined: {reason}")]
    Undefined {
        /// The measure asked for.
        measure: DisparityMeasure,
        /// Why it does not exist here.
        reason: UndefinedReason,
    },
}

/// The disparity measures of [`crate::disparity`], named in
/// [`StatsError::Undefined`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisparityMeasure {
    /// Ratio of two Poisson rates.
    RateRatio,
    /// Difference of two Poisson rates.
    RateDifference,
    /// Ratio of two proportions (risks).
    RiskRatio,
    /// Difference of two proportions (risks).
    RiskDifference,
    /// Slope index of inequality.
    SlopeIndex,
}

impl std::fmt::Display for DisparityMeasure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::RateRatio => "rate ratio",
            Self::RateDifference => "rate difference",
            Self::RiskRatio => "risk ratio",
            Self::RiskDifference => "risk difference",
            Self::SlopeIndex => "slope index of inequality",
        })
    }
}

/// Why a disparity measure does not exist for valid input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UndefinedReason {
    /// The reference group has no events: the ratio is infinite.
    NoReferenceEvents,
    /// The compared group has no events: the log-scale interval is undefined.
    NoGroupEvents,
    /// Neither group has events: the interval has no width to estimate.
    NoEventsInEitherGroup,
    /// A group's value sits on the boundary of its scale (a rate of 0, a
    /// proportion of 0 or 1), where the log or logit standard error is infinite.
    ValueOnScaleBoundary,
}

impl std::fmt::Display for UndefinedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoReferenceEvents => "the reference group has no events",
            Self::NoGroupEvents => "the compared group has no events",
            Self::NoEventsInEitherGroup => "neither group has events",
            Self::ValueOnScaleBoundary => {
                "a group's value is 0 (or 1 for a proportion), where its log/logit standard error is infinite"
            }
        })
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, StatsError>;

/// `value` must be finite and `>= 0`.
pub(crate) fn check_non_negative(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(StatsError::Negative { name, value })
    }
}

/// `value` must be finite and `> 0`.
pub(crate) fn check_positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(StatsError::NotPositive { name, value })
    }
}

/// `value` must be finite.
pub(crate) fn check_finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StatsError::NotFinite { name, value })
    }
}

/// A confidence level must lie strictly between 0 and 1 (0.95, not 95).
pub(crate) fn check_confidence(confidence: f64) -> Result<f64> {
    if confidence.is_finite() && confidence > 0.0 && confidence < 1.0 {
        Ok(confidence)
    } else {
        Err(StatsError::InvalidConfidence(confidence))
    }
}

/// Two slices must have the same length.
pub(crate) fn check_same_len(
    left: &'static str,
    left_len: usize,
    right: &'static str,
    right_len: usize,
) -> Result<()> {
    if left_len == right_len {
        Ok(())
    } else {
        Err(StatsError::LengthMismatch {
            left,
            left_len,
            right,
            right_len,
        })
    }
}
