//! Seeded, parallel, patient-level percentile bootstrap.
//!
//! Units (patients) are resampled with replacement; the caller's statistic is
//! evaluated on each resample; the interval is the type-7 percentile
//! ([`crate::quantile`](mod@crate::quantile)) of the replicate statistics at `α/2` and `1 - α/2`
//! (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13).
//!
//! **Determinism**: replicate `r` draws from its own ChaCha8 stream, seeded
//! with `seed` and stream number `r` (`ChaCha8Rng::seed_from_u64(seed)` then
//! `set_stream(r)`), so the result depends only on the seed and never on the
//! number of rayon threads or on scheduling.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Result, StatsError, check_confidence};
use crate::quantile::quantile_sorted;

/// Settings of a bootstrap run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    /// Number of bootstrap replicates (default 2000; at least 500 advised).
    pub replicates: usize,
    /// Seed of the random streams.
    pub seed: u64,
    /// Confidence level in (0, 1) (default 0.95).
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            replicates: 2000,
            seed: 20_240_601,
            confidence: 0.95,
        }
    }
}

/// Outcome of a bootstrap run.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapResult {
    /// The statistic on the original sample (every unit once).
    pub estimate: f64,
    /// Lower percentile limit.
    pub lower: f64,
    /// Upper percentile limit.
    pub upper: f64,
    /// Standard deviation of the finite replicate statistics (bootstrap SE).
    pub standard_error: f64,
    /// Number of replicates whose statistic was finite and used.
    pub used_replicates: usize,
    /// Number of replicates dropped because the statistic was NaN or infinite
    /// (e.g. a ratio whose resampled denominator was 0).
    pub dropped_replicates: usize,
}

fn replicate_rng(seed: u64, replicate: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(replicate as u64);
    rng
}

fn run<F>(config: &BootstrapConfig, estimate: f64, stat: F) -> Result<BootstrapResult>
where
    F: Fn(&mut ChaCha8Rng) -> f64 + Sync,
{
    let replicates: Vec<f64> = (0..config.replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = replicate_rng(config.seed, r);
            stat(&mut rng)
        })
        .collect();
    summarise(config, estimate, replicates)
}

/// The percentile interval and standard error of the replicate statistics.
fn summarise(
    config: &BootstrapConfig,
    estimate: f64,
    replicates: Vec<f64>,
) -> Result<BootstrapResult> {
    let mut finite: Vec<f64> = replicates.into_iter().filter(|v| v.is_finite()).collect();
    let dropped = config.replicates - finite.len();
    if finite.len() < 2 {
        return Err(StatsError::Numerical(format!(
            "bootstrap: only {} of {} replicate statistics were finite",
            finite.len(),
            config.replicates
        )));
    }
    finite.sort_by(f64::total_cmp);
    let alpha = 1.0 - config.confidence;
    let m = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / m;
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
    Ok(BootstrapResult {
        estimate,
        lower: quantile_sorted(&finite, alpha / 2.0),
        upper: quantile_sorted(&finite, 1.0 - alpha / 2.0),
        standard_error: var.sqrt(),
        used_replicates: finite.len(),
        dropped_replicates: dropped,
    })
}

fn validate(n_units: usize, config: &BootstrapConfig) -> Result<()> {
    if n_units == 0 {
        return Err(StatsError::TooFew {
            what: "bootstrap units",
            needed: 1,
            got: 0,
        });
    }
    if config.replicates < 2 {
        return Err(StatsError::TooFew {
            what: "bootstrap replicates",
            needed: 2,
            got: config.replicates,
        });
    }
    check_confidence(config.confidence)?;
    Ok(())
}

/// Percentile bootstrap over `n_units` units.
///
/// `statistic` receives the resampled unit indices (length `n_units`, drawn
/// uniformly with replacement from `0..n_units`, in draw order) and returns
/// the statistic; the point estimate is `statistic(&[0, 1, …, n_units-1])`.
/// Replicates whose statistic is not finite are dropped and counted.
///
/// # Errors
/// `n_units == 0`, fewer than 2 replicates, a bad confidence level, a
/// non-finite point estimate, or fewer than 2 finite replicate statistics.
pub fn bootstrap_percentile<F>(
    n_units: usize,
    statistic: F,
    config: &BootstrapConfig,
) -> Result<BootstrapResult>
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    validate(n_units, config)?;
    let identity: Vec<usize> = (0..n_units).collect();
    let estimate = statistic(&identity);
    crate::error::check_finite("bootstrap point estimate", estimate)?;
    run(config, estimate, |rng| {
        let idx: Vec<usize> = (0..n_units).map(|_| rng.random_range(0..n_units)).collect();
        statistic(&idx)
    })
}

