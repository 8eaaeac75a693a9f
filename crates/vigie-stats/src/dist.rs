//! Thin, validated wrappers around the `statrs` distributions the crate needs.
//!
//! `statrs` panics on some out-of-range arguments (for example a probability
//! outside [0, 1] passed to `inverse_cdf`); every wrapper here checks its
//! arguments first so that callers get a [`StatsError`] instead.

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, Gamma, Normal, Poisson};

use crate::error::{Result, StatsError};

fn check_p(p: f64) -> Result<f64> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(StatsError::InvalidProbability(p))
    }
}

/// Quantile of the standard normal distribution (R's `qnorm(p)`).
pub(crate) fn qnorm(p: f64) -> Result<f64> {
    let p = check_p(p)?;
    let n = Normal::new(0.0, 1.0).map_err(|e| StatsError::Numerical(e.to_string()))?;
    Ok(n.inverse_cdf(p))
}

/// Two-sided critical value `z = qnorm(1 - (1 - confidence) / 2)`, as
/// PHEindicatormethods computes it (`qnorm(confidence + (1 - confidence) / 2)`).
pub(crate) fn z_two_sided(confidence: f64) -> Result<f64> {
    let confidence = crate::error::check_confidence(confidence)?;
    qnorm(confidence + (1.0 - confidence) / 2.0)
}

/// Quantile of a Gamma(shape, rate = 1) distribution; `qchisq(p, 2 * shape) / 2`.
pub(crate) fn qgamma(p: f64, shape: f64) -> Result<f64> {
    let p = check_p(p)?;
    let g = Gamma::new(shape, 1.0).map_err(|e| StatsError::Numerical(e.to_string()))?;
    Ok(g.inverse_cdf(p))
}

/// Quantile of a Beta(a, b) distribution (R's `qbeta(p, a, b)`).
pub(crate) fn qbeta(p: f64, a: f64, b: f64) -> Result<f64> {
    let p = check_p(p)?;
    let d = Beta::new(a, b).map_err(|e| StatsError::Numerical(e.to_string()))?;
    Ok(d.inverse_cdf(p))
}

#[cfg(test)]
/// Quantile of Student's t with `df` degrees of freedom (R's `qt(p, df)`).
pub(crate) fn qt(p: f64, df: f64) -> Result<f64> {
    let p = check_p(p)?;
    let d = statrs::distribution::StudentsT::new(0.0, 1.0, df)
        .map_err(|e| StatsError::Numerical(e.to_string()))?;
    Ok(d.inverse_cdf(p))
}

/// A discrete distribution on the non-negative integers, given by its CDF.
pub(crate) trait DiscreteCdf {
    fn cdf_at(&self, x: u64) -> f64;
}

impl DiscreteCdf for Binomial {
    fn cdf_at(&self, x: u64) -> f64 {
        self.cdf(x)
    }
}

impl DiscreteCdf for Poisson {
    fn cdf_at(&self, x: u64) -> f64 {
        self.cdf(x)
    }
}

/// Binomial(n, prob) distribution.
pub(crate) fn binomial(n: u64, prob: f64) -> Result<Binomial> {
    Binomial::new(prob, n).map_err(|e| StatsError::Numerical(e.to_string()))
}

/// Poisson(lambda) distribution.
pub(crate) fn poisson(lambda: f64) -> Result<Poisson> {
    Poisson::new(lambda).map_err(|e| StatsError::Numerical(e.to_string()))
}

/// Smallest `r` such that `F(r) >= p` (R's `qbinom` / `qpois` definition),
/// searched within `[0, upper]` by bisection on the CDF.
pub(crate) fn discrete_quantile<D: DiscreteCdf>(d: &D, p: f64, upper: u64) -> Result<u64> {
    let p = check_p(p)?;
    // Guard against floating-point fuzz exactly as R does (p * (1 + 64 eps)).
    let target = p * (1.0 - 64.0 * f64::EPSILON);
    if d.cdf_at(0) >= target {
        return Ok(0);
    }
    let (mut lo, mut hi) = (0_u64, upper.max(1));
    // Expand `hi` until it brackets the quantile (for unbounded supports).
    let mut guard = 0;
    while d.cdf_at(hi) < target {
        lo = hi;
        hi = hi.saturating_mul(2);
        guard += 1;
        if guard > 64 {
            return Err(StatsError::Numerical(
                "discrete quantile search did not converge".into(),
            ));
        }
    }
    // Invariant: F(lo) < target <= F(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if d.cdf_at(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// R's `qbinom(p, n, 0.5)`-style quantile of Binomial(n, prob).
pub(crate) fn qbinom(p: f64, n: u64, prob: f64) -> Result<u64> {
    let d = binomial(n, prob)?;
    discrete_quantile(&d, p, n)
}
