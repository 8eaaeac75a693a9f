//! Partner file layouts: directories, file names, headers, encodings and row
//! formatting of the seven sources.
//!
//! | source | file | encoding | line end | delimiter |
//! |---|---|---|---|---|
//! | registry | `registre/population.csv` | UTF-8 | LF | `,` |
//! | hospital A | `hospital_a/ed_visits_YYYYMM.csv` | UTF-8 with BOM, every field double-quoted | CRLF | `,` |
//! | hospital B | `hopital_b/episodes_YYYYMM.csv` | Windows-1252 | CRLF | `;` |
//! | program | `programme/enrolments.csv` | UTF-8 | LF | `,` |
//! | survey | `sondage/survey_YYYYQn.csv` | UTF-8 | LF | `,` |
//! | community contacts | `soins_communautaires/contacts_YYYYMM.csv` | UTF-8 | LF | `|` |
//! | referrals | `references/referrals.csv` | UTF-8 | CRLF | `,` |
//!
//! The community partner (primary care, home care, community agencies and the program's
//! coordinators in one shared record) sends compact dates `YYYYMMDD`, times `HH:MM` and its
//! own provider and mode codes ([`crate::pathway`]); the e-referral platform re-sends its
//! whole register, with ISO dates and steps not yet reached left empty.
//!
//! Monthly files are written for every month of the horizon (header only
//! when empty), by month of ED arrival / episode start; survey files for
//! every calendar quarter overlapping the horizon. Rows are in person order
//! (registry order), then date order within a person.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use crate::corrupt::{
    Bad, Corruption, bad_compact_date, bad_fr_date, bad_iso_date, bad_triage, invalid_hcn,
};
use crate::pathway::{Contact, Referral};
use crate::population::Person;
use crate::program::{Enrolment, PROGRAM_CODE};
use crate::survey::SurveyResponse;
use crate::utilisation::{Admission, EdVisit, Hospital};

/// A partner source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Population registry.
    Registry,
    /// Hospital A ED extract.
    HospitalA,
    /// Hospital B ED episodes and inpatient stays.
    HopitalB,
    /// Care-coordination program enrolments.
    Programme,
    /// Patient-experience survey.
    Sondage,
    /// Community partner's contacts (primary care, home care, community, program).
    Contacts,
    /// E-referral platform's register.
    Referrals,
}

impl Source {
    /// All sources in output order.
    pub const ALL: [Source; 7] = [
        Source::Registry,
        Source::HospitalA,
        Source::HopitalB,
        Source::Programme,
        Source::Sondage,
        Source::Contacts,
        Source::Referrals,
    ];

    /// The sources of the care pathway, written only when the configuration asks for them.
    pub fn is_pathway(self) -> bool {
        matches!(self, Source::Contacts | Source::Referrals)
    }

    /// Directory under the output directory.
    pub fn dir(self) -> &'static str {
        match self {
            Source::Registry => "registre",
            Source::HospitalA => "hospital_a",
            Source::HopitalB => "hopital_b",
            Source::Programme => "programme",
            Source::Sondage => "sondage",
            Source::Contacts => "soins_communautaires",
            Source::Referrals => "references",
        }
    }

    /// Header line as text (without line ending, BOM or quoting).
    pub fn header(self) -> &'static str {
        match self {
            Source::Registry => "hcn,birth_year,sex,language,rurality,area,team,death_date",
            Source::HospitalA => {
                "HCN,ARRIVAL_DATE,ARRIVAL_TIME,FACILITY_ID,TRIAGE_LEVEL,DISPOSITION_CODE,MAIN_PROBLEM_DX"
            }
            Source::HopitalB => {
                "NO_ASSURANCE_MALADIE;TYPE_EPISODE;DATE_DEBUT;HEURE_DEBUT;DATE_FIN;ÉTABLISSEMENT;PRIORITÉ;ORIENTATION;DIAGNOSTIC;JOURS_NSA"
            }
            Source::Programme => {
                "hcn,program,team,referral_date,first_contact_date,enrolment_date,care_plan_date,end_date"
            }
            Source::Sondage => {
                "response_id,hcn,team,completed,lang,respondent,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8"
            }
            Source::Contacts => {
                "nam|date_contact|heure|intervenant|modalite|organisation|programme|no_reference"
            }
            Source::Referrals => {
                "referral_id,health_card,referred_on,referred_by,referred_to,reason,accepted_on,first_appointment_on,report_returned_on"
            }
        }
    }

    /// Field delimiter.
    pub fn delimiter(self) -> u8 {
        match self {
            Source::HopitalB => b';',
            Source::Contacts => b'|',
            _ => b',',
        }
    }

    /// Line ending.
    pub fn line_end(self) -> &'static str {
        match self {
            Source::HospitalA | Source::HopitalB | Source::Referrals => "\r\n",
            _ => "\n",
        }
    }

    /// Encoded header bytes, BOM and line ending included.
    pub fn header_bytes(self) -> Vec<u8> {
        match self {
            Source::HospitalA => {
                let quoted: Vec<String> = self
                    .header()
                    .split(',')
                    .map(|f| format!("\"{f}\""))
                    .collect();
                let mut b = b"\xEF\xBB\xBF".to_vec();
                b.extend_from_slice(quoted.join(",").as_bytes());
                b.extend_from_slice(b"\r\n");
                b
            }
            Source::HopitalB => encode_1252(&format!("{}\r\n", self.header())),
            _ => format!("{}{}", self.header(), self.line_end()).into_bytes(),
        }
    }
}

