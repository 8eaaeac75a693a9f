//! Keeping each pipeline's metrics current when its warehouse changes through another
//! process (a cron-driven `vigie run`, a `vigie compute` by hand): the server checks the
//! versions of the load manifest and of `indicator_results` at an interval, and rebuilds
//! the pipeline's metrics when either moved. A refresh that fails leaves the last metrics
//! in place, marks the pipeline (`/readyz` answers 503) and is tried again at the next
//! check, whatever the versions.

use std::sync::Arc;

use tracing::{info, warn};
use vigie_indicators::RESULTS_TABLE;
use vigie_model::config::LoadedPipeline;
use vigie_warehouse::{MANIFEST_TABLE, Warehouse};

use crate::ServeError;
use crate::exporter::{PipelineMetricsInput, refresh_indicators};
use crate::state::ServeState;

/// The versions that say whether a warehouse holds new data for the metrics: a new load
/// commits a manifest entry, a new compute commits `indicator_results`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarehouseVersions {
    /// Latest load manifest version (None: nothing loaded yet).
    pub manifest: Option<u64>,
    /// Latest `indicator_results` version (None: nothing computed yet).
    pub results: Option<u64>,
}

impl WarehouseVersions {
    /// Reads both versions.
    pub async fn read(warehouse: &Warehouse) -> Result<Self, ServeError> {
        Ok(WarehouseVersions {
            manifest: warehouse.table_version(MANIFEST_TABLE).await?,
            results: warehouse.table_version(RESULTS_TABLE).await?,
        })
    }
}

/// One pipeline's metrics and the warehouse versions they were built from.
pub(crate) struct Watcher {
    pipeline: Arc<LoadedPipeline>,
    /// None: never refreshed, or the last refresh failed.
    seen: Option<WarehouseVersions>,
}

impl Watcher {
    pub(crate) fn new(pipeline: Arc<LoadedPipeline>) -> Self {
        Watcher {
            pipeline,
            seen: None,
        }
    }

    fn name(&self) -> &str {
        &self.pipeline.spec.name
    }

    /// Rebuilds the pipeline's metrics now (after its own run, at start-up).
    pub(crate) async fn refresh(&mut self, state: &ServeState) {
        let outcome = match Warehouse::open(&self.pipeline.spec.warehouse) {
            Ok(warehouse) => self.rebuild(state, &warehouse).await,
            Err(e) => Err(e.into()),
        };
        self.record(state, outcome);
    }

    /// Rebuilds the pipeline's metrics if its warehouse changed since they were built, or
    /// if the last refresh failed.
    pub(crate) async fn refresh_if_changed(&mut self, state: &ServeState) {
        let outcome = match Warehouse::open(&self.pipeline.spec.warehouse) {
            Ok(warehouse) => match WarehouseVersions::read(&warehouse).await {
                Ok(now) if Some(now) == self.seen => return,
                Ok(_) => {
                    info!(pipeline = %self.name(), "the warehouse changed: refreshing the metrics");
                    self.rebuild(state, &warehouse).await
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        };
        self.record(state, outcome);
    }

    /// The versions are read first: a commit that lands during the rebuild makes the next
    /// check refresh again rather than being missed.
    async fn rebuild(
        &self,
        state: &ServeState,
        warehouse: &Warehouse,
    ) -> Result<WarehouseVersions, ServeError> {
        let versions = WarehouseVersions::read(warehouse).await?;
        let catalogue = vigie_indicators::load_catalogue(&self.pipeline.queries_dir())
            .map_err(vigie_pipeline::PipelineError::from)?;
        let disclosure = self.pipeline.disclosure();
        let sources: Vec<_> = self
            .pipeline
            .sources
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        let input = PipelineMetricsInput {
            pipeline: self.name(),
            warehouse,
            catalogue: &catalogue,
            disclosure: &disclosure,
            sources: &sources,
        };
        refresh_indicators(state, &input).await?;
        Ok(versions)
    }

    fn record(&mut self, state: &ServeState, outcome: Result<WarehouseVersions, ServeError>) {
        match outcome {
            Ok(versions) => self.seen = Some(versions),
            Err(e) => {
                warn!(pipeline = %self.name(), "cannot refresh the metrics: {e}");
                state.refresh_failed(self.name());
                self.seen = None;
            }
        }
    }
}
