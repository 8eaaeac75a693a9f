//! Funnel plots and peer positions. The statistics (limits around the region's value, where
//! a team falls) are `vigie_indicators::PeerFunnel`'s; this module lays them out.

use serde::Serialize;
use vigie_disclosure::Lang;
use vigie_indicators::{IndicatorMeta, IndicatorResult, PeerFunnel, PeerTone, peer_band};
use vigie_stats::FunnelLimits;

use super::{clamp_domain, name, tr};
use crate::charts::{Frame, FunnelChart, LegendItem, Mark, Scale, Tick, nice_ticks, place_labels};
use crate::data::{Data, unit_label};
use crate::format;
use crate::i18n::text;

/// Height of a funnel plot.
const HEIGHT: f64 = 270.0;
/// Left margin (room for the y labels).
const LEFT_MARGIN: f64 = 58.0;
/// Right margin.
const RIGHT_MARGIN: f64 = 16.0;
/// Ticks aimed at on each axis.
const TICKS: usize = 5;
/// The x axis runs this far past the largest team (room for its label).
const X_HEADROOM: f64 = 1.15;
/// The limit lines start at this fraction of the smallest team's size.
const LIMITS_FROM: f64 = 0.5;
/// Points of each limit line (geometric steps in size).
const LIMIT_STEPS: usize = 48;
/// Limits are drawn at most this many y ranges beyond the axis (then clipped by the frame).
const LIMIT_OVERSHOOT: f64 = 1.0;

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

/// The peer position of `row` (a team) against the region `region`.
pub fn peer_position(
    m: &IndicatorMeta,
    row: &IndicatorResult,
    region: &IndicatorResult,
    lang: Lang,
) -> Option<PeerPosition> {
    let band = peer_band(m, row, region)?;
    let tone = band.tone(m.direction);
    let code = band.code();
    let mut label = text(&format!("peer_{code}"), lang).to_string();
    if tone != PeerTone::Neutral {
        label = format!("{label} ({})", text(&format!("tone_{}", tone.code()), lang));
    }
    Some(PeerPosition {
        code: code.to_string(),
        label,
        tone: tone.code(),
    })
}

/// The axes of a funnel plot.
struct Axes {
    frame: Frame,
    xs: Scale,
    ys: Scale,
    x_ticks: Vec<f64>,
    x_hi: f64,
    y_ticks: Vec<f64>,
    y_lo: f64,
    y_hi: f64,
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
    let funnel = PeerFunnel::around(m, data.region_of(row)?)?;
    let peers: Vec<&IndicatorResult> = data
        .peers(row)
        .into_iter()
        .filter(|r| r.value.is_some() && r.denominator.is_some_and(|d| d > 0.0))
        .collect();
    if peers.len() < 2 {
        return None;
    }
    let sizes = peers.iter().filter_map(|r| r.denominator);
    let largest = sizes.clone().fold(0.0, f64::max);
    let smallest = sizes.fold(f64::INFINITY, f64::min);
    let axes = axes(m, &funnel, &peers, smallest, largest, width);
    let limit_line = limit_lines(&funnel, &axes, smallest * LIMITS_FROM);
    let marks = peer_marks(m, &peers, team, &axes, lang);
    let has_focus = marks.iter().any(|mk| mk.class == "focus");
    Some(FunnelChart {
        id: id.to_string(),
        title: format!(
            "{} — {}",
            name(m, lang),
            format::period_of(row.period_type, row.period_start, row.period_end, lang)
        ),
        desc: text("funnel_desc", lang).to_string(),
        frame: axes.frame,
        yticks: axes
            .y_ticks
            .iter()
            .filter(|t| **t >= axes.y_lo - 1e-9 && **t <= axes.y_hi + 1e-9)
            .map(|t| Tick {
                pos: axes.ys.at(*t),
                label: format::number(*t, if (t.fract()).abs() > 1e-9 { 1 } else { 0 }, lang),
            })
            .collect(),
        xticks: axes
            .x_ticks
            .iter()
            .map(|t| Tick {
                pos: axes.xs.at(*t),
                label: format::number(*t, 0, lang),
            })
            .collect(),
        xlabel: format!("{} ({})", text("funnel_x", lang), tr(&m.denominator, lang)),
        centre_y: axes.ys.at(funnel.centre()),
        l95: (limit_line(|l| l.upper_95), limit_line(|l| l.lower_95)),
        l998: (limit_line(|l| l.upper_998), limit_line(|l| l.lower_998)),
        marks,
        legend: legend(team, has_focus, lang),
    })
}

