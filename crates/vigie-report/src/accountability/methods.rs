//! The methods appendix: every indicator of the catalogue, its definition and method, and
//! the suppression rule, in the reader's language.

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::{Direction, IndicatorDef, Method, PeriodType, Unit};

use crate::format;
use crate::views::{name, target_text, tr};

/// One indicator of the appendix.
#[derive(Serialize)]
pub struct MethodEntry {
    id: String,
    name: String,
    description: String,
    numerator: String,
    denominator: String,
    unit: &'static str,
    direction: &'static str,
    period: &'static str,
    method: &'static str,
    target: String,
    min_denominator: Option<String>,
    suppression: String,
}

fn pick(lang: Lang, fr: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

fn unit_text(u: Unit, lang: Lang) -> &'static str {
    match u {
        Unit::Percent => pick(lang, "pourcentage", "percent"),
        Unit::RatePer1000 => pick(
            lang,
            "taux pour 1 000 personnes",
            "rate per 1,000 population",
        ),
        Unit::RatePer100000 => pick(
            lang,
            "taux pour 100 000 personnes",
            "rate per 100,000 population",
        ),
        Unit::RatePerPersonMonth => pick(
            lang,
            "taux par mois-personne (30,4375 jours-personnes)",
            "rate per person-month (30.4375 person-days)",
        ),
        Unit::Days => pick(lang, "jours", "days"),
        Unit::Ratio => pick(
            lang,
            "ratio ou variation relative",
            "ratio or relative change",
        ),
        Unit::Count => pick(lang, "nombre", "count"),
    }
}

fn direction_text(d: Direction, lang: Lang) -> &'static str {
    match d {
        Direction::HigherIsBetter => pick(lang, "plus élevé", "higher"),
        Direction::LowerIsBetter => pick(lang, "plus bas", "lower"),
        Direction::Neither => pick(lang, "sans objet", "neither"),
    }
}

fn period_text(p: PeriodType, lang: Lang) -> &'static str {
    match p {
        PeriodType::Month => pick(lang, "mois", "month"),
        PeriodType::Quarter => pick(lang, "trimestre", "quarter"),
        PeriodType::Year => pick(lang, "année", "year"),
        PeriodType::Span => pick(lang, "toute la période des données", "the whole data span"),
    }
}

fn method_text(m: Method, lang: Lang) -> &'static str {
    match m {
        Method::Wilson => pick(
            lang,
            "Proportion; intervalle de Wilson.",
            "Proportion; Wilson score interval.",
        ),
        Method::PoissonRate => pick(
            lang,
            "Taux brut; intervalle de Poisson exact sous 10 événements, méthode de Byar au-delà.",
            "Crude rate; exact Poisson interval below 10 events, Byar's method above.",
        ),
        Method::DobsonDsr => pick(
            lang,
            "Taux normalisé selon l'âge (méthode directe, population type du Canada de 2011); intervalle de Dobson.",
            "Directly age-standardised rate (2011 Canadian standard population); Dobson interval.",
        ),
        Method::RatioOfSums => pick(
            lang,
            "Rapport de deux sommes, sans intervalle.",
            "Ratio of two sums, no interval.",
        ),
        Method::Median => pick(
            lang,
            "Médiane (quantile de type 7), sans intervalle.",
            "Median (type-7 quantile), no interval.",
        ),
        Method::P90 => pick(
            lang,
            "90e centile (quantile de type 7), sans intervalle.",
            "90th percentile (type-7 quantile), no interval.",
        ),
        Method::ProgramEvaluation => pick(
            lang,
            "Évaluation de programme : avant/après non ajusté, ou rapport de rapports de taux par rapport à un groupe de comparaison repondéré; intervalle par bootstrap (percentiles).",
            "Program evaluation: naive before/after, or ratio of rate ratios against a re-weighted comparison group; percentile bootstrap interval.",
        ),
        Method::CaseFinding => pick(
            lang,
            "Repérage des grands utilisateurs; proportion avec intervalle de Wilson.",
            "High-user case finding; proportion with a Wilson interval.",
        ),
        Method::RateRatio => pick(
            lang,
            "Rapport de taux avec la catégorie de référence; intervalle log-normal, exact conditionnel sous 10 événements.",
            "Rate ratio against the reference category; log-normal interval, exact conditional below 10 events.",
        ),
        Method::RateDifference => pick(
            lang,
            "Différence de taux avec la catégorie de référence; intervalle de Wald.",
            "Rate difference against the reference category; Wald interval.",
        ),
        Method::RiskRatio => pick(
            lang,
            "Rapport de proportions avec la catégorie de référence; intervalle de Katz.",
            "Risk ratio against the reference category; Katz log interval.",
        ),
        Method::RiskDifference => pick(
            lang,
            "Différence de proportions avec la catégorie de référence; intervalle hybride de Newcombe.",
            "Risk difference against the reference category; Newcombe hybrid score interval.",
        ),
        Method::SlopeIndex => pick(
            lang,
            "Indice de pente des inégalités (régression pondérée sur les ridits); intervalle analytique.",
            "Slope index of inequality (weighted regression on ridits); analytic interval.",
        ),
        Method::RelativeIndex => pick(
            lang,
            "Indice relatif des inégalités; intervalle analytique (méthode delta).",
            "Relative index of inequality; analytic interval (delta method).",
        ),
    }
}

/// The suppression rule, as stated under every indicator.
fn suppression_rule(cfg: &DisclosureConfig, lang: Lang) -> String {
    match cfg.max_suppressed() {
        Some(max) => match lang {
            Lang::Fr => {
                format!("Effectifs de 1 à {max} supprimés, avec suppression complémentaire.")
            }
            Lang::En => {
                format!("Counts from 1 to {max} suppressed, with complementary suppression.")
            }
        },
        None => pick(lang, "Aucune suppression.", "No suppression.").to_string(),
    }
}

/// The methods appendix, in catalogue order.
pub fn section(catalogue: &[IndicatorDef], cfg: &DisclosureConfig, lang: Lang) -> Vec<MethodEntry> {
    let rule = suppression_rule(cfg, lang);
    catalogue
        .iter()
        .map(|d| &d.meta)
        .map(|m| MethodEntry {
            id: m.id.clone(),
            name: name(m, lang),
            description: tr(&m.description, lang),
            numerator: tr(&m.numerator, lang),
            denominator: tr(&m.denominator, lang),
            unit: unit_text(m.unit, lang),
            direction: direction_text(m.direction, lang),
            period: period_text(m.period, lang),
            method: method_text(m.method, lang),
            target: target_text(m, lang),
            min_denominator: m.min_denominator.map(|d| format::number(d, 0, lang)),
            suppression: rule.clone(),
        })
        .collect()
}
