//! `vigie`: the command line. Parses arguments, calls the crates, prints.

mod commands;
mod exit;
mod progress;

use std::process::ExitCode;

/// jemalloc returns the memory the parsing threads free; glibc's per-thread arenas kept it
/// (see Cargo.toml). Its settings are built in (`.cargo/config.toml`, an operator's
/// `_RJEM_MALLOC_CONF` applied after them): transparent huge pages for its memory, where
/// the kernel allows them. Hash joins, the person numbering and the duplicate checks probe
/// tables of hundreds of megabytes at random, and with 4 KiB pages nearly every probe also
/// missed the TLB: at province scale the ED-visit rate took 6.4–8.4 s without them and
/// 4.7–5.6 s with them, the first load 119 s against 114 s, for about 4% more peak memory
/// (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};

/// Vigie: performance monitoring for integrated care — loads partner extracts into a
/// warehouse, computes indicators, feeds dashboards and reports.
/// Vigie : suivi de la performance en soins intégrés.
#[derive(Parser)]
#[command(name = "vigie", version, about, long_about = None)]
struct Cli {
    /// Log format on standard error: text (coloured at a terminal) or JSON lines for log
    /// collectors / Format du journal : texte ou JSON.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log records are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines, coloured only on a terminal.
    Text,
    /// One JSON object per record (timestamp, level, fields, message).
    Json,
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
    /// Export published results (CSV, Parquet, JSON) or indicator history (OpenMetrics) / Exporter les résultats publiés ou l'historique
    Export(commands::export::Args),
    /// Render a feedback (team) or accountability (funder) report as HTML / Produire un rapport de rétroaction ou de reddition de comptes
    Report(commands::report::Args),
    /// Run read-only SQL over published results and internal tables / Interroger l'entrepôt en SQL (lecture seule)
    Query(commands::query::Args),
    /// Print the indicator catalogue (ids, names, units, methods, roles, strata) / Afficher le catalogue des indicateurs
    Catalogue(commands::catalogue::Args),
    /// Generate a synthetic region and run the demo pipeline on it / Démonstration de bout en bout
    Demo(commands::demo::Args),
    /// Compact small files and vacuum versions older than the retention / Compacter et nettoyer l'entrepôt
    Maintain(commands::maintain::Args),
    /// Files held for review by a replacement guard: list, release, discard / Fichiers retenus pour vérification
    Held(commands::held::Args),
    /// Bring a warehouse written by an earlier vigie to the current layout / Migrer l'entrepôt
    Migrate(commands::migrate::Args),
    /// The care coordinators' worklist: export it re-identified, audited / Liste de travail des coordonnateurs
    Worklist(commands::worklist::Args),
}

/// Our crates at info, dependencies (Delta, DataFusion) only when they warn; RUST_LOG overrides.
const DEFAULT_LOG_FILTER: &str =
    "warn,vigie=info,vigie_pipeline=info,vigie_ingest=info,vigie_warehouse=info,vigie_synth=info";

/// Logs on standard error, filtered by RUST_LOG or [`DEFAULT_LOG_FILTER`].
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            // Colours for people at a terminal, plain text for log files and journald.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .init(),
        // Collectors want the target (e.g. `vigie::audit` for steward reads) as a field.
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
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
            Command::Catalogue(a) => commands::catalogue::run(a).await,
            Command::Report(a) => commands::report::run(a).await,
            Command::Serve(a) => commands::serve::run(a).await,
            Command::Export(a) => commands::export::run(a).await,
            Command::Demo(a) => commands::demo::run(a).await,
            Command::Held(a) => commands::held::run(a).await,
            Command::Maintain(a) => commands::maintain::run(a).await,
            Command::Migrate(a) => commands::migrate::run(a).await,
            Command::Worklist(a) => commands::worklist::run(a).await,
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

#[cfg(all(test, target_os = "linux", not(target_env = "msvc")))]
mod allocator_tests {
    /// Kibibytes of this process's anonymous memory backed by huge pages.
    fn huge_kib() -> u64 {
        let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
        rollup
            .lines()
            .find_map(|l| l.strip_prefix("AnonHugePages:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn jemalloc_backs_large_tables_with_huge_pages_where_the_kernel_allows_them() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if !mode.contains("[always]") && !mode.contains("[madvise]") {
            eprintln!(
                "skipped: this kernel gives no transparent huge pages ({})",
                mode.trim()
            );
            return;
        }
        let before = huge_kib();
        // Written whole, as a hash table's buckets are.
        let table = vec![1u8; 64 << 20];
        let after = huge_kib();
        std::hint::black_box(&table);
        assert!(
            after >= before + 16 * 1024,
            "huge pages before {before} KiB, after a 64 MiB table {after} KiB: jemalloc was not built with `thp:always` (.cargo/config.toml)"
        );
    }
}
