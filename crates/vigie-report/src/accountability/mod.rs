//! The accountability report of the region for one period: for funders.
//!
//! One function per section, each with its template fragment under
//! `templates/accountability/`: the scorecard, the program evaluation, the care pathway
//! (the region and each team), the region's equity gaps, data quality and the methods
//! appendix.

mod data_quality;
mod equity;
mod evaluation;
mod methods;
mod scorecard;

use std::collections::BTreeMap;

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::IndicatorDef;

use crate::data::{Data, Footnote, Notes, SuppressedCell};
use crate::i18n::text;
use crate::pathway::{PathwaySection, Unit};
use crate::period::Period;
use crate::sections::{Scope, as_of, lang_code};
use crate::{ReportError, render};

use data_quality::DataQuality;
use equity::EquityRegion;
use evaluation::EvaluationSection;
use methods::MethodEntry;
use scorecard::Scorecard;

#[derive(Serialize)]
struct Context {
    lang: &'static str,
    t: BTreeMap<&'static str, &'static str>,
    title: String,
    period_label: String,
    as_of: String,
    #[serde(flatten)]
    scorecard: Scorecard,
    #[serde(flatten)]
    evaluation: EvaluationSection,
    #[serde(flatten)]
    pathway: PathwaySection,
    #[serde(flatten)]
    equity: EquityRegion,
    #[serde(flatten)]
    data_quality: DataQuality,
    methods: Vec<MethodEntry>,
    suppressed: Vec<SuppressedCell>,
    footnotes: Vec<Footnote>,
}

/// Renders the accountability report.
pub fn render(
    data: &Data,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    data.check_period(period)?;
    let s = Scope::new(data, catalogue, cfg, "", period, lang);
    let mut notes = Notes::default();
    let scorecard = scorecard::section(&s, &mut notes);
    let evaluation = evaluation::section(&s, &mut notes);
    // The region first, then every team.
    let units: Vec<Unit> = std::iter::once(crate::data::REGION)
        .chain(data.teams.iter().map(String::as_str))
        .map(|code| Unit {
            code: code.to_string(),
            label: crate::data::unit_label(code, lang),
        })
        .collect();
    let pathway = crate::pathway::section(&s, &units, &mut notes);
    let equity = equity::section(&s, &mut notes);
    let data_quality = data_quality::section(&s, &mut notes);
    let ctx = Context {
        lang: lang_code(lang),
        t: crate::i18n::all(lang),
        title: format!(
            "{} — {}",
            text("accountability_title", lang),
            period.label(lang)
        ),
        period_label: period.label(lang),
        as_of: as_of(data, lang),
        scorecard,
        evaluation,
        pathway,
        equity,
        data_quality,
        methods: methods::section(catalogue, cfg, lang),
        suppressed: notes.suppressed_cells(),
        footnotes: notes.footnotes(cfg, lang),
    };
    render::render("accountability.html", &ctx)
}
