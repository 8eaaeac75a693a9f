//! Every metric name `vigie serve` exports, in one place (see dashboards/METRICS.md).

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

/// Labels of every indicator series.
pub const INDICATOR_LABELS: [&str; 6] = [
    "indicator",
    "period_type",
    "org_level",
    "org_unit",
    "stratum_dimension",
    "stratum",
];
