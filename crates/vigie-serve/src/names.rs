//! Every metric name `vigie serve` exports, in one place (see dashboards/METRICS.md), and the
//! per-cell indicator families with their help text, shared by `/metrics` and the history
//! export.

use vigie_indicators::{Code, IndicatorResult, SpcSignal, TargetStatus};

/// Indicator value, in the indicator's unit.
pub const INDICATOR_VALUE: &str = "vigie_indicator_value";
/// Lower 95% confidence limit.
pub const INDICATOR_CI_LOWER: &str = "vigie_indicator_ci_lower";
/// Upper 95% confidence limit.
pub const INDICATOR_CI_UPPER: &str = "vigie_indicator_ci_upper";
/// Numerator.
pub const INDICATOR_NUMERATOR: &str = "vigie_indicator_numerator";
/// Denominator.
pub const INDICATOR_DENOMINATOR: &str = "vigie_indicator_denominator";
/// Target.
pub const INDICATOR_TARGET: &str = "vigie_indicator_target";
/// 1 met, 0.5 within corridor, 0 not met.
pub const INDICATOR_TARGET_MET: &str = "vigie_indicator_target_met";
/// SPC centre line.
pub const INDICATOR_SPC_CENTRE: &str = "vigie_indicator_spc_centre";
/// SPC upper process limit.
pub const INDICATOR_SPC_UPPER: &str = "vigie_indicator_spc_upper_limit";
/// SPC lower process limit.
pub const INDICATOR_SPC_LOWER: &str = "vigie_indicator_spc_lower_limit";
/// SPC signal: 0 common cause, 1 improvement, -1 concern, 2 no direction.
pub const INDICATOR_SPC_SIGNAL: &str = "vigie_indicator_spc_signal";
/// End of the period shown.
pub const INDICATOR_PERIOD_END: &str = "vigie_indicator_period_end_timestamp_seconds";
/// One series per indicator with its unit and direction.
pub const INDICATOR_INFO: &str = "vigie_indicator_info";
/// One series per survey item of the pipeline's instruments, with its wording.
pub const SURVEY_ITEM_INFO: &str = "vigie_survey_item_info";
/// Build version and commit.
pub const BUILD_INFO: &str = "vigie_build_info";
/// 1 while the latest refresh of a pipeline's metrics failed.
pub const PIPELINE_REFRESH_FAILING: &str = "vigie_pipeline_metrics_refresh_failing";
/// Scheduler running.
pub const SCHEDULER_UP: &str = "vigie_scheduler_up";
/// Runs by status.
pub const PIPELINE_RUNS: &str = "vigie_pipeline_runs_total";
/// Last successful run end.
pub const PIPELINE_LAST_SUCCESS: &str = "vigie_pipeline_last_success_timestamp_seconds";
/// Last failed run end.
pub const PIPELINE_LAST_FAILURE: &str = "vigie_pipeline_last_failure_timestamp_seconds";
/// Run durations.
pub const PIPELINE_RUN_DURATION: &str = "vigie_pipeline_run_duration_seconds";
/// Rows accepted per source.
pub const SOURCE_ROWS_ACCEPTED: &str = "vigie_source_rows_accepted_total";
/// Rows rejected per source.
pub const SOURCE_ROWS_REJECTED: &str = "vigie_source_rows_rejected_total";
/// Files rejected whole per source.
pub const SOURCE_FILES_REJECTED: &str = "vigie_source_files_rejected_total";
/// Files held for review per source (a replacement guard; `vigie held`).
pub const SOURCE_FILES_HELD: &str = "vigie_source_files_held";
/// Newest extract load time per source.
pub const SOURCE_LAST_EXTRACT: &str = "vigie_source_last_extract_timestamp_seconds";
/// Expected interval between extracts per source.
pub const SOURCE_EXPECTED_INTERVAL: &str = "vigie_source_expected_interval_seconds";

/// The label naming the pipeline (its `name`) on every per-pipeline series, so that one
/// server can export several regions side by side.
pub const PIPELINE_LABEL: &str = "pipeline";

/// Labels of every source series.
pub const SOURCE_LABELS: [&str; 2] = [PIPELINE_LABEL, "source"];

