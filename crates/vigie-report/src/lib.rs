//! # vigie-report
//!
//! The two reports people read, as one self-contained HTML file each (inline CSS and SVG,
//! nothing fetched, print CSS for A4 and Letter), in French or English:
//!
//! * [`feedback_report`]: for a care team and a period — its indicators against its own
//!   history (SPC), its peers (funnel plot) and its targets; its program participants' change
//!   in ED visits and admissions, naive beside adjusted; experience by survey item; data notes.
//! * [`accountability_report`]: for funders — the region's scorecard against targets with
//!   the trend, the program evaluation with intervals, data completeness and timeliness per
//!   partner source, and a methods appendix generated from the catalogue.
//!
//! Reports read indicator results only through
//! [`vigie_indicators::published_results`], the disclosure gate: a suppressed cell shows
//! "—" with its footnote, and every free-standing count goes through
//! [`vigie_disclosure::publishable_count`]. Templates are files under `templates/`
//! (minijinja, auto-escaped), compiled into the crate.

mod accountability;
mod charts;
mod data;
mod feedback;
pub mod format;
mod i18n;
mod period;
mod render;
mod views;

pub use period::{Period, PeriodKind, parse_period, resolve_period};
pub use vigie_disclosure::Lang;

use thiserror::Error;
use vigie_disclosure::DisclosureConfig;
use vigie_indicators::IndicatorDef;
use vigie_warehouse::Warehouse;

/// Why a report could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The period is not written as a month, quarter or year.
    #[error("invalid period {input:?}: {message}")]
    InvalidPeriod {
        /// What was given.
        input: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The team is not in the warehouse's results.
    #[error("unknown team {team:?}; the teams with results are: {}", known.join(", "))]
    UnknownTeam {
        /// What was given.
        team: String,
        /// The teams that have results.
        known: Vec<String>,
    },
    /// No indicator has results in the period.
    #[error("no indicator results for {period}; periods with results: {}", available.join(", "))]
    NoDataForPeriod {
        /// The period asked for.
        period: String,
        /// Periods of the same kind that have results.
        available: Vec<String>,
    },
    /// The warehouse has no published results at all.
    #[error("the warehouse has no indicator results: run `vigie compute <pipeline>` first")]
    NoResults,
    /// Reading the results (boxed: the underlying errors are large).
    #[error(transparent)]
    Indicators(Box<vigie_indicators::IndicatorError>),
    /// Reading the manifest.
    #[error(transparent)]
    Warehouse(Box<vigie_warehouse::WarehouseError>),
    /// Rendering a template (a bug: the templates are compiled in).
    #[error("report template: {0}")]
    Template(Box<minijinja::Error>),
}

impl ReportError {
    /// Who must act; a wrapped error keeps its own kind.
    pub fn kind(&self) -> vigie_model::ErrorKind {
        use vigie_model::ErrorKind;
        match self {
            ReportError::InvalidPeriod { .. }
            | ReportError::UnknownTeam { .. }
            | ReportError::NoDataForPeriod { .. }
            | ReportError::NoResults => ErrorKind::User,
            ReportError::Indicators(e) => e.kind(),
            ReportError::Warehouse(e) => e.kind(),
            ReportError::Template(_) => ErrorKind::Bug,
        }
    }
}

impl From<vigie_indicators::IndicatorError> for ReportError {
    fn from(e: vigie_indicators::IndicatorError) -> Self {
        ReportError::Indicators(Box::new(e))
    }
}

impl From<vigie_warehouse::WarehouseError> for ReportError {
    fn from(e: vigie_warehouse::WarehouseError) -> Self {
        ReportError::Warehouse(Box::new(e))
    }
}

impl From<minijinja::Error> for ReportError {
    fn from(e: minijinja::Error) -> Self {
        ReportError::Template(Box::new(e))
    }
}

/// The feedback report of `team` for `period` (e.g. `2025Q3`), as one HTML document.
pub async fn feedback_report(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    team: &str,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    let data = data::Data::load(warehouse, catalogue, cfg).await?;
    feedback::render(&data, catalogue, cfg, team, period, lang)
}

/// The region's accountability report for `period`, as one HTML document.
pub async fn accountability_report(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    let data = data::Data::load(warehouse, catalogue, cfg).await?;
    accountability::render(&data, catalogue, cfg, period, lang)
}

/// The teams that have results in the warehouse (for command-line help and errors).
pub async fn teams(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
) -> Result<Vec<String>, ReportError> {
    Ok(data::Data::load(warehouse, catalogue, cfg).await?.teams)
}

#[cfg(test)]
mod tests;
