//! The suppression threshold and the count predicate shared by [`apply`](crate::apply),
//! [`check`](crate::check) and [`publishable_count`].

use serde::{Deserialize, Serialize};

/// Disclosure-control settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureConfig {
    /// Smallest publishable non-zero count: counts from 1 to `min_count - 1`
    /// are suppressed. Default 6 (so 1 to 5 are suppressed).
    pub min_count: u64,
}

impl DisclosureConfig {
    /// The default threshold: counts from 1 to 5 are suppressed.
    pub const DEFAULT_MIN_COUNT: u64 = 6;

    /// A configuration with the given threshold.
    #[must_use]
    pub const fn new(min_count: u64) -> Self {
        Self { min_count }
    }

    /// Largest suppressed count (`min_count - 1`), or `None` when the
    /// threshold suppresses nothing (`min_count` of 0 or 1).
    #[must_use]
    pub const fn max_suppressed(&self) -> Option<u64> {
        if self.min_count >= 2 {
            Some(self.min_count - 1)
        } else {
            None
        }
    }
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN_COUNT)
    }
}

/// Whether a count may be published: exactly zero, or at least `min_count`.
///
/// Fail-closed: a negative, non-finite (NaN, infinite) or fractional value
/// strictly between 0 and `min_count` is not publishable.
#[must_use]
pub fn is_publishable_count(count: f64, cfg: &DisclosureConfig) -> bool {
    // `u64 as f64` rounds for thresholds above 2^53, far beyond any real use.
    #[allow(clippy::cast_precision_loss)]
    let min = cfg.min_count as f64;
    count == 0.0 || (count.is_finite() && count >= min && count > 0.0)
}

/// A free-standing count leaving the warehouse outside a cell (e.g. the
/// sentence "12 persons enrolled" in a report): `Some(n)` when publishable
/// (zero or at least `min_count`), `None` when it must be withheld.
#[must_use]
pub fn publishable_count(n: u64, cfg: &DisclosureConfig) -> Option<u64> {
    (n == 0 || n >= cfg.min_count).then_some(n)
}
