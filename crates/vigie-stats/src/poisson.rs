//! Confidence intervals for counts, rates and rate ratios (Poisson).
//!
//! * [`poisson_exact_ci`]: exact (Garwood 1936) interval from chi-square
//!   quantiles: `lower = qchisq(α/2, 2x)/2` (0 when x = 0),
//!   `upper = qchisq(1 - α/2, 2x + 2)/2`.
//! * [`byar_ci`]: Byar's approximation (Breslow & Day 1987, vol II), as in
//!   PHEindicatormethods `byars_lower` / `byars_upper`:
//!   `lower = x(1 - 1/(9x) - z/(3√x))³`,
//!   `upper = (x+1)(1 - 1/(9(x+1)) + z/(3√(x+1)))³`.
//! * [`poisson_ci`]: the PHEindicatormethods `phe_rate` rule: exact below 10
//!   events, Byar's method from 10 events on.
//! * [`rate_ci`]: a crude rate `x / n × multiplier` with [`poisson_ci`] limits.
//! * [`rate_ratio_ci`]: ratio of two Poisson rates, log (Wald) method
//!   `exp(ln RR ± z·sqrt(1/a + 1/b))` (Rothman & Greenland, *Modern
//!   Epidemiology*).
//! * [`rate_ratio_exact_ci`]: conditional exact interval: given `a + b`
//!   events, `a` is Binomial(a + b, π) with π = RR·T₁/(RR·T₁ + T₂);
//!   a Clopper-Pearson interval for π is mapped back to RR, as R's
//!   `poisson.test` does for two samples.

use crate::dist::{qgamma, z_two_sided};
use crate::error::{Result, check_confidence, check_non_negative, check_positive};
use crate::interval::Interval;
use crate::proportion::clopper_pearson_ci;

/// PHEindicatormethods switches from the exact to Byar's interval at this count.
pub const BYAR_THRESHOLD: f64 = 10.0;

/// Exact (Garwood / chi-square) interval for a Poisson count.
///
/// The estimate is the count itself. `count` may be non-integer (the
/// chi-square quantiles are defined for any non-negative degrees of freedom).
///
/// # Errors
/// Negative or non-finite count, or a confidence level outside (0, 1).
pub fn poisson_exact_ci(count: f64, confidence: f64) -> Result<Interval> {
    let x = check_non_negative("count", count)?;
    let alpha = 1.0 - check_confidence(confidence)?;
    let lower = if x == 0.0 {
        0.0
    } else {
        qgamma(alpha / 2.0, x)?
    };
    let upper = qgamma(1.0 - alpha / 2.0, x + 1.0)?;
    Ok(Interval {
        estimate: x,
        lower,
        upper,
    })
}

/// Byar's approximation to the exact Poisson interval.
///
/// For `count == 0` the lower limit is 0 (the formula is undefined there);
/// a negative lower limit (tiny counts at very high confidence) is clamped to 0
/// (PHEindicatormethods returns `NA` in that case).
///
/// # Errors
/// Negative or non-finite count, or a confidence level outside (0, 1).
pub fn byar_ci(count: f64, confidence: f64) -> Result<Interval> {
    let x = check_non_negative("count", count)?;
    let z = z_two_sided(confidence)?;
    let lower = if x == 0.0 {
        0.0
    } else {
        let base = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * x.sqrt());
        if base <= 0.0 { 0.0 } else { x * base.powi(3) }
    };
    let x1 = x + 1.0;
    let upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * x1.sqrt())).powi(3);
    Ok(Interval {
        estimate: x,
        lower,
        upper,
    })
}

/// Interval for a Poisson count following PHEindicatormethods (`phe_rate`):
/// exact ([`poisson_exact_ci`]) when `count < 10`, Byar's ([`byar_ci`]) otherwise.
///
/// # Errors
/// As [`poisson_exact_ci`].
pub fn poisson_ci(count: f64, confidence: f64) -> Result<Interval> {
    if check_non_negative("count", count)? < BYAR_THRESHOLD {
        poisson_exact_ci(count, confidence)
    } else {
        byar_ci(count, confidence)
    }
}

