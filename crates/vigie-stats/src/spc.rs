//! Statistical process control (SPC) following NHS England's *Making Data
//! Count* guidance and the conventions of the R package NHSRplotthedots.
//!
//! # Charts
//!
//! * [`xmr_chart`]: XmR (individuals) chart. Centre = mean; limits =
//!   mean ± 2.66 × mean moving range (MR̄). With `screen_outliers` (the
//!   NHSRplotthedots default) moving ranges **not below** 3.267 × MR̄ are
//!   removed and MR̄ recomputed before the limits are set. The 2-sigma lines
//!   are mean ± (2/3)·2.66·MR̄.
//! * [`p_chart`]: proportion chart; p̄ = Σx / Σn, limits for point i are
//!   p̄ ± k·sqrt(p̄(1 - p̄)/nᵢ) (k = 3 and 2), clamped to [0, 1].
//! * [`u_chart`]: rate chart; ū = Σx / Σn, limits ū ± k·sqrt(ū/nᵢ), lower
//!   clamped at 0.
//!
//! With `baseline_points = Some(k)` the centre and limits are computed from
//! the first `k` points only and applied to all points (NHSRplotthedots'
//! `fix_after_n_points`).
//!
//! # Signal rules (each configurable through [`SpcOptions`])
//!
//! 1. **Beyond limits**: a point above the upper or below the lower 3-sigma limit.
//! 2. **Run (shift)**: `run_length` (default 7) or more consecutive points on
//!    the same side of the centre line; a point exactly on the centre line
//!    breaks the run. Every point of the run is flagged.
//! 3. **Trend**: `trend_length` (default 6, as in Making Data Count; set 7 to
//!    match NHSRplotthedots) or more consecutive points each strictly higher
//!    (or each strictly lower) than the one before. Every point of the trend is flagged.
//! 4. **Two of three**: two (or three) of three consecutive points beyond the
//!    same 2-sigma line (points beyond the 3-sigma limit count too). The
//!    points beyond the 2-sigma line are flagged. (NHSRplotthedots
//!    additionally requires the third point to be on the same side of the
//!    centre line.)
//!
//! A point flagged by several rules takes its direction from the first of:
//! beyond limits, trend, two of three, run (NHSRplotthedots' precedence).
//! The direction is turned into improvement or concern with the
//! [`ImprovementDirection`] of the indicator.
//!
//! # Run charts (Anhøj rules)
//!
//! [`anhoej_run_chart`] applies the Anhøj rules around the median: an
//! unusually long run (longest run > round(log₂ n) + 3) or too few crossings
//! (crossings < `qbinom(0.05, n - 1, 0.5)`), where n counts the points not on
//! the median (Anhøj J, Olesen AV (2014) *Run charts revisited*, PLoS ONE
//! 9(11): e113825).

use crate::dist::qbinom;
use crate::error::{Result, StatsError, check_non_negative, check_positive, check_same_len};

/// XmR limit constant (3 / d₂ with d₂ = 1.128).
pub const XMR_LIMIT: f64 = 2.66;
/// Moving-range screening constant (D₄ for n = 2).
pub const MR_SCREEN: f64 = 3.267;

/// Which direction of change is an improvement for the indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImprovementDirection {
    /// Higher values are better (e.g. % seen within target).
    HigherIsBetter,
    /// Lower values are better (e.g. days waited).
    LowerIsBetter,
    /// No preferred direction.
    Neither,
}

/// Options of the SPC charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpcOptions {
    /// Minimum number of consecutive points on one side of the centre line (default 7).
    pub run_length: usize,
    /// Minimum number of consecutive increasing (or decreasing) points (default 6).
    pub trend_length: usize,
    /// Screen large moving ranges before computing XmR limits (default true).
    pub screen_outliers: bool,
    /// Compute centre and limits from the first `k` points only (default `None`: all).
    pub baseline_points: Option<usize>,
}

impl Default for SpcOptions {
    fn default() -> Self {
        Self {
            run_length: 7,
            trend_length: 6,
            screen_outliers: true,
            baseline_points: None,
        }
    }
}

