//! Structural tests of the rendered HTML on a hand-made set of published results and the
//! real catalogue: section headings and their order, table structure, languages, suppression.

use chrono::{DateTime, NaiveDate};
use vigie_disclosure::{CountFields, DisclosureConfig, Lang, OrgLevel, SuppressionReason};
use vigie_indicators::{
    Code, IndicatorDef, IndicatorResult, Method, PeriodType, Role, SpcSignal, load_catalogue,
};

use crate::data::Data;
use crate::i18n::text;
use crate::{ReportError, accountability, feedback, parse_period};

mod equity;

fn catalogue() -> Vec<IndicatorDef> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    load_catalogue(&dir).expect("the repository's catalogue")
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

#[allow(clippy::too_many_arguments)]
fn row(
    indicator: &str,
    period_type: &str,
    start: &str,
    end: &str,
    unit: &str,
    stratum: (&str, &str),
    nd: Option<(f64, f64)>,
    value: Option<(f64, f64, f64)>,
) -> IndicatorResult {
    let suppressed = value.is_none();
    IndicatorResult {
        indicator: indicator.into(),
        period_type: PeriodType::from_code(period_type).expect("period type"),
        period_start: d(start),
        period_end: d(end),
        org_level: if unit == "region" {
            OrgLevel::Region
        } else {
            OrgLevel::Team
        },
        org_unit: unit.into(),
        parent_unit: (unit != "region").then(|| "region".into()),
        stratum_dimension: stratum.0.into(),
        stratum_value: stratum.1.into(),
        numerator: nd.map(|x| x.0),
        denominator: nd.map(|x| x.1),
        value: value.map(|v| v.0),
        ci_low: value.map(|v| v.1),
        ci_high: value.map(|v| v.2),
        method: Method::PoissonRate,
        target: None,
        target_status: None,
        spc_centre: value.map(|_| 31.0),
        spc_lower: value.map(|_| 24.0),
        spc_upper: value.map(|_| 38.0),
        spc_signal: value.map(|_| SpcSignal::CommonCause),
        suppression_reason: suppressed.then_some(SuppressionReason::SmallCount),
        run_id: "run".into(),
        computed_at: DateTime::from_timestamp(1_760_000_000, 0).expect("time"),
        count_fields: CountFields::BOTH,
        min_denominator: None,
        additive: true,
    }
}

