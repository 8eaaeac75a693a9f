//! From a query's finest cells to result rows: sums (or observations) rolled up to the region
//! and each team, for the total and each stratum, then values and 95% intervals.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use vigie_stats::{
    CANADA_2011_STANDARD, dsr_canada_2011, dsr_canada_2011_up_to, median, percentile_90,
    poisson_ci, wilson_ci,
};

use vigie_disclosure::ALL;

use crate::catalogue::{IndicatorMeta, Method};
use crate::error::IndicatorError;

const CONFIDENCE: f64 = 0.95;

/// One aggregated cell before SPC and disclosure.
#[derive(Debug, Clone, PartialEq)]
pub struct CellValue {
    pub period_start: NaiveDate,
    /// None: the region.
    pub team: Option<String>,
    pub stratum_dimension: String,
    pub stratum_value: String,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Units behind a sum of non-count quantities (e.g. stays behind ALC days), if given.
    pub cell_count: Option<f64>,
}

/// A sum whose bits do not depend on the order of its terms: the rows of a query arrive in
/// an order that varies with partitioning (a weekly refresh reads fewer files than a full
/// compute), and floating-point addition is not associative. Whole terms (counts, days)
/// add exactly; fractional ones (a survey composite's shares) are kept and added in sorted
/// order.
#[derive(Default)]
struct OrderFreeSum {
    whole: f64,
    fractional: Vec<f64>,
}

impl OrderFreeSum {
    /// Integers up to 2^52 in magnitude, whose sums stay exact up to 2^53 (a count of
    /// every visit of a nation for centuries).
    const EXACT: f64 = 4_503_599_627_370_496.0;

    fn add(&mut self, x: f64) {
        if x.fract() == 0.0 && x.abs() < Self::EXACT {
            self.whole += x;
        } else {
            self.fractional.push(x);
        }
    }

    fn total(&self) -> f64 {
        if self.fractional.is_empty() {
            return self.whole;
        }
        let mut terms = self.fractional.clone();
        terms.sort_unstable_by(f64::total_cmp);
        terms.iter().fold(self.whole, |sum, x| sum + x)
    }
}

#[derive(Default)]
struct Acc {
    numerator: OrderFreeSum,
    denominator: OrderFreeSum,
    cell_count: Option<f64>,
    bands: Vec<(f64, f64)>,
    observations: Vec<f64>,
}

type Key = (i32, Option<String>, usize, String);

fn column(
    batch: &RecordBatch,
    name: &str,
    ty: &DataType,
    indicator: &str,
) -> Result<Option<ArrayRef>, IndicatorError> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(a) => cast(a, ty).map(Some).map_err(|e| {
            IndicatorError::Output(format!(
                "indicator {indicator}: column {name} cannot be read as {ty}: {e}"
            ))
        }),
    }
}

fn required(
    batch: &RecordBatch,
    name: &str,
    ty: &DataType,
    indicator: &str,
) -> Result<ArrayRef, IndicatorError> {
    column(batch, name, ty, indicator)?.ok_or_else(|| {
        IndicatorError::Output(format!(
            "indicator {indicator}: the query returns no `{name}` column"
        ))
    })
}

/// The columns of one batch of a query's output that the method reads.
struct QueryColumns {
    period: ArrayRef,
    team: ArrayRef,
    strata: Vec<ArrayRef>,
    numerator: Option<ArrayRef>,
    denominator: Option<ArrayRef>,
    observation: Option<ArrayRef>,
    std_age_band: Option<ArrayRef>,
    cell_count: Option<ArrayRef>,
}

/// What one output row adds to the cells it belongs to.
struct RowInput {
    numerator: f64,
    denominator: f64,
    observation: Option<f64>,
    cell_count: Option<f64>,
    std_band: Option<usize>,
}

impl QueryColumns {
    fn read(meta: &IndicatorMeta, b: &RecordBatch) -> Result<Self, IndicatorError> {
        let id = meta.id.as_str();
        let float = |name| required(b, name, &DataType::Float64, id);
        let quantile = meta.method.is_quantile();
        Ok(QueryColumns {
            period: required(b, "period_start", &DataType::Date32, id)?,
            team: required(b, "team", &DataType::Utf8, id)?,
            strata: meta
                .strata
                .iter()
                .map(|d| required(b, d.column(), &DataType::Utf8, id))
                .collect::<Result<_, _>>()?,
            numerator: (!quantile).then(|| float("numerator")).transpose()?,
            denominator: (!quantile).then(|| float("denominator")).transpose()?,
            observation: quantile.then(|| float("observation")).transpose()?,
            std_age_band: (meta.method == Method::DobsonDsr)
                .then(|| required(b, "std_age_band", &DataType::Utf8, id))
                .transpose()?,
            cell_count: column(b, "cell_count", &DataType::Float64, id)?,
        })
    }

