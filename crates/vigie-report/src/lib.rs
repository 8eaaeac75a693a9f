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
mod equity;
mod feedback;
pub mod format;
mod i18n;
mod pathway;
mod period;
mod render;
mod sections;
mod survey;
mod views;

pub use period::{Period, PeriodKind, parse_period};
pub use vigie_disclosure::Lang;
pub use vigie_model::config::ReportPeriod;

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

/// The published results and the load manifest, read once and shared by every report of a
/// run (every team, every language).
pub struct ReportData {
    data: data::Data,
}

impl ReportData {
    /// Reads the published results (through the disclosure gate) and the manifest.
    pub async fn load(
        warehouse: &Warehouse,
        catalogue: &[IndicatorDef],
        cfg: &DisclosureConfig,
    ) -> Result<ReportData, ReportError> {
        Ok(ReportData {
            data: data::Data::load(warehouse, catalogue, cfg).await?,
        })
    }

    /// The pipeline's survey instruments: reports show each survey item's wording and top
    /// box in the reader's language (without them, its code).
    pub fn with_instruments(
        mut self,
        instruments: &[std::sync::Arc<vigie_model::config::Instrument>],
    ) -> ReportData {
        self.data.survey = survey::SurveyItems::new(instruments);
        self
    }

    /// The pipeline's strata declarations and equity settings: the equity sections show the
    /// governed strata it enables, with its governance statement (without them, the built-in
    /// declarations and no governed stratum).
    pub fn with_equity(
        mut self,
        strata: vigie_indicators::strata::Strata,
        spec: &vigie_model::config::EquitySpec,
    ) -> ReportData {
        self.data.equity = equity::EquityConfig::new(strata, spec);
        self
    }

    /// The teams that have results.
    pub fn teams(&self) -> &[String] {
        &self.data.teams
    }

    /// The latest period of `kind` with results (what `latest_quarter` and `latest_year`
    /// resolve to).
    pub fn latest_period(&self, kind: PeriodKind) -> Option<Period> {
        self.data
            .latest_start(kind)
            .map(|start| Period::new(kind, start))
    }

    /// The period a report asks for: a fixed one as it is, a `latest_*` one as the latest
    /// period of its kind with published results (`None` when there are none yet).
    pub fn resolve(&self, requested: ReportPeriod) -> Option<Period> {
        match requested {
            ReportPeriod::Fixed(p) => Some(p.into()),
            ReportPeriod::LatestQuarter => self.latest_period(PeriodKind::Quarter),
            ReportPeriod::LatestYear => self.latest_period(PeriodKind::Year),
        }
    }
}

/// The feedback report of `team` for `period`, as one HTML document.
pub fn render_feedback(
    data: &ReportData,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    team: &str,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    feedback::render(&data.data, catalogue, cfg, team, period, lang)
}

/// The region's accountability report for `period`, as one HTML document.
pub fn render_accountability(
    data: &ReportData,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    accountability::render(&data.data, catalogue, cfg, period, lang)
}

/// The feedback report of `team` for `period` (e.g. `2025Q3`), reading the results for this
/// one report (several reports: [`ReportData::load`] once, then [`render_feedback`]).
pub async fn feedback_report(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    team: &str,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    let data = ReportData::load(warehouse, catalogue, cfg).await?;
    render_feedback(&data, catalogue, cfg, team, period, lang)
}

/// The region's accountability report for `period`, reading the results for this one report.
pub async fn accountability_report(
    warehouse: &Warehouse,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    let data = ReportData::load(warehouse, catalogue, cfg).await?;
    render_accountability(&data, catalogue, cfg, period, lang)
}

#[cfg(test)]
mod tests;
