//! Disparity measures between the categories of an equity stratum, as result rows.
//!
//! For an indicator listing `equity: [...]`, each period, org unit and equity stratum gives:
//! for each category other than the reference, the ratio and the difference against the
//! reference (rate ratio/difference for `poisson_rate`, risk ratio/difference for `wilson`),
//! and for an ordered stratum the slope (SII) and relative (RII) index of inequality across
//! all its categories (`stratum_value = all`). They are stored in `indicator_results` under
//! the derived id `<indicator>__<measure>` (e.g. `ed_visits_per_1000__rate_ratio`), the
//! `method` column naming the interval method. Rows whose categories are unknown are not
//! compared (they stay in the indicator's own rows).
//!
//! Disclosure: a derived row is suppressed (`suppressed_input`) when any cell it is computed
//! from is suppressed; it carries no count of its own.

use std::collections::BTreeMap;

use vigie_disclosure::{ALL, CountFields, SuppressionReason};
use vigie_stats::{
    Interval, ProportionGroup, RateGroup, SiiGroup, SiiInterval, rate_difference, rate_ratio,
    risk_difference, risk_ratio, slope_index,
};

use crate::catalogue::{IndicatorMeta, Method};
use crate::results::IndicatorResult;
use crate::strata::StratumDecl;

const CONFIDENCE: f64 = 0.95;

/// Between an indicator id and its measure in a derived id.
pub const SEPARATOR: &str = "__";

/// A disparity measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    /// Category rate / reference rate.
    RateRatio,
    /// Category rate − reference rate, in the indicator's unit.
    RateDifference,
    /// Category proportion / reference proportion.
    RiskRatio,
    /// Category proportion − reference proportion, in percentage points.
    RiskDifference,
    /// Slope index of inequality, in the indicator's unit.
    Sii,
    /// Relative index of inequality.
    Rii,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 6] = [
        Measure::RateRatio,
        Measure::RateDifference,
        Measure::RiskRatio,
        Measure::RiskDifference,
        Measure::Sii,
        Measure::Rii,
    ];

    /// The suffix of the derived id.
    pub fn suffix(self) -> &'static str {
        match self {
            Measure::RateRatio => "rate_ratio",
            Measure::RateDifference => "rate_difference",
            Measure::RiskRatio => "risk_ratio",
            Measure::RiskDifference => "risk_difference",
            Measure::Sii => "sii",
            Measure::Rii => "rii",
        }
    }

    /// The interval method stored in `method`.
    pub fn method(self) -> Method {
        match self {
            Measure::RateRatio => Method::RateRatio,
            Measure::RateDifference => Method::RateDifference,
            Measure::RiskRatio => Method::RiskRatio,
            Measure::RiskDifference => Method::RiskDifference,
            Measure::Sii => Method::SlopeIndex,
            Measure::Rii => Method::RelativeIndex,
        }
    }
}

/// The id of `measure` of indicator `base`.
pub fn derived_id(base: &str, measure: Measure) -> String {
    format!("{base}{SEPARATOR}{}", measure.suffix())
}

/// The indicator and measure a derived id names, if it is one.
pub fn split_derived(id: &str) -> Option<(&str, Measure)> {
    let (base, suffix) = id.rsplit_once(SEPARATOR)?;
    Measure::ALL
        .into_iter()
        .find(|m| m.suffix() == suffix)
        .map(|m| (base, m))
}

/// A derived row and the rows (indices into the base rows) it is computed from.
pub(crate) struct Derived {
    pub result: IndicatorResult,
    pub contributors: Vec<usize>,
}

/// The base rows of one period, org unit and stratum dimension: category -> row index.
type Groups = BTreeMap<(String, chrono::NaiveDate, String, String), BTreeMap<String, usize>>;

