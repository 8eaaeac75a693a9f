//! From an indicator's aggregated cells to result rows within the computed horizon.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use vigie_disclosure::{DisclosureConfig, OrgLevel, REGION, is_publishable_count};

use crate::aggregate::CellValue;
use crate::catalogue::{IndicatorMeta, PeriodType};
use crate::codes::TargetStatus;
use crate::results::{CellPolicy, IndicatorResult};

/// The periods a run computes: [`from`, `to`), within the data reaching `data_to`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Horizon {
    /// First day computed.
    pub from: NaiveDate,
    /// Day after the last day computed.
    pub to: NaiveDate,
    /// First day of data.
    pub data_from: NaiveDate,
    /// Day after the last complete month of data (the end of a span period).
    pub data_to: NaiveDate,
    /// A recompute from a month on (a weekly refresh): the quarter and the year that month
    /// belongs to are recomputed too, since their results depend on it.
    pub widen: bool,
}

impl Horizon {
    /// First day computed for indicators of `kind`: `from`, or in a recompute the start of
    /// the quarter or year holding it (unless that period begins before the data, which
    /// leaves it incomplete: never computed).
    pub fn first_day_for(&self, kind: PeriodType) -> NaiveDate {
        if !self.widen {
            return self.from;
        }
        let (year, month) = (self.from.year(), self.from.month());
        let start = match kind {
            PeriodType::Month | PeriodType::Span => NaiveDate::from_ymd_opt(year, month, 1),
            PeriodType::Quarter => NaiveDate::from_ymd_opt(year, (month - 1) / 3 * 3 + 1, 1),
            PeriodType::Year => NaiveDate::from_ymd_opt(year, 1, 1),
        }
        .unwrap_or(self.from);
        if start < self.data_from {
            self.from
        } else {
            start.min(self.from)
        }
    }

    /// Day after the last day computed for indicators of `kind`: `to`, or in a recompute the
    /// end of the quarter or year holding its last month (never beyond the data).
    pub fn end_for(&self, kind: PeriodType) -> NaiveDate {
        let Some(last) = self.to.pred_opt().filter(|_| self.widen) else {
            return self.to;
        };
        let (year, month) = (last.year(), last.month());
        let start = match kind {
            PeriodType::Month | PeriodType::Span => return self.to,
            PeriodType::Quarter => NaiveDate::from_ymd_opt(year, (month - 1) / 3 * 3 + 1, 1),
            PeriodType::Year => NaiveDate::from_ymd_opt(year, 1, 1),
        };
        start
            .map(|s| period_end(kind, s, self.data_to))
            .unwrap_or(self.to)
            .clamp(self.to, self.data_to.max(self.to))
    }
}

/// What every row of one run shares.
pub(super) struct RunFrame {
    /// The run id.
    pub run_id: String,
    /// When the run started.
    pub computed_at: DateTime<Utc>,
    /// The periods computed.
    pub horizon: Horizon,
    /// The suppression threshold.
    pub disclosure: DisclosureConfig,
}

/// A result row with the gate's verdict on its unit count, decided before the gate sees the
/// cell (a sum of days carries the count of stays behind it, which is not a field of the cell).
pub(super) struct Row {
    /// The result.
    pub result: IndicatorResult,
    /// Whether the units behind the cell are too few to publish.
    pub small_unit_count: bool,
}

/// The day after the last day of a period starting on `start`.
fn period_end(kind: PeriodType, start: NaiveDate, span_end: NaiveDate) -> NaiveDate {
    let months = match kind {
        PeriodType::Month => 1,
        PeriodType::Quarter => 3,
        PeriodType::Year => 12,
        PeriodType::Span => return span_end,
    };
    start
        .checked_add_months(Months::new(months))
        .unwrap_or(start)
}

/// The rows of `cells` whose period lies inside the horizon (span periods always do).
pub(super) fn result_rows(
    meta: &IndicatorMeta,
    cells: Vec<CellValue>,
    frame: &RunFrame,
) -> Vec<Row> {
    let horizon = &frame.horizon;
    let policy = CellPolicy::of(meta);
    cells
        .into_iter()
        .filter_map(|c| {
            let end = period_end(meta.period, c.period_start, horizon.data_to);
            let inside = c.period_start >= horizon.first_day_for(meta.period)
                && end <= horizon.end_for(meta.period);
            (meta.period == PeriodType::Span || inside).then(|| Row {
                // The one disclosure rule, fail-closed (NaN or negative counts withheld).
                small_unit_count: c
                    .cell_count
                    .is_some_and(|k| !is_publishable_count(k, &frame.disclosure)),
                result: result_row(meta, c, end, &policy, frame),
            })
        })
        .collect()
}

