//! The engine: runs the catalogue over a warehouse snapshot and writes `indicator_results`.
//!
//! One module per job: [`session`] (snapshot, helper functions, data span), [`validate`]
//! (`vigie validate`'s query check), [`rows`] (cells to rows within the horizon), [`narrow`]
//! (a recompute's narrowed event tables), [`spc`] (limits and signals), [`gate`] (the
//! disclosure gate), [`write`] (the commit of the results).

mod gate;
mod narrow;
mod person_view;
mod rows;
mod session;
mod spc;
mod validate;
mod write;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Datelike, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use tracing::info;
use vigie_disclosure::DisclosureConfig;
use vigie_warehouse::{SessionOptions, Warehouse};

use crate::aggregate::{CellValue, aggregate};
use crate::builtin::{self, BuiltinOutput};
use crate::catalogue::{IndicatorDef, PeriodType};
use crate::error::IndicatorError;
use crate::results::IndicatorResult;
use rows::{Horizon, RunFrame};

pub use person_view::StrataRun;
pub(crate) use session::{SessionExtras, indicator_session, run_sql};
pub use validate::validate_catalogue;

/// What to compute and where.
#[derive(Debug, Clone)]
pub struct ComputeOptions {
    /// Warehouse location.
    pub warehouse: String,
    /// Indicator ids to compute (empty: all).
    pub include: Vec<String>,
    /// First day of the first period (default: the first month with data).
    pub from: Option<NaiveDate>,
    /// A recompute of recent periods from `from` on (a weekly refresh), rather than a run
    /// whose horizon starts at `from`: only the events those periods depend on are read,
    /// and the indicators over the whole follow-up (program evaluation) are left alone.
    pub recompute: bool,
    /// Day after the last period (default: the first day after the last complete month).
    pub to: Option<NaiveDate>,
    /// Small-cell suppression.
    pub disclosure: DisclosureConfig,
    /// Bootstrap replicates of the program evaluation (at least 500).
    pub replicates: usize,
    /// Bootstrap seed (the same seed reproduces the same intervals).
    pub seed: u64,
    /// Query resources (memory pool).
    pub session: SessionOptions,
    /// Fewest periods a series needs before SPC limits and signals are computed.
    pub spc_min_points: usize,
    /// The program evaluation's rules (the pipeline's `evaluation:`).
    pub evaluation: vigie_model::config::EvaluationSpec,
    /// Where the catalogue comes from (for messages, its `strata.yaml` and its
    /// `reference/conditions.yaml`).
    pub queries_dir: vigie_model::config::CatalogueSource,
    /// The survey instruments of the pipeline's sources: the `survey_item` and
    /// `survey_item_answer` tables experience indicators score answers with.
    pub instruments: Vec<std::sync::Arc<vigie_model::config::Instrument>>,
    /// Governed strata the pipeline enables (`equity.enabled`); the others are not computed.
    pub equity_enabled: Vec<String>,
}

/// What a compute run did.
#[derive(Debug, Clone, Default)]
pub struct ComputeReport {
    /// The run id stored in every row.
    pub run_id: String,
    /// First day covered.
    pub from: Option<NaiveDate>,
    /// Day after the last day covered.
    pub to: Option<NaiveDate>,
    /// Indicator -> (result rows, seconds).
    pub indicators: BTreeMap<String, (usize, f64)>,
    /// Rows suppressed by the disclosure gate.
    pub suppressed: usize,
    /// Rows written to the restricted worklist.
    pub worklist_rows: usize,
    /// Seconds spent in program evaluation and case finding (shared by the built-in
    /// indicators, whose own entries in `indicators` only count reading their cells).
    pub evaluation_seconds: f64,
    /// Seconds of the whole computation, results written.
    pub total_seconds: f64,
}