fn fixture() -> Data {
    let mut rows = Vec::new();
    let months = [
        ("2025-04-01", "2025-04-30"),
        ("2025-05-01", "2025-05-31"),
        ("2025-06-01", "2025-06-30"),
        ("2025-07-01", "2025-07-31"),
        ("2025-08-01", "2025-08-31"),
        ("2025-09-01", "2025-09-30"),
    ];
    for (i, (s, e)) in months.iter().enumerate() {
        let k = i as f64;
        rows.push(row(
            "ed_visits_per_1000",
            "month",
            s,
            e,
            "region",
            ("all", "all"),
            Some((600.0 + k, 20000.0)),
            Some((30.0 + k / 10.0, 28.0, 32.0)),
        ));
        rows.push(row(
            "ed_visits_per_1000",
            "month",
            s,
            e,
            "T01",
            ("all", "all"),
            Some((120.0, 4000.0 - k)),
            Some((30.0, 25.0, 36.0)),
        ));
        rows.push(row(
            "ed_visits_per_1000",
            "month",
            s,
            e,
            "T02",
            ("all", "all"),
            Some((150.0, 3900.0)),
            Some((38.5, 32.0, 45.0)),
        ));
        rows.push(row(
            "ed_visits_per_1000",
            "month",
            s,
            e,
            "T03",
            ("all", "all"),
            Some((90.0, 3000.0)),
            Some((30.0, 24.0, 37.0)),
        ));
    }
    let mut cp = row(
        "care_plan_within_30d_pct",
        "quarter",
        "2025-07-01",
        "2025-09-30",
        "region",
        ("all", "all"),
        Some((16.0, 30.0)),
        Some((53.3, 36.1, 69.8)),
    );
    cp.target = Some(80.0);
    cp.target_status = Some(vigie_indicators::TargetStatus::NotMet);
    rows.push(cp);
    rows.push(row(
        "care_plan_within_30d_pct",
        "quarter",
        "2025-07-01",
        "2025-09-30",
        "T01",
        ("all", "all"),
        None,
        None,
    ));
    for (id, unit, v) in [
        ("program_ed_change_naive", "T01", (-58.75, -66.1, -50.9)),
        ("program_ed_change_adjusted", "T01", (-24.52, -41.7, -2.77)),
        ("program_ed_change_adjusted", "T02", (-11.1, -36.0, 17.9)),
        ("program_ed_change_adjusted", "region", (-22.5, -33.6, -9.1)),
        (
            "program_admission_change_naive",
            "T01",
            (-59.5, -72.2, -42.2),
        ),
        (
            "program_admission_change_adjusted",
            "T01",
            (-15.9, -45.5, 26.9),
        ),
    ] {
        let mut r = row(
            id,
            "span",
            "2023-01-01",
            "2025-12-31",
            unit,
            ("program", "PSM"),
            Some((85.0, 391.0)),
            Some(v),
        );
        r.spc_signal = None;
        rows.push(r);
    }
    rows.push(row(
        "experience_top_box_pct",
        "quarter",
        "2025-07-01",
        "2025-09-30",
        "T01",
        ("item", "Q1"),
        Some((25.0, 41.0)),
        Some((60.98, 45.7, 74.4)),
    ));
    rows.push(row(
        "experience_top_box_pct",
        "quarter",
        "2025-07-01",
        "2025-09-30",
        "region",
        ("item", "Q1"),
        Some((144.0, 256.0)),
        Some((56.25, 50.1, 62.2)),
    ));
    let mut q2 = row(
        "experience_top_box_pct",
        "quarter",
        "2025-07-01",
        "2025-09-30",
        "T01",
        ("item", "Q2"),
        None,
        None,
    );
    q2.suppression_reason = Some(SuppressionReason::BelowMinimumDenominator);
    rows.push(q2);
    pathway_rows(&mut rows);
    Data {
        rows,
        manifest: vec![],
        teams: vec!["T01".into(), "T02".into(), "T03".into()],
        survey: Default::default(),
        equity: crate::equity::EquityConfig::built_in(),
    }
}

/// Care pathway results: follow-up after discharge in September 2025 (the region's visible,
/// T01's suppressed) and the program's contacts per participant-month by provider type in
/// 2025Q3 months (T01's coordinator visible, its home care suppressed).
fn pathway_rows(rows: &mut Vec<IndicatorResult>) {
    let month = ("2025-09-01", "2025-09-30");
    let followup = "followup_7d_after_discharge_pct";
    let mut r = row(
        followup,
        "month",
        month.0,
        month.1,
        "region",
        ("all", "all"),
        Some((80.0, 140.0)),
        Some((57.14, 48.9, 65.0)),
    );
    r.method = Method::Wilson;
    rows.push(r);
    rows.push(row(
        followup,
        "month",
        month.0,
        month.1,
        "T01",
        ("all", "all"),
        None,
        None,
    ));
    let rate = "program_contacts_per_participant_month";
    for (unit, coordinator) in [("T01", (2.01, 1.15, 3.26)), ("region", (1.87, 1.62, 2.15))] {
        rows.push(row(
            rate,
            "month",
            month.0,
            month.1,
            unit,
            ("provider_type", "program_coordinator"),
            Some((16.0, 7.97)),
            Some(coordinator),
        ));
    }
    rows.push(row(
        rate,
        "month",
        month.0,
        month.1,
        "T01",
        ("provider_type", "home_care"),
        None,
        None,
    ));
}

/// The text of every `<h2>`, in order.
fn headings(html: &str) -> Vec<String> {
    html.split("<h2>")
        .skip(1)
        .filter_map(|s| s.split("</h2>").next())
        .map(|h| h.replace("&#x27;", "'").replace("&quot;", "\""))
        .collect()
}

fn feedback(lang: Lang) -> String {
    let period = parse_period("2025Q3").expect("period");
    feedback::render(
        &fixture(),
        &catalogue(),
        &DisclosureConfig::default(),
        "T01",
        &period,
        lang,
    )
    .expect("feedback report")
}

