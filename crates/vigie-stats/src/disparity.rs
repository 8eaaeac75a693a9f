//! Disparity measures: how far a group stands from a reference group, and how
//! steeply a value changes across ordered groups (deprivation quintiles).
//!
//! Pure functions, no configuration. Each pairwise measure compares a
//! `group` against a `reference` (ratio = group / reference, difference =
//! group − reference) and returns an [`Interval`] on the natural scale.
//!
//! # Rates (events / person-time or events / population)
//!
//! * [`rate_ratio`]: the log-normal (Wald on the log scale) interval
//!   `exp(ln RR ± z·sqrt(1/a + 1/b))` (Rothman & Greenland, *Modern
//!   Epidemiology*; Rothman, *Epidemiology: an introduction*, eq. 9-5) when
//!   both groups have at least [`EXACT_RATE_RATIO_BELOW`] events; below that,
//!   the exact conditional interval (given `a + b` events, `a` is binomial;
//!   a Clopper-Pearson interval for `a / (a + b)` mapped back to the ratio,
//!   as R's `poisson.test` does), which stays valid for small counts and for
//!   `a = 0`. The method used is returned with the interval
//!   ([`RateRatioMethod`]). No events in the reference group: the ratio is
//!   infinite and the function returns [`StatsError::Undefined`].
//! * [`rate_difference`]: Wald interval
//!   `(r₁ − r₀) ± z·sqrt(a/T₁² + b/T₀²)` (Rothman, eq. 9-4). Undefined when
//!   neither group has events (the variance estimate is 0).
//!
//! # Proportions (risks)
//!
//! * [`risk_ratio`]: Katz log method
//!   `exp(ln RR ± z·sqrt(1/a − 1/n₁ + 1/b − 1/n₀))` (Katz et al. 1978,
//!   *Biometrics* 34:469; Altman et al., *Statistics with confidence*, 2nd
//!   edn, ch. 7). Undefined when either group has no events.
//! * [`risk_difference`]: Newcombe's hybrid score interval (method 10 of
//!   Newcombe 1998, *Stat Med* 17:873), built on the two Wilson intervals
//!   ([`wilson_ci`]): with `d = p₁ − p₀`,
//!   `lower = d − sqrt((p₁ − l₁)² + (u₀ − p₀)²)`,
//!   `upper = d + sqrt((u₁ − p₁)² + (p₀ − l₀)²)`. Always defined.
//!
//! # Ordered groups: slope and relative index of inequality
//!
//! [`slope_index`] follows Low & Low (2004, *J Public Health* 26:388) as
//! implemented by PHEindicatormethods' `phe_sii` (the OHID Fingertips
//! method). Groups are given in order from the **most disadvantaged** (e.g.
//! deprivation quintile 1) to the least. Each group gets the ridit of its
//! population (the midpoint of its range in the cumulative population share,
//! [`ridits`]); the group values are regressed on the ridits by least squares
//! weighted by population share `a_i`, which is what `phe_sii`'s
//! `lm(y·√a ~ √a + b·√a − 1)` computes. The SII is the fitted value at
//! ridit 1 minus the fitted value at ridit 0 (the slope); the RII is the
//! ratio of those fitted values, `(intercept + SII) / intercept`, as in
//! `phe_sii` (undefined, `None`, when the fitted value at ridit 0 is not
//! positive).
//!
//! Two intervals are offered ([`SiiInterval`]):
//!
//! * `Analytic`: the slope is a fixed linear combination `Σ cᵢ yᵢ` of the
//!   group values, so `Var(SII) = Σ cᵢ² Var(yᵢ)` exactly; `Var(yᵢ)` is the
//!   group's variance on the natural scale (delta method from the log or
//!   logit scale for rates and proportions) and the interval is
//!   `SII ± z·sqrt(Var)`. The RII interval is the delta method on the log
//!   scale. When the values are normal on their own scale this is exactly
//!   the limit `phe_sii`'s simulation converges to.
//! * `Simulation`: `phe_sii`'s Monte Carlo method: each group's value is
//!   drawn from a normal distribution on its transformed scale (identity,
//!   log for rates, logit for proportions) with the group's standard error,
//!   back-transformed, the regression refitted, and the limits are the type-7
//!   quantiles of the simulated SIIs (and RIIs). Deterministic: replicate `r`
//!   draws from its own ChaCha8 stream seeded with `seed` and stream `r`, so
//!   the result depends only on the seed, never on thread count.
//!
//! As in `phe_sii`, a group's standard error on the transformed scale is
//! derived from its 95 % limits, `(t(upper) − t(lower)) / (2·1.959964)`,
//! whatever the confidence level asked for the SII.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dist::z_two_sided;
use crate::error::{
    DisparityMeasure, Result, StatsError, UndefinedReason, check_confidence, check_finite,
    check_non_negative, check_positive,
};
use crate::interval::Interval;
use crate::poisson::{poisson_ci, rate_ratio_ci, rate_ratio_exact_ci};
use crate::proportion::wilson_ci;
use crate::quantile::quantile_sorted;

