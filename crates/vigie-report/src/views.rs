//! Shared building blocks of both reports: cells, statuses, and the charts built from
//! published rows.

use serde::Serialize;
use vigie_disclosure::Lang;
use vigie_indicators::{Direction, IndicatorMeta, IndicatorResult, Method, Unit};
use vigie_stats::{FunnelPosition, ProportionFunnelMethod, classify};

use crate::charts::{
    ForestChart, ForestRow, Frame, FunnelChart, LegendItem, Mark, Scale, SpcChart, Tick,
    nice_ticks, round, segments,
};
use crate::data::{Data, Notes};
use crate::format;
use crate::i18n::text;

/// Name of an indicator in a language.
pub fn name(m: &IndicatorMeta, lang: Lang) -> String {
    match lang {
        Lang::Fr => m.name.fr.clone(),
        Lang::En => m.name.en.clone(),
    }
}

/// A bilingual text in a language.
pub fn tr(b: &vigie_indicators::Bilingual, lang: Lang) -> String {
    match lang {
        Lang::Fr => b.fr.clone(),
        Lang::En => b.en.clone(),
    }
}

/// A value cell as shown.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CellView {
    /// The value, or "—".
    pub text: String,
    /// The 95% interval ("" when none).
    pub ci: String,
    /// Whether suppressed.
    pub suppressed: bool,
    /// Footnote mark.
    pub mark: Option<&'static str>,
}

/// A row's value cell; a suppressed row is recorded in `notes`.
pub fn cell(
    row: Option<&IndicatorResult>,
    m: &IndicatorMeta,
    unit_label: &str,
    notes: &mut Notes,
    lang: Lang,
) -> CellView {
    let Some(row) = row else {
        return CellView {
            text: format::DASH.to_string(),
            ..CellView::default()
        };
    };
    if row.suppressed {
        let mark = notes.suppressed(row, &name(m, lang), unit_label, lang);
        return CellView {
            text: format::DASH.to_string(),
            ci: String::new(),
            suppressed: true,
            mark: Some(mark),
        };
    }
    let text = match (row.value, m.method) {
        (Some(v), Method::ProgramEvaluation) => format::percent_change(v, lang),
        (Some(v), _) => format::value(v, m.unit, lang),
        (None, _) => format::DASH.to_string(),
    };
    let ci = match (row.ci_low, row.ci_high) {
        (Some(lo), Some(hi)) => format::interval(lo, hi, m.unit, lang),
        _ => String::new(),
    };
    CellView {
        text,
        ci,
        suppressed: false,
        mark: None,
    }
}

/// A status with its code (CSS class and icon) and label.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Code: met, within_corridor, not_met, improved, worsened, stable, common_cause, ...
    pub code: String,
    /// Label.
    pub label: String,
}

/// The target status of a row.
pub fn target_status(row: Option<&IndicatorResult>, lang: Lang) -> Option<Status> {
    let code = row?.target_status.clone()?;
    Some(Status {
        label: text(&format!("status_{code}"), lang).to_string(),
        code,
    })
}

/// The SPC signal of a row.
pub fn signal(row: Option<&IndicatorResult>, lang: Lang) -> Option<Status> {
    let code = row?.spc_signal.clone()?;
    Some(Status {
        label: text(&format!("signal_{code}"), lang).to_string(),
        code,
    })
}

/// The trend of a row against the previous period, with the indicator's direction.
pub fn trend(
    row: Option<&IndicatorResult>,
    previous: Option<&IndicatorResult>,
    m: &IndicatorMeta,
    lang: Lang,
) -> Option<Status> {
    let (v, p) = (row?.value?, previous?.value?);
    let step = 0.5 * 10f64.powi(-(format::decimals(m.unit) as i32));
    let code = if (v - p).abs() < step {
        "stable"
    } else {
        let up = v > p;
        match (m.direction, up) {
            (Direction::HigherIsBetter, true) | (Direction::LowerIsBetter, false) => "improved",
            (Direction::HigherIsBetter, false) | (Direction::LowerIsBetter, true) => "worsened",
            (Direction::Neither, true) => "up",
            (Direction::Neither, false) => "down",
        }
    };
    Some(Status {
        code: code.to_string(),
        label: text(&format!("trend_{code}"), lang).to_string(),
    })
}

