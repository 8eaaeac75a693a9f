//! The scorecard: the region's value of every indicator with a target, against the target,
//! with the trend from the previous period.

use serde::Serialize;

use crate::data::{ALL, Notes, REGION, is_span};
use crate::format;
use crate::sections::Scope;
use crate::views::{CellView, Status, cell, name, target_status, target_text, trend};

/// One indicator of the scorecard.
#[derive(Serialize)]
struct ScoreRow {
    id: String,
    name: String,
    period: String,
    value: CellView,
    target: String,
    status: Option<Status>,
    previous: CellView,
    previous_period: String,
    trend: Option<Status>,
}

/// The scorecard and how many targets are met.
#[derive(Serialize)]
pub struct Scorecard {
    met: usize,
    total: usize,
    scorecard: Vec<ScoreRow>,
}

/// The scorecard section.
pub fn section(s: &Scope<'_>, notes: &mut Notes) -> Scorecard {
    let lang = s.lang;
    let mut scorecard = Vec::new();
    for m in s
        .catalogue
        .iter()
        .map(|d| &d.meta)
        .filter(|m| m.target.is_some())
    {
        let Some(row) = s.data.find(&m.id, REGION, ALL, ALL, s.period) else {
            continue;
        };
        let prev = if is_span(row) {
            None
        } else {
            s.data.previous(row)
        };
        scorecard.push(ScoreRow {
            id: m.id.clone(),
            name: name(m, lang),
            period: format::period_of(row.period_type, row.period_start, row.period_end, lang),
            value: cell(Some(row), m, &s.region_label, notes, lang),
            target: target_text(m, lang),
            status: target_status(Some(row), lang),
            previous: cell(prev, m, &s.region_label, notes, lang),
            previous_period: prev
                .map(|p| format::period_of(p.period_type, p.period_start, p.period_end, lang))
                .unwrap_or_else(|| format::DASH.to_string()),
            trend: trend(Some(row), prev, m, lang),
        });
    }
    let met = scorecard
        .iter()
        .filter(|r| r.status.as_ref().is_some_and(|s| s.code == "met"))
        .count();
    let total = scorecard.iter().filter(|r| r.status.is_some()).count();
    Scorecard {
        met,
        total,
        scorecard,
    }
}
