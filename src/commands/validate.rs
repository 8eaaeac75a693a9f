//! `vigie validate`: every configuration problem, each with file, line and key, in one pass:
//! the pipeline file and its schedule, its sources, the catalogue's metadata and its queries.

use std::path::PathBuf;

use vigie_model::{ConfigError, ConfigProblem};

/// Arguments of `vigie validate`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut problems: Vec<ConfigProblem> = Vec::new();
    // The pipeline, its schedule and its sources.
    let loaded = match vigie_model::config::load_pipeline(&args.pipeline) {
        Ok(loaded) => Some(loaded),
        Err(ConfigError::Invalid(list)) => {
            problems.extend(list);
            None
        }
        Err(read) => return Err(read.into()),
    };
    // The catalogue, even when the pipeline file has problems.
    let queries_dir = match &loaded {
        Some(l) => Some(l.queries_dir()),
        None => vigie_model::config::queries_dir_of(&args.pipeline),
    };
    let mut planned = None;
    if let Some(dir) = &queries_dir {
        match vigie_indicators::read_catalogue(dir) {
            Ok((catalogue, list)) => {
                problems.extend(list);
                // The queries are planned against the canonical schemas, in an empty scratch
                // warehouse, so validation never touches (or creates) the real one.
                let scratch = tempfile::tempdir()?;
                let warehouse =
                    vigie_warehouse::Warehouse::open(&scratch.path().display().to_string())?;
                // The catalogue read its strata: they load; governed ones enabled must exist.
                let strata = vigie_indicators::strata::load_strata(dir)?;
                let enabled = loaded
                    .as_ref()
                    .map(|l| l.spec.equity.enabled.clone())
                    .unwrap_or_default();
                if let Err(ConfigError::Invalid(list)) =
                    strata.check_enabled(&enabled, &args.pipeline)
                {
                    problems.extend(list);
                }
                // The condition groups the queries reach through `vigie_condition`.
                match vigie_indicators::conditions::Conditions::load(dir.directory.as_deref()) {
                    Ok(_) => {}
                    Err(ConfigError::Invalid(list)) => problems.extend(list),
                    Err(e) => return Err(e.into()),
                }
                let run = vigie_indicators::StrataRun { strata, enabled };
                match vigie_indicators::validate_catalogue(&catalogue, &warehouse, &run).await {
                    Ok(()) => planned = Some(catalogue.len()),
                    Err(ConfigError::Invalid(list)) => problems.extend(list),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(ConfigError::Invalid(list)) => problems.extend(list),
            Err(ConfigError::Read {
                path,
                error: source,
            }) => problems.push(ConfigProblem {
                file: args.pipeline.clone(),
                line: None,
                key: "indicators.queries".into(),
                message: format!(
                    "cannot read the catalogue directory {}: {source}",
                    path.display()
                ),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems).into());
    }
    if let (Some(dir), Some(n)) = (&queries_dir, planned) {
        println!("{dir}: {n} indicator(s) plan against the warehouse schema");
    }
    if let Some(loaded) = loaded {
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
    }
    Ok(())
}
