//! What both reports' equity sections share: which equity strata are shown (declared in
//! `strata.yaml`, governed ones only when the pipeline enables them), the category labels in
//! the reader's language, the disparity rows (`<indicator>__<measure>`) as cells, and whether
//! a gap is narrowing.
//!
//! Everything is read from the published results, so a disparity computed from a suppressed
//! cell shows the suppression mark, never a number.

use vigie_disclosure::Lang;
use vigie_indicators::disparity::{Measure, derived_id};
use vigie_indicators::strata::{Strata, StratumDecl, load_strata};
use vigie_indicators::{IndicatorMeta, IndicatorResult, Method, Unit};
use vigie_model::config::{CatalogueSource, EquitySpec, GovernanceNote};

use crate::data::Notes;
use crate::format;
use crate::i18n::text;
use crate::views::{CellView, Status, name, tr};

/// The strata declarations and the pipeline's equity settings, as the reports need them.
#[derive(Debug, Clone, Default)]
pub struct EquityConfig {
    /// The declarations (none: no equity section can be labelled, so none is shown).
    strata: Option<Strata>,
    /// Governed strata the pipeline enables.
    enabled: Vec<String>,
    /// Who governs the governed strata's data.
    governance: Option<GovernanceNote>,
}

impl EquityConfig {
    /// The built-in declarations, no governed stratum enabled.
    pub fn built_in() -> EquityConfig {
        EquityConfig {
            strata: load_strata(&CatalogueSource::embedded()).ok(),
            enabled: vec![],
            governance: None,
        }
    }

    /// A pipeline's declarations and equity settings.
    pub fn new(strata: Strata, spec: &EquitySpec) -> EquityConfig {
        EquityConfig {
            strata: Some(strata),
            enabled: spec.enabled.clone(),
            governance: spec.governance.clone(),
        }
    }

    /// The equity strata of `m` a report shows, in the indicator's order: declared with a
    /// reference category, and governed ones only when the pipeline enables them.
    pub fn shown<'a>(&'a self, m: &IndicatorMeta) -> Vec<&'a StratumDecl> {
        let Some(strata) = &self.strata else {
            return vec![];
        };
        if !matches!(m.method, Method::PoissonRate | Method::Wilson) {
            return vec![];
        }
        m.equity
            .iter()
            .filter_map(|dim| strata.get(dim.column()))
            .filter(|d| d.reference().is_some() && strata.is_active(&d.id, &self.enabled))
            .collect()
    }

    /// The declaration of stratum `id`, if the catalogue declares it.
    pub fn declaration(&self, id: &str) -> Option<&StratumDecl> {
        self.strata.as_ref()?.get(id)
    }

    /// The governance statement in `lang`.
    pub fn governance(&self, lang: Lang) -> Option<String> {
        self.governance.as_ref().map(|g| match lang {
            Lang::Fr => g.fr.clone(),
            Lang::En => g.en.clone(),
        })
    }
}

/// The ratio and difference measures of an indicator: of rates or of proportions.
pub fn measures(m: &IndicatorMeta) -> (Measure, Measure) {
    if m.method == Method::Wilson {
        (Measure::RiskRatio, Measure::RiskDifference)
    } else {
        (Measure::RateRatio, Measure::RateDifference)
    }
}

/// The column headings of the ratio and the difference of an indicator.
pub fn measure_labels(m: &IndicatorMeta, lang: Lang) -> (&'static str, &'static str) {
    if m.method == Method::Wilson {
        (text("risk_ratio", lang), text("risk_difference", lang))
    } else {
        (text("rate_ratio", lang), text("rate_difference", lang))
    }
}

/// The derived id of `measure` of `m`.
pub fn id_of(m: &IndicatorMeta, measure: Measure) -> String {
    derived_id(&m.id, measure)
}

/// A category's label in `lang` (its code when undeclared).
pub fn category_label(decl: &StratumDecl, code: &str, lang: Lang) -> String {
    decl.categories
        .iter()
        .find(|c| c.code == code)
        .map(|c| match lang {
            Lang::Fr => c.fr.clone(),
            Lang::En => c.en.clone(),
        })
        .unwrap_or_else(|| code.to_string())
}

