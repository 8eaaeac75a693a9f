//! The scheduler: each pipeline on its cron schedule, in its time zone, in one process.
//!
//! One task per pipeline runs its occurrences one after the other, so a pipeline never runs
//! twice at once; between runs the same task watches the pipeline's warehouse and refreshes
//! its metrics when another process changed it (see `watch`). In metrics-only mode the task
//! only watches. A failed run is retried with exponential backoff when the error may be
//! transient (storage, network), recorded in `run_history` and in the metrics, and never
//! stops the scheduler or the other pipelines. SIGTERM or Ctrl-C stops scheduling: a run in
//! progress finishes (its files are loaded atomically, one by one), then the server exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use vigie_model::config::{LoadedPipeline, load_pipeline};
use vigie_warehouse::Warehouse;

use crate::ServeError;
use crate::history::{RunRecord, record_run};
use crate::http::{HttpOptions, serve_http};
use crate::runner::run_pipeline;
use crate::state::ServeState;
use crate::watch::Watcher;

/// How `vigie serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Pipeline files.
    pub pipelines: Vec<PathBuf>,
    /// HTTP settings.
    pub http: HttpOptions,
    /// Whether pipelines run here, or only elsewhere.
    pub mode: RunMode,
    /// How often each pipeline's warehouse is checked for changes made by another process.
    pub watch_interval: Duration,
    /// Attempts per occurrence (1 = no retry).
    pub max_attempts: u32,
    /// First retry delay; doubled at each attempt.
    pub retry_delay: Duration,
}

/// Whether `vigie serve` runs the pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Each pipeline runs on its `schedule` (and once at start-up when `run_on_start`).
    Scheduled {
        /// Run every pipeline once at start-up, before waiting for its schedule.
        run_on_start: bool,
    },
    /// Nothing runs here: runs happen elsewhere (`vigie run` from cron) and the server only
    /// watches the warehouses and exports their metrics.
    MetricsOnly,
}

struct Job {
    pipeline: Arc<LoadedPipeline>,
    watcher: Watcher,
}

/// Whether a failed run is worth another attempt: only when the environment failed (storage,
/// network, the writer lock held by another process). A user's, the data's or a bug's error
/// fails again the same way, so it is recorded once and waits for a person.
fn transient(e: &ServeError) -> bool {
    e.kind().is_transient()
}

async fn run_occurrence(
    job: &mut Job,
    state: &ServeState,
    cancel: &CancellationToken,
    trigger: &str,
    options: &ServeOptions,
) {
    let name = job.pipeline.spec.name.clone();
    let run_id = uuid::Uuid::now_v7().to_string();
    for attempt in 1..=options.max_attempts.max(1) {
        let started = Utc::now();
        let clock = Instant::now();
        let result = run_pipeline(&job.pipeline).await;
        let finished = Utc::now();
        let secs = clock.elapsed().as_secs_f64();
        state
            .durations
            .with_label_values(&[name.as_str()])
            .observe(secs);
        let mut record = RunRecord {
            pipeline: name.clone(),
            run_id: run_id.clone(),
            trigger: trigger.to_string(),
            attempt,
            started_at: started,
            finished_at: finished,
            status: "success".into(),
            error: None,
            files_loaded: 0,
            files_rejected: 0,
            rows_read: 0,
            rows_rejected: 0,
            result_rows: 0,
        };
        let outcome = match result {
            Ok(outcome) => {
                (
                    record.files_loaded,
                    record.files_rejected,
                    record.rows_read,
                    record.rows_rejected,
                ) = outcome.counts();
                record.result_rows = outcome
                    .compute
                    .indicators
                    .values()
                    .map(|(n, _)| *n as i64)
                    .sum();
                state
                    .runs
                    .with_label_values(&[name.as_str(), "success"])
                    .inc();
                state
                    .last_success
                    .with_label_values(&[name.as_str()])
                    .set(finished.timestamp() as f64);
                info!(pipeline = %name, seconds = secs, "run succeeded");
                Ok(())
            }
            Err(e) => {
                record.status = "failure".into();
                record.error = Some(e.to_string());
                state
                    .runs
                    .with_label_values(&[name.as_str(), "failure"])
                    .inc();
                state
                    .last_failure
                    .with_label_values(&[name.as_str()])
                    .set(finished.timestamp() as f64);
                error!(pipeline = %name, attempt, "run failed: {e}");
                Err(e)
            }
        };
        if let Ok(warehouse) = Warehouse::open(&job.pipeline.spec.warehouse)
            && let Err(e) = record_run(&warehouse, &record).await
        {
            warn!(pipeline = %name, "cannot record the run in run_history: {e}");
        }
        match outcome {
            Ok(()) => {
                job.watcher.refresh(state).await;
                return;
            }
            Err(e) if transient(&e) && attempt < options.max_attempts => {
                let delay = options.retry_delay * 2u32.saturating_pow(attempt - 1);
                warn!(pipeline = %name, seconds = delay.as_secs(), "retrying after a transient error");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => return,
                }
            }
            Err(_) => return,
        }
    }
}

/// The next scheduled run of the job, if it has one here.
fn next_run(job: &Job, mode: RunMode) -> Option<chrono::DateTime<Utc>> {
    if mode == RunMode::MetricsOnly {
        return None;
    }
    let schedule = job.pipeline.spec.schedule.as_ref()?;
    match schedule.next_after(Utc::now()) {
        Ok(next) => {
            info!(pipeline = %job.pipeline.spec.name, next = %next, "next run");
            Some(next)
        }
        Err(e) => {
            error!(pipeline = %job.pipeline.spec.name, "{e}");
            None
        }
    }
}

