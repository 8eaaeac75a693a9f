//! SPC limits and signals over each result series (indicator × org unit × stratum).

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;
use vigie_stats::{ImprovementDirection, SpcOptions, p_chart, u_chart, xmr_chart};

use super::session::run_sql;
use crate::catalogue::{Direction, IndicatorDef, Method, PeriodType};
use crate::codes::SpcSignal;
use crate::error::IndicatorError;
use crate::results::{IndicatorResult, RESULTS_TABLE};

/// The series a row belongs to.
type SeriesKey = (String, String, String, String);

/// Adds SPC centre, limits and signal to every row of a series with at least `min_points`
/// periods, all with a value and none suppressed (a centre line pooled over a suppressed
/// period would give its count back).
pub(super) fn add_spc(rows: &mut [IndicatorResult], catalogue: &[IndicatorDef], min_points: usize) {
    for ((indicator, ..), mut idx) in series(rows) {
        let Some(chart) = chart_kind(catalogue, &indicator) else {
            continue;
        };
        idx.sort_by_key(|i| rows[*i].period_start);
        if idx.len() < min_points
            || idx
                .iter()
                .any(|i| rows[*i].value.is_none() || rows[*i].is_suppressed())
        {
            continue;
        }
        chart_series(rows, &idx, chart);
    }
}

/// How a series is charted: the indicator's method, direction and unit multiplier. A
/// disparity series (a derived id) is an XmR chart of its values with no preferred
/// direction (a ratio moving towards 1 from either side is the improvement).
fn chart_kind(catalogue: &[IndicatorDef], id: &str) -> Option<(Method, Direction, f64)> {
    if let Some(def) = catalogue.iter().find(|d| d.meta.id == id) {
        return Some((
            def.meta.method,
            def.meta.direction,
            def.meta.unit.multiplier(),
        ));
    }
    let (base, measure) = crate::disparity::split_derived(id)?;
    catalogue.iter().any(|d| d.meta.id == base).then_some((
        measure.method(),
        Direction::Neither,
        1.0,
    ))
}

/// Row indices of each periodic series (span indicators have no series).
fn series(rows: &[IndicatorResult]) -> BTreeMap<SeriesKey, Vec<usize>> {
    let mut series: BTreeMap<SeriesKey, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.period_type == PeriodType::Span {
            continue;
        }
        series
            .entry((
                r.indicator.clone(),
                r.org_unit.clone(),
                r.stratum_dimension.clone(),
                r.stratum_value.clone(),
            ))
            .or_default()
            .push(i);
    }
    series
}

/// The chart of one series (rows `idx`, in period order): a p-chart for proportions, a
/// u-chart for rates, an XmR chart otherwise.
fn chart_series(
    rows: &mut [IndicatorResult],
    idx: &[usize],
    (method, direction, m): (Method, Direction, f64),
) {
    let direction = match direction {
        Direction::HigherIsBetter => ImprovementDirection::HigherIsBetter,
        Direction::LowerIsBetter => ImprovementDirection::LowerIsBetter,
        Direction::Neither => ImprovementDirection::Neither,
    };
    let field = |f: fn(&IndicatorResult) -> Option<f64>| -> Vec<f64> {
        idx.iter().map(|i| f(&rows[*i]).unwrap_or(0.0)).collect()
    };
    let (num, den, values) = (
        field(|r| r.numerator),
        field(|r| r.denominator),
        field(|r| r.value),
    );
    let opts = SpcOptions::default();
    let (chart, scale) = match method {
        Method::Wilson => (p_chart(&num, &den, &opts, direction), m),
        Method::PoissonRate => (u_chart(&num, &den, &opts, direction), m),
        _ => (xmr_chart(&values, &opts, direction), 1.0),
    };
    let Ok(chart) = chart else { return };
    for (i, p) in idx.iter().zip(&chart.points) {
        let r = &mut rows[*i];
        r.spc_centre = Some(p.centre * scale);
        r.spc_lower = Some(p.lower_limit * scale);
        r.spc_upper = Some(p.upper_limit * scale);
        r.spc_signal = Some(SpcSignal::from(p.variation));
    }
}

