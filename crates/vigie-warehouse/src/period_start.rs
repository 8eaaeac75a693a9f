//! The first day of a period, computed on day numbers.
//!
//! Indicators put events in periods with `CAST(date_trunc('month', arrival) AS DATE)`. For a
//! timestamp, DataFusion truncates in nanoseconds (each value scaled, checked, split into a
//! calendar date and put back together), then the cast splits the result into a date again:
//! 0.21 s and 0.31 s of CPU for the 17M ED visits of a province (29 ns a row, the third most
//! costly step of `ed_visits_per_1000` after its join and grouping). A date column is first
//! cast to a nanosecond timestamp, then truncated, then cast back.
//!
//! This logical optimizer rule replaces the cast of a coarse truncation (day, week, month,
//! quarter, year) of a timestamp without time zone, or of a date, by one function on day
//! numbers: the date's day number (a timestamp's, by floor division), then the period's first
//! day by Howard Hinnant's civil-calendar arithmetic (the algorithm DataFusion's own
//! truncation uses), worked out once per day a batch spans. The projection putting a
//! province's 17M ED visits in months: 503 ms -> 63 ms of CPU; the four rates measured
//! (docs/benchmarks.md) 10-20% faster. Same dates, proleptic Gregorian; outside DataFusion's
//! nanosecond range (before 1677 or after 2262) the truncation it replaces fails, this one
//! gives the date. Truncations with a time zone, finer granularities, and truncations not cast
//! to a date are left as they are.

use std::sync::Arc;

use crate::plan_rewrite::{ExpressionRule, shaped_like_input};
use arrow::array::{Array, ArrayRef, AsArray, Date32Array, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    ArrowTimestampType, DataType, Date32Type, Field, FieldRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err, plan_err};
use datafusion::functions::datetime::date_trunc::DateTruncFunc;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, ExprSchemable, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};

/// The periods whose first day is a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    #[cfg(test)]
    const ALL: [Period; 5] = [
        Period::Day,
        Period::Week,
        Period::Month,
        Period::Quarter,
        Period::Year,
    ];

    /// The period `date_trunc` names `granularity` (any case); None for finer ones.
    fn parse(granularity: &str) -> Option<Self> {
        match granularity.to_ascii_lowercase().as_str() {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            "quarter" => Some(Period::Quarter),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    /// The day number (days since 1970-01-01) of the first day of the period holding `day`.
    /// Weeks begin on Monday, as `date_trunc`'s.
    fn start(self, day: i64) -> i64 {
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday, three days after a Monday.
            Period::Week => day - (day + 3).rem_euclid(7),
            Period::Month => {
                let (_, _, day_of_month) = civil_from_days(day);
                day - (day_of_month - 1)
            }
            Period::Quarter => {
                let (year, month, _) = civil_from_days(day);
                days_from_civil(year, 1 + 3 * ((month - 1) / 3), 1)
            }
            Period::Year => {
                let (year, _, _) = civil_from_days(day);
                days_from_civil(year, 1, 1)
            }
        }
    }
}

/// Day 0 (1970-01-01) counted from 0000-03-01, the start of the March-based era.
const DAYS_EPOCH_SHIFT: i64 = 719_468;
/// Days in 400 years of the proleptic Gregorian calendar.
const DAYS_PER_ERA: i64 = 146_097;

/// Year, month (1-12) and day of month (1-31) of a day number: Howard Hinnant's
/// `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + DAYS_EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so that the leap day ends the year.
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// The day number of a proleptic Gregorian date: Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    era * DAYS_PER_ERA + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year
        - DAYS_EPOCH_SHIFT
}

/// `vigie_period_start(granularity, value)`: the first day of the period holding a date or
/// a timestamp without time zone, as a date. What the rule below puts in place of
/// `CAST(date_trunc(granularity, value) AS DATE)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PeriodStartFunc {
    signature: Signature,
}

