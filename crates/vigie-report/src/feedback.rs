//! The feedback report of one team for one period: for clinicians and care teams.

use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang};
use vigie_indicators::{
    Estimand, EvaluationOutcome, IndicatorDef, IndicatorMeta, Method, PeriodType,
};

use crate::charts::{ForestChart, FunnelChart, LegendItem, SpcChart, naive_adjusted_legend};
use crate::data::{ALL, Counted, Data, Notes, REGION, SourceRow, unit_label};
use crate::i18n::text;
use crate::period::Period;
use crate::views::{
    self, CellView, Estimate, PeerPosition, Status, cell, forest_chart, funnel_chart, meta, name,
    peer_position, signal, spc_chart, target_status,
};
use crate::{ReportError, format, render};

/// The rate indicator whose peer position goes at the top.
const ED_RATE: &str = "ed_visits_per_1000";
/// Experience by item.
const EXPERIENCE_ITEMS: &str = "experience_top_box_pct";

#[derive(Serialize)]
struct IndicatorRow {
    id: String,
    name: String,
    period: String,
    team: CellView,
    region: CellView,
    target: String,
    status: Option<Status>,
    signal: Option<Status>,
    peer: Option<PeerPosition>,
}

#[derive(Serialize)]
struct ProgramRow {
    outcome: String,
    naive: CellView,
    adjusted: CellView,
    region_adjusted: CellView,
    participants: Counted,
    comparison: Counted,
}

#[derive(Serialize)]
struct KeyChange {
    adjusted: CellView,
    naive: CellView,
    participants: Counted,
    sentence: String,
}

#[derive(Serialize)]
struct KeyPeer {
    indicator: String,
    period: String,
    team: CellView,
    region: CellView,
    position: Option<PeerPosition>,
}

#[derive(Serialize)]
struct KeyTargets {
    met: usize,
    total: usize,
    items: Vec<(String, Status)>,
}

#[derive(Serialize)]
struct ItemRow {
    item: String,
    team: CellView,
    region: CellView,
}

#[derive(Serialize)]
struct Context {
    lang: &'static str,
    t: std::collections::BTreeMap<&'static str, &'static str>,
    title: String,
    team: String,
    team_label: String,
    period_label: String,
    period_code: String,
    as_of: String,
    key_change: Option<KeyChange>,
    key_peer: Option<KeyPeer>,
    key_targets: KeyTargets,
    ed_funnel: Option<FunnelChart>,
    ed_peers: Option<ForestChart>,
    indicators: Vec<IndicatorRow>,
    spc: Vec<SpcChart>,
    funnels: Vec<FunnelChart>,
    program: Vec<ProgramRow>,
    program_forest: Option<ForestChart>,
    items: Vec<ItemRow>,
    items_forest: Option<ForestChart>,
    coverage: Vec<SourceRow>,
    suppressed: Vec<crate::data::SuppressedCell>,
    footnotes: Vec<crate::data::Footnote>,
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    }
}

