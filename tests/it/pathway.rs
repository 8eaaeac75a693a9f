//! The care pathway's indicators on hand-computed fixtures written in the community
//! partner's and the e-referral platform's own layouts (`pipelines/sources/
//! soins-communautaires.yaml`, `ereferral.yaml`): follow-up after discharge, the referral loop
//! and program intensity, with their edge cases (death before day 7, a contact on the day of
//! discharge, a transfer between hospitals, a referral never accepted).
//!
//! Reference values are worked out by hand in the comments (Wilson, Byar and exact Poisson
//! limits from their published formulas; quantiles by R's type 7), never printed by the code
//! under test. The demo pipeline suppresses counts 1..5.

use crate::indicators::{
    Fixture, assert_published_is_safe, cell, check, check_suppressed, compute, load, no_cell,
    published,
};

/// The follow-up fixture: women of T01 born 1950 (74 in 2024: band 65-79), two persons per
/// scenario (ids `2k-1`, `2k`), March 2024 stays at hospital B:
///
/// | scenario | stay (orientation) | contacts | counted | followed |
/// |---|---|---|---|---|
/// | A | 03-01 → 03-05 home, COPD | MF 03-05 (day 0) | yes | yes |
/// | B | 03-02 → 03-06 home, COPD | IPS 03-13 (day 7) | yes | yes |
/// | C | 03-03 → 03-07 home, COPD | MF 03-15 (day 8) | yes | no |
/// | D | 03-04 → 03-08 home, COPD | home care 03-09 only | yes | no |
/// | E | 03-04 → 03-08 home, COPD; died 03-12 (day 4) | — | no (death by day 7) | — |
/// | F | Nord 03-01 → 03-04 transferred; Sud 03-04 → 03-10 home, COPD | IPS 03-12 | the Sud stay only | yes |
/// | G | 03-05 → 03-09 home, HF; again 03-12 → 03-20 home, HF | MF 03-25 | the second only (the first is followed by an admission by day 7) | yes |
/// | H | 03-10 → 03-14 died in hospital | — | no (died) | — |
/// | I | 03-11 → 03-15 long-term care | — | no (not the community) | — |
/// | J | 03-12 → 03-16 home, COPD | MF 03-10 (before), MF 03-24 (day 8) | yes | no |
///
/// Person 30 anchors the span (ED visits 2024-01-10 and 2024-04-30: January to April) and the
/// contact data (a visit on 2024-04-20).
fn followup_region() -> Fixture {
    let mut fx = Fixture::default();
    let copd = "J44.1";
    let hf = "I50.0";
    for k in 0..2u32 {
        let id = |scenario: u32| 2 * scenario - 1 + k;
        for s in 1..=10 {
            let death = match s {
                5 => Some("2024-03-12"),
                8 => Some("2024-03-14"),
                _ => None,
            };
            fx.person_dying(id(s), 1950, "F", "T01", death);
        }
        fx.stay_to(
            id(1),
            ("2024-03-01", "2024-03-05"),
            "Nord",
            "DOMICILE",
            copd,
        )
        .contact(id(1), "2024-03-05", "MF", ("", ""));
        fx.stay_to(
            id(2),
            ("2024-03-02", "2024-03-06"),
            "Nord",
            "DOMICILE",
            copd,
        )
        .contact(id(2), "2024-03-13", "IPS", ("", ""));
        fx.stay_to(
            id(3),
            ("2024-03-03", "2024-03-07"),
            "Nord",
            "DOMICILE",
            copd,
        )
        .contact(id(3), "2024-03-15", "MF", ("", ""));
        fx.stay_to(
            id(4),
            ("2024-03-04", "2024-03-08"),
            "Nord",
            "DOMICILE",
            copd,
        )
        .contact(id(4), "2024-03-09", "SAD", ("", ""));
        fx.stay_to(
            id(5),
            ("2024-03-04", "2024-03-08"),
            "Nord",
            "DOMICILE",
            copd,
        );
        fx.stay_to(
            id(6),
            ("2024-03-01", "2024-03-04"),
            "Nord",
            "TRANSFERT",
            copd,
        )
        .stay_to(id(6), ("2024-03-04", "2024-03-10"), "Sud", "DOMICILE", copd)
        .contact(id(6), "2024-03-12", "IPS", ("", ""));
        fx.stay_to(id(7), ("2024-03-05", "2024-03-09"), "Nord", "DOMICILE", hf)
            .stay_to(id(7), ("2024-03-12", "2024-03-20"), "Nord", "DOMICILE", hf)
            .contact(id(7), "2024-03-25", "MF", ("", ""));
        fx.stay_to(id(8), ("2024-03-10", "2024-03-14"), "Nord", "DÉCÈS", copd);
        fx.stay_to(
            id(9),
            ("2024-03-11", "2024-03-15"),
            "Nord",
            "SOINS LONGUE DURÉE",
            copd,
        );
        fx.stay_to(
            id(10),
            ("2024-03-12", "2024-03-16"),
            "Nord",
            "DOMICILE",
            copd,
        )
        .contact(id(10), "2024-03-10", "MF", ("", ""))
        .contact(id(10), "2024-03-24", "MF", ("", ""));
    }
    fx.person(30, 1950, "F", "T01")
        .ed(30, "2024-01-10")
        .ed(30, "2024-04-30")
        .contact(30, "2024-04-20", "MF", ("", ""));
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followup_after_discharge_counts_community_discharges_seen_in_primary_care_by_day_7() {
    let l = load(&followup_region()).await;
    let ids = [
        "followup_7d_after_discharge_pct",
        "followup_7d_after_discharge_chronic_pct",
    ];
    compute(&l.warehouse, &ids).await;
    let rows = published(&l.warehouse).await;
    assert_published_is_safe(&rows);
    let c = |id: &str, p: &str, u: &str, dim: &str, v: &str| cell(&rows, id, p, u, dim, v);

    // March: counted A, B, C, D, F (its Sud stay), G (its second stay), J, two persons each:
    // 14 discharges, followed A, B, F, G: 8. 8 / 14 = 57.143 %. Wilson, z = 1.959964:
    //   root = z sqrt(z^2 + 4 x 8 x (1 - 8/14)) = 1.959964 x sqrt(3.841459 + 13.714286)
    //        = 1.959964 x 4.189958 = 8.212166
    //   lower = (16 + 3.841459 - 8.212166) / (2 x (14 + 3.841459)) = 11.629293 / 35.682918
    //         = 32.591 %;  upper = 28.053625 / 35.682918 = 78.619 %
    let all = "followup_7d_after_discharge_pct";
    check(
        c(all, "2024-03-01", "region", "all", "all"),
        8.0,
        Some(14.0),
        57.143,
        Some((32.591, 78.619)),
    );
    check(
        c(all, "2024-03-01", "T01", "all", "all"),
        8.0,
        Some(14.0),
        57.143,
        None,
    );
    check(
        c(all, "2024-03-01", "T01", "age_band", "65-79"),
        8.0,
        Some(14.0),
        57.143,
        None,
    );
    // No discharge in January, February or April: no row (not 0 %).
    for month in ["2024-01-01", "2024-02-01", "2024-04-01"] {
        no_cell(&rows, all, month, "region");
    }

    // By condition group, 2024Q1: COPD counts A, B, C, D, F, J (12 discharges, 6 followed:
    // A, B, F) = 50 %; Wilson: root = 1.959964 x sqrt(3.841459 + 12) = 7.804432,
    //   lower = (12 + 3.841459 - 7.804432) / (2 x 15.841459) = 25.378 %, upper = 74.622 %.
    // Heart failure: G's second stay, 2 of 2: counts 1..5, suppressed.
    let chronic = "followup_7d_after_discharge_chronic_pct";
    check(
        c(chronic, "2024-01-01", "region", "condition", "copd"),
        6.0,
        Some(12.0),
        50.0,
        Some((25.378, 74.622)),
    );
    check_suppressed(
        c(
            chronic,
            "2024-01-01",
            "region",
            "condition",
            "heart_failure",
        ),
        "small_count",
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == chronic && r.stratum_dimension == "all"),
        "no pooled total across condition groups"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followup_after_discharge_has_no_result_without_contact_data() {
    // The same stays without the community partner's extract: no discharge has contact data
    // covering its 7 days, so nothing is published, rather than a follow-up of 0 %.
    let mut fx = followup_region();
    fx.contacts.clear();
    let l = load(&fx).await;
    let report = compute(&l.warehouse, &["followup_7d_after_discharge_pct"]).await;
    // The indicator ran (a missing indicator would publish nothing too).
    assert!(
        report
            .indicators
            .contains_key("followup_7d_after_discharge_pct"),
        "{:?}",
        report.indicators.keys()
    );
    let rows = published(&l.warehouse).await;
    no_cell(
        &rows,
        "followup_7d_after_discharge_pct",
        "2024-03-01",
        "region",
    );
}

/// The referral fixture: fifteen referrals of T01 persons 41-55 sent on 2024-01-02 to the
/// cardiology clinic:
///
/// | referrals | accepted | first appointment (days after referral) | report returned (days after the appointment) |
/// |---|---|---|---|
/// | 41..48 | 01-04 | 5, 10, 12, 20, 30, 45, 60, 75 | 3, 10, 30 (day 30 counts), 1, 20, 29, 31 (late), never |
/// | 49 | 01-04 | not yet | — |
/// | 50..55 | never | — | — |
///
/// Person 56 anchors the span (ED visits 2024-01-10 and 2024-04-30: last day 2024-04-30).
fn referral_region() -> Fixture {
    let mut fx = Fixture::default();
    let waits = [5i64, 10, 12, 20, 30, 45, 60, 75];
    let reports = [
        Some(3i64),
        Some(10),
        Some(30),
        Some(1),
        Some(20),
        Some(29),
        Some(31),
        None,
    ];
    let sent = crate::indicators::d("2024-01-02");
    let day = |n: i64| (sent + chrono::Duration::days(n)).to_string();
    for id in 41..=56 {
        fx.person(id, 1960, "M", "T01");
    }
    for (i, (wait, report)) in waits.iter().zip(reports).enumerate() {
        let id = 41 + i as u32;
        let appointment = day(*wait);
        let returned = report.map(|r| day(wait + r));
        fx.ereferral(
            id,
            &format!("RFLOOP{}", char::from(b'A' + i as u8)),
            "2024-01-02",
            [Some("2024-01-04"), Some(&appointment), returned.as_deref()],
        );
    }
    fx.ereferral(
        49,
        "RFWAITING",
        "2024-01-02",
        [Some("2024-01-04"), None, None],
    );
    for id in 50..=55 {
        let rid = format!("RFNEVER{}", char::from(b'A' + (id - 50) as u8));
        fx.ereferral(id, &rid, "2024-01-02", [None, None, None]);
    }
    fx.ed(56, "2024-01-10").ed(56, "2024-04-30");
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_loop_indicators_match_hand_computed_waits_and_shares() {
    let l = load(&referral_region()).await;
    let ids = [
        "referral_to_appointment_days_median",
        "referral_to_appointment_days_p90",
        "referral_accepted_pct",
        "referral_report_returned_30d_pct",
    ];
    compute(&l.warehouse, &ids).await;
    let rows = published(&l.warehouse).await;
    assert_published_is_safe(&rows);
    let q1 = "2024-01-01";
    let c = |id: &str| cell(&rows, id, q1, "region", "all", "all");

    // Waits of the 8 referrals seen, sorted: 5 10 12 20 30 45 60 75 (the one waiting and the
    // six never accepted have none). R type 7: median h = 7 x 0.5 = 3.5 -> 20 + 0.5 x (30 - 20)
    // = 25; p90 h = 7 x 0.9 = 6.3 -> 60 + 0.3 x (75 - 60) = 64.5.
    check(
        c("referral_to_appointment_days_median"),
        8.0,
        None,
        25.0,
        None,
    );
    check(c("referral_to_appointment_days_p90"), 8.0, None, 64.5, None);
    let team = cell(
        &rows,
        "referral_to_appointment_days_median",
        q1,
        "T01",
        "all",
        "all",
    );
    check(team, 8.0, None, 25.0, None);

    // Accepted: 9 of 15 = 60 %. Wilson: root = 1.959964 x sqrt(3.841459 + 4 x 9 x 0.4)
    //   = 1.959964 x 4.271002 = 8.371010; lower = (18 + 3.841459 - 8.371010) / (2 x 18.841459)
    //   = 35.747 %; upper = 80.176 %.
    check(
        c("referral_accepted_pct"),
        9.0,
        Some(15.0),
        60.0,
        Some((35.747, 80.176)),
    );
    // Report back within 30 days of the appointment: 6 of the 8 seen (day 30 counts, day 31
    // and never do not), all appointments in Q1 = 75 %. Wilson: root = 1.959964 x
    // sqrt(3.841459 + 6) = 6.148623; lower = (12 + 3.841459 - 6.148623) / (2 x 11.841459)
    //   = 40.928 %; upper = 92.852 %.
    check(
        c("referral_report_returned_30d_pct"),
        6.0,
        Some(8.0),
        75.0,
        Some((40.928, 92.852)),
    );
}

/// The program fixture: T01 participants referred 2024-02-20 (anchor ED visits 2024-01-10 and
/// 2024-06-30: January to June):
///
/// | persons | enrolled | home care (days after enrolment) | coordinator contacts in March | other |
/// |---|---|---|---|---|
/// | 61..66 | 03-01 | 3, 5, 8, 10, 14, 20 | 03-02, 03-20 | — |
/// | 67 | 03-01 (dies 2024-04-15) | — | 03-02, 03-20 | — |
/// | 68, 69 | 03-17 | — | 03-20 | community agency 03-10 (before enrolment: not counted) |
fn program_region() -> Fixture {
    let mut fx = Fixture::default();
    for id in 61..=69 {
        let death = (id == 67).then_some("2024-04-15");
        fx.person_dying(id, 1945, "F", "T01", death);
    }
    let linkage = [3i64, 5, 8, 10, 14, 20];
    let enrolled = crate::indicators::d("2024-03-01");
    for (i, delay) in linkage.iter().enumerate() {
        let id = 61 + i as u32;
        let day = (enrolled + chrono::Duration::days(*delay)).to_string();
        fx.contact(id, &day, "SAD", ("", ""));
    }
    for id in 61..=67 {
        fx.referral(
            id,
            "T01",
            "2024-02-20",
            Some("2024-02-22"),
            Some("2024-03-01"),
            None,
        )
        .contact(id, "2024-03-02", "COORD", ("PSM", ""))
        .contact(id, "2024-03-20", "COORD", ("PSM", ""));
    }
    for id in 68..=69 {
        fx.referral(
            id,
            "T01",
            "2024-02-20",
            Some("2024-02-22"),
            Some("2024-03-17"),
            None,
        )
        .contact(id, "2024-03-10", "ORG", ("", ""))
        .contact(id, "2024-03-20", "COORD", ("PSM", ""));
    }
    fx.ed(61, "2024-01-10").ed(61, "2024-06-30");
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_intensity_matches_hand_computed_rates_delays_and_shares() {
    let l = load(&program_region()).await;
    let ids = [
        "program_contacts_per_participant_month",
        "enrolment_to_community_contact_days_median",
        "interdisciplinary_contact_90d_pct",
    ];
    compute(&l.warehouse, &ids).await;
    let rows = published(&l.warehouse).await;
    assert_published_is_safe(&rows);

    // March 2024: persons 61-67 enrolled all 31 days, 68-69 from the 17th (15 days each):
    // 7 x 31 + 2 x 15 = 247 participant-days = 247 / 30.4375 = 8.114990 participant-months.
    // Coordinator: 2 x 7 + 2 = 16 contacts -> 16 / 8.114990 = 1.971660 per participant-month;
    // Byar (16 >= 10), E = 8.114990:
    //   lower = 16 (1 - 1/144 - 1.959964/12)^3 / E = 16 x 0.829725^3 / E = 1.126250,
    //   upper = 17 (1 - 1/153 + 1.959964/(3 sqrt 17))^3 / E = 17 x 1.151918^3 / E = 3.202030.
    // Home care: 6 contacts -> 0.739372; exact Poisson (6 < 10): chi-square quantiles / 2 =
    //   2.201894 and 13.059474 -> 0.271337 and 1.609303.
    // Social worker: none -> 0 (a zero is not a small count). Community agency: the two
    // contacts before enrolment do not count -> 0.
    let rate = "program_contacts_per_participant_month";
    let c = |v: &str| cell(&rows, rate, "2024-03-01", "region", "provider_type", v);
    let months = 247.0 / 30.4375;
    check(
        c("program_coordinator"),
        16.0,
        Some(247.0),
        16.0 / months,
        Some((1.126250, 3.202030)),
    );
    check(
        c("home_care"),
        6.0,
        Some(247.0),
        6.0 / months,
        Some((0.271337, 1.609303)),
    );
    check(c("community_agency"), 0.0, Some(247.0), 0.0, None);
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == rate && r.stratum_dimension == "all"),
        "no pooled total: each provider type has the whole exposure"
    );
    // April: 61-66 and 68-69 all 30 days, 67 until its death on the 15th (15 days):
    // 8 x 30 + 15 = 255 participant-days, no contact.
    let april = cell(
        &rows,
        rate,
        "2024-04-01",
        "region",
        "provider_type",
        "program_coordinator",
    );
    check(april, 0.0, Some(255.0), 0.0, None);

    // Enrolment to the first home-care or community contact, 2024Q1 enrolments: persons 61-66
    // linked after 3 5 8 10 14 20 days (68-69's agency contact came before enrolment): R type 7
    // median, h = 5 x 0.5 = 2.5 -> 8 + 0.5 x (10 - 8) = 9.
    let median = cell(
        &rows,
        "enrolment_to_community_contact_days_median",
        "2024-01-01",
        "region",
        "all",
        "all",
    );
    check(median, 6.0, None, 9.0, None);

    // More than one provider type within 90 days, 2024Q1 enrolments: 61-66 (coordinator and
    // home care) yes; 68-69 (coordinator only: the agency came before) no; 67 died on day 45:
    // left out. 6 of 8 = 75 %; Wilson (see the referral loop): 40.928 %, 92.852 %.
    check(
        cell(
            &rows,
            "interdisciplinary_contact_90d_pct",
            "2024-01-01",
            "region",
            "all",
            "all",
        ),
        6.0,
        Some(8.0),
        75.0,
        Some((40.928, 92.852)),
    );
}

/// `(line, column)` of every quarantined problem of `file`, in line order.
async fn quarantined(warehouse: &std::path::Path, file: &str) -> Vec<(i64, String, String)> {
    let sql = format!(
        "SELECT CAST(_line AS VARCHAR) || '|' || \"column\" || '|' || reason FROM quarantine \
         WHERE _file = '{file}' ORDER BY _line, \"column\""
    );
    crate::common::all_text(&crate::common::query(warehouse, &sql).await)
        .iter()
        .filter_map(|t| {
            let mut parts = t.splitn(3, '|');
            let line = parts.next()?.parse().ok()?;
            Some((line, parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_written_contact_and_referral_extracts_quarantine_each_fault_by_line_and_column() {
    use crate::indicators::hcn;
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, warehouse) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let put = |rel: &str, text: String| {
        let path = landing.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let registry: String = (1..=8)
        .map(|i| format!("{},1950,F,fr,urban,A01,T01,\n", hcn(i)))
        .collect();
    put(
        "registre/population.csv",
        format!("hcn,birth_year,sex,language,rurality,area,team,death_date\n{registry}"),
    );
    // A card number that fails its check digit (the last digit changed).
    let mistyped = {
        let good = hcn(7);
        let last = good.as_bytes()[9] - b'0';
        format!("{}{}", &good[..9], (last + 1) % 10)
    };
    let contacts = [
        format!("{}|20240305|09:15|MF|P|CSC Rivière-Nord||", hcn(1)), // 2: valid
        format!("{}|20241305|09:15|MF|P|CSC Rivière-Nord||", hcn(2)), // 3: month 13
        format!("{}|20240306|25:00|MF|P|CSC Rivière-Nord||", hcn(3)), // 4: hour 25
        format!("{}|20240307|09:15|XYZ|P|CSC Rivière-Nord||", hcn(4)), // 5: unknown provider
        format!("{}|20240308|09:15|MF|Q|CSC Rivière-Nord||", hcn(5)), // 6: unknown mode
        format!("{mistyped}|20240309|09:15|MF|P|CSC Rivière-Nord||"), // 7: check digit
        format!("{}|20240305|09:15|MF|P|CSC Rivière-Nord||", hcn(1)), // 8: line 2 again
        format!("{}||09:15|MF|P|CSC Rivière-Nord||", hcn(6)),         // 9: no date
    ];
    put(
        "soins_communautaires/contacts_202403.csv",
        format!(
            "nam|date_contact|heure|intervenant|modalite|organisation|programme|no_reference\n{}\n",
            contacts.join("\n")
        ),
    );
    let referrals = [
        format!(
            "RFA,{},2024-01-02,CSC,Cardio,I50.0,2024-01-04,2024-02-01,2024-02-10",
            hcn(1)
        ), // 2: valid
        format!("RFB,{},2024-01-02,CSC,Cardio,I50.0,2023-12-30,,", hcn(2)), // 3: accepted before sent
        format!(
            "RFC,{},2024-01-02,CSC,Cardio,I50.0,2024-01-04,2024-02-01,2024-01-20",
            hcn(3)
        ), // 4: report before appointment
        format!("RFD,{},2024-01-02,CSC,,I50.0,,,", hcn(4)),                 // 5: referred to no one
        format!("RFE,{},2024-01-02,CSC,Cardio,{},,,", hcn(5), hcn(8)), // 6: a card number as the reason
        format!(",{},2024-01-02,CSC,Cardio,I50.0,,,", hcn(6)),         // 7: no referral id
        format!("RFG,{},2024-01-02,CSC,Cardio,I50.0,,,", hcn(7)),      // 8: valid, never accepted
    ];
    put(
        "references/referrals.csv",
        format!(
            "referral_id,health_card,referred_on,referred_by,referred_to,reason,accepted_on,first_appointment_on,report_returned_on\r\n{}\r\n",
            referrals.join("\r\n")
        ),
    );
    let report = crate::common::ingest_into(&landing, &warehouse)
        .await
        .expect("ingest");
    let file = |key: &str| {
        report
            .files
            .iter()
            .find(|f| f.file == key)
            .unwrap_or_else(|| panic!("{key} in {:?}", report.files))
    };
    // Rows read = accepted + rejected, per file.
    let c = file("soins_communautaires/contacts_202403.csv");
    assert_eq!(
        (c.rows_read, c.rows_accepted, c.rows_rejected),
        (8, 1, 7),
        "{c:?}"
    );
    let r = file("references/referrals.csv");
    assert_eq!(
        (r.rows_read, r.rows_accepted, r.rows_rejected),
        (7, 2, 5),
        "{r:?}"
    );

    let q = quarantined(&warehouse, "soins_communautaires/contacts_202403.csv").await;
    let at = |q: &[(i64, String, String)], line: i64| -> Vec<(String, String)> {
        q.iter()
            .filter(|(l, _, _)| *l == line)
            .map(|(_, c, why)| (c.clone(), why.clone()))
            .collect()
    };
    let names = |q: &[(i64, String, String)], line: i64| -> Vec<String> {
        at(q, line).into_iter().map(|(c, _)| c).collect()
    };
    assert!(names(&q, 3).iter().any(|c| c == "date_contact"), "{q:?}");
    assert!(names(&q, 4).iter().any(|c| c.contains("heure")), "{q:?}");
    assert!(names(&q, 5).iter().any(|c| c == "intervenant"), "{q:?}");
    assert!(names(&q, 6).iter().any(|c| c == "modalite"), "{q:?}");
    assert!(names(&q, 7).iter().any(|c| c == "nam"), "{q:?}");
    assert!(
        at(&q, 8).iter().any(|(_, why)| why.contains("duplicate")),
        "{q:?}"
    );
    assert!(names(&q, 9).iter().any(|c| c == "date_contact"), "{q:?}");
    assert!(at(&q, 2).is_empty(), "the valid line: {q:?}");

    let q = quarantined(&warehouse, "references/referrals.csv").await;
    assert!(names(&q, 3).iter().any(|c| c == "accepted_on"), "{q:?}");
    assert!(
        names(&q, 4).iter().any(|c| c == "report_returned_on"),
        "{q:?}"
    );
    assert!(names(&q, 5).iter().any(|c| c == "referred_to"), "{q:?}");
    assert!(names(&q, 6).iter().any(|c| c == "reason"), "{q:?}");
    assert!(names(&q, 7).iter().any(|c| c == "referral_id"), "{q:?}");
    assert!(at(&q, 2).is_empty() && at(&q, 8).is_empty(), "{q:?}");

    // No card number reached the warehouse in clear (its tables read back, its files as
    // bytes), not even the one sent as a reason nor the mistyped one (masked in the
    // quarantine).
    let found =
        crate::faults::stored_anywhere(&warehouse, &[hcn(8), mistyped.clone(), hcn(1)]).await;
    assert!(found.is_empty(), "{found:?}");
}
