//! The engine: runs the catalogue over a warehouse snapshot and writes `indicator_results`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{Months, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use tracing::info;
use vigie_disclosure::{DisclosureConfig, SuppressionReason};
use vigie_model::locate::locate;
use vigie_model::{ConfigError, ConfigProblem};
use vigie_stats::{ImprovementDirection, SpcOptions, Variation, p_chart, u_chart, xmr_chart};
use vigie_warehouse::{Replace, SessionOptions, Warehouse};

use crate::aggregate::{CellValue, REGION, aggregate};
use crate::builtin;
use crate::catalogue::{Direction, IndicatorDef, Method, PeriodType};
use crate::error::IndicatorError;
use crate::functions;
use crate::results::{
    CellPolicy, IndicatorResult, RESULTS_TABLE, reason_code, results_schema, to_batch, to_cell,
};

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
    /// Where the catalogue lives (for messages).
    pub queries_dir: PathBuf,
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

/// The data span of the warehouse: first day of the first month with events, and the first
/// day after the last complete month.
async fn data_span(ctx: &SessionContext) -> Result<Option<(NaiveDate, NaiveDate)>, IndicatorError> {
    let sql = "SELECT min(d) AS lo, max(d) AS hi FROM (\
        SELECT CAST(arrival AS DATE) AS d FROM ed_visit UNION ALL SELECT admit_date FROM admission)";
    let batches = run_sql(ctx, "data_span", sql).await?;
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    use arrow::array::{Array, AsArray};
    let lo = b.column(0).as_primitive::<arrow::datatypes::Date32Type>();
    let hi = b.column(1).as_primitive::<arrow::datatypes::Date32Type>();
    if lo.is_null(0) || hi.is_null(0) {
        return Ok(None);
    }
    let d = |x: i32| NaiveDate::default() + chrono::Duration::days(x as i64);
    let (lo, hi) = (d(lo.value(0)), d(hi.value(0)));
    let first = lo.with_day0(0).unwrap_or(lo);
    // The last month counts only if the data reach its last day.
    let next_month = hi
        .with_day0(0)
        .unwrap_or(hi)
        .checked_add_months(Months::new(1))
        .unwrap_or(hi);
    let end = if hi.succ_opt() == Some(next_month) {
        next_month
    } else {
        hi.with_day0(0).unwrap_or(hi)
    };
    // The horizon never runs past today, whatever one outlying row says: the ingest
    // quarantines future dates, and this bound keeps a warehouse loaded before that check
    // (or a clock set wrong at load time) from making 2099 the latest period.
    let today = Utc::now().date_naive();
    let end = end.min(today.with_day0(0).unwrap_or(today));
    if end <= first {
        return Ok(None);
    }
    Ok(Some((first, end)))
}

use chrono::Datelike;

pub(crate) async fn run_sql(
    ctx: &SessionContext,
    indicator: &str,
    sql: &str,
) -> Result<Vec<arrow::record_batch::RecordBatch>, IndicatorError> {
    let err = |source| IndicatorError::Query {
        indicator: indicator.to_string(),
        source,
    };
    ctx.sql(sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)
}

/// A session over the latest snapshot with the helper functions and calendar registered.
pub(crate) async fn indicator_session(
    warehouse: &Warehouse,
    options: &SessionOptions,
    span: Option<(NaiveDate, NaiveDate)>,
) -> Result<(SessionContext, Option<(NaiveDate, NaiveDate)>), IndicatorError> {
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse.session(&snapshot, options).await?;
    let span = match span {
        Some(s) => Some(s),
        None => data_span(&ctx).await?,
    };
    let (from, to) = span.unwrap_or((NaiveDate::default(), NaiveDate::default()));
    functions::register(&ctx, from, to).map_err(|e| IndicatorError::Internal(e.to_string()))?;
    run_sql(&ctx, "population_month", functions::POPULATION_MONTH).await?;
    Ok((ctx, span))
}

