//! The scheduler: each pipeline on its cron schedule, in its time zone, in one process.
//!
//! One task per pipeline runs its occurrences one after the other, so a pipeline never runs
//! twice at once. A failed run is retried with exponential backoff when the error may be
//! transient (storage, network), recorded in `run_history` and in the metrics, and never
//! stops the scheduler or the other pipelines. SIGTERM or Ctrl-C stops scheduling: a run in
//! progress finishes (its files are loaded atomically, one by one), then the server exits.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use vigie_model::config::{LoadedPipeline, load_pipeline};
use vigie_warehouse::Warehouse;

use crate::ServeError;
use crate::exporter::refresh_indicators;
use crate::history::{RunRecord, record_run};
use crate::http::{HttpOptions, serve_http};
use crate::runner::run_pipeline;
use crate::state::ServeState;

/// How `vigie serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Pipeline files.
    pub pipelines: Vec<PathBuf>,
    /// HTTP settings.
    pub http: HttpOptions,
    /// Run every pipeline once at start-up, before waiting for its schedule.
    pub run_on_start: bool,
    /// Attempts per occurrence (1 = no retry).
    pub max_attempts: u32,
    /// First retry delay; doubled at each attempt.
    pub retry_delay: Duration,
}

/// The next occurrence of a cron expression in a time zone, strictly after `after`.
pub fn next_run(cron: &str, timezone: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let tz: Tz = timezone
        .parse()
        .map_err(|_| format!("unknown time zone \"{timezone}\""))?;
    let cron =
        Cron::from_str(cron).map_err(|e| format!("invalid cron expression \"{cron}\": {e}"))?;
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("no next occurrence: {e}"))
}

struct Job {
    pipeline: Arc<LoadedPipeline>,
    schedule: Option<(String, String)>,
}

fn transient(e: &ServeError) -> bool {
    use vigie_pipeline::PipelineError as P;
    match e {
        ServeError::Pipeline(p) => !matches!(**p, P::Config(_) | P::Key(_)),
        ServeError::Schedule { .. } => false,
        _ => true,
    }
}

async fn refresh(state: &ServeState, pipeline: &LoadedPipeline) -> Result<(), ServeError> {
    let warehouse = Warehouse::open(&pipeline.spec.warehouse)?;
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())
        .map_err(vigie_pipeline::PipelineError::from)?;
    let disclosure = pipeline.disclosure();
    let sources: Vec<_> = pipeline.sources.iter().map(|(_, s)| s.clone()).collect();
    refresh_indicators(state, &warehouse, &catalogue, &disclosure, &sources).await
}

async fn run_occurrence(
    job: &Job,
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
                if let Err(e) = refresh(state, &job.pipeline).await {
                    warn!(pipeline = %name, "cannot refresh the metrics: {e}");
                }
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

async fn pipeline_loop(
    job: Job,
    state: ServeState,
    cancel: CancellationToken,
    options: Arc<ServeOptions>,
) {
    if options.run_on_start {
        run_occurrence(&job, &state, &cancel, "startup", &options).await;
    }
    let Some((cron, tz)) = job.schedule.clone() else {
        return;
    };
    loop {
        let next = match next_run(&cron, &tz, Utc::now()) {
            Ok(n) => n,
            Err(e) => {
                error!(pipeline = %job.pipeline.spec.name, "{e}");
                return;
            }
        };
        info!(pipeline = %job.pipeline.spec.name, next = %next, "next run");
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => return,
        }
        // A run in progress is not interrupted by a shutdown request: it finishes.
        run_occurrence(&job, &state, &cancel, "schedule", &options).await;
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
    let mut jobs = Vec::new();
    for path in &options.pipelines {
        let pipeline = load_pipeline(path).map_err(vigie_pipeline::PipelineError::from)?;
        let schedule = pipeline
            .spec
            .schedule
            .as_ref()
            .map(|s| (s.cron.clone(), s.timezone.clone()));
        if let Some((cron, tz)) = &schedule {
            next_run(cron, tz, Utc::now()).map_err(|message| ServeError::Schedule {
                pipeline: path.display().to_string(),
                message,
            })?;
        } else {
            warn!(pipeline = %pipeline.spec.name, "no `schedule`: the pipeline runs only at start-up (--run-on-start)");
        }
        jobs.push(Job {
            pipeline: Arc::new(pipeline),
            schedule,
        });
    }
    let state = ServeState::new()?;
    for job in &jobs {
        if let Err(e) = refresh(&state, &job.pipeline).await {
            warn!(pipeline = %job.pipeline.spec.name, "no metrics yet from the warehouse: {e}");
        }
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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn weekly_schedule_in_toronto_follows_daylight_saving() {
        // Monday 06:00 in Toronto is 11:00 UTC in winter (EST) and 10:00 UTC in summer (EDT).
        let winter = next_run(
            "0 6 * * MON",
            "America/Toronto",
            utc("2025-01-01T00:00:00Z"),
        );
        assert_eq!(winter, Ok(utc("2025-01-06T11:00:00Z")));
        let summer = next_run(
            "0 6 * * MON",
            "America/Toronto",
            utc("2025-07-01T00:00:00Z"),
        );
        assert_eq!(summer, Ok(utc("2025-07-07T10:00:00Z")));
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_still_runs_that_day() {
        // 2025-03-09 02:30 does not exist in Toronto (clocks jump from 02:00 to 03:00);
        // the daily run must not skip the day.
        let next = next_run("30 2 * * *", "America/Toronto", utc("2025-03-09T05:00:00Z"));
        let next = next.map(|t| {
            t.with_timezone(&chrono_tz::America::Toronto)
                .date_naive()
                .to_string()
        });
        assert_eq!(next.as_deref(), Ok("2025-03-09"));
    }

    #[test]
    fn bad_schedules_are_explained() {
        assert!(
            next_run("0 6 * * MONDAY", "America/Toronto", Utc::now())
                .is_err_and(|e| e.contains("invalid cron"))
        );
        assert!(
            next_run("0 6 * * MON", "Mars/Olympus", Utc::now())
                .is_err_and(|e| e.contains("time zone"))
        );
    }
}
