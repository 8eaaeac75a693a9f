//! Builds the indicator and warehouse metrics from the disclosure gate's published results
//! and the load manifest.

use std::collections::BTreeMap;

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};
use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{Code, IndicatorDef, IndicatorResult, published_results};
use vigie_model::config::SourceSpec;
use vigie_warehouse::{FileStatus, ManifestEntry, Warehouse};

use crate::ServeError;
use crate::names;
use crate::state::ServeState;

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<GaugeVec, ServeError> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

/// The rows of each indicator's latest period.
pub fn latest_rows(results: &[IndicatorResult]) -> Vec<&IndicatorResult> {
    let mut latest: BTreeMap<&str, chrono::NaiveDate> = BTreeMap::new();
    for r in results {
        let e = latest.entry(r.indicator.as_str()).or_insert(r.period_start);
        if r.period_start > *e {
            *e = r.period_start;
        }
    }
    results
        .iter()
        .filter(|r| latest.get(r.indicator.as_str()) == Some(&r.period_start))
        .collect()
}

fn unit_label(def: &IndicatorDef) -> &'static str {
    match def.meta.unit {
        vigie_indicators::Unit::Percent => "percent",
        vigie_indicators::Unit::RatePer1000 => "per_1000",
        vigie_indicators::Unit::RatePer100000 => "per_100000",
        vigie_indicators::Unit::RatePerPersonMonth => "per_person_month",
        vigie_indicators::Unit::Days => "days",
        vigie_indicators::Unit::Ratio => "ratio",
        vigie_indicators::Unit::Count => "count",
    }
}

/// What one pipeline's metrics are built from.
pub struct PipelineMetricsInput<'a> {
    /// The pipeline's `name`: the `pipeline` label of every series built.
    pub pipeline: &'a str,
    /// Its warehouse.
    pub warehouse: &'a Warehouse,
    /// Its indicator catalogue.
    pub catalogue: &'a [IndicatorDef],
    /// Its disclosure gate.
    pub disclosure: &'a DisclosureConfig,
    /// Its declared sources (each has its series from the start, at zero).
    pub sources: &'a [SourceSpec],
}

/// Rebuilds one pipeline's metrics (indicators through the gate, warehouse metrics) and
/// replaces that pipeline's snapshot only; the other pipelines' series stay as they are.
pub async fn refresh_indicators(
    state: &ServeState,
    input: &PipelineMetricsInput<'_>,
) -> Result<(), ServeError> {
    let registry = Registry::new();
    let pipeline = input.pipeline;
    indicator_info(&registry, pipeline, input.catalogue)?;
    survey_item_info(&registry, pipeline, input.sources)?;
    let results = published_results(input.warehouse, input.catalogue, input.disclosure).await?;
    indicator_cells(&registry, pipeline, &latest_rows(&results))?;
    let manifest = input.warehouse.manifest(None).await?;
    source_metrics(&registry, pipeline, input.sources, &manifest)?;
    state.set_snapshot(pipeline, registry);
    Ok(())
}

/// `vigie_indicator_info`: one series per indicator with its unit, direction, period, names
/// and roles.
fn indicator_info(
    registry: &Registry,
    pipeline: &str,
    catalogue: &[IndicatorDef],
) -> Result<(), ServeError> {
    let info = gauge(
        registry,
        names::INDICATOR_INFO,
        "Indicator metadata.",
        &names::INDICATOR_INFO_LABELS,
    )?;
    for def in catalogue {
        let direction = match def.meta.direction {
            vigie_indicators::Direction::HigherIsBetter => "higher_is_better",
            vigie_indicators::Direction::LowerIsBetter => "lower_is_better",
            vigie_indicators::Direction::Neither => "neither",
        };
        let roles: Vec<&str> = def.meta.roles.iter().map(|r| r.yaml_name()).collect();
        info.with_label_values(&[
            pipeline,
            def.meta.id.as_str(),
            unit_label(def),
            direction,
            def.meta.period.code(),
            def.meta.name.fr.as_str(),
            def.meta.name.en.as_str(),
            roles.join(",").as_str(),
        ])
        .set(1.0);
    }
    Ok(())
}

/// `vigie_survey_item_info`: one series per item of the sources' survey instruments, with
/// its wording and top box in both languages (the results name items by code only).
fn survey_item_info(
    registry: &Registry,
    pipeline: &str,
    sources: &[SourceSpec],
) -> Result<(), ServeError> {
    let info = gauge(
        registry,
        names::SURVEY_ITEM_INFO,
        "Survey item wording and top box.",
        &names::SURVEY_ITEM_INFO_LABELS,
    )?;
    let bindings = sources
        .iter()
        .filter_map(|s| s.survey.as_ref()?.binding.as_ref());
    for binding in bindings {
        let instrument = binding.instrument();
        for item in instrument.items() {
            let top = instrument.top_box_label(item);
            info.with_label_values(&[
                pipeline,
                instrument.id(),
                item.code(),
                instrument.scale_of(item).id(),
                item.wording().fr.as_str(),
                item.wording().en.as_str(),
                top.fr.as_str(),
                top.en.as_str(),
            ])
            .set(1.0);
        }
    }
    Ok(())
}

