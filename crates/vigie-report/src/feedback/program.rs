//! The care-coordination program: the team's participants' change in ED visits and
//! admissions, naive beside adjusted (the key change card, the table and its forest plot),
//! and the team's adjusted ED change among its peers. Indicators are found by their
//! `evaluation: {estimand, outcome}`.

use serde::Serialize;
use vigie_indicators::{
    Estimand, EvaluationOutcome, IndicatorMeta, IndicatorResult, evaluation_indicator,
};

use crate::charts::{ForestChart, LegendItem, naive_adjusted_legend};
use crate::data::{Counted, Notes, REGION, mark, reason, unit_label};
use crate::format;
use crate::i18n::text;
use crate::sections::Scope;
use crate::views::{CellView, Estimate, cell, forest_chart};

/// One outcome of the program table.
#[derive(Serialize)]
struct ProgramRow {
    outcome: String,
    naive: CellView,
    adjusted: CellView,
    region_adjusted: CellView,
    participants: Counted,
    comparison: Counted,
}

/// The key change card: the adjusted change in ED visits, the naive one beside it.
#[derive(Serialize)]
struct KeyChange {
    adjusted: CellView,
    naive: CellView,
    participants: Counted,
    sentence: String,
}

/// The program section and the key change card.
#[derive(Serialize)]
pub struct ProgramSection {
    key_change: Option<KeyChange>,
    program: Vec<ProgramRow>,
    program_forest: Option<ForestChart>,
}

/// The outcomes of the table, with the text key of their label.
const OUTCOMES: [(EvaluationOutcome, &str); 2] = [
    (EvaluationOutcome::EdVisits, "outcome_ed"),
    (EvaluationOutcome::Admissions, "outcome_admissions"),
];

/// One outcome's figures: its table row and its two forest-plot estimates.
struct Outcome<'a> {
    row: ProgramRow,
    adjusted: Option<&'a IndicatorResult>,
    estimates: [Estimate<'a>; 2],
}

/// The program section.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> ProgramSection {
    let mut program = Vec::new();
    let mut estimates = Vec::new();
    let mut key_change = None;
    for (outcome, key) in OUTCOMES {
        let Some(o) = outcome_figures(s, outcome, key, notes) else {
            continue;
        };
        if outcome == EvaluationOutcome::EdVisits {
            key_change = Some(key_change_card(s, &o));
        }
        estimates.extend(o.estimates);
        program.push(o.row);
    }
    let program_forest =
        evaluation_indicator(s.catalogue, EvaluationOutcome::EdVisits, Estimand::Adjusted)
            .filter(|_| !estimates.is_empty())
            .map(|m| {
                forest_chart(
                    "forest-program",
                    format!("{} — {}", text("program_title", s.lang), s.team_label),
                    text("program_forest_desc", s.lang).to_string(),
                    m,
                    &estimates,
                    None,
                    program_legend(s),
                    notes,
                    s.lang,
                )
            });
    ProgramSection {
        key_change,
        program,
        program_forest,
    }
}

/// The figures of one outcome, when both its indicators exist and the team has a result.
fn outcome_figures<'a>(
    s: &Scope<'a>,
    outcome: EvaluationOutcome,
    key: &str,
    notes: &mut Notes,
) -> Option<Outcome<'a>> {
    let naive_m = evaluation_indicator(s.catalogue, outcome, Estimand::Naive)?;
    let adj_m = evaluation_indicator(s.catalogue, outcome, Estimand::Adjusted)?;
    let naive = s.data.find_eval(&naive_m.id, s.team, s.period);
    let adjusted = s.data.find_eval(&adj_m.id, s.team, s.period);
    let region_adj = s.data.find_eval(&adj_m.id, REGION, s.period);
    if naive.is_none() && adjusted.is_none() {
        return None;
    }
    let outcome_label = text(key, s.lang).to_string();
    let row = ProgramRow {
        outcome: outcome_label.clone(),
        naive: cell(naive, naive_m, &s.team_label, notes, s.lang),
        adjusted: cell(adjusted, adj_m, &s.team_label, notes, s.lang),
        region_adjusted: cell(region_adj, adj_m, &s.region_label, notes, s.lang),
        participants: participants(s, naive, adjusted, notes),
        comparison: comparison_persons(s, adjusted, notes),
    };
    let estimates = [
        Estimate {
            label: format!("{outcome_label} — {}", text("naive_short", s.lang)),
            row: naive,
            focus: false,
            naive: true,
            reference: None,
        },
        Estimate {
            label: format!("{outcome_label} — {}", text("adjusted_short", s.lang)),
            row: adjusted,
            focus: false,
            naive: false,
            reference: region_adj
                .filter(|r| !r.is_suppressed())
                .and_then(|r| r.value)
                .map(|v| (s.region_label.clone(), v)),
        },
    ];
    Some(Outcome {
        row,
        adjusted,
        estimates,
    })
}

