//! Builds the indicator and warehouse metrics from the disclosure gate's published results
//! and the load manifest.

use std::collections::BTreeMap;

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};
use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{IndicatorDef, IndicatorResult, published_results};
use vigie_model::config::SourceSpec;
use vigie_warehouse::{FileStatus, Warehouse};

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

fn signal_value(signal: &str) -> Option<f64> {
    match signal {
        "common_cause" => Some(0.0),
        "special_cause_improvement" => Some(1.0),
        "special_cause_concern" => Some(-1.0),
        "special_cause_neither" => Some(2.0),
        _ => None,
    }
}

fn status_value(status: &str) -> Option<f64> {
    match status {
        "met" => Some(1.0),
        "within_corridor" => Some(0.5),
        "not_met" => Some(0.0),
        _ => None,
    }
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
        vigie_indicators::Unit::Days => "days",
        vigie_indicators::Unit::Ratio => "ratio",
        vigie_indicators::Unit::Count => "count",
    }
}

/// Rebuilds the snapshot registry: indicators (through the gate) and warehouse metrics.
pub async fn refresh_indicators(
    state: &ServeState,
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    disclosure: &DisclosureConfig,
    sources: &[SourceSpec],
) -> Result<(), ServeError> {
    let registry = Registry::new();
    let labels = &names::INDICATOR_LABELS;
    let value = gauge(
        &registry,
        names::INDICATOR_VALUE,
        "Indicator value in its unit (see vigie_indicator_info).",
        labels,
    )?;
    let lower = gauge(
        &registry,
        names::INDICATOR_CI_LOWER,
        "Lower 95% confidence limit.",
        labels,
    )?;
    let upper = gauge(
        &registry,
        names::INDICATOR_CI_UPPER,
        "Upper 95% confidence limit.",
        labels,
    )?;
    let numerator = gauge(
        &registry,
        names::INDICATOR_NUMERATOR,
        "Numerator of the indicator cell.",
        labels,
    )?;
    let denominator = gauge(
        &registry,
        names::INDICATOR_DENOMINATOR,
        "Denominator of the indicator cell.",
        labels,
    )?;
    let target = gauge(&registry, names::INDICATOR_TARGET, "Agreed target.", labels)?;
    let target_met = gauge(
        &registry,
        names::INDICATOR_TARGET_MET,
        "1 target met, 0.5 within the corridor, 0 not met.",
        labels,
    )?;
    let centre = gauge(
        &registry,
        names::INDICATOR_SPC_CENTRE,
        "SPC centre line.",
        labels,
    )?;
    let spc_upper = gauge(
        &registry,
        names::INDICATOR_SPC_UPPER,
        "SPC upper process limit.",
        labels,
    )?;
    let spc_lower = gauge(
        &registry,
        names::INDICATOR_SPC_LOWER,
        "SPC lower process limit.",
        labels,
    )?;
    let signal = gauge(
        &registry,
        names::INDICATOR_SPC_SIGNAL,
        "SPC signal: 0 common cause, 1 improvement, -1 concern, 2 no direction.",
        labels,
    )?;
    let period_end = gauge(
        &registry,
        names::INDICATOR_PERIOD_END,
        "End of the period the series shows (Unix time).",
        labels,
    )?;
    let info = gauge(
        &registry,
        names::INDICATOR_INFO,
        "Indicator metadata.",
        &["indicator", "unit", "direction", "period_type"],
    )?;
    for def in catalogue {
        let direction = match def.meta.direction {
            vigie_indicators::Direction::HigherIsBetter => "higher_is_better",
            vigie_indicators::Direction::LowerIsBetter => "lower_is_better",
            vigie_indicators::Direction::Neither => "neither",
        };
        let period = format!("{:?}", def.meta.period).to_lowercase();
        info.with_label_values(&[
            def.meta.id.as_str(),
            unit_label(def),
            direction,
            period.as_str(),
        ])
        .set(1.0);
    }
    let results = published_results(warehouse, catalogue, disclosure).await?;
    for r in latest_rows(&results) {
        if r.suppressed {
            continue; // absent, never zero
        }
        let l = [
            r.indicator.as_str(),
            r.period_type.as_str(),
            r.org_level.as_str(),
            r.org_unit.as_str(),
            r.stratum_dimension.as_str(),
            r.stratum_value.as_str(),
        ];
        let set = |g: &GaugeVec, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                g.with_label_values(&l).set(v);
            }
        };
        set(&value, r.value);
        set(&lower, r.ci_low);
        set(&upper, r.ci_high);
        set(&numerator, r.numerator);
        set(&denominator, r.denominator);
        set(&target, r.target);
        set(
            &target_met,
            r.target_status.as_deref().and_then(status_value),
        );
        set(&centre, r.spc_centre);
        set(&spc_upper, r.spc_upper);
        set(&spc_lower, r.spc_lower);
        set(&signal, r.spc_signal.as_deref().and_then(signal_value));
        let end = r
            .period_end
            .succ_opt()
            .unwrap_or(r.period_end)
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp());
        set(&period_end, end.map(|t| t as f64));
    }
    // Warehouse: per-source load totals and freshness.
    let accepted = IntCounterVec::new(
        Opts::new(
            names::SOURCE_ROWS_ACCEPTED,
            "Rows accepted, over every load.",
        ),
        &["source"],
    )?;
    let rejected = IntCounterVec::new(
        Opts::new(
            names::SOURCE_ROWS_REJECTED,
            "Rows rejected, over every load.",
        ),
        &["source"],
    )?;
    let files_rejected = IntCounterVec::new(
        Opts::new(names::SOURCE_FILES_REJECTED, "Files rejected whole."),
        &["source"],
    )?;
    registry.register(Box::new(accepted.clone()))?;
    registry.register(Box::new(rejected.clone()))?;
    registry.register(Box::new(files_rejected.clone()))?;
    let last = gauge(
        &registry,
        names::SOURCE_LAST_EXTRACT,
        "When the newest extract of the source was loaded (Unix time).",
        &["source"],
    )?;
    let held = gauge(
        &registry,
        names::SOURCE_FILES_HELD,
        "Files held for review by a replacement guard, waiting for `vigie held release|discard`.",
        &["source"],
    )?;
    let expected = gauge(
        &registry,
        names::SOURCE_EXPECTED_INTERVAL,
        "Expected interval between extracts.",
        &["source"],
    )?;
    for s in sources {
        accepted.with_label_values(&[s.source.as_str()]).inc_by(0);
        rejected.with_label_values(&[s.source.as_str()]).inc_by(0);
        files_rejected
            .with_label_values(&[s.source.as_str()])
            .inc_by(0);
        held.with_label_values(&[s.source.as_str()]).set(0.0);
        if let Some(days) = s.expected_every_days {
            expected
                .with_label_values(&[s.source.as_str()])
                .set(days as f64 * 86_400.0);
        }
    }
    let manifest = warehouse.manifest(None).await?;
    for e in vigie_pipeline::outstanding_held(&manifest) {
        held.with_label_values(&[e.source.as_str()]).inc();
    }
    for e in manifest {
        let src = [e.source.as_str()];
        // Held and discarded files changed nothing: their rows are not counted.
        if !matches!(e.status, FileStatus::Loaded | FileStatus::Rejected) {
            continue;
        }
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
    if let Ok(mut snapshot) = state.snapshot.write() {
        *snapshot = registry;
    }
    state.ready.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}
