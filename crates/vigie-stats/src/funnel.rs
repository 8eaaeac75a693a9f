//! Funnel-plot control limits for peer comparison (95 % and 99.8 %).
//!
//! A funnel plot shows each unit's indicator against its size (denominator,
//! exposure or expected count) with limits around the overall target that
//! narrow as the size grows (Spiegelhalter DJ (2005) *Funnel plots for
//! comparing institutional performance*, Stat Med 24:1185-1202). Limits are
//! computed at the two-sided 95 % (p = 0.025 / 0.975, "2 sigma") and 99.8 %
//! (p = 0.001 / 0.999, "3 sigma") levels.
//!
//! # Proportions ([`ProportionFunnelMethod`])
//!
//! * `ExactBinomial` (default): Spiegelhalter (2005) appendix A.1.1, exact
//!   binomial quantiles with interpolation. For target θ₀ and denominator n,
//!   let r_p be the smallest r with F(r) ≥ p under Binomial(n, θ₀),
//!   α = (F(r_p) − p) / (F(r_p) − F(r_p − 1)); the limit is (r_p − α)/n.
//!   The denominator must be a whole number.
//! * `PheWilson`: the Wilson-score-based limits of PHE Fingertips /
//!   PHEindicatormethods (`phe_funnels`, `sigma_adjustment`): the observed
//!   proportions whose Wilson interval just touches the target.
//!
//! # Rates and ratios (Poisson)
//!
//! [`rate_funnel_limits`]: counts ~ Poisson(θ₀ × exposure); Spiegelhalter's
//! interpolated Poisson quantiles (r_p − α)/exposure. [`ratio_funnel_limits`]
//! is the same with target 1 and the expected count as size, for indirectly
//! standardised ratios (observed / expected).
//!
//! A unit is classified against each pair of limits with strict inequalities
//! (a value equal to a limit is within), as in `phe_funnel_significance`.

use crate::dist::{DiscreteCdf, binomial, discrete_quantile, poisson, qnorm};
use crate::error::{Result, StatsError, check_non_negative, check_positive, check_same_len};

/// Lower and upper funnel limits at 95 % and 99.8 % for one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelLimits {
    /// The target (centre line).
    pub target: f64,
    /// Lower 95 % limit (p = 0.025).
    pub lower_95: f64,
    /// Upper 95 % limit (p = 0.975).
    pub upper_95: f64,
    /// Lower 99.8 % limit (p = 0.001).
    pub lower_998: f64,
    /// Upper 99.8 % limit (p = 0.999).
    pub upper_998: f64,
}

/// Position of a value relative to one pair of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelPosition {
    /// Below the lower limit.
    Below,
    /// Between the limits (inclusive).
    Within,
    /// Above the upper limit.
    Above,
}

/// Classification of a unit against both pairs of limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunnelClassification {
    /// Against the 95 % limits.
    pub at_95: FunnelPosition,
    /// Against the 99.8 % limits.
    pub at_998: FunnelPosition,
}

/// Classify `value` against the 95 % and 99.8 % limits.
#[must_use]
pub fn classify(value: f64, limits: &FunnelLimits) -> FunnelClassification {
    let pos = |lo: f64, hi: f64| {
        if value < lo {
            FunnelPosition::Below
        } else if value > hi {
            FunnelPosition::Above
        } else {
            FunnelPosition::Within
        }
    };
    FunnelClassification {
        at_95: pos(limits.lower_95, limits.upper_95),
        at_998: pos(limits.lower_998, limits.upper_998),
    }
}

/// Method for proportion funnel limits (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProportionFunnelMethod {
    /// Spiegelhalter (2005) exact binomial with interpolation.
    #[default]
    ExactBinomial,
    /// PHE Fingertips / PHEindicatormethods Wilson-based limits.
    PheWilson,
}

const PROBS: [f64; 4] = [0.025, 0.975, 0.001, 0.999];

