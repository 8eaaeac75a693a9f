//! # vigie-stats
//!
//! Pure statistics for the vigie performance-monitoring pipeline: no I/O and
//! no dependency on other workspace crates. Every function validates its
//! input and returns a typed [`StatsError`] rather than panicking.
//!
//! | module | what |
//! | --- | --- |
//! | [`proportion`] | Wilson score (PHEindicatormethods) and Clopper-Pearson intervals |
//! | [`poisson`] | exact (Garwood) and Byar intervals for counts, rates, rate ratios |
//! | [`standardise`] | directly standardised rates with Dobson limits; Canada 2011 standard |
//! | [`bootstrap`] | seeded, parallel, deterministic percentile bootstrap |
//! | [`spc`] | XmR, p- and u-charts with Making Data Count rules; Anhøj run-chart rules |
//! | [`disparity`] | rate/risk ratios and differences against a reference group; slope and relative index of inequality |
//! | [`funnel`] | funnel-plot limits (95 %, 99.8 %) for proportions, rates and ratios |
//! | [`quantile`](mod@quantile) | type-7 (R default) quantiles, median, 90th percentile |
//!
//! Confidence levels are always given as fractions in (0, 1), e.g. `0.95`.

pub mod age;
pub mod bootstrap;
pub mod disparity;
mod dist;
pub mod error;
pub mod funnel;
pub mod interval;
pub mod poisson;
pub mod proportion;
pub mod quantile;
pub mod spc;
pub mod standardise;

pub use age::{ADJUSTMENT_AGE_BANDS, AgeBands, REPORTING_AGE_BANDS};
pub use bootstrap::{
    BootstrapConfig, BootstrapResult, bootstrap_percentile, bootstrap_weights,
    bootstrap_weights_each,
};
pub use disparity::{
    EXACT_RATE_RATIO_BELOW, MIN_SII_REPETITIONS, ProportionGroup, RateGroup, RateRatio,
    RateRatioMethod, SiiGroup, SiiInterval, SiiScale, SlopeIndex, rate_difference, rate_ratio,
    ridits, risk_difference, risk_ratio, slope_index,
};
pub use error::{DisparityMeasure, Result, StatsError, UndefinedReason};
pub use funnel::{
    FunnelClassification, FunnelLimits, FunnelPosition, FunnelUnit, ProportionFunnelMethod,
    classify, proportion_funnel, proportion_funnel_limits, rate_funnel, rate_funnel_limits,
    ratio_funnel, ratio_funnel_limits,
};
pub use interval::Interval;
pub use poisson::{
    byar_ci, poisson_ci, poisson_exact_ci, rate_ci, rate_ratio_ci, rate_ratio_exact_ci,
};
pub use proportion::{clopper_pearson_ci, wilson_ci};
pub use quantile::{median, percentile_90, quantile, quantiles};
pub use spc::{
    AnhoejResult, AnhoejThresholds, ChartKind, ImprovementDirection, Signals, SpcChart, SpcOptions,
    SpcPoint, Variation, anhoej_run_chart, anhoej_thresholds, p_chart, u_chart, xmr_chart,
};
pub use standardise::{
    CANADA_2011_STANDARD, Dsr, StandardBand, Stratum, canada_2011_band_index, dsr_canada_2011,
    dsr_canada_2011_up_to, dsr_dobson,
};

#[cfg(test)]
mod properties;
