//! Property tests: invariants that must hold for any valid input (and no
//! panic for invalid input).

use proptest::prelude::*;

use crate::{ImprovementDirection, SpcOptions, poisson_ci, quantile, wilson_ci, xmr_chart};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn wilson_brackets_estimate(n in 1u32..5000, frac in 0.0f64..=1.0, conf in 0.5f64..0.999) {
        let x = (f64::from(n) * frac).floor();
        let ci = wilson_ci(x, f64::from(n), conf).expect("valid");
        prop_assert!(0.0 <= ci.lower && ci.lower <= ci.estimate + 1e-12);
        prop_assert!(ci.estimate <= ci.upper + 1e-12 && ci.upper <= 1.0);
    }

    #[test]
    fn poisson_brackets_count(x in 0u32..100_000, conf in 0.5f64..0.999) {
        let x = f64::from(x);
        let ci = poisson_ci(x, conf).expect("valid");
        prop_assert!(0.0 <= ci.lower && ci.lower <= x && x < ci.upper);
    }

    #[test]
    fn quantile_is_monotone(data in proptest::collection::vec(-1e6f64..1e6, 1..50),
                            p in 0.0f64..=1.0, q in 0.0f64..=1.0) {
        let (lo, hi) = if p <= q { (p, q) } else { (q, p) };
        prop_assert!(quantile(&data, lo).expect("valid") <= quantile(&data, hi).expect("valid"));
    }

    #[test]
    fn arbitrary_numbers_never_panic(v in proptest::collection::vec(proptest::num::f64::ANY, 0..20),
                                     a in proptest::num::f64::ANY, b in proptest::num::f64::ANY) {
        let _ = xmr_chart(&v, &SpcOptions::default(), ImprovementDirection::Neither);
        let _ = wilson_ci(a, b, 0.95);
        let _ = poisson_ci(a, 0.95);
        let _ = crate::dsr_dobson(
            &[crate::Stratum { events: a, population: b, weight: 1.0 }], 1e5, 0.95);
        let _ = crate::proportion_funnel_limits(a, b, crate::ProportionFunnelMethod::PheWilson);
        let _ = crate::rate_funnel_limits(a.abs().min(1e3), b.abs().min(1e6));
    }
}

/// Disparity measures: swapping group and reference inverts a ratio (and its
/// interval) and negates a difference (and its interval); every interval
/// holds its estimate.
mod disparity {
    use proptest::prelude::*;

    use crate::{
        ProportionGroup, RateGroup, SiiGroup, SiiInterval, rate_difference, rate_ratio,
        risk_difference, risk_ratio, slope_index,
    };

    fn rel_close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn rate_ratio_swap_inverts(a in 1u64..400, b in 1u64..400,
                                   ta in 1.0f64..1e6, tb in 1.0f64..1e6,
                                   conf in 0.8f64..0.999) {
            let g = RateGroup { events: a, person_time: ta };
            let r = RateGroup { events: b, person_time: tb };
            let fwd = rate_ratio(g, r, conf).expect("valid");
            let back = rate_ratio(r, g, conf).expect("valid");
            prop_assert_eq!(fwd.method, back.method);
            let (f, k) = (fwd.interval, back.interval);
            prop_assert!(f.lower <= f.estimate && f.estimate <= f.upper);
            prop_assert!(rel_close(f.estimate, 1.0 / k.estimate));
            prop_assert!(rel_close(f.lower, 1.0 / k.upper));
            prop_assert!(rel_close(f.upper, 1.0 / k.lower));
        }

        #[test]
        fn rate_difference_swap_negates(a in 0u64..400, b in 1u64..400,
                                        ta in 1.0f64..1e6, tb in 1.0f64..1e6) {
            let g = RateGroup { events: a, person_time: ta };
            let r = RateGroup { events: b, person_time: tb };
            let f = rate_difference(g, r, 0.95).expect("valid");
            let k = rate_difference(r, g, 0.95).expect("valid");
            prop_assert!(f.lower <= f.estimate && f.estimate <= f.upper);
            prop_assert_eq!(f.estimate, -k.estimate);
            prop_assert!(rel_close(f.lower, -k.upper) && rel_close(f.upper, -k.lower));
        }

        #[test]
        fn risk_measures_swap(n1 in 1u64..2000, n0 in 1u64..2000,
                              f1 in 0.0f64..=1.0, f0 in 0.0f64..=1.0,
                              conf in 0.8f64..0.999) {
            let g = ProportionGroup { events: (n1 as f64 * f1).floor() as u64, denominator: n1 };
            let r = ProportionGroup { events: (n0 as f64 * f0).floor() as u64, denominator: n0 };
            let f = risk_difference(g, r, conf).expect("valid");
            let k = risk_difference(r, g, conf).expect("valid");
            prop_assert!(f.lower <= f.estimate + 1e-12 && f.estimate <= f.upper + 1e-12);
            prop_assert!(-1.0 - 1e-12 <= f.lower && f.upper <= 1.0 + 1e-12);
            prop_assert!((f.lower + k.upper).abs() < 1e-12 && (f.upper + k.lower).abs() < 1e-12);
            if g.events > 0 && r.events > 0 {
                let f = risk_ratio(g, r, conf).expect("valid");
                let k = risk_ratio(r, g, conf).expect("valid");
                prop_assert!(f.lower <= f.estimate * (1.0 + 1e-12));
                prop_assert!(f.estimate <= f.upper * (1.0 + 1e-12));
                prop_assert!(rel_close(f.estimate, 1.0 / k.estimate));
                prop_assert!(rel_close(f.lower, 1.0 / k.upper) && rel_close(f.upper, 1.0 / k.lower));
            } else {
                prop_assert!(risk_ratio(g, r, conf).is_err());
            }
        }

        #[test]
        fn reversing_the_order_negates_the_sii(
            rows in proptest::collection::vec((1.0f64..1e5, -50.0f64..50.0, 0.0f64..5.0), 2..12)) {
            let groups: Vec<SiiGroup> = rows.iter()
                .map(|&(p, v, se)| SiiGroup::normal(p, v, se).expect("valid"))
                .collect();
            let reversed: Vec<SiiGroup> = groups.iter().rev().copied().collect();
            let f = slope_index(&groups, SiiInterval::Analytic, 0.95).expect("valid").sii;
            let k = slope_index(&reversed, SiiInterval::Analytic, 0.95).expect("valid").sii;
            prop_assert!(f.lower <= f.estimate && f.estimate <= f.upper);
            let tol = 1e-9 * (1.0 + f.estimate.abs() + (f.upper - f.lower));
            prop_assert!((f.estimate + k.estimate).abs() <= tol);
            prop_assert!((f.lower + k.upper).abs() <= tol && (f.upper + k.lower).abs() <= tol);
        }

        #[test]
        fn disparity_functions_never_panic(a in proptest::num::u64::ANY, b in proptest::num::u64::ANY,
                                           ta in proptest::num::f64::ANY, tb in proptest::num::f64::ANY,
                                           conf in proptest::num::f64::ANY) {
            let g = RateGroup { events: a, person_time: ta };
            let r = RateGroup { events: b, person_time: tb };
            let _ = rate_ratio(g, r, conf);
            let _ = rate_difference(g, r, conf);
            let pg = ProportionGroup { events: a, denominator: b };
            let _ = risk_ratio(pg, pg, conf);
            let _ = risk_difference(pg, pg, conf);
            if let Ok(s) = SiiGroup::normal(ta, tb, 1.0) {
                let _ = slope_index(&[s, s], SiiInterval::Analytic, conf);
            }
        }
    }
}