/// `hospital_a/ed_visits_YYYYMM.csv`
pub fn hospital_a_file(month: NaiveDate) -> String {
    format!("ed_visits_{:04}{:02}.csv", month.year(), month.month())
}

/// `hopital_b/episodes_YYYYMM.csv`
pub fn hopital_b_file(month: NaiveDate) -> String {
    format!("episodes_{:04}{:02}.csv", month.year(), month.month())
}

/// `sondage/survey_YYYYQn.csv`
pub fn survey_file(year: i32, quarter: u32) -> String {
    format!("survey_{year:04}Q{quarter}.csv")
}

/// `soins_communautaires/contacts_YYYYMM.csv`
pub fn contacts_file(month: NaiveDate) -> String {
    format!("contacts_{:04}{:02}.csv", month.year(), month.month())
}

/// `references/referrals.csv`
pub const REFERRALS_FILE: &str = "referrals.csv";

/// `registre/population.csv`
pub const REGISTRY_FILE: &str = "population.csv";

/// Directory of the area reference extract.
pub const AREA_DIR: &str = "reference";
/// `reference/area_deprivation.csv`: `area,deprivation_quintile`.
pub const AREA_DEPRIVATION_FILE: &str = "area_deprivation.csv";
/// `programme/enrolments.csv`
pub const PROGRAMME_FILE: &str = "enrolments.csv";

/// Hospital A facilities by site.
pub const HOSPITAL_A_FACILITIES: [&str; 2] = ["HA-01", "HA-02"];
/// Hospital B establishments by site.
pub const HOPITAL_B_SITES: [&str; 2] = ["Hôpital B - Site Nord", "Hôpital B - Site Sud"];

/// Encodes text as Windows-1252 (every character used here is representable).
pub(crate) fn encode_1252(s: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
    bytes.into_owned()
}

