//! `vigie`: the command line. Parses arguments, calls the crates, prints.

mod commands;
mod exit;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vigie: performance monitoring for integrated care — loads partner extracts into a
/// warehouse, computes indicators, feeds dashboards and reports.
/// Vigie : suivi de la performance en soins intégrés.
#[derive(Parser)]
#[command(name = "vigie", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a seeded synthetic region in the partners' layouts / Générer une région synthétique
    Synth(commands::synth::Args),
    /// Check a pipeline and every source spec it names, without running anything / Valider la configuration
    Validate(commands::validate::Args),
    /// Load new extracts from the landing zone into the warehouse / Charger les extraits
    #[command(after_help = exit::HELP)]
    Ingest(commands::ingest::Args),
    /// Compute the indicator catalogue over the warehouse / Calculer les indicateurs
    Compute(commands::compute::Args),
    /// Run a pipeline once, end to end: ingest, compute, reports / Exécuter un pipeline de bout en bout
    #[command(after_help = exit::HELP)]
    Run(commands::ingest::Args),
    /// Run pipelines on their schedules and serve /metrics for Prometheus / Planifier et exposer les métriques
    Serve(commands::serve::Args),
    /// Export indicator history (OpenMetrics for Prometheus backfill) / Exporter l'historique
    Export(commands::export::Args),
    /// Render a feedback (team) or accountability (funder) report as HTML / Produire un rapport de rétroaction ou de reddition de comptes
    Report(commands::report::Args),
    /// Run SQL over a consistent snapshot of the warehouse / Interroger l'entrepôt en SQL
    Query(commands::query::Args),
    /// Generate a synthetic region and run the demo pipeline on it / Démonstration de bout en bout
    Demo(commands::demo::Args),
    /// Compact small files and vacuum versions older than the retention / Compacter et nettoyer l'entrepôt
    Maintain(commands::maintain::Args),
    /// Files held for review by a replacement guard: list, release, discard / Fichiers retenus pour vérification
    Held(commands::held::Args),
}

/// Our crates at info, dependencies (Delta, DataFusion) only when they warn; RUST_LOG overrides.
const DEFAULT_LOG_FILTER: &str =
    "warn,vigie=info,vigie_pipeline=info,vigie_ingest=info,vigie_warehouse=info,vigie_synth=info";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        // Colours for people at a terminal, plain text for log files and journald.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Synth(a) => commands::synth::run(a).await,
            Command::Validate(a) => commands::validate::run(a).await,
            Command::Ingest(a) => commands::ingest::run(a, false).await,
            Command::Compute(a) => commands::compute::run(a).await,
            Command::Run(a) => commands::ingest::run(a, true).await,
            Command::Query(a) => commands::query::run(a).await,
            Command::Report(a) => commands::report::run(a).await,
            Command::Serve(a) => commands::serve::run(a).await,
            Command::Export(a) => commands::export::run(a).await,
            Command::Demo(a) => commands::demo::run(a).await,
            Command::Held(a) => commands::held::run(a).await,
            Command::Maintain(a) => commands::maintain::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<exit::Attention>().is_some() => {
            eprintln!("{e}");
            exit::of_error(&e)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(kind) = exit::kind_of(&e) {
                eprintln!("({kind}) {}", kind.advice());
            }
            exit::of_error(&e)
        }
    }
}