    /// Row `i`'s contribution; `bands` maps a standard band label to its index.
    fn row(
        &self,
        i: usize,
        bands: &BTreeMap<&str, usize>,
        id: &str,
    ) -> Result<RowInput, IndicatorError> {
        let at = |a: &Option<ArrayRef>| -> Option<f64> {
            a.as_ref().and_then(|a| {
                let a = a.as_primitive::<Float64Type>();
                (!a.is_null(i)).then(|| a.value(i))
            })
        };
        let std_band = match &self.std_age_band {
            Some(a) => {
                let a = a.as_string::<i32>();
                let label = if a.is_null(i) { "" } else { a.value(i) };
                Some(*bands.get(label).ok_or_else(|| {
                    IndicatorError::Output(format!("indicator {id}: std_age_band \"{label}\" is not a 2011 standard band (use vigie_std_age_band)"))
                })?)
            }
            None => None,
        };
        Ok(RowInput {
            numerator: at(&self.numerator).unwrap_or(0.0),
            denominator: at(&self.denominator).unwrap_or(0.0),
            observation: at(&self.observation),
            cell_count: at(&self.cell_count),
            std_band,
        })
    }

    /// The stratum values of row `i`: the total, then one per declared dimension.
    fn stratum_values(&self, i: usize) -> impl Iterator<Item = String> + '_ {
        std::iter::once(ALL.to_string()).chain(self.strata.iter().map(move |a| {
            let a = a.as_string::<i32>();
            if a.is_null(i) {
                "unknown".to_string()
            } else {
                a.value(i).to_string()
            }
        }))
    }
}

impl Acc {
    fn add(&mut self, row: &RowInput) {
        self.numerator.add(row.numerator);
        self.denominator.add(row.denominator);
        if let Some(c) = row.cell_count {
            *self.cell_count.get_or_insert(0.0) += c;
        }
        if let Some(o) = row.observation {
            self.observations.push(o);
        }
        if let Some(bi) = row.std_band {
            if self.bands.is_empty() {
                self.bands = vec![(0.0, 0.0); CANADA_2011_STANDARD.len()];
            }
            self.bands[bi].0 += row.numerator;
            self.bands[bi].1 += row.denominator;
        }
    }
}

/// Rolls the query's rows up and computes each cell's value and interval.
pub fn aggregate(
    meta: &IndicatorMeta,
    batches: &[RecordBatch],
) -> Result<Vec<CellValue>, IndicatorError> {
    let id = meta.id.as_str();
    let band_index: BTreeMap<&str, usize> = CANADA_2011_STANDARD
        .iter()
        .enumerate()
        .map(|(i, b)| (b.label, i))
        .collect();
    let mut acc: BTreeMap<Key, Acc> = BTreeMap::new();
    for b in batches {
        let columns = QueryColumns::read(meta, b)?;
        let period = columns.period.as_primitive::<Date32Type>();
        let team = columns.team.as_string::<i32>();
        for i in (0..b.num_rows()).filter(|i| !period.is_null(*i)) {
            let p = period.value(i);
            let row = columns.row(i, &band_index, id)?;
            // Each row counts for its team and for the region, in the total and its strata.
            let own_team = (!team.is_null(i)).then(|| team.value(i).to_string());
            for t in [own_team, None]
                .into_iter()
                .enumerate()
                .filter_map(|(k, t)| (k == 1 || t.is_some()).then_some(t))
            {
                for (dim_i, value) in columns.stratum_values(i).enumerate() {
                    acc.entry((p, t.clone(), dim_i, value))
                        .or_default()
                        .add(&row);
                }
            }
        }
    }
    cells(meta, acc)
}

/// Each accumulated cell's value and interval.
fn cells(meta: &IndicatorMeta, acc: BTreeMap<Key, Acc>) -> Result<Vec<CellValue>, IndicatorError> {
    let dims: Vec<&str> = std::iter::once(ALL)
        .chain(meta.strata.iter().map(|d| d.column()))
        .collect();
    let mut out = Vec::with_capacity(acc.len());
    for ((p, team, dim_i, value), a) in acc {
        if dim_i == 0 && !meta.include_total {
            continue;
        }
        let (numerator, denominator, v, lo, hi) = compute(meta, &a)?;
        out.push(CellValue {
            period_start: NaiveDate::default() + chrono::Duration::days(p as i64),
            team,
            stratum_dimension: dims[dim_i].to_string(),
            stratum_value: value,
            numerator,
            denominator,
            value: v,
            ci_low: lo,
            ci_high: hi,
            cell_count: a.cell_count,
        });
    }
    Ok(out)
}