/// Checks that every query plans against the warehouse schema and returns the columns its
/// method needs; problems name the SQL file.
pub async fn validate_catalogue(
    catalogue: &[IndicatorDef],
    warehouse: &Warehouse,
) -> Result<(), ConfigError> {
    let options = SessionOptions::default();
    let d = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
    let (ctx, _) = match indicator_session(warehouse, &options, Some((d, d))).await {
        Ok(x) => x,
        Err(e) => {
            return Err(ConfigError::Invalid(vec![ConfigProblem {
                file: warehouse.root().to_string().into(),
                line: None,
                key: String::new(),
                message: format!("cannot open the warehouse to check the queries: {e}"),
            }]));
        }
    };
    let mut problems = Vec::new();
    for def in catalogue.iter().filter(|d| !d.meta.method.is_builtin()) {
        let file = def
            .sql_path
            .clone()
            .unwrap_or_else(|| def.meta_path.clone());
        let df = match ctx.sql(&def.sql).await {
            Ok(df) => df,
            Err(e) => {
                problems.push(ConfigProblem {
                    file,
                    line: None,
                    key: String::new(),
                    message: format!("does not plan: {e}"),
                });
                continue;
            }
        };
        let schema = df.schema();
        let mut needed: Vec<&str> = vec!["period_start", "team"];
        needed.extend(def.meta.strata.iter().map(|s| s.column()));
        if def.meta.method.is_quantile() {
            needed.push("observation");
        } else {
            needed.extend(["numerator", "denominator"]);
        }
        if def.meta.method == Method::DobsonDsr {
            needed.push("std_age_band");
        }
        for col in needed {
            if schema.field_with_unqualified_name(col).is_err() {
                let text = std::fs::read_to_string(&def.meta_path).unwrap_or_default();
                problems.push(ConfigProblem {
                    file: file.clone(),
                    line: None,
                    key: String::new(),
                    message: format!(
                        "returns no `{col}` column, which `method: {:?}`{} needs (see queries/README.md)",
                        def.meta.method,
                        if def.meta.strata.iter().any(|s| s.column() == col) {
                            format!(" with `strata` (line {} of {})", locate(&text, "strata").unwrap_or(0), def.meta_path.display())
                        } else {
                            String::new()
                        }
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

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

fn period_label(kind: PeriodType) -> &'static str {
    match kind {
        PeriodType::Month => "month",
        PeriodType::Quarter => "quarter",
        PeriodType::Year => "year",
        PeriodType::Span => "span",
    }
}

/// Runs the catalogue and replaces the results of the computed indicators and periods.
pub async fn compute(
    catalogue: &[IndicatorDef],
    options: &ComputeOptions,
) -> Result<ComputeReport, IndicatorError> {
    let started = Instant::now();
    let warehouse = Warehouse::open(&options.warehouse)?;
    let run_id = uuid::Uuid::now_v7().to_string();
    let computed_at = Utc::now();
    let (ctx, span) = indicator_session(&warehouse, &options.session, None).await?;
    let mut report = ComputeReport {
        run_id: run_id.clone(),
        ..Default::default()
    };
    let Some((data_from, data_to)) = span else {
        info!("the warehouse holds no ED visits or admissions yet: nothing to compute");
        return Ok(report);
    };
    let from = options.from.unwrap_or(data_from).max(data_from);
    let to = options.to.unwrap_or(data_to).min(data_to);
    report.from = Some(from);
    report.to = Some(to);
    // A recompute from a month on (a weekly refresh) covers the periodic indicators of the
    // affected periods. The program evaluation and case finding span the whole follow-up:
    // they are refreshed by a full compute, or when named with --only.
    let incremental = options.recompute && options.from.is_some();
    let mut selected: Vec<&IndicatorDef> = catalogue
        .iter()
        .filter(|d| options.include.is_empty() || options.include.contains(&d.meta.id))
        .filter(|d| !(incremental && options.include.is_empty() && d.meta.method.is_builtin()))
        .collect();
    // Indicators over the whole span (data quality) run first, before a recompute narrows
    // the event tables to the recomputed periods.
    selected.sort_by_key(|d| d.meta.period != PeriodType::Span);
    let mut rows: Vec<IndicatorResult> = Vec::new();
    let mut pre_suppressed: Vec<bool> = Vec::new();
    let builtin_needed = selected.iter().any(|d| d.meta.method.is_builtin());
    let mut narrow = incremental && !builtin_needed;
    let evaluation = if builtin_needed {
        let t = Instant::now();
        let e = builtin::run(&ctx, &warehouse, data_from, data_to, options, &run_id).await?;
        info!(
            seconds = t.elapsed().as_secs_f64(),
            "program evaluation and case finding"
        );
        report.worklist_rows = e.worklist_rows;
        report.evaluation_seconds = t.elapsed().as_secs_f64();
        Some(e)
    } else {
        None
    };
    for def in selected {
        let t = Instant::now();
        let meta = &def.meta;
        if narrow && meta.period != PeriodType::Span {
            restrict_events(&ctx, from).await?;
            narrow = false;
        }
        let policy = CellPolicy::of(meta);
        let cells: Vec<CellValue> = if meta.method.is_builtin() {
            evaluation
                .as_ref()
                .map(|e| e.cells_for(meta))
                .unwrap_or_default()
        } else {
            let batches = run_sql(&ctx, &meta.id, &def.sql).await?;
            aggregate(meta, &batches)?
        };
        let mut n = 0;
        for c in cells {
            let end = period_end(meta.period, c.period_start, data_to);
            if meta.period != PeriodType::Span && (c.period_start < from || end > to) {
                continue;
            }
            let team = c.team.clone();
            let target_status = match (meta.target, c.value) {
                (Some(t), Some(v)) => Some(target_status(meta.direction, t, v).to_string()),
                _ => None,
            };
            let small_cell_count = c
                .cell_count
                .is_some_and(|k| k > 0.0 && k < options.disclosure.min_count as f64);
            rows.push(IndicatorResult {
                indicator: meta.id.clone(),
                period_type: period_label(meta.period).to_string(),
                period_start: c.period_start,
                period_end: end.pred_opt().unwrap_or(end),
                org_level: if team.is_some() { "team" } else { "region" }.to_string(),
                org_unit: team.clone().unwrap_or_else(|| REGION.to_string()),
                parent_unit: team.as_ref().map(|_| REGION.to_string()),
                stratum_dimension: c.stratum_dimension,
                stratum_value: c.stratum_value,
                numerator: c.numerator,
                denominator: c.denominator,
                value: c.value,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                method: meta.method.label().to_string(),
                target: meta.target.map(|t| t.value),
                target_status,
                spc_centre: None,
                spc_lower: None,
                spc_upper: None,
                spc_signal: None,
                suppressed: false,
                suppression_reason: None,
                run_id: run_id.clone(),
                computed_at,
                count_fields: policy.count_fields,
                min_denominator: policy.min_denominator,
                additive: policy.additive,
            });
            pre_suppressed.push(small_cell_count);
            n += 1;
        }
        report
            .indicators
            .insert(meta.id.clone(), (n, t.elapsed().as_secs_f64()));
        info!(indicator = %meta.id, rows = n, seconds = t.elapsed().as_secs_f64(), "computed");
    }
    // SPC limits of a recomputed range rest on the whole series: the stored results of the
    // periods around it join the computed ones for the limits, and are not written again.
    let computed = rows.len();
    if incremental {
        let ids: Vec<&str> = report.indicators.keys().map(String::as_str).collect();
        rows.extend(stored_results_outside(&ctx, &ids, from, to).await?);
    }
    add_spc(&mut rows, catalogue);
    rows.truncate(computed);
    // The disclosure gate: primary and complementary suppression over every cell at once.
    let cells: Vec<_> = rows
        .iter()
        .zip(&pre_suppressed)
        .map(|(r, pre)| {
            let mut c = to_cell(r);
            if *pre {
                c.suppressed = Some(SuppressionReason::SmallCount);
            }
            c
        })
        .collect();
    let gated = vigie_disclosure::apply(cells, &options.disclosure);
    let verdicts: BTreeMap<_, _> = gated.iter().map(|c| (c.key(), c.suppressed)).collect();
    for r in rows.iter_mut() {
        if let Some(Some(reason)) = verdicts.get(&to_cell(r).key()) {
            r.suppressed = true;
            r.suppression_reason = Some(reason_code(*reason).to_string());
            report.suppressed += 1;
        }
    }
    write_results(&warehouse, &rows, &report, catalogue, options).await?;
    report.total_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Narrows the event tables to the rows periods from `from` on can depend on: ED visits
/// from that month (its partitions only), stays admitted or discharged from that day (a
/// stay discharged in a recomputed month may have begun long before; a readmission follows
/// its discharge), and the persons with such events. Every other table stays whole.
async fn restrict_events(ctx: &SessionContext, from: NaiveDate) -> Result<(), IndicatorError> {
    let month = from.format("%Y-%m");
    let narrowed = [
        (
            "ed_visit",
            format!("event_month >= '{month}' AND CAST(arrival AS DATE) >= DATE '{from}'"),
        ),
        (
            "admission",
            format!("admit_date >= DATE '{from}' OR discharge_date >= DATE '{from}'"),
        ),
    ];
    let internal = |e: datafusion::error::DataFusionError| IndicatorError::Internal(e.to_string());
    for (table, filter) in narrowed {
        let Some(provider) = ctx.deregister_table(table).map_err(internal)? else {
            continue;
        };
        let whole = format!("{table}__whole");
        ctx.register_table(whole.as_str(), provider)
            .map_err(internal)?;
        let view = format!("CREATE VIEW {table} AS SELECT * FROM {whole} WHERE {filter}");
        run_sql(ctx, table, &view).await?;
    }
    // Indicators reach persons only through their events (denominators come from
    // `population_month`, built from the whole table): the persons with events in the
    // narrowed tables are all a recompute needs, and a small table to join against spares
    // every query hashing the whole registry again.
    if let Some(provider) = ctx.deregister_table("person").map_err(internal)? {
        ctx.register_table("person__whole", provider)
            .map_err(internal)?;
        let persons = "CREATE TABLE person AS SELECT p.* FROM \
            (SELECT person_key FROM ed_visit UNION SELECT person_key FROM admission) AS k \
            JOIN person__whole AS p ON p.person_key = k.person_key";
        run_sql(ctx, "person", persons).await?;
    }
    Ok(())
}

/// Stored results of `indicators` for the periods outside [`from`, `to`) (none when
/// nothing was computed yet).
async fn stored_results_outside(
    ctx: &SessionContext,
    indicators: &[&str],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<IndicatorResult>, IndicatorError> {
    if indicators.is_empty() || !ctx.table_exist(RESULTS_TABLE).unwrap_or(false) {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = indicators.iter().map(|s| quote(s)).collect();
    let sql = format!(
        "SELECT * FROM {RESULTS_TABLE} WHERE indicator IN ({}) AND period_type <> 'span' \
         AND (period_start < DATE '{from}' OR period_start >= DATE '{to}')",
        ids.join(", ")
    );
    let batches = run_sql(ctx, "stored_results", &sql).await?;
    crate::results::from_batches(&batches)
}

fn target_status(direction: Direction, t: crate::catalogue::Target, v: f64) -> &'static str {
    match direction {
        Direction::LowerIsBetter => {
            if v <= t.value {
                "met"
            } else if t.corridor_high.is_some_and(|h| v <= h) {
                "within_corridor"
            } else {
                "not_met"
            }
        }
        Direction::HigherIsBetter | Direction::Neither => {
            if v >= t.value {
                "met"
            } else if t.corridor_low.is_some_and(|l| v >= l) {
                "within_corridor"
            } else {
                "not_met"
            }
        }
    }
}

/// Minimum points before SPC limits are shown (NHS Making Data Count recommends 15-20; 12
/// months is the least a monthly series needs to be read at all).
const SPC_MIN_POINTS: usize = 12;

fn add_spc(rows: &mut [IndicatorResult], catalogue: &[IndicatorDef]) {
    let mut series: BTreeMap<(String, String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.period_type == "span" {
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
    for ((indicator, ..), mut idx) in series {
        let Some(def) = catalogue.iter().find(|d| d.meta.id == indicator) else {
            continue;
        };
        idx.sort_by_key(|i| rows[*i].period_start);
        if idx.len() < SPC_MIN_POINTS || idx.iter().any(|i| rows[*i].value.is_none()) {
            continue;
        }
        let direction = match def.meta.direction {
            Direction::HigherIsBetter => ImprovementDirection::HigherIsBetter,
            Direction::LowerIsBetter => ImprovementDirection::LowerIsBetter,
            Direction::Neither => ImprovementDirection::Neither,
        };
        let m = def.meta.unit.multiplier();
        let num: Vec<f64> = idx
            .iter()
            .map(|i| rows[*i].numerator.unwrap_or(0.0))
            .collect();
        let den: Vec<f64> = idx
            .iter()
            .map(|i| rows[*i].denominator.unwrap_or(0.0))
            .collect();
        let values: Vec<f64> = idx.iter().map(|i| rows[*i].value.unwrap_or(0.0)).collect();
        let opts = SpcOptions::default();
        let (chart, scale) = match def.meta.method {
            Method::Wilson => (p_chart(&num, &den, &opts, direction), m),
            Method::PoissonRate => (u_chart(&num, &den, &opts, direction), m),
            _ => (xmr_chart(&values, &opts, direction), 1.0),
        };
        let Ok(chart) = chart else { continue };
        for (i, p) in idx.iter().zip(&chart.points) {
            let r = &mut rows[*i];
            r.spc_centre = Some(p.centre * scale);
            r.spc_lower = Some(p.lower_limit * scale);
            r.spc_upper = Some(p.upper_limit * scale);
            r.spc_signal = Some(
                match p.variation {
                    Variation::CommonCause => "common_cause",
                    Variation::SpecialCauseImprovement => "special_cause_improvement",
                    Variation::SpecialCauseConcern => "special_cause_concern",
                    _ => "special_cause_neither",
                }
                .to_string(),
            );
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn write_results(
    warehouse: &Warehouse,
    rows: &[IndicatorResult],
    report: &ComputeReport,
    catalogue: &[IndicatorDef],
    options: &ComputeOptions,
) -> Result<(), IndicatorError> {
    let ids: Vec<String> = report.indicators.keys().map(|s| quote(s)).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let (from, to) = (
        report.from.unwrap_or_default(),
        report.to.unwrap_or_default(),
    );
    let spans: Vec<String> = catalogue
        .iter()
        .filter(|d| d.meta.period == PeriodType::Span && report.indicators.contains_key(&d.meta.id))
        .map(|d| quote(&d.meta.id))
        .collect();
    // Recomputing a range replaces exactly the periods it computes — those lying wholly
    // inside it (`period_end` is the inclusive last day) — and span indicators whole.
    let mut predicate = format!(
        "(indicator IN ({}) AND period_start >= DATE '{from}' AND period_end < DATE '{to}')",
        ids.join(", ")
    );
    if !spans.is_empty() {
        predicate.push_str(&format!(" OR indicator IN ({})", spans.join(", ")));
    }
    let batch = to_batch(rows)?;
    warehouse
        .write(
            RESULTS_TABLE,
            results_schema(),
            vec!["indicator".to_string()],
            vec![batch],
            &Replace::Predicate(predicate),
        )
        .await?;
    let _ = options;
    info!(
        rows = rows.len(),
        suppressed = report.suppressed,
        "indicator_results written"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_status_follows_direction_and_corridor() {
        let t = crate::catalogue::Target {
            value: 80.0,
            corridor_low: Some(75.0),
            corridor_high: None,
        };
        assert_eq!(target_status(Direction::HigherIsBetter, t, 81.0), "met");
        assert_eq!(
            target_status(Direction::HigherIsBetter, t, 76.0),
            "within_corridor"
        );
        assert_eq!(target_status(Direction::HigherIsBetter, t, 70.0), "not_met");
        let t = crate::catalogue::Target {
            value: 30.0,
            corridor_low: None,
            corridor_high: Some(33.0),
        };
        assert_eq!(target_status(Direction::LowerIsBetter, t, 29.0), "met");
        assert_eq!(
            target_status(Direction::LowerIsBetter, t, 32.0),
            "within_corridor"
        );
        assert_eq!(target_status(Direction::LowerIsBetter, t, 34.0), "not_met");
    }
}