/// A stratum's name in `lang`.
pub fn stratum_name(decl: &StratumDecl, lang: Lang) -> String {
    tr(&decl.name, lang)
}

/// How a measure is written: a ratio with two decimals; a difference or a slope index signed,
/// in the indicator's unit (percentage points for proportions).
fn measure_text(v: f64, measure: Measure, unit: Unit, lang: Lang) -> String {
    match measure {
        Measure::RateRatio | Measure::RiskRatio | Measure::Rii => format::number(v, 2, lang),
        _ => {
            let n = format::number(v, format::decimals(unit), lang);
            let n = if v > 0.0 && n.chars().any(|c| c.is_ascii_digit() && c != '0') {
                format!("+{n}")
            } else {
                n
            };
            if unit == Unit::Percent {
                format!("{n}{}{}", format::NNBSP, text("points", lang))
            } else {
                n
            }
        }
    }
}

/// The interval of a measure: "1,12 à 1,48".
fn measure_interval(lo: f64, hi: f64, measure: Measure, unit: Unit, lang: Lang) -> String {
    let d = match measure {
        Measure::RateRatio | Measure::RiskRatio | Measure::Rii => 2,
        _ => format::decimals(unit),
    };
    let (a, b) = (format::number(lo, d, lang), format::number(hi, d, lang));
    match lang {
        Lang::Fr => format!("{a} à {b}"),
        Lang::En => format!("{a} to {b}"),
    }
}

/// A disparity row as a cell: its value and interval, or the suppression mark (recorded in
/// `notes`) when the gate withheld it or a cell it comes from.
pub fn measure_cell(
    row: Option<&IndicatorResult>,
    m: &IndicatorMeta,
    measure: Measure,
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
        let label = format!("{} ({})", name(m, lang), text(measure_key(measure), lang));
        let mark = notes.suppressed(row, &label, unit_label, lang);
        return CellView {
            text: format::DASH.to_string(),
            ci: String::new(),
            suppressed: true,
            mark: Some(mark),
        };
    }
    CellView {
        text: row
            .value
            .map(|v| measure_text(v, measure, m.unit, lang))
            .unwrap_or_else(|| format::DASH.to_string()),
        ci: match (row.ci_low, row.ci_high) {
            (Some(lo), Some(hi)) => measure_interval(lo, hi, measure, m.unit, lang),
            _ => String::new(),
        },
        suppressed: false,
        mark: None,
    }
}

/// The label key of a measure.
fn measure_key(measure: Measure) -> &'static str {
    match measure {
        Measure::RateRatio => "rate_ratio",
        Measure::RateDifference => "rate_difference",
        Measure::RiskRatio => "risk_ratio",
        Measure::RiskDifference => "risk_difference",
        Measure::Sii => "sii",
        Measure::Rii => "rii",
    }
}

/// Whether a gap is narrowing, read from the control chart of its series (the XmR chart the
/// engine draws over each disparity row): a special-cause signal this period with the gap
/// closer to zero (no gap) than the chart's centre line is narrowing, farther from zero is
/// widening; a common-cause point is no change distinguishable from the usual variation. A
/// suppressed row, or one whose series is too short for a chart, says nothing.
///
/// Why this and not the sign of the last change: a gap between two rates moves every period
/// by chance alone; the control chart's rules only flag a move larger than the series' own
/// period-to-period variation.
pub fn gap_trend(row: Option<&IndicatorResult>, lang: Lang) -> Option<Status> {
    let row = row.filter(|r| !r.is_suppressed())?;
    let (v, centre, signal) = (row.value?, row.spc_centre?, row.spc_signal?);
    let code = if signal == vigie_indicators::SpcSignal::CommonCause {
        "gap_no_change"
    } else if v.abs() < centre.abs() {
        "gap_narrowing"
    } else {
        "gap_widening"
    };
    Some(Status {
        code: code.to_string(),
        label: text(code, lang).to_string(),
    })
}