/// Crude rate `count / person_time × multiplier` with [`poisson_ci`] limits
/// divided by the same denominator (PHEindicatormethods `phe_rate`).
///
/// # Errors
/// Negative count, non-positive person-time or multiplier, bad confidence.
pub fn rate_ci(count: f64, person_time: f64, multiplier: f64, confidence: f64) -> Result<Interval> {
    let n = check_positive("person_time", person_time)?;
    let m = check_positive("multiplier", multiplier)?;
    Ok(poisson_ci(count, confidence)?.scaled(m / n))
}

/// Rate ratio `(a / time_a) / (b / time_b)` with the log (Wald) interval
/// `exp(ln RR ± z·sqrt(1/a + 1/b))`.
///
/// # Errors
/// Either count not strictly positive (the log method is undefined at 0:
/// use [`rate_ratio_exact_ci`]), non-positive person-time, bad confidence.
pub fn rate_ratio_ci(
    count_a: f64,
    time_a: f64,
    count_b: f64,
    time_b: f64,
    confidence: f64,
) -> Result<Interval> {
    let a = check_positive("count_a", count_a)?;
    let b = check_positive("count_b", count_b)?;
    let ta = check_positive("time_a", time_a)?;
    let tb = check_positive("time_b", time_b)?;
    let z = z_two_sided(confidence)?;
    let rr = (a / ta) / (b / tb);
    let se = (1.0 / a + 1.0 / b).sqrt();
    Ok(Interval {
        estimate: rr,
        lower: (rr.ln() - z * se).exp(),
        upper: (rr.ln() + z * se).exp(),
    })
}

