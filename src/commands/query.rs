//! `vigie query`: SQL over a consistent snapshot of the warehouse.

use std::path::PathBuf;

use arrow::util::pretty::pretty_format_batches;
use vigie_warehouse::{SessionOptions, Warehouse};

/// Arguments of `vigie query`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file whose warehouse to query.
    pub pipeline: PathBuf,
    /// The SQL (tables: person, ed_visit, admission, enrolment, survey_response, quarantine, load_manifest).
    pub sql: String,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Read the warehouse as it was at this manifest version (time travel).
    #[arg(long)]
    pub as_of: Option<u64>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let pipeline = vigie_model::config::load_pipeline(&args.pipeline)?;
    let location = args.warehouse.unwrap_or(pipeline.spec.warehouse);
    let warehouse = Warehouse::open(&location)?;
    let snapshot = warehouse.snapshot(args.as_of).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    let batches = ctx.sql(&args.sql).await?.collect().await?;
    println!("{}", pretty_format_batches(&batches)?);
    Ok(())
}
