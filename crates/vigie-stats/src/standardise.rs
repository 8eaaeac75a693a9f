//! Directly standardised rates (DSR) with Dobson confidence limits, and the
//! 2011 Canadian standard population.
//!
//! # Method (PHEindicatormethods `phe_dsr`, "Dobson")
//!
//! For strata `i` (age bands) with events `xᵢ`, population `nᵢ` and standard
//! weight `wᵢ` (any positive scale: proportions or a standard population count):
//!
//! ```text
//! DSR    = Σ wᵢ·xᵢ/nᵢ / Σ wᵢ
//! var    = Σ wᵢ²·xᵢ/nᵢ² / (Σ wᵢ)²
//! X      = Σ xᵢ
//! lower  = DSR + sqrt(var / X)·(Byar_lower(X) - X)
//! upper  = DSR + sqrt(var / X)·(Byar_upper(X) - X)
//! ```
//!
//! all multiplied by `multiplier` (100 000 by PHE convention). References:
//! Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991) *Confidence intervals
//! for weighted sums of Poisson parameters*, Stat Med 10:457-462; Breslow &
//! Day (1987) for Byar's limits. As in `phe_dsr`, the confidence limits are
//! not reported (here: `None`) when the total count is below 10.
//!
//! # Canadian 2011 standard population
//!
//! [`CANADA_2011_STANDARD`] embeds the proportions of the 2011 Canadian
//! standard population (Statistics Canada, 2011 Census of Population; the
//! standard CIHI uses for age-standardised rates), 19 five-year bands from
//! 0-4 to 85-89 then 90+.

use crate::error::{Result, StatsError, check_confidence, check_non_negative, check_positive};
use crate::poisson::byar_ci;

/// Minimum total count for which `phe_dsr` reports confidence limits.
pub const DSR_MIN_EVENTS: f64 = 10.0;

/// One stratum (e.g. age band) of a directly standardised rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stratum {
    /// Observed events in the stratum (`>= 0`).
    pub events: f64,
    /// Population (or person-time) at risk in the stratum (`> 0`).
    pub population: f64,
    /// Standard population weight of the stratum (`>= 0`; need not sum to 1).
    pub weight: f64,
}

/// A directly standardised rate with its Dobson confidence limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dsr {
    /// Total events over all strata.
    pub total_events: f64,
    /// Total population over all strata.
    pub total_population: f64,
    /// Directly standardised rate per `multiplier`.
    pub rate: f64,
    /// Lower confidence limit per `multiplier`; `None` when `total_events < 10`.
    pub lower: Option<f64>,
    /// Upper confidence limit per `multiplier`; `None` when `total_events < 10`.
    pub upper: Option<f64>,
}

/// Directly standardised rate with Dobson (Byar-based) confidence limits,
/// following PHEindicatormethods `phe_dsr` (see module docs).
///
/// # Errors
/// Empty input, negative events, non-positive population, negative weight,
/// all weights zero, non-positive multiplier, or a bad confidence level.
pub fn dsr_dobson(strata: &[Stratum], multiplier: f64, confidence: f64) -> Result<Dsr> {
    if strata.is_empty() {
        return Err(StatsError::TooFew {
            what: "strata",
            needed: 1,
            got: 0,
        });
    }
    let multiplier = check_positive("multiplier", multiplier)?;
    check_confidence(confidence)?;
    let (mut sum_w, mut total_x, mut total_n, mut wrate, mut wvar) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for s in strata {
        let x = check_non_negative("events", s.events)?;
        let n = check_positive("population", s.population)?;
        let w = check_non_negative("weight", s.weight)?;
        sum_w += w;
        total_x += x;
        total_n += n;
        wrate += w * x / n;
        wvar += w * w * x / (n * n);
    }
    if sum_w <= 0.0 {
        return Err(StatsError::InvalidArgument(
            "standard weights sum to zero".into(),
        ));
    }
    let value = wrate / sum_w;
    let var = wvar / (sum_w * sum_w);
    let (lower, upper) = if total_x < DSR_MIN_EVENTS {
        (None, None)
    } else {
        let byar = byar_ci(total_x, confidence)?;
        let scale = (var / total_x).sqrt();
        (
            Some((value + scale * (byar.lower - total_x)) * multiplier),
            Some((value + scale * (byar.upper - total_x)) * multiplier),
        )
    };
    Ok(Dsr {
        total_events: total_x,
        total_population: total_n,
        rate: value * multiplier,
        lower,
        upper,
    })
}