/// The participants (the numerator of the evaluation rows), withheld with a suppressed naive
/// row.
fn participants(
    s: &Scope<'_>,
    naive: Option<&IndicatorResult>,
    adjusted: Option<&IndicatorResult>,
    notes: &mut Notes,
) -> Counted {
    let counted = notes.count(
        naive
            .and_then(|r| r.numerator)
            .or(adjusted.and_then(|r| r.numerator))
            .map_or(0, |n| n.round() as u64),
        s.cfg,
        s.lang,
    );
    if naive.is_some_and(|r| r.is_suppressed()) {
        Counted {
            text: format::DASH.into(),
            value: None,
            mark: naive.map(|r| mark(reason(r))),
        }
    } else {
        counted
    }
}

/// The comparison persons (the adjusted row's denominator).
fn comparison_persons(
    s: &Scope<'_>,
    adjusted: Option<&IndicatorResult>,
    notes: &mut Notes,
) -> Counted {
    match adjusted {
        Some(r) if !r.is_suppressed() => {
            notes.count(r.denominator.map_or(0, |n| n.round() as u64), s.cfg, s.lang)
        }
        _ => Counted {
            text: format::DASH.into(),
            value: None,
            mark: None,
        },
    }
}

/// The key change card from the ED outcome's figures.
fn key_change_card(s: &Scope<'_>, o: &Outcome<'_>) -> KeyChange {
    let row = &o.row;
    let sentence = match (row.adjusted.suppressed, row.naive.suppressed) {
        (false, false) if o.adjusted.and_then(|r| r.value).is_some() => {
            text("key_change_sentence", s.lang)
                .replace("{naive}", &row.naive.text)
                .replace("{adjusted}", &row.adjusted.text)
        }
        _ => text("key_change_unavailable", s.lang).to_string(),
    };
    KeyChange {
        adjusted: row.adjusted.clone(),
        naive: row.naive.clone(),
        participants: row.participants.clone(),
        sentence,
    }
}

/// Naive (circle), adjusted (square) and the region's adjusted (ring).
fn program_legend(s: &Scope<'_>) -> Vec<LegendItem> {
    let mut legend = naive_adjusted_legend(s.lang);
    legend.push(LegendItem {
        shape: "ring",
        class: "region",
        label: text("legend_region_adjusted", s.lang).into(),
    });
    legend
}

/// The team's adjusted ED change among every team's, and the region's.
pub fn ed_peers(s: &Scope<'_>, notes: &mut Notes) -> Option<ForestChart> {
    let m: &IndicatorMeta =
        evaluation_indicator(s.catalogue, EvaluationOutcome::EdVisits, Estimand::Adjusted)?;
    let any = s.data.find_eval(&m.id, REGION, s.period)?;
    let mut rows: Vec<Estimate> = s
        .data
        .peers(any)
        .into_iter()
        .map(|r| Estimate {
            label: unit_label(&r.org_unit, s.lang),
            row: Some(r),
            focus: r.org_unit == s.team,
            naive: false,
            reference: None,
        })
        .collect();
    rows.push(Estimate {
        label: s.region_label.clone(),
        row: Some(any),
        focus: false,
        naive: false,
        reference: None,
    });
    let legend = vec![
        LegendItem {
            shape: "diamond",
            class: "focus",
            label: s.team_label.clone(),
        },
        LegendItem {
            shape: "square",
            class: "adjusted",
            label: text("legend_other_teams", s.lang).into(),
        },
    ];
    Some(forest_chart(
        "forest-ed-peers",
        text("ed_peers_title", s.lang).to_string(),
        text("ed_peers_desc", s.lang).to_string(),
        m,
        &rows,
        None,
        legend,
        notes,
        s.lang,
    ))
}
