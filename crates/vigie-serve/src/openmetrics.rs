//! `vigie export openmetrics`: the whole indicator history, with timestamps, in the
//! OpenMetrics text format that `promtool tsdb create-blocks-from openmetrics` turns into
//! Prometheus blocks, so dashboards show years of history from the first day.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{IndicatorDef, published_results};
use vigie_warehouse::Warehouse;

use crate::ServeError;
use crate::names;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the history of every published (unsuppressed) cell; returns the sample count.
/// `pipeline` is the pipeline's `name`: its `pipeline` label, the same as on the series
/// `vigie serve` exports, so backfilled history and live samples form one series.
pub async fn export_openmetrics(
    pipeline: &str,
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    disclosure: &DisclosureConfig,
    out: &Path,
) -> Result<usize, ServeError> {
    let results = published_results(warehouse, catalogue, disclosure).await?;
    let mut text = String::new();
    let mut samples = 0usize;
    for family in names::INDICATOR_FAMILIES.iter().filter(|f| f.in_history) {
        let (name, help) = (family.name, family.help);
        // Series -> samples in time order.
        let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
        for r in results.iter().filter(|r| !r.is_suppressed()) {
            let Some(v) = (family.value)(r).filter(|v| v.is_finite()) else {
                continue;
            };
            let labels = names::INDICATOR_LABELS
                .iter()
                .zip(names::indicator_label_values(pipeline, r))
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect::<Vec<_>>()
                .join(",");
            let t = names::period_end_seconds(r).unwrap_or(0);
            series.entry(labels).or_default().insert(t, v);
        }
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (labels, points) in series {
            for (t, v) in points {
                let _ = writeln!(text, "{name}{{{labels}}} {v} {t}");
                samples += 1;
            }
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(out, text).map_err(|source| ServeError::Io {
        path: out.display().to_string(),
        source,
    })?;
    Ok(samples)
}