/// Which rules flag a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signals {
    /// Beyond a 3-sigma limit.
    pub beyond_limits: bool,
    /// Part of a run on one side of the centre line.
    pub run: bool,
    /// Part of a trend of increasing or decreasing points.
    pub trend: bool,
    /// Part of "two of three beyond 2 sigma".
    pub two_of_three: bool,
}

impl Signals {
    /// Whether any rule flags the point.
    #[must_use]
    pub fn any(&self) -> bool {
        self.beyond_limits || self.run || self.trend || self.two_of_three
    }
}

/// Classification of a point (Making Data Count variation icons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variation {
    /// No rule flags the point.
    CommonCause,
    /// Special cause in the direction of improvement.
    SpecialCauseImprovement,
    /// Special cause in the direction of concern.
    SpecialCauseConcern,
    /// Special cause upwards, for an indicator with no preferred direction.
    SpecialCauseNeitherHigh,
    /// Special cause downwards, for an indicator with no preferred direction.
    SpecialCauseNeitherLow,
}

/// One point of a control chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpcPoint {
    /// The plotted value (XmR: the value; p-chart: xᵢ/nᵢ; u-chart: xᵢ/nᵢ).
    pub value: f64,
    /// Centre line.
    pub centre: f64,
    /// Lower 3-sigma control limit.
    pub lower_limit: f64,
    /// Upper 3-sigma control limit.
    pub upper_limit: f64,
    /// Lower 2-sigma line.
    pub lower_two_sigma: f64,
    /// Upper 2-sigma line.
    pub upper_two_sigma: f64,
    /// Rules that flag the point.
    pub signals: Signals,
    /// Overall classification given the improvement direction.
    pub variation: Variation,
}

/// Kind of control chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Individuals and moving range.
    XmR,
    /// Proportions.
    P,
    /// Rates per unit of exposure.
    U,
}

/// A computed control chart.
#[derive(Debug, Clone, PartialEq)]
pub struct SpcChart {
    /// Kind of chart.
    pub kind: ChartKind,
    /// Centre line (mean, p̄ or ū).
    pub centre: f64,
    /// Mean moving range after screening (XmR only).
    pub mean_moving_range: Option<f64>,
    /// The points, in input order.
    pub points: Vec<SpcPoint>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    High,
    Low,
}

fn validate_options(opts: &SpcOptions, n: usize, min_baseline: usize) -> Result<usize> {
    if opts.run_length < 2 || opts.trend_length < 2 {
        return Err(StatsError::InvalidArgument(
            "run_length and trend_length must be at least 2".into(),
        ));
    }
    match opts.baseline_points {
        None => Ok(n),
        Some(k) if k >= min_baseline && k <= n => Ok(k),
        Some(k) => Err(StatsError::InvalidArgument(format!(
            "baseline_points must be between {min_baseline} and {n}, got {k}"
        ))),
    }
}

/// Centre line and limits of one point: centre, lower and upper 3-sigma limits, lower and
/// upper 2-sigma lines.
type Limits = [f64; 5];

/// Rule 1: beyond the 3-sigma limits.
fn beyond_limits(values: &[f64], limits: &[Limits]) -> Vec<Option<Side>> {
    values
        .iter()
        .zip(limits)
        .map(|(v, [_, lcl, ucl, _, _])| {
            if v > ucl {
                Some(Side::High)
            } else if v < lcl {
                Some(Side::Low)
            } else {
                None
            }
        })
        .collect()
}

/// Rule 2: runs of at least `run_length` points on one side of the centre line.
fn runs(values: &[f64], limits: &[Limits], run_length: usize) -> Vec<Option<Side>> {
    let n = values.len();
    let mut run = vec![None; n];
    let side_of = |i: usize| -> Option<Side> {
        let c = limits[i][0];
        if values[i] > c {
            Some(Side::High)
        } else if values[i] < c {
            Some(Side::Low)
        } else {
            None
        }
    };
    let mut start = 0;
    while start < n {
        let s = side_of(start);
        let mut end = start + 1;
        while end < n && s.is_some() && side_of(end) == s {
            end += 1;
        }
        if s.is_some() && end - start >= run_length {
            for r in &mut run[start..end] {
                *r = s;
            }
        }
        start = end;
    }
    run
}