#[test]
fn feedback_has_its_sections_in_order_with_the_key_figures_first() {
    let html = feedback(Lang::Fr);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"fr\">"));
    assert_eq!(
        headings(&html),
        [
            "Visites à l'urgence des participants au programme",
            // The headline indicator's own name: moving `peer_headline` to another
            // indicator retitles the card.
            "Position parmi les équipes\u{a0}: Visites à l'urgence pour 1 000 personnes",
            "Cibles",
            "Visites à l'urgence : votre équipe parmi ses pairs",
            "Vos indicateurs pour la période",
            "Évolution dans le temps (cartes de contrôle)",
            "Programme de coordination des soins : vos participants",
            "Expérience des patients, par question",
            "Parcours de soins : entre les visites à l'hôpital",
            "Équité : vos indicateurs selon les groupes servis",
            "Notes sur les données",
        ]
    );
    // The adjusted ED change and the peer position come before everything else.
    let key = html.find("id=\"key-ed-change\"").expect("key change card");
    let peer = html.find("id=\"key-peer\"").expect("key peer card");
    assert!(key < peer && peer < html.find("id=\"indicators\"").expect("table"));
    let card = &html[key..peer];
    assert!(
        card.contains("\u{2212}24,5\u{202F}%"),
        "adjusted change: {card}"
    );
    assert!(card.contains("\u{2212}41,7 à \u{2212}2,8"), "its interval");
    assert!(card.contains("\u{2212}58,8\u{202F}%"), "naive beside it");
    assert!(html[peer..].contains("Dans la fourchette attendue"));
    assert!(html.contains("3e trimestre 2025"));
    assert!(html.contains("septembre 2025"));
    // Self-contained: nothing fetched, nothing left of the templates.
    for bad in [
        "{{", "{%", "http://", "https://", "<script", "<link", "@import", "url(http",
    ] {
        assert!(!html.contains(bad), "found {bad}");
    }
}

#[test]
fn feedback_table_structure_and_suppressed_cells() {
    let html = feedback(Lang::Fr);
    let table = html
        .split("<table class=\"indicators\">")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("indicator table");
    let header = table.split("</thead>").next().expect("header");
    assert_eq!(header.matches("</th>").count(), 8);
    let care = table
        .split("<tr data-indicator=\"care_plan_within_30d_pct\">")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("care plan row");
    assert!(care.contains("—<sup class=\"fn\">a</sup>"), "{care}");
    assert!(
        care.contains("53,3\u{202F}%"),
        "region value published: {care}"
    );
    assert!(html.contains("Cellule supprimée : effectif de 1 à 5"));
    assert!(html.contains("dénominateur inférieur au minimum requis"));
    // Charts: SPC, funnel and forest plots, each with a text alternative.
    for id in [
        "spc-ed_visits_per_1000",
        "funnel-ed_visits_per_1000",
        "forest-ed-peers",
        "forest-program",
        "forest-items",
    ] {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("chart {id}"));
        assert!(html[at..].contains("<desc id="), "{id} has a description");
    }
}

#[test]
fn feedback_in_english() {
    let html = feedback(Lang::En);
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Q3 2025"));
    assert!(html.contains("\u{2212}24.5%"));
    assert!(html.contains("95% CI"));
    assert!(html.contains("Suppressed: count from 1 to 5"));
    assert!(headings(&html).contains(&"ED visits: your team among its peers".to_string()));
    assert!(!html.contains("Rapport de"));
}

#[test]
fn errors_name_what_exists() {
    let period = parse_period("2025Q3").expect("period");
    let e = feedback::render(
        &fixture(),
        &catalogue(),
        &DisclosureConfig::default(),
        "T99",
        &period,
        Lang::En,
    )
    .expect_err("unknown team");
    assert!(matches!(e, ReportError::UnknownTeam { .. }));
    assert!(e.to_string().contains("T01, T02, T03"), "{e}");
    let period = parse_period("2019Q1").expect("period");
    let e = feedback::render(
        &fixture(),
        &catalogue(),
        &DisclosureConfig::default(),
        "T01",
        &period,
        Lang::En,
    )
    .expect_err("no data");
    assert!(e.to_string().contains("2025Q2"), "{e}");
    assert!(e.to_string().contains("2025Q3"), "{e}");
}

