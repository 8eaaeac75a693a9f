//! The equity sections on hand-made published rows: labels and order of the categories, the
//! gap and its interval as stored, suppressed cells shown as the mark only, the narrowing
//! verdict, and the governance statement only with an enabled governed stratum.

use vigie_disclosure::{CountFields, DisclosureConfig, Lang, SuppressionReason};
use vigie_indicators::strata::load_strata;
use vigie_indicators::{IndicatorResult, Method, SpcSignal};
use vigie_model::config::{CatalogueSource, EquitySpec, GovernanceNote};

use super::{catalogue, fixture, headings, row, section};
use crate::data::Data;
use crate::equity::EquityConfig;
use crate::{accountability, feedback, parse_period};

const ED: &str = "ed_visits_per_1000";
const SEPT: (&str, &str) = ("2025-09-01", "2025-09-30");
const GOVERNANCE_FR: &str = "Données détenues et gouvernées par le Conseil de santé autochtone.";
const GOVERNANCE_EN: &str = "Data owned and governed by the Indigenous Health Council.";

/// A base row of ED visits per 1,000 for `unit` in September 2025: `n` visits over `d`
/// persons, rate n/d × 1,000 (None: suppressed by the gate, numbers withheld).
fn base(unit: &str, dim: &str, cat: &str, nd: Option<(f64, f64)>) -> IndicatorResult {
    let value = nd.map(|(n, d)| {
        let r = n / d * 1000.0;
        (r, r * 0.8, r * 1.25)
    });
    row(ED, "month", SEPT.0, SEPT.1, unit, (dim, cat), nd, value)
}

/// A disparity row as the engine stores it: no counts, the measure's method; None: suppressed
/// because an input cell was.
fn derived(
    measure: &str,
    method: Method,
    unit: &str,
    dim: &str,
    cat: &str,
    v: Option<(f64, f64, f64)>,
) -> IndicatorResult {
    let mut r = row(
        &format!("{ED}__{measure}"),
        "month",
        SEPT.0,
        SEPT.1,
        unit,
        (dim, cat),
        None,
        v,
    );
    r.method = method;
    r.count_fields = CountFields::NONE;
    r.additive = false;
    if v.is_none() {
        r.suppression_reason = Some(SuppressionReason::SuppressedInput);
    }
    r
}

/// The base fixture with ED visits by deprivation quintile (team T01 and the region) and by
/// Indigenous identity (T01), September 2025.
///
/// Hand computation of quintile 1 against quintile 5 (reference) for T01: 60 visits over
/// 1,500 persons = 40.0 per 1,000; 30 over 1,500 = 20.0. Rate ratio 40/20 = 2.00; on the log
/// scale SE = √(1/60 + 1/30) = √0.05 = 0.22361, × 1.95996 = 0.43826, exp(∓0.43826) = 0.64512,
/// 1.55003: 1.29 to 3.10. Rate difference 20.0; SE = √(60 + 30) / 1,500 × 1,000 = 6.32456,
/// × 1.95996 = 12.3959: 7.6 to 32.4.
fn equity_fixture() -> Data {
    let mut data = fixture();
    let q = "deprivation_quintile";
    data.rows.extend([
        base("T01", q, "1", Some((60.0, 1500.0))),
        base("T01", q, "2", None),
        base("T01", q, "3", Some((45.0, 1500.0))),
        base("T01", q, "4", Some((36.0, 1500.0))),
        base("T01", q, "5", Some((30.0, 1500.0))),
    ]);
    let mut rd1 = derived(
        "rate_difference",
        Method::RateDifference,
        "T01",
        q,
        "1",
        Some((20.0, 7.604_1, 32.395_9)),
    );
    // The gap is closer to zero than its chart's centre line, with a special-cause signal.
    rd1.spc_centre = Some(30.0);
    rd1.spc_signal = Some(SpcSignal::SpecialCauseNeither);
    let mut rd4 = derived(
        "rate_difference",
        Method::RateDifference,
        "T01",
        q,
        "4",
        Some((4.0, -7.1, 15.1)),
    );
    // Too few periods for a chart.
    rd4.spc_centre = None;
    rd4.spc_signal = None;
    data.rows.extend([
        derived(
            "rate_ratio",
            Method::RateRatio,
            "T01",
            q,
            "1",
            Some((2.0, 1.290_2, 3.100_1)),
        ),
        rd1,
        derived("rate_ratio", Method::RateRatio, "T01", q, "2", None),
        derived(
            "rate_difference",
            Method::RateDifference,
            "T01",
            q,
            "2",
            None,
        ),
        derived(
            "rate_ratio",
            Method::RateRatio,
            "T01",
            q,
            "3",
            Some((1.5, 0.94, 2.39)),
        ),
        derived(
            "rate_difference",
            Method::RateDifference,
            "T01",
            q,
            "3",
            Some((10.0, -1.0, 21.0)),
        ),
        derived(
            "rate_ratio",
            Method::RateRatio,
            "T01",
            q,
            "4",
            Some((1.2, 0.74, 1.95)),
        ),
        rd4,
        // The slope index comes from every quintile, quintile 2 included: suppressed.
        derived("sii", Method::SlopeIndex, "T01", q, "all", None),
        derived(
            "rate_ratio",
            Method::RateRatio,
            "region",
            q,
            "1",
            Some((1.8, 1.6, 2.03)),
        ),
        derived(
            "rate_difference",
            Method::RateDifference,
            "region",
            q,
            "1",
            Some((16.0, 13.1, 18.9)),
        ),
        derived(
            "sii",
            Method::SlopeIndex,
            "region",
            q,
            "all",
            Some((-25.0, -31.2, -18.8)),
        ),
    ]);
    let ind = "indigenous_identity";
    data.rows.extend([
        base("T01", ind, "first_nations", Some((40.0, 1000.0))),
        base("T01", ind, "not_indigenous", Some((100.0, 5000.0))),
        derived(
            "rate_ratio",
            Method::RateRatio,
            "T01",
            ind,
            "first_nations",
            Some((2.0, 1.39, 2.88)),
        ),
        derived(
            "rate_ratio",
            Method::RateRatio,
            "region",
            ind,
            "first_nations",
            Some((1.7, 1.39, 2.08)),
        ),
    ]);
    data
}

