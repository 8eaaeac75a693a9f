//! Sample quantiles, median and 90th percentile.
//!
//! Definition: **Hyndman & Fan (1996) type 7**, the default of R's
//! `quantile()` (and of NumPy's `percentile`). For sorted data
//! `x₁ ≤ … ≤ xₙ` and probability `p`:
//!
//! ```text
//! h = (n - 1)·p          (0-based position)
//! Q(p) = x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋])
//! ```
//!
//! Used for indicators such as "days from referral to first contact"
//! (median and 90th percentile).

use crate::error::{Result, StatsError};

fn check_p(p: f64) -> Result<f64> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(StatsError::InvalidProbability(p))
    }
}

/// Copy, validate (finite, non-empty) and sort the data.
fn sorted(data: &[f64]) -> Result<Vec<f64>> {
    if data.is_empty() {
        return Err(StatsError::TooFew {
            what: "quantile data",
            needed: 1,
            got: 0,
        });
    }
    if let Some(&bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite {
            name: "data",
            value: bad,
        });
    }
    let mut v = data.to_vec();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Type-7 quantile of already sorted, finite, non-empty data.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    let frac = h - lo;
    sorted[i] + frac * (sorted[i + 1] - sorted[i])
}

/// Type-7 quantile (R default) of `data` at probability `p` in [0, 1].
///
/// # Errors
/// Empty data, a non-finite value, or `p` outside [0, 1].
pub fn quantile(data: &[f64], p: f64) -> Result<f64> {
    let p = check_p(p)?;
    Ok(quantile_sorted(&sorted(data)?, p))
}

/// Several type-7 quantiles at once (sorts the data a single time).
///
/// # Errors
/// As [`quantile`], for any of the probabilities.
pub fn quantiles(data: &[f64], probs: &[f64]) -> Result<Vec<f64>> {
    let s = sorted(data)?;
    probs
        .iter()
        .map(|&p| check_p(p).map(|p| quantile_sorted(&s, p)))
        .collect()
}

/// Median (type 7, i.e. the usual mean of the two middle values for even n).
///
/// # Errors
/// Empty data or a non-finite value.
pub fn median(data: &[f64]) -> Result<f64> {
    quantile(data, 0.5)
}

/// 90th percentile, type 7 (R's `quantile(x, 0.9)`).
///
/// # Errors
/// Empty data or a non-finite value.
pub fn percentile_90(data: &[f64]) -> Result<f64> {
    quantile(data, 0.9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn type7_matches_r_documented_values() {
        // R: quantile(1:10, c(0, .25, .5, .75, .9, 1)) (type 7)
        //   -> 1.00 3.25 5.50 7.75 9.10 10.00
        // Hand check for 0.9: h = 9·0.9 = 8.1 -> x[8] + 0.1·(x[9]-x[8]) = 9 + 0.1 = 9.1.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let q = quantiles(&x, &[0.0, 0.25, 0.5, 0.75, 0.9, 1.0]).expect("valid");
        for (got, want) in q.iter().zip([1.0, 3.25, 5.5, 7.75, 9.1, 10.0]) {
            close(*got, want);
        }
    }

    #[test]
    fn waiting_days_hand_computed() {
        // Days referral -> first contact, unsorted: 3 14 1 7 30 2 9 (n = 7).
        // Sorted: 1 2 3 7 9 14 30.
        // median: h = 6·0.5 = 3 -> 7.
        // p90:    h = 6·0.9 = 5.4 -> 14 + 0.4·(30 - 14) = 20.4.
        let d = [3.0, 14.0, 1.0, 7.0, 30.0, 2.0, 9.0];
        close(median(&d).expect("valid"), 7.0);
        close(percentile_90(&d).expect("valid"), 20.4);
        // Even n: median of 1 2 3 4 = 2.5; single value is its own quantile.
        close(median(&[4.0, 1.0, 3.0, 2.0]).expect("valid"), 2.5);
        close(percentile_90(&[5.0]).expect("valid"), 5.0);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(median(&[]), Err(StatsError::TooFew { .. })));
        assert!(matches!(
            median(&[1.0, f64::NAN]),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            quantile(&[1.0], 1.5),
            Err(StatsError::InvalidProbability(_))
        ));
    }
}