type Computed = (
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn compute(meta: &IndicatorMeta, a: &Acc) -> Result<Computed, IndicatorError> {
    let m = meta.unit.multiplier();
    let stat =
        |e: vigie_stats::StatsError| IndicatorError::Output(format!("indicator {}: {e}", meta.id));
    let (n, d) = (a.numerator.total(), a.denominator.total());
    Ok(match meta.method {
        Method::Wilson => {
            if d <= 0.0 {
                (Some(n), Some(d), None, None, None)
            } else {
                let ci = wilson_ci(n, d, CONFIDENCE).map_err(stat)?;
                (
                    Some(n),
                    Some(d),
                    Some(m * n / d),
                    Some(m * ci.lower),
                    Some(m * ci.upper),
                )
            }
        }
        Method::PoissonRate => {
            if d <= 0.0 {
                (Some(n), Some(d), None, None, None)
            } else {
                let ci = poisson_ci(n, CONFIDENCE).map_err(stat)?;
                (
                    Some(n),
                    Some(d),
                    Some(m * n / d),
                    Some(m * ci.lower / d),
                    Some(m * ci.upper / d),
                )
            }
        }
        Method::DobsonDsr => {
            let events: Vec<f64> = a.bands.iter().map(|b| b.0).collect();
            let pops: Vec<f64> = a.bands.iter().map(|b| b.1).collect();
            // Bands the indicator covers (all, or those up to its `standard_age_max`).
            let covered = |i: usize| {
                meta.standard_age_max.is_none_or(|max| {
                    CANADA_2011_STANDARD
                        .get(i)
                        .and_then(|b| b.age_to)
                        .is_some_and(|to| to <= max)
                })
            };
            if d <= 0.0
                || events.len() != CANADA_2011_STANDARD.len()
                || pops
                    .iter()
                    .enumerate()
                    .any(|(i, p)| covered(i) && *p <= 0.0)
            {
                // A band without population: the standardised rate is undefined.
                (Some(n), Some(d), None, None, None)
            } else {
                let dsr = match meta.standard_age_max {
                    None => dsr_canada_2011(&events, &pops, m, CONFIDENCE),
                    Some(max) => dsr_canada_2011_up_to(&events, &pops, max, m, CONFIDENCE),
                }
                .map_err(stat)?;
                (Some(n), Some(d), Some(dsr.rate), dsr.lower, dsr.upper)
            }
        }
        Method::RatioOfSums => {
            if d <= 0.0 {
                (Some(n), Some(d), None, None, None)
            } else {
                (Some(n), Some(d), Some(m * n / d), None, None)
            }
        }
        Method::Median | Method::P90 => {
            let count = a.observations.len() as f64;
            if a.observations.is_empty() {
                (Some(0.0), None, None, None, None)
            } else {
                let q = if meta.method == Method::Median {
                    median(&a.observations)
                } else {
                    percentile_90(&a.observations)
                };
                (Some(count), None, Some(q.map_err(stat)?), None, None)
            }
        }
        Method::ProgramEvaluation
        | Method::CaseFinding
        | Method::RateRatio
        | Method::RateDifference
        | Method::RiskRatio
        | Method::RiskDifference
        | Method::SlopeIndex
        | Method::RelativeIndex => {
            return Err(IndicatorError::Internal(format!(
                "indicator {} is built in, not aggregated",
                meta.id
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_have_the_same_bits_whatever_the_order_of_their_terms() {
        let terms = [
            0.1,
            1.0 / 3.0,
            7.0,
            2.0 / 7.0,
            1e-13,
            5.0,
            0.7,
            -0.2,
            1e17 + 0.5,
            -1e17,
        ];
        let sum_of = |order: &[usize]| {
            let mut s = OrderFreeSum::default();
            for i in order {
                s.add(terms[*i]);
            }
            s.total()
        };
        let forward: Vec<usize> = (0..terms.len()).collect();
        let backward: Vec<usize> = forward.iter().rev().copied().collect();
        let shuffled = [3, 8, 0, 6, 1, 9, 4, 2, 7, 5];
        // Plain addition differs between these orders: the sum is order-free, not lucky.
        let plain = |order: &[usize]| order.iter().fold(0.0, |s, i| s + terms[*i]);
        assert_ne!(plain(&forward).to_bits(), plain(&backward).to_bits());
        let bits = sum_of(&forward).to_bits();
        assert_eq!(sum_of(&backward).to_bits(), bits);
        assert_eq!(sum_of(&shuffled).to_bits(), bits);
        // Whole terms are added exactly, in any order.
        let mut counts = OrderFreeSum::default();
        for x in [3.0, 4_000_000_000.0, 1.0] {
            counts.add(x);
        }
        assert_eq!(counts.total(), 4_000_000_004.0);
    }
}