/// Labels of `vigie_indicator_info`.
pub const INDICATOR_INFO_LABELS: [&str; 8] = [
    PIPELINE_LABEL,
    "indicator",
    "unit",
    "direction",
    "period_type",
    // The catalogue's names, so dashboard pickers show them in the reader's language.
    "name_fr",
    "name_en",
    // The catalogue's roles, comma-separated (`care_pathway`, `data_quality`...), so that a
    // dashboard panel selects the indicators of a kind (`roles=~".*care_pathway.*"`).
    "roles",
];

/// Labels of `vigie_survey_item_info`: the item (the `stratum` of results by item) with its
/// wording and top box in both languages, for the dashboards.
pub const SURVEY_ITEM_INFO_LABELS: [&str; 8] = [
    PIPELINE_LABEL,
    "instrument",
    "item",
    "scale",
    "wording_fr",
    "wording_en",
    "top_box_fr",
    "top_box_en",
];

/// Labels of every indicator series.
pub const INDICATOR_LABELS: [&str; 7] = [
    PIPELINE_LABEL,
    "indicator",
    "period_type",
    "org_level",
    "org_unit",
    "stratum_dimension",
    "stratum",
];

/// The label values of a result's series of `pipeline`, in the order of
/// [`INDICATOR_LABELS`].
pub fn indicator_label_values<'a>(pipeline: &'a str, r: &'a IndicatorResult) -> [&'a str; 7] {
    [
        pipeline,
        r.indicator.as_str(),
        r.period_type.code(),
        r.org_level.code(),
        r.org_unit.as_str(),
        r.stratum_dimension.as_str(),
        r.stratum_value.as_str(),
    ]
}

/// A metric family with one series per published indicator cell.
pub struct IndicatorFamily {
    /// Metric name.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// The sample a cell gives (`None`: no sample; suppressed cells give none at all).
    pub value: fn(&IndicatorResult) -> Option<f64>,
    /// Whether `vigie export openmetrics` writes its history too (the period end is each
    /// sample's timestamp there, and status gauges are read live).
    pub in_history: bool,
}

/// Midnight after the last day of the row's period, in seconds since the epoch.
pub fn period_end_seconds(r: &IndicatorResult) -> Option<i64> {
    r.period_end
        .succ_opt()
        .unwrap_or(r.period_end)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
}

/// Every per-cell indicator family, defined once for `/metrics` and the history export.
pub const INDICATOR_FAMILIES: [IndicatorFamily; 12] = [
    IndicatorFamily {
        name: INDICATOR_VALUE,
        help: "Indicator value in its unit (see vigie_indicator_info).",
        value: |r| r.value,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_CI_LOWER,
        help: "Lower 95% confidence limit.",
        value: |r| r.ci_low,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_CI_UPPER,
        help: "Upper 95% confidence limit.",
        value: |r| r.ci_high,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_NUMERATOR,
        help: "Numerator of the indicator cell.",
        value: |r| r.numerator,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_DENOMINATOR,
        help: "Denominator of the indicator cell.",
        value: |r| r.denominator,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_TARGET,
        help: "Agreed target.",
        value: |r| r.target,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_TARGET_MET,
        help: "1 target met, 0.5 within the corridor, 0 not met.",
        value: |r| r.target_status.map(TargetStatus::gauge_value),
        in_history: false,
    },
    IndicatorFamily {
        name: INDICATOR_SPC_CENTRE,
        help: "SPC centre line.",
        value: |r| r.spc_centre,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_SPC_UPPER,
        help: "SPC upper process limit.",
        value: |r| r.spc_upper,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_SPC_LOWER,
        help: "SPC lower process limit.",
        value: |r| r.spc_lower,
        in_history: true,
    },
    IndicatorFamily {
        name: INDICATOR_SPC_SIGNAL,
        help: "SPC signal: 0 common cause, 1 improvement, -1 concern, 2 no direction.",
        value: |r| r.spc_signal.map(SpcSignal::gauge_value),
        in_history: false,
    },
    IndicatorFamily {
        name: INDICATOR_PERIOD_END,
        help: "End of the period the series shows (Unix time).",
        value: |r| period_end_seconds(r).map(|t| t as f64),
        in_history: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_named_once_and_follows_prometheus_naming() {
        let mut names = std::collections::BTreeSet::new();
        for f in &INDICATOR_FAMILIES {
            assert!(names.insert(f.name), "{} defined twice", f.name);
            assert!(f.name.starts_with("vigie_indicator_"), "{}", f.name);
            assert!(!f.name.ends_with("_total"), "{} is a gauge", f.name);
            assert!(f.help.ends_with('.'), "{}", f.help);
        }
    }
}
