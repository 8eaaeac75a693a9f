//! The accountability report of the region for one period: for funders.

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::{
    Direction, Estimand, EvaluationOutcome, IndicatorDef, IndicatorMeta, Method, PeriodType, Unit,
};

use crate::charts::{ForestChart, naive_adjusted_legend};
use crate::data::{
    ALL, Counted, Data, Footnote, Notes, REGION, SourceRow, SuppressedCell, unit_label,
};
use crate::i18n::text;
use crate::period::Period;
use crate::views::{
    CellView, Estimate, Status, cell, forest_chart, name, target_status, target_text, tr, trend,
};
use crate::{ReportError, format, render};

#[derive(Serialize)]
struct ScoreRow {
    id: String,
    name: String,
    period: String,
    value: CellView,
    target: String,
    status: Option<Status>,
    previous: CellView,
    previous_period: String,
    trend: Option<Status>,
}

#[derive(Serialize)]
struct EvalRow {
    unit: String,
    region: bool,
    ed_naive: CellView,
    ed_adjusted: CellView,
    adm_naive: CellView,
    adm_adjusted: CellView,
    participants: Counted,
}

#[derive(Serialize)]
struct DqRow {
    source: String,
    rejected: CellView,
    completeness: CellView,
    days: CellView,
}

#[derive(Serialize)]
struct MethodEntry {
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

#[derive(Serialize)]
struct Context {
    lang: &'static str,
    t: std::collections::BTreeMap<&'static str, &'static str>,
    title: String,
    period_label: String,
    as_of: String,
    met: usize,
    total: usize,
    scorecard: Vec<ScoreRow>,
    evaluation: Vec<EvalRow>,
    evaluation_forest: Option<ForestChart>,
    coverage: Vec<SourceRow>,
    dq: Vec<DqRow>,
    methods: Vec<MethodEntry>,
    suppressed: Vec<SuppressedCell>,
    footnotes: Vec<Footnote>,
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
    }
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
    let mut notes = Notes::default();
    let region_label = unit_label(REGION, lang);
    let metas: Vec<&IndicatorMeta> = catalogue.iter().map(|d| &d.meta).collect();

    // Scorecard.
    let mut scorecard = Vec::new();
    for m in metas.iter().filter(|m| m.target.is_some()) {
        let Some(row) = data.find(&m.id, REGION, ALL, ALL, period) else {
            continue;
        };
        let prev = if row.period_type == PeriodType::Span {
            None
        } else {
            data.previous(row)
        };
        scorecard.push(ScoreRow {
            id: m.id.clone(),
            name: name(m, lang),
            period: format::period_of(row.period_type, row.period_start, row.period_end, lang),
            value: cell(Some(row), m, &region_label, &mut notes, lang),
            target: target_text(m, lang),
            status: target_status(Some(row), lang),
            previous: match prev {
                Some(p) => cell(Some(p), m, &region_label, &mut notes, lang),
                None => cell(None, m, &region_label, &mut notes, lang),
            },
            previous_period: prev
                .map(|p| format::period_of(p.period_type, p.period_start, p.period_end, lang))
                .unwrap_or_else(|| format::DASH.to_string()),
            trend: trend(Some(row), prev, m, lang),
        });
    }
    let met = scorecard
        .iter()
        .filter(|r| r.status.as_ref().is_some_and(|s| s.code == "met"))
        .count();
    let total = scorecard.iter().filter(|r| r.status.is_some()).count();