/// Indicators of the team table: every non-span indicator with a total stratum, then the
/// span indicators that are not program evaluation or data quality.
fn table_indicators(catalogue: &[IndicatorDef]) -> Vec<&IndicatorMeta> {
    let mut out: Vec<&IndicatorMeta> = catalogue
        .iter()
        .map(|d| &d.meta)
        .filter(|m| {
            m.include_total && m.method != Method::ProgramEvaluation && !m.id.starts_with("dq_")
        })
        .collect();
    // Targets first, then the ED rate, then the rest in catalogue order.
    out.sort_by_key(|m| (m.target.is_none(), m.id != ED_RATE, m.id.clone()));
    out
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
    let mut notes = Notes::default();
    let team_label = unit_label(team, lang);
    let region_label = unit_label(REGION, lang);

    // The team's indicators this period.
    let mut indicators = Vec::new();
    let mut spc = Vec::new();
    let mut funnels = Vec::new();
    let mut ed_funnel = None;
    let mut key_peer = None;
    for m in table_indicators(catalogue) {
        let row = data.find(&m.id, team, ALL, ALL, period);
        let region = data.find(&m.id, REGION, ALL, ALL, period);
        let Some(any) = row.or(region) else { continue };
        let period_label =
            format::period_of(any.period_type, any.period_start, any.period_end, lang);
        let team_cell = cell(row, m, &team_label, &mut notes, lang);
        let region_cell = cell(region, m, &region_label, &mut notes, lang);
        let peer = match (row, region) {
            (Some(r), Some(g)) if !r.is_suppressed() && !g.is_suppressed() => {
                peer_position(m, r, g, lang)
            }
            _ => None,
        };
        if let Some(r) = row {
            let series = data.series(&m.id, team, ALL, ALL, r.period_type, r.period_start);
            let max = if r.period_type == PeriodType::Month {
                24
            } else {
                12
            };
            if let Some(c) = spc_chart(
                &format!("spc-{}", m.id),
                m,
                &series,
                |x| period.overlaps(x.period_start, x.period_end),
                max,
                520.0,
                lang,
            ) {
                spc.push(c);
            }
            if let Some(f) = funnel_chart(
                &format!("funnel-{}", m.id),
                m,
                data,
                r,
                Some(team),
                if m.id == ED_RATE { 720.0 } else { 520.0 },
                lang,
            ) {
                if m.id == ED_RATE {
                    ed_funnel = Some(f);
                } else {
                    funnels.push(f);
                }
            }
        }
        if m.id == ED_RATE {
            key_peer = Some(KeyPeer {
                indicator: name(m, lang),
                period: period_label.clone(),
                team: team_cell.clone(),
                region: region_cell.clone(),
                position: peer.clone(),
            });
        }
        indicators.push(IndicatorRow {
            id: m.id.clone(),
            name: name(m, lang),
            period: period_label,
            team: team_cell,
            region: region_cell,
            target: views::target_text(m, lang),
            status: target_status(row, lang),
            signal: signal(row, lang),
            peer,
        });
    }
    let targets: Vec<(String, Status)> = indicators
        .iter()
        .filter_map(|r| r.status.clone().map(|s| (r.name.clone(), s)))
        .collect();
    let key_targets = KeyTargets {
        met: targets.iter().filter(|(_, s)| s.code == "met").count(),
        total: targets.len(),
        items: targets,
    };

    // Program evaluation: naive beside adjusted.
    let eval = |outcome: EvaluationOutcome, estimand: Estimand| {
        catalogue.iter().map(|d| &d.meta).find(|m| {
            m.evaluation
                .is_some_and(|e| e.outcome == outcome && e.estimand == estimand)
        })
    };
    let mut program = Vec::new();
    let mut estimates = Vec::new();
    let mut key_change = None;
    for (outcome, key) in [
        (EvaluationOutcome::EdVisits, "outcome_ed"),
        (EvaluationOutcome::Admissions, "outcome_admissions"),
    ] {
        let (Some(naive_m), Some(adj_m)) = (
            eval(outcome, Estimand::Naive),
            eval(outcome, Estimand::Adjusted),
        ) else {
            continue;
        };
        let naive = data.find_eval(&naive_m.id, team, period);
        let adjusted = data.find_eval(&adj_m.id, team, period);
        let region_adj = data.find_eval(&adj_m.id, REGION, period);
        if naive.is_none() && adjusted.is_none() {
            continue;
        }
        let participants = notes.count(
            naive
                .and_then(|r| r.numerator)
                .or(adjusted.and_then(|r| r.numerator))
                .map_or(0, |n| n.round() as u64),
            cfg,
            lang,
        );
        let participants = if naive.is_some_and(|r| r.is_suppressed()) {
            Counted {
                text: format::DASH.into(),
                value: None,
                mark: naive.map(|r| crate::data::mark(crate::data::reason(r))),
            }
        } else {
            participants
        };
        let comparison = match adjusted {
            Some(r) if !r.is_suppressed() => {
                notes.count(r.denominator.map_or(0, |n| n.round() as u64), cfg, lang)
            }
            _ => Counted {
                text: format::DASH.into(),
                value: None,
                mark: None,
            },
        };
        let outcome_label = text(key, lang).to_string();
        let row = ProgramRow {
            outcome: outcome_label.clone(),
            naive: cell(naive, naive_m, &team_label, &mut notes, lang),
            adjusted: cell(adjusted, adj_m, &team_label, &mut notes, lang),
            region_adjusted: cell(region_adj, adj_m, &region_label, &mut notes, lang),
            participants: participants.clone(),
            comparison,
        };
        if outcome == EvaluationOutcome::EdVisits {
            let sentence = match (row.adjusted.suppressed, row.naive.suppressed) {
                (false, false) if adjusted.and_then(|r| r.value).is_some() => {
                    text("key_change_sentence", lang)
                        .replace("{naive}", &row.naive.text)
                        .replace("{adjusted}", &row.adjusted.text)
                }
                _ => text("key_change_unavailable", lang).to_string(),
            };
            key_change = Some(KeyChange {
                adjusted: row.adjusted.clone(),
                naive: row.naive.clone(),
                participants,
                sentence,
            });
        }
        estimates.push(Estimate {
            label: format!("{outcome_label} — {}", text("naive_short", lang)),
            row: naive,
            focus: false,
            naive: true,
            reference: None,
        });
        estimates.push(Estimate {
            label: format!("{outcome_label} — {}", text("adjusted_short", lang)),
            row: adjusted,
            focus: false,
            naive: false,
            reference: region_adj
                .filter(|r| !r.is_suppressed())
                .and_then(|r| r.value)
                .map(|v| (region_label.clone(), v)),
        });
        program.push(row);
    }
    let program_legend = |lang: Lang| {
        let mut legend = naive_adjusted_legend(lang);
        legend.push(LegendItem {
            shape: "ring",
            class: "region",
            label: text("legend_region_adjusted", lang).into(),
        });
        legend
    };
    let program_forest = eval(EvaluationOutcome::EdVisits, Estimand::Adjusted)
        .filter(|_| !estimates.is_empty())
        .map(|m| {
            forest_chart(
                "forest-program",
                format!("{} — {team_label}", text("program_title", lang)),
                text("program_forest_desc", lang).to_string(),
                m,
                &estimates,
                None,
                program_legend(lang),
                &mut notes,
                lang,
            )
        });
    // Peer position of the adjusted ED change: every team, this team highlighted.
    let ed_peers = eval(EvaluationOutcome::EdVisits, Estimand::Adjusted).and_then(|m| {
        let any = data.find_eval(&m.id, REGION, period)?;
        let mut rows: Vec<Estimate> = data
            .peers(any)
            .into_iter()
            .map(|r| Estimate {
                label: unit_label(&r.org_unit, lang),
                row: Some(r),
                focus: r.org_unit == team,
                naive: false,
                reference: None,
            })
            .collect();
        rows.push(Estimate {
            label: region_label.clone(),
            row: Some(any),
            focus: false,
            naive: false,
            reference: None,
        });
        Some(forest_chart(
            "forest-ed-peers",
            text("ed_peers_title", lang).to_string(),
            text("ed_peers_desc", lang).to_string(),
            m,
            &rows,
            None,
            vec![
                LegendItem {
                    shape: "diamond",
                    class: "focus",
                    label: team_label.clone(),
                },
                LegendItem {
                    shape: "square",
                    class: "adjusted",
                    label: text("legend_other_teams", lang).into(),
                },
            ],
            &mut notes,
            lang,
        ))
    });

    // Experience by item.
    let mut items = Vec::new();
    let mut item_estimates = Vec::new();
    let items_meta = meta(catalogue, EXPERIENCE_ITEMS);
    if let Some(m) = items_meta {
        let mut codes: Vec<String> = data
            .rows
            .iter()
            .filter(|r| r.indicator == m.id && r.stratum_dimension == "item")
            .map(|r| r.stratum_value.clone())
            .collect();
        codes.sort();
        codes.dedup();
        for code in codes {
            let row = data.find(&m.id, team, "item", &code, period);
            let region = data.find(&m.id, REGION, "item", &code, period);
            if row.is_none() && region.is_none() {
                continue;
            }
            let label = format!("{} {code}", text("item", lang));
            items.push(ItemRow {
                item: label.clone(),
                team: cell(row, m, &team_label, &mut notes, lang),
                region: cell(region, m, &region_label, &mut notes, lang),
            });
            item_estimates.push((label, row, region));
        }
    }
    let items_forest = items_meta.filter(|_| !item_estimates.is_empty()).map(|m| {
        let est: Vec<Estimate> = item_estimates
            .iter()
            .map(|(label, row, region)| Estimate {
                label: label.clone(),
                row: *row,
                focus: false,
                naive: false,
                reference: region
                    .filter(|r| !r.is_suppressed())
                    .and_then(|r| r.value)
                    .map(|v| (region_label.clone(), v)),
            })
            .collect();
        forest_chart(
            "forest-items",
            format!("{} — {team_label}", name(m, lang)),
            text("items_desc", lang).to_string(),
            m,
            &est,
            Some((0.0, 100.0)),
            vec![
                LegendItem {
                    shape: "square",
                    class: "adjusted",
                    label: team_label.clone(),
                },
                LegendItem {
                    shape: "ring",
                    class: "region",
                    label: region_label.clone(),
                },
            ],
            &mut notes,
            lang,
        )
    });

    let coverage = data.coverage(cfg, lang, &mut notes);
    let as_of = data
        .computed_at()
        .map(|t| format::date(t.date_naive(), lang))
        .unwrap_or_default();
    let title = format!(
        "{} — {team_label} — {}",
        text("feedback_title", lang),
        period.label(lang)
    );
    let ctx = Context {
        lang: lang_code(lang),
        t: crate::i18n::all(lang),
        title,
        team: team.to_string(),
        team_label,
        period_label: period.label(lang),
        period_code: period.code(),
        as_of,
        key_change,
        key_peer,
        key_targets,
        ed_funnel,
        ed_peers,
        indicators,
        spc,
        funnels,
        program,
        program_forest,
        items,
        items_forest,
        coverage,
        suppressed: notes.suppressed_cells(),
        footnotes: notes.footnotes(cfg, lang),
    };
    render::render("feedback.html", &ctx)
}
