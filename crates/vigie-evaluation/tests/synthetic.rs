//! Validation against synthetic regions with a known program effect.

use std::time::Instant;

use crate::common::{TestResult, config, region};
use vigie_evaluation::{
    Enrolments, EvaluationConfig, Group, Outcome, TeamScope, adjusted_cohort, adjusted_estimates,
    case_finding, count_between, day_of, first_eligibility_dates, naive_before_after,
};

#[test]
fn eligibility_matches_the_generator_for_every_person() -> TestResult {
    let r = region(&config(20_000, 7, -0.25))?;
    let cfg = EvaluationConfig::new(r.data_start, r.data_end);
    let dates = first_eligibility_dates(&r.population, &r.events, &cfg)?;
    let ours = dates.to_dates();
    assert_eq!(ours.len(), r.synth_eligibility.len());
    let mismatches: Vec<_> = ours
        .iter()
        .zip(&r.synth_eligibility)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(5)
        .collect();
    assert!(mismatches.is_empty(), "first mismatches: {mismatches:?}");
    let n = dates.n_eligible();
    println!("eligible: {n} of 20000");
    assert!(
        n > 100,
        "too few eligible persons ({n}) for a meaningful check"
    );
    Ok(())
}

#[test]
fn headline_adjusted_effect_recovers_the_truth_and_naive_does_not() -> TestResult {
    let t = Instant::now();
    let persons = 40_000;
    let seed = 2024;
    let world = region(&config(persons, seed, -0.25))?;
    let counterfactual = region(&config(persons, seed, 0.0))?;
    println!("simulated 2 x {persons} persons in {:?}", t.elapsed());
    // Same persons and enrolments; the counterfactual events are a superset.
    assert_eq!(world.enrolments, counterfactual.enrolments);
    assert_eq!(world.candidates, counterfactual.kept);

    let cfg = EvaluationConfig::new(world.data_start, world.data_end);
    let enrolments = Enrolments::new(&world.enrolments, world.population.len())?;
    let cf = case_finding(&world.population, &world.events, &enrolments, &cfg)?;
    let cohort = adjusted_cohort(
        &world.population,
        &world.events,
        &enrolments,
        &cf.eligibility,
        "PSM",
        &cfg,
    )?;
    println!("cohort: {:?}", cohort.counts);
    let t = Instant::now();
    let adjusted = adjusted_estimates(&cohort, &cfg)?;
    let naive = naive_before_after(&world.population, &world.events, &enrolments, &cfg)?;
    println!("estimates in {:?}", t.elapsed());

    for (oi, outcome) in Outcome::ALL.into_iter().enumerate() {
        // True effect on the treated: the analysed participants' follow-up
        // events with the program over the same windows without it.
        let (mut with, mut without) = (0usize, 0usize);
        for m in cohort
            .members
            .iter()
            .filter(|m| m.group == Group::Participant && m.on_support)
        {
            let (e, f) = (day_of(m.eligibility_date), day_of(m.follow_up_end));
            let p = m.person as usize;
            let pick = |x: &(Vec<i32>, Vec<i32>)| if oi == 0 { x.0.clone() } else { x.1.clone() };
            with += count_between(&pick(&world.kept[p]), e, f);
            without += count_between(&pick(&counterfactual.kept[p]), e, f);
        }
        let truth = with as f64 / without as f64 - 1.0;
        let adj = adjusted
            .iter()
            .find(|a| a.scope == TeamScope::All && a.outcome == outcome)
            .ok_or("no overall adjusted estimate")?;
        let nai = naive
            .iter()
            .find(|a| a.scope == TeamScope::All && a.outcome == outcome)
            .ok_or("no overall naive estimate")?;
        let effect = adj.effect.ok_or("no adjusted effect")?;
        let ci = adj.ci.ok_or("no adjusted CI")?;
        let change = nai.change.ok_or("no naive change")?;
        println!(
            "{outcome:?}: true effect {truth:+.4} ({with} vs {without} events) | adjusted {effect:+.4} \
             [{:+.4}, {:+.4}] (n_p {}, off-support {}, n_c {} of {}, dropped {}) | naive {change:+.4} {:?} (n {})",
            ci.lower,
            ci.upper,
            adj.n_participants,
            adj.n_off_support,
            adj.n_comparison,
            adj.n_comparison_pool,
            ci.dropped_replicates,
            nai.ci.map(|c| (c.lower, c.upper)),
            nai.n_participants,
        );
        println!(
            "   participants pre {:.3} post {:.3} /PY; weighted comparison pre {:.3} post {:.3} /PY",
            adj.participants.pre_rate.unwrap_or(f64::NAN),
            adj.participants.post_rate.unwrap_or(f64::NAN),
            adj.comparison.pre_rate.unwrap_or(f64::NAN),
            adj.comparison.post_rate.unwrap_or(f64::NAN),
        );
        assert!(
            ci.contains(truth),
            "{outcome:?}: CI [{}, {}] misses the true effect {truth}",
            ci.lower,
            ci.upper
        );
        assert!(
            change < truth - 0.15,
            "{outcome:?}: naive change {change} is not clearly below the truth {truth}"
        );
    }
    Ok(())
}

/// Design-bias check over several seeds (slow in debug: run with
/// `--ignored`). The truth uses the candidate events of the same world
/// (equal to the counterfactual world's events, as the headline test checks).
#[test]
#[ignore = "slow: 8 synthetic regions"]
fn adjusted_estimate_is_unbiased_over_seeds() -> TestResult {
    let mut diffs = Vec::new();
    let mut covered = 0;
    for seed in 1..=8u64 {
        let w = region(&config(40_000, seed, -0.25))?;
        let mut cfg = EvaluationConfig::new(w.data_start, w.data_end);
        cfg.bootstrap.replicates = 500;
        let en = Enrolments::new(&w.enrolments, w.population.len())?;
        let elig = first_eligibility_dates(&w.population, &w.events, &cfg)?;
        let cohort = adjusted_cohort(&w.population, &w.events, &en, &elig, "PSM", &cfg)?;
        let est = adjusted_estimates(&cohort, &cfg)?;
        let (mut with, mut without) = (0usize, 0usize);
        for m in cohort
            .members
            .iter()
            .filter(|m| m.group == Group::Participant && m.on_support)
        {
            let (e, f) = (day_of(m.eligibility_date), day_of(m.follow_up_end));
            with += count_between(&w.kept[m.person as usize].0, e, f);
            without += count_between(&w.candidates[m.person as usize].0, e, f);
        }
        let truth = with as f64 / without as f64 - 1.0;
        let a = &est[0];
        let effect = a.effect.ok_or("no effect")?;
        let ci = a.ci.ok_or("no CI")?;
        covered += usize::from(ci.contains(truth));
        println!(
            "seed {seed}: ED truth {truth:+.4} adjusted {effect:+.4} [{:+.4}, {:+.4}] n_p {}",
            ci.lower, ci.upper, a.n_participants
        );
        diffs.push(effect - truth);
    }
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let sd =
        (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (diffs.len() - 1) as f64).sqrt();
    println!(
        "mean(adjusted - truth) = {mean:+.4}, sd {sd:.4}, se of mean {:.4}; CI covered {covered}/8",
        sd / (diffs.len() as f64).sqrt()
    );
    Ok(())
}
