//! `vigie serve`: the scheduler and the Prometheus endpoint.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use vigie_serve::{HttpOptions, ServeOptions, serve};

/// Arguments of `vigie serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline files to schedule (each with its `schedule`).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Address for /metrics, /healthz and /readyz (loopback by default).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// File holding a bearer token that /metrics then requires (or set VIGIE_METRICS_TOKEN).
    #[arg(long)]
    pub bearer_token_file: Option<PathBuf>,
    /// Run every pipeline once at start-up, then follow the schedules.
    #[arg(long)]
    pub run_on_start: bool,
    /// Attempts per scheduled run when an error may be transient.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// First retry delay in seconds (doubled at each attempt).
    #[arg(long, default_value_t = 60)]
    pub retry_delay_secs: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let bearer_token = match (
        &args.bearer_token_file,
        std::env::var("VIGIE_METRICS_TOKEN").ok(),
    ) {
        (Some(path), _) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--bearer-token-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        (None, Some(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => None,
    };
    let options = ServeOptions {
        pipelines: args.pipelines,
        http: HttpOptions {
            listen: args.listen,
            bearer_token,
        },
        run_on_start: args.run_on_start,
        max_attempts: args.max_attempts,
        retry_delay: Duration::from_secs(args.retry_delay_secs),
    };
    Ok(serve(options).await?)
}
