//! SQL helpers the engine registers in every indicator session, so that queries share one
//! definition of age bands, periods and the population at risk: `vigie_age_band(age)`,
//! `vigie_std_age_band(age)`, the `calendar` table (`period_type`, `period_start`,
//! `period_end` exclusive) and the `population_month` view.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Months, NaiveDate};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use vigie_stats::CANADA_2011_STANDARD;

/// The age bands used for stratification.
pub fn age_band(age: i64) -> &'static str {
    vigie_stats::REPORTING_AGE_BANDS.label_of(age)
}

/// The 2011 Canadian standard population band of an age (five-year bands, 90+).
pub fn std_age_band(age: i64) -> &'static str {
    let index = vigie_stats::canada_2011_band_index(age.clamp(0, 120) as u32);
    CANADA_2011_STANDARD
        .get(index)
        .map(|b| b.label)
        .unwrap_or("90+")
}

fn band_udf(name: &str, f: fn(i64) -> &'static str) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let ages = arrays
                .first()
                .ok_or_else(|| DataFusionError::Plan("an age argument is required".into()))?;
            let ages = cast(ages, &DataType::Int64)?;
            let ages = ages
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| DataFusionError::Internal("age is not an integer".into()))?;
            let out: StringArray = ages.iter().map(|a| a.map(f)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

/// Period boundaries covering `[from, to)`.
pub fn periods(kind: &str, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let step = match kind {
        "month" => 1,
        "quarter" => 3,
        _ => 12,
    };
    let first = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    let first = match kind {
        "quarter" => NaiveDate::from_ymd_opt(first.year(), (first.month() - 1) / 3 * 3 + 1, 1)
            .unwrap_or(first),
        "year" => NaiveDate::from_ymd_opt(first.year(), 1, 1).unwrap_or(first),
        _ => first,
    };
    let mut out = Vec::new();
    let mut start = first;
    while start < to {
        let Some(end) = start.checked_add_months(Months::new(step)) else {
            break;
        };
        out.push((start, end));
        start = end;
    }
    out
}

fn day(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

/// Registers the helper functions and the calendar of `[from, to)`.
pub fn register(
    ctx: &SessionContext,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), DataFusionError> {
    ctx.register_udf(band_udf("vigie_age_band", age_band));
    ctx.register_udf(band_udf("vigie_std_age_band", std_age_band));
    let mut kinds = Vec::new();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for kind in ["month", "quarter", "year"] {
        for (s, e) in periods(kind, from, to) {
            kinds.push(kind);
            starts.push(day(s));
            ends.push(day(e));
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("period_type", DataType::Utf8, false),
        Field::new("period_start", DataType::Date32, false),
        Field::new("period_end", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(kinds)),
            Arc::new(Date32Array::from(starts)),
            Arc::new(Date32Array::from(ends)),
        ],
    )?;
    ctx.register_table(
        "calendar",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands() {
        assert_eq!(age_band(17), "0-17");
        assert_eq!(age_band(18), "18-44");
        assert_eq!(age_band(64), "45-64");
        assert_eq!(age_band(80), "80+");
        assert_eq!(std_age_band(0), "0-4");
        assert_eq!(std_age_band(94), "90+");
    }

    #[test]
    fn quarters_cover_the_range() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        let q = periods("quarter", d(2023, 2, 10), d(2023, 10, 1));
        assert_eq!(
            q,
            vec![
                (d(2023, 1, 1), d(2023, 4, 1)),
                (d(2023, 4, 1), d(2023, 7, 1)),
                (d(2023, 7, 1), d(2023, 10, 1))
            ]
        );
        assert_eq!(periods("month", d(2023, 1, 1), d(2023, 3, 1)).len(), 2);
    }
}