/// Below this many events in either group, [`rate_ratio`] uses the exact
/// conditional interval instead of the log-normal one (the same threshold
/// PHEindicatormethods uses to switch from exact to Byar's Poisson limits).
pub const EXACT_RATE_RATIO_BELOW: u64 = 10;

/// Events over person-time (or over population) in one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateGroup {
    /// Number of events.
    pub events: u64,
    /// Person-time at risk (or population); must be finite and `> 0`.
    pub person_time: f64,
}

impl RateGroup {
    fn rate(self) -> f64 {
        self.events as f64 / self.person_time
    }

    fn checked(self) -> Result<Self> {
        check_positive("person_time", self.person_time)?;
        Ok(self)
    }
}

/// Events out of a denominator (people at risk) in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProportionGroup {
    /// Number of people with the event.
    pub events: u64,
    /// Number of people at risk; must be `> 0` and `>= events`.
    pub denominator: u64,
}

impl ProportionGroup {
    fn proportion(self) -> f64 {
        self.events as f64 / self.denominator as f64
    }

    fn checked(self) -> Result<Self> {
        check_positive("denominator", self.denominator as f64)?;
        if self.events > self.denominator {
            return Err(StatsError::NumeratorExceedsDenominator {
                numerator: self.events as f64,
                denominator: self.denominator as f64,
            });
        }
        Ok(self)
    }
}

/// Which interval [`rate_ratio`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateRatioMethod {
    /// `exp(ln RR ± z·sqrt(1/a + 1/b))`: both groups have at least
    /// [`EXACT_RATE_RATIO_BELOW`] events.
    LogNormal,
    /// Conditional binomial (Clopper-Pearson) interval: a group has fewer
    /// than [`EXACT_RATE_RATIO_BELOW`] events.
    ExactConditional,
}

/// A rate ratio with its interval and the method that produced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRatio {
    /// Ratio `rate(group) / rate(reference)` with its limits.
    pub interval: Interval,
    /// How the limits were computed.
    pub method: RateRatioMethod,
}

fn undefined(measure: DisparityMeasure, reason: UndefinedReason) -> StatsError {
    StatsError::Undefined { measure, reason }
}

/// Ratio of the group's rate to the reference's rate (see the module docs
/// for the method rule).
///
/// # Errors
/// Non-positive person-time, a bad confidence level, or
/// [`StatsError::Undefined`] when the reference group has no events.
pub fn rate_ratio(group: RateGroup, reference: RateGroup, confidence: f64) -> Result<RateRatio> {
    let (g, r) = (group.checked()?, reference.checked()?);
    check_confidence(confidence)?;
    if r.events == 0 {
        let reason = if g.events == 0 {
            UndefinedReason::NoEventsInEitherGroup
        } else {
            UndefinedReason::NoReferenceEvents
        };
        return Err(undefined(DisparityMeasure::RateRatio, reason));
    }
    if g.events.min(r.events) < EXACT_RATE_RATIO_BELOW {
        let interval =
            rate_ratio_exact_ci(g.events, g.person_time, r.events, r.person_time, confidence)?;
        Ok(RateRatio {
            interval,
            method: RateRatioMethod::ExactConditional,
        })
    } else {
        let interval = rate_ratio_ci(
            g.events as f64,
            g.person_time,
            r.events as f64,
            r.person_time,
            confidence,
        )?;
        Ok(RateRatio {
            interval,
            method: RateRatioMethod::LogNormal,
        })
    }
}

