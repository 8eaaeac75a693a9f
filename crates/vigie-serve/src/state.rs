//! What the server knows between scrapes: run metrics (a persistent registry) and, for each
//! pipeline, its latest indicator and warehouse metrics (a registry rebuilt at each refresh
//! of that pipeline only). A scrape merges them, so refreshing one region never hides
//! another.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use prometheus::proto::MetricFamily;
use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use crate::names;

/// The version of the running binary, and its commit when the build set
/// `VIGIE_BUILD_COMMIT` (e.g. `VIGIE_BUILD_COMMIT=$(git rev-parse --short HEAD) cargo build`).
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");
/// See [`BUILD_VERSION`]; "unknown" when the build did not say.
pub const BUILD_COMMIT: &str = match option_env!("VIGIE_BUILD_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// Run outcomes, each counter created at zero for every pipeline.
const RUN_STATUSES: [&str; 2] = ["success", "failure"];

/// Shared server state.
#[derive(Clone)]
pub struct ServeState {
    /// Runtime metrics: runs, durations, last success/failure, scheduler up, build info.
    pub runtime: Registry,
    /// Indicator and warehouse metrics of each pipeline (by name), each replaced whole at
    /// that pipeline's refresh.
    snapshots: Arc<RwLock<BTreeMap<String, Registry>>>,
    /// Pipelines whose latest refresh failed (`/readyz` answers 503 while any does).
    failing: Arc<RwLock<BTreeSet<String>>>,
    /// Whether the start-up refreshes have been tried (`/readyz`).
    pub ready: Arc<AtomicBool>,
    /// Runs by pipeline and status.
    pub runs: IntCounterVec,
    /// Run durations by pipeline.
    pub durations: HistogramVec,
    /// Last success by pipeline.
    pub last_success: GaugeVec,
    /// Last failure by pipeline.
    pub last_failure: GaugeVec,
    /// 1 while a pipeline's latest metrics refresh failed.
    refresh_failing: IntGaugeVec,
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
            &[names::PIPELINE_LABEL, "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                names::PIPELINE_RUN_DURATION,
                "Duration of pipeline runs (ingest and compute).",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
            ]),
            &[names::PIPELINE_LABEL],
        )?;
        let last_success = GaugeVec::new(
            Opts::new(
                names::PIPELINE_LAST_SUCCESS,
                "End of the last successful run (Unix time).",
            ),
            &[names::PIPELINE_LABEL],
        )?;
        let last_failure = GaugeVec::new(
            Opts::new(
                names::PIPELINE_LAST_FAILURE,
                "End of the last failed run (Unix time).",
            ),
            &[names::PIPELINE_LABEL],
        )?;
        let refresh_failing = IntGaugeVec::new(
            Opts::new(
                names::PIPELINE_REFRESH_FAILING,
                "1 while the latest refresh of the pipeline's metrics from its warehouse failed.",
            ),
            &[names::PIPELINE_LABEL],
        )?;
        let build_info = GaugeVec::new(
            Opts::new(
                names::BUILD_INFO,
                "Always 1; the labels give the version and commit of the running vigie.",
            ),
            &["version", "commit"],
        )?;
        build_info
            .with_label_values(&[BUILD_VERSION, BUILD_COMMIT])
            .set(1.0);
        let scheduler_up = Gauge::new(names::SCHEDULER_UP, "1 while the scheduler runs.")?;
        runtime.register(Box::new(runs.clone()))?;
        runtime.register(Box::new(durations.clone()))?;
        runtime.register(Box::new(last_success.clone()))?;
        runtime.register(Box::new(last_failure.clone()))?;
        runtime.register(Box::new(refresh_failing.clone()))?;
        runtime.register(Box::new(build_info))?;
        runtime.register(Box::new(scheduler_up.clone()))?;
        Ok(ServeState {
            runtime,
            snapshots: Arc::default(),
            failing: Arc::default(),
            ready: Arc::new(AtomicBool::new(false)),
            runs,
            durations,
            last_success,
            last_failure,
            refresh_failing,
            scheduler_up,
        })
    }

    /// Creates the series of a served pipeline at zero (run counters, the duration
    /// histogram, the refresh flag), so that `increase()` sees its first run and dashboards
    /// show 0 rather than "No data".
    pub fn add_pipeline(&self, pipeline: &str) {
        for status in RUN_STATUSES {
            self.runs.with_label_values(&[pipeline, status]).inc_by(0);
        }
        let _ = self.durations.with_label_values(&[pipeline]);
        self.refresh_failing.with_label_values(&[pipeline]).set(0);
    }

    /// Replaces the metrics of `pipeline` by a freshly built registry; its refresh works.
    pub fn set_snapshot(&self, pipeline: &str, registry: Registry) {
        if let Ok(mut snapshots) = self.snapshots.write() {
            snapshots.insert(pipeline.to_string(), registry);
        }
        if let Ok(mut failing) = self.failing.write() {
            failing.remove(pipeline);
        }
        self.refresh_failing.with_label_values(&[pipeline]).set(0);
    }

    /// Records that refreshing `pipeline` failed: its last metrics stay, `/readyz` fails.
    pub fn refresh_failed(&self, pipeline: &str) {
        if let Ok(mut failing) = self.failing.write() {
            failing.insert(pipeline.to_string());
        }
        self.refresh_failing.with_label_values(&[pipeline]).set(1);
    }

    /// The pipelines whose latest refresh failed.
    pub fn failing_refreshes(&self) -> Vec<String> {
        self.failing
            .read()
            .map(|f| f.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Ready: the start-up refreshes were tried and no pipeline's latest refresh failed.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && self.failing_refreshes().is_empty()
    }

    /// Every metric family: the runtime ones and each pipeline's, a family present in
    /// several pipelines merged into one (one HELP and TYPE per name, as the exposition
    /// format requires).
    fn gather(&self) -> Vec<MetricFamily> {
        let mut merged: BTreeMap<String, MetricFamily> = BTreeMap::new();
        let mut add = |families: Vec<MetricFamily>| {
            for mut family in families {
                match merged.get_mut(family.name()) {
                    Some(known) => known.mut_metric().extend(family.take_metric()),
                    None => {
                        merged.insert(family.name().to_string(), family);
                    }
                }
            }
        };
        add(self.runtime.gather());
        if let Ok(snapshots) = self.snapshots.read() {
            for registry in snapshots.values() {
                add(registry.gather());
            }
        }
        merged.into_values().collect()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let families = self.gather();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(pipeline: &str, value: f64) -> Registry {
        let registry = Registry::new();
        let g = GaugeVec::new(
            Opts::new(names::INDICATOR_VALUE, "v."),
            &[names::PIPELINE_LABEL],
        )
        .expect("gauge");
        g.with_label_values(&[pipeline]).set(value);
        registry.register(Box::new(g)).expect("register");
        registry
    }

    #[test]
    fn each_pipeline_keeps_its_series_when_another_refreshes() {
        let state = ServeState::new().expect("state");
        state.add_pipeline("nord");
        state.add_pipeline("sud");
        state.set_snapshot("nord", snapshot("nord", 1.0));
        state.set_snapshot("sud", snapshot("sud", 2.0));
        state.set_snapshot("nord", snapshot("nord", 3.0));
        let text = state.render();
        assert!(
            text.contains("vigie_indicator_value{pipeline=\"nord\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("vigie_indicator_value{pipeline=\"sud\"} 2"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE vigie_indicator_value gauge").count(),
            1,
            "one family: {text}"
        );
        for p in ["nord", "sud"] {
            for status in RUN_STATUSES {
                let line =
                    format!("vigie_pipeline_runs_total{{pipeline=\"{p}\",status=\"{status}\"}} 0");
                assert!(text.contains(&line), "{line} in {text}");
            }
        }
        assert!(text.contains(&format!(
            "vigie_build_info{{commit=\"{BUILD_COMMIT}\",version=\"{BUILD_VERSION}\"}} 1"
        )));
    }

    #[test]
    fn readiness_fails_while_a_refresh_fails() {
        let state = ServeState::new().expect("state");
        assert!(!state.is_ready(), "not before the start-up refreshes");
        state.ready.store(true, Ordering::SeqCst);
        assert!(state.is_ready());
        state.refresh_failed("sud");
        assert!(!state.is_ready());
        assert!(
            state
                .render()
                .contains("vigie_pipeline_metrics_refresh_failing{pipeline=\"sud\"} 1")
        );
        state.set_snapshot("sud", snapshot("sud", 1.0));
        assert!(state.is_ready());
        assert_eq!(state.failing_refreshes(), Vec::<String>::new());
    }
}
