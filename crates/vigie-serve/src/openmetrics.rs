//! `vigie export openmetrics`: the whole indicator history, with timestamps, in the
//! OpenMetrics text format that `promtool tsdb create-blocks-from openmetrics` turns into
//! Prometheus blocks, so dashboards show years of history from the first day.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{IndicatorDef, IndicatorResult, published_results};
use vigie_warehouse::Warehouse;

use crate::ServeError;
use crate::names;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Seconds since the epoch at the end of the row's period (the midnight after its last day).
fn timestamp(r: &IndicatorResult) -> i64 {
    r.period_end
        .succ_opt()
        .unwrap_or(r.period_end)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// Writes the history of every published (unsuppressed) cell; returns the sample count.
pub async fn export_openmetrics(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    disclosure: &DisclosureConfig,
    out: &Path,
) -> Result<usize, ServeError> {
    let results = published_results(warehouse, catalogue, disclosure).await?;
    type Field = fn(&IndicatorResult) -> Option<f64>;
    let families: [(&str, &str, Field); 9] = [
        (
            names::INDICATOR_VALUE,
            "Indicator value in its unit.",
            |r| r.value,
        ),
        (
            names::INDICATOR_CI_LOWER,
            "Lower 95% confidence limit.",
            |r| r.ci_low,
        ),
        (
            names::INDICATOR_CI_UPPER,
            "Upper 95% confidence limit.",
            |r| r.ci_high,
        ),
        (
            names::INDICATOR_NUMERATOR,
            "Numerator of the indicator cell.",
            |r| r.numerator,
        ),
        (
            names::INDICATOR_DENOMINATOR,
            "Denominator of the indicator cell.",
            |r| r.denominator,
        ),
        (names::INDICATOR_TARGET, "Agreed target.", |r| r.target),
        (names::INDICATOR_SPC_CENTRE, "SPC centre line.", |r| {
            r.spc_centre
        }),
        (
            names::INDICATOR_SPC_UPPER,
            "SPC upper process limit.",
            |r| r.spc_upper,
        ),
        (
            names::INDICATOR_SPC_LOWER,
            "SPC lower process limit.",
            |r| r.spc_lower,
        ),
    ];
    let mut text = String::new();
    let mut samples = 0usize;
    for (name, help, field) in families {
        // Series -> samples in time order.
        let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
        for r in results.iter().filter(|r| !r.suppressed) {
            let Some(v) = field(r).filter(|v| v.is_finite()) else {
                continue;
            };
            let labels = format!(
                "indicator=\"{}\",period_type=\"{}\",org_level=\"{}\",org_unit=\"{}\",stratum_dimension=\"{}\",stratum=\"{}\"",
                escape(&r.indicator),
                escape(&r.period_type),
                escape(&r.org_level),
                escape(&r.org_unit),
                escape(&r.stratum_dimension),
                escape(&r.stratum_value)
            );
            series.entry(labels).or_default().insert(timestamp(r), v);
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
