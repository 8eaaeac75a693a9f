//! The [`Interval`] type: a point estimate with lower and upper confidence limits.

/// A point estimate with its lower and upper confidence limits, all on the
/// same scale (proportion, count, rate per multiplier, ratio, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower confidence limit.
    pub lower: f64,
    /// Upper confidence limit.
    pub upper: f64,
}

impl Interval {
    /// Multiply the estimate and both limits by `factor` (e.g. 100 for a
    /// percentage, 100 000 for a rate per 100 000).
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        Self {
            estimate: self.estimate * factor,
            lower: self.lower * factor,
            upper: self.upper * factor,
        }
    }

    /// Whether `value` lies within `[lower, upper]`.
    #[must_use]
    pub fn contains(&self, value: f64) -> bool {
        value >= self.lower && value <= self.upper
    }
}
