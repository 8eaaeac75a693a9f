//! `vigie worklist export`: the care coordinators' high-user worklist, re-identified by
//! whoever holds the pseudonymisation key, to a local CSV file (see
//! `vigie_pipeline::export_worklist`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use vigie_model::Lang;
use vigie_pipeline::{IdentifierSource, Landing, WorklistExportRequest, export_worklist};

/// Arguments of `vigie worklist`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the worklist.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Write the worklist with health card numbers to a local CSV file, for the program's
    /// coordinators (needs the pseudonymisation key; every export is audited) / Exporter la
    /// liste de travail réidentifiée (clé requise, chaque export est journalisé)
    #[command(
        after_help = "The file is created readable by its owner only (mode 600). Health \
card numbers come from the registry extracts in the landing zone, or from --roster. Exit codes \
/ codes de sortie: 0 written / écrit; 1 error, e.g. no key / erreur, p. ex. pas de clé; 6 \
another vigie process is writing the warehouse / entrepôt occupé."
    )]
    Export(ExportArgs),
}

/// Arguments of `vigie worklist export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The pipeline file (e.g. pipelines/demo.yaml); its `key` must be available.
    pub pipeline: PathBuf,
    /// The care-coordination program the list is for (as in the enrolment extracts).
    #[arg(long)]
    pub program: String,
    /// The local CSV file to write (not a URL).
    #[arg(long)]
    pub out: PathBuf,
    /// A roster CSV with the persons' health card numbers, instead of the registry extracts
    /// (UTF-8, comma-separated, a header row naming the columns).
    #[arg(long, requires = "roster_column")]
    pub roster: Option<PathBuf>,
    /// The roster's column holding the health card numbers.
    #[arg(long)]
    pub roster_column: Option<String>,
    /// Language of the column names and the eligibility reasons: fr or en.
    #[arg(long, default_value = "fr")]
    pub lang: Lang,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Override the pipeline's landing zone (path or URL).
    #[arg(long)]
    pub landing: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Export(a) => export(a).await,
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    if args.program.trim().is_empty() {
        bail!("--program needs the program's name / --program demande le nom du programme");
    }
    let (pipeline, warehouse) = super::open_pipeline(&args.pipeline, args.warehouse.as_deref())?;
    let identifiers = match (args.roster, args.roster_column) {
        (Some(path), Some(column)) => IdentifierSource::Roster { path, column },
        _ => IdentifierSource::Landing,
    };
    let landing = Landing::open(args.landing.as_deref().unwrap_or(&pipeline.spec.landing))?;
    let lock = warehouse
        .lock_writer(
            "worklist export",
            Duration::from_secs(pipeline.spec.writer_wait_seconds),
        )
        .await?;
    let request = WorklistExportRequest {
        program: args.program.trim().to_string(),
        out: args.out.clone(),
        identifiers,
        lang: args.lang,
        user: super::query::reader(),
    };
    let export = export_worklist(&pipeline, &warehouse, &landing, &lock, &request)
        .await
        .context("exporting the worklist / export de la liste de travail")?;
    lock.release().await?;
    println!(
        "{} person(s) written to {} / personne(s) écrite(s); {} not re-identified / non réidentifiée(s)",
        export.persons,
        args.out.display(),
        export.not_found
    );
    Ok(())
}