/// Runs the catalogue and replaces the results of the computed indicators and periods.
pub async fn compute(
    catalogue: &[IndicatorDef],
    options: &ComputeOptions,
) -> Result<ComputeReport, IndicatorError> {
    let started = Instant::now();
    let warehouse = Warehouse::open(&options.warehouse)?;
    let strata = StrataRun {
        strata: crate::strata::load_strata(&options.queries_dir)?,
        enabled: options.equity_enabled.clone(),
    };
    let conditions = crate::conditions::Conditions::load(options.queries_dir.directory.as_deref())?;
    let incremental = options.recompute && options.from.is_some();
    let (ctx, span) = indicator_session(
        &warehouse,
        &options.session,
        None,
        &SessionExtras {
            instruments: &options.instruments,
            conditions: &conditions,
            strata: &strata,
            population_from: population_from(
                &chosen(catalogue, options, incremental),
                options.from.filter(|_| incremental),
            ),
        },
    )
    .await?;
    let mut report = ComputeReport {
        run_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    let Some((data_from, data_to)) = span else {
        info!("the warehouse holds no ED visits or admissions yet: nothing to compute");
        return Ok(report);
    };
    let horizon = Horizon {
        from: options.from.unwrap_or(data_from).max(data_from),
        to: options.to.unwrap_or(data_to).min(data_to),
        data_from,
        data_to,
        widen: incremental,
    };
    let frame = RunFrame {
        run_id: report.run_id.clone(),
        computed_at: Utc::now(),
        horizon,
        disclosure: options.disclosure,
    };
    report.from = Some(horizon.from);
    report.to = Some(horizon.to);
    if horizon.from >= horizon.to {
        // Periods are computed once the data reach their last day: a month-to-date extract
        // (a hospital's weekly one) leaves its month, and the quarter and year holding it,
        // as they were.
        info!(
            from = %horizon.from,
            complete_until = %horizon.to,
            "no complete month to compute from this day on: a month is computed once the data reach its last day / aucun mois complet à calculer : un mois est calculé quand les données atteignent son dernier jour"
        );
    }
    // A recompute from a month on (a weekly refresh) covers the periodic indicators of the
    // affected periods. The program evaluation and case finding span the whole follow-up:
    // they are refreshed by a full compute, or when named with --only. The quarters and
    // years holding the first month are recomputed whole (see `Horizon::first_day_for`).
    let selected = select(catalogue, options, incremental, &horizon);
    let evaluation = if selected.iter().any(|d| d.meta.method.is_builtin()) {
        Some(run_builtin(&ctx, &warehouse, (data_from, data_to), options, &mut report).await?)
    } else {
        None
    };
    let narrow = incremental && evaluation.is_none();
    let (mut rows, small_unit_count) = compute_rows(
        &ctx,
        &selected,
        evaluation.as_ref(),
        narrow,
        (&frame, &strata),
        &mut report,
    )
    .await?;
    // Disparities between the categories of equity strata, from the rows just computed.
    let n_base = rows.len();
    let contributors = add_disparities(&mut rows, &selected, &strata, &mut report);
    report.suppressed =
        gate::apply_gate(&mut rows[..n_base], &small_unit_count, &options.disclosure);
    // A disparity computed from a suppressed cell is suppressed too.
    report.suppressed += crate::disparity::suppress_derived(&mut rows, n_base, &contributors);
    // SPC limits of a recomputed range rest on the whole series: the stored results of the
    // periods around it join the computed ones for the limits, and are not written again.
    // After the gate: a series with a suppressed point gets no centre line, which pooled
    // over every period gave the suppressed count back (centre x denominators - published
    // numerators).
    let computed = rows.len();
    let recomputed = recomputed_periods(&report, catalogue, &horizon);
    if incremental {
        rows.extend(spc::stored_results_outside(&ctx, &recomputed).await?);
    }
    spc::add_spc(&mut rows, catalogue, options.spc_min_points);
    rows.truncate(computed);
    write::write_results(&warehouse, &rows, &report, catalogue, &recomputed).await?;
    report.total_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The periodic indicators a run computed, by the range [first day, day after the last)
/// it computed for them (in a recompute, quarters and years reach beyond its months).
pub(super) type Recomputed = BTreeMap<(NaiveDate, NaiveDate), Vec<String>>;

/// One SQL term per recomputed range: its indicators, and `condition` on the range.
pub(super) fn range_terms(
    recomputed: &Recomputed,
    condition: impl Fn(NaiveDate, NaiveDate) -> String,
) -> Vec<String> {
    recomputed
        .iter()
        .map(|((from, to), ids)| {
            let ids: Vec<String> = ids.iter().map(|s| write::quote(s)).collect();
            format!(
                "(indicator IN ({}) AND {})",
                ids.join(", "),
                condition(*from, *to)
            )
        })
        .collect()
}

fn recomputed_periods(
    report: &ComputeReport,
    catalogue: &[IndicatorDef],
    horizon: &Horizon,
) -> Recomputed {
    let period_of = |id: &str| {
        let base = crate::disparity::split_derived(id).map_or(id, |(base, _)| base);
        catalogue
            .iter()
            .find(|d| d.meta.id == base)
            .map(|d| d.meta.period)
    };
    let mut out = Recomputed::new();
    for id in report.indicators.keys() {
        let range = match period_of(id) {
            Some(PeriodType::Span) => continue,
            Some(kind) => (horizon.first_day_for(kind), horizon.end_for(kind)),
            None => (horizon.from, horizon.to),
        };
        out.entry(range).or_default().push(id.clone());
    }
    out
}

/// The first month `population_month` needs in a run computing `chosen`: in a recompute
/// from `recompute_from` that narrows its tables (no program evaluation), the January of
/// that month's year — the earliest period it recomputes (see [`Horizon::first_day_for`]) —
/// unless an indicator over the whole span, which is not narrowed, reads `population_month`.
/// None: every month.
fn population_from(
    chosen: &[&IndicatorDef],
    recompute_from: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let from = recompute_from?;
    let whole_span_reads_it = chosen
        .iter()
        .any(|d| d.meta.period == PeriodType::Span && d.sql.contains("population_month"));
    if whole_span_reads_it || chosen.iter().any(|d| d.meta.method.is_builtin()) {
        return None;
    }
    NaiveDate::from_ymd_opt(from.year(), 1, 1)
}

/// The indicators a run computes, in catalogue order: those named by `--only`, or every
/// one but the program evaluation's in a recompute (it spans the whole follow-up).
fn chosen<'a>(
    catalogue: &'a [IndicatorDef],
    options: &ComputeOptions,
    incremental: bool,
) -> Vec<&'a IndicatorDef> {
    catalogue
        .iter()
        .filter(|d| options.include.is_empty() || options.include.contains(&d.meta.id))
        .filter(|d| !(incremental && options.include.is_empty() && d.meta.method.is_builtin()))
        .collect()
}

