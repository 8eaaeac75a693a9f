//! Tests of the disparity measures against published worked examples and
//! independent computations (the Python that produced each figure is quoted
//! next to it; it implements the published formulas, not this module).

use super::*;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
}

fn rate(events: u64, person_time: f64) -> RateGroup {
    RateGroup {
        events,
        person_time,
    }
}

fn prop(events: u64, denominator: u64) -> ProportionGroup {
    ProportionGroup {
        events,
        denominator,
    }
}

// ---- rates ------------------------------------------------------------------

#[test]
fn rate_ratio_and_difference_match_rothman_blindness_example() {
    // Source: Rothman KJ, *Epidemiology: an introduction* (2nd edn, 2012),
    // ch. 9, Table 9-2 (Feychting et al.): cancer among the totally blind,
    // 136 cases in 22,050 person-years, against the visually impaired, 1,709
    // cases in 127,650 person-years. Published, 90 % limits:
    //   ID  = -7.2 per 1000 PY, 90 % CI -8.2 to -6.2 per 1000 PY;
    //   IRR = 0.46, 90 % CI 0.40 to 0.53.
    // Unrounded (python3, statistics.NormalDist().inv_cdf(0.95) = 1.644854):
    //   ID  = -7.220370, -8.240446, -6.200295 per 1000 PY
    //   IRR = 0.4606903, 0.3978903, 0.5334022
    let blind = rate(136, 22_050.0);
    let impaired = rate(1_709, 127_650.0);
    let d = rate_difference(blind, impaired, 0.90)
        .expect("valid")
        .scaled(1000.0);
    close(d.estimate, -7.2, 0.05);
    close(d.lower, -8.2, 0.05);
    close(d.upper, -6.2, 0.05);
    close(d.estimate, -7.220370, 1e-5);
    close(d.lower, -8.240446, 1e-5);
    close(d.upper, -6.200295, 1e-5);

    let rr = rate_ratio(blind, impaired, 0.90).expect("valid");
    assert_eq!(rr.method, RateRatioMethod::LogNormal);
    close(rr.interval.estimate, 0.46, 0.005);
    close(rr.interval.lower, 0.40, 0.005);
    close(rr.interval.upper, 0.53, 0.005);
    close(rr.interval.lower, 0.3978903, 1e-6);
    close(rr.interval.upper, 0.5334022, 1e-6);
}

#[test]
fn small_counts_use_the_exact_conditional_interval() {
    // Source: exactci vignette (Fay 2010), R stats::poisson.test(c(2, 10),
    // c(17877, 20000)): rate ratio 0.2237512, 95 % CI 0.02383738 1.04995468.
    let rr = rate_ratio(rate(2, 17_877.0), rate(10, 20_000.0), 0.95).expect("valid");
    assert_eq!(rr.method, RateRatioMethod::ExactConditional);
    close(rr.interval.estimate, 0.2237512, 1e-7);
    close(rr.interval.lower, 0.02383738, 1e-6);
    close(rr.interval.upper, 1.04995468, 1e-5);
    // Exactly at the threshold both counts are >= 10: log-normal.
    let big = rate_ratio(rate(10, 1.0), rate(10, 1.0), 0.95).expect("valid");
    assert_eq!(big.method, RateRatioMethod::LogNormal);
}

#[test]
fn zero_events_in_the_group_gives_a_zero_ratio_with_an_exact_upper_limit() {
    // 0 events against 5 in equal person-time: given 5 events in all, the
    // group's share is 0 of 5; Clopper-Pearson upper = 1 - 0.025^(1/5)
    // = 0.5218, mapped to the ratio p/(1-p) = 1.0912791 (python3:
    // pu = 1 - 0.025**(1/5); pu/(1-pu)).
    let rr = rate_ratio(rate(0, 1000.0), rate(5, 1000.0), 0.95).expect("valid");
    assert_eq!(rr.method, RateRatioMethod::ExactConditional);
    assert_eq!(rr.interval.estimate, 0.0);
    assert_eq!(rr.interval.lower, 0.0);
    close(rr.interval.upper, 1.0912791, 1e-6);
}