fn push_iso(out: &mut String, d: NaiveDate) {
    let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

fn push_fr(out: &mut String, d: NaiveDate) {
    let _ = write!(out, "{:02}/{:02}/{:04}", d.day(), d.month(), d.year());
}

fn push_opt_iso(out: &mut String, d: Option<NaiveDate>) {
    if let Some(d) = d {
        push_iso(out, d);
    }
}

fn push_hcn(out: &mut String, hcn: &str, bad: Option<Bad>) {
    match bad {
        Some(b) if b.kind == Corruption::InvalidHcn => out.push_str(&invalid_hcn(hcn, b.variant)),
        _ => out.push_str(hcn),
    }
}

/// ISO date, or its corruption when `bad` targets the main date.
fn push_main_iso(out: &mut String, d: NaiveDate, bad: Option<Bad>) {
    match bad.map(|b| (b.kind, b.variant)) {
        Some((Corruption::EmptyRequiredDate, _)) => {}
        Some((Corruption::UnparseableDate, v)) => out.push_str(&bad_iso_date(d, v)),
        _ => push_iso(out, d),
    }
}

fn push_main_fr(out: &mut String, d: NaiveDate, bad: Option<Bad>) {
    match bad.map(|b| (b.kind, b.variant)) {
        Some((Corruption::EmptyRequiredDate, _)) => {}
        Some((Corruption::UnparseableDate, v)) => out.push_str(&bad_fr_date(d, v)),
        _ => push_fr(out, d),
    }
}

fn push_triage(out: &mut String, triage: u8, bad: Option<Bad>) {
    match bad {
        Some(b) if b.kind == Corruption::TriageOutOfRange => out.push_str(bad_triage(b.variant)),
        _ => {
            let _ = write!(out, "{triage}");
        }
    }
}

fn push_hhmm(out: &mut String, minute: u16) {
    let _ = write!(out, "{:02}{:02}", minute / 60, minute % 60);
}

/// Corruptions possible in each row kind.
pub(crate) const REGISTRY_BAD: [Corruption; 1] = [Corruption::InvalidHcn];
pub(crate) const REGISTRY_BAD_DEAD: [Corruption; 2] =
    [Corruption::InvalidHcn, Corruption::UnparseableDate];
pub(crate) const ED_BAD: [Corruption; 4] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::TriageOutOfRange,
    Corruption::UnparseableDate,
];
pub(crate) const STAY_BAD: [Corruption; 4] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::UnparseableDate,
    Corruption::DischargeBeforeAdmission,
];
pub(crate) const ENROLMENT_BAD: [Corruption; 3] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::UnparseableDate,
];
pub(crate) const SURVEY_BAD: [Corruption; 3] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::UnparseableDate,
];
pub(crate) const CONTACT_BAD: [Corruption; 3] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::UnparseableDate,
];
pub(crate) const REFERRAL_BAD: [Corruption; 3] = [
    Corruption::InvalidHcn,
    Corruption::EmptyRequiredDate,
    Corruption::UnparseableDate,
];
pub(crate) const SURVEY_BAD_ANONYMOUS: [Corruption; 2] =
    [Corruption::EmptyRequiredDate, Corruption::UnparseableDate];

/// `hcn,birth_year,sex,language,rurality,area,team,death_date` + LF.
pub(crate) fn registry_row(out: &mut String, p: &Person, bad: Option<Bad>) {
    push_hcn(out, &p.hcn, bad);
    let _ = write!(
        out,
        ",{},{},{},{},A{:02},T{:02},",
        p.birth_year,
        p.sex.code(),
        p.language.code(),
        p.rurality.code(),
        p.area,
        p.team
    );
    if let Some(d) = p.death_date {
        push_main_iso(out, d, bad);
    }
    out.push('\n');
}

/// Hospital A row, every field quoted, CRLF.
pub(crate) fn hospital_a_row(out: &mut String, hcn: &str, v: &EdVisit, bad: Option<Bad>) {
    debug_assert_eq!(v.hospital, Hospital::A);
    out.push('"');
    push_hcn(out, hcn, bad);
    out.push_str("\",\"");
    push_main_iso(out, v.arrival, bad);
    out.push_str("\",\"");
    push_hhmm(out, v.arrival_minute);
    out.push_str("\",\"");
    out.push_str(HOSPITAL_A_FACILITIES[usize::from(v.site & 1)]);
    out.push_str("\",\"");
    push_triage(out, v.triage, bad);
    let _ = write!(
        out,
        "\",\"{}\",\"{}\"\r\n",
        v.disposition.code_a(),
        v.diagnosis
    );
}

/// Hospital B `URG` row (text; encoded to Windows-1252 by the writer), CRLF.
pub(crate) fn hopital_b_urg_row(out: &mut String, hcn: &str, v: &EdVisit, bad: Option<Bad>) {
    debug_assert_eq!(v.hospital, Hospital::B);
    push_hcn(out, hcn, bad);
    out.push_str(";URG;");
    push_main_fr(out, v.arrival, bad);
    out.push(';');
    push_hhmm(out, v.arrival_minute);
    out.push(';');
    push_fr(out, v.exit);
    out.push(';');
    out.push_str(HOPITAL_B_SITES[usize::from(v.site & 1)]);
    out.push(';');
    push_triage(out, v.triage, bad);
    let _ = write!(out, ";{};{};\r\n", v.disposition.label_b(), v.diagnosis);
}

