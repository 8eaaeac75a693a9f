//! Forest plots: estimates with their 95% intervals, one row each (program evaluation, peer
//! teams, survey items).

use vigie_disclosure::Lang;
use vigie_indicators::{IndicatorMeta, IndicatorResult, Method};

use super::cell;
use crate::charts::{
    ForestChart, ForestRow, Frame, LegendItem, Mark, Scale, Tick, nice_ticks, round,
};
use crate::data::Notes;
use crate::format;

/// Width of a forest plot (across the page).
const WIDTH: f64 = 720.0;
/// Height of one row.
const ROW_HEIGHT: f64 = 30.0;
/// Space above the rows.
const TOP: f64 = 14.0;
/// Space below the rows (the x axis).
const BOTTOM: f64 = 40.0;
/// Left margin: the row labels.
const LABELS_WIDTH: f64 = 250.0;
/// Right margin: each row's value and interval as text.
const TEXT_WIDTH: f64 = 200.0;
/// Ticks aimed at on the x axis.
const TICKS: usize = 5;
/// The axis of a plot without any value.
const EMPTY_DOMAIN: (f64, f64) = (-1.0, 1.0);

/// One estimate for a forest plot.
pub struct Estimate<'a> {
    /// Row label.
    pub label: String,
    /// The published row (None: no result).
    pub row: Option<&'a IndicatorResult>,
    /// Emphasised.
    pub focus: bool,
    /// Naive estimates are drawn dashed with an open circle.
    pub naive: bool,
    /// A reference value drawn as an open diamond (e.g. the region).
    pub reference: Option<(String, f64)>,
}

/// A forest plot of estimates with 95% intervals.
#[allow(clippy::too_many_arguments)]
pub fn forest_chart(
    id: &str,
    title: String,
    desc: String,
    m: &IndicatorMeta,
    estimates: &[Estimate<'_>],
    domain: Option<(f64, f64)>,
    legend: Vec<LegendItem>,
    notes: &mut Notes,
    lang: Lang,
) -> ForestChart {
    let height = TOP + ROW_HEIGHT * estimates.len() as f64 + BOTTOM;
    let frame = Frame::new(WIDTH, height, LABELS_WIDTH, TEXT_WIDTH);
    let program = m.method == Method::ProgramEvaluation;
    let (lo, hi) = value_range(estimates, domain, program);
    let (ticks, lo, hi) = nice_ticks(lo, hi, TICKS);
    let xs = Scale::new(lo, hi, frame.x0, frame.x1);
    let rows = estimates
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let y = round(frame.y0 + ROW_HEIGHT * (i as f64 + 0.5));
            forest_row(m, e, y, &xs, notes, lang)
        })
        .collect();
    ForestChart {
        id: id.to_string(),
        title,
        desc,
        frame,
        xticks: ticks
            .iter()
            .map(|t| Tick {
                pos: xs.at(*t),
                label: tick_label(m, program, *t, lang),
            })
            .collect(),
        zero_x: (program && lo <= 0.0 && hi >= 0.0).then(|| xs.at(0.0)),
        rows,
        legend,
    }
}

/// The range of the values, intervals and references (within `domain` when given), with 0 in
/// view for a program evaluation's change.
fn value_range(
    estimates: &[Estimate<'_>],
    domain: Option<(f64, f64)>,
    program: bool,
) -> (f64, f64) {
    let (mut lo, mut hi) = domain.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
    for e in estimates {
        if let Some(r) = e.row {
            for v in [r.value, r.ci_low, r.ci_high].into_iter().flatten() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if let Some((_, v)) = e.reference {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        (lo, hi) = EMPTY_DOMAIN;
    }
    if program {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    (lo, hi)
}

/// An x tick: a change in % for a program evaluation, else a value, without a trailing ",0".
fn tick_label(m: &IndicatorMeta, program: bool, t: f64, lang: Lang) -> String {
    let text = if program {
        format::percent_change(t, lang)
    } else {
        format::value(t, m.unit, lang)
    };
    text.replace(",0", "").replace(".0", "")
}

/// One row: the interval, the estimate's mark, the reference's, and the text on the right.
fn forest_row(
    m: &IndicatorMeta,
    e: &Estimate<'_>,
    y: f64,
    xs: &Scale,
    notes: &mut Notes,
    lang: Lang,
) -> ForestRow {
    let c = cell(e.row, m, &e.label, notes, lang);
    let text = if c.suppressed {
        format!("{}{}", format::DASH, c.mark.unwrap_or(""))
    } else if c.ci.is_empty() {
        c.text.clone()
    } else {
        format!("{} ({})", c.text, c.ci)
    };
    let r = e.row.filter(|r| !r.is_suppressed());
    let (shape, class) = if e.focus {
        ("diamond", "focus")
    } else if e.naive {
        ("circle", "naive")
    } else {
        ("square", "adjusted")
    };
    ForestRow {
        y,
        label: e.label.clone(),
        focus: e.focus,
        lo: r.and_then(|r| r.ci_low).map(|v| xs.at(v)),
        hi: r.and_then(|r| r.ci_high).map(|v| xs.at(v)),
        dash: e.naive,
        mark: r.and_then(|r| r.value).map(|v| Mark {
            x: xs.at(v),
            y,
            shape,
            class,
            title: format!("{} : {text}", e.label),
            label: None,
            lx: 0.0,
            ly: 0.0,
        }),
        reference: e.reference.as_ref().map(|(label, v)| Mark {
            x: xs.at(*v),
            y,
            shape: "ring",
            class: "region",
            title: format!("{label} : {}", format::value(*v, m.unit, lang)),
            label: None,
            lx: 0.0,
            ly: 0.0,
        }),
        text,
    }
}