/// The disparity rows of `meta` (its `equity` strata, as declared) over its base `rows`.
pub(crate) fn derive(
    meta: &IndicatorMeta,
    decls: &[&StratumDecl],
    rows: &[IndicatorResult],
) -> Vec<Derived> {
    let rate = match meta.method {
        Method::PoissonRate => true,
        Method::Wilson => false,
        _ => return vec![],
    };
    let mut groups: Groups = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.indicator == meta.id && decls.iter().any(|d| d.id == r.stratum_dimension) {
            groups
                .entry((
                    crate::codes::Code::code(r.period_type).to_string(),
                    r.period_start,
                    r.org_unit.clone(),
                    r.stratum_dimension.clone(),
                ))
                .or_default()
                .insert(r.stratum_value.clone(), i);
        }
    }
    let m = meta.unit.multiplier();
    let mut out = Vec::new();
    for ((.., dim), cats) in groups {
        let Some(decl) = decls.iter().find(|d| d.id == dim) else {
            continue;
        };
        let reference = decl.reference().and_then(|r| cats.get(r).copied());
        for c in &decl.categories {
            if Some(c.code.as_str()) == decl.reference() {
                continue;
            }
            let Some(&gi) = cats.get(&c.code) else {
                continue;
            };
            let contributors: Vec<usize> = [Some(gi), reference].into_iter().flatten().collect();
            let pair = reference.map(|ri| (&rows[gi], &rows[ri]));
            let (ratio, difference) = if rate {
                (Measure::RateRatio, Measure::RateDifference)
            } else {
                (Measure::RiskRatio, Measure::RiskDifference)
            };
            let ratio_value = pair.and_then(|(g, r)| ratio_of(rate, g, r));
            let difference_value =
                pair.and_then(|(g, r)| difference_of(rate, g, r).map(|i| i.scaled(m)));
            for (measure, value) in [(ratio, ratio_value), (difference, difference_value)] {
                out.push(Derived {
                    result: row(&rows[gi], meta, measure, &c.code, value),
                    contributors: contributors.clone(),
                });
            }
        }
        if decl.ordered {
            let idx: Vec<Option<usize>> = decl
                .categories
                .iter()
                .map(|c| cats.get(&c.code).copied())
                .collect();
            let Some(&first) = idx.iter().flatten().next() else {
                continue;
            };
            let contributors: Vec<usize> = idx.iter().flatten().copied().collect();
            let index = idx
                .iter()
                .map(|i| i.and_then(|i| sii_group(rate, &rows[i])))
                .collect::<Option<Vec<_>>>()
                .and_then(|g| slope_index(&g, SiiInterval::Analytic, CONFIDENCE).ok());
            let sii = index.map(|s| s.sii.scaled(m));
            let rii = index.and_then(|s| s.rii);
            for (measure, value) in [(Measure::Sii, sii), (Measure::Rii, rii)] {
                out.push(Derived {
                    result: row(&rows[first], meta, measure, ALL, value),
                    contributors: contributors.clone(),
                });
            }
        }
    }
    out
}

/// A group's events and denominator, when it has a denominator.
fn counts(r: &IndicatorResult) -> Option<(u64, f64)> {
    let (n, d) = (r.numerator?, r.denominator?);
    (n.is_finite() && n >= 0.0 && d.is_finite() && d > 0.0).then(|| (n.round() as u64, d))
}

/// The two groups compared, as rates (events over person-time) or proportions.
enum Pair {
    Rates(RateGroup, RateGroup),
    Proportions(ProportionGroup, ProportionGroup),
}

fn pair(rate: bool, g: &IndicatorResult, r: &IndicatorResult) -> Option<Pair> {
    let ((a, t1), (b, t0)) = (counts(g)?, counts(r)?);
    Some(if rate {
        let group = |events, person_time| RateGroup {
            events,
            person_time,
        };
        Pair::Rates(group(a, t1), group(b, t0))
    } else {
        Pair::Proportions(proportion(a, t1)?, proportion(b, t0)?)
    })
}

fn ratio_of(rate: bool, g: &IndicatorResult, r: &IndicatorResult) -> Option<Interval> {
    match pair(rate, g, r)? {
        Pair::Rates(g, r) => rate_ratio(g, r, CONFIDENCE).ok().map(|x| x.interval),
        Pair::Proportions(g, r) => risk_ratio(g, r, CONFIDENCE).ok(),
    }
}

fn difference_of(rate: bool, g: &IndicatorResult, r: &IndicatorResult) -> Option<Interval> {
    match pair(rate, g, r)? {
        Pair::Rates(g, r) => rate_difference(g, r, CONFIDENCE).ok(),
        Pair::Proportions(g, r) => risk_difference(g, r, CONFIDENCE).ok(),
    }
}

fn proportion(events: u64, denominator: f64) -> Option<ProportionGroup> {
    Some(ProportionGroup {
        events,
        denominator: denominator.round() as u64,
    })
}

fn sii_group(rate: bool, r: &IndicatorResult) -> Option<SiiGroup> {
    let (a, d) = counts(r)?;
    if rate {
        SiiGroup::rate(a, d).ok()
    } else {
        SiiGroup::proportion(a, d.round() as u64).ok()
    }
}

/// A derived row shaped on the base row `base` (its period and org unit).
fn row(
    base: &IndicatorResult,
    meta: &IndicatorMeta,
    measure: Measure,
    value: &str,
    interval: Option<Interval>,
) -> IndicatorResult {
    IndicatorResult {
        indicator: derived_id(&meta.id, measure),
        stratum_value: value.to_string(),
        numerator: None,
        denominator: None,
        value: interval.map(|i| i.estimate),
        ci_low: interval.map(|i| i.lower),
        ci_high: interval.map(|i| i.upper),
        method: measure.method(),
        target: None,
        target_status: None,
        spc_centre: None,
        spc_lower: None,
        spc_upper: None,
        spc_signal: None,
        suppression_reason: None,
        count_fields: CountFields::NONE,
        min_denominator: None,
        additive: false,
        ..base.clone()
    }
}

/// Suppresses each derived row (`rows[first..]`, in the order of `contributors`) computed
/// from a suppressed base row; returns how many.
pub(crate) fn suppress_derived(
    rows: &mut [IndicatorResult],
    first: usize,
    contributors: &[Vec<usize>],
) -> usize {
    let mut n = 0;
    for (k, from) in contributors.iter().enumerate() {
        if from.iter().any(|&i| rows[i].is_suppressed()) {
            rows[first + k].suppression_reason = Some(SuppressionReason::SuppressedInput);
            n += 1;
        }
    }
    n
}