/// Every per-cell family over the published rows. A suppressed cell has no series at all:
/// absent, never zero.
fn indicator_cells(
    registry: &Registry,
    pipeline: &str,
    rows: &[&IndicatorResult],
) -> Result<(), ServeError> {
    for family in &names::INDICATOR_FAMILIES {
        let g = gauge(registry, family.name, family.help, &names::INDICATOR_LABELS)?;
        for r in rows.iter().filter(|r| !r.is_suppressed()) {
            if let Some(v) = (family.value)(r).filter(|v| v.is_finite()) {
                g.with_label_values(&names::indicator_label_values(pipeline, r))
                    .set(v);
            }
        }
    }
    Ok(())
}

/// Per-source load totals, held files and freshness, from the manifest. Held and discarded
/// files changed nothing: their rows are not counted.
fn source_metrics(
    registry: &Registry,
    pipeline: &str,
    sources: &[SourceSpec],
    manifest: &[ManifestEntry],
) -> Result<(), ServeError> {
    let counter = |name: &str, help: &str| -> Result<IntCounterVec, ServeError> {
        let c = IntCounterVec::new(Opts::new(name, help), &names::SOURCE_LABELS)?;
        registry.register(Box::new(c.clone()))?;
        Ok(c)
    };
    let accepted = counter(
        names::SOURCE_ROWS_ACCEPTED,
        "Rows accepted, over every load.",
    )?;
    let rejected = counter(
        names::SOURCE_ROWS_REJECTED,
        "Rows rejected, over every load.",
    )?;
    let files_rejected = counter(names::SOURCE_FILES_REJECTED, "Files rejected whole.")?;
    let last = gauge(
        registry,
        names::SOURCE_LAST_EXTRACT,
        "When the newest extract of the source was loaded (Unix time).",
        &names::SOURCE_LABELS,
    )?;
    let held = gauge(
        registry,
        names::SOURCE_FILES_HELD,
        "Files held for review by a replacement guard, waiting for `vigie held release|discard`.",
        &names::SOURCE_LABELS,
    )?;
    let expected = gauge(
        registry,
        names::SOURCE_EXPECTED_INTERVAL,
        "Expected interval between extracts.",
        &names::SOURCE_LABELS,
    )?;
    // Every declared source has its series from the start, at zero.
    for s in sources {
        let src = [pipeline, s.source.as_str()];
        accepted.with_label_values(&src).inc_by(0);
        rejected.with_label_values(&src).inc_by(0);
        files_rejected.with_label_values(&src).inc_by(0);
        held.with_label_values(&src).set(0.0);
        if let Some(days) = s.expected_every_days {
            expected.with_label_values(&src).set(days as f64 * 86_400.0);
        }
    }
    for e in vigie_pipeline::outstanding_held(manifest) {
        held.with_label_values(&[pipeline, e.source.as_str()]).inc();
    }
    for e in manifest {
        if !matches!(e.status, FileStatus::Loaded | FileStatus::Rejected) {
            continue;
        }
        let src = [pipeline, e.source.as_str()];
        accepted.with_label_values(&src).inc_by(e.rows_accepted);
        rejected.with_label_values(&src).inc_by(e.rows_rejected);
        if e.status == FileStatus::Rejected {
            files_rejected.with_label_values(&src).inc();
        }
        let g = last.with_label_values(&src);
        let t = e.finished_at.timestamp() as f64;
        if t > g.get() {
            g.set(t);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survey_items_are_exported_with_their_wording_and_top_box() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../pipelines/sources/sondage-experience.yaml");
        let source = vigie_model::config::load_source(&path).unwrap_or_else(|e| panic!("{e}"));
        let registry = Registry::new();
        survey_item_info(&registry, "demo", &[source]).expect("export");
        let families = registry.gather();
        let family = families
            .iter()
            .find(|f| f.name() == names::SURVEY_ITEM_INFO)
            .expect("the family");
        // Q1..Q8 of pipelines/instruments/experience.yaml.
        assert_eq!(family.get_metric().len(), 8);
        let q8 = family
            .get_metric()
            .iter()
            .find(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == "item" && l.value() == "Q8")
            })
            .expect("Q8");
        let label = |name: &str| {
            q8.get_label()
                .iter()
                .find(|l| l.name() == name)
                .map(|l| l.value().to_string())
        };
        assert_eq!(label("scale").as_deref(), Some("likelihood_0_10"));
        assert_eq!(
            label("wording_en").as_deref(),
            Some("How likely are you to recommend this team to family or friends?")
        );
        assert_eq!(label("top_box_fr").as_deref(), Some("9–10"));
        assert_eq!(label("pipeline").as_deref(), Some("demo"));
    }
}