/// Stored results of `indicators` for the periods outside [`from`, `to`) (none when
/// nothing was computed yet): the SPC limits of a recomputed range rest on the whole series.
pub(super) async fn stored_results_outside(
    ctx: &SessionContext,
    recomputed: &super::Recomputed,
) -> Result<Vec<IndicatorResult>, IndicatorError> {
    if recomputed.is_empty() || !ctx.table_exist(RESULTS_TABLE).unwrap_or(false) {
        return Ok(Vec::new());
    }
    let outside = super::range_terms(recomputed, |from, to| {
        format!("(period_start < DATE '{from}' OR period_start >= DATE '{to}')")
    });
    let sql = format!(
        "SELECT * FROM {RESULTS_TABLE} WHERE period_type <> 'span' AND ({})",
        outside.join(" OR ")
    );
    let batches = run_sql(ctx, "stored_results", &sql).await?;
    crate::results::from_batches(&batches)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate};
    use vigie_disclosure::DisclosureConfig;

    use super::*;
    use crate::aggregate::CellValue;
    use crate::engine::rows::{Horizon, RunFrame, result_rows};

    const VALUES: [f64; 8] = [10.0, 12.0, 11.0, 13.0, 12.0, 10.0, 11.0, 13.0];

    /// Eight monthly values of one team, charted on an XmR chart (a ratio of sums).
    fn series() -> (Vec<IndicatorResult>, Vec<IndicatorDef>) {
        let meta: crate::catalogue::IndicatorMeta = serde_yaml::from_str(
            "id: alc\nname: {fr: a, en: a}\ndescription: {fr: a, en: a}\nunit: percent\n\
             numerator: {fr: a, en: a}\ndenominator: {fr: a, en: a}\n\
             direction: lower_is_better\nperiod: month\nmethod: ratio_of_sums\n\
             denominator_is_count: false\n",
        )
        .expect("metadata");
        let day = |m: u32| NaiveDate::from_ymd_opt(2025, m, 1).expect("date");
        let cells = VALUES
            .iter()
            .zip(1..)
            .map(|(v, m)| CellValue {
                period_start: day(m),
                team: Some("T1".into()),
                stratum_dimension: "all".into(),
                stratum_value: "all".into(),
                numerator: Some(*v),
                denominator: Some(100.0),
                value: Some(*v),
                ci_low: None,
                ci_high: None,
                cell_count: None,
            })
            .collect();
        let frame = RunFrame {
            run_id: "run".into(),
            computed_at: DateTime::from_timestamp(1_760_000_000, 0).expect("time"),
            horizon: Horizon {
                from: day(1),
                to: day(12),
                data_from: day(1),
                data_to: day(12),
                widen: false,
            },
            disclosure: DisclosureConfig::default(),
        };
        let rows = result_rows(&meta, cells, &frame)
            .into_iter()
            .map(|r| r.result)
            .collect();
        let def = IndicatorDef {
            meta,
            sql: String::new(),
            meta_path: "alc.yaml".into(),
            sql_path: None,
        };
        (rows, vec![def])
    }

    #[test]
    fn a_series_shorter_than_the_pipelines_minimum_gets_no_limits() {
        let (mut rows, catalogue) = series();
        assert_eq!(rows.len(), 8);
        add_spc(&mut rows, &catalogue, 12);
        assert!(
            rows.iter()
                .all(|r| r.spc_centre.is_none() && r.spc_signal.is_none())
        );
        add_spc(&mut rows, &catalogue, 9);
        assert!(rows.iter().all(|r| r.spc_centre.is_none()), "8 < 9 points");
    }

    /// One suppressed month takes the centre line off the series: pooled over every month,
    /// it gave the suppressed month's count back (centre x denominators minus the published
    /// numerators).
    #[test]
    fn a_series_with_a_suppressed_point_gets_no_limits() {
        let (mut rows, catalogue) = series();
        rows[3].suppression_reason = Some(vigie_disclosure::SuppressionReason::SmallCount);
        add_spc(&mut rows, &catalogue, 8);
        assert!(
            rows.iter()
                .all(|r| r.spc_centre.is_none() && r.spc_upper.is_none() && r.spc_signal.is_none())
        );
    }

    #[test]
    fn a_lower_minimum_charts_the_same_series() {
        let (mut rows, catalogue) = series();
        add_spc(&mut rows, &catalogue, 8);
        // XmR by hand: mean 92 / 8 = 11.5; moving ranges 2 1 2 1 2 1 2, mean 11/7 (none at or
        // above 3.267 x 11/7 = 5.13, so none screened); upper limit 11.5 + 2.66 x 11/7.
        let upper = 11.5 + 2.66 * 11.0 / 7.0;
        for r in &rows {
            assert!((r.spc_centre.expect("centre") - 11.5).abs() < 1e-9);
            assert!(
                (r.spc_upper.expect("upper") - upper).abs() < 1e-9,
                "{:?}",
                r.spc_upper
            );
            assert!(r.spc_signal.is_some());
        }
    }
}
