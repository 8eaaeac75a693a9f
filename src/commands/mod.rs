//! One module per subcommand.

pub mod catalogue;
pub mod compute;
pub mod demo;
pub mod export;
pub mod held;
pub mod ingest;
pub mod maintain;
pub mod migrate;
pub mod query;
pub mod report;
pub mod serve;
pub mod synth;
pub mod tabular;
pub mod validate;
pub mod worklist;

/// A pipeline and its warehouse, which must exist: the one given on the command line
/// (`--warehouse`), else the pipeline's own.
fn open_pipeline(
    pipeline: &std::path::Path,
    warehouse: Option<&str>,
) -> anyhow::Result<(
    vigie_model::config::LoadedPipeline,
    vigie_warehouse::Warehouse,
)> {
    let pipeline = vigie_model::config::load_pipeline(pipeline)?;
    let location = warehouse.unwrap_or(&pipeline.spec.warehouse);
    let warehouse = vigie_warehouse::Warehouse::open_existing(location)?;
    Ok((pipeline, warehouse))
}

/// Writes a command's figures as pretty JSON (`--report-json`), naming the file on failure.
fn write_json(path: &std::path::Path, value: &serde_json::Value) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the report {}", path.display()))
}
