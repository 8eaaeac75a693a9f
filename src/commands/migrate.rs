//! `vigie migrate`: bring a warehouse written by an earlier vigie to the current layout in
//! place, without reloading extracts (today: number the persons of its tables). Writers
//! (`ingest`, `run`, `compute`) do the same on their first run; this command does it on
//! purpose, at a time the operator chooses, and says what it did.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

/// Arguments of `vigie migrate`.
#[derive(clap::Args)]
#[command(
    after_help = "Exit codes / codes de sortie: 0 done or nothing to do / fait ou rien à \
faire; 1 error / erreur; 6 another vigie process is writing the warehouse / entrepôt occupé."
)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (pipeline, warehouse) = super::open_pipeline(&args.pipeline, args.warehouse.as_deref())?;
    let lock = warehouse
        .lock_writer(
            "migrate",
            Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    let migration = vigie_pipeline::number_persons(&warehouse, &lock)
        .await
        .context("numbering the persons of the warehouse")?;
    lock.release().await?;
    if migration.tables.is_empty() {
        println!("nothing to migrate: every table already carries person numbers / rien à migrer");
        return Ok(());
    }
    println!(
        "{} person(s) numbered / personne(s) numérotée(s)",
        migration.persons_numbered
    );
    for t in &migration.tables {
        println!(
            "{}: {} row(s) rewritten with person_number, version {} -> {} / lignes réécrites",
            t.table, t.rows, t.from_version, t.to_version
        );
    }
    Ok(())
}