/// Spiegelhalter's interpolated quantile (r_p − α) for a discrete distribution.
fn interpolated_quantile<D: DiscreteCdf>(d: &D, p: f64, upper: u64) -> Result<f64> {
    let r = discrete_quantile(d, p, upper)?;
    let f_r = d.cdf_at(r);
    let f_prev = if r == 0 { 0.0 } else { d.cdf_at(r - 1) };
    let step = f_r - f_prev;
    let alpha = if step > 0.0 { (f_r - p) / step } else { 0.0 };
    Ok(r as f64 - alpha)
}

fn limits_from(target: f64, v: [f64; 4], lo: f64, hi: f64) -> FunnelLimits {
    FunnelLimits {
        target,
        lower_95: v[0].clamp(lo, hi),
        upper_95: v[1].clamp(lo, hi),
        lower_998: v[2].clamp(lo, hi),
        upper_998: v[3].clamp(lo, hi),
    }
}

/// PHEindicatormethods `sigma_adjustment` for one probability and side.
fn phe_wilson_limit(p: f64, n: f64, av: f64, high: bool) -> Result<f64> {
    let z = qnorm(p)?;
    let z2 = z * z;
    let first = av * (n / z2 + 1.0);
    let radicand = (-8.0 * av * (n / z2 + 1.0)).powi(2)
        - 64.0 * (1.0 / z2 + 1.0 / n) * av * (n * (av * (n / z2 + 2.0) - 1.0) + z2 * (av - 1.0));
    let adj = radicand.max(0.0).sqrt();
    let last = 1.0 / z2 + 1.0 / n;
    let v = if high {
        (first + adj / 8.0) / last
    } else {
        (first - adj / 8.0) / last
    };
    Ok(v / n)
}

/// Funnel limits for a proportion with target `target` (in [0, 1]) at
/// denominator `denominator`, on the 0-1 scale, clamped to [0, 1].
///
/// # Errors
/// Target outside [0, 1]; non-positive denominator; with `ExactBinomial`, a
/// denominator that is not a whole number.
pub fn proportion_funnel_limits(
    target: f64,
    denominator: f64,
    method: ProportionFunnelMethod,
) -> Result<FunnelLimits> {
    if !(target.is_finite() && (0.0..=1.0).contains(&target)) {
        return Err(StatsError::InvalidProbability(target));
    }
    let n = check_positive("denominator", denominator)?;
    let mut v = [0.0; 4];
    match method {
        ProportionFunnelMethod::ExactBinomial => {
            if n.fract() != 0.0 || n > u64::MAX as f64 {
                return Err(StatsError::InvalidArgument(format!(
                    "exact binomial funnel limits need a whole-number denominator, got {n}"
                )));
            }
            let size = n as u64;
            let d = binomial(size, target)?;
            for (slot, p) in v.iter_mut().zip(PROBS) {
                *slot = interpolated_quantile(&d, p, size)? / n;
            }
        }
        ProportionFunnelMethod::PheWilson => {
            let sides = [(0.975, false), (0.975, true), (0.999, false), (0.999, true)];
            for (slot, (p, high)) in v.iter_mut().zip(sides) {
                *slot = phe_wilson_limit(p, n, target, high)?;
            }
        }
    }
    Ok(limits_from(target, v, 0.0, 1.0))
}

/// Funnel limits for a rate with target `target_rate` (events per unit of
/// exposure) at `exposure`, on the rate-per-unit scale (multiply by your
/// multiplier), from Poisson(target_rate × exposure).
///
/// # Errors
/// Non-positive target or exposure.
pub fn rate_funnel_limits(target_rate: f64, exposure: f64) -> Result<FunnelLimits> {
    let t = check_positive("target_rate", target_rate)?;
    let e = check_positive("exposure", exposure)?;
    let lambda = t * e;
    let d = poisson(lambda)?;
    // A generous starting bracket; discrete_quantile widens it if needed.
    let upper = (lambda + 10.0 * lambda.sqrt() + 10.0).ceil() as u64;
    let mut v = [0.0; 4];
    for (slot, p) in v.iter_mut().zip(PROBS) {
        *slot = interpolated_quantile(&d, p, upper)? / e;
    }
    Ok(limits_from(t, v, 0.0, f64::INFINITY))
}

