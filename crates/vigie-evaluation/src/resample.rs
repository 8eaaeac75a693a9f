//! Bootstrap plumbing: the serialisable [`Ci`] and a multi-group
//! (stratified) percentile bootstrap computing many statistics per replicate.
//!
//! The single-group bootstrap of the naive estimand is
//! [`vigie_stats::bootstrap_weights`]. The adjusted estimand must resample
//! participants and comparison persons **independently** (group sizes fixed
//! in every replicate), which `vigie-stats` does not offer, and is much
//! cheaper when every team's and the overall statistic come from the same
//! replicate; [`multi_group_bootstrap`] does both, with the determinism
//! scheme of `vigie-stats`: replicate `r` draws from
//! `ChaCha8Rng::seed_from_u64(seed)` with stream `r` (group 0's draws first,
//! then group 1's, …), replicates run in parallel with rayon, so results
//! depend only on the seed, never on the thread count. Limits are type-7
//! percentiles ([`vigie_stats::quantiles`]), as in `vigie-stats`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use vigie_stats::{BootstrapConfig, BootstrapResult, StatsError};

use crate::error::Result;

/// A bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ci {
    /// Confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Lower percentile limit.
    pub lower: f64,
    /// Upper percentile limit.
    pub upper: f64,
    /// Standard deviation of the replicate statistics.
    pub standard_error: f64,
    /// Replicates whose statistic was finite and used.
    pub used_replicates: usize,
    /// Replicates dropped because the statistic was not finite (e.g. a
    /// resample with no baseline events).
    pub dropped_replicates: usize,
}

impl Ci {
    /// From a `vigie-stats` result.
    #[must_use]
    pub fn from_bootstrap(r: &BootstrapResult, confidence: f64) -> Self {
        Self {
            confidence,
            lower: r.lower,
            upper: r.upper,
            standard_error: r.standard_error,
            used_replicates: r.used_replicates,
            dropped_replicates: r.dropped_replicates,
        }
    }

    /// Whether `value` lies in `[lower, upper]`.
    #[must_use]
    pub fn contains(&self, value: f64) -> bool {
        value >= self.lower && value <= self.upper
    }
}

/// Percentile bootstrap over several groups resampled **independently**
/// (each group keeps its size in every replicate), for several statistics
/// at once.
///
/// `statistic(weights, out)` receives, for each group, the multiplicity of
/// each of its units in the resample (group `g`'s vector sums to
/// `group_sizes[g]`) and writes `n_stats` values into `out`; the point
/// estimates use multiplicity 1 everywhere. Replicate `r` draws group 0,
/// then group 1, … from its own stream (see the module documentation).
///
/// Returns one entry per statistic: `None` when its point estimate is not
/// finite or fewer than 2 replicates gave a finite value (those replicates
/// are counted as dropped otherwise).
///
/// # Errors
/// No group, an empty group, fewer than 2 replicates, or a confidence level
/// outside (0, 1).
pub fn multi_group_bootstrap<F>(
    group_sizes: &[usize],
    n_stats: usize,
    statistic: F,
    config: &BootstrapConfig,
) -> Result<Vec<Option<BootstrapResult>>>
where
    F: Fn(&[Vec<u32>], &mut [f64]) + Sync,
{
    if group_sizes.is_empty() || group_sizes.contains(&0) {
        return Err(StatsError::TooFew {
            what: "bootstrap units per group",
            needed: 1,
            got: 0,
        }
        .into());
    }
    if config.replicates < 2 {
        return Err(StatsError::TooFew {
            what: "bootstrap replicates",
            needed: 2,
            got: config.replicates,
        }
        .into());
    }
    if !(config.confidence > 0.0 && config.confidence < 1.0) {
        return Err(StatsError::InvalidConfidence(config.confidence).into());
    }
    let ones: Vec<Vec<u32>> = group_sizes.iter().map(|&n| vec![1; n]).collect();
    let mut estimates = vec![f64::NAN; n_stats];
    statistic(&ones, &mut estimates);
    // Each worker thread reuses its weight vectors from one replicate to the next: a fresh
    // zeroed allocation per replicate made the kernel clear new pages for every one of them
    // (a third of the evaluation's time at a million persons).
    let replicates: Vec<Vec<f64>> = (0..config.replicates)
        .into_par_iter()
        .map_init(
            || -> Vec<Vec<u32>> { group_sizes.iter().map(|&n| vec![0_u32; n]).collect() },
            |weights, r| {
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                rng.set_stream(r as u64);
                for w in weights.iter_mut() {
                    let n = w.len();
                    w.fill(0);
                    for _ in 0..n {
                        w[rng.random_range(0..n)] += 1;
                    }
                }
                let mut out = vec![f64::NAN; n_stats];
                statistic(weights, &mut out);
                out
            },
        )
        .collect();
    let alpha = 1.0 - config.confidence;
    let mut results = Vec::with_capacity(n_stats);
    for (k, &estimate) in estimates.iter().enumerate() {
        let finite: Vec<f64> = replicates
            .iter()
            .map(|v| v[k])
            .filter(|v| v.is_finite())
            .collect();
        if !estimate.is_finite() || finite.len() < 2 {
            results.push(None);
            continue;
        }
        let q = vigie_stats::quantiles(&finite, &[alpha / 2.0, 1.0 - alpha / 2.0])?;
        let m = finite.len() as f64;
        let mean = finite.iter().sum::<f64>() / m;
        let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
        results.push(Some(BootstrapResult {
            estimate,
            lower: q[0],
            upper: q[1],
            standard_error: var.sqrt(),
            used_replicates: finite.len(),
            dropped_replicates: config.replicates - finite.len(),
        }));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_their_sizes_and_runs_are_deterministic() {
        let cfg = BootstrapConfig {
            replicates: 300,
            seed: 9,
            confidence: 0.9,
        };
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let b: Vec<f64> = (0..20).map(|i| f64::from(i) * 2.0).collect();
        let stat = |w: &[Vec<u32>], out: &mut [f64]| {
            assert_eq!(w[0].iter().sum::<u32>(), 50);
            assert_eq!(w[1].iter().sum::<u32>(), 20);
            let ma = w[0]
                .iter()
                .zip(&a)
                .map(|(&k, v)| f64::from(k) * v)
                .sum::<f64>()
                / 50.0;
            let mb = w[1]
                .iter()
                .zip(&b)
                .map(|(&k, v)| f64::from(k) * v)
                .sum::<f64>()
                / 20.0;
            out[0] = ma - mb;
            out[1] = f64::NAN;
        };
        let r1 = multi_group_bootstrap(&[50, 20], 2, stat, &cfg).expect("ok");
        let r2 = multi_group_bootstrap(&[50, 20], 2, stat, &cfg).expect("ok");
        assert_eq!(r1, r2);
        let first = r1[0].as_ref().expect("finite statistic");
        // 24.5 - 19 = 5.5
        assert!((first.estimate - 5.5).abs() < 1e-12);
        assert!(first.lower < 5.5 && first.upper > 5.5);
        assert_eq!(r1[1], None);
        assert!(multi_group_bootstrap(&[0, 20], 2, stat, &cfg).is_err());
        assert!(multi_group_bootstrap(&[], 2, stat, &cfg).is_err());
    }
}
