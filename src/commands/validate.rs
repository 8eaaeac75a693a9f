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
