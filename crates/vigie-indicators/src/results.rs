//! `indicator_results`: one long table, one row per indicator x period x org unit x stratum.
//!
//! The table inside the warehouse keeps every number, with the disclosure gate's verdict in
//! `suppressed` / `suppression_reason`. Outputs never read it directly: they call
//! [`published_results`], which clears what is suppressed and checks the result once more.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use vigie_disclosure::{Cell, CountFields, DisclosureConfig, OrgLevel, SuppressionReason};
use vigie_warehouse::{SessionOptions, Warehouse};

use crate::catalogue::{IndicatorDef, IndicatorMeta, Method, PeriodType};
use crate::codes::{Code, SpcSignal, TargetStatus};
use crate::error::IndicatorError;

/// Name of the results table.
pub const RESULTS_TABLE: &str = "indicator_results";
/// Name of the restricted care-coordinator worklist table (never exported).
pub const WORKLIST_TABLE: &str = "worklist";

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorResult {
    /// Indicator id.
    pub indicator: String,
    /// Month, quarter, year or the whole span.
    pub period_type: PeriodType,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: NaiveDate,
    /// Region, team or site.
    pub org_level: OrgLevel,
    /// The org unit's code (`region` for the whole region).
    pub org_unit: String,
    /// The unit above (None for the region).
    pub parent_unit: Option<String>,
    /// `all`, or the stratification dimension (sex, age_band, ...).
    pub stratum_dimension: String,
    /// `all`, or the stratum.
    pub stratum_value: String,
    /// Numerator.
    pub numerator: Option<f64>,
    /// Denominator.
    pub denominator: Option<f64>,
    /// Value in the indicator's unit.
    pub value: Option<f64>,
    /// Lower 95% confidence limit.
    pub ci_low: Option<f64>,
    /// Upper 95% confidence limit.
    pub ci_high: Option<f64>,
    /// Computation method.
    pub method: Method,
    /// Target, if agreed.
    pub target: Option<f64>,
    /// Whether the value meets the target.
    pub target_status: Option<TargetStatus>,
    /// SPC centre line.
    pub spc_centre: Option<f64>,
    /// SPC lower process limit.
    pub spc_lower: Option<f64>,
    /// SPC upper process limit.
    pub spc_upper: Option<f64>,
    /// What the SPC rules say of the point.
    pub spc_signal: Option<SpcSignal>,
    /// Why the disclosure gate suppresses this cell (`None`: published). Stored as the
    /// `suppressed` flag and the `suppression_reason` code.
    pub suppression_reason: Option<SuppressionReason>,
    /// The compute run.
    pub run_id: String,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
    /// Which count fields the gate tests (not stored).
    pub count_fields: CountFields,
    /// Smallest publishable denominator (not stored).
    pub min_denominator: Option<f64>,
    /// Whether cells add up over strata and org units (not stored).
    pub additive: bool,
}

impl IndicatorResult {
    /// Whether the disclosure gate suppresses this cell.
    pub fn is_suppressed(&self) -> bool {
        self.suppression_reason.is_some()
    }

    /// Whether this is the total stratum (not a breakdown by sex, age band, ...).
    pub fn is_total(&self) -> bool {
        self.stratum_dimension == vigie_disclosure::ALL
    }
}