#[test]
fn accountability_has_scorecard_evaluation_quality_and_methods() {
    let cat = catalogue();
    let period = parse_period("2025Q3").expect("period");
    for lang in [Lang::Fr, Lang::En] {
        let html = accountability::render(
            &fixture(),
            &cat,
            &DisclosureConfig::default(),
            &period,
            lang,
        )
        .expect("accountability report");
        let h = headings(&html);
        assert_eq!(h.len(), 6, "{h:?}");
        for id in [
            "scorecard",
            "evaluation",
            "pathway",
            "equity",
            "data-quality",
            "methods",
        ] {
            assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        let scorecard = html
            .split("<table class=\"scorecard\">")
            .nth(1)
            .expect("scorecard");
        assert!(scorecard.contains("data-indicator=\"care_plan_within_30d_pct\""));
        assert_eq!(
            html.matches("<dt id=\"m-").count(),
            cat.len(),
            "one methods entry per indicator"
        );
        let (status, ci) = match lang {
            Lang::Fr => ("Cible non atteinte", "IC à 95 %"),
            Lang::En => ("Not met", "95% CI"),
        };
        assert!(scorecard.contains(status));
        assert!(html.contains(ci));
    }
}

/// The section of `html` with id `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("section {id}"));
    let end = html[start..].find("</section>").expect("end of section");
    &html[start..start + end]
}

/// The catalogue with `role` taken from the indicator that has it.
fn catalogue_without(roles: &[Role]) -> Vec<IndicatorDef> {
    let mut cat = catalogue();
    for role in roles {
        let holder = cat
            .iter_mut()
            .find(|d| d.meta.has_role(*role))
            .unwrap_or_else(|| panic!("the catalogue has the role {role}"));
        holder.meta.roles.retain(|r| r != role);
    }
    cat
}

#[test]
fn a_section_whose_role_no_indicator_has_says_so() {
    let period = parse_period("2025Q3").expect("period");
    let cat = catalogue_without(&[Role::PeerHeadline, Role::ExperienceByItem]);
    for (lang, says) in [
        (
            Lang::Fr,
            "Aucun indicateur du catalogue ne porte le rôle « experience_by_item »",
        ),
        (
            Lang::En,
            "No indicator in the catalogue has the role &quot;experience_by_item&quot;",
        ),
    ] {
        let with_roles = feedback(lang);
        let html = feedback::render(
            &fixture(),
            &cat,
            &DisclosureConfig::default(),
            "T01",
            &period,
            lang,
        )
        .expect("feedback report");
        // Every section is still there, in the same order (the rate without the headline
        // role is drawn among the other funnel plots instead, and the key card's title
        // names no indicator).
        let shown = headings(&html);
        let mut at = shown.iter();
        for h in headings(&with_roles) {
            let same = |s: &String| {
                *s == h
                    || h.strip_prefix(s.as_str())
                        .is_some_and(|rest| rest.starts_with(text("colon", lang)))
            };
            assert!(at.any(same), "{h} is missing from {shown:?}");
        }
        assert!(section(&html, "peers").contains("funnel-ed_visits_per_1000"));
        let experience = section(&html, "experience");
        assert!(experience.contains(says), "{experience}");
        assert!(experience.contains("data-role=\"experience_by_item\""));
        assert!(!experience.contains("<table"), "nothing else is shown");
        let peers = section(&html, "ed-peers");
        assert!(peers.contains("data-role=\"peer_headline\""), "{peers}");
        assert!(!peers.contains("funnel-ed_visits_per_1000"));
        // With the roles declared, no such note.
        assert!(!with_roles.contains("missing-role"));
    }
    let cat = catalogue_without(&[Role::Completeness]);
    let html = accountability::render(
        &fixture(),
        &cat,
        &DisclosureConfig::default(),
        &period,
        Lang::En,
    )
    .expect("accountability report");
    let dq = section(&html, "data-quality");
    assert!(dq.contains("data-role=\"completeness\""), "{dq}");
    assert!(!dq.contains("data-role=\"rejected_rows\""));
}