fn result_row(
    meta: &IndicatorMeta,
    c: CellValue,
    end: NaiveDate,
    policy: &CellPolicy,
    frame: &RunFrame,
) -> IndicatorResult {
    let target_status = match (meta.target, c.value) {
        (Some(t), Some(v)) => Some(TargetStatus::of(meta.direction, t, v)),
        _ => None,
    };
    let org_level = if c.team.is_some() {
        OrgLevel::Team
    } else {
        OrgLevel::Region
    };
    IndicatorResult {
        indicator: meta.id.clone(),
        period_type: meta.period,
        period_start: c.period_start,
        period_end: end.pred_opt().unwrap_or(end),
        org_level,
        parent_unit: c.team.as_ref().map(|_| REGION.to_string()),
        org_unit: c.team.unwrap_or_else(|| REGION.to_string()),
        stratum_dimension: c.stratum_dimension,
        stratum_value: c.stratum_value,
        numerator: c.numerator,
        denominator: c.denominator,
        value: c.value,
        ci_low: c.ci_low,
        ci_high: c.ci_high,
        method: meta.method,
        target: meta.target.map(|t| t.value),
        target_status,
        spc_centre: None,
        spc_lower: None,
        spc_upper: None,
        spc_signal: None,
        suppression_reason: None,
        run_id: frame.run_id.clone(),
        computed_at: frame.computed_at,
        count_fields: policy.count_fields,
        min_denominator: policy.min_denominator,
        additive: policy.additive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> IndicatorMeta {
        serde_yaml::from_str(
            "id: alc\nname: {fr: a, en: a}\ndescription: {fr: a, en: a}\nunit: percent\n\
             numerator: {fr: a, en: a}\ndenominator: {fr: a, en: a}\n\
             direction: lower_is_better\nperiod: month\nmethod: ratio_of_sums\n\
             denominator_is_count: false\n",
        )
        .expect("metadata")
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn cell(start: &str, cell_count: Option<f64>) -> CellValue {
        CellValue {
            period_start: day(start),
            team: Some("T1".into()),
            stratum_dimension: "all".into(),
            stratum_value: "all".into(),
            numerator: Some(40.0),
            denominator: Some(200.0),
            value: Some(20.0),
            ci_low: None,
            ci_high: None,
            cell_count,
        }
    }

    fn frame() -> RunFrame {
        RunFrame {
            run_id: "run".into(),
            computed_at: DateTime::from_timestamp(1_760_000_000, 0).expect("time"),
            horizon: Horizon {
                from: day("2025-01-01"),
                to: day("2025-04-01"),
                data_from: day("2024-01-01"),
                data_to: day("2025-06-01"),
                widen: false,
            },
            disclosure: DisclosureConfig::default(),
        }
    }

    #[test]
    fn unit_counts_are_judged_by_the_gate_rule_and_fail_closed() {
        let counts = [
            Some(0.0),
            Some(3.0),
            Some(5.0),
            Some(6.0),
            Some(f64::NAN),
            Some(-1.0),
            None,
        ];
        let cells = counts.iter().map(|k| cell("2025-02-01", *k)).collect();
        let small: Vec<bool> = result_rows(&meta(), cells, &frame())
            .iter()
            .map(|r| r.small_unit_count)
            .collect();
        // NaN was published before the rule moved to the gate (`k > 0 && k < 6` is false).
        assert_eq!(small, [false, true, true, false, true, true, false]);
    }

    #[test]
    fn rows_outside_the_horizon_are_left_out_and_periods_end_inclusive() {
        let cells = ["2024-12-01", "2025-01-01", "2025-03-01", "2025-04-01"]
            .map(|d| cell(d, Some(10.0)))
            .into();
        let rows = result_rows(&meta(), cells, &frame());
        let periods: Vec<(NaiveDate, NaiveDate)> = rows
            .iter()
            .map(|r| (r.result.period_start, r.result.period_end))
            .collect();
        assert_eq!(
            periods,
            [
                (day("2025-01-01"), day("2025-01-31")),
                (day("2025-03-01"), day("2025-03-31"))
            ]
        );
        let r = &rows[0].result;
        assert_eq!(
            (r.org_level, r.parent_unit.as_deref()),
            (OrgLevel::Team, Some(REGION))
        );
        assert_eq!(r.method, crate::catalogue::Method::RatioOfSums);
    }
}