#[test]
fn zero_reference_events_make_the_ratio_undefined_not_nan() {
    let err = rate_ratio(rate(4, 1000.0), rate(0, 1000.0), 0.95).expect_err("undefined");
    assert_eq!(
        err,
        StatsError::Undefined {
            measure: DisparityMeasure::RateRatio,
            reason: UndefinedReason::NoReferenceEvents,
        }
    );
    let err = rate_ratio(rate(0, 1000.0), rate(0, 1000.0), 0.95).expect_err("undefined");
    assert!(matches!(
        err,
        StatsError::Undefined {
            reason: UndefinedReason::NoEventsInEitherGroup,
            ..
        }
    ));
    assert!(matches!(
        rate_difference(rate(0, 10.0), rate(0, 20.0), 0.95),
        Err(StatsError::Undefined { .. })
    ));
    // One group without events still has a difference (variance from the other).
    let d = rate_difference(rate(0, 100.0), rate(4, 100.0), 0.95).expect("valid");
    close(d.estimate, -0.04, 1e-12);
    assert!(d.lower < d.estimate && d.estimate < d.upper);
}

#[test]
fn zero_person_time_is_an_error() {
    assert!(matches!(
        rate_ratio(rate(3, 0.0), rate(5, 10.0), 0.95),
        Err(StatsError::NotPositive { .. })
    ));
    assert!(matches!(
        rate_difference(rate(3, 10.0), rate(5, f64::NAN), 0.95),
        Err(StatsError::NotPositive { .. })
    ));
    assert!(rate_ratio(rate(3, 10.0), rate(5, 10.0), 1.5).is_err());
}

#[test]
fn identical_rate_groups_give_ratio_one_and_difference_zero() {
    // 30 events in 1000 each: ln RR = 0, SE = sqrt(2/30):
    // limits exp(∓1.959964·0.258199) = 0.6028659, 1.6587437 (python3).
    let g = rate(30, 1000.0);
    let rr = rate_ratio(g, g, 0.95).expect("valid").interval;
    close(rr.estimate, 1.0, 1e-12);
    close(rr.lower, 0.6028659, 1e-6);
    close(rr.upper, 1.6587437, 1e-6);
    let d = rate_difference(g, g, 0.95).expect("valid");
    assert_eq!(d.estimate, 0.0);
    assert!(d.lower < 0.0 && d.upper > 0.0);
}

// ---- proportions ------------------------------------------------------------

#[test]
fn risk_difference_matches_newcombe_1998_table_ii() {
    // Source: Newcombe RG, "Interval estimation for the difference between
    // independent proportions: comparison of eleven methods", Stat Med
    // 1998;17:873-890, Table II, method 10 (score, no continuity correction),
    // 95 %. Rows (a)-(h): p1 - p2 with limits to 4 decimals.
    // (The brief quoted "56/70 vs 48/80: 0.1000, -0.0524 to 0.2378"; the
    // paper's row (a) is 0.2000, 0.0524 to 0.3339: 56/70 - 48/80 = 0.8 - 0.6.)
    for (a, m, b, n, lo, hi) in [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ] {
        let d = risk_difference(prop(a, m), prop(b, n), 0.95).expect("valid");
        close(d.estimate, a as f64 / m as f64 - b as f64 / n as f64, 1e-12);
        close(d.lower, lo, 5e-5);
        close(d.upper, hi, 5e-5);
    }
}

#[test]
fn risk_ratio_katz_on_actg_076() {
    // Data: AIDS Clinical Trials Group protocol 076 (Connor et al., NEJM
    // 1994;331:1173): HIV transmission 13 of 180 infants (zidovudine) against
    // 40 of 183 (placebo). Katz: RR = (13/180)/(40/183) = 0.3304167,
    // SE(ln RR) = sqrt(1/13 - 1/180 + 1/40 - 1/183) = 0.301494;
    // python3: rr*exp(∓1.959964*se) = 0.1829884, 0.5966235
    // (usually quoted as 0.33, 95 % CI 0.18 to 0.60).
    let rr = risk_ratio(prop(13, 180), prop(40, 183), 0.95).expect("valid");
    close(rr.estimate, 0.3304167, 1e-7);
    close(rr.lower, 0.1829884, 1e-6);
    close(rr.upper, 0.5966235, 1e-6);
}

