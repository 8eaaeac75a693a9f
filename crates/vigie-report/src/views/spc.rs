//! SPC charts: an indicator's series for one org unit with its centre line, process limits,
//! target and signals, the report period highlighted.

use vigie_disclosure::Lang;
use vigie_indicators::{Code, IndicatorMeta, IndicatorResult, SpcSignal};

use super::{clamp_domain, name};
use crate::charts::{Frame, LegendItem, Mark, Scale, SpcChart, Tick, nice_ticks, round, segments};
use crate::format;
use crate::i18n::text;

/// Height of an SPC chart.
const HEIGHT: f64 = 230.0;
/// Left margin (room for the y labels).
const LEFT_MARGIN: f64 = 58.0;
/// Right margin.
const RIGHT_MARGIN: f64 = 34.0;
/// Space between the frame and the first and last points.
const X_INSET: f64 = 10.0;
/// Ticks aimed at on the y axis.
const Y_TICKS: usize = 4;
/// Period labels shown on the x axis at most.
const X_LABELS: usize = 6;
/// A series needs this many values to be drawn.
const MIN_VALUES: usize = 2;

/// The axes of an SPC chart.
struct Axes {
    frame: Frame,
    xs: Scale,
    ys: Scale,
    lo: f64,
    hi: f64,
    yticks: Vec<Tick>,
}

/// An SPC chart of `series` (the last `max_points`), with the rows of `period` highlighted.
pub fn spc_chart(
    id: &str,
    m: &IndicatorMeta,
    series: &[&IndicatorResult],
    in_period: impl Fn(&IndicatorResult) -> bool,
    max_points: usize,
    width: f64,
    lang: Lang,
) -> Option<SpcChart> {
    let series: Vec<&IndicatorResult> = series
        .iter()
        .skip(series.len().saturating_sub(max_points))
        .copied()
        .collect();
    if series.iter().filter(|r| r.value.is_some()).count() < MIN_VALUES {
        return None;
    }
    let axes = axes(m, &series, width, lang);
    let pt = |f: fn(&IndicatorResult) -> Option<f64>| -> Vec<Option<(f64, f64)>> {
        series
            .iter()
            .enumerate()
            .map(|(i, r)| f(r).map(|v| (axes.xs.at(i as f64), axes.ys.at(v))))
            .collect()
    };
    let marks = point_marks(m, &series, &axes, lang);
    let band = period_band(&series, &axes, in_period);
    let target_y = m
        .target
        .map(|t| t.value)
        .filter(|t| *t >= axes.lo && *t <= axes.hi)
        .map(|t| axes.ys.at(t));
    Some(SpcChart {
        id: id.to_string(),
        title: name(m, lang),
        desc: description(m, &series, lang),
        frame: axes.frame,
        yticks: axes.yticks.clone(),
        xticks: x_ticks(&series, &axes, lang),
        line: segments(&pt(|r| r.value)),
        centre: segments(&pt(|r| r.spc_centre)),
        upper: segments(&pt(|r| r.spc_upper)),
        lower: segments(&pt(|r| r.spc_lower)),
        target_y,
        band,
        legend: legend(&marks, target_y.is_some(), band.is_some(), lang),
        marks,
    })
}

/// The axes: one step per period; values covering the points, limits and targets.
fn axes(m: &IndicatorMeta, series: &[&IndicatorResult], width: f64, lang: Lang) -> Axes {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for r in series {
        for v in [r.value, r.spc_lower, r.spc_upper, r.spc_centre, r.target]
            .into_iter()
            .flatten()
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = clamp_domain(m, lo, hi);
    let (ticks, lo, hi) = nice_ticks(lo, hi, Y_TICKS);
    let frame = Frame::new(width, HEIGHT, LEFT_MARGIN, RIGHT_MARGIN);
    let n = series.len();
    let xs = Scale::new(
        0.0,
        (n.max(2) - 1) as f64,
        frame.x0 + X_INSET,
        frame.x1 - X_INSET,
    );
    let ys = Scale::new(lo, hi, frame.y1, frame.y0);
    let yticks = ticks
        .iter()
        .filter(|t| **t >= lo - 1e-9 && **t <= hi + 1e-9)
        .map(|t| Tick {
            pos: ys.at(*t),
            label: format::bare(*t, m.unit, lang)
                .replace(",0", "")
                .replace(".0", ""),
        })
        .collect();
    Axes {
        frame,
        xs,
        ys,
        lo,
        hi,
        yticks,
    }
}

/// Period labels on the x axis, counted back from the latest.
fn x_ticks(series: &[&IndicatorResult], axes: &Axes, lang: Lang) -> Vec<Tick> {
    let n = series.len();
    let every = n.div_ceil(X_LABELS).max(1);
    series
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(i, r)| Tick {
            pos: axes.xs.at(i as f64),
            label: format::period_short(r.period_type, r.period_start, lang),
        })
        .collect()
}

