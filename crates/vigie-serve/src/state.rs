//! What the server knows between scrapes: run metrics (a persistent registry) and the
//! latest indicator and warehouse metrics (a registry rebuilt after each run).

use std::sync::{Arc, RwLock};

use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::names;

/// Shared server state.
#[derive(Clone)]
pub struct ServeState {
    /// Runtime metrics: runs, durations, last success/failure, scheduler up.
    pub runtime: Registry,
    /// Indicator and warehouse metrics, replaced whole after each refresh.
    pub snapshot: Arc<RwLock<Registry>>,
    /// Whether the first snapshot has been loaded (`/readyz`).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// Runs by pipeline and status.
    pub runs: IntCounterVec,
    /// Run durations by pipeline.
    pub durations: HistogramVec,
    /// Last success by pipeline.
    pub last_success: prometheus::GaugeVec,
    /// Last failure by pipeline.
    pub last_failure: prometheus::GaugeVec,
    /// Scheduler running.
    pub scheduler_up: Gauge,
}

impl ServeState {
    /// Fresh state with the runtime metrics registered.
    pub fn new() -> Result<Self, prometheus::Error> {
        let runtime = Registry::new();
        let runs = IntCounterVec::new(
            Opts::new(
                names::PIPELINE_RUNS,
                "Pipeline runs since the server started, by outcome.",
            ),
            &["pipeline", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                names::PIPELINE_RUN_DURATION,
                "Duration of pipeline runs (ingest and compute).",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
            ]),
            &["pipeline"],
        )?;
        let last_success = prometheus::GaugeVec::new(
            Opts::new(
                names::PIPELINE_LAST_SUCCESS,
                "End of the last successful run (Unix time).",
            ),
            &["pipeline"],
        )?;
        let last_failure = prometheus::GaugeVec::new(
            Opts::new(
                names::PIPELINE_LAST_FAILURE,
                "End of the last failed run (Unix time).",
            ),
            &["pipeline"],
        )?;
        let scheduler_up = Gauge::new(names::SCHEDULER_UP, "1 while the scheduler runs.")?;
        runtime.register(Box::new(runs.clone()))?;
        runtime.register(Box::new(durations.clone()))?;
        runtime.register(Box::new(last_success.clone()))?;
        runtime.register(Box::new(last_failure.clone()))?;
        runtime.register(Box::new(scheduler_up.clone()))?;
        Ok(ServeState {
            runtime,
            snapshot: Arc::new(RwLock::new(Registry::new())),
            ready: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            runs,
            durations,
            last_success,
            last_failure,
            scheduler_up,
        })
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut families = self.runtime.gather();
        if let Ok(snapshot) = self.snapshot.read() {
            families.extend(snapshot.gather());
        }
        let mut out = String::new();
        if prometheus::TextEncoder::new()
            .encode_utf8(&families, &mut out)
            .is_err()
        {
            out.clear();
        }
        out
    }
}