#[test]
fn risk_ratio_without_events_is_undefined() {
    for (g, r, reason) in [
        (prop(0, 10), prop(3, 10), UndefinedReason::NoGroupEvents),
        (prop(3, 10), prop(0, 10), UndefinedReason::NoReferenceEvents),
        (
            prop(0, 10),
            prop(0, 10),
            UndefinedReason::NoEventsInEitherGroup,
        ),
    ] {
        assert_eq!(
            risk_ratio(g, r, 0.95),
            Err(StatsError::Undefined {
                measure: DisparityMeasure::RiskRatio,
                reason
            })
        );
    }
    assert!(matches!(
        risk_difference(prop(11, 10), prop(3, 10), 0.95),
        Err(StatsError::NumeratorExceedsDenominator { .. })
    ));
    assert!(risk_ratio(prop(1, 0), prop(3, 10), 0.95).is_err());
}

#[test]
fn identical_proportions_give_ratio_one_and_difference_zero() {
    let g = prop(25, 100);
    let rr = risk_ratio(g, g, 0.95).expect("valid");
    close(rr.estimate, 1.0, 1e-12);
    assert!(rr.lower < 1.0 && rr.upper > 1.0);
    let d = risk_difference(g, g, 0.95).expect("valid");
    assert_eq!(d.estimate, 0.0);
    assert!(d.lower < 0.0 && d.upper > 0.0);
}

// ---- slope index of inequality ---------------------------------------------

/// Independent computation used for every SII figure below (python3, no
/// numpy): the weighted least-squares fit written with matrices,
/// β = (XᵀWX)⁻¹XᵀW y with X = [1, ridit] and W = diag(population share),
/// Cov(β) = H V Hᵀ with H = (XᵀWX)⁻¹XᵀW and V = diag(Var yᵢ); the RII's
/// log-scale gradient gᵢ = (H₀ᵢ + H₁ᵢ)/(β₀ + β₁) − H₀ᵢ/β₀:
///
/// ```text
/// def sii(pop, y, var):
///     tot=sum(pop); a=[p/tot for p in pop]; cum=0; b=[]
///     for p in pop: b.append((cum+p/2)/tot); cum+=p
///     X=[[1.0,bi] for bi in b]; W=diag(a); V=diag(var)
///     XtW=mm(T(X),W); A=inv2(mm(XtW,X)); H=mm(A,XtW)
///     b0,b1=H·y; se=sqrt((H V Hᵀ)[1][1]); z=NormalDist().inv_cdf(0.975)
///     g=[(H[0][i]+H[1][i])/(b0+b1)-H[0][i]/b0 for i]; sl=sqrt(Σ g²var)
///     return b, b0, b1, b1∓z·se, (b0+b1)/b0, rii·exp(∓z·sl)
/// ```
#[test]
fn sii_hand_computed_quintiles_normal_values() {
    // Five quintiles, most deprived first: populations 10 000, 12 000,
    // 15 000, 11 000, 12 000 (total 60 000; shares 1/6, 0.2, 0.25, 11/60,
    // 0.2). Ridits = cumulative share below + half own share:
    //   1/12 = 0.083333, 1/6 + 0.1 = 0.266667, 0.366667 + 0.125 = 0.491667,
    //   0.616667 + 0.091667 = 0.708333, 0.8 + 0.1 = 0.9.
    // Values (life expectancy) 76.0, 78.5, 79.0, 81.0, 83.5 with standard
    // errors 0.9, 0.8, 0.7, 0.8, 0.6. Python above:
    //   intercept 75.480782, SII 8.371769, SE 1.158053,
    //   95 % CI 6.102027 to 10.641511;
    //   RII 1.1109126, 95 % CI 1.0794472 to 1.1432952.
    let r = ridits(&[10_000.0, 12_000.0, 15_000.0, 11_000.0, 12_000.0]).expect("valid");
    for (got, want) in r.iter().zip([0.083333, 0.266667, 0.491667, 0.708333, 0.9]) {
        close(*got, want, 1e-6);
    }
    let groups: Vec<SiiGroup> = [
        (10_000.0, 76.0, 0.9),
        (12_000.0, 78.5, 0.8),
        (15_000.0, 79.0, 0.7),
        (11_000.0, 81.0, 0.8),
        (12_000.0, 83.5, 0.6),
    ]
    .iter()
    .map(|&(p, v, se)| SiiGroup::normal(p, v, se).expect("valid"))
    .collect();
    let s = slope_index(&groups, SiiInterval::Analytic, 0.95).expect("valid");
    close(s.intercept, 75.480782, 1e-5);
    close(s.sii.estimate, 8.371769, 1e-5);
    close(s.sii.lower, 6.102027, 1e-5);
    close(s.sii.upper, 10.641511, 1e-5);
    let rii = s.rii.expect("positive intercept");
    close(rii.estimate, 1.1109126, 1e-6);
    close(rii.lower, 1.0794472, 1e-6);
    close(rii.upper, 1.1432952, 1e-6);
}

