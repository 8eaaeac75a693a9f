//! The compute step: the pipeline's indicator catalogue over its warehouse.

use chrono::NaiveDate;
use vigie_indicators::{ComputeOptions, ComputeReport, compute as run_catalogue, load_catalogue};
use vigie_model::config::LoadedPipeline;
use vigie_warehouse::SessionOptions;

use crate::error::PipelineError;

/// Overrides of the pipeline's indicator settings, from the command line.
#[derive(Debug, Clone, Default)]
pub struct ComputeOverrides {
    /// Warehouse location instead of the pipeline's.
    pub warehouse: Option<String>,
    /// Only these indicators.
    pub only: Vec<String>,
    /// First day computed.
    pub from: Option<NaiveDate>,
    /// Day after the last day computed.
    pub to: Option<NaiveDate>,
}

/// Runs the catalogue and writes `indicator_results` (and the restricted worklist).
pub async fn compute(
    pipeline: &LoadedPipeline,
    overrides: &ComputeOverrides,
) -> Result<ComputeReport, PipelineError> {
    let spec = &pipeline.spec.indicators;
    let queries_dir = pipeline.queries_dir();
    let catalogue = load_catalogue(&queries_dir)?;
    let from = overrides.from.or(spec.from.map(|m| m.first_day()));
    let options = ComputeOptions {
        warehouse: overrides
            .warehouse
            .clone()
            .unwrap_or_else(|| pipeline.spec.warehouse.clone()),
        include: if overrides.only.is_empty() {
            spec.include.clone()
        } else {
            overrides.only.clone()
        },
        from,
        // A month given on the command line recomputes recent periods; the pipeline's own
        // `from` only starts its horizon.
        recompute: overrides.from.is_some(),
        to: overrides.to,
        disclosure: pipeline.disclosure(),
        replicates: spec.bootstrap_replicates,
        seed: spec.bootstrap_seed,
        session: SessionOptions {
            memory_limit_bytes: spec.memory_limit_mib << 20,
            ..SessionOptions::default()
        },
        spc_min_points: spec.spc_min_points,
        evaluation: pipeline.spec.evaluation,
        queries_dir,
        instruments: pipeline.instruments(),
        equity_enabled: pipeline.spec.equity.enabled.clone(),
    };
    vigie_indicators::strata::load_strata(&options.queries_dir)?
        .check_enabled(&options.equity_enabled, &pipeline.path)?;
    // Results are a table of the warehouse: one writer at a time, like loads.
    let warehouse = vigie_warehouse::Warehouse::open_existing(&options.warehouse)?;
    let lock = warehouse
        .lock_writer(
            "compute",
            std::time::Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    // The catalogue joins persons on their numbers: a warehouse loaded before they existed
    // is numbered first.
    crate::migrate::number_persons(&warehouse, &lock).await?;
    let report = run_catalogue(&catalogue, &options).await?;
    lock.release().await?;
    Ok(report)
}
