//! The program evaluation: for the region and each team, the change in ED visits and
//! admissions, naive beside adjusted, and the region's figures as a forest plot. Indicators
//! are found by their `evaluation: {estimand, outcome}`.

use serde::Serialize;
use vigie_indicators::{Estimand, EvaluationOutcome, IndicatorMeta, evaluation_indicator};

use crate::charts::{ForestChart, naive_adjusted_legend};
use crate::data::{Counted, Notes, REGION, unit_label};
use crate::format;
use crate::i18n::text;
use crate::sections::Scope;
use crate::views::{CellView, Estimate, cell, forest_chart};

/// One org unit's figures.
#[derive(Serialize)]
struct EvalRow {
    unit: String,
    region: bool,
    ed_naive: CellView,
    ed_adjusted: CellView,
    adm_naive: CellView,
    adm_adjusted: CellView,
    participants: Counted,
}

/// The evaluation table and the region's forest plot.
#[derive(Serialize)]
pub struct EvaluationSection {
    evaluation: Vec<EvalRow>,
    evaluation_forest: Option<ForestChart>,
}

/// The four figures of the evaluation, in table order.
struct Figures<'a> {
    ed_naive: Option<&'a IndicatorMeta>,
    ed_adjusted: Option<&'a IndicatorMeta>,
    adm_naive: Option<&'a IndicatorMeta>,
    adm_adjusted: Option<&'a IndicatorMeta>,
}

impl<'a> Figures<'a> {
    fn of(s: &Scope<'a>) -> Figures<'a> {
        let find = |outcome, estimand| evaluation_indicator(s.catalogue, outcome, estimand);
        Figures {
            ed_naive: find(EvaluationOutcome::EdVisits, Estimand::Naive),
            ed_adjusted: find(EvaluationOutcome::EdVisits, Estimand::Adjusted),
            adm_naive: find(EvaluationOutcome::Admissions, Estimand::Naive),
            adm_adjusted: find(EvaluationOutcome::Admissions, Estimand::Adjusted),
        }
    }
}

/// The evaluation section.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> EvaluationSection {
    let figures = Figures::of(s);
    let mut units = vec![REGION.to_string()];
    units.extend(s.data.teams.iter().cloned());
    let evaluation = units
        .iter()
        .filter_map(|u| unit_row(s, &figures, u, notes))
        .collect();
    let evaluation_forest = figures
        .ed_adjusted
        .map(|adjusted| region_forest(s, &figures, adjusted, notes));
    EvaluationSection {
        evaluation,
        evaluation_forest,
    }
}

/// The row of org unit `u`, when it has an ED result.
fn unit_row(s: &Scope<'_>, f: &Figures<'_>, u: &str, notes: &mut Notes) -> Option<EvalRow> {
    let lang = s.lang;
    let label = unit_label(u, lang);
    let find = |m: Option<&IndicatorMeta>| m.and_then(|m| s.data.find_eval(&m.id, u, s.period));
    let naive_row = find(f.ed_naive);
    if naive_row.is_none() && find(f.ed_adjusted).is_none() {
        return None;
    }
    let c = |m: Option<&IndicatorMeta>, notes: &mut Notes| match m {
        Some(m) => cell(s.data.find_eval(&m.id, u, s.period), m, &label, notes, lang),
        None => dash(),
    };
    let participants = match naive_row {
        Some(r) if !r.is_suppressed() => {
            notes.count(r.numerator.map_or(0, |n| n.round() as u64), s.cfg, lang)
        }
        _ => Counted {
            text: format::DASH.into(),
            value: None,
            mark: None,
        },
    };
    Some(EvalRow {
        unit: label.clone(),
        region: u == REGION,
        ed_naive: c(f.ed_naive, notes),
        ed_adjusted: c(f.ed_adjusted, notes),
        adm_naive: c(f.adm_naive, notes),
        adm_adjusted: c(f.adm_adjusted, notes),
        participants,
    })
}

/// An empty cell.
fn dash() -> CellView {
    CellView {
        text: format::DASH.to_string(),
        ..CellView::default()
    }
}

/// The region's four figures as a forest plot.
fn region_forest(
    s: &Scope<'_>,
    f: &Figures<'_>,
    adjusted: &IndicatorMeta,
    notes: &mut Notes,
) -> ForestChart {
    let lang = s.lang;
    let estimates: Vec<Estimate> = [
        (f.ed_naive, "outcome_ed", true),
        (f.ed_adjusted, "outcome_ed", false),
        (f.adm_naive, "outcome_admissions", true),
        (f.adm_adjusted, "outcome_admissions", false),
    ]
    .into_iter()
    .filter_map(|(m, key, naive)| {
        let m = m?;
        let estimand = if naive {
            "naive_short"
        } else {
            "adjusted_short"
        };
        Some(Estimate {
            label: format!("{} — {}", text(key, lang), text(estimand, lang)),
            row: s.data.find_eval(&m.id, REGION, s.period),
            focus: false,
            naive,
            reference: None,
        })
    })
    .collect();
    forest_chart(
        "forest-evaluation",
        format!("{} — {}", text("program_title", lang), s.region_label),
        text("program_forest_desc", lang).to_string(),
        adjusted,
        &estimates,
        None,
        naive_adjusted_legend(lang),
        notes,
        lang,
    )
}
