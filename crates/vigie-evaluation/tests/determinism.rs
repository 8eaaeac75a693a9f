//! The bootstrap intervals depend only on the seed (not on thread count or
//! scheduling), and on the seed.

use crate::common::{TestResult, config, region};
use vigie_evaluation::{
    AdjustedEstimate, Enrolments, EvaluationConfig, NaiveEstimate, adjusted_cohort,
    adjusted_estimates, first_eligibility_dates, naive_before_after,
};

#[test]
fn same_seed_same_intervals_whatever_the_threads() -> TestResult {
    let r = region(&config(15_000, 99, -0.25))?;
    let mut cfg = EvaluationConfig::new(r.data_start, r.data_end);
    cfg.bootstrap.replicates = 500;
    cfg.bootstrap.seed = 5;
    let en = Enrolments::new(&r.enrolments, r.population.len())?;
    let elig = first_eligibility_dates(&r.population, &r.events, &cfg)?;
    let cohort = adjusted_cohort(&r.population, &r.events, &en, &elig, "PSM", &cfg)?;
    type Run = Result<(Vec<AdjustedEstimate>, Vec<NaiveEstimate>), vigie_evaluation::EvalError>;
    let run =
        |cfg: &EvaluationConfig, threads: usize| -> Result<Run, rayon::ThreadPoolBuildError> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            Ok(pool.install(|| {
                Ok((
                    adjusted_estimates(&cohort, cfg)?,
                    naive_before_after(&r.population, &r.events, &en, cfg)?,
                ))
            }))
        };
    let one = run(&cfg, 1)??;
    let two = run(&cfg, 2)??;
    let again = run(&cfg, 2)??;
    assert_eq!(one, two);
    assert_eq!(two, again);
    let ci = one.0[0].ci.ok_or("no CI")?;
    println!(
        "seed 5: effect {:?} CI [{:.5}, {:.5}]",
        one.0[0].effect, ci.lower, ci.upper
    );
    let mut other = cfg.clone();
    other.bootstrap.seed = 6;
    let diff = run(&other, 2)??;
    let ci6 = diff.0[0].ci.ok_or("no CI")?;
    assert_eq!(
        diff.0[0].effect, one.0[0].effect,
        "the estimate does not depend on the seed"
    );
    assert_ne!((ci.lower, ci.upper), (ci6.lower, ci6.upper));
    Ok(())
}