/// Schema of `indicator_results`.
pub fn results_schema() -> SchemaRef {
    let f = |n: &str, t: DataType, null: bool| Field::new(n, t, null);
    Arc::new(Schema::new(vec![
        f("indicator", DataType::Utf8, false),
        f("period_type", DataType::Utf8, false),
        f("period_start", DataType::Date32, false),
        f("period_end", DataType::Date32, false),
        f("org_level", DataType::Utf8, false),
        f("org_unit", DataType::Utf8, false),
        f("parent_unit", DataType::Utf8, true),
        f("stratum_dimension", DataType::Utf8, false),
        f("stratum_value", DataType::Utf8, false),
        f("numerator", DataType::Float64, true),
        f("denominator", DataType::Float64, true),
        f("value", DataType::Float64, true),
        f("ci_low", DataType::Float64, true),
        f("ci_high", DataType::Float64, true),
        f("method", DataType::Utf8, false),
        f("target", DataType::Float64, true),
        f("target_status", DataType::Utf8, true),
        f("spc_centre", DataType::Float64, true),
        f("spc_lower", DataType::Float64, true),
        f("spc_upper", DataType::Float64, true),
        f("spc_signal", DataType::Utf8, true),
        f("suppressed", DataType::Boolean, false),
        f("suppression_reason", DataType::Utf8, true),
        f("run_id", DataType::Utf8, false),
        f(
            "computed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

fn day(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::default()).num_days() as i32
}

fn date(days: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(days as i64)
}

/// Results as one record batch (enums become their codes here, and only here).
pub fn to_batch(rows: &[IndicatorResult]) -> Result<RecordBatch, IndicatorError> {
    let s = |f: fn(&IndicatorResult) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let os = |f: fn(&IndicatorResult) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let n = |f: fn(&IndicatorResult) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        s(|r| &r.indicator),
        s(|r| r.period_type.code()),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| day(r.period_start)),
        )),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|r| day(r.period_end)),
        )),
        s(|r| r.org_level.code()),
        s(|r| &r.org_unit),
        os(|r| r.parent_unit.as_deref()),
        s(|r| &r.stratum_dimension),
        s(|r| &r.stratum_value),
        n(|r| r.numerator),
        n(|r| r.denominator),
        n(|r| r.value),
        n(|r| r.ci_low),
        n(|r| r.ci_high),
        s(|r| r.method.code()),
        n(|r| r.target),
        os(|r| r.target_status.map(Code::code)),
        n(|r| r.spc_centre),
        n(|r| r.spc_lower),
        n(|r| r.spc_upper),
        os(|r| r.spc_signal.map(Code::code)),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.is_suppressed()))
                .collect::<BooleanArray>(),
        ),
        os(|r| r.suppression_reason.map(Code::code)),
        s(|r| &r.run_id),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.computed_at.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
    ];
    Ok(RecordBatch::try_new(results_schema(), columns)?)
}

/// The columns of one batch of `indicator_results`, cast to the canonical schema.
struct Columns<'a> {
    batch: &'a RecordBatch,
    schema: SchemaRef,
}

impl Columns<'_> {
    fn column(&self, name: &str) -> Result<ArrayRef, IndicatorError> {
        let a = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| IndicatorError::StoredValue {
                column: name.to_string(),
                value: "(missing column)".into(),
            })?;
        let t = self.schema.field_with_name(name)?.data_type().clone();
        Ok(cast(a, &t)?)
    }
    fn text(&self, name: &str) -> Result<StringArray, IndicatorError> {
        Ok(self.column(name)?.as_string::<i32>().clone())
    }
    fn number(&self, name: &str) -> Result<Float64Array, IndicatorError> {
        Ok(self
            .column(name)?
            .as_primitive::<arrow::datatypes::Float64Type>()
            .clone())
    }
    fn date(&self, name: &str) -> Result<Date32Array, IndicatorError> {
        Ok(self
            .column(name)?
            .as_primitive::<arrow::datatypes::Date32Type>()
            .clone())
    }
}

/// A coded text column: every value must be a code this version knows.
struct Coded {
    name: &'static str,
    values: StringArray,
}

