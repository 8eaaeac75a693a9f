//! Tests of the SPC module against NHSRplotthedots snapshots, published
//! Anhøj thresholds and hand-computed charts.

use super::*;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
}

/// R: `set.seed(123); rnorm(20)` — the data of NHSRplotthedots'
/// tests/testthat/test-ptd_spc_standard.R (values as printed in its snapshot
/// tests/testthat/_snaps/ptd_spc_standard.md).
const RNORM_123: [f64; 20] = [
    -0.56047565,
    -0.23017749,
    1.55870831,
    0.07050839,
    0.12928774,
    1.71506499,
    0.46091621,
    -1.26506123,
    -0.68685285,
    -0.44566197,
    1.22408180,
    0.35981383,
    0.40077145,
    0.11068272,
    -0.55584113,
    1.78691314,
    0.49785048,
    -1.96661716,
    0.70135590,
    -0.47279141,
];

#[test]
fn xmr_matches_nhsrplotthedots_snapshot_screened() {
    // Snapshot r1 (screen_outliers = TRUE): mean_col 0.1416238,
    // lpl -3.01138, upl 3.294627; summary: 20 common-cause points.
    let c = xmr_chart(
        &RNORM_123,
        &SpcOptions::default(),
        ImprovementDirection::HigherIsBetter,
    )
    .expect("valid");
    close(c.centre, 0.1416238, 1e-6);
    let p = c.points[0];
    close(p.lower_limit, -3.01138, 1e-5);
    close(p.upper_limit, 3.294627, 1e-6);
    assert!(
        c.points
            .iter()
            .all(|p| p.variation == Variation::CommonCause)
    );
}

#[test]
fn xmr_matches_nhsrplotthedots_snapshot_outlier() {
    // Same data with y[15] <- 10 (snapshots r2 and r3):
    // screened:   mean 0.6694159, lpl -2.383666, upl 3.722497
    // unscreened: mean 0.6694159, lpl -4.596625, upl 5.935457
    let mut y = RNORM_123;
    y[14] = 10.0;
    let c = xmr_chart(
        &y,
        &SpcOptions::default(),
        ImprovementDirection::HigherIsBetter,
    )
    .expect("valid");
    close(c.centre, 0.6694159, 1e-6);
    close(c.points[0].lower_limit, -2.383666, 1e-6);
    close(c.points[0].upper_limit, 3.722497, 1e-6);
    // The outlier is above the upper limit: special cause, improving upwards.
    assert!(c.points[14].signals.beyond_limits);
    assert_eq!(c.points[14].variation, Variation::SpecialCauseImprovement);
    let opts = SpcOptions {
        screen_outliers: false,
        ..SpcOptions::default()
    };
    let c = xmr_chart(&y, &opts, ImprovementDirection::LowerIsBetter).expect("valid");
    close(c.points[0].lower_limit, -4.596625, 1e-6);
    close(c.points[0].upper_limit, 5.935457, 1e-6);
    assert_eq!(c.points[14].variation, Variation::SpecialCauseConcern);
}

#[test]
fn xmr_trend_hand_computed() {
    // 5 3 4 5 6 7 8 4 5 3: mean 5; moving ranges 2 1 1 1 1 1 4 1 2, MR̄ = 14/9
    // = 1.555556 (none >= 3.267·MR̄ = 5.08); limits 5 ± 2.66·1.555556 =
    // [0.862222, 9.137778]; 2-sigma 5 ± 2.758519. Points 2-7 (3 4 5 6 7 8)
    // rise six times in a row -> trend of 6; no other rule fires
    // (8 is the only point beyond 2 sigma; no run of 7).
    let y = [5.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 4.0, 5.0, 3.0];
    let c = xmr_chart(
        &y,
        &SpcOptions::default(),
        ImprovementDirection::HigherIsBetter,
    )
    .expect("valid");
    close(c.mean_moving_range.unwrap_or(f64::NAN), 14.0 / 9.0, 1e-12);
    close(c.points[0].lower_limit, 0.862222, 1e-6);
    close(c.points[0].upper_limit, 9.137778, 1e-6);
    close(c.points[0].upper_two_sigma, 7.758519, 1e-6);
    for (i, p) in c.points.iter().enumerate() {
        let in_trend = (1..=6).contains(&i);
        assert_eq!(p.signals.trend, in_trend, "point {i}");
        assert!(!p.signals.run && !p.signals.beyond_limits && !p.signals.two_of_three);
        let want = if in_trend {
            Variation::SpecialCauseImprovement
        } else {
            Variation::CommonCause
        };
        assert_eq!(p.variation, want, "point {i}");
    }
    // NHSRplotthedots' 7-point trend: not reached.
    let seven = SpcOptions {
        trend_length: 7,
        ..SpcOptions::default()
    };
    let c = xmr_chart(&y, &seven, ImprovementDirection::HigherIsBetter).expect("valid");
    assert!(c.points.iter().all(|p| !p.signals.trend));
}

