//! Patient experience by survey item: the indicator with the `experience_by_item` role, team
//! beside region, as a forest plot and a table, each item named by its wording in the
//! reader's language and its top box (from the pipeline's survey instruments).

use serde::Serialize;
use vigie_indicators::{IndicatorMeta, IndicatorResult, Role};

use crate::charts::{ForestChart, LegendItem};
use crate::data::{Notes, REGION};
use crate::i18n::text;
use crate::sections::{MissingRole, Scope};
use crate::survey::shortened;
use crate::views::{CellView, Estimate, cell, forest_chart, name};

/// The stratum dimension of survey items.
const ITEM: &str = "item";
/// The forest plot of percentages spans the whole scale.
const PERCENT_DOMAIN: (f64, f64) = (0.0, 100.0);
/// Characters of an item's wording that fit beside its code in the forest plot's labels.
const CHART_WORDING: usize = 34;

/// One survey item: the team beside the region.
#[derive(Serialize)]
struct ItemRow {
    /// The item's code.
    code: String,
    /// The question in the reader's language (None: not in the pipeline's instruments).
    wording: Option<String>,
    /// The answers counted, in the reader's language ("Toujours", "Excellent", "9–10").
    top_box: Option<String>,
    team: CellView,
    region: CellView,
}

/// An item with a result this period: its code, the team's row and the region's.
type ItemResult<'a> = (
    String,
    Option<&'a IndicatorResult>,
    Option<&'a IndicatorResult>,
);

/// The experience section.
#[derive(Serialize)]
pub struct Experience {
    items: Vec<ItemRow>,
    items_forest: Option<ForestChart>,
    /// Said in the section when no indicator has the `experience_by_item` role.
    experience_missing: Vec<MissingRole>,
}

/// The experience section.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> Experience {
    let mut experience_missing = Vec::new();
    let Some(m) = s.by_role(Role::ExperienceByItem, &mut experience_missing) else {
        return Experience {
            items: Vec::new(),
            items_forest: None,
            experience_missing,
        };
    };
    let results = item_results(s, m);
    let survey = &s.data.survey;
    let items = results
        .iter()
        .map(|(code, row, region)| ItemRow {
            code: code.clone(),
            wording: survey.wording(code, s.lang).map(str::to_string),
            top_box: survey.top_box(code, s.lang).map(str::to_string),
            team: cell(*row, m, &s.team_label, notes, s.lang),
            region: cell(*region, m, &s.region_label, notes, s.lang),
        })
        .collect();
    let items_forest = (!results.is_empty()).then(|| items_forest(s, m, &results, notes));
    Experience {
        items,
        items_forest,
        experience_missing,
    }
}

/// The items with a result for the team or the region this period, in the instrument's
/// order (codes no instrument knows after, by code).
fn item_results<'a>(s: &Scope<'a>, m: &IndicatorMeta) -> Vec<ItemResult<'a>> {
    let mut codes: Vec<&str> = s
        .data
        .rows
        .iter()
        .filter(|r| r.indicator == m.id && r.stratum_dimension == ITEM)
        .map(|r| r.stratum_value.as_str())
        .collect();
    codes.sort_unstable_by_key(|c| s.data.survey.order(c));
    codes.dedup();
    codes
        .into_iter()
        .filter_map(|code| {
            let row = s.data.find(&m.id, s.team, ITEM, code, s.period);
            let region = s.data.find(&m.id, REGION, ITEM, code, s.period);
            (row.is_some() || region.is_some()).then(|| (code.to_string(), row, region))
        })
        .collect()
}

/// An item's label in the forest plot: its code and the beginning of its wording, or
/// "Question Q1" when no instrument knows it.
fn chart_label(s: &Scope<'_>, code: &str) -> String {
    match s.data.survey.wording(code, s.lang) {
        Some(wording) => format!("{code} · {}", shortened(wording, CHART_WORDING)),
        None => format!("{} {code}", text("item", s.lang)),
    }
}

/// The forest plot of the items: the team's value, the region's as a ring.
fn items_forest(
    s: &Scope<'_>,
    m: &IndicatorMeta,
    results: &[ItemResult<'_>],
    notes: &mut Notes,
) -> ForestChart {
    let estimates: Vec<Estimate> = results
        .iter()
        .map(|(code, row, region)| Estimate {
            label: chart_label(s, code),
            row: *row,
            focus: false,
            naive: false,
            reference: region
                .filter(|r| !r.is_suppressed())
                .and_then(|r| r.value)
                .map(|v| (s.region_label.clone(), v)),
        })
        .collect();
    let legend = vec![
        LegendItem {
            shape: "square",
            class: "adjusted",
            label: s.team_label.clone(),
        },
        LegendItem {
            shape: "ring",
            class: "region",
            label: s.region_label.clone(),
        },
    ];
    forest_chart(
        "forest-items",
        format!("{} — {}", name(m, s.lang), s.team_label),
        text("items_desc", s.lang).to_string(),
        m,
        &estimates,
        Some(PERCENT_DOMAIN),
        legend,
        notes,
        s.lang,
    )
}