/// One band of a standard population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StandardBand {
    /// Label of the band as published ("0-4", ..., "90+").
    pub label: &'static str,
    /// First age of the band (years, inclusive).
    pub age_from: u32,
    /// Last age of the band (years, inclusive); `None` for the open 90+ band.
    pub age_to: Option<u32>,
    /// Proportion of the standard population in the band.
    pub weight: f64,
}

const fn band(
    label: &'static str,
    age_from: u32,
    age_to: Option<u32>,
    weight: f64,
) -> StandardBand {
    StandardBand {
        label,
        age_from,
        age_to,
        weight,
    }
}

/// The 2011 Canadian standard population (Statistics Canada, 2011 Census of
/// Population), as proportions in 19 five-year bands with 90+ last; the
/// standard the Canadian Institute for Health Information (CIHI) uses for
/// age-standardised rates. Values copied from the project's reference file
/// `canada-2011-standard-population.csv` (from the public R implementation
/// `stdpop_Canada_2011`); they sum to 1.
pub const CANADA_2011_STANDARD: [StandardBand; 19] = [
    band("0-4", 0, Some(4), 0.055325),
    band("5-9", 5, Some(9), 0.052736),
    band("10-14", 10, Some(14), 0.055857),
    band("15-19", 15, Some(19), 0.065121),
    band("20-24", 20, Some(24), 0.068506),
    band("25-29", 25, Some(29), 0.068967),
    band("30-34", 30, Some(34), 0.067743),
    band("35-39", 35, Some(39), 0.066176),
    band("40-44", 40, Some(44), 0.069477),
    band("45-49", 45, Some(49), 0.079209),
    band("50-54", 50, Some(54), 0.078366),
    band("55-59", 55, Some(59), 0.068519),
    band("60-64", 60, Some(64), 0.059696),
    band("65-69", 65, Some(69), 0.044613),
    band("70-74", 70, Some(74), 0.033573),
    band("75-79", 75, Some(79), 0.026761),
    band("80-84", 80, Some(84), 0.020406),
    band("85-89", 85, Some(89), 0.012420),
    band("90+", 90, None, 0.006529),
];

/// Index (0-18) of the [`CANADA_2011_STANDARD`] band containing `age_years`.
#[must_use]
pub fn canada_2011_band_index(age_years: u32) -> usize {
    ((age_years / 5) as usize).min(CANADA_2011_STANDARD.len() - 1)
}

/// Directly standardised rate to the 2011 Canadian standard population.
///
/// `events[i]` and `populations[i]` belong to band `i` of
/// [`CANADA_2011_STANDARD`] (0-4, 5-9, ..., 85-89, 90+): both slices must have
/// exactly 19 elements. Uses [`dsr_dobson`].
///
/// # Errors
/// Slices not of length 19, plus everything [`dsr_dobson`] rejects.
pub fn dsr_canada_2011(
    events: &[f64],
    populations: &[f64],
    multiplier: f64,
    confidence: f64,
) -> Result<Dsr> {
    let n = CANADA_2011_STANDARD.len();
    crate::error::check_same_len("events", events.len(), "standard bands", n)?;
    crate::error::check_same_len("populations", populations.len(), "standard bands", n)?;
    let strata: Vec<Stratum> = CANADA_2011_STANDARD
        .iter()
        .zip(events.iter().zip(populations))
        .map(|(b, (&x, &p))| Stratum {
            events: x,
            population: p,
            weight: b.weight,
        })
        .collect();
    dsr_dobson(&strata, multiplier, confidence)
}

