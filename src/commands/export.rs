//! `vigie export openmetrics`: indicator history for Prometheus backfill.

use std::path::PathBuf;

use vigie_warehouse::Warehouse;

/// Arguments of `vigie export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub format: Format,
}

/// Export formats.
#[derive(clap::Subcommand)]
pub enum Format {
    /// Indicator history with timestamps, for `promtool tsdb create-blocks-from openmetrics`
    Openmetrics {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Output file.
        #[arg(long, default_value = "vigie-history.om")]
        out: PathBuf,
        /// Override the pipeline's warehouse (path or URL).
        #[arg(long)]
        warehouse: Option<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.format {
        Format::Openmetrics {
            pipeline,
            out,
            warehouse,
        } => {
            let pipeline = vigie_model::config::load_pipeline(&pipeline)?;
            let warehouse =
                Warehouse::open(&warehouse.unwrap_or_else(|| pipeline.spec.warehouse.clone()))?;
            let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
            let cfg = pipeline.disclosure();
            let n = vigie_serve::export_openmetrics(
                &pipeline.spec.name,
                &warehouse,
                &catalogue,
                &cfg,
                &out,
            )
            .await?;
            println!("{}: {n} samples (suppressed cells left out)", out.display());
            Ok(())
        }
    }
}
