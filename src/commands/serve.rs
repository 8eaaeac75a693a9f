//! `vigie serve`: the scheduler and the Prometheus endpoint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use vigie_serve::{HttpLimits, HttpOptions, RunMode, ServeOptions, check_bearer_token, serve};

/// The environment variable holding the token when no --bearer-token-file is given.
const TOKEN_VARIABLE: &str = "VIGIE_METRICS_TOKEN";

/// Arguments of `vigie serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Pipeline files to schedule (each with its `schedule`); each pipeline's `name` labels its series / Fichiers de pipeline; le `name` de chacun étiquette ses séries
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
    /// Metrics only: run nothing, only export the warehouses' metrics, refreshed when `vigie run` (from cron) changes them / Métriques seulement : ne rien exécuter, seulement exporter les métriques des entrepôts
    #[arg(long, conflicts_with = "run_on_start")]
    pub no_schedule: bool,
    /// Seconds between checks of each warehouse for runs made by another process / Secondes entre deux vérifications de chaque entrepôt
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub watch_interval_secs: u64,
    /// Attempts per scheduled run when an error may be transient.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// First retry delay in seconds (doubled at each attempt).
    #[arg(long, default_value_t = 60)]
    pub retry_delay_secs: u64,
    /// Seconds a client has to send a whole request head, from its first byte; slower clients are disconnected / Secondes accordées pour envoyer l'en-tête d'une requête
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay with no request in flight (keep-alive, or a response left unread) / Secondes d'inactivité avant la fermeture d'une connexion
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Seconds a request may take before it is answered 503 / Secondes avant de répondre 503 à une requête trop lente
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout_secs: u64,
    /// Connections served at once; more wait, not accepted, until one closes / Connexions servies à la fois
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

/// A token as read from `origin`, trimmed; refused when empty or unusable, since starting
/// without the token the operator meant to set would leave /metrics open.
fn usable_token(raw: &str, origin: &str, fix: &str) -> anyhow::Result<String> {
    let token = raw.trim();
    check_bearer_token(token).map_err(|e| anyhow!("{origin}: {e}; {fix}"))?;
    Ok(token.to_string())
}

/// The token /metrics requires: from the file if one is given, else from the environment
/// variable if it is set, else none.
fn bearer_token(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        let raw = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the bearer token file {} (--bearer-token-file; check the path and that this user may read it)",
                path.display()
            )
        })?;
        let origin = format!("bearer token file {}", path.display());
        let fix = "write the token in it, on one line, or leave out --bearer-token-file to serve /metrics without a token";
        return usable_token(&raw, &origin, fix).map(Some);
    }
    let Some(raw) = std::env::var_os(TOKEN_VARIABLE) else {
        return Ok(None);
    };
    let fix = "set it to the token, or unset it to serve /metrics without a token";
    let Some(raw) = raw.to_str() else {
        bail!("{TOKEN_VARIABLE} is not valid UTF-8; {fix}");
    };
    usable_token(raw, TOKEN_VARIABLE, fix).map(Some)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let bearer_token = bearer_token(args.bearer_token_file.as_deref())?;
    let options = ServeOptions {
        pipelines: args.pipelines,
        http: HttpOptions {
            listen: args.listen,
            bearer_token,
            limits: HttpLimits {
                header_timeout: Duration::from_secs(args.header_timeout_secs),
                idle_timeout: Duration::from_secs(args.idle_timeout_secs),
                request_timeout: Duration::from_secs(args.request_timeout_secs),
                max_connections: args.max_connections,
            },
        },
        mode: if args.no_schedule {
            RunMode::MetricsOnly
        } else {
            RunMode::Scheduled {
                run_on_start: args.run_on_start,
            }
        },
        watch_interval: Duration::from_secs(args.watch_interval_secs),
        max_attempts: args.max_attempts,
        retry_delay: Duration::from_secs(args.retry_delay_secs),
    };
    Ok(serve(options).await?)
}