/// Sleeps until `at`, or for ever when there is nothing to wait for.
async fn until(at: Option<chrono::DateTime<Utc>>) {
    match at {
        Some(at) => tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await,
        None => std::future::pending().await,
    }
}

async fn pipeline_loop(
    mut job: Job,
    state: ServeState,
    cancel: CancellationToken,
    options: Arc<ServeOptions>,
) {
    if options.mode == (RunMode::Scheduled { run_on_start: true }) {
        run_occurrence(&mut job, &state, &cancel, "startup", &options).await;
    }
    let mut watch = tokio::time::interval(options.watch_interval);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: the start-up refresh has just been done.
    watch.tick().await;
    let mut next = next_run(&job, options.mode);
    loop {
        tokio::select! {
            () = until(next) => {
                // A run in progress is not interrupted by a shutdown request: it finishes.
                run_occurrence(&mut job, &state, &cancel, "schedule", &options).await;
                next = next_run(&job, options.mode);
            }
            _ = watch.tick() => job.watcher.refresh_if_changed(&state).await,
            () = cancel.cancelled() => return,
        }
        if cancel.is_cancelled() {
            return;
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the scheduler and the HTTP endpoints until SIGTERM or Ctrl-C.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    // Bad HTTP settings fail at start-up, not after the pipelines have loaded.
    options.http.validate()?;
    if options.watch_interval.is_zero() {
        return Err(ServeError::Limits(
            "the watch interval must be longer than zero",
        ));
    }
    let mut jobs: Vec<Job> = Vec::new();
    for path in &options.pipelines {
        // The schedule was parsed, and checked to fire, when the pipeline was loaded.
        let pipeline = load_pipeline(path).map_err(vigie_pipeline::PipelineError::from)?;
        let name = &pipeline.spec.name;
        if let Some(other) = jobs.iter().find(|j| &j.pipeline.spec.name == name) {
            return Err(ServeError::DuplicatePipeline {
                name: name.clone(),
                first: other.pipeline.path.display().to_string(),
                second: path.display().to_string(),
            });
        }
        if pipeline.spec.schedule.is_none() && options.mode != RunMode::MetricsOnly {
            warn!(pipeline = %name, "no `schedule`: the pipeline runs only at start-up (--run-on-start)");
        }
        let pipeline = Arc::new(pipeline);
        jobs.push(Job {
            watcher: Watcher::new(pipeline.clone()),
            pipeline,
        });
    }
    let state = ServeState::new()?;
    for job in &mut jobs {
        state.add_pipeline(&job.pipeline.spec.name);
        job.watcher.refresh(&state).await;
    }
    state.ready.store(true, std::sync::atomic::Ordering::SeqCst);
    state.scheduler_up.set(1.0);
    let cancel = CancellationToken::new();
    let http_cancel = CancellationToken::new();
    let http = tokio::spawn(serve_http(
        state.clone(),
        options.http.clone(),
        http_cancel.clone(),
    ));
    let options = Arc::new(options);
    let loops: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            tokio::spawn(pipeline_loop(
                job,
                state.clone(),
                cancel.clone(),
                options.clone(),
            ))
        })
        .collect();
    tokio::select! {
        _ = shutdown_signal() => info!("shutdown requested: finishing the runs in progress"),
        result = http => {
            cancel.cancel();
            return match result {
                Ok(r) => r,
                Err(e) => Err(ServeError::Listen { address: options.http.listen.to_string(), source: std::io::Error::other(e) }),
            };
        }
    }
    cancel.cancel();
    for l in loops {
        let _ = l.await;
    }
    state.scheduler_up.set(0.0);
    http_cancel.cancel();
    info!("scheduler stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::{ConfigError, ConfigProblem};
    use vigie_pipeline::PipelineError;

    fn config_error() -> ConfigError {
        ConfigError::Invalid(vec![ConfigProblem {
            file: "p.yaml".into(),
            line: Some(3),
            key: "sources".into(),
            message: "bad".into(),
        }])
    }

    #[test]
    fn only_environment_failures_are_retried() {
        let busy = vigie_warehouse::WarehouseError::Busy {
            location: "w".into(),
            holder: None,
        };
        assert!(transient(&ServeError::from(PipelineError::from(busy))));
        let landing = PipelineError::Landing {
            location: "l".into(),
            message: "connection reset".into(),
        };
        assert!(transient(&landing.into()));
        let staging = PipelineError::Io {
            what: "cannot create a staging directory".into(),
            source: std::io::Error::other("disk full"),
        };
        assert!(transient(&staging.into()));
        // The user's configuration, through every wrapper, is never retried.
        assert!(!transient(&PipelineError::Config(config_error()).into()));
        let catalogue = vigie_indicators::IndicatorError::Catalogue(config_error());
        assert!(!transient(&ServeError::from(catalogue)));
        let period = vigie_report::ReportError::InvalidPeriod {
            input: "2025Q5".into(),
            message: "no".into(),
        };
        assert!(!transient(&PipelineError::from(period).into()));
        // Neither is a bug.
        assert!(!transient(&PipelineError::Internal("x".into()).into()));
        assert!(!transient(&ServeError::BearerToken("is empty")));
    }
}
