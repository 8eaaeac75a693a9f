//! From a query's finest cells to result rows: sums (or observations) rolled up to the region
//! and each team, for the total and each stratum, then values and 95% intervals.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use vigie_stats::{
    CANADA_2011_STANDARD, dsr_canada_2011, median, percentile_90, poisson_ci, wilson_ci,
};

use crate::catalogue::{IndicatorMeta, Method};
use crate::error::IndicatorError;

/// The code of the whole region in `org_unit`.
pub const REGION: &str = "region";
/// The total stratum.
pub const ALL: &str = "all";
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

#[derive(Default)]
struct Acc {
    numerator: f64,
    denominator: f64,
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

/// Rolls the query's rows up and computes each cell's value and interval.
pub fn aggregate(
    meta: &IndicatorMeta,
    batches: &[RecordBatch],
) -> Result<Vec<CellValue>, IndicatorError> {
    let id = meta.id.as_str();
    let dims: Vec<&str> = std::iter::once(ALL)
        .chain(meta.strata.iter().map(|d| d.column()))
        .collect();
    let band_index: BTreeMap<&str, usize> = CANADA_2011_STANDARD
        .iter()
        .enumerate()
        .map(|(i, b)| (b.label, i))
        .collect();
    let mut acc: BTreeMap<Key, Acc> = BTreeMap::new();
    for b in batches {
        let period = required(b, "period_start", &DataType::Date32, id)?;
        let period = period.as_primitive::<Date32Type>();
        let team = required(b, "team", &DataType::Utf8, id)?;
        let team = team.as_string::<i32>();
        let strata: Vec<ArrayRef> = meta
            .strata
            .iter()
            .map(|d| required(b, d.column(), &DataType::Utf8, id))
            .collect::<Result<_, _>>()?;
        let (num, den, obs) = if meta.method.is_quantile() {
            (
                None,
                None,
                Some(required(b, "observation", &DataType::Float64, id)?),
            )
        } else {
            (
                Some(required(b, "numerator", &DataType::Float64, id)?),
                Some(required(b, "denominator", &DataType::Float64, id)?),
                None,
            )
        };
        let band = if meta.method == Method::DobsonDsr {
            Some(required(b, "std_age_band", &DataType::Utf8, id)?)
        } else {
            None
        };
        let count = column(b, "cell_count", &DataType::Float64, id)?;
        for i in 0..b.num_rows() {
            if period.is_null(i) {
                continue;
            }
            let p = period.value(i);
            let teams = [None, (!team.is_null(i)).then(|| team.value(i).to_string())];
            let f64_at = |a: &Option<ArrayRef>| -> Option<f64> {
                a.as_ref().and_then(|a| {
                    let a = a.as_primitive::<Float64Type>();
                    (!a.is_null(i)).then(|| a.value(i))
                })
            };
            let (n, d, o, c) = (
                f64_at(&num).unwrap_or(0.0),
                f64_at(&den).unwrap_or(0.0),
                f64_at(&obs),
                f64_at(&count),
            );
            let band_i = match &band {
                Some(a) => {
                    let a = a.as_string::<i32>();
                    let label = if a.is_null(i) { "" } else { a.value(i) };
                    Some(*band_index.get(label).ok_or_else(|| {
                        IndicatorError::Output(format!("indicator {id}: std_age_band \"{label}\" is not a 2011 standard band (use vigie_std_age_band)"))
                    })?)
                }
                None => None,
            };
            for t in teams
                .iter()
                .flatten()
                .map(Some)
                .chain(std::iter::once(None))
            {
                for (dim_i, dim) in dims.iter().enumerate() {
                    let value = if dim_i == 0 {
                        ALL.to_string()
                    } else {
                        let a = strata[dim_i - 1].as_string::<i32>();
                        if a.is_null(i) {
                            "unknown".to_string()
                        } else {
                            a.value(i).to_string()
                        }
                    };
                    let _ = dim;
                    let e = acc.entry((p, t.cloned(), dim_i, value)).or_default();
                    e.numerator += n;
                    e.denominator += d;
                    if let Some(c) = c {
                        *e.cell_count.get_or_insert(0.0) += c;
                    }
                    if let Some(o) = o {
                        e.observations.push(o);
                    }
                    if let Some(bi) = band_i {
                        if e.bands.is_empty() {
                            e.bands = vec![(0.0, 0.0); CANADA_2011_STANDARD.len()];
                        }
                        e.bands[bi].0 += n;
                        e.bands[bi].1 += d;
                    }
                }
            }
        }
    }
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
    let (n, d) = (a.numerator, a.denominator);
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
            if d <= 0.0
                || events.len() != CANADA_2011_STANDARD.len()
                || pops.iter().any(|p| *p <= 0.0)
            {
                // A band without population: the standardised rate is undefined.
                (Some(n), Some(d), None, None, None)
            } else {
                let dsr = dsr_canada_2011(&events, &pops, m, CONFIDENCE).map_err(stat)?;
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
        Method::ProgramEvaluation | Method::CaseFinding => {
            return Err(IndicatorError::Internal(format!(
                "indicator {} is built in, not aggregated",
                meta.id
            )));
        }
    })
}
