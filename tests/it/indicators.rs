//! Indicator tests: hand-computed values on small fixtures, and the program evaluation
//! against the synthetic region's known truth.
//!
//! Each fixture is a tiny region written in the partners' own layouts (the demo source specs
//! in `pipelines/sources/`), ingested and computed through the demo pipeline, then read back
//! through `published_results` (the one gate outputs use). Expected values are worked out by
//! hand in the comments; the statistics' reference values (exact Poisson, Byar, Wilson) are the
//! published formulas evaluated on a calculator, never numbers printed by the code under test.
//!
//! Remember when reading a fixture: the engine's data span runs from the first month with an
//! ED visit or admission to the last *complete* month (an event on its last day), so every
//! fixture has "anchor" ED visits on the first and last day it needs; and the demo pipeline
//! suppresses counts 1..5.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vigie_indicators::Code;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type};
use chrono::NaiveDate;
use vigie_disclosure::DisclosureConfig;
use vigie_indicators::{IndicatorResult, load_catalogue, published_results};
use vigie_pipeline::{ComputeOverrides, ComputeReport};
use vigie_warehouse::{FileStatus, Warehouse};

use crate::common::*;

// ---------------------------------------------------------------------------------------------
// Fixture writer: partner extracts in the layouts of pipelines/sources/*.yaml
// ---------------------------------------------------------------------------------------------

/// A valid health card number (9-digit payload + Luhn check digit) for fixture person `i`.
pub(crate) fn hcn(i: u32) -> String {
    let payload = (300_000_000 + i).to_string();
    format!("{payload}{}", vigie_synth::luhn_check_digit(&payload))
}

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse()
        .unwrap_or_else(|e| panic!("fixture date {s:?}: {e}"))
}

fn fr(date: &str) -> String {
    d(date).format("%d/%m/%Y").to_string()
}

fn yyyymm(date: &str) -> String {
    d(date).format("%Y%m").to_string()
}

/// The extracts of one small region, line by line, before they are written.
#[derive(Default)]
pub(crate) struct Fixture {
    /// `registre/population.csv` data lines.
    registry: Vec<String>,
    /// `hospital_a/ed_visits_<YYYYMM>.csv` data lines, by YYYYMM of arrival.
    hospital_a: BTreeMap<String, Vec<String>>,
    /// `hopital_b/episodes_<YYYYMM>.csv` data lines, by YYYYMM of episode start.
    hopital_b: BTreeMap<String, Vec<String>>,
    /// `programme/enrolments.csv` data lines.
    programme: Vec<String>,
    /// `sondage/<file>` data lines.
    sondage: BTreeMap<String, Vec<String>>,
    /// `reference/area_deprivation.csv` data lines (`area,deprivation_quintile`).
    areas: Vec<String>,
    /// `soins_communautaires/contacts_<YYYYMM>.csv` data lines, by YYYYMM of contact.
    pub(crate) contacts: BTreeMap<String, Vec<String>>,
    /// `references/referrals.csv` data lines.
    ereferrals: Vec<String>,
}

impl Fixture {
    /// A registry row: born `birth_year`, French-speaking, urban, attributed to `team`.
    pub(crate) fn person(&mut self, id: u32, birth_year: i32, sex: &str, team: &str) -> &mut Self {
        self.person_dying(id, birth_year, sex, team, None)
    }

    pub(crate) fn person_dying(
        &mut self,
        id: u32,
        birth_year: i32,
        sex: &str,
        team: &str,
        death: Option<&str>,
    ) -> &mut Self {
        self.registry.push(format!(
            "{},{birth_year},{sex},fr,urban,A01,{team},{}",
            hcn(id),
            death.unwrap_or("")
        ));
        self
    }

    /// A registry row in `area` (born 1980, female, French-speaking, urban).
    fn person_in(&mut self, id: u32, team: &str, area: &str) -> &mut Self {
        self.registry
            .push(format!("{},1980,F,fr,urban,{area},{team},", hcn(id)));
        self
    }

    /// A hospital A ED visit of person `id` on `date` at 10:30 (triage 3, discharged home).
    pub(crate) fn ed(&mut self, id: u32, date: &str) -> &mut Self {
        self.ed_dx(id, date, "R07.4")
    }

    /// [`Fixture::ed`] with its diagnosis.
    pub(crate) fn ed_dx(&mut self, id: u32, date: &str, diagnosis: &str) -> &mut Self {
        // Two visits of one person on one day come at different times: the same record
        // twice is a duplicate, quarantined.
        let earlier = self.hospital_a.get(&yyyymm(date)).map_or(0, |lines| {
            lines
                .iter()
                .filter(|l| l.starts_with(&format!("\"{}\",\"{date}\"", hcn(id))))
                .count()
        });
        let time = format!("{:02}30", 10 + earlier);
        self.ed_raw(
            &yyyymm(date),
            &[&hcn(id), date, &time, "HA-01", "3", "01", diagnosis],
        )
    }

    /// A raw hospital A line (fields quoted as the partner does) in the file of `month`.
    fn ed_raw(&mut self, month: &str, fields: &[&str]) -> &mut Self {
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        self.hospital_a
            .entry(month.to_string())
            .or_default()
            .push(quoted.join(","));
        self
    }

    /// A hospital B inpatient stay (`HOSP`); `alc` as the partner writes it (`2,5`, or empty).
    pub(crate) fn stay(
        &mut self,
        id: u32,
        admit: &str,
        discharge: &str,
        urgent: bool,
        alc: &str,
    ) -> &mut Self {
        self.stay_dx(id, admit, discharge, urgent, alc, "J18.9")
    }

    /// [`Fixture::stay`] with its main diagnosis.
    pub(crate) fn stay_dx(
        &mut self,
        id: u32,
        admit: &str,
        discharge: &str,
        urgent: bool,
        alc: &str,
        diagnosis: &str,
    ) -> &mut Self {
        let priority = if urgent { "URGENT" } else { "ÉLECTIF" };
        let line = format!(
            "{};HOSP;{};;{};Hôpital B - Site Nord;{priority};DOMICILE;{diagnosis};{alc}",
            hcn(id),
            fr(admit),
            fr(discharge)
        );
        self.hopital_b.entry(yyyymm(admit)).or_default().push(line);
        self
    }

    /// A hospital B inpatient stay ending as hospital B writes it in `ORIENTATION`
    /// (`DOMICILE`, `TRANSFERT`, `DÉCÈS`, `SOINS LONGUE DURÉE`...), at `site` (`Nord`/`Sud`).
    pub(crate) fn stay_to(
        &mut self,
        id: u32,
        (admit, discharge): (&str, &str),
        site: &str,
        orientation: &str,
        diagnosis: &str,
    ) -> &mut Self {
        let line = format!(
            "{};HOSP;{};;{};Hôpital B - Site {site};URGENT;{orientation};{diagnosis};",
            hcn(id),
            fr(admit),
            fr(discharge)
        );
        self.hopital_b.entry(yyyymm(admit)).or_default().push(line);
        self
    }

    /// A contact of person `id` on `date` (ISO) with the community partner's provider code
    /// (`MF`, `IPS`, `SAD`, `TS`, `COORD`...), in person, at 09:15; `program` and
    /// `referral` as the partner writes them (or empty).
    pub(crate) fn contact(
        &mut self,
        id: u32,
        date: &str,
        provider: &str,
        (program, referral): (&str, &str),
    ) -> &mut Self {
        let line = format!(
            "{}|{}|09:15|{provider}|P|CSC Rivière-Nord|{program}|{referral}",
            hcn(id),
            d(date).format("%Y%m%d")
        );
        self.contacts.entry(yyyymm(date)).or_default().push(line);
        self
    }

    /// A referral of person `id` (ISO dates; `None` for a step not reached).
    pub(crate) fn ereferral(
        &mut self,
        id: u32,
        referral_id: &str,
        referred_on: &str,
        [accepted, appointment, report]: [Option<&str>; 3],
    ) -> &mut Self {
        self.ereferrals.push(format!(
            "{referral_id},{},{referred_on},CSC Rivière-Nord,Cardiologie - Hôpital B,I50.0,{},{},{}",
            hcn(id),
            accepted.unwrap_or(""),
            appointment.unwrap_or(""),
            report.unwrap_or("")
        ));
        self
    }

    /// A hospital B ED episode (`URG`).
    pub(crate) fn urg(&mut self, id: u32, date: &str) -> &mut Self {
        let line = format!(
            "{};URG;{};1415;{};Hôpital B - Site Sud;3;DOMICILE;R10.4;",
            hcn(id),
            fr(date),
            fr(date)
        );
        self.hopital_b.entry(yyyymm(date)).or_default().push(line);
        self
    }

    /// A program referral (and, when given, first contact, enrolment and care plan; ISO dates).
    pub(crate) fn referral(
        &mut self,
        id: u32,
        team: &str,
        referral: &str,
        first_contact: Option<&str>,
        enrolment: Option<&str>,
        care_plan: Option<&str>,
    ) -> &mut Self {
        self.programme.push(format!(
            "{},PSM,{team},{referral},{},{},{},",
            hcn(id),
            first_contact.unwrap_or(""),
            enrolment.unwrap_or(""),
            care_plan.unwrap_or("")
        ));
        self
    }

    /// An anonymous survey response answering the frequency items (`answers`: Q1..Q6 as the
    /// platform writes them), the rating and recommendation items left blank.
    fn survey(
        &mut self,
        file: &str,
        response: &str,
        team: &str,
        completed: &str,
        lang: &str,
        answers: [&str; 6],
    ) -> &mut Self {
        let [a1, a2, a3, a4, a5, a6] = answers;
        self.survey_all(
            file,
            response,
            team,
            completed,
            (lang, ""),
            [a1, a2, a3, a4, a5, a6, "", ""],
        )
    }

    /// An anonymous survey response in `lang` from `respondent` (as the platform writes it,
    /// or empty), answering Q1..Q8.
    fn survey_all(
        &mut self,
        file: &str,
        response: &str,
        team: &str,
        completed: &str,
        (lang, respondent): (&str, &str),
        answers: [&str; 8],
    ) -> &mut Self {
        self.sondage
            .entry(file.to_string())
            .or_default()
            .push(format!(
                "{response},,{team},{},{lang},{respondent},{}",
                fr(completed),
                answers.join(",")
            ));
        self
    }

    /// Writes the extracts under `landing` in the partners' encodings and line endings.
    fn write(&self, landing: &Path) {
        let put = |rel: &str, bytes: Vec<u8>| {
            let path = landing.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write fixture");
        };
        let lf = |header: &str, lines: &[String]| {
            let mut s = format!("{header}\n");
            for l in lines {
                s.push_str(l);
                s.push('\n');
            }
            s.into_bytes()
        };
        if !self.registry.is_empty() {
            put(
                "registre/population.csv",
                lf(
                    "hcn,birth_year,sex,language,rurality,area,team,death_date",
                    &self.registry,
                ),
            );
        }
        // Hospital A: UTF-8 with a byte-order mark, every field quoted, CRLF.
        for (month, lines) in &self.hospital_a {
            let mut s = String::from("\u{feff}");
            s.push_str("\"HCN\",\"ARRIVAL_DATE\",\"ARRIVAL_TIME\",\"FACILITY_ID\",\"TRIAGE_LEVEL\",\"DISPOSITION_CODE\",\"MAIN_PROBLEM_DX\"\r\n");
            for l in lines {
                s.push_str(l);
                s.push_str("\r\n");
            }
            put(&format!("hospital_a/ed_visits_{month}.csv"), s.into_bytes());
        }
        // Hôpital B: Windows-1252, `;`, CRLF.
        for (month, lines) in &self.hopital_b {
            let mut s = String::from(
                "NO_ASSURANCE_MALADIE;TYPE_EPISODE;DATE_DEBUT;HEURE_DEBUT;DATE_FIN;ÉTABLISSEMENT;PRIORITÉ;ORIENTATION;DIAGNOSTIC;JOURS_NSA\r\n",
            );
            for l in lines {
                s.push_str(l);
                s.push_str("\r\n");
            }
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&s);
            assert!(!unmappable, "fixture text is not Windows-1252");
            put(
                &format!("hopital_b/episodes_{month}.csv"),
                bytes.into_owned(),
            );
        }
        if !self.programme.is_empty() {
            put(
                "programme/enrolments.csv",
                lf(
                    "hcn,program,team,referral_date,first_contact_date,enrolment_date,care_plan_date,end_date",
                    &self.programme,
                ),
            );
        }
        if !self.areas.is_empty() {
            put(
                "reference/area_deprivation.csv",
                lf("area,deprivation_quintile", &self.areas),
            );
        }
        for (month, lines) in &self.contacts {
            put(
                &format!("soins_communautaires/contacts_{month}.csv"),
                lf(
                    "nam|date_contact|heure|intervenant|modalite|organisation|programme|no_reference",
                    lines,
                ),
            );
        }
        if !self.ereferrals.is_empty() {
            put(
                "references/referrals.csv",
                lf(
                    "referral_id,health_card,referred_on,referred_by,referred_to,reason,accepted_on,first_appointment_on,report_returned_on",
                    &self.ereferrals,
                ),
            );
        }
        for (file, lines) in &self.sondage {
            put(
                &format!("sondage/{file}"),
                lf(
                    "response_id,hcn,team,completed,lang,respondent,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8",
                    lines,
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the pipeline and reading the published results
// ---------------------------------------------------------------------------------------------

/// A fixture written, ingested (every file must load) and ready to compute.
pub(crate) struct Loaded {
    _dir: tempfile::TempDir,
    pub(crate) landing: PathBuf,
    pub(crate) warehouse: PathBuf,
}

pub(crate) async fn load(fx: &Fixture) -> Loaded {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, warehouse) = (dir.path().join("landing"), dir.path().join("warehouse"));
    fx.write(&landing);
    let report = ingest_into(&landing, &warehouse).await.expect("ingest");
    for f in &report.files {
        assert_eq!(f.status, FileStatus::Loaded, "{}: {:?}", f.file, f.message);
    }
    Loaded {
        _dir: dir,
        landing,
        warehouse,
    }
}

async fn compute_range(
    warehouse: &Path,
    only: &[&str],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ComputeReport {
    vigie_pipeline::compute(
        &demo_pipeline(),
        &ComputeOverrides {
            warehouse: Some(warehouse.display().to_string()),
            only: only.iter().map(|s| s.to_string()).collect(),
            from,
            to,
        },
    )
    .await
    .expect("compute")
}

pub(crate) async fn compute(warehouse: &Path, only: &[&str]) -> ComputeReport {
    compute_range(warehouse, only, None, None).await
}

/// The published results (suppressed cells emptied), checked against the disclosure rule by
/// this test independently of the gate.
pub(crate) async fn published(warehouse: &Path) -> Vec<IndicatorResult> {
    let wh = Warehouse::open(&warehouse.display().to_string()).expect("warehouse");
    let catalogue = load_catalogue(&repo().join("queries")).expect("catalogue");
    let rows = published_results(&wh, &catalogue, &DisclosureConfig { min_count: 6 })
        .await
        .expect("published results pass the disclosure check");
    assert_published_is_safe(&rows);
    rows
}

fn key(r: &IndicatorResult) -> String {
    format!(
        "{} {} {} {}={}",
        r.indicator, r.period_start, r.org_unit, r.stratum_dimension, r.stratum_value
    )
}

fn describe(r: &IndicatorResult) -> String {
    format!(
        "{}: num {:?} den {:?} value {:?} ci {:?}..{:?} suppressed {} {:?}",
        key(r),
        r.numerator,
        r.denominator,
        r.value,
        r.ci_low,
        r.ci_high,
        r.is_suppressed(),
        r.suppression_reason
    )
}

/// The row of `indicator` x period starting `period` x `unit` x `dim`=`value`.
pub(crate) fn cell<'a>(
    rows: &'a [IndicatorResult],
    indicator: &str,
    period: &str,
    unit: &str,
    dim: &str,
    value: &str,
) -> &'a IndicatorResult {
    let p = d(period);
    let found: Vec<&IndicatorResult> = rows
        .iter()
        .filter(|r| {
            r.indicator == indicator
                && r.period_start == p
                && r.org_unit == unit
                && r.stratum_dimension == dim
                && r.stratum_value == value
        })
        .collect();
    match found.as_slice() {
        [one] => one,
        [] => {
            let mut have = String::new();
            for r in rows.iter().filter(|r| r.indicator == indicator) {
                let _ = writeln!(have, "  {}", describe(r));
            }
            panic!("no row {indicator} {period} {unit} {dim}={value}; the indicator has:\n{have}")
        }
        many => panic!("{} rows for one key: {many:?}", many.len()),
    }
}

pub(crate) fn no_cell(rows: &[IndicatorResult], indicator: &str, period: &str, unit: &str) {
    let p = d(period);
    let found: Vec<String> = rows
        .iter()
        .filter(|r| r.indicator == indicator && r.period_start == p && r.org_unit == unit)
        .map(describe)
        .collect();
    assert!(
        found.is_empty(),
        "expected no {indicator} row for {period} {unit}, got {found:#?}"
    );
}

#[track_caller]
fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no value, expected {want}"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, expected {want} (tolerance {tol})"
    );
}

