//! What the sections of both reports share: the scope a section is rendered for, and the
//! note a section shows when no indicator of the catalogue plays the role it needs.

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::{IndicatorDef, IndicatorMeta, Role, with_role};

use crate::data::{Data, REGION, unit_label};
use crate::format;
use crate::i18n::text;
use crate::period::Period;

/// Width of the charts shown two by two.
pub const HALF_WIDTH: f64 = 520.0;
/// Width of a chart across the page.
pub const FULL_WIDTH: f64 = 720.0;

/// What a section is rendered for: the results, the catalogue, the period, the language and,
/// in a feedback report, the team.
pub struct Scope<'a> {
    /// The published results and the manifest.
    pub data: &'a Data,
    /// The indicator catalogue.
    pub catalogue: &'a [IndicatorDef],
    /// The disclosure rule.
    pub cfg: &'a DisclosureConfig,
    /// The team code ("" in the accountability report).
    pub team: &'a str,
    /// The team as a reader names it.
    pub team_label: String,
    /// The region as a reader names it.
    pub region_label: String,
    /// The reporting period.
    pub period: &'a Period,
    /// The language.
    pub lang: Lang,
}

impl<'a> Scope<'a> {
    /// The scope of a report for `team` ("" for the region's report).
    pub fn new(
        data: &'a Data,
        catalogue: &'a [IndicatorDef],
        cfg: &'a DisclosureConfig,
        team: &'a str,
        period: &'a Period,
        lang: Lang,
    ) -> Scope<'a> {
        Scope {
            data,
            catalogue,
            cfg,
            team,
            team_label: unit_label(team, lang),
            region_label: unit_label(REGION, lang),
            period,
            lang,
        }
    }

    /// The indicator playing `role`; when none does, the section's note saying so is added
    /// to `missing`.
    pub fn by_role(&self, role: Role, missing: &mut Vec<MissingRole>) -> Option<&'a IndicatorMeta> {
        let found = with_role(self.catalogue, role);
        if found.is_none() {
            missing.push(MissingRole::new(role, self.lang));
        }
        found
    }
}

/// A role a section needs that no indicator of the catalogue declares: the section says so
/// rather than staying silently empty.
#[derive(Debug, Clone, Serialize)]
pub struct MissingRole {
    /// The role, as spelled in YAML.
    pub role: &'static str,
    /// The note shown in the section.
    pub text: String,
}

impl MissingRole {
    /// The note of a missing `role`.
    pub fn new(role: Role, lang: Lang) -> MissingRole {
        MissingRole {
            role: role.yaml_name(),
            text: text("role_missing", lang).replace("{role}", role.yaml_name()),
        }
    }
}

/// The language code of the document (`<html lang>`).
pub fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    }
}

/// The "data as of" date of a report: when the results were computed.
pub fn as_of(data: &Data, lang: Lang) -> String {
    data.computed_at()
        .map(|t| format::date(t.date_naive(), lang))
        .unwrap_or_default()
}
