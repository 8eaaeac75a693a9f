//! `vigie maintain`: compact the warehouse's small files and vacuum old versions.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use vigie_warehouse::{MaintenanceOptions, MaintenanceReport, Retention, TableOutcome};

/// Arguments of `vigie maintain`.
#[derive(clap::Args)]
#[command(
    after_help = "Time travel (`vigie query --as-of`, other Delta readers) reaches back \
exactly the retention period: every version that was current at some moment within it stays \
readable, older ones are gone. / Le voyage dans le temps remonte exactement la période de \
rétention.
Exit codes / codes de sortie: 0 done / fait; 1 error / erreur; 6 another vigie process is \
writing the warehouse / entrepôt occupé."
)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml); its `maintenance.retention_days` (30 by
    /// default) sets how long replaced files are kept.
    pub pipeline: PathBuf,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Only list what vacuum would delete: nothing is compacted, committed or deleted.
    /// Lister ce que le nettoyage supprimerait, sans rien modifier.
    #[arg(long)]
    pub dry_run: bool,
    /// Vacuum with this retention, in hours, for this run only (the tables' own retention
    /// properties keep the pipeline's).
    #[arg(long)]
    pub retention_hours: Option<u64>,
    /// Accept a retention under 24 hours: only when nothing else reads or writes the
    /// warehouse, since a reader of a replaced version would lose its files.
    #[arg(long)]
    pub force: bool,
    /// Print every file vacuum deletes (a dry run always does).
    #[arg(long)]
    pub verbose: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (pipeline, warehouse) = super::open_pipeline(&args.pipeline, args.warehouse.as_deref())?;
    let table_retention = Retention::days(pipeline.spec.maintenance.retention_days, false)?;
    let retention = match args.retention_hours {
        Some(hours) => {
            Retention::checked(Duration::from_secs(hours.saturating_mul(3600)), args.force)?
        }
        None => table_retention,
    };
    let lock = warehouse
        .lock_writer(
            "maintain",
            Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    tracing::info!(
        warehouse = %warehouse.root(),
        %retention,
        dry_run = args.dry_run,
        "maintaining the warehouse / entretien de l'entrepôt"
    );
    let options = MaintenanceOptions {
        retention,
        table_retention,
        dry_run: args.dry_run,
        now: chrono::Utc::now(),
    };
    let report = warehouse
        .maintain(&lock, &options)
        .await
        .context("maintaining the warehouse")?;
    lock.release().await?;
    print_report(&report, args.verbose || args.dry_run);
    Ok(())
}

fn print_report(report: &MaintenanceReport, list_files: bool) {
    let verb = if report.dry_run {
        "would delete / supprimerait"
    } else {
        "deleted / supprimé"
    };
    println!(
        "maintain{}: retention {} / rétention {}",
        if report.dry_run { " (dry run)" } else { "" },
        report.retention,
        report.retention
    );
    for t in &report.tables {
        match &t.outcome {
            TableOutcome::Maintained {
                files_before,
                files_after,
                compaction,
                vacuumed,
            } => {
                let compacted = match compaction {
                    Some(c) if c.files_removed > 0 => format!(
                        "{} file(s) compacted into {} ({} -> {}), version {} -> {}",
                        c.files_removed,
                        c.files_added,
                        human_bytes(c.bytes_removed),
                        human_bytes(c.bytes_added),
                        c.from_version,
                        c.to_version
                    ),
                    Some(c) => format!(
                        "properties set, version {} -> {}",
                        c.from_version, c.to_version
                    ),
                    None => "nothing compacted".to_string(),
                };
                let bytes: u64 = vacuumed.iter().map(|f| f.bytes).sum();
                println!(
                    "  {:<24} files {files_before} -> {files_after}; {compacted}; vacuum {verb} {} file(s), {}",
                    t.table,
                    vacuumed.len(),
                    human_bytes(bytes)
                );
                if list_files {
                    for f in vacuumed {
                        println!("    {}/{} ({})", t.table, f.path, human_bytes(f.bytes));
                    }
                }
            }
            TableOutcome::AheadOfManifest {
                manifest_version,
                latest_version,
            } => println!(
                "  {:<24} left alone: version {latest_version} is not in the load manifest \
                 (at {manifest_version}); an interrupted load, redone by the next one / \
                 ignorée : chargement interrompu",
                t.table
            ),
        }
    }
    println!(
        "total: {} small file(s) compacted into {}; vacuum {verb} {} file(s), {}",
        report.files_compacted(),
        report.files_written(),
        report.files_vacuumed(),
        human_bytes(report.bytes_vacuumed())
    );
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