#[test]
fn the_pathway_section_shows_the_team_beside_the_region_by_provider_type() {
    for (lang, coordinator, home_care, total) in [
        (
            Lang::Fr,
            "Coordonnatrice du programme",
            "Soutien à domicile",
            "Ensemble",
        ),
        (Lang::En, "Program coordinator", "Home care", "Total"),
    ] {
        let html = feedback(lang);
        let pathway = section(&html, "pathway");
        // Follow-up after discharge: the total row, T01's suppressed cell as a dash with its
        // footnote mark, the region's value with its interval.
        let followup = pathway
            .split("data-indicator=\"followup_7d_after_discharge_pct\"")
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .expect("follow-up table");
        let total_row = followup
            .split("<tr data-category=\"all\">")
            .nth(1)
            .expect("total row");
        assert!(total_row.contains(total), "{total_row}");
        assert!(total_row.contains("—<sup class=\"fn\">"), "{total_row}");
        assert!(total_row.contains("57"), "{total_row}");
        // Contacts per participant-month: one row per provider type in the declared order,
        // labelled in the report's language.
        let rates = pathway
            .split("data-indicator=\"program_contacts_per_participant_month\"")
            .nth(1)
            .and_then(|t| t.split("</table>").next())
            .expect("contacts table");
        let at = |label: &str| {
            rates
                .find(label)
                .unwrap_or_else(|| panic!("{label} in {rates}"))
        };
        assert!(at(home_care) < at(coordinator), "declared order");
        let coordinator_row = rates
            .split("<tr data-category=\"program_coordinator\">")
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .expect("coordinator row");
        assert!(
            coordinator_row.contains("2") && coordinator_row.contains("1"),
            "{coordinator_row}"
        );
        let home_row = rates
            .split("<tr data-category=\"home_care\">")
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .expect("home care row");
        assert!(
            home_row.contains("—<sup class=\"fn\">"),
            "suppressed: {home_row}"
        );
        // By step of the pathway, each under its heading: after discharge before the program,
        // whatever the catalogue's order.
        let heading = |key: &str| {
            let h = format!("<h3>{}</h3>", text(key, lang).replace('\'', "&#x27;"));
            pathway
                .find(&h)
                .unwrap_or_else(|| panic!("{h} in {pathway}"))
        };
        let (after_discharge, program) = (heading("pathway_follow_up"), heading("pathway_program"));
        let followup_at = pathway
            .find("data-indicator=\"followup_7d_after_discharge_pct\"")
            .expect("follow-up");
        let contacts_at = pathway
            .find("data-indicator=\"program_contacts_per_participant_month\"")
            .expect("contacts");
        assert!(after_discharge < followup_at && followup_at < program && program < contacts_at);
        assert!(
            !pathway.contains(&format!("<h3>{}</h3>", text("pathway_referral_loop", lang))),
            "no referral result this period: no heading"
        );
        // Indicators without results this period have no table; each table carries its
        // definition in the report's language.
        assert!(!pathway.contains("data-indicator=\"referral_accepted_pct\""));
        let definition = match lang {
            Lang::Fr => "médecin de famille ou l'infirmière praticienne",
            Lang::En => "family physician or nurse practitioner",
        };
        assert!(
            pathway.contains(definition) || pathway.contains(&definition.replace('\'', "&#x27;")),
            "{pathway}"
        );
    }
    // The accountability report: the region, then every team.
    let period = parse_period("2025Q3").expect("period");
    let html = accountability::render(
        &fixture(),
        &catalogue(),
        &DisclosureConfig::default(),
        &period,
        Lang::En,
    )
    .expect("accountability report");
    let pathway = section(&html, "pathway");
    let header = pathway.split("</thead>").next().expect("header");
    for unit in ["Region", "T01", "T02", "T03"] {
        assert!(header.contains(unit), "{unit} in {header}");
    }
    assert!(header.find("Region") < header.find("T01"));
}

#[test]
fn without_pathway_indicators_the_section_says_so() {
    let period = parse_period("2025Q3").expect("period");
    let mut cat = catalogue();
    for d in &mut cat {
        d.meta.roles.retain(|r| *r != Role::CarePathway);
    }
    let html = feedback::render(
        &fixture(),
        &cat,
        &DisclosureConfig::default(),
        "T01",
        &period,
        Lang::En,
    )
    .expect("feedback report");
    let pathway = section(&html, "pathway");
    assert!(pathway.contains("data-role=\"care_pathway\""), "{pathway}");
    assert!(!pathway.contains("<table"));
    // With the role but no results this period: the plain note.
    let mut data = fixture();
    data.rows.retain(|r| {
        !r.indicator.starts_with("followup") && !r.indicator.starts_with("program_contacts")
    });
    let html = feedback::render(
        &data,
        &catalogue(),
        &DisclosureConfig::default(),
        "T01",
        &period,
        Lang::Fr,
    )
    .expect("feedback report");
    assert!(section(&html, "pathway").contains("Aucun indicateur du parcours de soins"));
}