/// Funnel limits for an indirectly standardised ratio (observed / expected)
/// with target 1, at `expected` expected events.
///
/// # Errors
/// Non-positive expected count.
pub fn ratio_funnel_limits(expected: f64) -> Result<FunnelLimits> {
    rate_funnel_limits(1.0, expected)
}

/// One unit of a funnel plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelUnit {
    /// The unit's indicator (proportion, rate per unit, or ratio).
    pub value: f64,
    /// Its size (denominator, exposure, or expected count).
    pub size: f64,
    /// The limits at that size.
    pub limits: FunnelLimits,
    /// Where the value lies against the limits.
    pub classification: FunnelClassification,
}

fn check_pairs(num: &[f64], den: &[f64]) -> Result<()> {
    check_same_len("numerators", num.len(), "denominators", den.len())?;
    if num.is_empty() {
        return Err(StatsError::TooFew {
            what: "funnel units",
            needed: 1,
            got: 0,
        });
    }
    Ok(())
}

/// Proportion funnel: target = Σ numerators / Σ denominators; each unit's
/// proportion is classified against its own limits.
///
/// # Errors
/// Empty or mismatched input, invalid proportions, or as
/// [`proportion_funnel_limits`].
pub fn proportion_funnel(
    numerators: &[f64],
    denominators: &[f64],
    method: ProportionFunnelMethod,
) -> Result<Vec<FunnelUnit>> {
    check_pairs(numerators, denominators)?;
    for (&x, &n) in numerators.iter().zip(denominators) {
        crate::proportion::check_proportion(x, n)?;
    }
    let target = numerators.iter().sum::<f64>() / denominators.iter().sum::<f64>();
    numerators
        .iter()
        .zip(denominators)
        .map(|(&x, &n)| {
            let limits = proportion_funnel_limits(target, n, method)?;
            let value = x / n;
            Ok(FunnelUnit {
                value,
                size: n,
                limits,
                classification: classify(value, &limits),
            })
        })
        .collect()
}

/// Rate funnel: target = Σ counts / Σ exposures (per unit of exposure).
///
/// # Errors
/// Empty or mismatched input, negative count, non-positive exposure, zero total count.
pub fn rate_funnel(counts: &[f64], exposures: &[f64]) -> Result<Vec<FunnelUnit>> {
    check_pairs(counts, exposures)?;
    for (&x, &e) in counts.iter().zip(exposures) {
        check_non_negative("count", x)?;
        check_positive("exposure", e)?;
    }
    let target = counts.iter().sum::<f64>() / exposures.iter().sum::<f64>();
    counts
        .iter()
        .zip(exposures)
        .map(|(&x, &e)| {
            let limits = rate_funnel_limits(target, e)?;
            let value = x / e;
            Ok(FunnelUnit {
                value,
                size: e,
                limits,
                classification: classify(value, &limits),
            })
        })
        .collect()
}

/// Ratio funnel for indirectly standardised ratios (observed / expected), target 1.
///
/// # Errors
/// Empty or mismatched input, negative observed, non-positive expected.
pub fn ratio_funnel(observed: &[f64], expected: &[f64]) -> Result<Vec<FunnelUnit>> {
    check_pairs(observed, expected)?;
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| {
            check_non_negative("observed", o)?;
            let limits = ratio_funnel_limits(e)?;
            let value = o / e;
            Ok(FunnelUnit {
                value,
                size: e,
                limits,
                classification: classify(value, &limits),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "funnel_tests.rs"]
mod tests;