/// Rule 3: trends, strictly monotone sequences of at least `trend_length` points.
fn trends(values: &[f64], trend_length: usize) -> Vec<Option<Side>> {
    let n = values.len();
    let mut trend = vec![None; n];
    for (sign, side) in [(1.0, Side::High), (-1.0, Side::Low)] {
        let rising = |k: usize| sign * (values[k + 1] - values[k]) > 0.0;
        let mut i = 0;
        while i + 1 < n {
            if !rising(i) {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j + 1 < n && rising(j) {
                j += 1;
            }
            // Points i..=j form a monotone sequence.
            if j - i + 1 >= trend_length {
                for (k, t) in trend.iter_mut().enumerate().take(j + 1).skip(i) {
                    // A turning point shared by a falling and a rising trend takes
                    // the later trend's direction (NHSRplotthedots: "use right side").
                    if t.is_none() || k == i {
                        *t = Some(side);
                    }
                }
            }
            i = j;
        }
    }
    trend
}

/// Rule 4: two of three consecutive points beyond the same 2-sigma line.
fn two_of_three(values: &[f64], limits: &[Limits]) -> Vec<Option<Side>> {
    let n = values.len();
    let mut two3 = vec![None; n];
    for w in 0..n.saturating_sub(2) {
        for side in [Side::High, Side::Low] {
            let beyond2 = |i: usize| match side {
                Side::High => values[i] > limits[i][4],
                Side::Low => values[i] < limits[i][3],
            };
            let hits = (w..w + 3).filter(|&i| beyond2(i)).count();
            if hits >= 2 {
                for (i, flag) in two3.iter_mut().enumerate().skip(w).take(3) {
                    if beyond2(i) {
                        *flag = Some(side);
                    }
                }
            }
        }
    }
    two3
}

/// The variation a flagged side means for an indicator improving in `direction`.
fn variation(side: Option<Side>, direction: ImprovementDirection) -> Variation {
    match (side, direction) {
        (None, _) => Variation::CommonCause,
        (Some(Side::High), ImprovementDirection::HigherIsBetter)
        | (Some(Side::Low), ImprovementDirection::LowerIsBetter) => {
            Variation::SpecialCauseImprovement
        }
        (Some(Side::High), ImprovementDirection::LowerIsBetter)
        | (Some(Side::Low), ImprovementDirection::HigherIsBetter) => Variation::SpecialCauseConcern,
        (Some(Side::High), ImprovementDirection::Neither) => Variation::SpecialCauseNeitherHigh,
        (Some(Side::Low), ImprovementDirection::Neither) => Variation::SpecialCauseNeitherLow,
    }
}

/// Apply the four rules and classify each point.
fn apply_rules(
    values: &[f64],
    limits: &[Limits],
    opts: &SpcOptions,
    direction: ImprovementDirection,
) -> Vec<SpcPoint> {
    let beyond = beyond_limits(values, limits);
    let run = runs(values, limits, opts.run_length);
    let trend = trends(values, opts.trend_length);
    let two3 = two_of_three(values, limits);
    (0..values.len())
        .map(|i| {
            let [centre, lcl, ucl, l2, u2] = limits[i];
            let signals = Signals {
                beyond_limits: beyond[i].is_some(),
                run: run[i].is_some(),
                trend: trend[i].is_some(),
                two_of_three: two3[i].is_some(),
            };
            // Precedence of the side a point is flagged on: limits, trend, 2-of-3, run.
            let side = beyond[i].or(trend[i]).or(two3[i]).or(run[i]);
            SpcPoint {
                value: values[i],
                centre,
                lower_limit: lcl,
                upper_limit: ucl,
                lower_two_sigma: l2,
                upper_two_sigma: u2,
                signals,
                variation: variation(side, direction),
            }
        })
        .collect()
}

/// XmR (individuals) chart with Making Data Count rules (see module docs).
///
/// # Errors
/// Fewer than 2 values (or baseline points), a non-finite value, or invalid options.
pub fn xmr_chart(
    values: &[f64],
    opts: &SpcOptions,
    direction: ImprovementDirection,
) -> Result<SpcChart> {
    if values.len() < 2 {
        return Err(StatsError::TooFew {
            what: "XmR chart values",
            needed: 2,
            got: values.len(),
        });
    }
    for &v in values {
        crate::error::check_finite("value", v)?;
    }
    let k = validate_options(opts, values.len(), 2)?;
    let base = &values[..k];
    let mean = base.iter().sum::<f64>() / k as f64;
    let mrs: Vec<f64> = base.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mut amr = mrs.iter().sum::<f64>() / mrs.len() as f64;
    if opts.screen_outliers {
        let kept: Vec<f64> = mrs
            .iter()
            .copied()
            .filter(|&m| m < MR_SCREEN * amr)
            .collect();
        // If every moving range is 0 nothing is "below" the threshold: keep MR̄ = 0.
        if !kept.is_empty() {
            amr = kept.iter().sum::<f64>() / kept.len() as f64;
        }
    }
    let (l3, l2) = (XMR_LIMIT * amr, 2.0 / 3.0 * XMR_LIMIT * amr);
    let limits = vec![[mean, mean - l3, mean + l3, mean - l2, mean + l2]; values.len()];
    Ok(SpcChart {
        kind: ChartKind::XmR,
        centre: mean,
        mean_moving_range: Some(amr),
        points: apply_rules(values, &limits, opts, direction),
    })
}

fn check_counts(numerators: &[f64], denominators: &[f64], proportion: bool) -> Result<()> {
    check_same_len(
        "numerators",
        numerators.len(),
        "denominators",
        denominators.len(),
    )?;
    if numerators.is_empty() {
        return Err(StatsError::TooFew {
            what: "chart points",
            needed: 1,
            got: 0,
        });
    }
    for (&x, &n) in numerators.iter().zip(denominators) {
        if proportion {
            crate::proportion::check_proportion(x, n)?;
        } else {
            check_non_negative("count", x)?;
            check_positive("exposure", n)?;
        }
    }
    Ok(())
}

fn attribute_chart(
    kind: ChartKind,
    numerators: &[f64],
    denominators: &[f64],
    opts: &SpcOptions,
    direction: ImprovementDirection,
) -> Result<SpcChart> {
    let proportion = kind == ChartKind::P;
    check_counts(numerators, denominators, proportion)?;
    let k = validate_options(opts, numerators.len(), 1)?;
    let centre = numerators[..k].iter().sum::<f64>() / denominators[..k].iter().sum::<f64>();
    let values: Vec<f64> = numerators
        .iter()
        .zip(denominators)
        .map(|(x, n)| x / n)
        .collect();
    let limits: Vec<[f64; 5]> = denominators
        .iter()
        .map(|&n| {
            let sigma = if proportion {
                (centre * (1.0 - centre) / n).sqrt()
            } else {
                (centre / n).sqrt()
            };
            let hi = |v: f64| if proportion { v.min(1.0) } else { v };
            [
                centre,
                (centre - 3.0 * sigma).max(0.0),
                hi(centre + 3.0 * sigma),
                (centre - 2.0 * sigma).max(0.0),
                hi(centre + 2.0 * sigma),
            ]
        })
        .collect();
    Ok(SpcChart {
        kind,
        centre,
        mean_moving_range: None,
        points: apply_rules(&values, &limits, opts, direction),
    })
}

/// p-chart of `numerators[i] / denominators[i]` with limits that vary with
/// each point's denominator (see module docs). `screen_outliers` is ignored.
///
/// # Errors
/// Empty or mismatched input, negative numerator, non-positive denominator,
/// numerator > denominator, invalid options.
pub fn p_chart(
    numerators: &[f64],
    denominators: &[f64],
    opts: &SpcOptions,
    direction: ImprovementDirection,
) -> Result<SpcChart> {
    attribute_chart(ChartKind::P, numerators, denominators, opts, direction)
}

/// u-chart of `counts[i] / exposures[i]` (rate per unit of exposure; scale
/// the output yourself) with limits that vary with each point's exposure.
///
/// # Errors
/// Empty or mismatched input, negative count, non-positive exposure, invalid options.
pub fn u_chart(
    counts: &[f64],
    exposures: &[f64],
    opts: &SpcOptions,
    direction: ImprovementDirection,
) -> Result<SpcChart> {
    attribute_chart(ChartKind::U, counts, exposures, opts, direction)
}

/// Anhøj thresholds for `n` useful observations (points not on the median).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnhoejThresholds {
    /// Longest run allowed: round(log₂ n) + 3; a longer run signals a shift.
    pub longest_run_max: usize,
    /// Fewest crossings allowed: qbinom(0.05, n - 1, 0.5); fewer signals.
    pub crossings_min: usize,
}

