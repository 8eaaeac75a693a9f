//! `vigie ingest` and `vigie run`: load new extracts (and, for `run`, the later steps).

use std::path::PathBuf;

use vigie_pipeline::{IngestOptions, IngestReport, ingest};
use vigie_warehouse::FileStatus;

use crate::progress::Bar;

/// Arguments of `vigie ingest` / `vigie run`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
    /// Override the pipeline's landing zone (path or URL).
    #[arg(long)]
    pub landing: Option<String>,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Try again files that were rejected whole, even if their content did not change.
    #[arg(long)]
    pub retry_rejected: bool,
    /// Read and hash again the files already loaded and unchanged since (same size, not
    /// modified since their load), instead of skipping them unread: for a landing zone
    /// restored or copied with older modification times / Relire et hacher aussi les
    /// fichiers inchangés depuis leur chargement.
    #[arg(long)]
    pub verify_unchanged: bool,
    /// Also write the load's figures (rows, bytes and parse seconds per file) to this JSON file.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
}

pub async fn run(args: Args, full_run: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let report = ingest_pipeline(&args).await?;
    print_report(&report);
    if let Some(path) = &args.report_json {
        write_report_json(path, &report, started.elapsed().as_secs_f64())?;
    }
    // A held, rejected or postponed file changed nothing in the warehouse: the compute of
    // a `run` still goes ahead on what is there, and the exit code tells the scheduler.
    let attention = crate::exit::of_ingest(&report);
    if full_run {
        let pipeline = vigie_model::config::load_pipeline(&args.pipeline)?;
        let overrides = vigie_pipeline::ComputeOverrides {
            warehouse: args.warehouse.clone(),
            ..Default::default()
        };
        let computed = vigie_pipeline::compute(&pipeline, &overrides).await?;
        super::compute::print_report(&computed);
        for written in vigie_pipeline::write_reports(&pipeline, args.warehouse.as_deref()).await? {
            println!("report: {written}");
        }
    }
    match attention {
        Some(a) => Err(a.into()),
        None => Ok(()),
    }
}

pub async fn ingest_pipeline(args: &Args) -> anyhow::Result<IngestReport> {
    let pipeline = vigie_model::config::load_pipeline(&args.pipeline)?;
    let bar = Bar::new(true);
    let mut options = IngestOptions::for_pipeline(&pipeline, &bar);
    if let Some(landing) = &args.landing {
        options.landing = landing.clone();
    }
    if let Some(warehouse) = &args.warehouse {
        options.warehouse = warehouse.clone();
    }
    options.retry_rejected = args.retry_rejected;
    options.verify_unchanged = args.verify_unchanged;
    Ok(ingest(&pipeline, &options).await?)
}

fn write_report_json(
    path: &std::path::Path,
    report: &IngestReport,
    seconds: f64,
) -> anyhow::Result<()> {
    let files: Vec<serde_json::Value> = report
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "source": f.source, "file": f.file, "bytes": f.bytes,
                "status": format!("{:?}", f.status).to_lowercase(),
                "rows_read": f.rows_read, "rows_accepted": f.rows_accepted,
                "rows_rejected": f.rows_rejected, "parse_seconds": f.parse_seconds,
            })
        })
        .collect();
    let json = serde_json::json!({
        "load_id": report.load_id,
        "seconds": seconds,
        "files": files,
        "skipped": report.skipped,
        "skipped_rejected": report.skipped_rejected,
        "unclaimed": report.unclaimed,
        "postponed": report.postponed.iter().map(|(f, why)| serde_json::json!({"file": f, "reason": why})).collect::<Vec<_>>(),
        "waiting": report.waiting,
        "still_held": report.still_held,
        "refused_names": report.refused_names,
    });
    super::write_json(path, &json)
}

pub fn print_report(report: &IngestReport) {
    let (mut read, mut acc, mut rej) = (0u64, 0u64, 0u64);
    let (mut loaded, mut rejected_files, mut held) = (0, 0, 0);
    for f in &report.files {
        let message = f.message.as_deref().unwrap_or("");
        match f.status {
            FileStatus::Loaded => {
                loaded += 1;
                read += f.rows_read;
                acc += f.rows_accepted;
                rej += f.rows_rejected;
            }
            FileStatus::Rejected => {
                rejected_files += 1;
                read += f.rows_read;
                rej += f.rows_rejected;
                println!("REJECTED {} ({}): {message}", f.file, f.source);
            }
            FileStatus::Held | FileStatus::Discarded => {
                held += 1;
                println!(
                    "HELD {} ({}): nothing applied; {message}. Look at it, then `vigie held release` or `vigie held discard`",
                    f.file, f.source
                );
            }
        }
    }
    for (file, why) in &report.postponed {
        println!("POSTPONED {file}: {why} (left pending: the next run retries it)");
    }
    for file in &report.still_held {
        println!("STILL HELD {file}: waiting for `vigie held release|discard`");
    }
    for file in &report.refused_names {
        println!(
            "REFUSED {file}: its name holds what looks like a person identifier (masked here), which would be stored with every row it loads; not read — rename it / nom contenant ce qui ressemble à un identifiant de personne (masqué ici) : fichier non lu, renommez-le"
        );
    }
    if !report.skipped_rejected.is_empty() {
        println!(
            "{} file(s) skipped, rejected whole before with the same content: {} — once the source spec is fixed, run again with --retry-rejected; otherwise ask the partner for a new extract / {} fichier(s) déjà rejeté(s) : relancez avec --retry-rejected une fois la spécification corrigée",
            report.skipped_rejected.len(),
            report.skipped_rejected.join(", "),
            report.skipped_rejected.len()
        );
    }
    if !report.waiting.is_empty() {
        println!(
            "{} file(s) still arriving (left for the next run): {}",
            report.waiting.len(),
            report.waiting.join(", ")
        );
    }
    println!(
        "load {}: {loaded} file(s) loaded, {held} held, {rejected_files} rejected whole, {} refused for their name, {} postponed, {} skipped (already loaded); rows read {read}, accepted {acc}, rejected {rej}",
        report.load_id,
        report.refused_names.len(),
        report.postponed.len(),
        report.skipped.len()
    );
    if !report.unclaimed.is_empty() {
        println!(
            "{} file(s) match no source: {}",
            report.unclaimed.len(),
            report.unclaimed.join(", ")
        );
    }
}
