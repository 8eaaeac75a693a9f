//! The care pathway tables: what happens between hospital visits — follow-up after
//! discharge, the referral loop, program intensity — for every indicator with the
//! `care_pathway` role, in catalogue order: its value this period with its 95 % interval in
//! each organisational unit asked for (the team beside the region in the feedback report,
//! the region and every team in the accountability report), by category of the indicator's
//! stratum when it has no pooled total (condition group, provider type).

use serde::Serialize;
use vigie_indicators::{IndicatorMeta, IndicatorResult, PathwayStep, Role};

use crate::data::{ALL, Notes};
use crate::equity::{category_label, stratum_name};
use crate::format;
use crate::i18n::text;
use crate::sections::{MissingRole, Scope};
use crate::views::{CellView, cell, name, tr};

/// One organisational unit of the tables: its code in the results and its label.
pub struct Unit {
    pub code: String,
    pub label: String,
}

/// One line of a pathway table: the total, or one category of the stratum.
#[derive(Serialize)]
pub struct PathwayRow {
    /// The category's code (`all` for the total).
    code: String,
    /// The category's label; empty for the total.
    label: String,
    /// One cell per unit, in the units' order.
    cells: Vec<CellView>,
}

/// One pathway indicator.
#[derive(Serialize)]
pub struct PathwayTable {
    /// The step's heading, on the first table of each step.
    step: Option<&'static str>,
    indicator: String,
    name: String,
    description: String,
    period: String,
    /// The stratum the rows are by, when the indicator has no total.
    stratum_name: Option<String>,
    rows: Vec<PathwayRow>,
    #[serde(skip)]
    step_code: Option<PathwayStep>,
}

/// A step's heading in `lang`.
fn step_heading(step: PathwayStep, lang: vigie_disclosure::Lang) -> &'static str {
    match step {
        PathwayStep::FollowUp => text("pathway_follow_up", lang),
        PathwayStep::ReferralLoop => text("pathway_referral_loop", lang),
        PathwayStep::Program => text("pathway_program", lang),
    }
}

/// The section, in either report.
#[derive(Serialize)]
pub struct PathwaySection {
    pathway: Vec<PathwayTable>,
    /// The units' labels, the tables' column headings.
    pathway_units: Vec<String>,
    /// Said in the section when no indicator has the `care_pathway` role.
    pathway_missing: Vec<MissingRole>,
}

/// The pathway tables of the indicators with a row this period in one of `units`.
pub fn section(s: &Scope<'_>, units: &[Unit], notes: &mut Notes) -> PathwaySection {
    let mut metas = vigie_indicators::all_with_role(s.catalogue, Role::CarePathway);
    let pathway_missing = if metas.is_empty() {
        vec![MissingRole::new(Role::CarePathway, s.lang)]
    } else {
        vec![]
    };
    // By step (follow-up, referral loop, program; without a step last), catalogue order
    // within a step.
    metas.sort_by_key(|m| (m.pathway_step.is_none(), m.pathway_step));
    let mut pathway: Vec<PathwayTable> = metas
        .into_iter()
        .filter_map(|m| table(s, m, units, notes))
        .collect();
    let mut previous = None;
    for t in &mut pathway {
        if t.step_code != previous {
            t.step = t.step_code.map(|step| step_heading(step, s.lang));
            previous = t.step_code;
        }
    }
    PathwaySection {
        pathway,
        pathway_units: units.iter().map(|u| u.label.clone()).collect(),
        pathway_missing,
    }
}

/// The stratum a table without a total is by: its column and its name.
type Stratum<'a> = (&'a str, String);
/// A line of a table: the category's code (`all` for the total) and its label.
type Line = (String, String);

/// One indicator's table: its total, or (no total) one row per declared category of its
/// first stratum; none when no unit has a row this period.
fn table(
    s: &Scope<'_>,
    m: &IndicatorMeta,
    units: &[Unit],
    notes: &mut Notes,
) -> Option<PathwayTable> {
    let (stratum, lines): (Option<Stratum<'_>>, Vec<Line>) = if m.include_total {
        (None, vec![(ALL.to_string(), String::new())])
    } else {
        let dim = m.strata.first()?.column();
        let decl = s.data.equity.declaration(dim)?;
        let lines = decl
            .categories
            .iter()
            .map(|c| (c.code.clone(), category_label(decl, &c.code, s.lang)))
            .collect();
        (Some((dim, stratum_name(decl, s.lang))), lines)
    };
    let dim = stratum.as_ref().map_or(ALL, |(dim, _)| *dim);
    // found[line][unit]
    let found: Vec<Vec<Option<&IndicatorResult>>> = lines
        .iter()
        .map(|(code, _)| {
            units
                .iter()
                .map(|u| s.data.find(&m.id, &u.code, dim, code, s.period))
                .collect()
        })
        .collect();
    let any = found.iter().flatten().flatten().next()?;
    let period = format::period_of(any.period_type, any.period_start, any.period_end, s.lang);
    let rows = lines
        .iter()
        .zip(&found)
        .map(|((code, label), rows)| PathwayRow {
            code: code.clone(),
            label: label.clone(),
            cells: units
                .iter()
                .zip(rows)
                .map(|(u, row)| {
                    let at = if label.is_empty() {
                        u.label.clone()
                    } else {
                        format!("{} — {label}", u.label)
                    };
                    cell(*row, m, &at, notes, s.lang)
                })
                .collect(),
        })
        .collect();
    Some(PathwayTable {
        step: None,
        step_code: m.pathway_step,
        indicator: m.id.clone(),
        name: name(m, s.lang),
        description: tr(&m.description, s.lang),
        period,
        stratum_name: stratum.map(|(_, name)| name),
        rows,
    })
}
