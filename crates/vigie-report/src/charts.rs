//! Chart geometry: every coordinate and every label of a chart is computed here, from
//! published results only; `templates/charts.html` draws them as inline SVG.
//!
//! Hand-written SVG rather than a plotting crate: the output is small and self-contained,
//! every piece of text in it (titles, tooltips, ticks) goes through the same formatter and the
//! same disclosure gate as the tables, shapes and dash patterns carry the meaning (not colour
//! alone), and each chart carries a text alternative (`<title>`, `<desc>`).

use serde::Serialize;

/// A tick on an axis.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// Position on the axis (SVG units).
    pub pos: f64,
    /// Label.
    pub label: String,
}

/// The plotting area.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Frame {
    /// Left.
    pub x0: f64,
    /// Top.
    pub y0: f64,
    /// Right.
    pub x1: f64,
    /// Bottom.
    pub y1: f64,
    /// SVG width.
    pub width: f64,
    /// SVG height.
    pub height: f64,
}

impl Frame {
    /// A frame of `width` x `height` with the standard margins (`left` for the y labels).
    pub fn new(width: f64, height: f64, left: f64, right: f64) -> Frame {
        Frame {
            x0: left,
            y0: 14.0,
            x1: width - right,
            y1: height - 34.0,
            width,
            height,
        }
    }
}

/// A linear scale from data to SVG units.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// From domain `d0..d1` to range `r0..r1`.
    pub fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let d1 = if (d1 - d0).abs() < f64::EPSILON {
            d0 + 1.0
        } else {
            d1
        };
        Scale { d0, d1, r0, r1 }
    }

    /// Maps a data value.
    pub fn at(&self, v: f64) -> f64 {
        round(self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0))
    }
}

/// Rounds SVG coordinates to 0.1 (smaller files, stable snapshots).
pub fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// "Nice" ticks covering `lo..hi`: (ticks, new lo, new hi).
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64, f64) {
    let (lo, hi) = if hi - lo < 1e-9 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t <= end + step * 1e-6 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    (ticks, start, end)
}

/// A marker on a chart: its shape tells its meaning.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// circle, square, triangle_up, triangle_down, diamond, ring.
    pub shape: &'static str,
    /// CSS class (colour and fill): common, improvement, concern, neither, peer, focus, region.
    pub class: &'static str,
    /// Tooltip text.
    pub title: String,
    /// Text label beside the mark (peer codes on a funnel plot).
    pub label: Option<String>,
    /// Label position x.
    pub lx: f64,
    /// Label position y.
    pub ly: f64,
}

/// Places the labels of `marks` beside them, avoiding overlaps (greedy, top to bottom).
pub fn place_labels(marks: &mut [Mark]) {
    let mut placed: Vec<(f64, f64, f64)> = Vec::new();
    let mut order: Vec<usize> = (0..marks.len()).collect();
    order.sort_by(|a, b| marks[*a].y.total_cmp(&marks[*b].y));
    for i in order {
        let m = &marks[i];
        let w = 9.0 * m.label.as_ref().map_or(0, |l| l.chars().count()) as f64;
        let candidates = [
            (m.x + 10.0, m.y - 6.0),
            (m.x + 10.0, m.y + 14.0),
            (m.x - 10.0 - w, m.y - 6.0),
            (m.x - 10.0 - w, m.y + 14.0),
            (m.x + 10.0, m.y - 20.0),
            (m.x + 10.0, m.y + 28.0),
        ];
        let free = |(x, y): (f64, f64)| {
            placed
                .iter()
                .all(|(px, py, pw)| x + w < *px || x > px + pw || (y - py).abs() >= 13.0)
        };
        let (x, y) = candidates
            .iter()
            .copied()
            .find(|c| free(*c))
            .unwrap_or(candidates[0]);
        placed.push((x, y, w));
        marks[i].lx = round(x);
        marks[i].ly = round(y);
    }
}

/// A legend entry.
#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    /// Shape (as [`Mark::shape`]) or a line style: line_solid, line_dashed, line_dotted, band.
    pub shape: &'static str,
    /// CSS class.
    pub class: &'static str,
    /// Text.
    pub label: String,
}