/// The indicators a run computes: those over the whole span first (data quality), then by
/// the first day they compute — in a recompute the year holding its first month, then the
/// quarter, then the month (see [`Horizon::first_day_for`]) —, then by period length. A
/// recompute narrows the event tables to each first day in turn, each narrowing a subset of
/// the one before.
fn select<'a>(
    catalogue: &'a [IndicatorDef],
    options: &ComputeOptions,
    incremental: bool,
    horizon: &Horizon,
) -> Vec<&'a IndicatorDef> {
    let mut selected = chosen(catalogue, options, incremental);
    selected.sort_by_key(|d| {
        let kind = d.meta.period;
        let length = match kind {
            PeriodType::Span => 0,
            PeriodType::Month => 1,
            PeriodType::Quarter => 2,
            PeriodType::Year => 3,
        };
        (
            kind != PeriodType::Span,
            horizon.first_day_for(kind),
            length,
        )
    });
    selected
}

/// Appends the disparity rows of the selected indicators with equity strata; returns, for
/// each, the indices of the rows it is computed from. Their derived ids count as computed
/// indicators (their stored periods are replaced like the others').
fn add_disparities(
    rows: &mut Vec<IndicatorResult>,
    selected: &[&IndicatorDef],
    strata: &StrataRun,
    report: &mut ComputeReport,
) -> Vec<Vec<usize>> {
    let mut derived = Vec::new();
    for def in selected {
        let meta = active_strata(&def.meta, strata);
        let decls: Vec<_> = meta
            .equity
            .iter()
            .filter_map(|d| strata.strata.get(d.column()))
            .collect();
        if !decls.is_empty() {
            derived.extend(crate::disparity::derive(&meta, &decls, rows));
        }
    }
    let mut contributors = Vec::with_capacity(derived.len());
    for d in derived {
        report
            .indicators
            .entry(d.result.indicator.clone())
            .or_insert((0, 0.0))
            .0 += 1;
        rows.push(d.result);
        contributors.push(d.contributors);
    }
    contributors
}

/// The metadata with only the strata this run computes.
fn active_strata(
    meta: &crate::catalogue::IndicatorMeta,
    strata: &StrataRun,
) -> crate::catalogue::IndicatorMeta {
    let mut meta = meta.clone();
    meta.strata.retain(|d| strata.is_active(d.column()));
    meta.equity.retain(|d| strata.is_active(d.column()));
    meta
}

