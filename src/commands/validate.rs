//! `vigie validate`: every configuration problem, each with file, line and key.

use std::path::PathBuf;

/// Arguments of `vigie validate`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let loaded = vigie_model::config::load_pipeline(&args.pipeline)?;
    let catalogue = vigie_indicators::load_catalogue(&loaded.queries_dir())?;
    // The queries are planned against the canonical schemas, in an empty scratch warehouse,
    // so validation never touches (or creates) the real one.
    let scratch = tempfile::tempdir()?;
    let warehouse = vigie_warehouse::Warehouse::open(&scratch.path().display().to_string())?;
    vigie_indicators::validate_catalogue(&catalogue, &warehouse).await?;
    println!(
        "{}: {} indicator(s) plan against the warehouse schema",
        loaded.queries_dir().display(),
        catalogue.len()
    );
    println!(
        "{}: valid — {} source(s): {}",
        args.pipeline.display(),
        loaded.sources.len(),
        loaded
            .sources
            .iter()
            .map(|(_, s)| s.source.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
