//! The equity section: the team's indicators by each equity stratum shown (see
//! [`crate::equity`]), each category's rate beside the gap to the reference category (ratio
//! and difference with their 95 % intervals), the slope index of inequality of an ordered
//! stratum, and whether each gap is narrowing. A governed stratum brings the pipeline's
//! governance statement.

use serde::Serialize;
use vigie_indicators::disparity::Measure;

use crate::data::{ALL, Notes};
use crate::equity::{
    category_label, gap_trend, id_of, measure_cell, measure_labels, measures, stratum_name,
};
use crate::format;
use crate::sections::Scope;
use crate::views::{CellView, Status, cell, name};

use super::indicators::Shown;

/// One category of a stratum.
#[derive(Serialize)]
pub struct EquityRow {
    code: String,
    label: String,
    reference: bool,
    value: CellView,
    ratio: CellView,
    difference: CellView,
    trend: Option<Status>,
}

/// One indicator by one stratum.
#[derive(Serialize)]
pub struct EquityTable {
    indicator: String,
    name: String,
    stratum: String,
    stratum_name: String,
    period: String,
    ratio_label: &'static str,
    difference_label: &'static str,
    rows: Vec<EquityRow>,
    /// The slope index of inequality (ordered strata).
    sii: Option<CellView>,
    sii_trend: Option<Status>,
    governed: bool,
}

/// The section.
#[derive(Serialize)]
pub struct EquitySection {
    equity: Vec<EquityTable>,
    /// The governance statement, when a governed stratum is shown.
    equity_governance: Option<String>,
}

/// The equity tables of the team's indicators (those of the indicator table declaring
/// `equity:` strata) that have rows by the stratum this period.
pub fn section(s: &Scope<'_>, shown: &[Shown<'_>], notes: &mut Notes) -> EquitySection {
    let mut tables = Vec::new();
    for x in shown {
        let m = x.meta();
        for decl in s.data.equity.shown(m) {
            let find = |id: &str, code: &str| s.data.find(id, s.team, &decl.id, code, s.period);
            let any = decl.categories.iter().find_map(|c| find(&m.id, &c.code));
            let Some(any) = any else { continue };
            let (ratio, difference) = measures(m);
            let (ratio_label, difference_label) = measure_labels(m, s.lang);
            let (ratio_id, difference_id) = (id_of(m, ratio), id_of(m, difference));
            let rows = decl
                .categories
                .iter()
                .map(|c| {
                    let reference = decl.reference() == Some(c.code.as_str());
                    let label = category_label(decl, &c.code, s.lang);
                    let unit_label = format!("{} — {label}", s.team_label);
                    let value = cell(find(&m.id, &c.code), m, &unit_label, notes, s.lang);
                    let (ratio, difference, trend) = if reference {
                        (CellView::default(), CellView::default(), None)
                    } else {
                        let d = find(&difference_id, &c.code);
                        (
                            measure_cell(
                                find(&ratio_id, &c.code),
                                m,
                                ratio,
                                &unit_label,
                                notes,
                                s.lang,
                            ),
                            measure_cell(d, m, difference, &unit_label, notes, s.lang),
                            gap_trend(d, s.lang),
                        )
                    };
                    EquityRow {
                        code: c.code.clone(),
                        label,
                        reference,
                        value,
                        ratio,
                        difference,
                        trend,
                    }
                })
                .collect();
            let sii_row = decl
                .ordered
                .then(|| find(&id_of(m, Measure::Sii), ALL))
                .flatten();
            tables.push(EquityTable {
                indicator: m.id.clone(),
                name: name(m, s.lang),
                stratum: decl.id.clone(),
                stratum_name: stratum_name(decl, s.lang),
                period: format::period_of(
                    any.period_type,
                    any.period_start,
                    any.period_end,
                    s.lang,
                ),
                ratio_label,
                difference_label,
                rows,
                sii: decl
                    .ordered
                    .then(|| measure_cell(sii_row, m, Measure::Sii, &s.team_label, notes, s.lang)),
                sii_trend: gap_trend(sii_row, s.lang),
                governed: decl.governed,
            });
        }
    }
    let equity_governance = tables
        .iter()
        .any(|t| t.governed)
        .then(|| s.data.equity.governance(s.lang))
        .flatten();
    EquitySection {
        equity: tables,
        equity_governance,
    }
}