/// Difference `rate(group) − rate(reference)` (per unit of person-time;
/// scale with [`Interval::scaled`]) with the Wald interval.
///
/// # Errors
/// Non-positive person-time, a bad confidence level, or
/// [`StatsError::Undefined`] when neither group has events.
pub fn rate_difference(
    group: RateGroup,
    reference: RateGroup,
    confidence: f64,
) -> Result<Interval> {
    let (g, r) = (group.checked()?, reference.checked()?);
    let z = z_two_sided(confidence)?;
    if g.events == 0 && r.events == 0 {
        return Err(undefined(
            DisparityMeasure::RateDifference,
            UndefinedReason::NoEventsInEitherGroup,
        ));
    }
    let d = g.rate() - r.rate();
    let se =
        (g.events as f64 / g.person_time.powi(2) + r.events as f64 / r.person_time.powi(2)).sqrt();
    Ok(Interval {
        estimate: d,
        lower: d - z * se,
        upper: d + z * se,
    })
}

/// Ratio `p(group) / p(reference)` with the Katz log interval.
///
/// # Errors
/// A zero denominator, events above the denominator, a bad confidence
/// level, or [`StatsError::Undefined`] when either group has no events.
pub fn risk_ratio(
    group: ProportionGroup,
    reference: ProportionGroup,
    confidence: f64,
) -> Result<Interval> {
    let (g, r) = (group.checked()?, reference.checked()?);
    let z = z_two_sided(confidence)?;
    let reason = match (g.events, r.events) {
        (0, 0) => Some(UndefinedReason::NoEventsInEitherGroup),
        (_, 0) => Some(UndefinedReason::NoReferenceEvents),
        (0, _) => Some(UndefinedReason::NoGroupEvents),
        _ => None,
    };
    if let Some(reason) = reason {
        return Err(undefined(DisparityMeasure::RiskRatio, reason));
    }
    let rr = g.proportion() / r.proportion();
    let var = 1.0 / g.events as f64 - 1.0 / g.denominator as f64 + 1.0 / r.events as f64
        - 1.0 / r.denominator as f64;
    // Rounding can leave -1e-17 when both groups are all events.
    let se = var.max(0.0).sqrt();
    Ok(Interval {
        estimate: rr,
        lower: (rr.ln() - z * se).exp(),
        upper: (rr.ln() + z * se).exp(),
    })
}

/// Difference `p(group) − p(reference)` with Newcombe's hybrid score
/// interval (method 10 of Newcombe 1998), from the two Wilson intervals.
///
/// # Errors
/// A zero denominator, events above the denominator, a bad confidence level.
pub fn risk_difference(
    group: ProportionGroup,
    reference: ProportionGroup,
    confidence: f64,
) -> Result<Interval> {
    let (g, r) = (group.checked()?, reference.checked()?);
    let w1 = wilson_ci(g.events as f64, g.denominator as f64, confidence)?;
    let w0 = wilson_ci(r.events as f64, r.denominator as f64, confidence)?;
    let (p1, p0) = (w1.estimate, w0.estimate);
    let d = p1 - p0;
    Ok(Interval {
        estimate: d,
        lower: d - ((p1 - w1.lower).powi(2) + (w0.upper - p0).powi(2)).sqrt(),
        upper: d + ((w1.upper - p1).powi(2) + (p0 - w0.lower).powi(2)).sqrt(),
    })
}

/// Ridit of each group: the midpoint of its range in the cumulative
/// population share, `(P₁ + … + Pᵢ₋₁ + Pᵢ/2) / ΣP`, groups in the given order.
///
/// # Errors
/// No group, or a population that is not finite and `> 0`.
pub fn ridits(populations: &[f64]) -> Result<Vec<f64>> {
    if populations.is_empty() {
        return Err(StatsError::TooFew {
            what: "ridit populations",
            needed: 1,
            got: 0,
        });
    }
    for &p in populations {
        check_positive("population", p)?;
    }
    let total: f64 = populations.iter().sum();
    let mut below = 0.0;
    Ok(populations
        .iter()
        .map(|&p| {
            let mid = (below + p / 2.0) / total;
            below += p;
            mid
        })
        .collect())
}