/// Target and corridor as text: "80,0 % (couloir : 70,0 %)".
pub fn target_text(m: &IndicatorMeta, lang: Lang) -> String {
    let Some(t) = m.target else {
        return format::DASH.to_string();
    };
    let v = format::value(t.value, m.unit, lang);
    match t.corridor_low.or(t.corridor_high) {
        Some(c) => format!(
            "{v} ({} {})",
            text("corridor_to", lang),
            format::value(c, m.unit, lang)
        ),
        None => v,
    }
}

fn shape_of_signal(signal: Option<&str>) -> (&'static str, &'static str) {
    match signal {
        Some("special_cause_improvement") => ("square", "improvement"),
        Some("special_cause_concern") => ("triangle_up", "concern"),
        Some("special_cause_neither") => ("diamond", "neither"),
        _ => ("circle", "common"),
    }
}

fn clamp_domain(m: &IndicatorMeta, lo: f64, hi: f64) -> (f64, f64) {
    let pad = ((hi - lo) * 0.08).max(1e-6);
    let (mut lo, mut hi) = (lo - pad, hi + pad);
    if lo < 0.0 && m.unit != Unit::Ratio {
        lo = 0.0;
    }
    if m.unit == Unit::Percent && hi > 100.0 {
        hi = 100.0;
    }
    if m.method == Method::ProgramEvaluation {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    (lo, hi)
}

/// An SPC chart of `series` (the last `max_points`), with the rows of `period` highlighted.
#[allow(clippy::too_many_arguments)]
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
    if series.iter().filter(|r| r.value.is_some()).count() < 2 {
        return None;
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for r in &series {
        for v in [r.value, r.spc_lower, r.spc_upper, r.spc_centre, r.target]
            .into_iter()
            .flatten()
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = clamp_domain(m, lo, hi);
    let (ticks, lo, hi) = nice_ticks(lo, hi, 4);
    let frame = Frame::new(width, 230.0, 58.0, 34.0);
    let n = series.len();
    let xs = Scale::new(0.0, (n.max(2) - 1) as f64, frame.x0 + 10.0, frame.x1 - 10.0);
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
    let every = n.div_ceil(6).max(1);
    let xticks = series
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
        .map(|(i, r)| Tick {
            pos: xs.at(i as f64),
            label: format::period_short(&r.period_type, r.period_start, lang),
        })
        .collect();
    let pt = |f: fn(&IndicatorResult) -> Option<f64>| -> Vec<Option<(f64, f64)>> {
        series
            .iter()
            .enumerate()
            .map(|(i, r)| f(r).map(|v| (xs.at(i as f64), ys.at(v))))
            .collect()
    };
    let mut marks = Vec::new();
    for (i, r) in series.iter().enumerate() {
        let Some(v) = r.value else { continue };
        let (shape, class) = shape_of_signal(r.spc_signal.as_deref());
        let sig = r
            .spc_signal
            .as_deref()
            .map(|s| text(&format!("signal_{s}"), lang))
            .unwrap_or("");
        let label = format::period_short(&r.period_type, r.period_start, lang);
        marks.push(Mark {
            x: xs.at(i as f64),
            y: ys.at(v),
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
    let highlighted: Vec<usize> = (0..n).filter(|i| in_period(series[*i])).collect();
    let step = (xs.at(1.0) - xs.at(0.0)).abs() / 2.0;
    let band = match (highlighted.first(), highlighted.last()) {
        (Some(a), Some(b)) => Some((
            round(xs.at(*a as f64) - step),
            round(xs.at(*b as f64) + step),
        )),
        _ => None,
    };
    let target_y = m
        .target
        .map(|t| t.value)
        .filter(|t| *t >= lo && *t <= hi)
        .map(|t| ys.at(t));
    let suppressed = series.iter().filter(|r| r.suppressed).count();
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
    if target_y.is_some() {
        legend.push(LegendItem {
            shape: "line_dotted",
            class: "target",
            label: text("legend_target", lang).into(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for mk in &marks {
        if mk.class != "common" && seen.insert(mk.class) {
            legend.push(LegendItem {
                shape: mk.shape,
                class: mk.class,
                label: text(&format!("legend_{}", mk.class), lang).into(),
            });
        }
    }
    if band.is_some() {
        legend.push(LegendItem {
            shape: "band",
            class: "band",
            label: text("legend_period", lang).into(),
        });
    }
    let last = series.iter().rev().find(|r| r.value.is_some());
    let desc = format!(
        "{} {}{}",
        text("spc_desc", lang),
        last.and_then(|r| r.value.map(|v| format!(
            "{} {} : {}.",
            text("latest", lang),
            format::period_short(&r.period_type, r.period_start, lang),
            format::value(v, m.unit, lang)
        )))
        .unwrap_or_default(),
        if suppressed > 0 {
            format!(" {}", text("spc_gaps", lang))
        } else {
            String::new()
        }
    );
    Some(SpcChart {
        id: id.to_string(),
        title: name(m, lang),
        desc,
        frame,
        yticks,
        xticks,
        line: segments(&pt(|r| r.value)),
        centre: segments(&pt(|r| r.spc_centre)),
        upper: segments(&pt(|r| r.spc_upper)),
        lower: segments(&pt(|r| r.spc_lower)),
        target_y,
        band,
        marks,
        legend,
    })
}

/// Where a team sits on a funnel plot.
#[derive(Debug, Clone, Serialize)]
pub struct PeerPosition {
    /// within, above_95, below_95, above_998, below_998.
    pub code: String,
    /// For a reader, with the direction (favourable or not).
    pub label: String,
    /// favourable, unfavourable, neutral.
    pub tone: &'static str,
}

/// Whether an indicator can be drawn on a funnel plot.
pub fn funnel_kind(m: &IndicatorMeta) -> Option<bool> {
    match (m.method, m.unit) {
        (Method::Wilson, Unit::Percent) => Some(true),
        (Method::PoissonRate, Unit::RatePer1000) => Some(false),
        _ => None,
    }
}

/// Limits of a funnel at `size` for the region's rate or proportion `p` (as a fraction or
/// per person), in the indicator's unit.
fn limits(proportion: bool, p: f64, size: f64, mult: f64) -> Option<[f64; 4]> {
    let l = if proportion {
        vigie_stats::proportion_funnel_limits(
            p.clamp(0.0, 1.0),
            size.round().max(1.0),
            ProportionFunnelMethod::ExactBinomial,
        )
        .ok()?
    } else {
        vigie_stats::rate_funnel_limits(p, size).ok()?
    };
    Some([
        l.lower_95 * mult,
        l.upper_95 * mult,
        l.lower_998 * mult,
        l.upper_998 * mult,
    ])
}

/// The peer position of `row` (a team) against the region `region`.
pub fn peer_position(
    m: &IndicatorMeta,
    row: &IndicatorResult,
    region: &IndicatorResult,
    lang: Lang,
) -> Option<PeerPosition> {
    let proportion = funnel_kind(m)?;
    let (rn, rd) = (region.numerator?, region.denominator?);
    let (v, size) = (row.value?, row.denominator?);
    if rd <= 0.0 || size <= 0.0 || rn <= 0.0 {
        return None;
    }
    let [l95, h95, l998, h998] = limits(proportion, rn / rd, size, m.unit.multiplier())?;
    let c = classify(
        v,
        &vigie_stats::FunnelLimits {
            target: rn / rd * m.unit.multiplier(),
            lower_95: l95,
            upper_95: h95,
            lower_998: l998,
            upper_998: h998,
        },
    );
    let code = match (c.at_998, c.at_95) {
        (FunnelPosition::Above, _) => "above_998",
        (FunnelPosition::Below, _) => "below_998",
        (_, FunnelPosition::Above) => "above_95",
        (_, FunnelPosition::Below) => "below_95",
        _ => "within",
    };
    let tone = match (code, m.direction) {
        ("within", _) | (_, Direction::Neither) => "neutral",
        (c, Direction::HigherIsBetter) if c.starts_with("above") => "favourable",
        (c, Direction::LowerIsBetter) if c.starts_with("below") => "favourable",
        _ => "unfavourable",
    };
    let mut label = text(&format!("peer_{code}"), lang).to_string();
    if tone != "neutral" {
        label = format!("{label} ({})", text(&format!("tone_{tone}"), lang));
    }
    Some(PeerPosition {
        code: code.to_string(),
        label,
        tone,
    })
}

/// A funnel plot of `row`'s indicator and period: every team, `team` highlighted.
pub fn funnel_chart(
    id: &str,
    m: &IndicatorMeta,
    data: &Data,
    row: &IndicatorResult,
    team: Option<&str>,
    width: f64,
    lang: Lang,
) -> Option<FunnelChart> {
    let proportion = funnel_kind(m)?;
    let region = data.region_of(row)?;
    let (rn, rd) = (region.numerator?, region.denominator?);
    if rd <= 0.0 || rn <= 0.0 {
        return None;
    }
    let p = rn / rd;
    let mult = m.unit.multiplier();
    let peers: Vec<&IndicatorResult> = data
        .peers(row)
        .into_iter()
        .filter(|r| r.value.is_some() && r.denominator.is_some_and(|d| d > 0.0))
        .collect();
    if peers.len() < 2 {
        return None;
    }
    let max_size = peers
        .iter()
        .filter_map(|r| r.denominator)
        .fold(0.0, f64::max)
        * 1.15;
    let min_size = peers
        .iter()
        .filter_map(|r| r.denominator)
        .fold(f64::INFINITY, f64::min)
        * 0.5;
    let frame = Frame::new(width, 270.0, 58.0, 16.0);
    let (xt, x_lo, x_hi) = nice_ticks(0.0, max_size, 5);
    let xs = Scale::new(x_lo, x_hi, frame.x0, frame.x1);
    // Limits from half the smallest team to the right edge (geometric steps).
    let start = min_size.max(1.0);
    let steps = 48;
    let sizes: Vec<f64> = (0..=steps)
        .map(|i| start * (x_hi / start).powf(i as f64 / steps as f64))
        .collect();
    let lims: Vec<(f64, [f64; 4])> = sizes
        .iter()
        .filter_map(|s| limits(proportion, p, *s, mult).map(|l| (*s, l)))
        .collect();
    let mut lo = p * mult;
    let mut hi = p * mult;
    for r in &peers {
        if let Some(v) = r.value {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    // Show the 99.8 % limits at the smallest team's size, not their blow-up near zero.
    if let Some(l) = limits(proportion, p, min_size * 2.0, mult) {
        lo = lo.min(l[2]);
        hi = hi.max(l[3]);
    }
    let (lo, hi) = clamp_domain(m, lo, hi);
    let (yt, y_lo, y_hi) = nice_ticks(lo, hi, 5);
    let ys = Scale::new(y_lo, y_hi, frame.y1, frame.y0);
    let line = |k: usize| -> String {
        lims.iter()
            .map(|(s, l)| {
                format!(
                    "{},{}",
                    xs.at(*s),
                    ys.at(l[k].clamp(y_lo - (y_hi - y_lo), y_hi + (y_hi - y_lo)))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut marks = Vec::new();
    let mut focus = None;
    for r in &peers {
        let (Some(v), Some(d)) = (r.value, r.denominator) else {
            continue;
        };
        let is_team = team == Some(r.org_unit.as_str());
        let mk = Mark {
            x: xs.at(d),
            y: ys.at(v),
            shape: if is_team { "diamond" } else { "circle" },
            class: if is_team { "focus" } else { "peer" },
            title: format!(
                "{} : {}",
                crate::data::unit_label(&r.org_unit, lang),
                format::value(v, m.unit, lang)
            ),
            label: Some(r.org_unit.clone()),
            lx: 0.0,
            ly: 0.0,
        };
        if is_team {
            focus = Some(mk);
        } else {
            marks.push(mk);
        }
    }
    let has_focus = focus.is_some();
    marks.extend(focus);
    crate::charts::place_labels(&mut marks);
    let mut legend = vec![
        LegendItem {
            shape: "line_solid",
            class: "centre",
            label: text("legend_region_value", lang).into(),
        },
        LegendItem {
            shape: "line_dashed",
            class: "limit",
            label: text("legend_95", lang).into(),
        },
        LegendItem {
            shape: "line_dotted",
            class: "limit998",
            label: text("legend_998", lang).into(),
        },
        LegendItem {
            shape: "circle",
            class: "peer",
            label: text("legend_peers", lang).into(),
        },
    ];
    if has_focus {
        legend.push(LegendItem {
            shape: "diamond",
            class: "focus",
            label: team
                .map(|t| crate::data::unit_label(t, lang))
                .unwrap_or_default(),
        });
    }
    Some(FunnelChart {
        id: id.to_string(),
        title: format!(
            "{} — {}",
            name(m, lang),
            format::period_of(&row.period_type, row.period_start, row.period_end, lang)
        ),
        desc: text("funnel_desc", lang).to_string(),
        frame,
        yticks: yt
            .iter()
            .filter(|t| **t >= y_lo - 1e-9 && **t <= y_hi + 1e-9)
            .map(|t| Tick {
                pos: ys.at(*t),
                label: format::number(*t, if (t.fract()).abs() > 1e-9 { 1 } else { 0 }, lang),
            })
            .collect(),
        xticks: xt
            .iter()
            .map(|t| Tick {
                pos: xs.at(*t),
                label: format::number(*t, 0, lang),
            })
            .collect(),
        xlabel: format!("{} ({})", text("funnel_x", lang), tr(&m.denominator, lang)),
        centre_y: ys.at(p * mult),
        l95: (line(1), line(0)),
        l998: (line(3), line(2)),
        marks,
        legend,
    })
}

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
    let row_h = 30.0;
    let height = 14.0 + row_h * estimates.len() as f64 + 40.0;
    let frame = Frame::new(720.0, height, 250.0, 200.0);
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
        (lo, hi) = (-1.0, 1.0);
    }
    let program = m.method == Method::ProgramEvaluation;
    if program {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let (ticks, lo, hi) = nice_ticks(lo, hi, 5);
    let xs = Scale::new(lo, hi, frame.x0, frame.x1);
    let fmt_tick = |t: f64| {
        if program {
            format::percent_change(t, lang)
                .replace(",0", "")
                .replace(".0", "")
        } else {
            format::value(t, m.unit, lang)
                .replace(",0", "")
                .replace(".0", "")
        }
    };
    let rows = estimates
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let y = round(frame.y0 + row_h * (i as f64 + 0.5));
            let unit = e.label.clone();
            let c = cell(e.row, m, &unit, notes, lang);
            let text = if c.suppressed {
                format!("{}{}", format::DASH, c.mark.unwrap_or(""))
            } else if c.ci.is_empty() {
                c.text.clone()
            } else {
                format!("{} ({})", c.text, c.ci)
            };
            let r = e.row.filter(|r| !r.suppressed);
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
                    shape: if e.focus {
                        "diamond"
                    } else if e.naive {
                        "circle"
                    } else {
                        "square"
                    },
                    class: if e.focus {
                        "focus"
                    } else if e.naive {
                        "naive"
                    } else {
                        "adjusted"
                    },
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
                label: fmt_tick(*t),
            })
            .collect(),
        zero_x: (program && lo <= 0.0 && hi >= 0.0).then(|| xs.at(0.0)),
        rows,
        legend,
    }
}
