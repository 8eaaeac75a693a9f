//! The reports step: render the reports a pipeline declares (`outputs.reports`) after a
//! compute, and write them to a local directory or an object store.

use std::sync::Arc;

use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use vigie_model::config::{LoadedPipeline, ReportKind};
use vigie_report::{ReportData, ReportError, render_accountability, render_feedback};
use vigie_warehouse::Warehouse;

use crate::error::PipelineError;

/// Where reports go: a directory or a bucket prefix.
struct Destination {
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
    to: String,
}

impl Destination {
    fn open(to: &str) -> Result<Self, PipelineError> {
        let err = |message: String| PipelineError::Destination {
            to: to.to_string(),
            message,
        };
        if to.contains("://") {
            let url = url::Url::parse(to).map_err(|e| err(format!("not a valid URL: {e}")))?;
            let (store, prefix) = object_store::parse_url(&url).map_err(|e| {
                err(format!(
                    "{e} (cloud destinations need vigie built with `--features cloud`)"
                ))
            })?;
            Ok(Destination {
                store: Arc::from(store),
                prefix,
                to: to.to_string(),
            })
        } else {
            std::fs::create_dir_all(to).map_err(|source| PipelineError::Io {
                what: format!("cannot create the report directory {to}"),
                source,
            })?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(to)
                .map_err(|e| err(e.to_string()))?;
            Ok(Destination {
                store: Arc::new(store),
                prefix: StorePath::default(),
                to: to.to_string(),
            })
        }
    }

    async fn put(&self, name: &str, html: String) -> Result<String, PipelineError> {
        let path = if self.prefix.as_ref().is_empty() {
            StorePath::from(name)
        } else {
            self.prefix.clone().join(name)
        };
        self.store
            .put(&path, PutPayload::from(html.into_bytes()))
            .await
            .map_err(|e| PipelineError::Landing {
                location: path.to_string(),
                message: e.to_string(),
            })?;
        Ok(format!("{}/{name}", self.to.trim_end_matches('/')))
    }
}

/// Renders and writes every report the pipeline declares; returns what was written. The
/// results are read once, for every report, team and language.
pub async fn write_reports(
    pipeline: &LoadedPipeline,
    warehouse: Option<&str>,
) -> Result<Vec<String>, PipelineError> {
    if pipeline.spec.outputs.reports.is_empty() {
        return Ok(vec![]);
    }
    let warehouse = Warehouse::open(warehouse.unwrap_or(&pipeline.spec.warehouse))?;
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
    let cfg = pipeline.disclosure();
    let data = match ReportData::load(&warehouse, &catalogue, &cfg).await {
        Ok(data) => data.with_instruments(&pipeline.instruments()).with_equity(
            vigie_indicators::strata::load_strata(&pipeline.queries_dir())?,
            &pipeline.spec.equity,
        ),
        Err(ReportError::NoResults) => {
            tracing::warn!("no results for the report periods yet: reports skipped");
            return Ok(vec![]);
        }
        Err(e) => return Err(e.into()),
    };
    let mut written = Vec::new();
    for spec in &pipeline.spec.outputs.reports {
        let Some(period) = data.resolve(spec.period) else {
            tracing::warn!(period = %spec.period, "no results for the report period yet: report skipped");
            continue;
        };
        let code = period.code();
        let destination = Destination::open(&spec.to)?;
        for &lang in &spec.languages {
            let lang_code = lang.code();
            let jobs: Vec<(String, Option<&str>)> = match spec.kind {
                ReportKind::Accountability => {
                    vec![(format!("accountability-{code}-{lang_code}.html"), None)]
                }
                ReportKind::Feedback => {
                    let teams = if spec.teams.is_empty() {
                        data.teams()
                    } else {
                        &spec.teams
                    };
                    teams
                        .iter()
                        .map(|t| {
                            (
                                format!("feedback-{t}-{code}-{lang_code}.html"),
                                Some(t.as_str()),
                            )
                        })
                        .collect()
                }
            };
            for (name, team) in jobs {
                let html = match team {
                    None => render_accountability(&data, &catalogue, &cfg, &period, lang),
                    Some(t) => render_feedback(&data, &catalogue, &cfg, t, &period, lang),
                };
                // A report that cannot be rendered (e.g. a team without results this period)
                // does not fail the run: the data are loaded and computed; it is logged.
                match html {
                    Ok(html) => written.push(destination.put(&name, html).await?),
                    Err(e) => tracing::warn!(report = %name, "report not written: {e}"),
                }
            }
        }
    }
    tracing::info!(reports = written.len(), "reports written");
    Ok(written)
}