/// Scale on which a group's sampling distribution is taken as normal
/// (`value_type` 0, 1 and 2 of `phe_sii`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiiScale {
    /// The value itself (life expectancy, a mean, ...).
    Identity,
    /// The log of the value (rates).
    Log,
    /// The logit of the value (proportions).
    Logit,
}

impl SiiScale {
    fn forward(self, v: f64) -> f64 {
        match self {
            Self::Identity => v,
            Self::Log => v.ln(),
            Self::Logit => (v / (1.0 - v)).ln(),
        }
    }

    fn back(self, t: f64) -> f64 {
        match self {
            Self::Identity => t,
            Self::Log => t.exp(),
            Self::Logit => 1.0 / (1.0 + (-t).exp()),
        }
    }

    /// Derivative of the back-transform at the value (delta method).
    fn slope_at(self, v: f64) -> f64 {
        match self {
            Self::Identity => 1.0,
            Self::Log => v,
            Self::Logit => v * (1.0 - v),
        }
    }
}

/// One ordered group entering [`slope_index`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiiGroup {
    /// Population of the group (weights and ridits); finite and `> 0`.
    pub population: f64,
    /// The group's value on the natural scale (rate, proportion, ...).
    pub value: f64,
    /// Standard error of the value on `scale` (not on the natural scale
    /// unless `scale` is [`SiiScale::Identity`]).
    pub standard_error: f64,
    /// Scale on which the value is normal.
    pub scale: SiiScale,
}

/// Error for a group whose value sits where the log/logit is infinite.
fn boundary() -> StatsError {
    undefined(
        DisparityMeasure::SlopeIndex,
        UndefinedReason::ValueOnScaleBoundary,
    )
}

/// Standard error on the transformed scale from 95 % limits, as `phe_sii` does.
fn se_from_95(scale: SiiScale, lower: f64, upper: f64) -> Result<f64> {
    let z95 = z_two_sided(0.95)?;
    let se = (scale.forward(upper) - scale.forward(lower)) / (2.0 * z95);
    if se.is_finite() {
        Ok(se)
    } else {
        Err(boundary())
    }
}

impl SiiGroup {
    /// A value that is normal on its own scale, with its standard error.
    ///
    /// # Errors
    /// Non-positive population, non-finite value, negative standard error.
    pub fn normal(population: f64, value: f64, standard_error: f64) -> Result<Self> {
        Self {
            population,
            value,
            standard_error,
            scale: SiiScale::Identity,
        }
        .checked()
    }

    /// A crude rate `events / population` (per 1; scale the result), log
    /// scale, standard error from the 95 % [`poisson_ci`] limits (exact below
    /// 10 events, Byar's above), as a `phe_rate` + `phe_sii` chain does.
    ///
    /// # Errors
    /// Non-positive population; [`StatsError::Undefined`] when `events == 0`
    /// (the log of a zero rate is undefined: merge groups or use a normal value).
    pub fn rate(events: u64, population: f64) -> Result<Self> {
        check_positive("population", population)?;
        if events == 0 {
            return Err(boundary());
        }
        let ci = poisson_ci(events as f64, 0.95)?;
        Self {
            population,
            value: events as f64 / population,
            standard_error: se_from_95(SiiScale::Log, ci.lower, ci.upper)?,
            scale: SiiScale::Log,
        }
        .checked()
    }

    /// A proportion `events / denominator`, logit scale, standard error from
    /// the 95 % Wilson limits, as a `phe_proportion` + `phe_sii` chain does.
    /// The group's weight is its `denominator`.
    ///
    /// # Errors
    /// Zero denominator, events above it; [`StatsError::Undefined`] when the
    /// proportion is 0 or 1 (its logit is infinite).
    pub fn proportion(events: u64, denominator: u64) -> Result<Self> {
        let g = ProportionGroup {
            events,
            denominator,
        }
        .checked()?;
        if g.events == 0 || g.events == g.denominator {
            return Err(boundary());
        }
        let ci = wilson_ci(events as f64, denominator as f64, 0.95)?;
        Self {
            population: denominator as f64,
            value: g.proportion(),
            standard_error: se_from_95(SiiScale::Logit, ci.lower, ci.upper)?,
            scale: SiiScale::Logit,
        }
        .checked()
    }

