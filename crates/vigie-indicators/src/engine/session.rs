//! The indicator session: the latest snapshot, the helper functions and the data span.

use chrono::{Datelike, Months, NaiveDate, Utc};
use datafusion::prelude::SessionContext;
use vigie_warehouse::{SessionOptions, Warehouse};

use std::sync::Arc;

use vigie_model::config::Instrument;

use super::person_view::{
    PERSON_VIEW_TABLES, StrataRun, population_groups_sql, population_month_sql,
    register_person_view,
};
use crate::conditions::Conditions;
use crate::error::IndicatorError;
use crate::{functions, survey};

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

pub(crate) async fn run_sql(
    ctx: &SessionContext,
    indicator: &str,
    sql: &str,
) -> Result<Vec<arrow::record_batch::RecordBatch>, IndicatorError> {
    let err = |source| IndicatorError::Query {
        indicator: indicator.to_string(),
        source,
    };
    let frame = ctx.sql(sql).await.map_err(err)?;
    if !tracing::enabled!(tracing::Level::TRACE) {
        return frame.collect().await.map_err(err);
    }
    // At trace level, the plan DataFusion ran, with each operator's rows and time: where a
    // slow indicator spends its time, in the session it really ran in (a weekly refresh's
    // narrowed tables included), which `vigie query "EXPLAIN ANALYZE …"` cannot show.
    let task = frame.task_ctx();
    let plan = frame.create_physical_plan().await.map_err(err)?;
    let batches = datafusion::physical_plan::collect(plan.clone(), Arc::new(task))
        .await
        .map_err(err)?;
    tracing::trace!(
        indicator,
        plan = %datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
            plan.as_ref()
        )
        .indent(true),
        "executed plan"
    );
    Ok(batches)
}

/// What a run's sessions register besides the warehouse: the survey instruments' tables,
/// the condition groups (`vigie_condition`) and the strata `person` carries.
pub(crate) struct SessionExtras<'a> {
    /// The pipeline's survey instruments.
    pub instruments: &'a [Arc<Instrument>],
    /// The condition groups.
    pub conditions: &'a Conditions,
    /// The strata of the run.
    pub strata: &'a StrataRun,
    /// The first month `population_month` holds: a recompute's narrowed periods never read
    /// an earlier one (None: every month of the calendar).
    pub population_from: Option<NaiveDate>,
}

/// A session over the latest snapshot with the helper functions (`vigie_condition` among
/// them), the calendar and the survey instruments' tables registered, and `person` carrying
/// the strata of the run (see [`super::person_view`]).
pub(crate) async fn indicator_session(
    warehouse: &Warehouse,
    options: &SessionOptions,
    span: Option<(NaiveDate, NaiveDate)>,
    extras: &SessionExtras<'_>,
) -> Result<(SessionContext, Option<(NaiveDate, NaiveDate)>), IndicatorError> {
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse.session(&snapshot, options).await?;
    let person_view = register_person_view(&ctx, extras.strata).await?;
    let span = match span {
        Some(s) => Some(s),
        None => data_span(&ctx).await?,
    };
    let (from, to) = span.unwrap_or((NaiveDate::default(), NaiveDate::default()));
    functions::register(&ctx, from, to).map_err(|e| IndicatorError::Internal(e.to_string()))?;
    ctx.register_udf(extras.conditions.udf());
    survey::register_instruments(&ctx, extras.instruments)
        .map_err(|e| IndicatorError::Internal(e.to_string()))?;
    let t = std::time::Instant::now();
    let (groups_cached, views) =
        register_population_groups(warehouse, &snapshot, &ctx, &person_view, extras.strata).await?;
    run_sql(
        &ctx,
        "population_month",
        &population_month_sql(extras.strata, extras.population_from, &views),
    )
    .await?;
    ctx.deregister_table(POPULATION_GROUPS)
        .map_err(|e| IndicatorError::Internal(e.to_string()))?;
    tracing::debug!(
        seconds = t.elapsed().as_secs_f64(),
        groups_cached,
        "population_month built"
    );
    Ok((ctx, span))
}

/// The name of `population_month`'s groups, in the session and in the warehouse's cache.
const POPULATION_GROUPS: &str = "population_groups";

/// Registers `population_groups`: read from the warehouse's cache when an earlier run built
/// them from the same registry, attributes and strata, else built (grouping every registry
/// row through the person view's joins: a province's weekly refresh spent a third of its
/// compute there, for groups that change only when the registry does) and cached. Returns
/// whether they came from the cache, and their columns of string views.
async fn register_population_groups(
    warehouse: &Warehouse,
    snapshot: &vigie_warehouse::Snapshot,
    ctx: &SessionContext,
    person_view: &str,
    strata: &StrataRun,
) -> Result<(bool, Vec<String>), IndicatorError> {
    let internal = |e: datafusion::error::DataFusionError| IndicatorError::Internal(e.to_string());
    let sql = population_groups_sql(strata);
    // What the groups are made from: the statements, and the version of every table they
    // read (a table never loaded has none). A compaction's new version of the same rows
    // only costs one rebuild.
    let mut identity = format!("{person_view}\n{sql}\n");
    for table in PERSON_VIEW_TABLES {
        let version = snapshot.tables.get(table).map(|v| v.to_string());
        identity.push_str(&format!("{table}@{}\n", version.as_deref().unwrap_or("-")));
    }
    let (schema, batches, from_cache) =
        match warehouse.read_cached(POPULATION_GROUPS, &identity).await {
            Some(batches) if !batches.is_empty() => (batches[0].schema(), batches, true),
            _ => {
                let frame = ctx
                    .sql(&sql)
                    .await
                    .map_err(|source| IndicatorError::Query {
                        indicator: "population_month".into(),
                        source,
                    })?;
                let schema = Arc::new(frame.schema().as_arrow().clone());
                let batches = run_sql(ctx, "population_month", &sql).await?;
                if let Err(e) = warehouse
                    .write_cached(POPULATION_GROUPS, &identity, schema.clone(), &batches)
                    .await
                {
                    tracing::warn!(
                        "population groups not cached, the next run rebuilds them / groupes de \
                     population non mis en cache, le prochain calcul les refera : {e}"
                    );
                }
                (schema, batches, false)
            }
        };
    let views = schema
        .fields()
        .iter()
        .filter(|f| f.data_type() == &arrow::datatypes::DataType::Utf8View)
        .map(|f| f.name().clone())
        .collect();
    let table =
        datafusion::datasource::MemTable::try_new(schema, vec![batches]).map_err(internal)?;
    ctx.register_table(POPULATION_GROUPS, Arc::new(table))
        .map_err(internal)?;
    Ok((from_cache, views))
}
