//! Data quality: coverage per partner source (from the manifest), and per source the
//! rejected rows, the least complete mandatory field and the days since the last extract —
//! the indicators with the `rejected_rows`, `completeness` and `timeliness` roles.

use serde::Serialize;
use vigie_indicators::{IndicatorMeta, IndicatorResult, Role};

use crate::data::{Notes, REGION, SourceRow};
use crate::format;
use crate::sections::{MissingRole, Scope};
use crate::views::{CellView, cell};

/// The stratum dimension of per-source indicators.
const SOURCE: &str = "source";

/// One partner source's data-quality indicators.
#[derive(Serialize)]
struct DqRow {
    source: String,
    rejected: CellView,
    completeness: CellView,
    days: CellView,
}

/// The data-quality section.
#[derive(Serialize)]
pub struct DataQuality {
    coverage: Vec<SourceRow>,
    dq: Vec<DqRow>,
    /// Said under the table for each role no indicator has.
    dq_missing: Vec<MissingRole>,
}

/// The data-quality section.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> DataQuality {
    let coverage = s.data.coverage(s.catalogue, s.cfg, s.lang, notes);
    let mut dq_missing = Vec::new();
    let rejected = s.by_role(Role::RejectedRows, &mut dq_missing);
    let completeness = s.by_role(Role::Completeness, &mut dq_missing);
    let timeliness = s.by_role(Role::Timeliness, &mut dq_missing);
    let dq = coverage
        .iter()
        .map(|c| {
            let source = c.source.as_str();
            DqRow {
                source: c.source.clone(),
                rejected: by_source(s, rejected, source, notes),
                completeness: least_complete(s, completeness, source, notes),
                days: by_source(s, timeliness, source, notes),
            }
        })
        .collect();
    DataQuality {
        coverage,
        dq,
        dq_missing,
    }
}

/// The region's row of `m` for `source`.
fn by_source(
    s: &Scope<'_>,
    m: Option<&IndicatorMeta>,
    source: &str,
    notes: &mut Notes,
) -> CellView {
    let row = m.and_then(|m| s.data.find(&m.id, REGION, SOURCE, source, s.period));
    shown(s, m, row, notes)
}

/// The least complete mandatory field of `source` (items are `source.column`): the lowest
/// published value, or a withheld one when none is published.
fn least_complete(
    s: &Scope<'_>,
    m: Option<&IndicatorMeta>,
    source: &str,
    notes: &mut Notes,
) -> CellView {
    let prefix = format!("{source}.");
    let row = m.and_then(|m| {
        let rows: Vec<&IndicatorResult> = s
            .data
            .rows
            .iter()
            .filter(|r| {
                r.indicator == m.id && r.org_unit == REGION && r.stratum_value.starts_with(&prefix)
            })
            .collect();
        rows.iter()
            .filter(|r| !r.is_suppressed())
            .min_by(|a, b| {
                a.value
                    .partial_cmp(&b.value)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .copied()
            .or_else(|| rows.first().copied())
    });
    shown(s, m, row, notes)
}

/// A cell of the table ("—" without an indicator or a row).
fn shown(
    s: &Scope<'_>,
    m: Option<&IndicatorMeta>,
    row: Option<&IndicatorResult>,
    notes: &mut Notes,
) -> CellView {
    match m {
        Some(m) => cell(row, m, &s.region_label, notes, s.lang),
        None => CellView {
            text: format::DASH.to_string(),
            ..CellView::default()
        },
    }
}