/// Baseline of 12 points 0 1 0 1 …: mean 0.5, all moving ranges 1, so MR̄ = 1,
/// limits 0.5 ± 2.66 = [-2.16, 3.16], 2-sigma lines 0.5 ± 1.773333.
fn with_baseline(tail: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = (0..12).map(|i| f64::from(i % 2)).collect();
    v.extend_from_slice(tail);
    v
}

#[test]
fn two_of_three_hand_computed() {
    // After the baseline: 2.5 0.6 2.4 (two of three above 2.273333 -> flag
    // 2.5 and 2.4), 0.5 0.4 0.6, then 2.5 -1.5 0.4 (beyond opposite 2-sigma
    // lines: no signal).
    let y = with_baseline(&[2.5, 0.6, 2.4, 0.5, 0.4, 0.6, 2.5, -1.5, 0.4]);
    let opts = SpcOptions {
        baseline_points: Some(12),
        ..SpcOptions::default()
    };
    let c = xmr_chart(&y, &opts, ImprovementDirection::LowerIsBetter).expect("valid");
    close(c.centre, 0.5, 1e-12);
    close(c.points[20].lower_limit, -2.16, 1e-12);
    close(c.points[20].upper_two_sigma, 0.5 + 2.0 / 3.0 * 2.66, 1e-12);
    for (i, p) in c.points.iter().enumerate() {
        let flagged = i == 12 || i == 14;
        assert_eq!(p.signals.two_of_three, flagged, "point {i}");
        assert_eq!(p.signals.any(), flagged, "point {i}");
        if flagged {
            assert_eq!(p.variation, Variation::SpecialCauseConcern);
        }
    }
}

#[test]
fn run_of_seven_hand_computed() {
    // After the baseline (ending with 1, above 0.5): eight points 0.7-0.9,
    // all above the centre 0.5 -> one run of 9 points (indices 11-19).
    let y = with_baseline(&[0.8, 0.9, 0.7, 0.8, 0.9, 0.7, 0.8, 0.9]);
    let opts = SpcOptions {
        baseline_points: Some(12),
        ..SpcOptions::default()
    };
    let c = xmr_chart(&y, &opts, ImprovementDirection::Neither).expect("valid");
    for (i, p) in c.points.iter().enumerate() {
        let in_run = (11..=19).contains(&i);
        assert_eq!(p.signals.run, in_run, "point {i}");
        let want = if in_run {
            Variation::SpecialCauseNeitherHigh
        } else {
            Variation::CommonCause
        };
        assert_eq!(p.variation, want, "point {i}");
    }
    let long = SpcOptions {
        run_length: 10,
        ..opts
    };
    let c = xmr_chart(&y, &long, ImprovementDirection::Neither).expect("valid");
    assert!(c.points.iter().all(|p| !p.signals.run));
}

#[test]
fn p_chart_hand_computed() {
    // x = 10 12 8 30, n = 100 120 80 100: p̄ = 60/400 = 0.15.
    // σ(n=100) = sqrt(0.15·0.85/100) = 0.0357071 -> [0.0428786, 0.2571214]
    // σ(n=120) = 0.0325960 -> [0.0522120, 0.2477880]
    // σ(n=80)  = 0.0399218 -> [0.0302346, 0.2697654]
    // Point 4 (0.30) is above its upper limit.
    let c = p_chart(
        &[10.0, 12.0, 8.0, 30.0],
        &[100.0, 120.0, 80.0, 100.0],
        &SpcOptions::default(),
        ImprovementDirection::HigherIsBetter,
    )
    .expect("valid");
    close(c.centre, 0.15, 1e-12);
    close(c.points[0].lower_limit, 0.0428786, 1e-6);
    close(c.points[0].upper_limit, 0.2571214, 1e-6);
    close(c.points[1].lower_limit, 0.0522120, 1e-6);
    close(c.points[1].upper_limit, 0.2477880, 1e-6);
    close(c.points[2].lower_limit, 0.0302346, 1e-6);
    close(c.points[2].upper_limit, 0.2697654, 1e-6);
    close(c.points[0].upper_two_sigma, 0.15 + 2.0 * 0.0357071, 1e-6);
    assert!(c.points[3].signals.beyond_limits);
    assert_eq!(c.points[3].variation, Variation::SpecialCauseImprovement);
    assert!(
        c.points[..3]
            .iter()
            .all(|p| p.variation == Variation::CommonCause)
    );
}

