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