impl Coded {
    fn read(columns: &Columns<'_>, name: &'static str) -> Result<Self, IndicatorError> {
        Ok(Coded {
            name,
            values: columns.text(name)?,
        })
    }
    fn optional<T: Code>(&self, i: usize) -> Result<Option<T>, IndicatorError> {
        if self.values.is_null(i) {
            return Ok(None);
        }
        let code = self.values.value(i);
        T::from_code(code)
            .map(Some)
            .ok_or_else(|| IndicatorError::StoredValue {
                column: self.name.to_string(),
                value: code.to_string(),
            })
    }
    fn required<T: Code>(&self, i: usize) -> Result<T, IndicatorError> {
        self.optional(i)?
            .ok_or_else(|| IndicatorError::StoredValue {
                column: self.name.to_string(),
                value: "(null)".into(),
            })
    }
}

/// The stored suppression: the flag and the reason must agree (a suppressed cell without a
/// reason, or a reason on a published cell, is an error rather than a guess).
fn suppression(
    flag: bool,
    reason: Option<SuppressionReason>,
) -> Result<Option<SuppressionReason>, IndicatorError> {
    match (flag, reason) {
        (true, Some(r)) => Ok(Some(r)),
        (false, None) => Ok(None),
        (true, None) => Err(IndicatorError::StoredValue {
            column: "suppression_reason".into(),
            value: "(null on a suppressed row)".into(),
        }),
        (false, Some(r)) => Err(IndicatorError::StoredValue {
            column: "suppression_reason".into(),
            value: format!("{} (on a row not suppressed)", r.code()),
        }),
    }
}

/// Reads result rows back from batches of `indicator_results`. A code this version does not
/// know is an error naming the column and value, never a default.
pub fn from_batches(batches: &[RecordBatch]) -> Result<Vec<IndicatorResult>, IndicatorError> {
    let schema = results_schema();
    let mut out = Vec::new();
    for b in batches {
        let c = Columns {
            batch: b,
            schema: schema.clone(),
        };
        let (ind, ou, pu, sd, sv, run) = (
            c.text("indicator")?,
            c.text("org_unit")?,
            c.text("parent_unit")?,
            c.text("stratum_dimension")?,
            c.text("stratum_value")?,
            c.text("run_id")?,
        );
        let (pt, ol, me, ts, sig, sr) = (
            Coded::read(&c, "period_type")?,
            Coded::read(&c, "org_level")?,
            Coded::read(&c, "method")?,
            Coded::read(&c, "target_status")?,
            Coded::read(&c, "spc_signal")?,
            Coded::read(&c, "suppression_reason")?,
        );
        let (ps, pe) = (c.date("period_start")?, c.date("period_end")?);
        let (nu, de, va, lo, hi, ta, sc, sl, su) = (
            c.number("numerator")?,
            c.number("denominator")?,
            c.number("value")?,
            c.number("ci_low")?,
            c.number("ci_high")?,
            c.number("target")?,
            c.number("spc_centre")?,
            c.number("spc_lower")?,
            c.number("spc_upper")?,
        );
        let supp = c.column("suppressed")?.as_boolean().clone();
        let at = c
            .column("computed_at")?
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
            .clone();
        let opt_s = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        let opt_f = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..b.num_rows() {
            out.push(IndicatorResult {
                indicator: ind.value(i).to_string(),
                period_type: pt.required(i)?,
                period_start: date(ps.value(i)),
                period_end: date(pe.value(i)),
                org_level: ol.required(i)?,
                org_unit: ou.value(i).to_string(),
                parent_unit: opt_s(&pu, i),
                stratum_dimension: sd.value(i).to_string(),
                stratum_value: sv.value(i).to_string(),
                numerator: opt_f(&nu, i),
                denominator: opt_f(&de, i),
                value: opt_f(&va, i),
                ci_low: opt_f(&lo, i),
                ci_high: opt_f(&hi, i),
                method: me.required(i)?,
                target: opt_f(&ta, i),
                target_status: ts.optional(i)?,
                spc_centre: opt_f(&sc, i),
                spc_lower: opt_f(&sl, i),
                spc_upper: opt_f(&su, i),
                spc_signal: sig.optional(i)?,
                suppression_reason: suppression(supp.value(i), sr.optional(i)?)?,
                run_id: run.value(i).to_string(),
                computed_at: DateTime::from_timestamp_micros(at.value(i)).unwrap_or_default(),
                count_fields: CountFields::NONE,
                min_denominator: None,
                additive: false,
            });
        }
    }
    Ok(out)
}