/// Checks a visible cell: numerator, denominator, value and (when given) the interval.
#[track_caller]
pub(crate) fn check(
    r: &IndicatorResult,
    num: f64,
    den: Option<f64>,
    value: f64,
    ci: Option<(f64, f64)>,
) {
    let what = key(r);
    assert!(!r.is_suppressed(), "{what} is suppressed: {}", describe(r));
    close(r.numerator, num, 1e-9, &format!("{what} numerator"));
    match den {
        Some(den) => close(r.denominator, den, 1e-9, &format!("{what} denominator")),
        None => assert_eq!(r.denominator, None, "{what} denominator"),
    }
    close(r.value, value, 5e-4, &format!("{what} value"));
    if let Some((lo, hi)) = ci {
        close(r.ci_low, lo, 5e-3, &format!("{what} ci_low"));
        close(r.ci_high, hi, 5e-3, &format!("{what} ci_high"));
    }
}

#[track_caller]
pub(crate) fn check_suppressed(r: &IndicatorResult, reason: &str) {
    assert!(
        r.is_suppressed(),
        "{} should be suppressed: {}",
        key(r),
        describe(r)
    );
    assert_eq!(
        r.suppression_reason.map(|s| s.code()),
        Some(reason),
        "{}",
        key(r)
    );
}

/// The disclosure rule on a published set, checked without the gate's code:
/// 1. a visible cell has no count (numerator / denominator when those are counts) in 1..=5;
/// 2. a suppressed cell carries a reason and no number derived from the data;
/// 3. for additive indicators, no additive set (teams -> region, strata -> "all") has exactly
///    one suppressed cell, which would be recoverable by subtraction.
pub(crate) fn assert_published_is_safe(rows: &[IndicatorResult]) {
    let mut problems = Vec::new();
    for r in rows {
        if r.is_suppressed() {
            let numbers = [r.numerator, r.denominator, r.value, r.ci_low, r.ci_high];
            if numbers.iter().any(Option::is_some)
                || r.spc_centre.is_some()
                || r.spc_lower.is_some()
                || r.spc_upper.is_some()
                || r.target_status.is_some()
                || r.suppression_reason.is_none()
            {
                problems.push(format!("suppressed but not empty: {}", describe(r)));
            }
            continue;
        }
        for (field, value, is_count) in [
            ("numerator", r.numerator, r.count_fields.numerator),
            ("denominator", r.denominator, r.count_fields.denominator),
        ] {
            if let Some(v) = value.filter(|_| is_count)
                && v > 0.0
                && v < 6.0
            {
                problems.push(format!("visible {field} {v} in 1..=5: {}", describe(r)));
            }
        }
    }
    problems.extend(recoverable_cells(rows, |r| r.additive));
    assert!(
        problems.is_empty(),
        "disclosure problems:\n{}",
        problems.join("\n")
    );
}