#[test]
fn sii_on_phe_sii_documentation_data() {
    // Data: the example data frame of PHEindicatormethods' phe_sii help page
    // (R/SII_function.R, "Area1"): ten deciles, populations 7291 7997 6105
    // 7666 5790 6934 5918 5974 7147 7534, life expectancy 75.9 78.3 83.8 83.6
    // 80.5 81.1 81.7 84.2 80.6 86.3, standard errors 1.64 1.58 1.51 1.78 1.7
    // 1.56 1.37 1.4 2.43 1.57 (value_type 0). Python above:
    //   SII 7.000235, 95 % CI 3.153429 to 10.847041 (SE 1.962692);
    //   RII 1.0897097.
    // phe_sii's own interval is a 100 000-draw simulation of the same normal
    // model, which converges to these analytic limits: the seeded simulation
    // here must agree to Monte Carlo error (SE of a 2.5 % quantile with
    // 20 000 draws ≈ 0.03).
    let pops = [
        7291.0, 7997.0, 6105.0, 7666.0, 5790.0, 6934.0, 5918.0, 5974.0, 7147.0, 7534.0,
    ];
    let values = [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3];
    let ses = [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57];
    let groups: Vec<SiiGroup> = (0..10)
        .map(|i| SiiGroup::normal(pops[i], values[i], ses[i]).expect("valid"))
        .collect();
    let analytic = slope_index(&groups, SiiInterval::Analytic, 0.95).expect("valid");
    close(analytic.sii.estimate, 7.000235, 1e-5);
    close(analytic.sii.lower, 3.153429, 1e-5);
    close(analytic.sii.upper, 10.847041, 1e-5);
    close(analytic.rii.expect("positive").estimate, 1.0897097, 1e-6);

    let sim = SiiInterval::Simulation {
        repetitions: 20_000,
        seed: 7,
    };
    let simulated = slope_index(&groups, sim, 0.95).expect("valid");
    assert_eq!(simulated.sii.estimate, analytic.sii.estimate);
    close(simulated.sii.lower, 3.153429, 0.12);
    close(simulated.sii.upper, 10.847041, 0.12);
    // Seeded: the same seed gives the same limits, bit for bit.
    assert_eq!(simulated, slope_index(&groups, sim, 0.95).expect("valid"));
}