/// The result as a disclosure cell (its verdict, if any, carried over).
pub(crate) fn to_cell(r: &IndicatorResult) -> Cell {
    Cell {
        indicator: r.indicator.clone(),
        period: format!("{}:{}", r.period_type.code(), r.period_start),
        org_level: r.org_level,
        org_unit: r.org_unit.clone(),
        parent_unit: r.parent_unit.clone(),
        stratum_dimension: r.stratum_dimension.clone(),
        stratum_value: r.stratum_value.clone(),
        numerator: r.numerator,
        denominator: r.denominator,
        value: r.value,
        ci_low: r.ci_low,
        ci_high: r.ci_high,
        count_fields: r.count_fields,
        min_denominator: r.min_denominator,
        additive: r.additive,
        suppressed: r.suppression_reason,
    }
}

/// The results every output may publish: suppressed cells keep their identity and reason but
/// lose every number derived from data (numerator, denominator, value, CI, SPC limits), rows
/// of indicators no longer in the catalogue are withheld, and the published set is checked
/// against the disclosure rule once more. The one gate between the warehouse and outputs.
pub async fn published_results(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
) -> Result<Vec<IndicatorResult>, IndicatorError> {
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    if !ctx
        .table_exist(RESULTS_TABLE)
        .map_err(|e| IndicatorError::Internal(e.to_string()))?
    {
        return Ok(vec![]);
    }
    let query_err = |source| IndicatorError::Query {
        indicator: RESULTS_TABLE.into(),
        source,
    };
    let batches = ctx
        .sql(&format!("SELECT * FROM {RESULTS_TABLE}"))
        .await
        .map_err(query_err)?
        .collect()
        .await
        .map_err(query_err)?;
    let mut rows = Vec::new();
    for mut r in from_batches(&batches)? {
        let policy = match catalogue.iter().find(|d| d.meta.id == r.indicator) {
            Some(def) => CellPolicy::of(&def.meta),
            // A disparity between strata of a catalogue indicator: no count of its own, and
            // suppressed whenever a cell it comes from is.
            None => match crate::disparity::split_derived(&r.indicator) {
                Some((base, _)) if catalogue.iter().any(|d| d.meta.id == base) => CellPolicy {
                    count_fields: CountFields::NONE,
                    min_denominator: None,
                    additive: false,
                },
                _ => continue,
            },
        };
        r.count_fields = policy.count_fields;
        r.min_denominator = policy.min_denominator;
        r.additive = policy.additive;
        if r.is_suppressed() {
            r.numerator = None;
            r.denominator = None;
            r.value = None;
            r.ci_low = None;
            r.ci_high = None;
            r.spc_centre = None;
            r.spc_lower = None;
            r.spc_upper = None;
            r.spc_signal = None;
            r.target_status = None;
        }
        rows.push(r);
    }
    let cells: Vec<Cell> = rows.iter().map(to_cell).collect();
    vigie_disclosure::check(&cells, cfg)?;
    Ok(rows)
}

/// How the disclosure gate treats an indicator's cells.
#[derive(Debug, Clone, Copy)]
pub struct CellPolicy {
    /// Which fields are counts.
    pub count_fields: CountFields,
    /// Smallest publishable denominator.
    pub min_denominator: Option<f64>,
    /// Whether cells add up over strata and org units.
    pub additive: bool,
}