/// A statistical process control chart of one indicator for one org unit.
#[derive(Debug, Clone, Serialize)]
pub struct SpcChart {
    /// Element id (unique in the document).
    pub id: String,
    /// Title (the indicator's name).
    pub title: String,
    /// Text alternative.
    pub desc: String,
    /// Plotting frame.
    pub frame: Frame,
    /// Y ticks.
    pub yticks: Vec<Tick>,
    /// X ticks.
    pub xticks: Vec<Tick>,
    /// Value line, as polyline point lists (broken at suppressed points).
    pub line: Vec<String>,
    /// Centre line segments.
    pub centre: Vec<String>,
    /// Upper process limit segments.
    pub upper: Vec<String>,
    /// Lower process limit segments.
    pub lower: Vec<String>,
    /// Target line.
    pub target_y: Option<f64>,
    /// Highlight of the report period (x from, x to).
    pub band: Option<(f64, f64)>,
    /// The points.
    pub marks: Vec<Mark>,
    /// Legend.
    pub legend: Vec<LegendItem>,
}

/// A funnel plot: one indicator, every team of the region for one period.
#[derive(Debug, Clone, Serialize)]
pub struct FunnelChart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Text alternative.
    pub desc: String,
    /// Frame.
    pub frame: Frame,
    /// Y ticks.
    pub yticks: Vec<Tick>,
    /// X ticks.
    pub xticks: Vec<Tick>,
    /// X axis label.
    pub xlabel: String,
    /// Y of the centre line (the region's value).
    pub centre_y: f64,
    /// 95% limits (upper, lower) polylines.
    pub l95: (String, String),
    /// 99.8% limits polylines.
    pub l998: (String, String),
    /// Peer teams, then the team (drawn last, on top).
    pub marks: Vec<Mark>,
    /// Legend.
    pub legend: Vec<LegendItem>,
}

/// One row of a forest (interval) plot.
#[derive(Debug, Clone, Serialize)]
pub struct ForestRow {
    /// Row centre y.
    pub y: f64,
    /// Label on the left.
    pub label: String,
    /// Whether the row is emphasised (the team).
    pub focus: bool,
    /// Interval from x.
    pub lo: Option<f64>,
    /// Interval to x.
    pub hi: Option<f64>,
    /// Line style of the interval: solid or dashed.
    pub dash: bool,
    /// The estimate.
    pub mark: Option<Mark>,
    /// A reference mark (e.g. the region's value).
    pub reference: Option<Mark>,
    /// Text on the right (value and interval, or "—").
    pub text: String,
}

/// A forest plot: estimates with 95% intervals, one row each.
#[derive(Debug, Clone, Serialize)]
pub struct ForestChart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Text alternative.
    pub desc: String,
    /// Frame (x0 is where the plot starts right of the labels; x1 where the text starts).
    pub frame: Frame,
    /// X ticks.
    pub xticks: Vec<Tick>,
    /// X of the reference line (0 % change), if shown.
    pub zero_x: Option<f64>,
    /// Rows.
    pub rows: Vec<ForestRow>,
    /// Legend.
    pub legend: Vec<LegendItem>,
}

/// Joins points into polyline segments, breaking at `None`.
pub fn segments(points: &[Option<(f64, f64)>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    for p in points {
        match p {
            Some((x, y)) => cur.push(format!("{},{}", round(*x), round(*y))),
            None => {
                if !cur.is_empty() {
                    out.push(cur.join(" "));
                    cur.clear();
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur.join(" "));
    }
    out
}

/// The legend of program-evaluation charts: naive (circle) beside adjusted (square).
pub fn naive_adjusted_legend(lang: vigie_disclosure::Lang) -> Vec<LegendItem> {
    use crate::i18n::text;
    vec![
        LegendItem {
            shape: "circle",
            class: "naive",
            label: text("legend_naive", lang).into(),
        },
        LegendItem {
            shape: "square",
            class: "adjusted",
            label: text("legend_adjusted", lang).into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_cover_the_range() {
        let (t, lo, hi) = nice_ticks(3.2, 47.9, 5);
        assert_eq!(t, vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!((lo, hi), (0.0, 50.0));
        let (t, _, _) = nice_ticks(-58.0, 20.0, 5);
        assert!(t.contains(&0.0) && t[0] <= -58.0 && *t.last().expect("tick") >= 20.0);
    }

    #[test]
    fn segments_break_at_gaps() {
        let s = segments(&[Some((1.0, 2.0)), Some((3.0, 4.0)), None, Some((5.0, 6.0))]);
        assert_eq!(s, vec!["1,2 3,4".to_string(), "5,6".to_string()]);
    }
}