    fn checked(self) -> Result<Self> {
        check_positive("population", self.population)?;
        check_finite("value", self.value)?;
        check_non_negative("standard_error", self.standard_error)?;
        let inside = match self.scale {
            SiiScale::Identity => true,
            SiiScale::Log => self.value > 0.0,
            SiiScale::Logit => self.value > 0.0 && self.value < 1.0,
        };
        if inside { Ok(self) } else { Err(boundary()) }
    }

    /// Variance of the value on the natural scale (delta method).
    fn natural_variance(self) -> f64 {
        (self.scale.slope_at(self.value) * self.standard_error).powi(2)
    }
}

/// How [`slope_index`] computes its intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SiiInterval {
    /// Exact variance of the weighted least-squares slope given the groups'
    /// (delta-method) variances; normal interval. Deterministic and instant.
    Analytic,
    /// `phe_sii`'s Monte Carlo interval, seeded (see the module docs).
    Simulation {
        /// Number of simulated data sets (`phe_sii` default 100 000, minimum 1000).
        repetitions: usize,
        /// Seed of the random streams.
        seed: u64,
    },
}

/// Slope and relative index of inequality with their intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlopeIndex {
    /// SII: fitted value at ridit 1 (least disadvantaged end) minus fitted
    /// value at ridit 0 (most disadvantaged end), natural scale of the values.
    pub sii: Interval,
    /// RII: fitted value at ridit 1 over fitted value at ridit 0; `None` when
    /// the fitted value at ridit 0 (or, for the interval, ridit 1) is not positive.
    pub rii: Option<Interval>,
    /// Fitted value at ridit 0 (the regression intercept).
    pub intercept: f64,
}

/// Weighted least-squares weights: `slope = Σ c·y`, `intercept = Σ d·y`.
struct Regression {
    c: Vec<f64>,
    d: Vec<f64>,
}

impl Regression {
    fn new(populations: &[f64]) -> Result<Self> {
        let b = ridits(populations)?;
        let total: f64 = populations.iter().sum();
        let a: Vec<f64> = populations.iter().map(|p| p / total).collect();
        let b_mean: f64 = a.iter().zip(&b).map(|(ai, bi)| ai * bi).sum();
        let sxx: f64 = a
            .iter()
            .zip(&b)
            .map(|(ai, bi)| ai * (bi - b_mean).powi(2))
            .sum();
        let c: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(ai, bi)| ai * (bi - b_mean) / sxx)
            .collect();
        let d = a.iter().zip(&c).map(|(ai, ci)| ai - ci * b_mean).collect();
        Ok(Self { c, d })
    }

    fn fit(&self, y: &[f64]) -> (f64, f64) {
        let dot = |w: &[f64]| w.iter().zip(y).map(|(wi, yi)| wi * yi).sum::<f64>();
        (dot(&self.d), dot(&self.c))
    }
}

/// Slope index of inequality (and relative index) across ordered groups,
/// given from the most disadvantaged to the least (see the module docs).
///
/// # Errors
/// Fewer than 2 groups, an invalid group, a bad confidence level, fewer than
/// 1000 simulation repetitions.
pub fn slope_index(
    groups: &[SiiGroup],
    method: SiiInterval,
    confidence: f64,
) -> Result<SlopeIndex> {
    if groups.len() < 2 {
        return Err(StatsError::TooFew {
            what: "slope index groups",
            needed: 2,
            got: groups.len(),
        });
    }
    let groups: Vec<SiiGroup> = groups.iter().map(|g| g.checked()).collect::<Result<_>>()?;
    let z = z_two_sided(confidence)?;
    let populations: Vec<f64> = groups.iter().map(|g| g.population).collect();
    let reg = Regression::new(&populations)?;
    let values: Vec<f64> = groups.iter().map(|g| g.value).collect();
    let (intercept, sii) = reg.fit(&values);
    let rii_estimate =
        (intercept > 0.0 && intercept + sii > 0.0).then(|| (intercept + sii) / intercept);
    let (sii_interval, rii) = match method {
        SiiInterval::Analytic => analytic(&groups, &reg, z, intercept, sii, rii_estimate),
        SiiInterval::Simulation { repetitions, seed } => simulate(
            &groups,
            &reg,
            repetitions,
            seed,
            confidence,
            sii,
            rii_estimate,
        )?,
    };
    Ok(SlopeIndex {
        sii: sii_interval,
        rii,
        intercept,
    })
}