#[test]
fn sii_from_rates_by_quintile() {
    // Emergency visits by deprivation quintile (most deprived first):
    // events 240, 200, 170, 150, 120 in populations 20 000, 21 000, 19 000,
    // 22 000, 18 000 (rates 12.0, 9.52, 8.95, 6.82, 6.67 per 1000; ridits
    // 0.1, 0.305, 0.505, 0.71, 0.91). Each group's log-scale SE comes from
    // its 95 % Byar limits, (ln U − ln L)/(2·1.959964), as phe_rate +
    // phe_sii do; natural-scale variance (rate·SE)². Python above:
    //   intercept 0.012142714, SII -0.006685428 (SE 0.001087450),
    //   95 % CI -0.008816791 to -0.004554066;
    //   RII 0.4494288, 95 % CI 0.3407187 to 0.5928242.
    let groups: Vec<SiiGroup> = [
        (240, 20_000.0),
        (200, 21_000.0),
        (170, 19_000.0),
        (150, 22_000.0),
        (120, 18_000.0),
    ]
    .iter()
    .map(|&(e, p)| SiiGroup::rate(e, p).expect("valid"))
    .collect();
    let s = slope_index(&groups, SiiInterval::Analytic, 0.95).expect("valid");
    close(s.intercept, 0.012142714, 1e-9);
    close(s.sii.estimate, -0.006685428, 1e-9);
    close(s.sii.lower, -0.008816791, 1e-8);
    close(s.sii.upper, -0.004554066, 1e-8);
    let rii = s.rii.expect("positive");
    close(rii.estimate, 0.4494288, 1e-6);
    close(rii.lower, 0.3407187, 1e-6);
    close(rii.upper, 0.5928242, 1e-6);
    // Per 1000: scale the interval.
    close(s.sii.scaled(1000.0).estimate, -6.685428, 1e-6);

    // phe_sii's simulation on the log scale: asymmetric, close to the delta
    // method for counts this large.
    let sim = slope_index(
        &groups,
        SiiInterval::Simulation {
            repetitions: 20_000,
            seed: 20_240_601,
        },
        0.95,
    )
    .expect("valid");
    close(sim.sii.lower, -0.008816791, 2e-4);
    close(sim.sii.upper, -0.004554066, 2e-4);
    let sim_rii = sim.rii.expect("finite");
    assert!(sim_rii.contains(rii.estimate));
}

#[test]
fn sii_from_proportions_uses_the_logit_scale() {
    // Equal proportions in every quintile: SII 0, RII 1, both inside.
    let groups: Vec<SiiGroup> = (0..5)
        .map(|_| SiiGroup::proportion(30, 100).expect("valid"))
        .collect();
    let s = slope_index(&groups, SiiInterval::Analytic, 0.95).expect("valid");
    close(s.sii.estimate, 0.0, 1e-12);
    assert!(s.sii.contains(0.0) && s.sii.lower < 0.0);
    let rii = s.rii.expect("positive");
    close(rii.estimate, 1.0, 1e-12);
    assert!(rii.contains(1.0));
    // Logit SE from the Wilson limits of 30/100: (logit u − logit l) /
    // (2·1.959964); python3 with the Wilson formula:
    // l = 0.2189489, u = 0.3958485 -> se = 0.2165880.
    close(groups[0].standard_error, 0.2165880, 1e-6);
}

#[test]
fn sii_rejects_what_it_cannot_compute() {
    let ok = SiiGroup::normal(100.0, 1.0, 0.1).expect("valid");
    assert!(matches!(
        slope_index(&[ok], SiiInterval::Analytic, 0.95),
        Err(StatsError::TooFew { needed: 2, .. })
    ));
    assert!(matches!(
        SiiGroup::rate(0, 1000.0),
        Err(StatsError::Undefined {
            measure: DisparityMeasure::SlopeIndex,
            reason: UndefinedReason::ValueOnScaleBoundary
        })
    ));
    assert!(SiiGroup::proportion(10, 10).is_err());
    assert!(SiiGroup::proportion(0, 10).is_err());
    assert!(SiiGroup::normal(0.0, 1.0, 0.1).is_err());
    assert!(SiiGroup::normal(10.0, f64::NAN, 0.1).is_err());
    assert!(SiiGroup::normal(10.0, 1.0, -0.1).is_err());
    // A group built by hand with a value off its scale is caught too.
    let bad = SiiGroup {
        population: 10.0,
        value: 0.0,
        standard_error: 0.1,
        scale: SiiScale::Log,
    };
    assert!(slope_index(&[ok, bad], SiiInterval::Analytic, 0.95).is_err());
    assert!(matches!(
        slope_index(
            &[ok, ok],
            SiiInterval::Simulation {
                repetitions: 999,
                seed: 1
            },
            0.95
        ),
        Err(StatsError::TooFew { needed: 1000, .. })
    ));
    // A fitted value at ridit 0 that is not positive: no RII, SII still there.
    let falling = [
        SiiGroup::normal(10.0, -1.0, 0.1).expect("valid"),
        SiiGroup::normal(10.0, 1.0, 0.1).expect("valid"),
    ];
    let s = slope_index(&falling, SiiInterval::Analytic, 0.95).expect("valid");
    assert!(s.rii.is_none());
    close(s.sii.estimate, 4.0, 1e-12); // ridits 0.25, 0.75: slope 2 / 0.5
}