/// Hospital B `HOSP` row, CRLF.
pub(crate) fn hopital_b_hosp_row(out: &mut String, hcn: &str, a: &Admission, bad: Option<Bad>) {
    push_hcn(out, hcn, bad);
    out.push_str(";HOSP;");
    push_main_fr(out, a.admit, bad);
    out.push_str(";;");
    match bad {
        Some(b) if b.kind == Corruption::DischargeBeforeAdmission => {
            let back = 1 + (b.variant % 5) as i64;
            push_fr(out, a.admit - chrono::Duration::days(back));
        }
        _ => push_fr(out, a.discharge),
    }
    out.push(';');
    out.push_str(HOPITAL_B_SITES[usize::from(a.site & 1)]);
    out.push_str(if a.urgent { ";URGENT;" } else { ";ÉLECTIF;" });
    let _ = write!(out, "{};{};", a.orientation.label_b(), a.diagnosis);
    let whole = a.alc_half_days / 2;
    if a.alc_half_days % 2 == 1 {
        let _ = write!(out, "{whole},5");
    } else {
        let _ = write!(out, "{whole}");
    }
    out.push_str("\r\n");
}

/// `hcn,program,team,referral_date,first_contact_date,enrolment_date,care_plan_date,end_date` + LF.
pub(crate) fn enrolment_row(out: &mut String, p: &Person, e: &Enrolment, bad: Option<Bad>) {
    push_hcn(out, &p.hcn, bad);
    let _ = write!(out, ",{PROGRAM_CODE},T{:02},", p.team);
    push_iso(out, e.referral);
    out.push(',');
    push_iso(out, e.first_contact);
    out.push(',');
    push_main_iso(out, e.enrolment, bad);
    out.push(',');
    push_opt_iso(out, e.care_plan);
    out.push(',');
    push_opt_iso(out, e.end);
    out.push('\n');
}

/// Survey row after `response_id,`: `hcn,team,completed,lang,respondent,Q1..Q8` + LF.
pub(crate) fn survey_row_tail(out: &mut String, p: &Person, r: &SurveyResponse, bad: Option<Bad>) {
    if !r.anonymous {
        push_hcn(out, &p.hcn, bad);
    }
    let _ = write!(out, ",T{:02},", p.team);
    push_main_fr(out, r.completed, bad);
    out.push(',');
    out.push_str(r.lang.code());
    out.push(',');
    if let Some(who) = r.respondent {
        out.push_str(who.text(r.lang));
    }
    for a in &r.answers {
        out.push(',');
        out.push_str(a.text(r.lang));
    }
    out.push(',');
    out.push_str(r.rating.text(r.lang));
    out.push(',');
    if let Some(score) = r.recommend {
        let _ = write!(out, "{score}");
    }
    out.push('\n');
}

fn push_compact(out: &mut String, d: NaiveDate) {
    let _ = write!(out, "{:04}{:02}{:02}", d.year(), d.month(), d.day());
}

/// A contact row: `nam|date_contact|heure|intervenant|modalite|organisation|programme|no_reference`
/// + LF; `referral_id` is the id of the referral the contact answers, if any.
pub(crate) fn contact_row(
    out: &mut String,
    hcn: &str,
    c: &Contact,
    referral_id: Option<&str>,
    bad: Option<Bad>,
) {
    push_hcn(out, hcn, bad);
    out.push('|');
    match bad.map(|b| (b.kind, b.variant)) {
        Some((Corruption::EmptyRequiredDate, _)) => {}
        Some((Corruption::UnparseableDate, v)) => out.push_str(&bad_compact_date(c.date, v)),
        _ => push_compact(out, c.date),
    }
    let _ = writeln!(
        out,
        "|{:02}:{:02}|{}|{}|{}|{}|{}",
        c.minute / 60,
        c.minute % 60,
        c.provider.code(),
        c.mode.code(),
        c.organisation,
        if c.program { PROGRAM_CODE } else { "" },
        referral_id.unwrap_or("")
    );
}

/// A referral row: `referral_id,health_card,referred_on,referred_by,referred_to,reason,
/// accepted_on,first_appointment_on,report_returned_on` + CRLF.
pub(crate) fn referral_row(out: &mut String, id: &str, hcn: &str, r: &Referral, bad: Option<Bad>) {
    out.push_str(id);
    out.push(',');
    push_hcn(out, hcn, bad);
    out.push(',');
    push_main_iso(out, r.date, bad);
    let _ = write!(out, ",{},{},{},", r.from, r.to, r.reason);
    push_opt_iso(out, r.accepted);
    out.push(',');
    push_opt_iso(out, r.appointment);
    out.push(',');
    push_opt_iso(out, r.report_returned);
    out.push_str("\r\n");
}
