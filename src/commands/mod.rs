//! One module per subcommand.

pub mod catalogue;
pub mod compute;
pub mod demo;
pub mod export;
pub mod held;
pub mod ingest;
pub mod maintain;
pub mod query;
pub mod report;
pub mod serve;
pub mod synth;
pub mod tabular;
pub mod validate;

/// Writes a command's figures as pretty JSON (`--report-json`), naming the file on failure.
fn write_json(path: &std::path::Path, value: &serde_json::Value) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the report {}", path.display()))
}
