//! `vigie serve`: runs pipelines on their cron schedules in one process and exposes
//! `/metrics` (Prometheus), `/healthz` and `/readyz`, with timeouts and a connection cap
//! against hostile clients; also the OpenMetrics history export.
//!
//! Several pipelines (regions) share one server: each has its own metrics snapshot, merged
//! at scrape time, and every indicator and source series carries its `pipeline` label. Each
//! pipeline's warehouse is watched, so runs started elsewhere (cron, by hand) reach
//! `/metrics` without a restart.
//!
//! The scheduler calls the same pipeline runner as `vigie run`; it holds no pipeline logic.
//! Indicator metrics are read through the disclosure gate (`published_results`): a
//! suppressed cell is absent from `/metrics`, never zero.

mod conn;
mod exporter;
mod history;
mod http;
pub mod names;
mod openmetrics;
mod runner;
mod scheduler;
mod state;
mod watch;

pub use conn::HttpLimits;
pub use exporter::{PipelineMetricsInput, refresh_indicators};
pub use history::{RUN_HISTORY_TABLE, RunRecord, record_run};
pub use http::{HttpOptions, check_bearer_token, serve_http};
pub use openmetrics::export_openmetrics;
pub use runner::{RunOutcome, run_pipeline};
pub use scheduler::{RunMode, ServeOptions, serve};
pub use state::{BUILD_COMMIT, BUILD_VERSION, ServeState};
pub use watch::WarehouseVersions;

/// Errors of the serve crate.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The HTTP listener failed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bearer token cannot be used (the operator fixes the token file or variable).
    #[error("the bearer token {0}")]
    BearerToken(&'static str),
    /// The HTTP timeouts or connection cap cannot work.
    #[error("HTTP limits: {0}")]
    Limits(&'static str),
    /// Two pipeline files have the same `name`: their series would mix under one label.
    #[error(
        "two pipelines are named \"{name}\" ({first}, {second}): give each a distinct `name` / deux pipelines portent le nom « {name} » : donnez à chacun un `name` distinct"
    )]
    DuplicatePipeline {
        /// The shared name.
        name: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A pipeline step failed.
    #[error(transparent)]
    Pipeline(#[from] Box<vigie_pipeline::PipelineError>),
    /// Reading results failed.
    #[error(transparent)]
    Indicators(#[from] Box<vigie_indicators::IndicatorError>),
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] Box<vigie_warehouse::WarehouseError>),
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Metrics could not be registered (a bug).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl ServeError {
    /// Who must act; a wrapped error keeps its own kind.
    pub fn kind(&self) -> vigie_model::ErrorKind {
        use vigie_model::ErrorKind;
        match self {
            ServeError::Listen { .. } | ServeError::Io { .. } => ErrorKind::Environment,
            ServeError::BearerToken(_)
            | ServeError::Limits(_)
            | ServeError::DuplicatePipeline { .. } => ErrorKind::User,
            ServeError::Pipeline(e) => e.kind(),
            ServeError::Indicators(e) => e.kind(),
            ServeError::Warehouse(e) => e.kind(),
            ServeError::Metrics(_) => ErrorKind::Bug,
        }
    }
}

impl From<vigie_pipeline::PipelineError> for ServeError {
    fn from(e: vigie_pipeline::PipelineError) -> Self {
        ServeError::Pipeline(Box::new(e))
    }
}
impl From<vigie_indicators::IndicatorError> for ServeError {
    fn from(e: vigie_indicators::IndicatorError) -> Self {
        ServeError::Indicators(Box::new(e))
    }
}
impl From<vigie_warehouse::WarehouseError> for ServeError {
    fn from(e: vigie_warehouse::WarehouseError) -> Self {
        ServeError::Warehouse(Box::new(e))
    }
}
