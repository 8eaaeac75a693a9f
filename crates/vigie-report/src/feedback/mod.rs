//! The feedback report of one team for one period: for clinicians and care teams.
//!
//! One function per section, each with its template fragment under `templates/feedback/`:
//! the key figures at a glance, the team among its peers on the headline indicator, the
//! indicator table, their history (SPC), their peers (funnel plots), the program evaluation,
//! patient experience, the care pathway (follow-up after discharge, the referral loop,
//! program intensity), equity (the indicators by equity stratum) and the data notes.

mod equity;
mod experience;
mod indicators;
mod program;

use std::collections::BTreeMap;

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::IndicatorDef;

use crate::data::{Data, Footnote, Notes, SourceRow, SuppressedCell};
use crate::i18n::text;
use crate::pathway::{PathwaySection, Unit};
use crate::period::Period;
use crate::sections::{Scope, as_of, lang_code};
use crate::views::Status;
use crate::{ReportError, render};

use equity::EquitySection;
use experience::Experience;
use indicators::{Headline, IndicatorRow};
use program::ProgramSection;

/// The targets card: how many of the team's targets are met.
#[derive(Serialize)]
struct KeyTargets {
    met: usize,
    total: usize,
    items: Vec<(String, Status)>,
}

/// The data notes: coverage per source, withheld cells and footnotes.
#[derive(Serialize)]
struct DataNotes {
    coverage: Vec<SourceRow>,
    suppressed: Vec<SuppressedCell>,
    footnotes: Vec<Footnote>,
}

#[derive(Serialize)]
struct Context {
    lang: &'static str,
    t: BTreeMap<&'static str, &'static str>,
    title: String,
    team: String,
    team_label: String,
    period_label: String,
    period_code: String,
    as_of: String,
    key_targets: KeyTargets,
    #[serde(flatten)]
    headline: Headline,
    ed_peers: Option<crate::charts::ForestChart>,
    indicators: Vec<IndicatorRow>,
    spc: Vec<crate::charts::SpcChart>,
    funnels: Vec<crate::charts::FunnelChart>,
    #[serde(flatten)]
    program: ProgramSection,
    #[serde(flatten)]
    experience: Experience,
    #[serde(flatten)]
    pathway: PathwaySection,
    #[serde(flatten)]
    equity: EquitySection,
    #[serde(flatten)]
    notes: DataNotes,
}

/// Renders the feedback report.
pub fn render(
    data: &Data,
    catalogue: &[IndicatorDef],
    cfg: &DisclosureConfig,
    team: &str,
    period: &Period,
    lang: Lang,
) -> Result<String, ReportError> {
    if !data.teams.iter().any(|t| t == team) {
        return Err(ReportError::UnknownTeam {
            team: team.to_string(),
            known: data.teams.clone(),
        });
    }
    data.check_period(period)?;
    let s = Scope::new(data, catalogue, cfg, team, period, lang);
    let mut notes = Notes::default();
    let shown = indicators::shown(&s);
    let indicators = indicators::table(&s, &shown, &mut notes);
    let headline = indicators::headline(&s, &shown, &mut notes);
    let program = program::section(&s, &mut notes);
    let ed_peers = program::ed_peers(&s, &mut notes);
    let experience = experience::section(&s, &mut notes);
    let units = [
        Unit {
            code: team.to_string(),
            label: s.team_label.clone(),
        },
        Unit {
            code: crate::data::REGION.to_string(),
            label: s.region_label.clone(),
        },
    ];
    let pathway = crate::pathway::section(&s, &units, &mut notes);
    let equity = equity::section(&s, &shown, &mut notes);
    let coverage = data.coverage(catalogue, cfg, lang, &mut notes);
    let ctx = Context {
        lang: lang_code(lang),
        t: crate::i18n::all(lang),
        title: format!(
            "{} — {} — {}",
            text("feedback_title", lang),
            s.team_label,
            period.label(lang)
        ),
        team: team.to_string(),
        team_label: s.team_label.clone(),
        period_label: period.label(lang),
        period_code: period.code(),
        as_of: as_of(data, lang),
        key_targets: key_targets(&indicators),
        headline,
        ed_peers,
        spc: indicators::history(&s, &shown),
        funnels: indicators::peer_funnels(&s, &shown),
        indicators,
        program,
        experience,
        pathway,
        equity,
        notes: DataNotes {
            coverage,
            suppressed: notes.suppressed_cells(),
            footnotes: notes.footnotes(cfg, lang),
        },
    };
    render::render("feedback.html", &ctx)
}

/// The targets card, from the indicator table.
fn key_targets(indicators: &[IndicatorRow]) -> KeyTargets {
    let items: Vec<(String, Status)> = indicators
        .iter()
        .filter_map(|r| r.status.clone().map(|s| (r.name.clone(), s)))
        .collect();
    KeyTargets {
        met: items.iter().filter(|(_, s)| s.code == "met").count(),
        total: items.len(),
        items,
    }
}
