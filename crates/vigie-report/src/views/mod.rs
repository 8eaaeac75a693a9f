//! Shared building blocks of both reports: cells, statuses, and the charts built from
//! published rows.

mod forest;
mod funnel;
mod spc;

use serde::Serialize;
use vigie_disclosure::Lang;
use vigie_indicators::{Code, Direction, IndicatorMeta, IndicatorResult, Method, Unit};

use crate::data::Notes;
use crate::format;
use crate::i18n::text;

pub use forest::{Estimate, forest_chart};
pub use funnel::{PeerPosition, funnel_chart, peer_position};
pub use spc::spc_chart;

/// Share of the value range added above and below it on a chart's axis.
const AXIS_PADDING: f64 = 0.08;

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
    if row.is_suppressed() {
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
    let code = row?.target_status?.code();
    Some(Status {
        label: text(&format!("status_{code}"), lang).to_string(),
        code: code.to_string(),
    })
}

/// The SPC signal of a row.
pub fn signal(row: Option<&IndicatorResult>, lang: Lang) -> Option<Status> {
    let code = row?.spc_signal?.code();
    Some(Status {
        label: text(&format!("signal_{code}"), lang).to_string(),
        code: code.to_string(),
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

/// The value axis of a chart: the data range padded, kept within the unit's bounds, and
/// with 0 in view for a change.
fn clamp_domain(m: &IndicatorMeta, lo: f64, hi: f64) -> (f64, f64) {
    let pad = ((hi - lo) * AXIS_PADDING).max(1e-6);
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
