//! Confidence intervals for proportions.
//!
//! * [`wilson_ci`]: the Wilson score interval exactly as PHEindicatormethods
//!   (`wilson_lower` / `wilson_upper`, used by `phe_proportion`) computes it:
//!
//!   ```text
//!   z     = qnorm(confidence + (1 - confidence) / 2)
//!   lower = (2x + z² - z·sqrt(z² + 4x(1 - x/n))) / (2(n + z²))
//!   upper = (2x + z² + z·sqrt(z² + 4x(1 - x/n))) / (2(n + z²))
//!   ```
//!
//!   References: Wilson EB (1927) J Am Stat Assoc 22:209-212; Newcombe RG,
//!   Altman DG, *Statistics with confidence* (2nd edn, 2000) pp 46-48.
//! * [`clopper_pearson_ci`]: the exact (Clopper-Pearson) binomial interval
//!   from beta quantiles, as R's `binom.test` reports it.

use crate::dist::{qbeta, z_two_sided};
use crate::error::{Result, StatsError, check_non_negative, check_positive};
use crate::interval::Interval;

/// Validate a numerator / denominator pair of a proportion.
pub(crate) fn check_proportion(numerator: f64, denominator: f64) -> Result<()> {
    check_non_negative("numerator", numerator)?;
    check_positive("denominator", denominator)?;
    if numerator > denominator {
        return Err(StatsError::NumeratorExceedsDenominator {
            numerator,
            denominator,
        });
    }
    Ok(())
}

/// Wilson score interval for `numerator` successes out of `denominator`
/// (PHEindicatormethods formula; see the module docs).
///
/// The estimate is `numerator / denominator`; all three values are on the
/// 0-1 scale (use [`Interval::scaled`] for percentages). Counts may be
/// non-integer (e.g. weighted), as in PHEindicatormethods.
///
/// # Errors
/// Negative or non-finite numerator, non-positive denominator, numerator
/// greater than denominator, or a confidence level outside (0, 1).
pub fn wilson_ci(numerator: f64, denominator: f64, confidence: f64) -> Result<Interval> {
    check_proportion(numerator, denominator)?;
    let z = z_two_sided(confidence)?;
    let (x, n) = (numerator, denominator);
    let z2 = z * z;
    // Clamp the radicand at 0 against rounding when x == n.
    let root = (z2 + 4.0 * x * (1.0 - x / n)).max(0.0).sqrt();
    let denom = 2.0 * (n + z2);
    let lower = ((2.0 * x + z2 - z * root) / denom).max(0.0);
    let upper = ((2.0 * x + z2 + z * root) / denom).min(1.0);
    Ok(Interval {
        estimate: x / n,
        lower,
        upper,
    })
}

/// Exact (Clopper-Pearson) binomial interval for `numerator` out of
/// `denominator`: `lower = qbeta(α/2, x, n - x + 1)` (0 when x = 0) and
/// `upper = qbeta(1 - α/2, x + 1, n - x)` (1 when x = n).
///
/// # Errors
/// `denominator == 0`, `numerator > denominator`, or a bad confidence level.
pub fn clopper_pearson_ci(numerator: u64, denominator: u64, confidence: f64) -> Result<Interval> {
    check_proportion(numerator as f64, denominator as f64)?;
    let confidence = crate::error::check_confidence(confidence)?;
    let alpha = 1.0 - confidence;
    let (x, n) = (numerator as f64, denominator as f64);
    let lower = if numerator == 0 {
        0.0
    } else {
        qbeta(alpha / 2.0, x, n - x + 1.0)?
    };
    let upper = if numerator == denominator {
        1.0
    } else {
        qbeta(1.0 - alpha / 2.0, x + 1.0, n - x)?
    };
    Ok(Interval {
        estimate: x / n,
        lower,
        upper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-6;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    #[test]
    fn wilson_17_of_50_matches_published_example() {
        // Source: shared/reference/README.md worked example (PHEindicatormethods
        // formula): 17 of 50 at 95 % -> [0.224369, 0.478462].
        let ci = wilson_ci(17.0, 50.0, 0.95).expect("valid input");
        close(ci.estimate, 0.34, 1e-12);
        close(ci.lower, 0.224369, 1e-6);
        close(ci.upper, 0.478462, 1e-6);
    }

    #[test]
    fn wilson_boundaries_hand_computed() {
        // Hand computation, z = 1.959964 (z² = 3.841459):
        // 0 of 10: lower = (0 + z² - z·z)/(2(10 + z²)) = 0;
        //          upper = 2z²/(2(10 + z²)) = 3.841459/13.841459 = 0.2775328.
        // 10 of 10: by symmetry lower = 1 - 0.2775328 = 0.7224672, upper = 1.
        let zero = wilson_ci(0.0, 10.0, 0.95).expect("valid");
        close(zero.lower, 0.0, TOL);
        close(zero.upper, 0.2775328, TOL);
        let all = wilson_ci(10.0, 10.0, 0.95).expect("valid");
        close(all.lower, 0.7224672, TOL);
        close(all.upper, 1.0, TOL);
    }

    #[test]
    fn wilson_998_hand_computed() {
        // z = qnorm(0.999) = 3.090232; z² = 9.549536.
        // root = sqrt(9.549536 + 4·17·(1 - 0.34)) = sqrt(54.429536) = 7.377638
        // lower = (34 + 9.549536 - 3.090232·7.377638) / (2·59.549536) = 0.1742324
        // upper = (34 + 9.549536 + 3.090232·7.377638) / (2·59.549536) = 0.5570837
        let ci = wilson_ci(17.0, 50.0, 0.998).expect("valid");
        close(ci.lower, 0.1742324, 1e-6);
        close(ci.upper, 0.5570837, 1e-6);
    }

    #[test]
    fn clopper_pearson_matches_r_binom_test() {
        // R: binom.test(17, 50)$conf.int -> 0.2120547 0.4876525
        // (independently: scipy.stats.beta.ppf(0.025, 17, 34) = 0.21205471,
        //  beta.ppf(0.975, 18, 33) = 0.48765249).
        let ci = clopper_pearson_ci(17, 50, 0.95).expect("valid");
        close(ci.lower, 0.2120547, 1e-6);
        close(ci.upper, 0.4876525, 1e-6);
        // 0 of 10: upper = 1 - 0.025^(1/10) = 0.3084971 (closed form).
        let z = clopper_pearson_ci(0, 10, 0.95).expect("valid");
        close(z.lower, 0.0, 0.0);
        close(z.upper, 1.0 - 0.025_f64.powf(0.1), 1e-6);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            wilson_ci(51.0, 50.0, 0.95),
            Err(StatsError::NumeratorExceedsDenominator { .. })
        ));
        assert!(matches!(
            wilson_ci(-1.0, 50.0, 0.95),
            Err(StatsError::Negative { .. })
        ));
        assert!(matches!(
            wilson_ci(1.0, 0.0, 0.95),
            Err(StatsError::NotPositive { .. })
        ));
        assert!(matches!(
            wilson_ci(f64::NAN, 10.0, 0.95),
            Err(StatsError::Negative { .. })
        ));
        assert!(matches!(
            wilson_ci(1.0, 10.0, 95.0),
            Err(StatsError::InvalidConfidence(_))
        ));
        assert!(clopper_pearson_ci(3, 2, 0.95).is_err());
        assert!(clopper_pearson_ci(0, 0, 0.95).is_err());
    }
}