/// The axes: sizes from 0 past the largest team; values covering the region, every team and
/// the 99.8 % limits at the smallest team's size (not their blow-up near zero).
fn axes(
    m: &IndicatorMeta,
    funnel: &PeerFunnel,
    peers: &[&IndicatorResult],
    smallest: f64,
    largest: f64,
    width: f64,
) -> Axes {
    let frame = Frame::new(width, HEIGHT, LEFT_MARGIN, RIGHT_MARGIN);
    let (x_ticks, x_lo, x_hi) = nice_ticks(0.0, largest * X_HEADROOM, TICKS);
    let xs = Scale::new(x_lo, x_hi, frame.x0, frame.x1);
    let mut lo = funnel.centre();
    let mut hi = funnel.centre();
    for v in peers.iter().filter_map(|r| r.value) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if let Some(l) = funnel.limits(smallest) {
        lo = lo.min(l.lower_998);
        hi = hi.max(l.upper_998);
    }
    let (lo, hi) = clamp_domain(m, lo, hi);
    let (y_ticks, y_lo, y_hi) = nice_ticks(lo, hi, TICKS);
    let ys = Scale::new(y_lo, y_hi, frame.y1, frame.y0);
    Axes {
        frame,
        xs,
        ys,
        x_ticks,
        x_hi,
        y_ticks,
        y_lo,
        y_hi,
    }
}

/// A function drawing one limit (picked from the limits at each size) as a polyline, from the
/// start of the limits to the right edge in geometric steps.
fn limit_lines<'a>(
    funnel: &PeerFunnel,
    axes: &'a Axes,
    from_size: f64,
) -> impl Fn(fn(&FunnelLimits) -> f64) -> String + 'a {
    let start = from_size.max(1.0);
    let limits: Vec<(f64, FunnelLimits)> = (0..=LIMIT_STEPS)
        .map(|i| start * (axes.x_hi / start).powf(i as f64 / LIMIT_STEPS as f64))
        .filter_map(|s| funnel.limits(s).map(|l| (s, l)))
        .collect();
    let span = (axes.y_hi - axes.y_lo) * LIMIT_OVERSHOOT;
    move |pick| {
        limits
            .iter()
            .map(|(s, l)| {
                format!(
                    "{},{}",
                    axes.xs.at(*s),
                    axes.ys
                        .at(pick(l).clamp(axes.y_lo - span, axes.y_hi + span))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The teams' marks, labelled with their codes; `team`'s last (drawn on top).
fn peer_marks(
    m: &IndicatorMeta,
    peers: &[&IndicatorResult],
    team: Option<&str>,
    axes: &Axes,
    lang: Lang,
) -> Vec<Mark> {
    let mut marks = Vec::new();
    let mut focus = None;
    for r in peers {
        let (Some(v), Some(d)) = (r.value, r.denominator) else {
            continue;
        };
        let is_team = team == Some(r.org_unit.as_str());
        let mk = Mark {
            x: axes.xs.at(d),
            y: axes.ys.at(v),
            shape: if is_team { "diamond" } else { "circle" },
            class: if is_team { "focus" } else { "peer" },
            title: format!(
                "{} : {}",
                unit_label(&r.org_unit, lang),
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
    marks.extend(focus);
    place_labels(&mut marks);
    marks
}

/// Region, limits, peers, and the team when it is on the plot.
fn legend(team: Option<&str>, has_focus: bool, lang: Lang) -> Vec<LegendItem> {
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
            label: team.map(|t| unit_label(t, lang)).unwrap_or_default(),
        });
    }
    legend
}