/// Program evaluation and case finding (person-level, shared by the built-in indicators).
async fn run_builtin(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    (data_from, data_to): (NaiveDate, NaiveDate),
    options: &ComputeOptions,
    report: &mut ComputeReport,
) -> Result<BuiltinOutput, IndicatorError> {
    let t = Instant::now();
    let e = builtin::run(ctx, warehouse, data_from, data_to, options, &report.run_id).await?;
    info!(
        seconds = t.elapsed().as_secs_f64(),
        "program evaluation and case finding"
    );
    report.worklist_rows = e.worklist_rows;
    report.evaluation_seconds = t.elapsed().as_secs_f64();
    Ok(e)
}

/// Every selected indicator's rows, with the gate's verdict on each row's unit count.
/// `narrow`: narrow the event tables to the periods each indicator recomputes once the span
/// indicators are done (years, then quarters, then months: see [`select`]).
async fn compute_rows(
    ctx: &SessionContext,
    selected: &[&IndicatorDef],
    evaluation: Option<&BuiltinOutput>,
    narrow: bool,
    (frame, strata): (&RunFrame, &StrataRun),
    report: &mut ComputeReport,
) -> Result<(Vec<IndicatorResult>, Vec<bool>), IndicatorError> {
    let (mut results, mut small_unit_count) = (Vec::new(), Vec::new());
    let mut narrowed: Option<NaiveDate> = None;
    for def in selected {
        // Governed strata the pipeline does not enable are not computed at all.
        let meta = &active_strata(&def.meta, strata);
        let from = frame.horizon.first_day_for(meta.period);
        if narrow && meta.period != PeriodType::Span && narrowed != Some(from) {
            // Timed apart: counted in the next indicator's seconds, the whole registry's
            // narrowing made a fast query look slow.
            let t = Instant::now();
            // A year's events name a third of the registry or more: copying those persons
            // cost more (3.2 s at province scale) than the year's indicators gained from
            // it. They join the whole registry; quarters and months, whose events name
            // few persons, join the persons narrowed to them.
            let persons = meta.period != PeriodType::Year;
            narrow::restrict_events(ctx, from, narrowed, persons, strata).await?;
            narrowed = Some(from);
            info!(
                %from,
                persons,
                seconds = t.elapsed().as_secs_f64(),
                "event tables narrowed to the recomputed periods (and persons, when `persons`)"
            );
        }
        let t = Instant::now();
        let cells: Vec<CellValue> = if meta.method.is_builtin() {
            evaluation.map(|e| e.cells_for(meta)).unwrap_or_default()
        } else {
            aggregate(meta, &run_sql(ctx, &meta.id, &def.sql).await?)?
        };
        let rows = rows::result_rows(meta, cells, frame);
        let n = rows.len();
        for row in rows {
            results.push(row.result);
            small_unit_count.push(row.small_unit_count);
        }
        let seconds = t.elapsed().as_secs_f64();
        report.indicators.insert(meta.id.clone(), (n, seconds));
        info!(indicator = %meta.id, rows = n, seconds, "computed");
    }
    Ok((results, small_unit_count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::config::CatalogueSource;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_recompute_builds_the_population_of_its_years_months_only_when_nothing_reads_earlier_ones()
    {
        let catalogue = crate::load_catalogue(&CatalogueSource::embedded()).expect("catalogue");
        let periodic: Vec<&IndicatorDef> = catalogue
            .iter()
            .filter(|d| !d.meta.method.is_builtin())
            .collect();
        assert!(periodic.iter().any(|d| d.sql.contains("population_month")));
        // A weekly refresh of December: the year it recomputes starts in January.
        assert_eq!(
            population_from(&periodic, Some(day("2025-12-01"))),
            Some(day("2025-01-01"))
        );
        // A full compute, and a run with the program evaluation (never narrowed).
        assert_eq!(population_from(&periodic, None), None);
        let all: Vec<&IndicatorDef> = catalogue.iter().collect();
        assert!(all.len() > periodic.len());
        assert_eq!(population_from(&all, Some(day("2025-12-01"))), None);
        // An indicator over the whole span reading the population runs before any narrowing.
        let mut span = periodic[0].clone();
        span.meta.period = PeriodType::Span;
        span.sql = "select count(*) from population_month".into();
        let mut with_span = periodic.clone();
        with_span.push(&span);
        assert_eq!(population_from(&with_span, Some(day("2025-12-01"))), None);
    }
}