fn governed_enabled(mut data: Data) -> Data {
    let strata = load_strata(&CatalogueSource::embedded()).expect("built-in strata");
    data.equity = EquityConfig::new(
        strata,
        &EquitySpec {
            enabled: vec!["indigenous_identity".into()],
            governance: Some(GovernanceNote {
                fr: GOVERNANCE_FR.into(),
                en: GOVERNANCE_EN.into(),
            }),
        },
    );
    data
}

fn render_feedback(data: &Data, lang: Lang) -> String {
    let period = parse_period("2025Q3").expect("period");
    feedback::render(
        data,
        &catalogue(),
        &DisclosureConfig::default(),
        "T01",
        &period,
        lang,
    )
    .expect("feedback report")
}

fn render_accountability(data: &Data, lang: Lang) -> String {
    let period = parse_period("2025Q3").expect("period");
    accountability::render(
        data,
        &catalogue(),
        &DisclosureConfig::default(),
        &period,
        lang,
    )
    .expect("accountability report")
}

/// The `<tr>` of `category` in the table of `stratum`.
fn category_row<'a>(equity: &'a str, stratum: &str, category: &str) -> &'a str {
    let table = equity
        .split(&format!("data-stratum=\"{stratum}\""))
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .unwrap_or_else(|| panic!("table of {stratum}"));
    table
        .split(&format!("<tr data-category=\"{category}\">"))
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap_or_else(|| panic!("row {category} of {stratum}"))
}