/// The shape and CSS class of a point, from its SPC signal.
fn shape_of_signal(signal: Option<SpcSignal>) -> (&'static str, &'static str) {
    match signal {
        Some(SpcSignal::SpecialCauseImprovement) => ("square", "improvement"),
        Some(SpcSignal::SpecialCauseConcern) => ("triangle_up", "concern"),
        Some(SpcSignal::SpecialCauseNeither) => ("diamond", "neither"),
        Some(SpcSignal::CommonCause) | None => ("circle", "common"),
    }
}

/// One mark per published value, shaped by its signal, with its period and value as tooltip.
fn point_marks(
    m: &IndicatorMeta,
    series: &[&IndicatorResult],
    axes: &Axes,
    lang: Lang,
) -> Vec<Mark> {
    let mut marks = Vec::new();
    for (i, r) in series.iter().enumerate() {
        let Some(v) = r.value else { continue };
        let (shape, class) = shape_of_signal(r.spc_signal);
        let sig = r
            .spc_signal
            .map(|s| text(&format!("signal_{}", s.code()), lang))
            .unwrap_or("");
        let label = format::period_short(r.period_type, r.period_start, lang);
        marks.push(Mark {
            x: axes.xs.at(i as f64),
            y: axes.ys.at(v),
            shape,
            class,
            title: format!(
                "{label} : {}{}",
                format::value(v, m.unit, lang),
                if sig.is_empty() {
                    String::new()
                } else {
                    format!(" — {sig}")
                }
            )
            .replace(" : ", if lang == Lang::En { ": " } else { " : " }),
            label: None,
            lx: 0.0,
            ly: 0.0,
        });
    }
    marks
}

/// The band behind the points of the report period (x from, x to).
fn period_band(
    series: &[&IndicatorResult],
    axes: &Axes,
    in_period: impl Fn(&IndicatorResult) -> bool,
) -> Option<(f64, f64)> {
    let highlighted: Vec<usize> = (0..series.len())
        .filter(|i| in_period(series[*i]))
        .collect();
    let step = (axes.xs.at(1.0) - axes.xs.at(0.0)).abs() / 2.0;
    match (highlighted.first(), highlighted.last()) {
        (Some(a), Some(b)) => Some((
            round(axes.xs.at(*a as f64) - step),
            round(axes.xs.at(*b as f64) + step),
        )),
        _ => None,
    }
}

/// Centre and limits, the target when drawn, each signal shown, the period band when drawn.
fn legend(marks: &[Mark], target: bool, band: bool, lang: Lang) -> Vec<LegendItem> {
    let mut legend = vec![
        LegendItem {
            shape: "line_solid",
            class: "centre",
            label: text("legend_centre", lang).into(),
        },
        LegendItem {
            shape: "line_dashed",
            class: "limit",
            label: text("legend_limits", lang).into(),
        },
    ];
    if target {
        legend.push(LegendItem {
            shape: "line_dotted",
            class: "target",
            label: text("legend_target", lang).into(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for mk in marks {
        if mk.class != "common" && seen.insert(mk.class) {
            legend.push(LegendItem {
                shape: mk.shape,
                class: mk.class,
                label: text(&format!("legend_{}", mk.class), lang).into(),
            });
        }
    }
    if band {
        legend.push(LegendItem {
            shape: "band",
            class: "band",
            label: text("legend_period", lang).into(),
        });
    }
    legend
}

/// The text alternative: how to read the chart, the latest value, and gaps if any.
fn description(m: &IndicatorMeta, series: &[&IndicatorResult], lang: Lang) -> String {
    let suppressed = series.iter().filter(|r| r.is_suppressed()).count();
    let last = series.iter().rev().find(|r| r.value.is_some());
    format!(
        "{} {}{}",
        text("spc_desc", lang),
        last.and_then(|r| r.value.map(|v| format!(
            "{} {} : {}.",
            text("latest", lang),
            format::period_short(r.period_type, r.period_start, lang),
            format::value(v, m.unit, lang)
        )))
        .unwrap_or_default(),
        if suppressed > 0 {
            format!(" {}", text("spc_gaps", lang))
        } else {
            String::new()
        }
    )
}
