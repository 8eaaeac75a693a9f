//! The region-level equity table: each indicator with `equity:` strata, by each stratum shown
//! (see [`crate::equity`]), each category's gap to the reference category (ratio and
//! difference with their 95 % intervals) and, for an ordered stratum, the slope index of
//! inequality, in the latest period of the report's period.

use serde::Serialize;
use vigie_indicators::disparity::Measure;

use crate::data::{ALL, Notes, REGION};
use crate::equity::{category_label, gap_trend, id_of, measure_cell, measures, stratum_name};
use crate::format;
use crate::sections::Scope;
use crate::views::{CellView, Status, name};

/// One gap of the table.
#[derive(Serialize)]
pub struct EquityGap {
    indicator: String,
    name: String,
    stratum: String,
    stratum_name: String,
    /// The category compared ("all" for the slope index).
    category: String,
    /// The category compared, or the slope index's name.
    label: String,
    /// The reference category it is compared with ("" for the slope index).
    reference: String,
    period: String,
    ratio: CellView,
    difference: CellView,
    trend: Option<Status>,
}

/// The section.
#[derive(Serialize)]
pub struct EquityRegion {
    equity: Vec<EquityGap>,
    /// The governance statement, when a governed stratum is shown.
    equity_governance: Option<String>,
}

/// The region's gaps this period.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> EquityRegion {
    let mut gaps = Vec::new();
    let mut governed = false;
    for m in s.catalogue.iter().map(|d| &d.meta) {
        for decl in s.data.equity.shown(m) {
            let find = |id: &str, code: &str| s.data.find(id, REGION, &decl.id, code, s.period);
            let (ratio, difference) = measures(m);
            let (ratio_id, difference_id) = (id_of(m, ratio), id_of(m, difference));
            let reference = decl
                .reference()
                .map(|r| category_label(decl, r, s.lang))
                .unwrap_or_default();
            let before = gaps.len();
            for c in &decl.categories {
                if decl.reference() == Some(c.code.as_str()) {
                    continue;
                }
                let (r, d) = (find(&ratio_id, &c.code), find(&difference_id, &c.code));
                let Some(any) = r.or(d) else { continue };
                let label = category_label(decl, &c.code, s.lang);
                let unit_label = format!("{} — {label}", s.region_label);
                gaps.push(EquityGap {
                    indicator: m.id.clone(),
                    name: name(m, s.lang),
                    stratum: decl.id.clone(),
                    stratum_name: stratum_name(decl, s.lang),
                    category: c.code.clone(),
                    label,
                    reference: reference.clone(),
                    period: format::period_of(
                        any.period_type,
                        any.period_start,
                        any.period_end,
                        s.lang,
                    ),
                    ratio: measure_cell(r, m, ratio, &unit_label, notes, s.lang),
                    difference: measure_cell(d, m, difference, &unit_label, notes, s.lang),
                    trend: gap_trend(d, s.lang),
                });
            }
            if decl.ordered
                && let Some(sii) = find(&id_of(m, Measure::Sii), ALL)
            {
                gaps.push(EquityGap {
                    indicator: m.id.clone(),
                    name: name(m, s.lang),
                    stratum: decl.id.clone(),
                    stratum_name: stratum_name(decl, s.lang),
                    category: ALL.to_string(),
                    label: crate::i18n::text("sii", s.lang).to_string(),
                    reference: String::new(),
                    period: format::period_of(
                        sii.period_type,
                        sii.period_start,
                        sii.period_end,
                        s.lang,
                    ),
                    ratio: CellView {
                        text: format::DASH.to_string(),
                        ..CellView::default()
                    },
                    difference: measure_cell(
                        Some(sii),
                        m,
                        Measure::Sii,
                        &s.region_label,
                        notes,
                        s.lang,
                    ),
                    trend: gap_trend(Some(sii), s.lang),
                });
            }
            governed |= decl.governed && gaps.len() > before;
        }
    }
    EquityRegion {
        equity: gaps,
        equity_governance: governed.then(|| s.data.equity.governance(s.lang)).flatten(),
    }
}