#[test]
fn feedback_equity_shows_each_quintile_with_its_gap_in_both_languages() {
    let data = equity_fixture();
    let fr = render_feedback(&data, Lang::Fr);
    assert!(
        headings(&fr).contains(&"Équité : vos indicateurs selon les groupes servis".to_string())
    );
    let equity = section(&fr, "equity");
    // The declared order and the French labels.
    let order: Vec<usize> = ["1 (plus défavorisé)", "<td>3</td>", "5 (moins défavorisé)"]
        .iter()
        .map(|l| equity.find(l).unwrap_or_else(|| panic!("{l} in {equity}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // Quintile 1: 40.0 per 1,000, rate ratio 2.00 (1.29 to 3.10), difference +20.0 (7.6 to
    // 32.4), computed by hand above; narrowing on its chart.
    let q1 = category_row(equity, "deprivation_quintile", "1");
    assert!(q1.contains("<td class=\"num\">40,0<span"), "{q1}");
    assert!(
        q1.contains("2,00<span class=\"ci\">IC à 95 %\u{a0}: 1,29 à 3,10</span>"),
        "{q1}"
    );
    assert!(
        q1.contains("+20,0<span class=\"ci\">IC à 95 %\u{a0}: 7,6 à 32,4</span>"),
        "{q1}"
    );
    assert!(q1.contains("L&#x27;écart se resserre"), "{q1}");
    // The reference row says so; quintile 3's gap is common-cause; quintile 4 has no chart.
    let q5 = category_row(equity, "deprivation_quintile", "5");
    assert!(q5.contains("Groupe de référence"), "{q5}");
    let q3 = category_row(equity, "deprivation_quintile", "3");
    assert!(q3.contains("Pas de changement notable"), "{q3}");
    let q4 = category_row(equity, "deprivation_quintile", "4");
    assert!(q4.ends_with("<td>—</td>"), "{q4}");
    // The suppressed cell and the gaps computed from it: the mark, never a number.
    let q2 = category_row(equity, "deprivation_quintile", "2");
    assert_eq!(
        q2,
        "<td>2</td><td class=\"num\">—<sup class=\"fn\">a</sup></td><td class=\"num\">—<sup class=\"fn\">d</sup></td><td class=\"num\">—<sup class=\"fn\">d</sup></td><td>—</td>"
    );
    let sii = equity
        .split("<tr class=\"sii\"")
        .nth(1)
        .expect("slope index row");
    assert!(sii.contains("—<sup class=\"fn\">d</sup>"), "{sii}");
    // The footnotes of both marks, and the narrowing rule.
    assert!(fr.contains("Cellule supprimée : effectif de 1 à 5"));
    assert!(equity.contains("carte de contrôle (XmR)"));
    // The governed stratum is not enabled: not shown, no governance statement.
    assert!(!equity.contains("indigenous_identity"), "{equity}");
    assert!(!fr.contains("Gouvernance des données"));

    let en = render_feedback(&data, Lang::En);
    let equity = section(&en, "equity");
    assert!(equity.contains("Equity: your indicators by the groups you serve"));
    let q1 = category_row(equity, "deprivation_quintile", "1");
    assert!(q1.contains("<td>1 (most deprived)</td>"), "{q1}");
    assert!(
        q1.contains("2.00<span class=\"ci\">95% CI 1.29 to 3.10</span>"),
        "{q1}"
    );
    assert!(
        q1.contains("+20.0<span class=\"ci\">95% CI 7.6 to 32.4</span>"),
        "{q1}"
    );
    assert!(q1.contains("Narrowing"), "{q1}");
    assert!(category_row(equity, "deprivation_quintile", "5").contains("Reference group"));
    assert!(equity.contains("Rate ratio") && equity.contains("Rate difference"));
    assert!(!en.contains("Data governance"));
}

#[test]
fn a_governed_stratum_is_shown_with_the_governance_statement_only_when_enabled() {
    let data = governed_enabled(equity_fixture());
    for (lang, statement, label) in [
        (Lang::Fr, GOVERNANCE_FR, "Premières Nations"),
        (Lang::En, GOVERNANCE_EN, "First Nations"),
    ] {
        let html = render_feedback(&data, lang);
        let equity = section(&html, "equity");
        let row = category_row(equity, "indigenous_identity", "first_nations");
        assert!(row.contains(label), "{row}");
        assert!(equity.contains(statement), "{equity}");
        let html = render_accountability(&data, lang);
        let equity = section(&html, "equity");
        assert!(equity.contains("data-stratum=\"indigenous_identity\""));
        assert!(equity.contains(statement), "{equity}");
    }
    // Not enabled: neither the stratum nor the statement, in either report.
    let data = equity_fixture();
    for lang in [Lang::Fr, Lang::En] {
        for html in [
            render_feedback(&data, lang),
            render_accountability(&data, lang),
        ] {
            assert!(!html.contains("indigenous_identity"));
            assert!(!html.contains(GOVERNANCE_FR) && !html.contains(GOVERNANCE_EN));
        }
    }
}

#[test]
fn accountability_equity_table_gives_the_region_gaps() {
    let data = equity_fixture();
    let fr = render_accountability(&data, Lang::Fr);
    let equity = section(&fr, "equity");
    assert!(equity.contains("Équité : écarts entre les groupes dans la région"));
    let q1 = equity
        .split("data-stratum=\"deprivation_quintile\" data-category=\"1\">")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("quintile 1 row");
    assert!(
        q1.contains("1 (plus défavorisé) / 5 (moins défavorisé)"),
        "{q1}"
    );
    assert!(
        q1.contains("1,80<span class=\"ci\">IC à 95 %\u{a0}: 1,60 à 2,03</span>"),
        "{q1}"
    );
    assert!(
        q1.contains("+16,0<span class=\"ci\">IC à 95 %\u{a0}: 13,1 à 18,9</span>"),
        "{q1}"
    );
    let sii = equity
        .split("data-stratum=\"deprivation_quintile\" data-category=\"all\">")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("slope index row");
    assert!(sii.contains("Indice de pente des inégalités"), "{sii}");
    assert!(
        sii.contains(
            "\u{2212}25,0<span class=\"ci\">IC à 95 %\u{a0}: \u{2212}31,2 à \u{2212}18,8</span>"
        ),
        "{sii}"
    );
    // The team's rows are not the region's.
    assert!(!equity.contains("2,00"), "{equity}");
    let en = render_accountability(&data, Lang::En);
    let equity = section(&en, "equity");
    assert!(equity.contains("1 (most deprived) / 5 (least deprived)"));
    assert!(equity.contains("Slope index of inequality"));
    assert!(equity.contains("1.80<span class=\"ci\">95% CI 1.60 to 2.03</span>"));
}