fn analytic(
    groups: &[SiiGroup],
    reg: &Regression,
    z: f64,
    intercept: f64,
    sii: f64,
    rii: Option<f64>,
) -> (Interval, Option<Interval>) {
    let var: Vec<f64> = groups.iter().map(|g| g.natural_variance()).collect();
    let se_sii = reg
        .c
        .iter()
        .zip(&var)
        .map(|(c, v)| c * c * v)
        .sum::<f64>()
        .sqrt();
    let sii_interval = Interval {
        estimate: sii,
        lower: sii - z * se_sii,
        upper: sii + z * se_sii,
    };
    // ln RII = ln(β₀ + β₁) − ln β₀; both fitted values are linear in y, so the
    // gradient of ln RII with respect to yᵢ is (dᵢ + cᵢ)/(β₀ + β₁) − dᵢ/β₀.
    let rii_interval = rii.map(|rii| {
        let top = intercept + sii;
        let se_log = reg
            .c
            .iter()
            .zip(&reg.d)
            .zip(&var)
            .map(|((c, d), v)| ((d + c) / top - d / intercept).powi(2) * v)
            .sum::<f64>()
            .sqrt();
        Interval {
            estimate: rii,
            lower: rii * (-z * se_log).exp(),
            upper: rii * (z * se_log).exp(),
        }
    });
    (sii_interval, rii_interval)
}

/// Fewest repetitions `phe_sii` accepts.
pub const MIN_SII_REPETITIONS: usize = 1000;

/// One standard normal deviate per call from pairs of Box-Muller draws.
struct Normals<'a> {
    rng: &'a mut ChaCha8Rng,
    spare: Option<f64>,
}

impl Normals<'_> {
    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // 1 - U lies in (0, 1], so its log is finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

fn simulate(
    groups: &[SiiGroup],
    reg: &Regression,
    repetitions: usize,
    seed: u64,
    confidence: f64,
    sii: f64,
    rii: Option<f64>,
) -> Result<(Interval, Option<Interval>)> {
    if repetitions < MIN_SII_REPETITIONS {
        return Err(StatsError::TooFew {
            what: "slope index simulation repetitions",
            needed: MIN_SII_REPETITIONS,
            got: repetitions,
        });
    }
    let centres: Vec<f64> = groups.iter().map(|g| g.scale.forward(g.value)).collect();
    let draws: Vec<(f64, f64)> = (0..repetitions)
        .into_par_iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(r as u64);
            let mut normals = Normals {
                rng: &mut rng,
                spare: None,
            };
            let y: Vec<f64> = groups
                .iter()
                .zip(&centres)
                .map(|(g, m)| g.scale.back(m + g.standard_error * normals.next()))
                .collect();
            let (b0, b1) = reg.fit(&y);
            (b1, (b0 + b1) / b0)
        })
        .collect();
    // An extreme standard error can overflow exp() on the log scale; say so
    // rather than return NaN limits.
    if let Some(bad) = draws.iter().find(|d| !d.0.is_finite()) {
        return Err(StatsError::Numerical(format!(
            "slope index simulation drew a non-finite SII ({}): a group's standard error is too large for its scale",
            bad.0
        )));
    }
    let alpha = 1.0 - confidence;
    let limits = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (
            quantile_sorted(&v, alpha / 2.0),
            quantile_sorted(&v, 1.0 - alpha / 2.0),
        )
    };
    let (lower, upper) = limits(draws.iter().map(|d| d.0).collect());
    let sii_interval = Interval {
        estimate: sii,
        lower,
        upper,
    };
    let rii_interval = rii.and_then(|rii| {
        let ratios: Vec<f64> = draws.iter().map(|d| d.1).collect();
        // A simulated intercept of 0 gives an infinite ratio: no interval then.
        ratios.iter().all(|v| v.is_finite()).then(|| {
            let (lower, upper) = limits(ratios);
            Interval {
                estimate: rii,
                lower,
                upper,
            }
        })
    });
    Ok((sii_interval, rii_interval))
}

#[cfg(test)]
#[path = "disparity_tests.rs"]
mod tests;