#[test]
fn u_chart_hand_computed() {
    // counts 4 9 2 30, exposure 2 3 1 4: ū = 45/10 = 4.5.
    // n=2: σ = 1.5      -> [0 (4.5 - 4.5), 9.0]
    // n=3: σ = 1.224745 -> [0.825765, 8.174235]
    // n=1: σ = 2.121320 -> [0 (clamped from -1.863961), 10.863961]
    // n=4: σ = 1.060660 -> [1.318019, 7.681981]; value 7.5 within.
    let c = u_chart(
        &[4.0, 9.0, 2.0, 30.0],
        &[2.0, 3.0, 1.0, 4.0],
        &SpcOptions::default(),
        ImprovementDirection::LowerIsBetter,
    )
    .expect("valid");
    close(c.centre, 4.5, 1e-12);
    close(c.points[0].lower_limit, 0.0, 1e-9);
    close(c.points[0].upper_limit, 9.0, 1e-9);
    close(c.points[1].lower_limit, 0.825765, 1e-6);
    close(c.points[1].upper_limit, 8.174235, 1e-6);
    close(c.points[2].lower_limit, 0.0, 0.0);
    close(c.points[2].upper_limit, 10.863961, 1e-6);
    close(c.points[3].lower_limit, 1.318019, 1e-6);
    close(c.points[3].upper_limit, 7.681981, 1e-6);
    close(c.points[3].value, 7.5, 1e-12);
    assert!(
        c.points
            .iter()
            .all(|p| p.variation == Variation::CommonCause)
    );
}

#[test]
fn anhoej_thresholds_match_published_table() {
    // Source: shared/reference/README.md (Anhøj & Olesen 2014, PLoS ONE
    // 9(11): e113825, table of critical values):
    // n: longest run allowed, fewest crossings.
    for (n, run, cross) in [
        (10, 6, 2),
        (12, 7, 3),
        (20, 7, 6),
        (24, 8, 8),
        (30, 8, 10),
        (50, 9, 19),
        (100, 10, 41),
    ] {
        let t = anhoej_thresholds(n).expect("valid");
        assert_eq!(t.longest_run_max, run, "n = {n}");
        assert_eq!(t.crossings_min, cross, "n = {n}");
    }
}

#[test]
fn anhoej_run_chart_hand_computed() {
    // 1..10: median 5.5; five below then five above: longest run 5 (<= 6),
    // crossings 1 (< 2) -> crossings signal only.
    let y: Vec<f64> = (1..=10).map(f64::from).collect();
    let r = anhoej_run_chart(&y, None).expect("valid");
    close(r.centre, 5.5, 1e-12);
    assert_eq!((r.n_useful, r.longest_run, r.crossings), (10, 5, 1));
    assert!(!r.shift_signal && r.crossings_signal && r.signal());
    // 1 5 9 5 2 8: median 5; the two 5s are ignored; useful - + - + (n = 4):
    // longest run 1, crossings 3; thresholds round(log2 4)+3 = 5,
    // qbinom(0.05, 3, 0.5) = 0 -> no signal.
    let r = anhoej_run_chart(&[1.0, 5.0, 9.0, 5.0, 2.0, 8.0], None).expect("valid");
    assert_eq!((r.n_useful, r.longest_run, r.crossings), (4, 1, 3));
    assert_eq!(r.thresholds.longest_run_max, 5);
    assert_eq!(r.thresholds.crossings_min, 0);
    assert!(!r.signal());
}

#[test]
fn bad_input_is_a_typed_error() {
    let d = SpcOptions::default();
    let dir = ImprovementDirection::Neither;
    assert!(matches!(
        xmr_chart(&[1.0], &d, dir),
        Err(StatsError::TooFew { .. })
    ));
    assert!(xmr_chart(&[1.0, f64::NAN], &d, dir).is_err());
    assert!(p_chart(&[3.0], &[2.0], &d, dir).is_err());
    assert!(p_chart(&[1.0, 2.0], &[2.0], &d, dir).is_err());
    assert!(p_chart(&[], &[], &d, dir).is_err());
    assert!(u_chart(&[-1.0], &[2.0], &d, dir).is_err());
    assert!(u_chart(&[1.0], &[0.0], &d, dir).is_err());
    let bad = SpcOptions {
        baseline_points: Some(1),
        ..d
    };
    assert!(xmr_chart(&[1.0, 2.0, 3.0], &bad, dir).is_err());
    assert!(anhoej_run_chart(&[], None).is_err());
    assert!(anhoej_run_chart(&[2.0, 2.0], None).is_err());
    assert!(anhoej_thresholds(0).is_err());
}
