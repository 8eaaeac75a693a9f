//! `vigie held`: files a replacement guard held for review — list them, apply one as it
//! is, or drop it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use vigie_pipeline::{IngestOptions, NoProgress, ingest, outstanding_held};
use vigie_warehouse::{FileStatus, Warehouse};

/// Arguments of `vigie held`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with held files.
#[derive(clap::Subcommand)]
pub enum Action {
    /// List the files held for review, with the figures that held them / Lister les fichiers retenus
    List(Target),
    /// Apply held files as they are, guards off, after looking at them / Appliquer des fichiers retenus
    Release(Decision),
    /// Drop held files: never applied, never retried (unless their content changes) / Écarter des fichiers retenus
    Discard(Decision),
}

/// Which warehouse.
#[derive(clap::Args)]
pub struct Target {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
}

/// Which files, and why.
#[derive(clap::Args)]
pub struct Decision {
    #[command(flatten)]
    pub target: Target,
    /// Landing keys of the held files, as `vigie held list` shows them.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Override the pipeline's landing zone (path or URL), for `release`.
    #[arg(long)]
    pub landing: Option<String>,
    /// Why (recorded in the manifest).
    #[arg(long)]
    pub reason: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::List(t) => list(t).await,
        Action::Release(d) => release(d).await,
        Action::Discard(d) => discard(d).await,
    }
}

fn open(target: &Target) -> anyhow::Result<(vigie_model::config::LoadedPipeline, Warehouse)> {
    super::open_pipeline(&target.pipeline, target.warehouse.as_deref())
}

async fn list(target: Target) -> anyhow::Result<()> {
    let (_, warehouse) = open(&target)?;
    let held = outstanding_held(&warehouse.manifest(None).await?);
    if held.is_empty() {
        println!("no file held / aucun fichier retenu");
        return Ok(());
    }
    for e in &held {
        println!(
            "{}\t{}\theld {}\tread {} accepted {} rejected {}\t{}",
            e.file,
            e.source,
            e.finished_at.format("%Y-%m-%d %H:%M UTC"),
            e.rows_read,
            e.rows_accepted,
            e.rows_rejected,
            e.message.as_deref().unwrap_or("")
        );
    }
    println!(
        "{} file(s) held: `vigie held release` applies one as it is, `vigie held discard` drops it / {} fichier(s) retenu(s)",
        held.len(),
        held.len()
    );
    Ok(())
}

/// The held entries named by `files`; a name that is not held is an error.
async fn named(
    warehouse: &Warehouse,
    files: &[String],
) -> anyhow::Result<Vec<vigie_warehouse::ManifestEntry>> {
    let held = outstanding_held(&warehouse.manifest(None).await?);
    let mut out = Vec::new();
    for f in files {
        match held.iter().find(|e| &e.file == f) {
            Some(e) => out.push(e.clone()),
            None => bail!("{f} is not held (see `vigie held list`) / {f} n'est pas retenu"),
        }
    }
    Ok(out)
}

async fn release(d: Decision) -> anyhow::Result<()> {
    let (pipeline, warehouse) = open(&d.target)?;
    named(&warehouse, &d.files).await?;
    let mut options = IngestOptions::for_pipeline(&pipeline, &NoProgress);
    options.landing = d.landing.clone().unwrap_or(options.landing);
    options.warehouse = warehouse.root().to_string();
    options.only = Some(d.files.iter().cloned().collect::<BTreeSet<_>>());
    options.release_held = true;
    let report = ingest(&pipeline, &options).await?;
    for f in &d.files {
        match report.files.iter().find(|r| &r.file == f) {
            Some(r) if r.status == FileStatus::Loaded => println!(
                "released {f}: read {}, accepted {}, rejected {} / appliqué",
                r.rows_read, r.rows_accepted, r.rows_rejected
            ),
            Some(r) => bail!(
                "{f}: {} ({})",
                r.status.as_str(),
                r.message.as_deref().unwrap_or("")
            ),
            None => bail!(
                "{f} was not applied: it is no longer in the landing zone, or its content changed since it was held (it is then a new file for the next run)"
            ),
        }
    }
    Ok(())
}

async fn discard(d: Decision) -> anyhow::Result<()> {
    let (pipeline, warehouse) = open(&d.target)?;
    let entries = named(&warehouse, &d.files).await?;
    let _lock = warehouse
        .lock_writer(
            "held discard",
            std::time::Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    let now = chrono::Utc::now();
    let reason = d.reason.as_deref().unwrap_or("no reason given");
    let discarded: Vec<_> = entries
        .into_iter()
        .map(|mut e| {
            e.status = FileStatus::Discarded;
            e.started_at = now;
            e.finished_at = now;
            e.message = Some(format!("discarded by a person: {reason}"));
            e.table_versions.clear();
            e
        })
        .collect();
    warehouse
        .record_manifest(&discarded)
        .await
        .context("recording the decision in the load manifest")?;
    for e in &discarded {
        println!("discarded {} / écarté", e.file);
    }
    Ok(())
}