/// Suppressed cells that could be recovered by subtraction: additive sets (the teams under
/// the region for one indicator x period x stratum; the strata of one dimension under "all" for
/// one indicator x period x unit) with exactly one suppressed cell. Only rows `in_scope` count.
fn recoverable_cells(
    rows: &[IndicatorResult],
    in_scope: impl Fn(&IndicatorResult) -> bool,
) -> Vec<String> {
    let rows: Vec<&IndicatorResult> = rows.iter().filter(|r| in_scope(r)).collect();
    let period = |r: &IndicatorResult| {
        format!(
            "{} {} {}",
            r.indicator,
            r.period_type.code(),
            r.period_start
        )
    };
    let mut sets: BTreeMap<String, Vec<&IndicatorResult>> = BTreeMap::new();
    let mut totals: HashMap<String, &IndicatorResult> = HashMap::new();
    for r in &rows {
        if r.org_level == vigie_disclosure::OrgLevel::Region
            || r.parent_unit.as_deref() == Some("region")
        {
            let k = format!(
                "teams -> region: {} {}={}",
                period(r),
                r.stratum_dimension,
                r.stratum_value
            );
            sets.entry(k).or_default().push(r);
        }
        if r.stratum_dimension == "all" {
            totals.insert(format!("{} {}", period(r), r.org_unit), r);
        } else {
            let k = format!(
                "strata -> all: {} {} {}",
                period(r),
                r.org_unit,
                r.stratum_dimension
            );
            sets.entry(k).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (k, mut set) in sets {
        if k.starts_with("strata") {
            let r = set[0];
            match totals.get(&format!("{} {}", period(r), r.org_unit)) {
                Some(total) => set.push(total),
                None => continue, // no pooled total (include_total: false): no equation
            }
        }
        let hidden: Vec<&&IndicatorResult> = set.iter().filter(|r| r.is_suppressed()).collect();
        if hidden.len() == 1 && set.len() > 1 {
            out.push(format!(
                "{k}: {} is the only suppressed cell of its set, recoverable from {:?}",
                key(hidden[0]),
                set.iter()
                    .filter(|r| !r.is_suppressed())
                    .map(|r| describe(r))
                    .collect::<Vec<_>>()
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. ED visits per 1,000: crude rates, exact and Byar intervals, strata, deaths, suppression
// ---------------------------------------------------------------------------------------------

/// 40 persons born 1980 (age 44 in 2024: band 18-44), French-speaking, urban:
/// T01 = persons 1-10 (F) and 11-20 (M); T02 = persons 21-30 (F) and 31-40 (M).
/// Person 1 (T01, F) dies on 2024-02-15.
///
/// ED visits (hospital A):
///
/// | month | T01 F | T01 M | T02 F | T02 M | region |
/// |-------|-------|-------|-------|-------|--------|
/// | Jan   | 7     | 0     | 6     | 6     | 19     |
/// | Feb   | 8     | 0     | 6     | 3     | 17     |
/// | Mar   | 6     | 0     | 15    | 15    | 36     |
///
/// The first visit is on 2024-01-10 and the last on 2024-03-31: the span is Jan-Mar 2024.
fn ed_region() -> Fixture {
    let mut fx = Fixture::default();
    fx.person_dying(1, 1980, "F", "T01", Some("2024-02-15"));
    for id in 2..=10 {
        fx.person(id, 1980, "F", "T01");
    }
    for id in 11..=20 {
        fx.person(id, 1980, "M", "T01");
    }
    for id in 21..=30 {
        fx.person(id, 1980, "F", "T02");
    }
    for id in 31..=40 {
        fx.person(id, 1980, "M", "T02");
    }
    // January: T01 F 7 (persons 2-8), T02 F 6 (21-26), T02 M 6 (31-36).
    for id in 2..=8 {
        fx.ed(id, "2024-01-10");
    }
    for id in 21..=26 {
        fx.ed(id, "2024-01-15");
    }
    for id in 31..=36 {
        fx.ed(id, "2024-01-20");
    }
    // February: T01 F 8 (person 1, alive until the 15th, and 2-8), T02 F 6, T02 M 3.
    fx.ed(1, "2024-02-03");
    for id in 2..=8 {
        fx.ed(id, "2024-02-05");
    }
    for id in 21..=26 {
        fx.ed(id, "2024-02-10");
    }
    for id in 31..=33 {
        fx.ed(id, "2024-02-12");
    }
    // March: T01 F 6 (2-7), T02 F 15 (21-30 then 21-25), T02 M 15 (31-40 then 31-35; the
    // visit of person 40 on the 31st completes the month).
    for id in 2..=7 {
        fx.ed(id, "2024-03-10");
    }
    for id in (21..=30).chain(21..=25) {
        fx.ed(id, "2024-03-12");
    }
    for id in (31..=39).chain(31..=35) {
        fx.ed(id, "2024-03-14");
    }
    fx.ed(40, "2024-03-31");
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed_visits_per_1000_match_hand_computed_rates_intervals_strata_and_deaths() {
    let l = load(&ed_region()).await;
    let report = compute(&l.warehouse, &["ed_visits_per_1000"]).await;
    assert_eq!(
        (report.from, report.to),
        (Some(d("2024-01-01")), Some(d("2024-04-01")))
    );
    let rows = published(&l.warehouse).await;
    let ind = "ed_visits_per_1000";
    let c = |p: &str, u: &str, dim: &str, v: &str| cell(&rows, ind, p, u, dim, v);

    // Region, January: 19 visits / 40 persons x 1000 = 475.0.
    // 19 >= 10 events: Byar. z = 1.959964.
    //   lower = 19 (1 - 1/171 - z/(3 sqrt 19))^3 = 19 (1 - 0.005848 - 0.149884)^3
    //         = 19 x 0.844268^3 = 19 x 0.601787 = 11.43398  -> /40 x 1000 = 285.850
    //   upper = 20 (1 - 1/180 + z/(3 sqrt 20))^3 = 20 (1 - 0.005556 + 0.146086)^3
    //         = 20 x 1.140530^3 = 20 x 1.483617 = 29.67235  -> /40 x 1000 = 741.809
    // (exact chi-square limits for 19: 11.439, 29.671 - Byar is within 0.01).
    check(
        c("2024-01-01", "region", "all", "all"),
        19.0,
        Some(40.0),
        475.0,
        Some((285.850, 741.809)),
    );
    // T01, January: 7 visits / 20 persons = 350.0 per 1000. Below 10 events: exact interval,
    //   lower = qchisq(0.025, 14) / 2 = 5.628726 / 2 = 2.814363
    //   upper = qchisq(0.975, 16) / 2 = 28.845351 / 2 = 14.422675
    // (the published table value for 7 events is 2.81 - 14.42), / 20 x 1000 = 140.718 - 721.134.
    check(
        c("2024-01-01", "T01", "all", "all"),
        7.0,
        Some(20.0),
        350.0,
        Some((140.718, 721.134)),
    );
    // T02, January: 12 / 20 = 600.0. Byar for 12:
    //   lower = 12 (1 - 1/108 - z/(3 sqrt 12))^3 = 12 (1 - 0.009259 - 0.188598)^3
    //         = 12 x 0.802143^3 = 12 x 0.516126 = 6.19351 -> 309.675
    //   upper = 13 (1 - 1/117 + z/(3 sqrt 13))^3 = 13 (1 - 0.008547 + 0.181199)^3
    //         = 13 x 1.172652^3 = 13 x 1.612528 = 20.96286 -> 1048.143
    // (exact: 6.2006 - 20.9616; the switch to Byar is at 10 events, PHE practice).
    check(
        c("2024-01-01", "T02", "all", "all"),
        12.0,
        Some(20.0),
        600.0,
        Some((309.675, 1048.143)),
    );
    // A stratum cell: T02 women in January, 6 visits / 10 women = 600.0; exact for 6:
    //   qchisq(0.025, 12)/2 = 4.403789/2 = 2.201894; qchisq(0.975, 14)/2 = 26.118948/2 = 13.059474
    //   -> / 10 x 1000 = 220.189 - 1305.947.
    check(
        c("2024-01-01", "T02", "sex", "F"),
        6.0,
        Some(10.0),
        600.0,
        Some((220.189, 1305.947)),
    );
    // Region men in January: 0 (T01) + 6 (T02) over 10 + 10 men = 300.0.
    check(
        c("2024-01-01", "region", "sex", "M"),
        6.0,
        Some(20.0),
        300.0,
        None,
    );
    // Everyone is 44, French-speaking and urban: those strata equal the total.
    check(
        c("2024-01-01", "T01", "age_band", "18-44"),
        7.0,
        Some(20.0),
        350.0,
        None,
    );
    check(
        c("2024-01-01", "T01", "language", "fr"),
        7.0,
        Some(20.0),
        350.0,
        None,
    );
    check(
        c("2024-01-01", "T01", "rurality", "urban"),
        7.0,
        Some(20.0),
        350.0,
        None,
    );

    // February: person 1 dies on the 15th but was alive on the 1st: still counted (T01 20).
    // Region 17 / 40 = 425.0; T01 women 8 / 10 = 800.0; T01 men 0 / 10 = 0 (zero is shown).
    check(
        c("2024-02-01", "region", "all", "all"),
        17.0,
        Some(40.0),
        425.0,
        None,
    );
    check(
        c("2024-02-01", "T01", "all", "all"),
        8.0,
        Some(20.0),
        400.0,
        None,
    );
    check(
        c("2024-02-01", "T01", "sex", "F"),
        8.0,
        Some(10.0),
        800.0,
        None,
    );
    check(
        c("2024-02-01", "T01", "sex", "M"),
        0.0,
        Some(10.0),
        0.0,
        None,
    );
    check(
        c("2024-02-01", "T02", "all", "all"),
        9.0,
        Some(20.0),
        450.0,
        None,
    );
    // Three visits by T02 men: suppressed (small count), and so is the region's men cell (the
    // same 3 visits). Then each set with one hidden cell gets a complement: T02 women (T02 =
    // F + M) and region women (region = F + M); T01 cells need no hiding (region women and
    // T02 women are both hidden, so T01 women + T02 women = region women has two unknowns).
    check_suppressed(c("2024-02-01", "T02", "sex", "M"), "small_count");
    check_suppressed(c("2024-02-01", "region", "sex", "M"), "small_count");
    check_suppressed(c("2024-02-01", "T02", "sex", "F"), "complementary");
    check_suppressed(c("2024-02-01", "region", "sex", "F"), "complementary");

    // March: person 1 died in February and leaves the denominators: T01 19, T01 women 9,
    // region 39. Region 36 / 39 x 1000 = 923.077; Byar for 36:
    //   lower = 36 (1 - 1/324 - z/18)^3 = 36 (1 - 0.003086 - 0.108887)^3 = 36 x 0.888027^3
    //         = 36 x 0.700290 = 25.21045 -> / 39 x 1000 = 646.422
    //   upper = 37 (1 - 1/333 + z/(3 sqrt 37))^3 = 37 (1 - 0.003003 + 0.107404)^3
    //         = 37 x 1.104401^3 = 37 x 1.347045 = 49.84065 -> / 39 x 1000 = 1277.965
    check(
        c("2024-03-01", "region", "all", "all"),
        36.0,
        Some(39.0),
        923.077,
        Some((646.422, 1277.965)),
    );
    // T01: 6 / 19 = 315.789; exact for 6: 2.201894 / 19 x 1000 = 115.889, 13.059474 / 19 x
    // 1000 = 687.341.
    check(
        c("2024-03-01", "T01", "all", "all"),
        6.0,
        Some(19.0),
        315.789,
        Some((115.889, 687.341)),
    );
    check(
        c("2024-03-01", "T01", "sex", "F"),
        6.0,
        Some(9.0),
        666.667,
        None,
    );
    check(
        c("2024-03-01", "T01", "sex", "M"),
        0.0,
        Some(10.0),
        0.0,
        None,
    );
    check(
        c("2024-03-01", "T02", "all", "all"),
        30.0,
        Some(20.0),
        1500.0,
        None,
    );
    // No April: the data end on 2024-03-31.
    no_cell(&rows, ind, "2024-04-01", "region");
    // Fewer than 12 points: no SPC limits yet.
    assert!(rows.iter().all(|r| r.spc_signal.is_none()));
}

// ---------------------------------------------------------------------------------------------
// 2. Age-standardised ED visits (2011 Canadian standard, Dobson)
// ---------------------------------------------------------------------------------------------

/// The 2011 Canadian standard population weights (Statistics Canada; the reference file
/// `canada-2011-standard-population.csv`), 0-4 ... 85-89, 90+. They sum to 1.000000.
const CANADA_2011: [f64; 19] = [
    0.055325, 0.052736, 0.055857, 0.065121, 0.068506, 0.068967, 0.067743, 0.066176, 0.069477,
    0.079209, 0.078366, 0.068519, 0.059696, 0.044613, 0.033573, 0.026761, 0.020406, 0.012420,
    0.006529,
];

/// The entries of `population_month`'s groups in the warehouse's cache.
fn population_group_entries(warehouse: &Path) -> Vec<PathBuf> {
    let folder = warehouse
        .join(vigie_warehouse::CACHE_PREFIX)
        .join("population_groups");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The persons a cached entry of `population_month`'s groups counts.
fn cached_persons(entry: &Path) -> i64 {
    let file = std::fs::File::open(entry).expect("entry");
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader")
        .map(|b| {
            let b = b.expect("batch");
            let persons = b.schema().index_of("persons").expect("persons column");
            b.column(persons)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum()
}

/// Rewrites a cached entry with every group's `persons` multiplied by `factor`, its metadata
/// (the identity it was written for) kept.
fn scale_cached_persons(entry: &Path, factor: i64) {
    use arrow::array::Int64Array;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(entry).expect("entry");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned();
    let batches: Vec<arrow::record_batch::RecordBatch> = builder
        .build()
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("batches");
    let schema = batches[0].schema();
    let persons = schema.index_of("persons").expect("persons column");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(metadata)
        .build();
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(entry).expect("rewrite"),
        schema.clone(),
        Some(props),
    )
    .expect("writer");
    for b in batches {
        let scaled: Int64Array = b
            .column(persons)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .iter()
            .map(|v| v.map(|v| v * factor))
            .collect();
        let mut columns = b.columns().to_vec();
        columns[persons] = std::sync::Arc::new(scaled);
        writer
            .write(
                &arrow::record_batch::RecordBatch::try_new(schema.clone(), columns).expect("batch"),
            )
            .expect("write");
    }
    writer.close().expect("close");
}

/// `population_month`'s groups (every registry row grouped through the person view) are
/// kept in the warehouse's cache: a rerun on the same registry reads them instead of
/// grouping again, and a changed registry is grouped anew — never the old groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn population_groups_are_reused_until_the_registry_changes() {
    let ind = ["ed_visits_per_1000"];
    let mut fx = ed_region();
    let l = load(&fx).await;
    compute(&l.warehouse, &ind).await;
    let region_january = |rows: &[IndicatorResult]| {
        cell(rows, ind[0], "2024-01-01", "region", "all", "all").denominator
    };
    assert_eq!(region_january(&published(&l.warehouse).await), Some(40.0));
    let first = population_group_entries(&l.warehouse);
    assert_eq!(first.len(), 1, "one cached entry: {first:?}");
    assert_eq!(cached_persons(&first[0]), 40);

    // A rerun reads the entry: doubled there, every denominator doubles.
    scale_cached_persons(&first[0], 2);
    compute(&l.warehouse, &ind).await;
    assert_eq!(
        region_january(&published(&l.warehouse).await),
        Some(80.0),
        "the rerun read the cached groups"
    );

    // The registry changes (ten more men in T01): its groups are built anew, and the
    // results are those of a warehouse that never had a cache.
    for id in 41..=50 {
        fx.person(id, 1980, "M", "T01");
    }
    fx.write(&l.landing);
    ingest_into(&l.landing, &l.warehouse)
        .await
        .expect("registry reload");
    compute(&l.warehouse, &ind).await;
    let after = published(&l.warehouse).await;
    assert_eq!(region_january(&after), Some(50.0));
    let rebuilt = population_group_entries(&l.warehouse);
    assert_eq!(rebuilt.len(), 1, "the stale entry deleted: {rebuilt:?}");
    assert_ne!(rebuilt, first);
    let fresh = load(&fx).await;
    compute(&fresh.warehouse, &ind).await;
    let describe_all = |rows: &[IndicatorResult]| -> Vec<String> {
        let mut all: Vec<String> = rows.iter().map(describe).collect();
        all.sort();
        all
    };
    assert_eq!(
        describe_all(&after),
        describe_all(&published(&fresh.warehouse).await)
    );

    // A damaged entry (a copy cut short) is rebuilt, not trusted nor fatal.
    let bytes = std::fs::read(&rebuilt[0]).expect("entry");
    std::fs::write(&rebuilt[0], &bytes[..bytes.len() / 3]).expect("damage");
    compute(&l.warehouse, &ind).await;
    assert_eq!(
        describe_all(&published(&l.warehouse).await),
        describe_all(&after)
    );
    assert_eq!(cached_persons(&rebuilt[0]), 50, "rewritten whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed_visits_per_1000_asr_matches_a_hand_computed_directly_standardised_rate() {
    // Choice: every one of the 19 standard bands is populated in the region (and for each
    // sex), so the rate is defined there; T02, with one band only, gets no value (the engine
    // leaves a rate undefined when a band has no population) and that None is asserted.
    //
    // T01: in each band i (ages 5i..5i+4, 90+ for i = 18) one woman and one man aged
    // 5i + 2 in 2024 (born 2022 - 5i): 38 persons, 19 per sex.
    // T02: 6 men aged 42 (band 40-44), no visits.
    // Visits in March 2024, all by T01 women: band 0-4: 3, band 20-24: 2, band 65-69: 4,
    // band 80-84: 3 (12 in all; the last on 2024-03-31, the first on 2024-03-01).
    let mut fx = Fixture::default();
    for i in 0..19u32 {
        let born = 2022 - 5 * i as i32;
        fx.person(100 + i, born, "F", "T01");
        fx.person(200 + i, born, "M", "T01");
    }
    for id in 300..306 {
        fx.person(id, 1982, "M", "T02");
    }
    let visits = [(0u32, 3), (4, 2), (13, 4), (16, 3)];
    let mut dates = (1..=31).map(|day| format!("2024-03-{day:02}"));
    let mut all = Vec::new();
    for (band, n) in visits {
        for _ in 0..n {
            all.push(100 + band);
        }
    }
    // Twelve visits on twelve different days, the last one on the 31st.
    for (k, id) in all.iter().enumerate() {
        let date = if k + 1 == all.len() {
            "2024-03-31".to_string()
        } else {
            dates.next().expect("day")
        };
        fx.ed(*id, &date);
    }
    let l = load(&fx).await;
    compute(&l.warehouse, &["ed_visits_per_1000_asr"]).await;
    let rows = published(&l.warehouse).await;
    let c = |u: &str, dim: &str, v: &str| {
        cell(&rows, "ed_visits_per_1000_asr", "2024-03-01", u, dim, v)
    };

    assert!((CANADA_2011.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // Region: band populations n_i = 2 (band 40-44: 2 + 6 = 8), events x_i as above.
    //   DSR = sum w_i x_i / n_i / sum w_i x 1000
    //       = (0.055325 x 3/2 + 0.068506 x 2/2 + 0.044613 x 4/2 + 0.020406 x 3/2) / 1 x 1000
    //       = (0.0829875 + 0.068506 + 0.089226 + 0.030609) x 1000 = 271.3285
    //   (the six T02 men add population to a band without events: no change.)
    //   var = sum w_i^2 x_i / n_i^2 = 0.055325^2 x 3/4 + 0.068506^2 x 2/4 + 0.044613^2 x 4/4
    //         + 0.020406^2 x 3/4 = 0.00229563 + 0.00234654 + 0.00199032 + 0.00031231
    //       = 0.00694480
    //   Dobson: X = 12, Byar(12) = 6.19351 .. 20.96286 (see the crude-rate test),
    //   sqrt(var / X) = sqrt(0.000578733) = 0.0240569
    //   lower = (0.2713285 + 0.0240569 x (6.19351 - 12)) x 1000 = (0.2713285 - 0.1396860) x 1000
    //         = 131.642
    //   upper = (0.2713285 + 0.0240569 x (20.96286 - 12)) x 1000 = (0.2713285 + 0.2156184) x 1000
    //         = 486.947
    check(
        c("region", "all", "all"),
        12.0,
        Some(44.0),
        271.3285,
        Some((131.642, 486.947)),
    );
    // Women: n_i = 1 in every band, same events: DSR doubles, 542.657; var x 4 = 0.0277792,
    //   sqrt(var / 12) = 0.0481138; lower = 542.657 - 48.1138 x 5.80649 = 263.285,
    //   upper = 542.657 + 48.1138 x 8.96286 = 973.894.
    check(
        c("region", "sex", "F"),
        12.0,
        Some(19.0),
        542.657,
        Some((263.285, 973.894)),
    );
    // T01 is the region without the six T02 men: same rate, 38 persons.
    check(
        c("T01", "all", "all"),
        12.0,
        Some(38.0),
        271.3285,
        Some((131.642, 486.947)),
    );
    // Men: no events, rate 0, and no interval (Dobson limits need >= 10 events, phe_dsr).
    let men = c("region", "sex", "M");
    check(men, 0.0, Some(25.0), 0.0, None);
    assert_eq!((men.ci_low, men.ci_high), (None, None), "{}", describe(men));
    // T02 has population in one band only: the standardised rate is undefined.
    let t02 = c("T02", "all", "all");
    assert!(!t02.is_suppressed(), "{}", describe(t02));
    assert_eq!((t02.numerator, t02.denominator), (Some(0.0), Some(6.0)));
    assert_eq!(
        t02.value,
        None,
        "no DSR with empty bands: {}",
        describe(t02)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Urgent readmissions within 30 days
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readmission_30d_pct_counts_urgent_readmissions_up_to_day_30_only() {
    // Eleven women of T01 born 1950 (74 in 2024: band 65-79), one index stay each, admitted
    // 2024-02-20 (urgent) and discharged 2024-02-25, then one more stay:
    //   persons 1-6:  urgent on 2024-03-06 (day 10 after discharge)  -> readmitted
    //   person 7:     urgent on 2024-03-26 (day 30: still within)     -> readmitted
    //   persons 8-9:  urgent on 2024-03-27 (day 31)                    -> not
    //   persons 10-11: elective on 2024-03-01 (day 5)                 -> not
    // Person 12 anchors the span (ED visits 2024-01-10 and 2024-04-30: Jan-Apr, end 2024-05-01)
    // and has a stay 2024-04-01 -> 04-05 whose 30-day follow-up is incomplete (04-05 + 30 days
    // = 05-05 >= 05-01): left out.
    let mut fx = Fixture::default();
    for id in 1..=12 {
        fx.person(id, 1950, "F", "T01");
        if id <= 11 {
            fx.stay(id, "2024-02-20", "2024-02-25", true, "");
        }
    }
    for id in 1..=6 {
        fx.stay(id, "2024-03-06", "2024-03-10", true, "");
    }
    fx.stay(7, "2024-03-26", "2024-03-28", true, "");
    for id in 8..=9 {
        fx.stay(id, "2024-03-27", "2024-03-29", true, "");
    }
    for id in 10..=11 {
        fx.stay(id, "2024-03-01", "2024-03-03", false, "");
    }
    fx.stay(12, "2024-04-01", "2024-04-05", true, "");
    fx.ed(12, "2024-01-10").ed(12, "2024-04-30");
    let l = load(&fx).await;
    compute(&l.warehouse, &["readmission_30d_pct"]).await;
    let rows = published(&l.warehouse).await;
    let c = |p: &str, u: &str, dim: &str, v: &str| cell(&rows, "readmission_30d_pct", p, u, dim, v);

    // February: 11 stays, 7 readmitted = 63.636 %. Wilson, z = 1.959964, z^2 = 3.841459:
    //   root = sqrt(z^2 + 4 x 7 x (1 - 7/11)) = sqrt(3.841459 + 10.181818) = 3.744767
    //   lower = (14 + 3.841459 - 1.959964 x 3.744767) / (2 x 14.841459) = 10.501852 / 29.682918
    //         = 0.353801
    //   upper = (17.841459 + 7.339609) / 29.682918 = 0.848335
    check(
        c("2024-02-01", "region", "all", "all"),
        7.0,
        Some(11.0),
        63.636,
        Some((35.380, 84.834)),
    );
    check(
        c("2024-02-01", "T01", "all", "all"),
        7.0,
        Some(11.0),
        63.636,
        None,
    );
    check(
        c("2024-02-01", "T01", "sex", "F"),
        7.0,
        Some(11.0),
        63.636,
        None,
    );
    check(
        c("2024-02-01", "T01", "age_band", "65-79"),
        7.0,
        Some(11.0),
        63.636,
        None,
    );
    // March: the 11 second stays, none followed by another admission: 0 / 11 = 0 %
    //   (Wilson upper = (z^2 + z x sqrt(z^2)) / (2 (11 + z^2)) = 7.682918 / 29.682918 = 25.883 %).
    check(
        c("2024-03-01", "region", "all", "all"),
        0.0,
        Some(11.0),
        0.0,
        Some((0.0, 25.883)),
    );
    // April: the only stay lacks 30 days of follow-up: no row at all.
    no_cell(&rows, "readmission_30d_pct", "2024-04-01", "region");
}

// ---------------------------------------------------------------------------------------------
// 4. ALC days
// ---------------------------------------------------------------------------------------------

/// Stays discharged in February 2024 (span Jan-Feb 2024: ED anchors on 01-15 and 02-29):
///
/// | stay | team | admit | discharge | days | ALC (as sent) |
/// |------|------|-------|-----------|------|---------------|
/// | 1    | T01  | 02-01 | 02-11     | 10   | `2,5`         |
/// | 2    | T01  | 02-03 | 02-08     | 5    | (empty)       |
/// | 3    | T01  | 02-05 | 02-25     | 20   | `12`          |
/// | 4    | T01  | 02-10 | 02-14     | 4    | `0`           |
/// | 5    | T01  | 01-20 | 02-09     | 20   | `7,5`         |
/// | 6    | T01  | 02-12 | 02-13     | 1    | `0,5`         |
/// | 7    | T02  | 02-02 | 02-12     | 10   | `4`           |
/// | 8    | T02  | 02-06 | 02-16     | 10   | `1,5`         |
/// | 9    | T02  | 02-15 | 02-20     | 5    | `0`           |
fn alc_region() -> Fixture {
    let mut fx = Fixture::default();
    for id in 1..=6 {
        fx.person(id, 1940, "F", "T01");
    }
    for id in 7..=9 {
        fx.person(id, 1940, "M", "T02");
    }
    fx.person(10, 1990, "F", "T01");
    fx.stay(1, "2024-02-01", "2024-02-11", true, "2,5")
        .stay(2, "2024-02-03", "2024-02-08", true, "")
        .stay(3, "2024-02-05", "2024-02-25", true, "12")
        .stay(4, "2024-02-10", "2024-02-14", false, "0")
        .stay(5, "2024-01-20", "2024-02-09", true, "7,5")
        .stay(6, "2024-02-12", "2024-02-13", true, "0,5")
        .stay(7, "2024-02-02", "2024-02-12", true, "4")
        .stay(8, "2024-02-06", "2024-02-16", true, "1,5")
        .stay(9, "2024-02-15", "2024-02-20", false, "0");
    fx.ed(10, "2024-01-15").ed(10, "2024-02-29");
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alc_days_pct_reads_decimal_commas_and_suppresses_months_under_six_stays() {
    let l = load(&alc_region()).await;
    compute(&l.warehouse, &["alc_days_pct"]).await;
    let rows = published(&l.warehouse).await;
    let c = |u: &str| cell(&rows, "alc_days_pct", "2024-02-01", u, "all", "all");
    // T01: ALC 2.5 + 0 + 12 + 0 + 7.5 + 0.5 = 22.5 days over 10 + 5 + 20 + 4 + 20 + 1 = 60
    // inpatient days = 37.5 % (6 stays: published; a ratio of sums has no interval).
    // Region: 22.5 + (4 + 1.5 + 0) = 28 ALC days over 60 + 25 = 85 days = 32.941 % (9 stays).
    check(c("region"), 28.0, Some(85.0), 32.941, None);
    assert_eq!((c("region").ci_low, c("region").ci_high), (None, None));
    // T02: 3 stays (5.5 / 25 = 22 %): under 6 stays, suppressed by the cell_count rule. With
    // only two teams, T01's 22.5 / 60 would give T02 away as region minus T01: T01 is
    // suppressed as its complement.
    check_suppressed(c("T02"), "small_count");
    check_suppressed(c("T01"), "complementary");
    // No stay was discharged in January (stay 5 was admitted then, discharged in February).
    no_cell(&rows, "alc_days_pct", "2024-01-01", "region");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alc_days_of_a_suppressed_team_are_not_recoverable_from_the_region() {
    let l = load(&alc_region()).await;
    compute(&l.warehouse, &["alc_days_pct"]).await;
    let rows = published(&l.warehouse).await;
    let c = |u: &str| cell(&rows, "alc_days_pct", "2024-02-01", u, "all", "all");
    let (region, t01, t02) = (c("region"), c("T01"), c("T02"));
    assert!(t02.is_suppressed(), "{}", describe(t02));
    // ALC days and inpatient days are sums over stays: region = T01 + T02. With the region and
    // T01 published, T02's 5.5 ALC days over 25 inpatient days (3 stays) are one subtraction away.
    let leaked = match (
        region.numerator,
        t01.numerator,
        region.denominator,
        t01.denominator,
    ) {
        (Some(rn), Some(tn), Some(rd), Some(td)) => Some((rn - tn, rd - td)),
        _ => None,
    };
    assert_eq!(
        leaked,
        None,
        "T02 (3 stays, suppressed) is recoverable: region - T01 = (ALC days, inpatient days) \
         {leaked:?}; the region or T01 must be suppressed as a complement.\n  {}\n  {}",
        describe(region),
        describe(t01)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Program process: referral to first contact (median, p90), care plans within 30 days
// ---------------------------------------------------------------------------------------------

/// Referrals (span Jan-Jun 2024: ED anchors 01-03 and 06-30; data end 2024-07-01):
///
/// T01, Q1 (persons 1-9): referral -> first contact, enrolment, care plan
///   p1 01-08 -> 01-13 (5 days), enrolled 01-20, plan 02-10 (21 days: within 30)
///   p2 01-15 -> 01-27 (12), enrolled 02-01, plan 03-02 (Feb 1 + 30 days in a leap year: within)
///   p3 02-01 -> 02-03 (2),  enrolled 02-05, plan 03-07 (31 days: not within)
///   p4 02-10 -> 02-18 (8),  enrolled 02-20, no plan
///   p5 02-20 -> 03-12 (21), enrolled 03-15, plan 03-20 (5)
///   p6 03-01 -> 03-05 (4),  enrolled 03-08, plan 03-08 (0)
///   p7 03-10 -> 03-20 (10), enrolled 03-25, plan 04-10 (16)
///   p8 03-20 -> 03-23 (3),  enrolled 03-28, plan 04-20 (23)
///   p9 03-25, no contact yet, not enrolled
/// T02, Q1 (persons 11-16), every plan within 30 days:
///   p11 01-05 -> 01-06 (1), p12 01-20 -> 01-21 (1), p13 02-05 -> 02-07 (2),
///   p14 02-15 -> 03-16 (30), p15 03-01 -> 03-05 (4), p16 03-10 -> 03-16 (6)
/// T03, Q1 (persons 21-23), contacted, never enrolled: 7, 9 and 11 days.
/// T01, Q2: persons 31-35 referred 04-02, contacted 04-05, enrolled 04-10, plan 04-20; p36
///   enrolled 05-31 (+30 days = 06-30 < 07-01: kept), p37 enrolled 06-01 (+30 = 07-01: left out).
fn programme_region() -> Fixture {
    let mut fx = Fixture::default();
    for id in (1..=9)
        .chain(11..=16)
        .chain(21..=23)
        .chain(31..=37)
        .chain([99])
    {
        let team = match id {
            11..=16 => "T02",
            21..=23 => "T03",
            _ => "T01",
        };
        fx.person(id, 1950, "F", team);
    }
    let t01 = [
        (
            1,
            "2024-01-08",
            "2024-01-13",
            "2024-01-20",
            Some("2024-02-10"),
        ),
        (
            2,
            "2024-01-15",
            "2024-01-27",
            "2024-02-01",
            Some("2024-03-02"),
        ),
        (
            3,
            "2024-02-01",
            "2024-02-03",
            "2024-02-05",
            Some("2024-03-07"),
        ),
        (4, "2024-02-10", "2024-02-18", "2024-02-20", None),
        (
            5,
            "2024-02-20",
            "2024-03-12",
            "2024-03-15",
            Some("2024-03-20"),
        ),
        (
            6,
            "2024-03-01",
            "2024-03-05",
            "2024-03-08",
            Some("2024-03-08"),
        ),
        (
            7,
            "2024-03-10",
            "2024-03-20",
            "2024-03-25",
            Some("2024-04-10"),
        ),
        (
            8,
            "2024-03-20",
            "2024-03-23",
            "2024-03-28",
            Some("2024-04-20"),
        ),
    ];
    for (id, r, f, e, p) in t01 {
        fx.referral(id, "T01", r, Some(f), Some(e), p);
    }
    fx.referral(9, "T01", "2024-03-25", None, None, None);
    let t02 = [
        (11, "2024-01-05", "2024-01-06", "2024-01-10", "2024-01-15"),
        (12, "2024-01-20", "2024-01-21", "2024-01-25", "2024-02-01"),
        (13, "2024-02-05", "2024-02-07", "2024-02-10", "2024-02-20"),
        (14, "2024-02-15", "2024-03-16", "2024-03-18", "2024-03-25"),
        (15, "2024-03-01", "2024-03-05", "2024-03-06", "2024-03-10"),
        (16, "2024-03-10", "2024-03-16", "2024-03-20", "2024-04-01"),
    ];
    for (id, r, f, e, p) in t02 {
        fx.referral(id, "T02", r, Some(f), Some(e), Some(p));
    }
    fx.referral(21, "T03", "2024-01-10", Some("2024-01-17"), None, None)
        .referral(22, "T03", "2024-02-10", Some("2024-02-19"), None, None)
        .referral(23, "T03", "2024-03-10", Some("2024-03-21"), None, None);
    for id in 31..=35 {
        fx.referral(
            id,
            "T01",
            "2024-04-02",
            Some("2024-04-05"),
            Some("2024-04-10"),
            Some("2024-04-20"),
        );
    }
    fx.referral(
        36,
        "T01",
        "2024-05-20",
        Some("2024-05-25"),
        Some("2024-05-31"),
        Some("2024-06-15"),
    )
    .referral(
        37,
        "T01",
        "2024-05-25",
        Some("2024-05-28"),
        Some("2024-06-01"),
        Some("2024-06-05"),
    );
    fx.ed(99, "2024-01-03").ed(99, "2024-06-30");
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_delays_and_care_plans_match_hand_computed_quantiles_and_proportions() {
    let l = load(&programme_region()).await;
    compute(
        &l.warehouse,
        &[
            "referral_to_first_contact_days_median",
            "referral_to_first_contact_days_p90",
            "care_plan_within_30d_pct",
        ],
    )
    .await;
    let rows = published(&l.warehouse).await;
    let q1 = "2024-01-01";
    let med = |u: &str| {
        cell(
            &rows,
            "referral_to_first_contact_days_median",
            q1,
            u,
            "all",
            "all",
        )
    };
    let p90 = |u: &str| {
        cell(
            &rows,
            "referral_to_first_contact_days_p90",
            q1,
            u,
            "all",
            "all",
        )
    };

    // Type 7: h = (n - 1) p, Q = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
    // T01 (p9 has no contact: 8 observations), sorted 2 3 4 5 8 10 12 21:
    //   median h = 7 x 0.5 = 3.5 -> 5 + 0.5 x (8 - 5) = 6.5
    //   p90    h = 7 x 0.9 = 6.3 -> 12 + 0.3 x (21 - 12) = 14.7
    check(med("T01"), 8.0, None, 6.5, None);
    check(p90("T01"), 8.0, None, 14.7, None);
    // T02, sorted 1 1 2 4 6 30: median h = 2.5 -> 2 + 0.5 x 2 = 3; p90 h = 4.5 -> 6 + 0.5 x 24 = 18.
    // (T02 is the smallest other team, the complement of the suppressed T03 below: its
    // 6 observations would otherwise give T03's 3 away as 17 - 8 - 6.)
    check_suppressed(med("T02"), "complementary");
    check_suppressed(p90("T02"), "complementary");
    // Region, 17 observations sorted 1 1 2 2 3 4 4 5 6 7 8 9 10 11 12 21 30:
    //   median h = 16 x 0.5 = 8 -> x[8] = 6
    //   p90    h = 16 x 0.9 = 14.4 -> 12 + 0.4 x (21 - 12) = 15.6
    check(med("region"), 17.0, None, 6.0, None);
    check(p90("region"), 17.0, None, 15.6, None);
    // T03: 3 observations, a small count: suppressed.
    check_suppressed(med("T03"), "small_count");
    check_suppressed(p90("T03"), "small_count");

    // Care plans within 30 days, by quarter of enrolment. T01 Q1: 8 enrolments, plans within
    // 30 days for p1, p2 (day 30 counts), p5, p6, p7, p8 = 6 -> 75 %. Wilson for 6 / 8:
    //   root = sqrt(3.841459 + 4 x 6 x 0.25) = sqrt(9.841459) = 3.137110
    //   lower = (12 + 3.841459 - 1.959964 x 3.137110) / (2 x 11.841459) = 9.692836 / 23.682918
    //         = 0.409275; upper = 21.990082 / 23.682918 = 0.928521
    let cp = |p: &str, u: &str| cell(&rows, "care_plan_within_30d_pct", p, u, "all", "all");
    check(cp(q1, "T01"), 6.0, Some(8.0), 75.0, Some((40.928, 92.852)));
    check(cp(q1, "T02"), 6.0, Some(6.0), 100.0, None);
    // Region 12 / 14 = 85.714 %; Wilson: root = sqrt(3.841459 + 48 x 2/14) = sqrt(10.698602)
    //   = 3.270872; lower = (27.841459 - 6.410791) / 35.682918 = 0.600586,
    //   upper = (27.841459 + 6.410791) / 35.682918 = 0.959906.
    check(
        cp(q1, "region"),
        12.0,
        Some(14.0),
        85.714,
        Some((60.059, 95.991)),
    );
    // Q2 (T01): p31-p35 and p36 (enrolled 05-31) count, p37 (enrolled 06-01) is left out: 6 / 6.
    check(cp("2024-04-01", "T01"), 6.0, Some(6.0), 100.0, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_count_of_a_suppressed_team_is_not_recoverable_from_the_region() {
    let l = load(&programme_region()).await;
    compute(&l.warehouse, &["referral_to_first_contact_days_median"]).await;
    let rows = published(&l.warehouse).await;
    let ind = "referral_to_first_contact_days_median";
    let c = |u: &str| cell(&rows, ind, "2024-01-01", u, "all", "all");
    assert!(c("T03").is_suppressed(), "{}", describe(c("T03")));
    // The numerator of a quantile indicator is the number of observations: a count that adds
    // up over teams. Region 17 - T01 8 - T02 6 = T03's 3 referrals, suppressed as a small count.
    let leaked = match (
        c("region").numerator,
        c("T01").numerator,
        c("T02").numerator,
    ) {
        (Some(r), Some(a), Some(b)) => Some(r - a - b),
        _ => None,
    };
    assert_eq!(
        leaked,
        None,
        "T03's suppressed count is recoverable as region - T01 - T02 = {leaked:?}:\n  {}\n  {}\n  {}",
        describe(c("region")),
        describe(c("T01")),
        describe(c("T02"))
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Patient experience
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experience_top_box_and_composite_match_hand_computed_shares() {
    // Twelve responses of T01 in Q1 2024 (A = Always / Toujours, U = Usually / Souvent,
    // S = Sometimes / Parfois, N = Never / Jamais; `N/A`, `S.O.` and blank are not valid):
    //
    // | resp | Q1 | Q2   | Q3 | Q4 | Q5    | Q6 | valid | top | share |
    // |------|----|------|----|----|-------|----|-------|-----|-------|
    // | R01  | A  | A    | A  | A  | A     | A  | 6     | 6   | 1     |
    // | R02  | A  | A    | U  | A  | A     | A  | 6     | 5   | 5/6   |
    // | R03  | A  | N/A  | A  | A  | S     | A  | 5     | 4   | 0.8   |
    // | R04  | A  | A    | A  | U  | U     | A  | 6     | 4   | 4/6   |
    // | R05  | A  | A    | A  | A  | blank | U  | 5     | 4   | 0.8   |
    // | R06  | A  | A    | S  | S  | A     | A  | 6     | 4   | 4/6   |
    // | R07  | A  | N/A  | U  | U  | U     | U  | 5     | 1   | 0.2   |
    // | R08  | A  | A    | A  | A  | A     | A  | 6     | 6   | 1     |
    // | R09  | A  | S.O. | A  | U  | N     | A  | 5     | 3   | 0.6   | (in French)
    // | R10  | U  | A    | A  | A  | A     | A  | 6     | 5   | 5/6   |
    // | R11  | S  | U    | U  | N  | U     | U  | 6     | 0   | 0     |
    // | R12  | N  | A    | A  | A  | A     | A  | 6     | 5   | 5/6   |
    // | R13  | N/A| blank| N/A| N/A| blank | N/A| 0     | -   | -     | (no valid answer)
    let mut fx = Fixture::default();
    let f = "survey_2024Q1.csv";
    let resp: [(&str, &str, [&str; 6]); 13] = [
        (
            "R01",
            "en",
            ["Always", "Always", "Always", "Always", "Always", "Always"],
        ),
        (
            "R02",
            "en",
            ["Always", "Always", "Usually", "Always", "Always", "Always"],
        ),
        (
            "R03",
            "en",
            ["Always", "N/A", "Always", "Always", "Sometimes", "Always"],
        ),
        (
            "R04",
            "en",
            ["Always", "Always", "Always", "Usually", "Usually", "Always"],
        ),
        (
            "R05",
            "en",
            ["Always", "Always", "Always", "Always", "", "Usually"],
        ),
        (
            "R06",
            "en",
            [
                "Always",
                "Always",
                "Sometimes",
                "Sometimes",
                "Always",
                "Always",
            ],
        ),
        (
            "R07",
            "en",
            ["Always", "N/A", "Usually", "Usually", "Usually", "Usually"],
        ),
        (
            "R08",
            "en",
            ["Always", "Always", "Always", "Always", "Always", "Always"],
        ),
        (
            "R09",
            "fr",
            [
                "Toujours", "S.O.", "Toujours", "Souvent", "Jamais", "Toujours",
            ],
        ),
        (
            "R10",
            "en",
            ["Usually", "Always", "Always", "Always", "Always", "Always"],
        ),
        (
            "R11",
            "en",
            [
                "Sometimes",
                "Usually",
                "Usually",
                "Never",
                "Usually",
                "Usually",
            ],
        ),
        (
            "R12",
            "en",
            ["Never", "Always", "Always", "Always", "Always", "Always"],
        ),
        ("R13", "en", ["N/A", "", "N/A", "N/A", "", "N/A"]),
    ];
    for (k, (id, lang, answers)) in resp.into_iter().enumerate() {
        let day = format!("2024-02-{:02}", k + 1);
        fx.survey(f, id, "T01", &day, lang, answers);
    }
    fx.person(1, 1970, "F", "T01");
    fx.ed(1, "2024-01-04").ed(1, "2024-03-31");
    let l = load(&fx).await;
    compute(
        &l.warehouse,
        &["experience_top_box_pct", "experience_composite_pct"],
    )
    .await;
    let rows = published(&l.warehouse).await;
    let q1 = "2024-01-01";
    let item = |u: &str, q: &str| cell(&rows, "experience_top_box_pct", q1, u, "item", q);

    // Per item, "Always" over valid answers (Wilson, z^2 = 3.841459):
    //   Q1: 9 / 12 = 75 %     root = sqrt(3.841459 + 36 x 0.25) = 3.583498
    //       lower = (21.841459 - 7.023527) / 31.682918 = 0.467695; upper = 0.911058
    //   Q3: 8 / 12 = 66.667 %; Q4: 7 / 12 = 58.333 %; Q6: 9 / 12 = 75 %
    //   Q5: 6 / 11 = 54.545 % (R05's blank is not an answer)
    for unit in ["region", "T01"] {
        check(
            item(unit, "Q1"),
            9.0,
            Some(12.0),
            75.0,
            Some((46.769, 91.106)),
        );
        check(item(unit, "Q3"), 8.0, Some(12.0), 66.667, None);
        check(item(unit, "Q4"), 7.0, Some(12.0), 58.333, None);
        check(item(unit, "Q5"), 6.0, Some(11.0), 54.545, None);
        check(item(unit, "Q6"), 9.0, Some(12.0), 75.0, None);
        // Q2: N/A (R03, R07), S.O. (R09) and blank (R13) leave 9 valid answers (8 "Always"):
        // fewer than 10, not reported.
        check_suppressed(item(unit, "Q2"), "below_minimum_denominator");
    }
    // No pooled "all" stratum for items (include_total: false).
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == "experience_top_box_pct" && r.stratum_dimension == "all")
    );

    // Composite: mean of the respondents' shares (R13 has no valid answer and does not count):
    //   1 + 5/6 + 0.8 + 4/6 + 0.8 + 4/6 + 0.2 + 1 + 0.6 + 5/6 + 0 + 5/6
    //   = 2 + 2.4 + 3 x 5/6 + 2 x 4/6 = 2 + 2.4 + 2.5 + 1.333333 = 8.233333 over 12 respondents
    //   = 68.611 %. Wilson with x = 8.233333, n = 12:
    //   root = sqrt(3.841459 + 4 x 8.233333 x (1 - 0.686111)) = sqrt(14.178866) = 3.765483
    //   lower = (16.466667 + 3.841459 - 7.380209) / 31.682918 = 0.408040
    //   upper = (20.308126 + 7.380209) / 31.682918 = 0.873920
    for unit in ["region", "T01"] {
        let r = cell(&rows, "experience_composite_pct", q1, unit, "all", "all");
        // 8.233333 = 247/30 exactly.
        check(r, 247.0 / 30.0, Some(12.0), 68.611, Some((40.804, 87.392)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experience_items_are_scored_on_their_own_scale_and_top_box() {
    // Fourteen responses of T01 in Q2 2024, in French and in English, answering Q1 (4-point
    // frequency scale, top box "Always" / « Toujours »), Q7 (5-point rating scale, top box
    // "Excellent") and Q8 (0-10, top box 9 and 10); Q2..Q6 left blank (missing):
    //
    // | resp | lang | respondent    | Q1        | Q7        | Q8    | top / valid | share |
    // |------|------|---------------|-----------|-----------|-------|-------------|-------|
    // | R01  | en   | patient       | Always*   | Excellent*| 10*   | 3 / 3       | 1     |
    // | R02  | fr   | patient       | Toujours* | Excellent*| 9*    | 3 / 3       | 1     |
    // | R03  | en   | caregiver     | Usually   | Very good | 8     | 0 / 3       | 0     |
    // | R04  | fr   | proche aidant | Toujours* | Très bon  | 10*   | 2 / 3       | 2/3   |
    // | R05  | en   | proxy         | Always*   | Excellent*| 9*    | 3 / 3       | 1     |
    // | R06  | fr   | mandataire    | Souvent   | Excellent*| 7     | 1 / 3       | 1/3   |
    // | R07  | en   | (not sent)    | N/A       | Good      | 9*    | 1 / 2       | 1/2   |
    // | R08  | fr   | patiente      | S.O.      | Excellent*| 10*   | 2 / 2       | 1     |
    // | R09  | en   | patient       | Always*   | Excellent*| 9*    | 3 / 3       | 1     |
    // | R10  | fr   | patient       | Toujours* | Bon       | 6     | 1 / 3       | 1/3   |
    // | R11  | en   | patient       | Sometimes | Excellent*| blank | 1 / 2       | 1/2   |
    // | R12  | fr   | patient       | Toujours* | Excellent*| 10*   | 3 / 3       | 1     |
    // | R13  | en   | patient       | Always*   | Fair      | 9*    | 2 / 3       | 2/3   |
    // | R14  | fr   | (not sent)    | Jamais    | Passable  | 0     | 0 / 3       | 0     |
    //
    // (* top box). "Très bon" / "Very good" is 4 on the rating scale: not its top box, though
    // 4 is the frequency scale's; 8 on the 0-10 scale is not a top box either.
    let mut fx = Fixture::default();
    let f = "survey_2024Q2.csv";
    let resp: [(&str, &str, &str, [&str; 3]); 14] = [
        ("R01", "en", "patient", ["Always", "Excellent", "10"]),
        ("R02", "fr", "patient", ["Toujours", "Excellent", "9"]),
        ("R03", "en", "caregiver", ["Usually", "Very good", "8"]),
        ("R04", "fr", "proche aidant", ["Toujours", "Très bon", "10"]),
        ("R05", "en", "proxy", ["Always", "Excellent", "9"]),
        ("R06", "fr", "mandataire", ["Souvent", "Excellent", "7"]),
        ("R07", "en", "", ["N/A", "Good", "9"]),
        ("R08", "fr", "patiente", ["S.O.", "Excellent", "10"]),
        ("R09", "en", "patient", ["Always", "Excellent", "9"]),
        ("R10", "fr", "patient", ["Toujours", "Bon", "6"]),
        ("R11", "en", "patient", ["Sometimes", "Excellent", ""]),
        ("R12", "fr", "patient", ["Toujours", "Excellent", "10"]),
        ("R13", "en", "patient", ["Always", "Fair", "9"]),
        ("R14", "fr", "", ["Jamais", "Passable", "0"]),
    ];
    for (k, (id, lang, who, [q1, q7, q8])) in resp.into_iter().enumerate() {
        let day = format!("2024-05-{:02}", k + 1);
        fx.survey_all(
            f,
            id,
            "T01",
            &day,
            (lang, who),
            [q1, "", "", "", "", "", q7, q8],
        );
    }
    fx.person(1, 1970, "F", "T01");
    fx.ed(1, "2024-04-02").ed(1, "2024-06-30");
    let l = load(&fx).await;

    // Stored answers: 14 responses x 8 items = 112 rows. Valid: Q1 12 (two not applicable),
    // Q7 14, Q8 13 (R11 blank) = 39; not applicable: 2; missing: Q2..Q6 5 x 14 = 70, plus
    // R11's Q8 = 71. Respondent types: patient R01, R02, R08 (« patiente »), R09..R13 = 8
    // responses; caregiver R03, R04 = 2; proxy R05, R06 = 2; not sent R07, R14 = 2.
    let statuses = query(
        &l.warehouse,
        "SELECT answer_status, count(*) FROM survey_response GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(
        pairs(&statuses),
        owned(&[("missing", 71), ("not_applicable", 2), ("valid", 39)])
    );
    let who = query(
        &l.warehouse,
        "SELECT coalesce(respondent_type, '(none)'), count(DISTINCT response_id) FROM survey_response GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(
        pairs(&who),
        owned(&[
            ("(none)", 2),
            ("caregiver", 2),
            ("patient", 8),
            ("proxy", 2)
        ])
    );

    compute(
        &l.warehouse,
        &["experience_top_box_pct", "experience_composite_pct"],
    )
    .await;
    let rows = published(&l.warehouse).await;
    let q2 = "2024-04-01";
    let item = |u: &str, q: &str| cell(&rows, "experience_top_box_pct", q2, u, "item", q);
    // Q1: Always / Toujours R01, R02, R04, R05, R09, R10, R12, R13 = 8 of 12 valid.
    // Q7: Excellent R01, R02, R05, R06, R08, R09, R11, R12 = 8 of 14 (R03's and R04's
    //     "Very good" / « Très bon » = 4 do not count).
    // Q8: 9 or 10 R01, R02, R04, R05, R07, R08, R09, R12, R13 = 9 of 13 valid.
    //     Wilson, z^2 = 3.841459: root = sqrt(3.841459 + 4 x 9 x 4 / 13) = 3.862432,
    //     z x root = 7.570231; lower = (21.841459 - 7.570231) / 33.682918 = 0.423693,
    //     upper = (21.841459 + 7.570231) / 33.682918 = 0.873193.
    for unit in ["region", "T01"] {
        check(item(unit, "Q1"), 8.0, Some(12.0), 66.667, None);
        check(item(unit, "Q7"), 8.0, Some(14.0), 57.143, None);
        check(
            item(unit, "Q8"),
            9.0,
            Some(13.0),
            69.231,
            Some((42.369, 87.319)),
        );
    }
    // Items without a valid answer have no cell.
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == "experience_top_box_pct" && r.stratum_value == "Q2"),
        "Q2 was never answered"
    );
    // Composite: the shares of the table sum to 6 x 1 + (2/3 + 1/3 + 1/3 + 2/3) + 2 x 1/2
    // = 9 over 14 respondents = 64.286 %. Wilson with x = 9, n = 14:
    //   root = sqrt(3.841459 + 4 x 9 x 5 / 14) = 4.086392, z x root = 8.009175;
    //   lower = (21.841459 - 8.009175) / 35.682918 = 0.387644; upper = 0.836553.
    for unit in ["region", "T01"] {
        let r = cell(&rows, "experience_composite_pct", q2, unit, "all", "all");
        check(r, 9.0, Some(14.0), 64.286, Some((38.764, 83.655)));
    }
}

fn owned(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

/// (text, count) pairs of a two-column result.
fn pairs(batches: &[arrow::record_batch::RecordBatch]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in batches {
        let text = cast(b.column(0), &DataType::Utf8).expect("text");
        let n = cast(b.column(1), &DataType::Int64).expect("count");
        let n = n.as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            out.push((text.as_string::<i32>().value(i).to_string(), n.value(i)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 7. Data quality
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_quality_indicators_count_the_known_bad_rows() {
    // Registry: 40 good rows. Hôpital B: 10 good rows (6 ED episodes, 4 stays).
    // Hospital A: 20 rows in January and 20 in February (40), 6 of them bad:
    //   January: person 1 without ARRIVAL_DATE, person 2 without FACILITY_ID, person 3
    //            without both; February: person 4 without ARRIVAL_DATE, person 5 without
    //            FACILITY_ID, person 6 with triage 9 (out of range 1..5).
    let mut fx = Fixture::default();
    for id in 1..=40 {
        fx.person(id, 1960, if id % 2 == 0 { "F" } else { "M" }, "T01");
    }
    let good = |fx: &mut Fixture, id: u32, date: &str| {
        fx.ed(id, date);
    };
    fx.ed_raw(
        "202401",
        &[&hcn(1), "", "0900", "HA-01", "3", "01", "R07.4"],
    )
    .ed_raw(
        "202401",
        &[&hcn(2), "2024-01-05", "0900", "", "3", "01", "R07.4"],
    )
    .ed_raw("202401", &[&hcn(3), "", "0900", "", "3", "01", "R07.4"])
    .ed_raw(
        "202402",
        &[&hcn(4), "", "0900", "HA-01", "3", "01", "R07.4"],
    )
    .ed_raw(
        "202402",
        &[&hcn(5), "2024-02-05", "0900", "", "3", "01", "R07.4"],
    )
    .ed_raw(
        "202402",
        &[&hcn(6), "2024-02-06", "0900", "HA-02", "9", "01", "R07.4"],
    );
    for id in 10..27 {
        good(&mut fx, id, "2024-01-10");
    }
    for id in 10..26 {
        good(&mut fx, id, "2024-02-10");
    }
    good(&mut fx, 30, "2024-02-29");
    for id in 31..=36 {
        fx.urg(id, "2024-01-20");
    }
    for id in 31..=34 {
        fx.stay(id, "2024-01-22", "2024-01-26", true, "1,5");
    }
    assert_eq!(fx.hospital_a.values().map(Vec::len).sum::<usize>(), 40);
    let l = load(&fx).await;
    compute(
        &l.warehouse,
        &["dq_rows_rejected_pct", "dq_completeness_pct"],
    )
    .await;
    let rows = published(&l.warehouse).await;
    let span = "2024-01-01";
    let rej = |v: &str| {
        let dim = if v == "all" { "all" } else { "source" };
        cell(&rows, "dq_rows_rejected_pct", span, "region", dim, v)
    };
    // Rows rejected / rows read, Wilson:
    //   hospital A 6 / 40 = 15 %: root = sqrt(3.841459 + 24 x 0.85) = sqrt(24.241459) = 4.923562
    //     lower = (15.841459 - 9.649991) / 87.682918 = 0.070612; upper = 25.491450 / 87.682918
    //     = 0.290723
    //   registry 0 / 40 = 0 % (upper = 7.682918 / 87.682918 = 0.087622); Hôpital B 0 / 10
    //   all sources 6 / 90 = 6.667 %: root = sqrt(3.841459 + 24 x 0.933333) = sqrt(26.241459)
    //     = 5.122642; lower = (15.841459 - 10.040196) / 187.682918 = 0.030910,
    //     upper = (15.841459 + 10.040196) / 187.682918 = 0.137901
    check(
        rej("hospital_a_ed"),
        6.0,
        Some(40.0),
        15.0,
        Some((7.061, 29.072)),
    );
    check(
        rej("registre_population"),
        0.0,
        Some(40.0),
        0.0,
        Some((0.0, 8.762)),
    );
    check(rej("hopital_b_episodes"), 0.0, Some(10.0), 0.0, None);
    check(rej("all"), 6.0, Some(90.0), 6.667, Some((3.091, 13.790)));
    assert_eq!(
        rej("hospital_a_ed").target_status.map(|s| s.code()),
        Some("not_met")
    );
    assert_eq!(
        rej("registre_population").target_status.map(|s| s.code()),
        Some("met")
    );
    // Completeness: rows read minus rows missing the value, per mandatory column with gaps:
    //   arrival missing on 3 rows (persons 1, 3, 4), facility on 3 (persons 2, 3, 5):
    //   37 / 40 = 92.5 % each (Wilson: root = sqrt(3.841459 + 148 x 0.075) = sqrt(14.941459)
    //   = 3.865425; lower = (77.841459 - 7.576095) / 87.682918 = 0.801358, upper =
    //   (77.841459 + 7.576095) / 87.682918 = 0.974164); the triage row is rejected but no
    //   value is missing. Sources without gaps: 100 %.
    let comp = |item: &str| cell(&rows, "dq_completeness_pct", span, "region", "item", item);
    check(
        comp("hospital_a_ed.ARRIVAL_DATE+ARRIVAL_TIME"),
        37.0,
        Some(40.0),
        92.5,
        Some((80.136, 97.416)),
    );
    check(
        comp("hospital_a_ed.FACILITY_ID"),
        37.0,
        Some(40.0),
        92.5,
        None,
    );
    check(
        comp("registre_population.(all mandatory fields)"),
        40.0,
        Some(40.0),
        100.0,
        None,
    );
    check(
        comp("hopital_b_episodes.(all mandatory fields)"),
        10.0,
        Some(10.0),
        100.0,
        None,
    );
    let items: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.indicator == "dq_completeness_pct")
        .map(|r| r.stratum_value.as_str())
        .collect();
    assert_eq!(items.len(), 4, "{items:?}");
    let _ = &l.landing;
}

// ---------------------------------------------------------------------------------------------
// 8. Disclosure on whole published outputs of random small regions
// ---------------------------------------------------------------------------------------------

/// A synthetic region ingested and computed with the whole catalogue; its published results.
async fn synthetic_published(persons: u64, seed: u64) -> Vec<IndicatorResult> {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    let t = Instant::now();
    // 18 months instead of 36: the cost of an ingest is per file (two hospital files a month),
    // and 18 months still give six months of program eligibility (from month 13 on).
    let cfg = vigie_synth::SynthConfig {
        persons,
        seed,
        months: 18,
        ..vigie_synth::SynthConfig::default()
    };
    vigie_synth::generate(&cfg, &landing).expect("synthetic region");
    let t_synth = t.elapsed().as_secs_f64();
    ingest_into(&landing, &wh).await.expect("ingest");
    let t_ingest = t.elapsed().as_secs_f64();
    let report = compute(&wh, &[]).await;
    let t_compute = t.elapsed().as_secs_f64();
    assert!(
        report.indicators.len() >= 20,
        "{:?}",
        report.indicators.keys()
    );
    let rows = published(&wh).await;
    println!(
        "  [{persons} persons] synth {t_synth:.1}s, ingest {:.1}s, compute {:.1}s, publish {:.1}s; slowest: {:?}",
        t_ingest - t_synth,
        t_compute - t_ingest,
        t.elapsed().as_secs_f64() - t_compute,
        report
            .indicators
            .iter()
            .map(|(k, v)| (k.as_str(), (v.1 * 10.0).round() / 10.0))
            .filter(|x| x.1 > 0.3)
            .collect::<Vec<_>>()
    );
    rows
}

const RANDOM_REGIONS: [(u64, u64); 3] = [(300, 8101), (550, 8202), (800, 8303)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_output_of_random_small_regions_never_discloses_a_small_count() {
    // `published` checks every row: no visible count in 1..=5, suppressed rows empty, and no
    // additive set (teams -> region, strata -> all) with a single hidden cell.
    for (persons, seed) in RANDOM_REGIONS {
        let rows = synthetic_published(persons, seed).await;
        let hidden = |reason: &str| {
            rows.iter()
                .filter(|r| r.suppression_reason.map(|s| s.code()) == Some(reason))
                .count()
        };
        let (small, complementary, below) = (
            hidden("small_count"),
            hidden("complementary"),
            hidden("below_minimum_denominator"),
        );
        println!(
            "region of {persons} persons (seed {seed}): {} published rows, suppressed: {small} \
             small counts, {complementary} complements, {below} below minimum denominators",
            rows.len()
        );
        // The property is not vacuous: small regions have small cells, and the gate had to
        // protect some of them with complements.
        assert!(small > 0 && complementary > 0, "nothing to protect?");
        let team_hidden = rows
            .iter()
            .filter(|r| {
                r.additive && r.org_level == vigie_disclosure::OrgLevel::Team && r.is_suppressed()
            })
            .count();
        assert!(team_hidden > 0);
        // Visible cells still carry their numbers.
        assert!(
            rows.iter()
                // A disparity carries no count, and no value where undefined (no events).
                .filter(|r| !r.is_suppressed() && !r.indicator.contains("__"))
                .all(|r| r.numerator.is_some() || r.value.is_some()),
            "a visible cell without numbers"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Recomputing a period replaces its results
// ---------------------------------------------------------------------------------------------

async fn duplicate_keys(warehouse: &Path) -> i64 {
    count(
        warehouse,
        "SELECT count(*) FROM (SELECT indicator, period_start, org_unit, stratum_dimension, \
         stratum_value FROM indicator_results GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1)",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recomputing_one_month_replaces_exactly_its_results() {
    let l = load(&ed_region()).await;
    let ids = ["ed_visits_per_1000", "dq_rows_rejected_pct"];
    let first = compute(&l.warehouse, &ids).await;
    let before = published(&l.warehouse).await;
    let rows_total = count(&l.warehouse, "SELECT count(*) FROM indicator_results").await;
    assert_eq!(duplicate_keys(&l.warehouse).await, 0);

    // Hospital A re-sends February without the three visits of T02's men (persons 31-33), then
    // February alone is recomputed.
    let feb = l.landing.join("hospital_a/ed_visits_202402.csv");
    let text = std::fs::read_to_string(&feb).expect("read");
    let dropped: String = text
        .split_inclusive('\n')
        .filter(|line| ![31, 32, 33].iter().any(|id| line.contains(&hcn(*id))))
        .collect();
    assert_eq!(dropped.lines().count() + 3, text.lines().count());
    std::fs::write(
        l.landing.join("hospital_a/ed_visits_202402_v2.csv"),
        dropped,
    )
    .expect("write");
    let again = ingest_into(&l.landing, &l.warehouse).await.expect("ingest");
    assert_eq!(again.files.len(), 1, "{:?}", again.files);
    let second = compute_range(
        &l.warehouse,
        &ids,
        Some(d("2024-02-01")),
        Some(d("2024-03-01")),
    )
    .await;
    assert_eq!(
        (second.from, second.to),
        (Some(d("2024-02-01")), Some(d("2024-03-01")))
    );
    assert_ne!(first.run_id, second.run_id);

    let after = published(&l.warehouse).await;
    assert_eq!(
        duplicate_keys(&l.warehouse).await,
        0,
        "no duplicated result key"
    );
    assert_eq!(
        count(&l.warehouse, "SELECT count(*) FROM indicator_results").await,
        rows_total,
        "same cells, replaced not added"
    );
    let ed = "ed_visits_per_1000";
    for r in after.iter().filter(|r| r.indicator == ed) {
        let expected = if r.period_start == d("2024-02-01") {
            &second.run_id
        } else {
            &first.run_id
        };
        assert_eq!(&r.run_id, expected, "run of {}", key(r));
    }
    // Span indicators are replaced whole by any run that computes them.
    for r in after
        .iter()
        .filter(|r| r.indicator == "dq_rows_rejected_pct")
    {
        assert_eq!(r.run_id, second.run_id, "{}", key(r));
    }
    // February now: 17 - 3 = 14 visits; T02 men 0 / 10 (zero: visible again).
    let c = |rows: &[IndicatorResult], p: &str, u: &str, dim: &str, v: &str| {
        cell(rows, ed, p, u, dim, v).clone()
    };
    check(
        &c(&after, "2024-02-01", "region", "all", "all"),
        14.0,
        Some(40.0),
        350.0,
        None,
    );
    check(
        &c(&after, "2024-02-01", "T02", "sex", "M"),
        0.0,
        Some(10.0),
        0.0,
        None,
    );
    // January and March are untouched, to the last field.
    for p in ["2024-01-01", "2024-03-01"] {
        let old: Vec<_> = before
            .iter()
            .filter(|r| r.indicator == ed && r.period_start == d(p))
            .collect();
        let new: Vec<_> = after
            .iter()
            .filter(|r| r.indicator == ed && r.period_start == d(p))
            .collect();
        assert_eq!(old.len(), new.len(), "{p}");
        for o in old {
            let n = cell(
                &after,
                ed,
                p,
                &o.org_unit,
                &o.stratum_dimension,
                &o.stratum_value,
            );
            assert_eq!(o, n, "{p} untouched");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recomputing_one_month_keeps_the_quarter_that_starts_in_it() {
    let l = load(&programme_region()).await;
    let ind = "care_plan_within_30d_pct";
    compute(&l.warehouse, &[ind]).await;
    let rows = published(&l.warehouse).await;
    let q2 = cell(&rows, ind, "2024-04-01", "T01", "all", "all").clone();
    check(&q2, 6.0, Some(6.0), 100.0, None);
    // Recompute April only (e.g. after a correction of April's ED extract).
    compute_range(
        &l.warehouse,
        &[ind],
        Some(d("2024-04-01")),
        Some(d("2024-05-01")),
    )
    .await;
    let rows = published(&l.warehouse).await;
    let q2_rows: Vec<String> = rows
        .iter()
        .filter(|r| r.indicator == ind && r.period_start == d("2024-04-01"))
        .map(describe)
        .collect();
    assert!(
        !q2_rows.is_empty(),
        "the Q2 2024 results of {ind} were deleted by a recompute of April 2024 and not written \
         back (Q2 does not fit in [2024-04-01, 2024-05-01), but its period_start does)"
    );
}

/// A weekly refresh after the month's data changed must leave the results exactly as a full
/// compute of the same warehouse does — the quarter and the year holding the month included:
/// their results depend on it (a recompute of the month's cells alone left them stale).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_refresh_after_new_data_equals_a_full_compute() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 3_000, 12);
    // Month to date: the last month's hospital extracts cut to their first half of lines
    // (hospitals send the month so far each week; the complete month replaces it).
    let mut complete: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for dir in ["hospital_a", "hopital_b"] {
        let last = std::fs::read_dir(landing.join(dir))
            .expect("hospital folder")
            .map(|e| e.expect("entry").path())
            .max()
            .expect("a monthly file");
        let bytes = std::fs::read(&last).expect("extract");
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let cut: Vec<u8> = lines[..1 + (lines.len() - 1) / 2].concat();
        std::fs::write(&last, &cut).expect("month to date");
        complete.push((last, bytes));
    }
    ingest_into(&landing, &wh).await.expect("ingest");
    let first = compute(&wh, &[]).await;
    let last_month = first
        .to
        .and_then(|t| t.checked_sub_months(chrono::Months::new(1)))
        .expect("a last complete month");
    let before = published(&wh).await;
    // A recompute from the month the data do not complete yet (the weekly run before the
    // month's end): no period is computed, and every published period stays as it was.
    let month_to_date = compute_range(&wh, &[], first.to, None).await;
    assert!(
        month_to_date.from >= month_to_date.to,
        "an empty range: {:?}..{:?}",
        month_to_date.from,
        month_to_date.to
    );
    let periodic = |rows: &[IndicatorResult]| -> BTreeMap<String, String> {
        rows.iter()
            .filter(|r| !r.indicator.starts_with("dq_"))
            .map(|r| (key(r), describe(r)))
            .collect()
    };
    assert_eq!(
        periodic(&published(&wh).await),
        periodic(&before),
        "a recompute of an incomplete month changed published periods"
    );
    assert!(!periodic(&before).is_empty());
    for (path, bytes) in &complete {
        std::fs::write(path, bytes).expect("the complete month lands");
    }
    ingest_into(&landing, &wh).await.expect("weekly ingest");
    let weekly = compute_range(&wh, &[], Some(last_month), None).await;
    let after_weekly = published(&wh).await;
    let full = compute(&wh, &[]).await;
    let after_full = published(&wh).await;
    assert_ne!(weekly.run_id, full.run_id);

    let builtin: BTreeSet<String> = load_catalogue(&repo().join("queries"))
        .expect("catalogue")
        .into_iter()
        .filter(|d| d.meta.method.is_builtin())
        .map(|d| d.meta.id)
        .collect();
    let index = |rows: &[IndicatorResult]| -> BTreeMap<String, IndicatorResult> {
        rows.iter()
            .filter(|r| !builtin.contains(&r.indicator))
            .map(|r| (key(r), r.clone()))
            .collect()
    };
    let (weekly_rows, full_rows, old_rows) =
        (index(&after_weekly), index(&after_full), index(&before));
    assert_eq!(
        weekly_rows.keys().collect::<Vec<_>>(),
        full_rows.keys().collect::<Vec<_>>(),
        "the same cells after the weekly refresh as after a full compute"
    );
    let (mut longer, mut changed_longer) = (0, 0);
    for (k, f) in &full_rows {
        let w = &weekly_rows[k];
        // Equal but for the order of a floating-point sum (a mean of respondents' fractional
        // scores is summed in whatever order the partitions deliver them).
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
            (a, b) => a == b,
        };
        assert!(
            close(w.numerator, f.numerator)
                && close(w.denominator, f.denominator)
                && close(w.value, f.value)
                && close(w.ci_low, f.ci_low)
                && close(w.ci_high, f.ci_high),
            "{k}: weekly {} vs full {}",
            describe(w),
            describe(f)
        );
        assert_eq!(
            w.is_suppressed(),
            f.is_suppressed(),
            "{k}: disclosure verdict"
        );
        // Limits of the periods a refresh recomputes rest on the whole series, as a full
        // compute's; the stored periods before them keep the limits they were published
        // with (a refresh does not rewrite history).
        if w.run_id == weekly.run_id {
            assert!(
                close(w.spc_centre, f.spc_centre)
                    && close(w.spc_lower, f.spc_lower)
                    && close(w.spc_upper, f.spc_upper)
                    && w.spc_signal == f.spc_signal,
                "{k}: SPC limits {:?} vs {:?}",
                (w.spc_centre, w.spc_lower, w.spc_upper, &w.spc_signal),
                (f.spc_centre, f.spc_lower, f.spc_upper, &f.spc_signal)
            );
        }
        let holds_last_month = matches!(
            f.period_type,
            vigie_indicators::PeriodType::Quarter | vigie_indicators::PeriodType::Year
        ) && f.period_start <= last_month
            && f.period_end >= last_month;
        if holds_last_month {
            longer += 1;
            assert_eq!(
                w.run_id, weekly.run_id,
                "{k}: recomputed by the weekly refresh"
            );
            let old = old_rows.get(k);
            changed_longer += usize::from(old.is_none_or(|o| o.value != f.value));
        }
    }
    assert!(longer > 0, "quarters or years hold the refreshed month");
    assert!(
        changed_longer > 0,
        "the new data changes some quarter or year holding the month (else this test shows nothing)"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Program evaluation against the known truth
// ---------------------------------------------------------------------------------------------

/// Persons of the headline region.
const HEADLINE_PERSONS: u64 = 20_000;
const HEADLINE_SEED: u64 = 4_242;
const PROGRAM_IDS: [&str; 5] = [
    "program_ed_change_adjusted",
    "program_ed_change_naive",
    "program_admission_change_adjusted",
    "program_admission_change_naive",
    "high_users_enrolled_pct",
];

fn dates_of(batches: &[arrow::record_batch::RecordBatch], col: usize) -> Vec<Option<NaiveDate>> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column(col), &DataType::Date32).expect("date");
        let a = a.as_primitive::<Date32Type>();
        for i in 0..a.len() {
            out.push(
                (!a.is_null(i))
                    .then(|| NaiveDate::default() + chrono::Duration::days(i64::from(a.value(i)))),
            );
        }
    }
    out
}

fn keys_of(batches: &[arrow::record_batch::RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column(0), &DataType::Utf8).expect("text");
        let a = a.as_string::<i32>();
        out.extend((0..a.len()).map(|i| a.value(i).to_string()));
    }
    out
}

/// ED visit days per person.
async fn ed_days(warehouse: &Path) -> HashMap<String, Vec<NaiveDate>> {
    let batches = query(
        warehouse,
        "SELECT person_key, CAST(arrival AS DATE) AS day FROM ed_visit",
    )
    .await;
    let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for (k, day) in keys_of(&batches).into_iter().zip(dates_of(&batches, 1)) {
        out.entry(k).or_default().push(day.expect("arrival"));
    }
    out
}

/// The true effect on the treated of estimand (b), from the two worlds:
/// participants = eligible persons (the with-program `worklist`, time zero `e` = eligibility
/// date) whose first PSM enrolment falls in `[e, e + 90]`; follow-up `[e, e + 365)` cut at
/// the day after death and at `data_end`; fewer than 90 follow-up days: excluded. Person-time
/// is the same in both worlds, so the ratio of follow-up ED visits is the rate ratio.
/// Returns (effect, participants, visits with the program, visits without, comparison pool:
/// eligible persons not enrolled by `e + 365` with 90 days of follow-up).
async fn true_effect(
    with: &Path,
    without: &Path,
    data_end: NaiveDate,
) -> (f64, usize, usize, usize, usize) {
    let batches = query(
        with,
        "WITH firsts AS (\
            SELECT person_key, min(enrolment_date) AS enrolled FROM enrolment \
            WHERE program = 'PSM' AND enrolment_date IS NOT NULL GROUP BY person_key) \
         SELECT w.person_key, w.eligibility_date, f.enrolled, p.death_date \
         FROM worklist AS w JOIN person AS p ON p.person_key = w.person_key \
         LEFT JOIN firsts AS f ON f.person_key = w.person_key",
    )
    .await;
    let keys = keys_of(&batches);
    let (elig, enrolled, death) = (
        dates_of(&batches, 1),
        dates_of(&batches, 2),
        dates_of(&batches, 3),
    );
    let (ed_with, ed_without) = (ed_days(with).await, ed_days(without).await);
    let days = chrono::Duration::days;
    let (mut n, mut with_visits, mut without_visits, mut pool) = (0, 0, 0, 0);
    for i in 0..keys.len() {
        let e = elig[i].expect("eligibility date");
        let mut end = (e + days(365)).min(data_end);
        if let Some(death) = death[i] {
            end = end.min(death + days(1));
        }
        if (end - e).num_days() < 90 {
            continue;
        }
        let Some(enrolment) = enrolled[i] else {
            pool += 1;
            continue;
        };
        if enrolment > e + days(365) {
            pool += 1;
        }
        if enrolment < e || enrolment > e + days(90) {
            continue;
        }
        let in_window = |m: &HashMap<String, Vec<NaiveDate>>| {
            m.get(&keys[i]).map_or(0, |v| {
                v.iter().filter(|day| **day >= e && **day < end).count()
            })
        };
        n += 1;
        with_visits += in_window(&ed_with);
        without_visits += in_window(&ed_without);
    }
    assert!(
        n > 50 && without_visits > 0,
        "participants {n}, visits {without_visits}"
    );
    (
        with_visits as f64 / without_visits as f64 - 1.0,
        n,
        with_visits,
        without_visits,
        pool,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_evaluation_recovers_the_known_effect_the_naive_figure_overstates() {
    let t = Instant::now();
    let dir = tempfile::tempdir().expect("tmp");
    let mut worlds = Vec::new();
    for (name, effect) in [("with", -0.25), ("without", 0.0)] {
        let (landing, wh) = (
            dir.path().join(format!("landing_{name}")),
            dir.path().join(format!("warehouse_{name}")),
        );
        let cfg = vigie_synth::SynthConfig {
            persons: HEADLINE_PERSONS,
            seed: HEADLINE_SEED,
            program_effect: effect,
            bad_row_rate: 0.0,
            ..vigie_synth::SynthConfig::default()
        };
        let summary = vigie_synth::generate(&cfg, &landing).expect("synthetic region");
        // The program indicators do not read the survey: its 12 quarterly files are left out
        // to keep the ingest (whose cost is per file) short.
        std::fs::remove_dir_all(landing.join("sondage")).expect("remove survey files");
        let t_synth = t.elapsed().as_secs_f64();
        ingest_into(&landing, &wh).await.expect("ingest");
        let t_ingest = t.elapsed().as_secs_f64();
        let report = compute(&wh, &PROGRAM_IDS).await;
        println!(
            "world {name} (program_effect {effect}): {:?}; synth done at {t_synth:.1}s, ingest \
             at {t_ingest:.1}s, compute at {:.1}s",
            summary.totals,
            t.elapsed().as_secs_f64()
        );
        worlds.push((wh, report));
    }
    let (with, without) = (&worlds[0], &worlds[1]);
    assert_eq!(with.1.to, Some(d("2026-01-01")), "36 months from 2023-01");
    let (truth, n, visits_with, visits_without, pool) =
        true_effect(&with.0, &without.0, d("2026-01-01")).await;

    let rows = published(&with.0).await;
    let rows0 = published(&without.0).await;
    let get = |rows: &[IndicatorResult], id: &str| {
        cell(rows, id, "2023-01-01", "region", "program", "PSM").clone()
    };
    let show = |r: &IndicatorResult| {
        format!(
            "{:+.1} % [{:+.1}, {:+.1}] (participants {:?}, comparison {:?})",
            r.value.unwrap_or(f64::NAN),
            r.ci_low.unwrap_or(f64::NAN),
            r.ci_high.unwrap_or(f64::NAN),
            r.numerator,
            r.denominator
        )
    };
    let adjusted = get(&rows, "program_ed_change_adjusted");
    let naive = get(&rows, "program_ed_change_naive");
    let enrolled = cell(
        &rows,
        "high_users_enrolled_pct",
        "2023-01-01",
        "region",
        "all",
        "all",
    );
    println!(
        "TRUE effect on the treated, ED visits: {:+.1} % ({n} participants, follow-up visits {visits_with} with the program vs {visits_without} without)",
        100.0 * truth
    );
    println!(
        "comparison pool (eligible, not enrolled within 365 days, >= 90 days of follow-up): {pool}"
    );
    println!("adjusted (b), ED:         {}", show(&adjusted));
    println!("naive (a), ED:            {}", show(&naive));
    println!(
        "adjusted (b), admissions: {}",
        show(&get(&rows, "program_admission_change_adjusted"))
    );
    println!(
        "naive (a), admissions:    {}",
        show(&get(&rows, "program_admission_change_naive"))
    );
    println!(
        "high users enrolled:      {:?} % ({:?} / {:?})",
        enrolled.value, enrolled.numerator, enrolled.denominator
    );
    println!(
        "no-program world: adjusted ED {}; naive ED {}",
        show(&get(&rows0, "program_ed_change_adjusted")),
        show(&get(&rows0, "program_ed_change_naive"))
    );
    println!("headline test: {:.1}s", t.elapsed().as_secs_f64());

    let truth_pct = 100.0 * truth;
    let (lo, hi) = (
        adjusted.ci_low.expect("adjusted CI"),
        adjusted.ci_high.expect("adjusted CI"),
    );
    assert!(
        lo <= truth_pct && truth_pct <= hi,
        "the adjusted estimate's 95% CI [{lo:.1}, {hi:.1}] misses the true effect {truth_pct:.1} %"
    );
    let naive_value = naive.value.expect("naive value");
    assert!(
        naive_value < truth_pct - 15.0,
        "the naive before/after change {naive_value:.1} % should overstate the effect (true \
         {truth_pct:.1} %) by more than 15 points: regression to the mean"
    );
}

/// The evaluation numbers only the persons an event or an enrolment names: registry persons
/// without either, whatever their keys, must change nothing — not an estimate, an interval
/// (the seeded bootstrap follows the persons' order), a count, nor the worklist — and a
/// person named by an enrolment alone must still be a participant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_persons_without_events_change_no_evaluation_result_enrolled_ones_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 3_000, 23);
    std::fs::remove_dir_all(landing.join("sondage")).expect("remove survey files");
    ingest_into(&landing, &wh).await.expect("ingest");
    let results = |wh: PathBuf| async move {
        compute(&wh, &PROGRAM_IDS).await;
        let cells: BTreeSet<String> = published(&wh)
            .await
            .iter()
            .filter(|r| PROGRAM_IDS.contains(&r.indicator.as_str()))
            .map(describe)
            .collect();
        let worklist = query(
            &wh,
            "SELECT person_key, team, eligibility_date, ed_visits_365d, admissions_365d, \
             enrolled FROM worklist ORDER BY eligibility_date, person_key",
        )
        .await;
        let worklist = arrow::util::pretty::pretty_format_batches(&worklist)
            .expect("worklist as text")
            .to_string();
        (cells, worklist)
    };
    let (cells, worklist) = results(wh.clone()).await;
    let persons = count(&wh, "SELECT count(*) FROM person").await;

    // A new snapshot of the registry: every person of the last one, and 400 more whose keys
    // fall among theirs, in every team, some dead.
    let registry = landing.join("registre/population.csv");
    let mut snapshot = std::fs::read_to_string(&registry).expect("registry");
    for i in 0..400u32 {
        let died = if i % 7 == 0 { "2024-03-15" } else { "" };
        let _ = writeln!(
            snapshot,
            "{},{},{},fr,urban,A0{},T0{},{died}",
            hcn(900_000 + i),
            1930 + i % 80,
            ["F", "M"][i as usize % 2],
            1 + i % 9,
            1 + i % 6
        );
    }
    std::fs::write(&registry, snapshot).expect("write registry");
    ingest_into(&landing, &wh)
        .await
        .expect("ingest the larger registry");
    assert_eq!(
        count(&wh, "SELECT count(*) FROM person").await,
        persons + 400,
        "the snapshot's new persons are loaded"
    );
    let (cells_after, worklist_after) = results(wh.clone()).await;
    assert!(
        cells.iter().filter(|c| c.contains("value Some(")).count() >= 4,
        "the region has evaluation results to compare: {cells:#?}"
    );
    assert!(worklist.lines().count() > 10, "a worklist to compare");
    assert_eq!(cells, cells_after);
    assert_eq!(worklist, worklist_after);

    // Persons named only by an enrolment are evaluated: twenty of the new persons, alive,
    // without an ED visit or an admission, enrolled in T01 mid-span, are twenty more
    // naive participants (zero events before and after), and on no worklist.
    let participants = |cells: &BTreeSet<String>, unit: &str| -> f64 {
        let prefix = format!("program_ed_change_naive 2023-01-01 {unit} program=PSM: num Some(");
        let line = cells
            .iter()
            .find(|c| c.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no naive cell for {unit}: {cells:#?}"));
        line[prefix.len()..]
            .split(')')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("participants of {line}"))
    };
    let enrolments_file = landing.join("programme/enrolments.csv");
    let mut enrolments = std::fs::read_to_string(&enrolments_file).expect("enrolments");
    for i in (0..400u32).filter(|i| i % 7 != 0).take(20) {
        let _ = writeln!(
            enrolments,
            "{},PSM,T01,2024-05-20,2024-05-27,2024-06-01,2024-06-20,",
            hcn(900_000 + i)
        );
    }
    std::fs::write(&enrolments_file, enrolments).expect("write enrolments");
    ingest_into(&landing, &wh)
        .await
        .expect("ingest the enrolments");
    let (cells_enrolled, worklist_enrolled) = results(wh.clone()).await;
    for unit in ["region", "T01"] {
        assert_eq!(
            participants(&cells_enrolled, unit),
            participants(&cells, unit) + 20.0,
            "{unit}: the enrolled persons without events are participants"
        );
    }
    assert_eq!(
        worklist, worklist_enrolled,
        "never eligible, never on a worklist"
    );
}

/// The weekly refresh recomputes only the affected month, over narrowed event tables, with
/// SPC limits resting on the stored earlier periods: on unchanged data it must give exactly
/// what the full compute gave, and leave every other row (and the program evaluation) alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recomputing_the_last_month_alone_equals_the_full_compute() {
    let dir = tempfile::tempdir().expect("tmp");
    let (landing, wh) = (dir.path().join("landing"), dir.path().join("warehouse"));
    synth(&landing, 3_000, 11);
    ingest_into(&landing, &wh).await.expect("ingest");
    let full = compute(&wh, &[]).await;
    let last = full
        .to
        .and_then(|t| t.checked_sub_months(chrono::Months::new(1)))
        .expect("a last complete month");
    let before = published(&wh).await;
    let weekly = compute_range(&wh, &[], Some(last), None).await;
    let evaluation: Vec<String> = load_catalogue(&repo().join("queries"))
        .expect("catalogue")
        .into_iter()
        .filter(|d| d.meta.method == vigie_indicators::Method::ProgramEvaluation)
        .map(|d| d.meta.id)
        .collect();
    assert_eq!(evaluation.len(), 4, "{evaluation:?}");
    assert!(
        !weekly.indicators.keys().any(|id| evaluation.contains(id)),
        "the program evaluation waits for a full compute: {:?}",
        weekly.indicators.keys()
    );
    let after = published(&wh).await;
    let index = |rows: &[IndicatorResult]| -> BTreeMap<String, IndicatorResult> {
        rows.iter().map(|r| (key(r), r.clone())).collect()
    };
    let (old, new) = (index(&before), index(&after));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>(),
        "same cells"
    );
    // A quarter or year holding `month`: recomputed with it.
    let holds = |r: &IndicatorResult, month: NaiveDate| {
        matches!(
            r.period_type,
            vigie_indicators::PeriodType::Quarter | vigie_indicators::PeriodType::Year
        ) && r.period_start <= month
            && r.period_end >= month
    };
    let (mut recomputed, mut with_spc) = (0, 0);
    for (k, o) in &old {
        let n = &new[k];
        if n.run_id == weekly.run_id {
            recomputed += 1;
            assert!(
                n.period_start >= last
                    || n.period_type == vigie_indicators::PeriodType::Span
                    || holds(n, last),
                "{k}: outside the recomputed month and the quarter and year holding it"
            );
            assert_eq!(
                (n.numerator, n.denominator, n.value, n.ci_low, n.ci_high),
                (o.numerator, o.denominator, o.value, o.ci_low, o.ci_high),
                "{k}: {} vs {}",
                describe(n),
                describe(o)
            );
            assert_eq!(
                (n.spc_centre, n.spc_lower, n.spc_upper, &n.spc_signal),
                (o.spc_centre, o.spc_lower, o.spc_upper, &o.spc_signal),
                "{k}: SPC limits rest on the whole series"
            );
            assert_eq!(
                n.is_suppressed(),
                o.is_suppressed(),
                "{k}: same disclosure verdict"
            );
            with_spc += usize::from(n.spc_centre.is_some());
        } else {
            assert_eq!(n.run_id, full.run_id, "{k}: untouched");
        }
    }
    assert!(
        recomputed > 100,
        "the last month was recomputed ({recomputed} cells)"
    );
    assert!(with_spc > 0, "recomputed cells carry SPC limits");

    // A month in the middle: its limits rest on the stored periods before and after it.
    let mid = last
        .checked_sub_months(chrono::Months::new(6))
        .expect("a middle month");
    let mid_end = mid
        .checked_add_months(chrono::Months::new(1))
        .expect("its end");
    let middle = compute_range(&wh, &[], Some(mid), Some(mid_end)).await;
    let again = index(&published(&wh).await);
    let mut checked = 0;
    for (k, o) in &old {
        let n = &again[k];
        if n.run_id == middle.run_id && n.period_type != vigie_indicators::PeriodType::Span {
            checked += 1;
            assert!(
                n.period_start == mid || holds(n, mid),
                "{k}: outside the recomputed month and the quarter and year holding it"
            );
            assert_eq!(
                (
                    n.value,
                    n.spc_centre,
                    n.spc_lower,
                    n.spc_upper,
                    &n.spc_signal
                ),
                (
                    o.value,
                    o.spc_centre,
                    o.spc_lower,
                    o.spc_upper,
                    &o.spc_signal
                ),
                "{k}: same value and SPC limits as the full compute"
            );
        }
    }
    assert!(
        checked > 100,
        "the middle month was recomputed ({checked} cells)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acsc_hospitalisations_are_standardised_under_75_on_the_cihi_code_list() {
    // T01: in each standard band i (ages 5i..5i+4) one woman and one man aged 5i + 2 in 2024
    // (born 2022 - 5i): 30 persons younger than 75 (bands 0..14), 8 older.
    let mut fx = Fixture::default();
    for i in 0..19u32 {
        let born = 2022 - 5 * i as i32;
        fx.person(100 + i, born, "F", "T01");
        fx.person(200 + i, born, "M", "T01");
    }
    // The data span 2024 whole (visits on its first and last days), so the year is complete.
    fx.ed(110, "2024-01-01").ed(110, "2024-12-31");
    // Counted (urgent, main diagnosis in CIHI's ACSC list, younger than 75):
    //   the girl aged 2 (band 0): asthma J45.9 three times;
    //   the man aged 42 (band 8): diabetes E11.9 twice;
    //   the woman aged 67 (band 13): heart failure I50.0 twice.
    for date in ["2024-02-03", "2024-05-10", "2024-09-21"] {
        fx.stay_dx(100, date, date, true, "", "J45.9");
    }
    fx.stay_dx(208, "2024-03-01", "2024-03-04", true, "", "E11.9");
    fx.stay_dx(208, "2024-07-01", "2024-07-04", true, "", "E11.9");
    fx.stay_dx(113, "2024-04-01", "2024-04-09", true, "", "I50.0");
    fx.stay_dx(113, "2024-10-01", "2024-10-09", true, "", "I50.0");
    // Not counted: pneumonia J18.9 (an ACSC only with a secondary COPD diagnosis), an
    // elective heart-failure stay, COPD J44.1 at 77, kidney complications of diabetes E11.2.
    fx.stay_dx(113, "2024-06-01", "2024-06-05", true, "", "J18.9");
    fx.stay_dx(208, "2024-11-02", "2024-11-03", false, "", "I50.0");
    fx.stay_dx(115, "2024-08-01", "2024-08-08", true, "", "J44.1");
    fx.stay_dx(208, "2024-12-01", "2024-12-02", true, "", "E11.2");
    let l = load(&fx).await;
    compute(&l.warehouse, &["acsc_hospitalisations_per_100000_asr"]).await;
    let rows = published(&l.warehouse).await;
    // By hand: n_i = 2 in each band 0..14; x_0 = 3, x_8 = 2, x_13 = 2. The standard cut at 74
    // weighs W = 0.055325 + ... + 0.033573 (15 bands) = 0.933884, so
    // DSR = (0.055325 x 3/2 + 0.069477 x 2/2 + 0.044613 x 2/2) / 0.933884 x 100,000
    //     = (0.0829875 + 0.069477 + 0.044613) / 0.933884 x 100,000 = 21,102.996.
    // 7 events: under the 10 Dobson needs, no interval.
    let r = cell(
        &rows,
        "acsc_hospitalisations_per_100000_asr",
        "2024-01-01",
        "region",
        "all",
        "all",
    );
    check(r, 7.0, Some(30.0), 21_102.996, None);
    assert_eq!((r.ci_low, r.ci_high), (None, None));
    assert_eq!(r.period_type, vigie_indicators::PeriodType::Year);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipelines_eligibility_rule_decides_who_is_a_high_user() {
    // Data from 2023-01-01 to 2024-12-31 (visits of person 1 on both days). In 2024:
    //   person 10: 3 ED visits (March 1, 8, 15) - eligible under "3 visits", not "5 visits";
    //   person 11: 5 ED visits (May 1..5) - eligible under both;
    //   person 12: 2 admissions (June 1, June 20) - eligible only under "2 admissions";
    //   person 13: 4 ED visits, 2023-01-10, 2023-02-10, 2024-03-01, 2024-03-10: 385 days
    //   from the second to the third, so at most 2 in any 365 days - never eligible.
    let mut fx = Fixture::default();
    for id in 1..=13 {
        fx.person(id, 1960, "F", "T01");
    }
    fx.ed(1, "2023-01-01").ed(1, "2024-12-31");
    for day in ["2024-03-01", "2024-03-08", "2024-03-15"] {
        fx.ed(10, day);
    }
    for day in 1..=5 {
        fx.ed(11, &format!("2024-05-{day:02}"));
    }
    fx.stay(12, "2024-06-01", "2024-06-03", true, "");
    fx.stay(12, "2024-06-20", "2024-06-22", true, "");
    for day in ["2023-01-10", "2023-02-10", "2024-03-01", "2024-03-10"] {
        fx.ed(13, day);
    }
    let l = load(&fx).await;
    let hcn_key = |id: u32| {
        vigie_model::PseudonymKey::load(&vigie_model::KeySource::Demo)
            .expect("demo key")
            .pseudonymise(&hcn(id))
    };
    let cohort = |pipeline: vigie_model::config::LoadedPipeline| {
        let wh = l.warehouse.clone();
        async move {
            vigie_pipeline::compute(
                &pipeline,
                &ComputeOverrides {
                    warehouse: Some(wh.display().to_string()),
                    only: vec!["high_users_enrolled_pct".into()],
                    from: None,
                    to: None,
                },
            )
            .await
            .expect("compute");
            let mut keys = all_text(&query(&wh, "SELECT person_key FROM worklist").await);
            keys.sort();
            keys
        }
    };
    let expect = |ids: &[u32]| {
        let mut keys: Vec<String> = ids.iter().map(|id| hcn_key(*id)).collect();
        keys.sort();
        keys
    };
    // The default rule: 5 ED visits or 3 admissions in 365 days.
    assert_eq!(cohort(demo_pipeline()).await, expect(&[11]));
    // A region's own rule, in the pipeline YAML: 3 ED visits or 2 admissions.
    let mut region = demo_pipeline();
    region.spec.evaluation.eligibility.min_ed_visits = 3;
    region.spec.evaluation.eligibility.min_admissions = 2;
    assert_eq!(cohort(region.clone()).await, expect(&[10, 11, 12]));
    // The same with a 30-day window: person 10 (3 visits in 15 days) and 11 stay, the two
    // admissions 19 days apart stay too.
    region.spec.evaluation.eligibility.window_days = 30;
    assert_eq!(cohort(region.clone()).await, expect(&[10, 11, 12]));
    // A 10-day window: person 10's visits (14 days from first to third) no longer qualify,
    // nor do person 12's admissions (19 days apart).
    region.spec.evaluation.eligibility.window_days = 10;
    assert_eq!(cohort(region).await, expect(&[11]));
}

// ---------------------------------------------------------------------------------------------
// Equity: disparities between deprivation quintiles
// ---------------------------------------------------------------------------------------------

/// A group of persons living in `area`, attributed to `team`, with `visits` ED visits in
/// March 2025 spread over them (the first on the 1st, the second on the 31st: the anchors).
fn equity_group(
    fx: &mut Fixture,
    first_id: u32,
    team: &str,
    area: &str,
    persons: u32,
    visits: u32,
) {
    for i in 0..persons {
        fx.person_in(first_id + i, team, area);
    }
    for k in 0..visits {
        let day = match k {
            0 => 1,
            1 => 31,
            k => k + 1,
        };
        fx.ed(first_id + k % persons, &format!("2025-03-{day:02}"));
    }
}

fn equity_areas(fx: &mut Fixture) {
    // Area Q<n> is in quintile n; area ZZ is missing from the lookup.
    fx.areas = (1..=5).map(|q| format!("Q{q},{q}")).collect();
}

fn derived<'a>(
    rows: &'a [IndicatorResult],
    measure: &str,
    unit: &str,
    value: &str,
) -> &'a IndicatorResult {
    let id = format!("ed_visits_per_1000__{measure}");
    rows.iter()
        .find(|r| {
            r.indicator == id
                && r.period_start == d("2025-03-01")
                && r.org_unit == unit
                && r.stratum_dimension == "deprivation_quintile"
                && r.stratum_value == value
        })
        .unwrap_or_else(|| panic!("no {id} {unit} quintile {value}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ed_visit_disparities_by_deprivation_quintile_match_hand_computed_ratios_and_sii() {
    let mut fx = Fixture::default();
    equity_areas(&mut fx);
    // (team, area, persons, visits) — March 2025 only, so each denominator is the persons.
    let groups = [
        ("T1", "Q1", 10, 12),
        ("T1", "Q2", 10, 10),
        ("T1", "Q3", 10, 8),
        ("T1", "Q4", 10, 7),
        ("T1", "Q5", 10, 6),
        ("T1", "ZZ", 6, 6),
        ("T2", "Q1", 20, 10),
        ("T2", "Q2", 10, 6),
        ("T2", "Q3", 10, 6),
        ("T2", "Q4", 10, 6),
        ("T2", "Q5", 20, 8),
    ];
    let mut id = 1;
    for (team, area, persons, visits) in groups {
        equity_group(&mut fx, id, team, area, persons, visits);
        id += persons;
    }
    let loaded = load(&fx).await;
    compute(&loaded.warehouse, &["ed_visits_per_1000"]).await;
    let rows = published(&loaded.warehouse).await;

    // The area missing from the lookup is an explicit `unknown` stratum: 6 visits / 6 persons.
    let unknown = cell(
        &rows,
        "ed_visits_per_1000",
        "2025-03-01",
        "T1",
        "deprivation_quintile",
        "unknown",
    );
    check(unknown, 6.0, Some(6.0), 1000.0, None);

    // T1, quintile 1 against 5: rates 12/10 and 6/10, RR = 2 (6 events < 10: exact interval,
    // its formula cross-checked with vigie-stats on the hand-entered counts).
    let rr = derived(&rows, "rate_ratio", "T1", "1");
    close(rr.value, 2.0, 1e-9, "T1 RR q1");
    let exact = vigie_stats::rate_ratio(
        vigie_stats::RateGroup {
            events: 12,
            person_time: 10.0,
        },
        vigie_stats::RateGroup {
            events: 6,
            person_time: 10.0,
        },
        0.95,
    )
    .expect("rate ratio");
    close(rr.ci_low, exact.interval.lower, 1e-9, "T1 RR low");
    close(rr.ci_high, exact.interval.upper, 1e-9, "T1 RR high");
    assert_eq!(rr.method.code(), "rate_ratio_lognormal_or_exact");
    // Difference per 1,000: 1200 - 600 = 600; Wald SE = 1000·sqrt(12/10² + 6/10²) = 424.264,
    // 600 ± 1.959964 × 424.264 = [-231.54, 1431.54].
    let rd = derived(&rows, "rate_difference", "T1", "1");
    close(rd.value, 600.0, 1e-6, "T1 RD q1");
    close(rd.ci_low, -231.542, 0.01, "T1 RD low");
    close(rd.ci_high, 1431.542, 0.01, "T1 RD high");
    // Quintile 4 against 5: 7/10 over 6/10.
    close(
        derived(&rows, "rate_ratio", "T1", "4").value,
        7.0 / 6.0,
        1e-9,
        "T1 RR q4",
    );

    // The region, quintile 1 against 5: 22/30 over 14/30 = 1.571429, both >= 10 events:
    // log-normal, SE = sqrt(1/22 + 1/14) = 0.341882, exp(ln 1.571429 ± 1.959964 × 0.341882)
    // = [0.80405, 3.07118]. Difference: 733.33 - 466.67 = 266.67 per 1,000, SE =
    // 1000·sqrt(22 + 14)/30 = 200, so [-125.33, 658.66].
    let rr = derived(&rows, "rate_ratio", "region", "1");
    close(rr.value, 22.0 / 14.0, 1e-9, "region RR");
    close(rr.ci_low, 0.80405, 1e-4, "region RR low");
    close(rr.ci_high, 3.07118, 1e-4, "region RR high");
    let rd = derived(&rows, "rate_difference", "region", "1");
    close(rd.value, 266.667, 1e-3, "region RD");
    close(rd.ci_low, -125.326, 1e-2, "region RD low");
    close(rd.ci_high, 658.659, 1e-2, "region RD high");

    // T1's slope index: equal populations, ridits 0.1 0.3 0.5 0.7 0.9, rates per 1,000
    // 1200 1000 800 700 600 (unknown left out). Mean ridit 0.5, mean rate 860,
    // Sxy = -0.4·340 - 0.2·140 + 0 + 0.2·(-160) + 0.4·(-260) = -300, Sxx = 0.4: slope -750
    // per 1,000 from the most to the least deprived; intercept 860 + 375 = 1235,
    // RII = (1235 - 750) / 1235 = 0.392713.
    let sii = derived(&rows, "sii", "T1", "all");
    close(sii.value, -750.0, 1e-6, "T1 SII");
    let rii = derived(&rows, "rii", "T1", "all");
    close(rii.value, 485.0 / 1235.0, 1e-9, "T1 RII");
    // The interval formula, cross-checked on the hand-entered counts.
    let groups: Vec<vigie_stats::SiiGroup> = [12, 10, 8, 7, 6]
        .iter()
        .map(|&e| vigie_stats::SiiGroup::rate(e, 10.0).expect("group"))
        .collect();
    let s =
        vigie_stats::slope_index(&groups, vigie_stats::SiiInterval::Analytic, 0.95).expect("sii");
    close(sii.ci_low, s.sii.lower * 1000.0, 1e-6, "T1 SII low");
    close(sii.ci_high, s.sii.upper * 1000.0, 1e-6, "T1 SII high");
    assert!(sii.ci_low.is_some_and(|l| l < -750.0));

    // The reference category is not compared with itself; rurality has no rural persons.
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == "ed_visits_per_1000__rate_ratio"
                && r.stratum_dimension == "deprivation_quintile"
                && (r.stratum_value == "5" || r.stratum_value == "unknown"))
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator.starts_with("ed_visits_per_1000__")
                && r.stratum_dimension == "rurality")
    );
    // The governed stratum is absent: the demo pipeline does not enable it.
    assert!(
        !rows
            .iter()
            .any(|r| r.stratum_dimension == "indigenous_identity")
    );
    // Nothing is suppressed here: every cell has at least 6 visits and 6 persons.
    assert!(
        !rows.iter().any(|r| r.is_suppressed()),
        "{:?}",
        rows.iter()
            .filter(|r| r.is_suppressed())
            .map(key)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disparity_computed_from_a_small_cell_is_suppressed() {
    let mut fx = Fixture::default();
    equity_areas(&mut fx);
    let groups = [
        ("T1", "Q1", 10, 3),
        ("T1", "Q5", 10, 8),
        ("T2", "Q1", 10, 10),
        ("T2", "Q5", 10, 9),
    ];
    let mut id = 1;
    for (team, area, persons, visits) in groups {
        equity_group(&mut fx, id, team, area, persons, visits);
        id += persons;
    }
    let loaded = load(&fx).await;
    compute(&loaded.warehouse, &["ed_visits_per_1000"]).await;
    let rows = published(&loaded.warehouse).await;
    // T1's quintile 1 has 3 visits: suppressed, and so is every measure computed from it.
    let small = cell(
        &rows,
        "ed_visits_per_1000",
        "2025-03-01",
        "T1",
        "deprivation_quintile",
        "1",
    );
    check_suppressed(small, "small_count");
    for measure in ["rate_ratio", "rate_difference"] {
        let r = derived(&rows, measure, "T1", "1");
        check_suppressed(r, "suppressed_input");
        assert_eq!((r.value, r.ci_low, r.ci_high), (None, None, None));
    }
    // Whatever complementary suppression picked, no published disparity rests on a
    // suppressed cell of the same period, unit and stratum.
    for r in rows
        .iter()
        .filter(|r| r.indicator.starts_with("ed_visits_per_1000__"))
    {
        let inputs_suppressed = rows.iter().any(|c| {
            c.indicator == "ed_visits_per_1000"
                && c.period_start == r.period_start
                && c.org_unit == r.org_unit
                && c.stratum_dimension == r.stratum_dimension
                && (c.stratum_value == r.stratum_value
                    || c.stratum_value == "5"
                    || r.stratum_value == "all")
                && c.is_suppressed()
        });
        if inputs_suppressed {
            check_suppressed(r, "suppressed_input");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed_visits_for_chronic_conditions_are_counted_per_condition_group() {
    // Ten women of T01; March 2024 (visits on its first and last days, chest pain R07.4:
    // no chronic group). COPD: persons 1-3 twice each (J44.1, J44.9, J43.9: 6 visits);
    // diabetes: person 4 twice (E11.9); mental health and addictions and heart
    // failure: none; dementia F03 (person 5) is not mental health and addictions.
    let mut fx = Fixture::default();
    for id in 1..=10 {
        fx.person(id, 1960, "F", "T01");
    }
    fx.ed(9, "2024-03-01").ed(9, "2024-03-31");
    for (id, days, dx) in [
        (1, ["2024-03-02", "2024-03-12"], "J44.1"),
        (2, ["2024-03-03", "2024-03-13"], "J44.9"),
        (3, ["2024-03-04", "2024-03-14"], "J43.9"),
        (4, ["2024-03-05", "2024-03-15"], "E11.9"),
    ] {
        for day in days {
            fx.ed_dx(id, day, dx);
        }
    }
    fx.ed_dx(5, "2024-03-06", "F03");
    let l = load(&fx).await;
    compute(&l.warehouse, &["ed_visits_chronic_per_1000"]).await;
    let rows = published(&l.warehouse).await;
    let c = |v: &str| {
        cell(
            &rows,
            "ed_visits_chronic_per_1000",
            "2024-03-01",
            "region",
            "condition",
            v,
        )
    };
    // COPD: 6 visits / 10 persons x 1,000 = 600; exact (Garwood) Poisson interval for 6
    // events, solved by bisection on the Poisson CDF: P(X >= 6; 2.201894) = 0.025 and
    // P(X <= 6; 13.059474) = 0.025, so [2.201894, 13.059474] / 10 x 1,000.
    check(
        c("copd"),
        6.0,
        Some(10.0),
        600.0,
        Some((220.1894, 1305.9474)),
    );
    // None: 0 per 1,000, interval [0, 3.688879 / 10 x 1,000] (P(X = 0; 3.688879) = 0.025).
    check(
        c("mental_health_addictions"),
        0.0,
        Some(10.0),
        0.0,
        Some((0.0, 368.8879)),
    );
    check(
        c("heart_failure"),
        0.0,
        Some(10.0),
        0.0,
        Some((0.0, 368.8879)),
    );
    // Diabetes: 2 visits, a count from 1 to 5: suppressed.
    check_suppressed(c("diabetes"), "small_count");
    assert!(
        !rows
            .iter()
            .any(|r| r.indicator == "ed_visits_chronic_per_1000" && r.stratum_dimension == "all"),
        "no pooled total: each group has the whole population at risk"
    );
}