/// Anhøj thresholds for `n_useful` observations.
///
/// # Errors
/// `n_useful == 0`.
pub fn anhoej_thresholds(n_useful: usize) -> Result<AnhoejThresholds> {
    if n_useful == 0 {
        return Err(StatsError::TooFew {
            what: "useful observations",
            needed: 1,
            got: 0,
        });
    }
    // log2 of an integer is never exactly x.5, so rounding mode does not matter.
    let longest_run_max = (n_useful as f64).log2().round() as usize + 3;
    let crossings_min = qbinom(0.05, (n_useful - 1) as u64, 0.5)? as usize;
    Ok(AnhoejThresholds {
        longest_run_max,
        crossings_min,
    })
}

/// Outcome of the Anhøj run-chart analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnhoejResult {
    /// Centre line (the median unless given).
    pub centre: f64,
    /// Points not on the centre line.
    pub n_useful: usize,
    /// Longest run of useful points on one side of the centre line.
    pub longest_run: usize,
    /// Number of times consecutive useful points switch sides.
    pub crossings: usize,
    /// The thresholds for `n_useful`.
    pub thresholds: AnhoejThresholds,
    /// `longest_run > thresholds.longest_run_max`.
    pub shift_signal: bool,
    /// `crossings < thresholds.crossings_min`.
    pub crossings_signal: bool,
}