/// Conditional exact interval for the rate ratio `(a / time_a) / (b / time_b)`
/// (see module docs). The lower limit is 0 when `count_a == 0`; the upper
/// limit and the estimate are infinite when `count_b == 0`.
///
/// # Errors
/// Both counts zero, non-positive person-time, bad confidence.
pub fn rate_ratio_exact_ci(
    count_a: u64,
    time_a: f64,
    count_b: u64,
    time_b: f64,
    confidence: f64,
) -> Result<Interval> {
    let ta = check_positive("time_a", time_a)?;
    let tb = check_positive("time_b", time_b)?;
    let total = count_a
        .checked_add(count_b)
        .ok_or_else(|| crate::StatsError::InvalidArgument("counts overflow".into()))?;
    if total == 0 {
        return Err(crate::StatsError::InvalidArgument(
            "rate ratio undefined: both counts are zero".into(),
        ));
    }
    let pi = clopper_pearson_ci(count_a, total, confidence)?;
    let to_rr = |p: f64| {
        if p >= 1.0 {
            f64::INFINITY
        } else {
            p / (1.0 - p) * tb / ta
        }
    };
    let estimate = if count_b == 0 {
        f64::INFINITY
    } else {
        (count_a as f64 / ta) / (count_b as f64 / tb)
    };
    Ok(Interval {
        estimate,
        lower: to_rr(pi.lower),
        upper: to_rr(pi.upper),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatsError;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    #[test]
    fn byar_25_matches_published_example() {
        // Source: shared/reference/README.md (PHEindicatormethods byars_lower /
        // byars_upper): 25 at 95 % -> [16.1743, 36.9065].
        let ci = byar_ci(25.0, 0.95).expect("valid");
        close(ci.lower, 16.1743, 1e-4);
        close(ci.upper, 36.9065, 1e-4);
    }

    #[test]
    fn byar_hand_computed() {
        // x = 100, z = 1.959964:
        // lower = 100·(1 - 1/900 - 1.959964/30)³ = 100·0.933557³ = 81.36211
        // upper = 101·(1 - 1/909 + 1.959964/(3·√101))³ = 101·1.063906... = 121.62794
        let ci = byar_ci(100.0, 0.95).expect("valid");
        close(ci.lower, 81.36211, 1e-4);
        close(ci.upper, 121.62794, 1e-4);
    }

    #[test]
    fn exact_zero_events() {
        // Source: shared/reference brief: lower 0, upper = qchisq(0.975, 2)/2
        // = -ln(0.025) = 3.688879 (closed form for 2 degrees of freedom).
        let ci = poisson_exact_ci(0.0, 0.95).expect("valid");
        close(ci.lower, 0.0, 0.0);
        close(ci.upper, 3.688879, 1e-6);
        // 99.8 %: upper = -ln(0.001) = 6.907755.
        let ci = poisson_exact_ci(0.0, 0.998).expect("valid");
        close(ci.upper, 6.907755, 1e-6);
    }

    #[test]
    fn exact_matches_published_table() {
        // Exact Poisson 95 % limits as tabulated in standard references
        // (e.g. Ulm 1990 Am J Epidemiol 131:373; Garwood 1936), and
        // reproduced independently with scipy.stats.chi2.ppf:
        //   x=1: 0.025318, 5.571643   x=2: 0.242209, 7.224688
        //   x=5: 1.623486, 11.668332  x=9: 4.115373, 17.084803
        for (x, lo, hi) in [
            (1.0, 0.025318, 5.571643),
            (2.0, 0.242209, 7.224688),
            (5.0, 1.623486, 11.668332),
            (9.0, 4.115373, 17.084803),
        ] {
            let ci = poisson_exact_ci(x, 0.95).expect("valid");
            close(ci.lower, lo, 1e-5);
            close(ci.upper, hi, 1e-5);
        }
    }

    #[test]
    fn poisson_ci_switches_at_ten() {
        // Below 10: exact (x = 9 -> 4.115373, 17.084803, see above);
        // at 10: Byar: lower = 10(1 - 1/90 - 1.959964/(3√10))³ = 4.787450,
        //             upper = 11(1 - 1/99 + 1.959964/(3√11))³ = 18.391459
        // (the exact interval at 10 would be 4.795389, 18.390356).
        let nine = poisson_ci(9.0, 0.95).expect("valid");
        close(nine.lower, 4.115373, 1e-5);
        let ten = poisson_ci(10.0, 0.95).expect("valid");
        close(ten.lower, 4.787450, 1e-5);
        close(ten.upper, 18.391459, 1e-5);
    }

    #[test]
    fn rate_per_100k() {
        // 25 events in 50 000 person-years per 100 000:
        // rate = 50; limits = Byar(25) × 2 = [32.3485, 73.8129].
        let ci = rate_ci(25.0, 50_000.0, 100_000.0, 0.95).expect("valid");
        close(ci.estimate, 50.0, 1e-9);
        close(ci.lower, 2.0 * 16.174266, 1e-4);
        close(ci.upper, 2.0 * 36.906451, 1e-4);
    }

    #[test]
    fn rate_ratio_log_hand_computed() {
        // a = 30 in 10 000, b = 15 in 12 000: RR = 0.003/0.00125 = 2.4;
        // SE(ln RR) = sqrt(1/30 + 1/15) = 0.316228;
        // limits = 2.4·exp(∓1.959964·0.316228) = 1.291331, 4.460513.
        let ci = rate_ratio_ci(30.0, 10_000.0, 15.0, 12_000.0, 0.95).expect("valid");
        close(ci.estimate, 2.4, 1e-12);
        close(ci.lower, 1.291331, 1e-6);
        close(ci.upper, 4.460513, 1e-6);
    }

    #[test]
    fn rate_ratio_exact_matches_r_poisson_test() {
        // Source: exactci vignette (Fay 2010/2023), R stats::poisson.test(
        // c(2, 10), c(17877, 20000)): rate ratio 0.2237512,
        // 95 % CI 0.02383738 1.04995468.
        let ci = rate_ratio_exact_ci(2, 17_877.0, 10, 20_000.0, 0.95).expect("valid");
        close(ci.estimate, 0.2237512, 1e-7);
        close(ci.lower, 0.02383738, 1e-6);
        close(ci.upper, 1.04995468, 1e-5);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            poisson_ci(-1.0, 0.95),
            Err(StatsError::Negative { .. })
        ));
        assert!(matches!(
            byar_ci(f64::INFINITY, 0.95),
            Err(StatsError::Negative { .. })
        ));
        assert!(rate_ci(1.0, 0.0, 1.0, 0.95).is_err());
        assert!(rate_ratio_ci(0.0, 1.0, 1.0, 1.0, 0.95).is_err());
        assert!(rate_ratio_exact_ci(0, 1.0, 0, 1.0, 0.95).is_err());
        assert!(poisson_exact_ci(3.0, 1.0).is_err());
    }
}