/// Percentile bootstrap with resampling **weights**: `statistic` receives, for
/// each unit, how many times it was drawn in the resample (a multinomial
/// vector summing to `n_units`; the draws are the same as
/// [`bootstrap_percentile`] with the same seed). The point estimate uses a
/// weight of 1 for every unit.
///
/// # Errors
/// As [`bootstrap_percentile`].
pub fn bootstrap_weights<F>(
    n_units: usize,
    statistic: F,
    config: &BootstrapConfig,
) -> Result<BootstrapResult>
where
    F: Fn(&[u32]) -> f64 + Sync,
{
    let [result] = bootstrap_weights_each(n_units, |w| [statistic(w)], config)?;
    result
}

/// One replicate's multinomial weights, into `w` (reused by a worker from replicate to
/// replicate: a fresh zeroed vector per replicate of a million units had the kernel clear
/// new pages each time).
fn draw_weights(rng: &mut ChaCha8Rng, n_units: usize, w: &mut Vec<u32>) {
    w.clear();
    w.resize(n_units, 0);
    for _ in 0..n_units {
        w[rng.random_range(0..n_units)] += 1;
    }
}

/// [`bootstrap_weights`] for `K` statistics of the same units: each replicate's weights are
/// drawn once and given to every statistic, so each result is exactly what
/// [`bootstrap_weights`] gives for that statistic alone with the same seed — for one set of
/// draws instead of `K` (the draws are most of a large bootstrap's cost). Each statistic
/// fails or succeeds on its own.
///
/// # Errors
/// The unit count or the configuration (as [`bootstrap_weights`]), for all statistics.
pub fn bootstrap_weights_each<F, const K: usize>(
    n_units: usize,
    statistics: F,
    config: &BootstrapConfig,
) -> Result<[Result<BootstrapResult>; K]>
where
    F: Fn(&[u32]) -> [f64; K] + Sync,
{
    validate(n_units, config)?;
    let estimates = statistics(&vec![1_u32; n_units]);
    let replicates: Vec<[f64; K]> = (0..config.replicates)
        .into_par_iter()
        .map_init(Vec::new, |w, r| {
            let mut rng = replicate_rng(config.seed, r);
            draw_weights(&mut rng, n_units, w);
            statistics(w)
        })
        .collect();
    Ok(std::array::from_fn(|k| {
        crate::error::check_finite("bootstrap point estimate", estimates[k])?;
        summarise(
            config,
            estimates[k],
            replicates.iter().map(|r| r[k]).collect(),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::{qnorm, qt};

    /// 200 "normal" values: exact normal scores qnorm((i - 0.5)/200)·10 + 50,
    /// so the sample is deterministic and known.
    fn normal_sample() -> Vec<f64> {
        (1..=200)
            .map(|i| 50.0 + 10.0 * qnorm((f64::from(i) - 0.5) / 200.0).unwrap_or(f64::NAN))
            .collect()
    }

    fn mean_of(data: &[f64], idx: &[usize]) -> f64 {
        idx.iter().map(|&i| data[i]).sum::<f64>() / idx.len() as f64
    }

    #[test]
    fn several_statistics_share_draws_and_equal_separate_runs() {
        let data = normal_sample();
        let config = BootstrapConfig {
            replicates: 300,
            ..BootstrapConfig::default()
        };
        let weighted_mean = |w: &[u32]| {
            let n: u32 = w.iter().sum();
            w.iter()
                .zip(&data)
                .map(|(&k, v)| f64::from(k) * v)
                .sum::<f64>()
                / f64::from(n)
        };
        // Infinite whenever unit 0 is not drawn: many replicates dropped.
        let fragile = |w: &[u32]| 1.0 / f64::from(w[0]);
        let both = bootstrap_weights_each(data.len(), |w| [weighted_mean(w), fragile(w)], &config)
            .expect("valid");
        let [mean, frail] = both;
        let mean = mean.expect("finite");
        assert_eq!(
            mean,
            bootstrap_weights(data.len(), weighted_mean, &config).expect("finite")
        );
        // The same draws as resampling indices with the same seed (an independent path:
        // `bootstrap_weights` itself is built on the shared draws).
        let by_index =
            bootstrap_percentile(data.len(), |idx| mean_of(&data, idx), &config).expect("finite");
        for (a, b) in [
            (mean.lower, by_index.lower),
            (mean.upper, by_index.upper),
            (mean.standard_error, by_index.standard_error),
        ] {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        match (frail, bootstrap_weights(data.len(), fragile, &config)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b);
                assert!(a.dropped_replicates > 0);
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("one run failed, the other not: {a:?} {b:?}"),
        }
        // A non-finite point estimate fails that statistic only.
        let [ok, nan] =
            bootstrap_weights_each(data.len(), |w| [weighted_mean(w), f64::NAN], &config)
                .expect("valid");
        assert!(ok.is_ok() && nan.is_err());
        assert!(bootstrap_weights_each(0, |_| [0.0], &config).is_err());
    }

    #[test]
    fn mean_ci_approximates_t_interval() {
        // Independent reference (Python/scipy): the sample above has mean
        // 50 (symmetric scores) and SD s = 9.992943; the t-interval
        // mean ± qt(0.975, 199)·s/√200 = 50 ± 1.971957·0.706608 = [48.606600, 51.393400].
        // The percentile bootstrap is asymptotically equivalent; with 4000
        // replicates its limits must lie within 0.15 (≈ 11 % of the half-width).
        let data = normal_sample();
        let n = data.len() as f64;
        let mean = data.iter().sum::<f64>() / n;
        let sd = (data.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((mean - 50.0).abs() < 1e-9);
        assert!((sd - 9.992943).abs() < 1e-5, "sd {sd}");
        let half = qt(0.975, n - 1.0).unwrap_or(f64::NAN) * sd / n.sqrt();
        assert!((half - 1.393400).abs() < 1e-5, "half-width {half}");
        let cfg = BootstrapConfig {
            replicates: 4000,
            seed: 42,
            confidence: 0.95,
        };
        let r = bootstrap_percentile(data.len(), |idx| mean_of(&data, idx), &cfg).expect("ok");
        assert!((r.estimate - 50.0).abs() < 1e-9);
        assert!((r.lower - 48.606600).abs() < 0.15, "lower {}", r.lower);
        assert!((r.upper - 51.393400).abs() < 0.15, "upper {}", r.upper);
        // Bootstrap SE ≈ s/√n·sqrt((n-1)/n) = 0.704839.
        assert!((r.standard_error - 0.704839).abs() < 0.05);
        assert_eq!(r.dropped_replicates, 0);
    }

    #[test]
    fn deterministic_across_runs_and_thread_counts() {
        let data = normal_sample();
        let cfg = BootstrapConfig {
            replicates: 600,
            seed: 7,
            confidence: 0.9,
        };
        let run_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            pool.install(|| {
                bootstrap_percentile(data.len(), |idx| mean_of(&data, idx), &cfg).expect("ok")
            })
        };
        let one = run_with(1);
        let two = run_with(2);
        let again = run_with(2);
        assert_eq!(one, two);
        assert_eq!(two, again);
        let other_seed = bootstrap_percentile(
            data.len(),
            |idx| mean_of(&data, idx),
            &BootstrapConfig { seed: 8, ..cfg },
        )
        .expect("ok");
        assert_ne!(one.lower, other_seed.lower);
    }

    #[test]
    fn weights_variant_draws_the_same_resamples() {
        // Same seed => same multinomial draws => the weighted mean equals the
        // index mean for every replicate, so the results coincide.
        let data = normal_sample();
        let cfg = BootstrapConfig {
            replicates: 500,
            seed: 3,
            confidence: 0.95,
        };
        let a = bootstrap_percentile(data.len(), |idx| mean_of(&data, idx), &cfg).expect("ok");
        let b = bootstrap_weights(
            data.len(),
            |w| {
                let tot: f64 = w.iter().map(|&k| f64::from(k)).sum();
                w.iter()
                    .zip(&data)
                    .map(|(&k, v)| f64::from(k) * v)
                    .sum::<f64>()
                    / tot
            },
            &cfg,
        )
        .expect("ok");
        assert!((a.lower - b.lower).abs() < 1e-9);
        assert!((a.upper - b.upper).abs() < 1e-9);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let cfg = BootstrapConfig::default();
        assert!(cfg.replicates >= 500);
        assert!(bootstrap_percentile(0, |_| 0.0, &cfg).is_err());
        assert!(bootstrap_percentile(3, |_| f64::NAN, &cfg).is_err());
        let bad = BootstrapConfig {
            confidence: 1.5,
            ..cfg
        };
        assert!(bootstrap_percentile(3, |_| 1.0, &bad).is_err());
    }
}