impl AnhoejResult {
    /// Whether either rule signals non-random variation.
    #[must_use]
    pub fn signal(&self) -> bool {
        self.shift_signal || self.crossings_signal
    }
}

/// Anhøj run-chart rules around `centre` (the median of `values` when `None`).
/// Points exactly on the centre line are ignored (neither break nor extend runs).
///
/// # Errors
/// Empty input, a non-finite value, or all points on the centre line.
pub fn anhoej_run_chart(values: &[f64], centre: Option<f64>) -> Result<AnhoejResult> {
    let centre = match centre {
        Some(c) => {
            if values.is_empty() {
                return Err(StatsError::TooFew {
                    what: "run chart values",
                    needed: 1,
                    got: 0,
                });
            }
            for &v in values {
                crate::error::check_finite("value", v)?;
            }
            crate::error::check_finite("centre", c)?
        }
        None => crate::quantile::median(values)?,
    };
    let sides: Vec<bool> = values
        .iter()
        .filter(|&&v| v != centre)
        .map(|&v| v > centre)
        .collect();
    let thresholds = anhoej_thresholds(sides.len())?;
    let (mut longest, mut current, mut crossings) = (1, 1, 0);
    for w in sides.windows(2) {
        if w[0] == w[1] {
            current += 1;
            longest = longest.max(current);
        } else {
            crossings += 1;
            current = 1;
        }
    }
    Ok(AnhoejResult {
        centre,
        n_useful: sides.len(),
        longest_run: longest,
        crossings,
        thresholds,
        shift_signal: longest > thresholds.longest_run_max,
        crossings_signal: crossings < thresholds.crossings_min,
    })
}

#[cfg(test)]
#[path = "spc_tests.rs"]
mod tests;