/// [`dsr_canada_2011`] for an indicator covering ages up to `age_max` only (e.g. 74 for
/// "younger than 75"): the standard population is cut at that age and its weights
/// renormalised, as age-limited indicators define it. `events` and `populations` still
/// follow the 19 standard bands; the bands past `age_max` are left out. `age_max` must be
/// the last age of a band.
pub fn dsr_canada_2011_up_to(
    events: &[f64],
    populations: &[f64],
    age_max: u32,
    multiplier: f64,
    confidence: f64,
) -> Result<Dsr> {
    let n = CANADA_2011_STANDARD.len();
    crate::error::check_same_len("events", events.len(), "standard bands", n)?;
    crate::error::check_same_len("populations", populations.len(), "standard bands", n)?;
    if !CANADA_2011_STANDARD
        .iter()
        .any(|b| b.age_to == Some(age_max))
    {
        return Err(StatsError::InvalidArgument(format!(
            "{age_max} is not the last age of a standard band (4, 9, ..., 89)"
        )));
    }
    let strata: Vec<Stratum> = CANADA_2011_STANDARD
        .iter()
        .zip(events.iter().zip(populations))
        .filter(|(b, _)| b.age_to.is_some_and(|to| to <= age_max))
        .map(|(b, (&x, &p))| Stratum {
            events: x,
            population: p,
            weight: b.weight,
        })
        .collect();
    dsr_dobson(&strata, multiplier, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_limited_rate_uses_the_standard_cut_at_its_last_age() {
        // Bands 0-4 .. 70-74 (15 bands) at 2 per 1,000 and 10 per 1,000 above: the rate under
        // 75 is 2 per 1,000 whatever the weights, and the older bands do not count.
        let events: Vec<f64> = (0..19).map(|i| if i < 15 { 20.0 } else { 100.0 }).collect();
        let pops = vec![10_000.0; 19];
        let d = dsr_canada_2011_up_to(&events, &pops, 74, 1000.0, 0.95).expect("dsr");
        close(d.rate, 2.0, 1e-12);
        assert_eq!(d.total_events, 300.0, "15 bands of 20 events");
        // Unequal rates: the weights are the standard's, renormalised over 0-74. By hand:
        // band 0-4 at 5/1000, the other 14 at 1/1000; rate = (w0*5 + (W-w0)*1) / W with
        // w0 = 0.055325 and W the sum of the first 15 weights.
        let mut events = vec![10.0; 19];
        events[0] = 50.0;
        let w: f64 = CANADA_2011_STANDARD[..15].iter().map(|b| b.weight).sum();
        let expected = (0.055325 * 5.0 + (w - 0.055325)) / w;
        let d = dsr_canada_2011_up_to(&events, &pops, 74, 1000.0, 0.95).expect("dsr");
        close(d.rate, expected, 1e-12);
        assert!(dsr_canada_2011_up_to(&events, &pops, 75, 1000.0, 0.95).is_err());
    }

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tol {tol})");
    }

    fn some(v: Option<f64>) -> f64 {
        v.unwrap_or(f64::NAN)
    }

    #[test]
    fn canada_weights_sum_to_one() {
        // Source: Statistics Canada 2011 Census standard population (CIHI);
        // proportions sum to 1.
        let s: f64 = CANADA_2011_STANDARD.iter().map(|b| b.weight).sum();
        assert!((s - 1.0).abs() < 1e-6, "sum = {s}");
        assert_eq!(CANADA_2011_STANDARD.len(), 19);
        assert_eq!(CANADA_2011_STANDARD[0].weight, 0.055325);
        assert_eq!(CANADA_2011_STANDARD[18].label, "90+");
        assert_eq!(canada_2011_band_index(0), 0);
        assert_eq!(canada_2011_band_index(89), 17);
        assert_eq!(canada_2011_band_index(104), 18);
    }

    #[test]
    fn dsr_three_bands_hand_computed() {
        // Hand computation, multiplier 1000, weights sum to 1:
        //   band  x   n     w    x/n   w·x/n   w²·x/n²
        //   1     10  1000  0.5  0.01  0.005   0.25·10/1e6    = 2.5e-6
        //   2     20  2000  0.3  0.01  0.003   0.09·20/4e6    = 4.5e-7
        //   3     30  1500  0.2  0.02  0.004   0.04·30/2.25e6 = 5.3333e-7
        // DSR = 0.012 -> 12.0 per 1000; var = 3.483333e-6; X = 60.
        // Byar(60): lower = 60(1 - 1/540 - 1.959964/(3√60))³ = 45.783760,
        //           upper = 61(1 - 1/549 + 1.959964/(3√61))³ = 77.233224.
        // sqrt(var/X) = 2.4094720e-4.
        // lower = (0.012 + 2.4094720e-4·(45.783760 - 60))·1000 = 8.574637
        // upper = (0.012 + 2.4094720e-4·(77.233224 - 60))·1000 = 16.152297
        let strata = [
            Stratum {
                events: 10.0,
                population: 1000.0,
                weight: 0.5,
            },
            Stratum {
                events: 20.0,
                population: 2000.0,
                weight: 0.3,
            },
            Stratum {
                events: 30.0,
                population: 1500.0,
                weight: 0.2,
            },
        ];
        let d = dsr_dobson(&strata, 1000.0, 0.95).expect("valid");
        close(d.rate, 12.0, 1e-9);
        close(some(d.lower), 8.574637, 1e-5);
        close(some(d.upper), 16.152297, 1e-5);
        assert_eq!(d.total_events, 60.0);
        assert_eq!(d.total_population, 4500.0);
    }

    // Inputs: the esp2013 / testpop / testobs vectors from an early
    // PHEindicatormethods development script (R/phe_DSR.R: "test data").
    const ESP2013: [f64; 19] = [
        5000.0, 5500.0, 5500.0, 5500.0, 6000.0, 6000.0, 6500.0, 7000.0, 7000.0, 7000.0, 7000.0,
        6500.0, 6000.0, 5500.0, 5000.0, 4000.0, 2500.0, 1500.0, 1000.0,
    ];
    const TESTPOP: [f64; 19] = [
        84935.0, 80367.0, 72122.0, 79259.0, 99806.0, 87362.0, 81579.0, 71103.0, 70001.0, 69007.0,
        63203.0, 52638.0, 46087.0, 40887.0, 32604.0, 28399.0, 21625.0, 13021.0, 7355.0,
    ];
    const TESTOBS: [f64; 19] = [
        27.0, 45.0, 55.0, 100.0, 125.0, 300.0, 295.0, 270.0, 275.0, 450.0, 455.0, 459.0, 345.0,
        300.0, 270.0, 265.0, 100.0, 90.0, 35.0,
    ];

    #[test]
    fn dsr_esp2013_independent_computation() {
        // Independent computation (Python, plain formulas of the module docs,
        // not this code): X = 4261, DSR = 464.915651 per 100 000,
        // var = 5.3483746e-9, Byar(4261) = [4134.010262, 4390.899007]
        // -> 95 % [450.688309, 479.468934];
        // 99.8 % (z = 3.090232) -> [442.634562, 487.949978].
        let strata: Vec<Stratum> = (0..19)
            .map(|i| Stratum {
                events: TESTOBS[i],
                population: TESTPOP[i],
                weight: ESP2013[i],
            })
            .collect();
        let d = dsr_dobson(&strata, 100_000.0, 0.95).expect("valid");
        assert_eq!(d.total_events, 4261.0);
        close(d.rate, 464.915651, 1e-5);
        close(some(d.lower), 450.688309, 1e-5);
        close(some(d.upper), 479.468934, 1e-5);
        let d = dsr_dobson(&strata, 100_000.0, 0.998).expect("valid");
        close(some(d.lower), 442.634562, 1e-5);
        close(some(d.upper), 487.949978, 1e-5);
    }

    #[test]
    fn dsr_canada_independent_computation() {
        // Same counts standardised to the Canadian 2011 proportions
        // (independent Python computation): DSR = 445.510442 per 100 000,
        // 95 % [432.015875, 459.314162].
        let d = dsr_canada_2011(&TESTOBS, &TESTPOP, 100_000.0, 0.95).expect("valid");
        close(d.rate, 445.510442, 1e-5);
        close(some(d.lower), 432.015875, 1e-5);
        close(some(d.upper), 459.314162, 1e-5);
    }

    #[test]
    fn dsr_suppresses_limits_below_ten_events() {
        // phe_dsr: "When the total count is < 10 DSRs are not reliable" -> NA.
        let strata = [
            Stratum {
                events: 4.0,
                population: 1000.0,
                weight: 1.0,
            },
            Stratum {
                events: 5.0,
                population: 1000.0,
                weight: 1.0,
            },
        ];
        let d = dsr_dobson(&strata, 1000.0, 0.95).expect("valid");
        close(d.rate, 4.5, 1e-12);
        assert!(d.lower.is_none() && d.upper.is_none());
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(dsr_dobson(&[], 1.0, 0.95).is_err());
        let neg = [Stratum {
            events: -1.0,
            population: 10.0,
            weight: 1.0,
        }];
        assert!(matches!(
            dsr_dobson(&neg, 1.0, 0.95),
            Err(StatsError::Negative { .. })
        ));
        let zero_pop = [Stratum {
            events: 1.0,
            population: 0.0,
            weight: 1.0,
        }];
        assert!(matches!(
            dsr_dobson(&zero_pop, 1.0, 0.95),
            Err(StatsError::NotPositive { .. })
        ));
        let zero_w = [Stratum {
            events: 1.0,
            population: 10.0,
            weight: 0.0,
        }];
        assert!(dsr_dobson(&zero_w, 1.0, 0.95).is_err());
        assert!(matches!(
            dsr_canada_2011(&[1.0; 18], &[1.0; 18], 1.0, 0.95),
            Err(StatsError::LengthMismatch { .. })
        ));
    }
}