impl CellPolicy {
    /// The policy an indicator's metadata implies.
    pub fn of(meta: &IndicatorMeta) -> Self {
        let count_fields = match meta.method {
            // Participants and comparison persons are both counts of persons.
            Method::ProgramEvaluation | Method::CaseFinding => CountFields::BOTH,
            // Sums of days are not counts; the query's `cell_count` (stays) is checked by the
            // engine before the gate.
            Method::RatioOfSums => CountFields::NONE,
            // Quantiles: the numerator is the number of observations.
            Method::Median | Method::P90 => CountFields::NUMERATOR,
            _ if meta.denominator_is_count => CountFields::BOTH,
            _ => CountFields::NUMERATOR,
        };
        // Every method's cells add up over teams and strata in some count (events, persons,
        // stays, observations, participants): a suppressed team must never be recoverable as
        // the region minus the others, so complementary suppression applies to all of them.
        let additive = true;
        CellPolicy {
            count_fields,
            min_denominator: meta.min_denominator,
            additive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> IndicatorResult {
        let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        IndicatorResult {
            indicator: "ed_visits_per_1000".into(),
            period_type: PeriodType::Month,
            period_start: day("2025-03-01"),
            period_end: day("2025-03-31"),
            org_level: OrgLevel::Team,
            org_unit: "T1".into(),
            parent_unit: Some(vigie_disclosure::REGION.into()),
            stratum_dimension: vigie_disclosure::ALL.into(),
            stratum_value: vigie_disclosure::ALL.into(),
            numerator: Some(3.0),
            denominator: Some(900.0),
            value: None,
            ci_low: None,
            ci_high: None,
            method: Method::PoissonRate,
            target: Some(30.0),
            target_status: Some(TargetStatus::WithinCorridor),
            spc_centre: Some(31.0),
            spc_lower: Some(20.0),
            spc_upper: Some(40.0),
            spc_signal: Some(SpcSignal::SpecialCauseConcern),
            suppression_reason: Some(SuppressionReason::SmallCount),
            run_id: "run".into(),
            computed_at: DateTime::from_timestamp(1_760_000_000, 0).expect("time"),
            count_fields: CountFields::NONE,
            min_denominator: None,
            additive: false,
        }
    }

    /// The batch with one text column replaced.
    fn with_column(batch: &RecordBatch, name: &str, values: StringArray) -> RecordBatch {
        let i = batch.schema().index_of(name).expect("column");
        let mut columns = batch.columns().to_vec();
        columns[i] = Arc::new(values);
        RecordBatch::try_new(batch.schema(), columns).expect("batch")
    }

    #[test]
    fn rows_round_trip_through_the_stored_codes() {
        let rows = vec![row()];
        let batch = to_batch(&rows).expect("batch");
        let reason = batch
            .column_by_name("suppression_reason")
            .expect("column")
            .as_string::<i32>()
            .value(0)
            .to_string();
        assert_eq!(reason, "small_count");
        assert_eq!(from_batches(&[batch]).expect("rows"), rows);
    }

    #[test]
    fn an_unknown_stored_code_is_an_error_naming_column_and_value() {
        let batch = to_batch(&[row()]).expect("batch");
        for (column, value) in [
            ("suppression_reason", "tiny_count"),
            ("spc_signal", "special_cause"),
            ("target_status", "almost"),
            ("period_type", "week"),
            ("org_level", "hospital"),
            ("method", "guess"),
        ] {
            let altered = with_column(&batch, column, StringArray::from(vec![value]));
            let err = from_batches(&[altered]).expect_err(column).to_string();
            assert!(
                err.contains(&format!("indicator_results.{column}")) && err.contains(value),
                "{err}"
            );
        }
    }

    #[test]
    fn a_suppressed_row_without_reason_is_an_error_not_a_guess() {
        let batch = to_batch(&[row()]).expect("batch");
        let altered = with_column(
            &batch,
            "suppression_reason",
            StringArray::from(vec![None::<&str>]),
        );
        let err = from_batches(&[altered]).expect_err("no reason").to_string();
        assert!(err.contains("suppression_reason"), "{err}");
    }
}