    // Program evaluation.
    let eval = |outcome: EvaluationOutcome, estimand: Estimand| {
        metas.iter().copied().find(|m| {
            m.evaluation
                .is_some_and(|e| e.outcome == outcome && e.estimand == estimand)
        })
    };
    let ids = [
        eval(EvaluationOutcome::EdVisits, Estimand::Naive),
        eval(EvaluationOutcome::EdVisits, Estimand::Adjusted),
        eval(EvaluationOutcome::Admissions, Estimand::Naive),
        eval(EvaluationOutcome::Admissions, Estimand::Adjusted),
    ];
    let mut evaluation = Vec::new();
    let mut units = vec![REGION.to_string()];
    units.extend(data.teams.iter().cloned());
    for u in &units {
        let label = unit_label(u, lang);
        let c = |m: Option<&IndicatorMeta>, notes: &mut Notes| match m {
            Some(m) => cell(data.find_eval(&m.id, u, period), m, &label, notes, lang),
            None => cell(None, metas[0], &label, notes, lang),
        };
        let naive_row = ids[0].and_then(|m| data.find_eval(&m.id, u, period));
        if naive_row.is_none()
            && ids[1]
                .and_then(|m| data.find_eval(&m.id, u, period))
                .is_none()
        {
            continue;
        }
        let participants = match naive_row {
            Some(r) if !r.is_suppressed() => {
                notes.count(r.numerator.map_or(0, |n| n.round() as u64), cfg, lang)
            }
            _ => Counted {
                text: format::DASH.into(),
                value: None,
                mark: None,
            },
        };
        evaluation.push(EvalRow {
            unit: label.clone(),
            region: u == REGION,
            ed_naive: c(ids[0], &mut notes),
            ed_adjusted: c(ids[1], &mut notes),
            adm_naive: c(ids[2], &mut notes),
            adm_adjusted: c(ids[3], &mut notes),
            participants,
        });
    }
    let evaluation_forest = ids[1].map(|adj| {
        let est: Vec<Estimate> = [
            (ids[0], "outcome_ed", true),
            (ids[1], "outcome_ed", false),
            (ids[2], "outcome_admissions", true),
            (ids[3], "outcome_admissions", false),
        ]
        .into_iter()
        .filter_map(|(m, key, naive)| {
            let m = m?;
            Some(Estimate {
                label: format!(
                    "{} — {}",
                    text(key, lang),
                    text(
                        if naive {
                            "naive_short"
                        } else {
                            "adjusted_short"
                        },
                        lang
                    )
                ),
                row: data.find_eval(&m.id, REGION, period),
                focus: false,
                naive,
                reference: None,
            })
        })
        .collect();
        forest_chart(
            "forest-evaluation",
            format!("{} — {region_label}", text("program_title", lang)),
            text("program_forest_desc", lang).to_string(),
            adj,
            &est,
            None,
            naive_adjusted_legend(lang),
            &mut notes,
            lang,
        )
    });

    // Data completeness and timeliness.
    let coverage = data.coverage(cfg, lang, &mut notes);
    let find_meta = |id: &str| metas.iter().copied().find(|m| m.id == id);
    let mut dq = Vec::new();
    for s in &coverage {
        let by_source = |id: &str, notes: &mut Notes| -> CellView {
            match find_meta(id) {
                Some(m) => cell(
                    data.find(id, REGION, "source", &s.source, period),
                    m,
                    &region_label,
                    notes,
                    lang,
                ),
                None => cell(None, metas[0], &region_label, notes, lang),
            }
        };
        let completeness = find_meta("dq_completeness_pct")
            .and_then(|m| {
                let rows: Vec<_> = data
                    .rows
                    .iter()
                    .filter(|r| {
                        r.indicator == m.id
                            && r.org_unit == REGION
                            && r.stratum_value.starts_with(&format!("{}.", s.source))
                    })
                    .collect();
                let shown = rows
                    .iter()
                    .filter(|r| !r.is_suppressed())
                    .min_by(|a, b| {
                        a.value
                            .partial_cmp(&b.value)
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                    .copied()
                    .or_else(|| rows.first().copied());
                shown.map(|r| cell(Some(r), m, &region_label, &mut notes, lang))
            })
            .unwrap_or_else(|| cell(None, metas[0], &region_label, &mut notes, lang));
        dq.push(DqRow {
            source: s.source.clone(),
            rejected: by_source("dq_rows_rejected_pct", &mut notes),
            completeness,
            days: by_source("dq_days_since_last_extract", &mut notes),
        });
    }

    // Methods appendix.
    let rule = match cfg.max_suppressed() {
        Some(max) => match lang {
            Lang::Fr => {
                format!("Effectifs de 1 à {max} supprimés, avec suppression complémentaire.")
            }
            Lang::En => {
                format!("Counts from 1 to {max} suppressed, with complementary suppression.")
            }
        },
        None => pick(lang, "Aucune suppression.", "No suppression.").to_string(),
    };
    let methods = metas
        .iter()
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
        .collect();

    let as_of = data
        .computed_at()
        .map(|t| format::date(t.date_naive(), lang))
        .unwrap_or_default();
    let ctx = Context {
        lang: match lang {
            Lang::Fr => "fr",
            Lang::En => "en",
        },
        t: crate::i18n::all(lang),
        title: format!(
            "{} — {}",
            text("accountability_title", lang),
            period.label(lang)
        ),
        period_label: period.label(lang),
        as_of,
        met,
        total,
        scorecard,
        evaluation,
        evaluation_forest,
        coverage,
        dq,
        methods,
        suppressed: notes.suppressed_cells(),
        footnotes: notes.footnotes(cfg, lang),
    };
    render::render("accountability.html", &ctx)
}
