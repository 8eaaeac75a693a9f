//! `vigie export`: published indicator results for analysts (CSV, Parquet, JSON) and indicator
//! history for Prometheus backfill (OpenMetrics). Both read through the disclosure gate.

mod results;

use std::path::PathBuf;

use vigie_model::config::CalendarPeriod;

pub use results::ExportFormat;

/// Arguments of `vigie export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub format: Format,
}

/// What to export.
#[derive(clap::Subcommand)]
pub enum Format {
    /// Published indicator results (what the disclosure gate lets out), with the catalogue's
    /// bilingual names, units and methods / Résultats publiés, avec noms, unités et méthodes
    Results {
        /// The pipeline file.
        pipeline: PathBuf,
        /// File format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Only these indicators (repeat, or comma-separated ids).
        #[arg(long, value_delimiter = ',')]
        indicator: Vec<String>,
        /// Only this period: a quarter (2025Q3), a month (2025-09) or a year (2025).
        #[arg(long)]
        period: Option<CalendarPeriod>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Override the pipeline's warehouse (path or URL).
        #[arg(long)]
        warehouse: Option<String>,
    },
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
        Format::Results {
            pipeline,
            format,
            indicator,
            period,
            out,
            warehouse,
        } => {
            let (pipeline, warehouse) = super::open_pipeline(&pipeline, warehouse.as_deref())?;
            let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
            let selection = results::Selection {
                indicators: indicator,
                period,
            };
            selection.check(&catalogue)?;
            let published =
                vigie_indicators::published_results(&warehouse, &catalogue, &pipeline.disclosure())
                    .await?;
            let batch = results::export_batch(&published, &catalogue, &selection)?;
            results::write(&batch, format, &out)?;
            println!(
                "{}: {} published row(s) (suppressed cells without numbers) / ligne(s) publiée(s) (cellules supprimées sans chiffres)",
                out.display(),
                batch.num_rows()
            );
            Ok(())
        }
        Format::Openmetrics {
            pipeline,
            out,
            warehouse,
        } => {
            let (pipeline, warehouse) = super::open_pipeline(&pipeline, warehouse.as_deref())?;
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
