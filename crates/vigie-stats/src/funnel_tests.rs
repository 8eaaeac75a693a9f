//! Tests of the funnel module against PHEindicatormethods test data and
//! independent computations of Spiegelhalter's exact limits.

use super::*;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
}

#[test]
fn phe_wilson_matches_phe_test_data() {
    // Source: PHEindicatormethods tests/testthat/testdata_funnel_prop_outputs.csv
    // (Baseline 80.642448 %, limits in %):
    // Population, Lower 0.025, Upper 0.025, Lower 0.001, Upper 0.001
    let target = 0.80642448;
    for (n, l95, u95, l998, u998) in [
        (1.0, 3.204264, 100.0, 0.0, 100.0),
        (3.0, 35.933491, 100.0, 10.150815, 100.0),
        (50.0, 69.691035, 91.593861, 63.375595, 97.909301),
        (1008.0, 78.203374, 83.081521, 76.796814, 84.488082),
        (110000.0, 80.408963, 80.875933, 80.274317, 81.010578),
    ] {
        let l =
            proportion_funnel_limits(target, n, ProportionFunnelMethod::PheWilson).expect("valid");
        close(100.0 * l.lower_95, l95, 2e-6);
        close(100.0 * l.upper_95, u95, 2e-6);
        close(100.0 * l.lower_998, l998, 2e-6);
        close(100.0 * l.upper_998, u998, 2e-6);
    }
}

#[test]
fn phe_wilson_classification_matches_phe_test_data() {
    // Source: PHEindicatormethods tests/testthat/testdata_funnel_prop_inputs.csv
    // (significance column), with the baseline 80.642448 % of the outputs file:
    //   New Forest PCT      35078.488 / 41980  High (0.001)
    //   West Norfolk PCT    26789.238 / 33012  High (0.025)
    //   North Devon PCT     30277.5312 / 37828 Low (0.025)
    //   Heywood and Middleton PCT 14493.3552 / 17964 Not significant
    //   Norwich PCT         24803.6256 / 31824 Low (0.001)
    use FunnelPosition::{Above, Below, Within};
    let target = 0.80642448;
    for (x, n, at_95, at_998) in [
        (35078.488, 41980.0, Above, Above),
        (26789.238, 33012.0, Above, Within),
        (30277.5312, 37828.0, Below, Within),
        (14493.3552, 17964.0, Within, Within),
        (24803.6256, 31824.0, Below, Below),
    ] {
        let l =
            proportion_funnel_limits(target, n, ProportionFunnelMethod::PheWilson).expect("valid");
        let c = classify(x / n, &l);
        assert_eq!((c.at_95, c.at_998), (at_95, at_998), "{x}/{n}");
    }
}

#[test]
fn exact_binomial_independent_computation() {
    // Spiegelhalter (2005) A.1.1, computed independently with scipy.stats.binom:
    // θ₀ = 0.15, n = 100: F(7) = 0.0121652, F(8) = 0.0274757, so r₀.₀₂₅ = 8,
    // α = (0.0274757 - 0.025)/(0.0274757 - 0.0121652) = 0.161699,
    // lower 95 % = (8 - 0.161699)/100 = 0.0783830; similarly
    // upper 95 % = 0.2183322, lower 99.8 % = 0.0450969, upper 99.8 % = 0.2649528.
    let l = proportion_funnel_limits(0.15, 100.0, ProportionFunnelMethod::ExactBinomial)
        .expect("valid");
    close(l.lower_95, 0.0783830, 1e-6);
    close(l.upper_95, 0.2183322, 1e-6);
    close(l.lower_998, 0.0450969, 1e-6);
    close(l.upper_998, 0.2649528, 1e-6);
    // θ₀ = 0.8, n = 1000: 0.7744157, 0.8239972, 0.7595684, 0.8377168.
    let l =
        proportion_funnel_limits(0.8, 1000.0, ProportionFunnelMethod::default()).expect("valid");
    close(l.lower_95, 0.7744157, 1e-6);
    close(l.upper_95, 0.8239972, 1e-6);
    close(l.lower_998, 0.7595684, 1e-6);
    close(l.upper_998, 0.8377168, 1e-6);
}

#[test]
fn poisson_rate_and_ratio_independent_computation() {
    // scipy.stats.poisson, Spiegelhalter interpolation:
    // rate target 0.002 per person-year, 5000 person-years (λ = 10):
    //   lower 95 % (4 - 0.224812)/5000 = 0.000755038, upper 95 % 0.003231990,
    //   lower 99.8 % 0.000244106, upper 99.8 % 0.004132400.
    let l = rate_funnel_limits(0.002, 5000.0).expect("valid");
    close(l.lower_95, 0.000755038, 1e-9);
    close(l.upper_95, 0.003231990, 1e-9);
    close(l.lower_998, 0.000244106, 1e-9);
    close(l.upper_998, 0.004132400, 1e-9);
    // SMR with 20 expected: 0.5602501, 1.4372884, 0.3584594, 1.7356764.
    let l = ratio_funnel_limits(20.0).expect("valid");
    close(l.lower_95, 0.5602501, 1e-6);
    close(l.upper_95, 1.4372884, 1e-6);
    close(l.lower_998, 0.3584594, 1e-6);
    close(l.upper_998, 1.7356764, 1e-6);
    let units = ratio_funnel(&[36.0, 20.0, 11.0], &[20.0, 20.0, 20.0]).expect("valid");
    // 1.8 > 1.7357 (above both); 1.0 within; 0.55 < 0.5603 (below 95 % only).
    assert_eq!(units[0].classification.at_998, FunnelPosition::Above);
    assert_eq!(units[1].classification.at_95, FunnelPosition::Within);
    assert_eq!(units[2].classification.at_95, FunnelPosition::Below);
    assert_eq!(units[2].classification.at_998, FunnelPosition::Within);
}

#[test]
fn funnels_use_pooled_target() {
    // Target = Σx/Σn = (15 + 45)/(100 + 300) = 0.15.
    let u = proportion_funnel(
        &[15.0, 45.0],
        &[100.0, 300.0],
        ProportionFunnelMethod::default(),
    )
    .expect("valid");
    close(u[0].limits.target, 0.15, 1e-12);
    close(u[0].limits.lower_95, 0.0783830, 1e-6);
    // Rates: (10 + 30)/(5000 + 15000) = 0.002.
    let r = rate_funnel(&[10.0, 30.0], &[5000.0, 15000.0]).expect("valid");
    close(r[0].limits.target, 0.002, 1e-12);
    close(r[0].limits.upper_95, 0.003231990, 1e-9);
}

#[test]
fn bad_input_is_a_typed_error() {
    let m = ProportionFunnelMethod::ExactBinomial;
    assert!(proportion_funnel_limits(1.5, 10.0, m).is_err());
    assert!(proportion_funnel_limits(0.5, 0.0, m).is_err());
    assert!(proportion_funnel_limits(0.5, 10.5, m).is_err());
    assert!(rate_funnel_limits(0.0, 10.0).is_err());
    assert!(ratio_funnel_limits(-1.0).is_err());
    assert!(proportion_funnel(&[], &[], m).is_err());
    assert!(proportion_funnel(&[3.0], &[2.0], m).is_err());
    assert!(rate_funnel(&[1.0, 2.0], &[1.0],).is_err());
    assert!(ratio_funnel(&[-1.0], &[2.0]).is_err());
}
