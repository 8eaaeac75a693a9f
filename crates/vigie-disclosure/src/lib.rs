//! # vigie-disclosure
//!
//! The disclosure-control gate of vigie: every indicator cell and every
//! free-standing count that leaves the warehouse (Prometheus metrics,
//! clinician reports, funder reports) goes through this crate. Pure: no I/O,
//! no DataFusion, no dependency on other workspace crates.
//!
//! The rule is small-cell suppression as practised by CIHI, Statistics Canada
//! and ICES:
//!
//! 1. **Primary suppression.** A declared count field (see [`CountFields`])
//!    from 1 to `min_count - 1` (default 1 to 5) suppresses its cell; zero is
//!    not suppressed. A cell whose indicator declares a minimum denominator
//!    (e.g. fewer than 10 valid survey responses) is suppressed with a
//!    distinct reason.
//! 2. **Everything derived goes too.** A suppressed cell publishes no
//!    numerator, no denominator, no value and no confidence interval.
//! 3. **Complementary suppression.** For additive indicators, cells form
//!    additive sets (the strata of one dimension add up to the `"all"`
//!    stratum; the child org units of a parent add up to the parent). A set in
//!    which exactly one cell is suppressed would let that cell be recovered by
//!    subtraction, so one more cell of the set is suppressed (the smallest
//!    other non-zero member, tie-broken on a stable key), until no set has
//!    exactly one suppressed cell.
//!
//! | item | what |
//! | --- | --- |
//! | [`apply`] | runs the three steps above over a set of cells |
//! | [`check`] / [`check_all`] | last guard called by every output writer: verifies an output set leaks nothing |
//! | [`publishable_count`] | the same threshold for a free-standing count (e.g. a report sentence) |
//! | [`SuppressionReason`] | why a cell was suppressed, with French and English labels |
//!
//! ```
//! use vigie_disclosure::{ALL, Cell, CountFields, DisclosureConfig, OrgLevel, SuppressionReason, apply, check};
//!
//! let cell = |unit: &str, parent: Option<&str>, level, events: f64| Cell {
//!     indicator: "ed_visits".into(),
//!     period: "2025Q1".into(),
//!     org_level: level,
//!     org_unit: unit.into(),
//!     parent_unit: parent.map(Into::into),
//!     stratum_dimension: ALL.into(),
//!     stratum_value: ALL.into(),
//!     numerator: Some(events),
//!     denominator: Some(1000.0),
//!     value: Some(events / 1000.0),
//!     ci_low: None,
//!     ci_high: None,
//!     count_fields: CountFields::BOTH,
//!     min_denominator: None,
//!     additive: true,
//!     suppressed: None,
//! };
//! let cfg = DisclosureConfig::default();
//! let out = apply(
//!     vec![
//!         cell("R", None, OrgLevel::Region, 53.0),
//!         cell("T1", Some("R"), OrgLevel::Team, 3.0),
//!         cell("T2", Some("R"), OrgLevel::Team, 20.0),
//!         cell("T3", Some("R"), OrgLevel::Team, 30.0),
//!     ],
//!     &cfg,
//! );
//! let reasons: Vec<_> = out.iter().map(|c| c.suppressed).collect();
//! assert_eq!(
//!     reasons,
//!     [None, Some(SuppressionReason::SmallCount), Some(SuppressionReason::Complementary), None]
//! );
//! assert_eq!(out[1].value, None);
//! check(&out, &cfg).expect("safe to publish");
//! ```
//!
//! Results are deterministic: the same cells give the same output, whatever
//! their order in the input.

mod apply;
mod cell;
mod check;
mod config;
mod lang;
mod reason;
mod sets;

pub use apply::apply;
pub use cell::{ALL, Cell, CellKey, CountField, CountFields, OrgLevel, REGION};
pub use check::{Leak, LeakKind, check, check_all};
pub use config::{DisclosureConfig, is_publishable_count, publishable_count};
pub use lang::{Lang, UnknownLang};
pub use reason::SuppressionReason;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