impl Default for PeriodStartFunc {
    fn default() -> Self {
        PeriodStartFunc {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// The function's name in plans.
const FUNCTION: &str = "vigie_period_start";

/// The first days of the periods holding `values`, counted in units of which `PER_DAY` make
/// a day (1 for dates); slots `nulls` marks null are left at day 0. The values a batch holds
/// span a few years at most (a province's ED visits: 36 months): the period of each day of
/// the span is worked out once, into a table, and each value is a division by a constant and
/// a look-up (DataFusion's truncation and cast: 29 ns a value; the calendar's arithmetic for
/// each value: 11 ns). Values spread further apart than the batch is long have theirs
/// worked out one by one.
fn period_starts<const PER_DAY: i64>(
    values: &[i64],
    nulls: Option<&NullBuffer>,
    period: Period,
) -> Vec<i32> {
    let day = |v: i64| v.div_euclid(PER_DAY);
    let valid = |at: usize| nulls.is_none_or(|n| n.is_valid(at));
    let (low, high) = values
        .iter()
        .enumerate()
        .filter(|(at, _)| valid(*at))
        .fold((i64::MAX, i64::MIN), |(low, high), (_, &v)| {
            (low.min(v), high.max(v))
        });
    if low > high {
        return vec![0; values.len()];
    }
    let (first, last) = (day(low), day(high));
    let each = |v: i64| day_number(period.start(day(v)));
    if last - first >= values.len().max(4_096) as i64 {
        return values.iter().map(|&v| each(v)).collect();
    }
    let table: Vec<i32> = (first..=last)
        .map(|d| day_number(period.start(d)))
        .collect();
    values
        .iter()
        .enumerate()
        .map(|(at, &v)| {
            if !valid(at) {
                return 0;
            }
            usize::try_from(day(v) - first)
                .ok()
                .and_then(|i| table.get(i).copied())
                .unwrap_or_else(|| each(v))
        })
        .collect()
}

/// The first days of the periods holding timestamps of type `T`.
fn from_timestamps<T: ArrowTimestampType>(values: &dyn Array, period: Period) -> Result<ArrayRef> {
    let values = values.as_primitive::<T>();
    let (v, nulls) = (values.values(), values.nulls());
    let starts = match T::UNIT {
        TimeUnit::Second => period_starts::<86_400>(v, nulls, period),
        TimeUnit::Millisecond => period_starts::<86_400_000>(v, nulls, period),
        TimeUnit::Microsecond => period_starts::<86_400_000_000>(v, nulls, period),
        TimeUnit::Nanosecond => period_starts::<86_400_000_000_000>(v, nulls, period),
    };
    Ok(Arc::new(Date32Array::new(starts.into(), nulls.cloned())))
}

/// A day number as a date (every day of an i64 timestamp is within i32's range; the start of
/// its period is at most a year earlier).
fn day_number(day: i64) -> i32 {
    i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

impl ScalarUDFImpl for PeriodStartFunc {
    fn name(&self) -> &str {
        FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.get(1) {
            Some(DataType::Date32 | DataType::Timestamp(_, None)) => Ok(DataType::Date32),
            other => {
                plan_err!("{FUNCTION} takes a date or a timestamp without time zone, not {other:?}")
            }
        }
    }

    /// Null exactly where the value is: the cast it replaces keeps a column that cannot be
    /// null so, and a plan's schema must not change when the rule rewrites it.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let nullable = args.arg_fields.get(1).is_none_or(|f| f.is_nullable());
        Ok(Arc::new(Field::new(
            self.name(),
            self.return_type(&types)?,
            nullable,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [granularity, value] = args.args.as_slice() else {
            return exec_err!("{FUNCTION} takes two arguments");
        };
        let period = match granularity {
            ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(g))
                | ScalarValue::Utf8View(Some(g))
                | ScalarValue::LargeUtf8(Some(g)),
            ) => Period::parse(g),
            _ => None,
        };
        let Some(period) = period else {
            return exec_err!(
                "{FUNCTION}: the granularity must be day, week, month, quarter or year"
            );
        };
        let is_scalar = matches!(value, ColumnarValue::Scalar(_));
        let values = value.to_array(1)?;
        let starts: ArrayRef = match values.data_type() {
            DataType::Date32 => {
                let dates = values.as_primitive::<Date32Type>();
                let days: Vec<i64> = dates.values().iter().map(|d| i64::from(*d)).collect();
                Arc::new(PrimitiveArray::<Date32Type>::new(
                    period_starts::<1>(&days, dates.nulls(), period).into(),
                    dates.nulls().cloned(),
                ))
            }
            DataType::Timestamp(TimeUnit::Second, None) => {
                from_timestamps::<TimestampSecondType>(&values, period)?
            }
            DataType::Timestamp(TimeUnit::Millisecond, None) => {
                from_timestamps::<TimestampMillisecondType>(&values, period)?
            }
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                from_timestamps::<TimestampMicrosecondType>(&values, period)?
            }
            DataType::Timestamp(TimeUnit::Nanosecond, None) => {
                from_timestamps::<TimestampNanosecondType>(&values, period)?
            }
            other => return exec_err!("{FUNCTION} takes a date or a timestamp, not {other}"),
        };
        shaped_like_input(is_scalar, starts)
    }
}

/// Replaces `CAST(date_trunc(g, value) AS DATE)` by `vigie_period_start(g, value)` where
/// they give the same dates (see the module's documentation).
pub(crate) const RULE: ExpressionRule = ExpressionRule {
    name: "vigie_period_start_dates",
    rewrite: period_start_of,
};

/// `vigie_period_start(g, value)` for `CAST(date_trunc(g, value) AS DATE)` where it applies.
fn period_start_of(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::Cast(Cast {
        expr: truncated,
        field,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    if field.data_type() != &DataType::Date32 {
        return Ok(Transformed::no(expr));
    }
    let Expr::ScalarFunction(ScalarFunction { func, args }) = truncated.as_ref() else {
        return Ok(Transformed::no(expr));
    };
    let [granularity, value] = args.as_slice() else {
        return Ok(Transformed::no(expr));
    };
    let coarse = match granularity {
        Expr::Literal(
            ScalarValue::Utf8(Some(g))
            | ScalarValue::Utf8View(Some(g))
            | ScalarValue::LargeUtf8(Some(g)),
            _,
        ) => Period::parse(g).is_some(),
        _ => false,
    };
    if !coarse || func.inner().downcast_ref::<DateTruncFunc>().is_none() {
        return Ok(Transformed::no(expr));
    }
    // A date reaches `date_trunc` cast to a timestamp: the date itself is what counts.
    let value = match value {
        Expr::Cast(Cast { expr: inner, field })
            if matches!(field.data_type(), DataType::Timestamp(_, None))
                && inner.get_type(schema).ok() == Some(DataType::Date32) =>
        {
            inner.as_ref().clone()
        }
        other => other.clone(),
    };
    // A type that cannot be told (a column of an outer query) is not rewritten.
    if !matches!(
        value.get_type(schema),
        Ok(DataType::Date32 | DataType::Timestamp(_, None))
    ) {
        return Ok(Transformed::no(expr));
    }
    let function = Arc::new(ScalarUDF::new_from_impl(PeriodStartFunc::default()));
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(function, vec![granularity.clone(), value]),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_rewrite::optimized_plan_and_rows as run;
    use arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, Schema};
    use chrono::{Datelike, Duration, NaiveDate};
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    fn epoch() -> NaiveDate {
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
    }

    /// The first day of the period holding `date`, by chrono (an independent calendar).
    fn expected(period: Period, date: NaiveDate) -> NaiveDate {
        let first = |month: u32| NaiveDate::from_ymd_opt(date.year(), month, 1);
        match period {
            Period::Day => Some(date),
            Period::Week => {
                Some(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
            }
            Period::Month => first(date.month()),
            Period::Quarter => first(1 + 3 * ((date.month() - 1) / 3)),
            Period::Year => first(1),
        }
        .unwrap_or_default()
    }

    #[test]
    fn first_days_agree_with_chrono_across_centuries() {
        let periods = Period::ALL;
        // Every day of 1895-2105 (leap years, 1900 and 2100 not leap, 2000 leap), then a
        // stride across twenty thousand years on both sides of the epoch.
        let dense = (-27_000_i64..49_000).collect::<Vec<_>>();
        let sparse = (-3_650_000_i64..3_650_000).step_by(997).collect::<Vec<_>>();
        for day in dense.into_iter().chain(sparse) {
            let date = epoch() + Duration::days(day);
            for period in periods {
                let start = epoch() + Duration::days(period.start(day));
                assert_eq!(start, expected(period, date), "{period:?} of {date}");
            }
        }
    }

    #[test]
    fn starts_looked_up_in_a_table_are_those_worked_out_for_each_value() {
        let periods = Period::ALL;
        const MICROS_PER_DAY: i64 = 86_400_000_000;
        // Close together (the table), in reverse, around midnight before the epoch, spread
        // over centuries (one by one), at i64's ends; with and without nulls.
        let close: Vec<i64> = (-800..800).map(|h| h * 3_600_000_000 * 7 - 1).collect();
        let reversed: Vec<i64> = close.iter().rev().copied().collect();
        let spread: Vec<i64> = (0..400).map(|i| (i - 200) * MICROS_PER_DAY * 400).collect();
        let extremes = vec![i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];
        for values in [close, reversed, spread, extremes] {
            // Every third value null, holding a value far from the others.
            let nulls = NullBuffer::from((0..values.len()).map(|i| i % 3 != 1).collect::<Vec<_>>());
            let with_null_slots: Vec<i64> = values
                .iter()
                .enumerate()
                .map(|(i, v)| if i % 3 == 1 { i64::MAX / 3 } else { *v })
                .collect();
            for period in periods {
                let each = |v: &i64, per_day: i64| day_number(period.start(v.div_euclid(per_day)));
                let expected: Vec<i32> = values.iter().map(|v| each(v, MICROS_PER_DAY)).collect();
                assert_eq!(
                    period_starts::<MICROS_PER_DAY>(&values, None, period),
                    expected,
                    "{period:?}"
                );
                let found = period_starts::<MICROS_PER_DAY>(&with_null_slots, Some(&nulls), period);
                for (i, (f, e)) in found.iter().zip(&expected).enumerate() {
                    if nulls.is_valid(i) {
                        assert_eq!(f, e, "{period:?} at {i}");
                    }
                }
                let days: Vec<i64> = values.iter().map(|v| v / 1_000_000_000_000).collect();
                let expected: Vec<i32> = days.iter().map(|d| each(d, 1)).collect();
                assert_eq!(
                    period_starts::<1>(&days, None, period),
                    expected,
                    "{period:?} of days"
                );
            }
        }
        assert!(period_starts::<1>(&[], None, Period::Month).is_empty());
    }

    /// A session over `events(arrival timestamp µs, admit date, zoned timestamp)` on `days`
    /// (day numbers), with or without the rule.
    fn session_on(with_rule: bool, days: &[i64]) -> SessionContext {
        let mut builder = SessionStateBuilder::new().with_default_features();
        if with_rule {
            builder = builder.with_optimizer_rule(Arc::new(RULE));
        }
        let ctx = SessionContext::new_with_state(builder.build());
        let micros_per_day = 86_400_000_000_i64;
        let mut arrival = Vec::new();
        let mut admit = Vec::new();
        for d in days {
            for offset in [0, 1, micros_per_day - 1] {
                arrival.push(Some(d * micros_per_day + offset));
                admit.push(i32::try_from(*d).ok());
            }
        }
        arrival.push(None);
        admit.push(None);
        let rows = arrival.len();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "arrival",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("admit", DataType::Date32, true),
            Field::new(
                "zoned",
                DataType::Timestamp(TimeUnit::Microsecond, Some("America/Moncton".into())),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows as i64)),
                Arc::new(TimestampMicrosecondArray::from(arrival.clone())),
                Arc::new(Date32Array::from(admit)),
                Arc::new(TimestampMicrosecondArray::from(arrival).with_timezone("America/Moncton")),
            ],
        )
        .expect("batch");
        let table = MemTable::try_new(schema, vec![vec![batch]]).expect("table");
        ctx.register_table("events", Arc::new(table))
            .expect("register");
        ctx
    }

    /// Days around the epoch and far from it (within DataFusion's nanosecond range: 1696 to
    /// 2100), each at a time of day just after midnight and just before the next (a negative
    /// timestamp's day is its floor), and nulls.
    fn session(with_rule: bool) -> SessionContext {
        session_on(
            with_rule,
            &[
                -100_000, -25_567, -366, -1, 0, 1, 59, 10_956, 20_454, 47_541,
            ],
        )
    }

    #[tokio::test]
    async fn casts_of_truncations_give_datafusions_dates_with_one_function() {
        let mut select = Vec::new();
        for (i, g) in ["day", "week", "month", "quarter", "year", "MONTH"]
            .iter()
            .enumerate()
        {
            select.push(format!("CAST(date_trunc('{g}', arrival) AS DATE) AS a{i}"));
            select.push(format!("CAST(date_trunc('{g}', admit) AS DATE) AS d{i}"));
        }
        let sql = format!("SELECT id, {} FROM events ORDER BY id", select.join(", "));
        let (plain_plan, plain) = run(&session(false), &sql).await;
        let (plan, rows) = run(&session(true), &sql).await;
        assert_eq!(rows, plain, "the same dates, nulls included");
        assert!(plain_plan.contains("date_trunc"), "{plain_plan}");
        assert!(
            !plan.contains("date_trunc"),
            "every truncation replaced:\n{plan}"
        );
        assert_eq!(plan.matches(FUNCTION).count(), 12, "{plan}");
        // A spot check against the calendar: 1969-12-31 23:59:59.999999 is in December 1969.
        assert!(rows.contains("| 1969-12-01 "), "{rows}");
    }

    #[tokio::test]
    async fn grouped_periods_keep_their_names_and_counts() {
        // The grouping expression is named by its text: a parent node refers to that name.
        let sql = "SELECT CAST(date_trunc('month', admit) AS DATE), count(*) AS n \
                   FROM events GROUP BY 1 ORDER BY 1";
        let (_, plain) = run(&session(false), sql).await;
        let (plan, rows) = run(&session(true), sql).await;
        assert_eq!(rows, plain);
        assert!(plan.contains(FUNCTION), "{plan}");
    }

    #[tokio::test]
    async fn dates_beyond_the_nanosecond_range_get_their_period() {
        // 1492-10-12 and 2400-02-29: DataFusion's truncation fails on them ("out of range");
        // the dates are still dates.
        let ctx = session_on(true, &[-174_301, 157_113]);
        let sql = "SELECT DISTINCT CAST(date_trunc('month', arrival) AS DATE) AS m, \
                   CAST(date_trunc('quarter', admit) AS DATE) AS q \
                   FROM events WHERE arrival IS NOT NULL ORDER BY m";
        let (_, rows) = run(&ctx, sql).await;
        let lines: Vec<&str> = rows
            .lines()
            .filter(|l| l.starts_with("| 1") || l.starts_with("| 2"))
            .collect();
        assert!(rows.contains("| 1492-10-01 | 1492-10-01 |"), "{rows}");
        assert!(rows.contains("| 2400-02-01 | 2400-01-01 |"), "{rows}");
        assert_eq!(lines.len(), 2, "{rows}");
        let plain = session_on(false, &[-174_301]);
        assert!(
            plain.sql(sql).await.expect("plan").collect().await.is_err(),
            "the truncation replaced fails"
        );
    }

    #[tokio::test]
    async fn a_period_of_a_column_without_nulls_has_none() {
        // As in the rates' queries: months of events stacked on the population's months, a
        // column that cannot be null on both sides. The plan's schema says so before and
        // after the rule, or the query fails to run.
        let schema = Arc::new(Schema::new(vec![Field::new(
            "arrival",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(TimestampMicrosecondArray::from(vec![
                1_700_000_000_000_000_i64,
                -1,
            ]))],
        )
        .expect("batch");
        let sql = "SELECT m, count(*) AS n FROM (\
                   SELECT CAST(date_trunc('month', arrival) AS DATE) AS m FROM visits \
                   UNION ALL SELECT DATE '2023-11-01') GROUP BY m ORDER BY m";
        let mut printed = Vec::new();
        for with_rule in [false, true] {
            let ctx = session(with_rule);
            let table =
                MemTable::try_new(schema.clone(), vec![vec![batch.clone()]]).expect("table");
            ctx.register_table("visits", Arc::new(table))
                .expect("register");
            let frame = ctx.sql(sql).await.expect("plan");
            let field = frame.schema().field(0).clone();
            assert!(!field.is_nullable(), "{field:?}");
            printed.push(run(&ctx, sql).await);
        }
        assert!(printed[1].0.contains(FUNCTION), "{}", printed[1].0);
        assert_eq!(printed[0].1, printed[1].1);
        assert!(
            printed[1].1.contains("| 1969-12-01 | 1 |"),
            "{}",
            printed[1].1
        );
        assert!(
            printed[1].1.contains("| 2023-11-01 | 2 |"),
            "{}",
            printed[1].1
        );
    }

    #[tokio::test]
    async fn zoned_fine_and_uncast_truncations_are_left_alone() {
        for sql in [
            // In a time zone, the period begins at local midnight.
            "SELECT CAST(date_trunc('month', zoned) AS DATE) FROM events",
            // An hour is not a date's period.
            "SELECT CAST(date_trunc('hour', arrival) AS DATE) FROM events",
            // Not cast to a date: a timestamp is asked for.
            "SELECT date_trunc('month', arrival) FROM events",
        ] {
            let (plan, rows) = run(&session(true), sql).await;
            let (_, plain) = run(&session(false), sql).await;
            assert_eq!(rows, plain, "{sql}");
            assert!(!plan.contains(FUNCTION), "{sql}:\n{plan}");
        }
    }
}
